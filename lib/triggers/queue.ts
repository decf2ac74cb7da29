/**
 * The one SQS handler wrapper: Powertools batch processing with `ReportBatchItemFailures`, each
 * record's body parsed as JSON and validated with zod (a bad record fails alone and reaches the
 * DLQ after the queue's `maxReceiveCount`), `RecordsProcessed`/`RecordsFailed` counted and the stored
 * metrics flushed after every batch.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import { ValidationError } from '../errors.ts';
import { fieldIssues } from '../http/handler.ts';
import { metrics } from '../observability.ts';

/**
 * A Lambda handler for an SQS event source whose records carry `schema`-shaped JSON bodies.
 * @example
 * export const handler = sqsHandler(busEnvelopeSchema, async (event) => { await store(event); });
 */
export function sqsHandler<S extends z.ZodType>(schema: S, handle: (message: z.infer<S>, record: SQSRecord) => Promise<void>) {
  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      throw new ValidationError([{ path: 'body', message: 'not JSON' }]);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new ValidationError(fieldIssues(parsed.error));
    await handle(parsed.data, record);
  };
  return async (event: SQSEvent, context: Context) => {
    try {
      const response = await processPartialResponse(event, recordHandler, processor, { context });
      metrics.addMetric('RecordsProcessed', MetricUnit.Count, event.Records.length - response.batchItemFailures.length);
      metrics.addMetric('RecordsFailed', MetricUnit.Count, response.batchItemFailures.length);
      return response;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
