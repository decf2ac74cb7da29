/**
 * Migration state machine task (`.waitForTaskToken`): keeps the task token under the plan's proposal
 * and resumes the run at once when the proposal is decided already; otherwise migration/loop-resume does.
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
