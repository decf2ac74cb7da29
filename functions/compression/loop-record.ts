/** Loop 3 task, last on every path: compression.loop.completed in the ledger, a judged window off the waiting count. */
import { compressionStore } from '../../lib/adapters/aws/compression-deps.ts';
import { governanceOutbox } from '../../lib/adapters/aws/governance-deps.ts';
import { recordInputSchema, recordStep } from '../../lib/compression/loop.ts';
import { logger } from '../../lib/observability.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(recordInputSchema, async (input) => {
  const recorded = await recordStep(input, { store: compressionStore(), outbox: governanceOutbox(), now: () => new Date() });
  logger.info('compression loop recorded', { tenant: recorded.tenant, execution: recorded.execution, outcome: recorded.outcome });
  return { outcome: recorded.outcome, reason: recorded.reason };
});
