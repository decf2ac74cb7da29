/**
 * SQS (observation ingest queue): each record is `{ tenant, points }` or one point with its tenant.
 * Invalid points are logged and counted, never retried (a retry cannot fix them); the record fails,
 * and comes back, only on a conflict or a dependency error. A record that is not a message at all
 * (not JSON, no tenant) also fails, so the queue's redrive parks it in the DLQ for inspection.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { observationDeps } from '../../lib/adapters/aws/observation-deps.ts';
import { ValidationError } from '../../lib/errors.ts';
import { fieldIssues } from '../../lib/http/handler.ts';
import { logger, metrics } from '../../lib/observability.ts';
import { ingest } from '../../lib/observation/ingest.ts';
import { queueMessageSchema } from '../../lib/observation/queue.ts';

const processor = new BatchProcessor(EventType.SQS);

async function recordHandler(record: SQSRecord): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new ValidationError([{ path: 'body', message: 'not JSON' }]);
  }
  const parsed = queueMessageSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError(fieldIssues(parsed.error));
  const report = await ingest(parsed.data.tenant, parsed.data.points, observationDeps());
  metrics.addMetric('PointsAccepted', MetricUnit.Count, report.accepted);
  if (report.rejected.length > 0) {
    metrics.addMetric('PointsRejected', MetricUnit.Count, report.rejected.length);
    logger.warn('points rejected', { messageId: record.messageId, tenant: parsed.data.tenant, rejected: report.rejected.slice(0, 20) });
  }
  if (report.anomalies.length > 0) metrics.addMetric('AnomaliesDetected', MetricUnit.Count, report.anomalies.length);
}

export const handler = async (event: SQSEvent, context: Context) => {
  try {
    return await processPartialResponse(event, recordHandler, processor, { context });
  } finally {
    metrics.publishStoredMetrics();
  }
};
