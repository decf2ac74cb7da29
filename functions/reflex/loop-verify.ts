/** Self-repair loop task: looks at the component's series after the run (recovered, not recovered, or look again). */
import { z } from 'zod';
import { watchDeps } from '../../lib/adapters/aws/reflex-deps.ts';
import { loopStateSchema, verifyStep } from '../../lib/reflex/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ state: loopStateSchema }), async ({ state }) => ({
  state: await verifyStep(state, watchDeps()),
}));
