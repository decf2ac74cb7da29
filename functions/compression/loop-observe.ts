/** Loop 3 task, first: the tenant's answer-found reports not judged yet and its settings; the found-rate to Observation. */
import { z } from 'zod';
import { loopObserveDeps } from '../../lib/adapters/aws/compression-deps.ts';
import { loopInputSchema, observeStep } from '../../lib/compression/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(loopInputSchema.extend({ execution: z.string().min(1).max(80) }), async (input) => ({
  state: await observeStep(input, loopObserveDeps()),
}));
