/** Loop 3 task: the kill switches (the tenant's and the global one); on, nothing is proposed or applied. */
import { z } from 'zod';
import { governanceStore } from '../../lib/adapters/aws/governance-deps.ts';
import { checkStep, loopStateSchema } from '../../lib/compression/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ state: loopStateSchema }), async ({ state }) => ({
  state: await checkStep(state, { governance: governanceStore() }),
}));
