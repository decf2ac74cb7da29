/** Loop 3 task, first of a resumed run: the settled compression:tune proposal; approved → apply its step, otherwise recorded refused. */
import { loopResumeDeps } from '../../lib/adapters/aws/compression-deps.ts';
import { resumeInputSchema, resumeStep } from '../../lib/compression/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(resumeInputSchema, async (input) => ({ state: await resumeStep(input, loopResumeDeps()) }));
