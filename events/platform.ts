/** Events of the platform itself (`autonomy.platform`). */
import { z } from 'zod';
import { defineEvent, detailSchema, isoTimestampSchema } from './common.ts';
import { SYSTEM_TENANT } from './ids.ts';

/** `platform.heartbeat.emitted` v1: the liveness signal; platform events belong to the `system` tenant. */
export const heartbeatEmitted = defineEvent({
  source: 'autonomy.platform',
  detailType: 'platform.heartbeat.emitted',
  version: '1',
  description: 'The scheduled liveness signal of a stage; a missing heartbeat means the bus or the scheduler is down.',
  schema: detailSchema('1', {
    tenant: z.literal(SYSTEM_TENANT),
    stage: z.string().min(1).max(64),
    serviceVersion: z.string().min(1).max(128),
    /** The schedule's time for this beat (the scheduled event's `time`). */
    scheduledAt: isoTimestampSchema,
  }),
});
/** The detail of `platform.heartbeat.emitted`. */
export type HeartbeatEmitted = z.infer<typeof heartbeatEmitted.schema>;
