/** Self-repair loop task, last: the loop's summary on the incident with reflex.loop.completed (once per execution). */
import { governanceOutbox } from '../../lib/adapters/aws/governance-deps.ts';
import { reflexStores } from '../../lib/adapters/aws/reflex-deps.ts';
import { logger } from '../../lib/observability.ts';
import { finishInputSchema, finishStep } from '../../lib/reflex/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(finishInputSchema, async (input) => {
  const finished = await finishStep(input, { incidents: reflexStores().incidents, outbox: governanceOutbox(), now: new Date() });
  logger.info('self-repair loop finished', {
    tenant: input.state.tenant,
    incidentId: input.state.incidentId,
    execution: input.execution,
    ...finished,
  });
  return finished;
});
