/**
 * Per-model in-flight slots ({@link InflightLimiter}) in the state table:
 *   system#gateway#inflight / <model>    holders (string set of slot ids), meanHoldMs
 *
 * A slot id names when it was taken and until when it is leased (lib/gateway/backpressure.ts), so
 * the item alone says which holders died: acquiring is one conditional UpdateItem that adds an id
 * while `size(holders) < mark`; when that fails, the holders the failed write saw are checked, the
 * expired ones deleted from the set (a no-op for ids already gone), and the acquisition tried once
 * more. Releasing deletes the id and folds the hold time into the model's mean hold, which sets the
 * `Retry-After` of refused calls. SDK failures map through lib/adapters/aws/errors.ts.
 */
import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  BackpressureError,
  backpressureRetryAfterSeconds,
  DEFAULT_SLOT_LEASE_SECONDS,
  expiredSlots,
  type InflightLimiter,
  type InflightSlot,
  nextMeanHoldMs,
  slotId,
} from '../../gateway/backpressure.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { itemOfFailedCondition } from './gateway-budgets.ts';

const slotsKey = (model: string) => ({ pk: 'system#gateway#inflight', sk: model });

const holdersOf = (item: Record<string, unknown> | undefined): string[] => {
  const value = item?.holders;
  return value instanceof Set ? [...value].map(String) : Array.isArray(value) ? value.map(String) : [];
};
const meanOf = (item: Record<string, unknown> | undefined): number | undefined => {
  const value = item?.meanHoldMs;
  return typeof value === 'number' || typeof value === 'bigint' ? Number(value) : undefined;
};

/** In-flight slots per model on the state table. */
export function dynamoInflightLimiter(client: DynamoDBDocumentClient, table: string): InflightLimiter {
  const send = mappedSend(client, 'DynamoDB');
  const read = async (model: string) => (await send(new GetCommand({ TableName: table, Key: slotsKey(model), ConsistentRead: true }))).Item;

  return {
    async acquire(model, mark, options = {}) {
      if (!Number.isSafeInteger(mark) || mark < 1)
        throw new RangeError(`the in-flight mark of ${model} must be a positive integer, got ${mark}`);
      const now = options.now ?? new Date();
      const lease = Math.ceil((options.leaseSeconds ?? DEFAULT_SLOT_LEASE_SECONDS) * 1000);
      const id = slotId({ acquiredAtMs: now.getTime(), expiresAtMs: now.getTime() + lease, nonce: randomBytes(8).toString('hex') });
      for (let attempt = 1; ; attempt += 1) {
        try {
          const output = await send(
            new UpdateCommand({
              TableName: table,
              Key: slotsKey(model),
              UpdateExpression: 'ADD holders :slot',
              ConditionExpression: 'attribute_not_exists(holders) OR size(holders) < :mark',
              ExpressionAttributeValues: { ':slot': new Set([id]), ':mark': mark },
              ReturnValues: 'ALL_NEW',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
          const meanHoldMs = meanOf(output.Attributes);
          return { model, id, acquiredAt: now, ...(meanHoldMs === undefined ? {} : { meanHoldMs }) };
        } catch (error) {
          if (!(error instanceof ConditionFailedError)) throw error;
          const item = itemOfFailedCondition(error) ?? (await read(model));
          const holders = holdersOf(item);
          const expired = expiredSlots(holders, now);
          if (expired.length > 0 && attempt === 1) {
            // Holders that died without releasing: their leases ended, their slots are free again.
            await send(
              new UpdateCommand({
                TableName: table,
                Key: slotsKey(model),
                UpdateExpression: 'DELETE holders :expired',
                ExpressionAttributeValues: { ':expired': new Set(expired) },
              }),
            );
            continue;
          }
          throw new BackpressureError(model, holders.length, mark, backpressureRetryAfterSeconds(meanOf(item)));
        }
      }
    },

    async release(slot: InflightSlot, now = new Date()) {
      try {
        await send(
          new UpdateCommand({
            TableName: table,
            Key: slotsKey(slot.model),
            UpdateExpression: 'DELETE holders :slot SET meanHoldMs = :mean',
            ConditionExpression: 'contains(holders, :id)',
            ExpressionAttributeValues: {
              ':slot': new Set([slot.id]),
              ':id': slot.id,
              ':mean': nextMeanHoldMs(slot.meanHoldMs, now.getTime() - slot.acquiredAt.getTime()),
            },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionFailedError) return false;
        throw error;
      }
    },

    async inFlight(model) {
      return holdersOf(await read(model)).length;
    },
  };
}
