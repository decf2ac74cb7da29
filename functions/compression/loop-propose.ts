/** Loop 3 task: the tuner's step proposed to governance as compression:tune (autonomous when low-risk). */
import { z } from 'zod';
import { loopProposeDeps } from '../../lib/adapters/aws/compression-deps.ts';
import { loopStateSchema, proposeStep } from '../../lib/compression/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ state: loopStateSchema }), async ({ state }) => ({
  state: await proposeStep(state, loopProposeDeps()),
}));
