/**
 * SQS (observation ingest queue): each record is `{ tenant, points }` or one point with its tenant.
 * Invalid points are logged and counted, never retried (a retry cannot fix them); the record fails,
 * and comes back, only when some of its points could not be applied (a series kept conflicting, the
 * store or the bus failed, time ran short); the redelivery applies just those, the others are
 * duplicates. A record that is not a message at all (not JSON, no tenant) also fails, so the queue's
 * redrive parks it in the DLQ for inspection.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { observationDeps } from '../../lib/adapters/aws/observation-deps.ts';
import { DependencyError } from '../../lib/errors.ts';
import { logger, metrics } from '../../lib/observability.ts';
import { ingest } from '../../lib/observation/ingest.ts';
import { queueMessageSchema } from '../../lib/observation/queue.ts';
import { queueHandler } from '../../lib/triggers/queue.ts';

export const handler = queueHandler(queueMessageSchema, async (message, record) => {
  const report = await ingest(message.tenant, message.points, observationDeps());
  metrics.addMetric('PointsAccepted', MetricUnit.Count, report.accepted);
  if (report.rejected.length > 0) {
    metrics.addMetric('PointsRejected', MetricUnit.Count, report.rejected.length);
    logger.warn('points rejected', { messageId: record.messageId, tenant: message.tenant, rejected: report.rejected.slice(0, 20) });
  }
  if (report.anomalies.length > 0) metrics.addMetric('AnomaliesDetected', MetricUnit.Count, report.anomalies.length);
  if (report.unprocessed.length > 0) {
    throw new DependencyError(
      `${report.unprocessed.length} point(s) of message ${record.messageId} not applied yet; the redelivery applies them`,
    );
  }
});
