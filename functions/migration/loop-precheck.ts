/** Migration state machine task: the kill switches and every provision step's capacity against the catalogue, before the gate. */
import { z } from 'zod';
import { loopDeps } from '../../lib/adapters/aws/migration-deps.ts';
import { precheckStep } from '../../lib/migration/loop.ts';
import { loopStateSchema } from '../../lib/migration/schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ state: loopStateSchema }), async ({ state }) => ({
  state: await precheckStep(state, loopDeps()),
}));
