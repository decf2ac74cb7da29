/** Migration state machine task, last on every path: the run's end, migration.run.completed and the proposal's outcome. */
import { z } from 'zod';
import { loopDeps } from '../../lib/adapters/aws/migration-deps.ts';
import { finishStep } from '../../lib/migration/loop.ts';
import { loopStateSchema } from '../../lib/migration/schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

const inputSchema = z.object({
  state: loopStateSchema,
  failure: z.object({ Error: z.string().max(256).optional(), Cause: z.string().max(32_768).optional() }).nullish(),
});

export const handler = taskHandler(inputSchema, async (input) =>
  finishStep({ state: input.state, failure: input.failure ?? undefined }, loopDeps()),
);
