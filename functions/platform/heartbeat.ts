/** Scheduled: publishes `platform.heartbeat.emitted`, the liveness signal other engines watch. */
import type { ScheduledEvent } from 'aws-lambda';
import { eventBridgeClient } from '../../lib/adapters/aws/clients.ts';
import { eventBridgePublisher } from '../../lib/adapters/aws/event-publisher.ts';
import { config } from '../../lib/config.ts';
import { busEvent } from '../../lib/events/publisher.ts';
import { logger } from '../../lib/observability.ts';

const cfg = config();
const publisher = eventBridgePublisher(eventBridgeClient(), { busName: cfg.EVENT_BUS_NAME });

export const handler = async (event: ScheduledEvent): Promise<void> => {
  await publisher.publish([
    busEvent('platform.heartbeat.emitted', {
      tenant: 'system',
      stage: cfg.STAGE,
      serviceVersion: cfg.SERVICE_VERSION,
      scheduledAt: event.time,
    }),
  ]);
  logger.debug('heartbeat published', { scheduledAt: event.time });
};
