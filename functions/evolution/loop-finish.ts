/** Improvement loop state machine task "finish", on every path: the run's end (a failed task's cause, a promoted arm recorded in Evolution, the total time) (lib/evolution/loop.ts). */
import { z } from 'zod';
import { loopDeps } from '../../lib/adapters/aws/evolution-loop-deps.ts';
import { finishStep } from '../../lib/evolution/loop.ts';
import { loopStateSchema } from '../../lib/evolution/loop-schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

const inputSchema = loopStateSchema.pick({ tenant: true, loopId: true }).extend({
  failure: z.object({ Error: z.string().max(256).optional(), Cause: z.string().max(32_768).optional() }).nullish(),
});

export const handler = taskHandler(inputSchema, async (input) => finishStep(input, loopDeps()));
