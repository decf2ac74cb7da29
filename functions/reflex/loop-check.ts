/** Self-repair loop task, after the gate and just before acting: the decision read, the kill switches, the incident still open, the proposal still approved. */
import { z } from 'zod';
import { governanceStore } from '../../lib/adapters/aws/governance-deps.ts';
import { reflexStores } from '../../lib/adapters/aws/reflex-deps.ts';
import { checkStep, loopStateSchema } from '../../lib/reflex/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ state: loopStateSchema }), async ({ state }) => ({
  state: await checkStep(state, { store: governanceStore(), incidents: reflexStores().incidents, now: new Date() }),
}));
