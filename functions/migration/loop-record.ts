/** Migration state machine task: one step's migration.step.completed, then the next step, the end or rollback. */
import { z } from 'zod';
import { loopDeps } from '../../lib/adapters/aws/migration-deps.ts';
import { recordStep } from '../../lib/migration/loop.ts';
import { loopStateSchema } from '../../lib/migration/schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ state: loopStateSchema }), async ({ state }) => ({
  state: await recordStep(state, loopDeps()),
}));
