/**
 * SQS (audit queue, fed by the rule that matches every `autonomy.*` event): appends each bus event
 * to its tenant's `events.<engine>` stream exactly once — the entry and a dedupe marker on the
 * event id are written in one transaction, so a redelivery stores nothing. A bad record fails
 * alone (ReportBatchItemFailures) and reaches the DLQ after five receives. Appending emits no
 * event, so auditing never feeds itself.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { recordDeps } from '../../lib/adapters/aws/audit-deps.ts';
import { busEventRecord, recordOnce } from '../../lib/audit/engine.ts';
import { ValidationError } from '../../lib/errors.ts';
import { fieldIssues } from '../../lib/http/handler.ts';
import { logger, metrics } from '../../lib/observability.ts';
import { busEnvelopeSchema } from '../../lib/platform/journal.ts';

const processor = new BatchProcessor(EventType.SQS);

async function recordHandler(record: SQSRecord): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new ValidationError([{ path: 'body', message: 'not JSON' }]);
  }
  const parsed = busEnvelopeSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError(fieldIssues(parsed.error));
  const { input, dedupeKey } = busEventRecord(parsed.data, new Date());
  const outcome = await recordOnce(recordDeps(), input, dedupeKey);
  if (outcome.duplicate) {
    metrics.addMetric('AuditDuplicateDeliveries', MetricUnit.Count, 1);
    logger.debug('duplicate delivery ignored', { eventId: parsed.data.id });
    return;
  }
  metrics.addMetric('AuditEntriesAppended', MetricUnit.Count, 1);
}

export const handler = async (event: SQSEvent, context: Context) => {
  try {
    return await processPartialResponse(event, recordHandler, processor, { context });
  } finally {
    metrics.publishStoredMetrics();
  }
};
