/**
 * The one SQS wrapper: Powertools batch processing with `ReportBatchItemFailures`, each record's body
 * parsed as JSON and validated by Powertools Parser with a zod schema (a bad record fails alone and
 * reaches the DLQ after the queue's `maxReceiveCount`), `RecordsProcessed`/`RecordsFailed` counted and
 * the stored metrics flushed after every batch.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { parser } from '@aws-lambda-powertools/batch/parser';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { logger, metrics } from '../observability.ts';

/** A bus event as a rule delivers it (to a queue or a function), with an object `detail`. */
export const busEventSchema = EventBridgeSchema.extend({ detail: z.record(z.string(), z.unknown()) });
/** A parsed bus event. */
export type BusEvent = z.infer<typeof busEventSchema>;

/**
 * A Lambda handler for an SQS event source whose records carry `body`-shaped JSON.
 * @example
 * export const handler = queueHandler(busEventSchema, async (event) => { await store(event); });
 */
export function queueHandler<S extends z.ZodType>(body: S, handle: (message: z.infer<S>, record: SQSRecord) => Promise<void>) {
  const processor = new BatchProcessor(EventType.SQS, { parser, innerSchema: body, transformer: 'json', logger });
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    const parsed = record as unknown as Omit<SQSRecord, 'body'> & { body: z.infer<S> };
    await handle(parsed.body, record);
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
