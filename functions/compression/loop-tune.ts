/** Loop 3 task: the pure tuner over the observed window (too few reports, no change, or one bounded step). */
import { z } from 'zod';
import { loopStateSchema, tuneStep } from '../../lib/compression/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ state: loopStateSchema }), async ({ state }) => ({ state: tuneStep(state) }));
