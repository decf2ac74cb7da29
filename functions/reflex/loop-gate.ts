/**
 * Self-repair loop task (`.waitForTaskToken`): waits at governance's gate for the round's proposal
 * (lib/governance/gate-wait.ts), resumed at once when it is decided already (or a kill switch is on,
 * or the incident ended); otherwise governance/gate-resume resumes it when governance settles it.
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
