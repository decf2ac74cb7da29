/**
 * SQS (audit queue, fed by the rule that matches every `autonomy.*` event): appends each bus event
 * to its tenant's `events.<engine>` stream exactly once — the entry and a dedupe marker on the
 * event id are written in one transaction, so a redelivery stores nothing. A bad record fails
 * alone (ReportBatchItemFailures) and reaches the DLQ after five receives. Appending emits no
 * event, so auditing never feeds itself.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { recordDeps } from '../../lib/adapters/aws/audit-deps.ts';
import { busEventRecord, recordOnce } from '../../lib/audit/engine.ts';
import { logger, metrics } from '../../lib/observability.ts';
import { busEventSchema, queueHandler } from '../../lib/triggers/queue.ts';

export const handler = queueHandler(busEventSchema, async (event) => {
  const { input, dedupeKey } = busEventRecord(event, new Date());
  const outcome = await recordOnce(recordDeps(), input, dedupeKey);
  if (outcome.duplicate) {
    metrics.addMetric('AuditDuplicateDeliveries', MetricUnit.Count, 1);
    logger.debug('duplicate delivery ignored', { eventId: event.id });
    return;
  }
  metrics.addMetric('AuditEntriesAppended', MetricUnit.Count, 1);
});
