/** Migration state machine task: one step's pre-checks and its L3 executor (dry run, execute, read-back), recorded on the run. */
import { z } from 'zod';
import { loopDeps } from '../../lib/adapters/aws/migration-deps.ts';
import { executeStep } from '../../lib/migration/loop.ts';
import { loopStateSchema } from '../../lib/migration/schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ state: loopStateSchema }), async ({ state }) => ({
  state: await executeStep(state, loopDeps({ act: true })),
}));
