/** Scheduled: publishes `platform.heartbeat.emitted`, the liveness signal other engines watch. */
import { SYSTEM_TENANT } from '../../events/ids.ts';
import { eventBridgeClient } from '../../lib/adapters/aws/clients.ts';
import { eventBridgePublisher } from '../../lib/adapters/aws/event-publisher.ts';
import { config } from '../../lib/config.ts';
import { busEvent } from '../../lib/events/publisher.ts';
import { scheduledJob } from '../../lib/triggers/schedule.ts';

const cfg = config();
const publisher = eventBridgePublisher(eventBridgeClient(), { busName: cfg.EVENT_BUS_NAME });

export const handler = scheduledJob({
  name: 'PlatformHeartbeat',
  concurrency: 1,
  // One beat per run, on behalf of the platform itself.
  targets: async () => [SYSTEM_TENANT] as const,
  describe: (tenant) => ({ tenant }),
  run: async (tenant, { now }) => {
    await publisher.publish([busEvent('platform.heartbeat.emitted', { tenant, stage: cfg.STAGE, serviceVersion: cfg.SERVICE_VERSION, scheduledAt: now.toISOString() })]);
    return 1;
  },
  summarize: (beats) => ({ published: beats.length }),
});
