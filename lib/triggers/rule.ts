/**
 * The one EventBridge rule-target wrapper: the event is parsed with Powertools Parser's EventBridge
 * envelope and the catalogued detail schema. An event that does not match its schema is logged and
 * counted (`EventsRejected`) and not retried (a retry cannot fix it); any other failure is thrown, so
 * Lambda's asynchronous retries and the function's on-failure destination take over.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeEnvelope } from '@aws-lambda-powertools/parser/envelopes/eventbridge';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type { z } from 'zod';
import { logger, metrics } from '../observability.ts';

/**
 * A Lambda handler for bus events whose `detail` matches `detail`.
 * @example
 * export const handler = ruleHandler(anomalyDetectedEvent.schema, async (detail) => { await diagnose(detail); });
 */
export function ruleHandler<S extends z.ZodType>(detail: S, handle: (detail: z.infer<S>, event: EventBridgeEvent<string, unknown>) => Promise<void>) {
  return async (event: EventBridgeEvent<string, unknown>, context: Context): Promise<void> => {
    logger.addContext(context);
    logger.appendKeys({ eventId: event.id, detailType: event['detail-type'] });
    try {
      const parsed = EventBridgeEnvelope.safeParse(event, detail);
      if (!parsed.success) {
        metrics.addMetric('EventsRejected', MetricUnit.Count, 1);
        logger.error('event rejected: it does not match its schema', { error: parsed.error as Error });
        return;
      }
      await handle(parsed.data as z.infer<S>, event);
      metrics.addMetric('EventsProcessed', MetricUnit.Count, 1);
    } finally {
      metrics.publishStoredMetrics();
      logger.removeKeys(['eventId', 'detailType']);
    }
  };
}
