/**
 * Self-repair loop task (`.waitForTaskToken`): keeps the task token under the round's proposal and
 * resumes the loop at once when the proposal is decided already; otherwise reflex/loop-resume does,
 * when governance settles it.
 */
import { z } from 'zod';
import { gateDeps } from '../../lib/adapters/aws/reflex-deps.ts';
import { logger } from '../../lib/observability.ts';
import { awaitGate, loopStateSchema } from '../../lib/reflex/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

const inputSchema = z.object({ taskToken: z.string().min(1).max(2048), state: loopStateSchema });

export const handler = taskHandler(inputSchema, async (input) => {
  const outcome = await awaitGate(input, gateDeps(new Date()));
  logger.info('gate step', { tenant: input.state.tenant, incidentId: input.state.incidentId, proposalId: input.state.proposalId, outcome });
  return { outcome };
});
