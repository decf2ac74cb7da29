/**
 * Migration state machine task (`.waitForTaskToken`): waits at governance's gate for the plan's
 * proposal (lib/governance/gate-wait.ts), resumed at once when it is decided already (or the run was
 * cancelled, or a kill switch is on); otherwise governance/gate-resume does. The check step reads the decision.
 */
import { z } from 'zod';
import { loopDeps } from '../../lib/adapters/aws/migration-deps.ts';
import { awaitGate } from '../../lib/migration/loop.ts';
import { loopStateSchema } from '../../lib/migration/schemas.ts';
import { logger } from '../../lib/observability.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

const inputSchema = z.object({ taskToken: z.string().min(1).max(2048), state: loopStateSchema });

export const handler = taskHandler(inputSchema, async (input) => {
  const outcome = await awaitGate(input, loopDeps());
  logger.info('migration gate', { tenant: input.state.tenant, runId: input.state.runId, proposalId: input.state.proposalId, outcome });
  return { outcome };
});
