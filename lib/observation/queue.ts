/**
 * Messages on the observation ingest queue. A message carries its tenant, because the queue has no
 * caller credentials: whoever may send to the queue (an IAM grant on it) is trusted to name the
 * tenant, the same trust a producer inside the account has for any other internal resource.
 */
import { z } from 'zod';
import { clientTenantSchema } from '../../events/ids.ts';
import { MAX_BATCH_POINTS } from './schemas.ts';

/**
 * One message body: `{ tenant, points: [...] }` (1..500 points), or a single point with its tenant,
 * `{ tenant, series, timestamp, value, labels? }`. Points are validated one by one later, so a bad
 * point never sinks the good ones of its message.
 */
export const queueMessageSchema = z
  .looseObject({
    tenant: clientTenantSchema,
    points: z.array(z.unknown()).min(1).max(MAX_BATCH_POINTS).optional(),
  })
  .transform(({ tenant, points, ...point }) => ({ tenant, points: points ?? [point] }));
/** A parsed queue message: the tenant and its raw points. */
export type QueueMessage = z.output<typeof queueMessageSchema>;
