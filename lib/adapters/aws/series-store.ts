/**
 * SeriesStore on the state table: pk `<tenant>#series`, sk the series name, so every key starts
 * with the tenant and a tenant's series sit in one partition, listed in name order.
 *
 * The item keeps small facts as attributes (for listings without parsing state) and the record
 * itself as one JSON string `data`: detector state, recent points, labels and outbox. JSON keeps
 * every double exact and makes the item size easy to bound; a non-finite number, which JSON cannot
 * carry, is refused instead of being silently turned into null.
 *
 * Optimistic concurrency: a write is conditional on `version` (`attribute_not_exists(pk)` for a new
 * series, `#version = :expected` otherwise); a failed condition becomes a ConflictError. Other SDK
 * failures map through lib/adapters/aws/errors.ts (throttling, faults: DependencyError).
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, ValidationError } from '../../errors.ts';
import type { SeriesListing, SeriesPage, SeriesRecord, SeriesStore } from '../../observation/ports.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';

/** Largest `data` attribute written; DynamoDB's item limit is 400 KB including names and keys. */
export const MAX_DATA_BYTES = 380 * 1024;

const partition = (tenant: string) => `${tenant}#series`;

function serialise(record: SeriesRecord): string {
  const data = JSON.stringify(
    { state: record.state, recent: record.recent, labels: record.labels, outbox: record.outbox, droppedEvents: record.droppedEvents },
    (key, value) => {
      if (typeof value === 'number' && !Number.isFinite(value))
        throw new RangeError(`series ${record.series}: non-finite number at '${key}' cannot be stored`);
      return value;
    },
  );
  const bytes = Buffer.byteLength(data);
  if (bytes > MAX_DATA_BYTES) throw new RangeError(`series ${record.series}: record of ${bytes} bytes exceeds ${MAX_DATA_BYTES}`);
  return data;
}

function deserialise(item: Record<string, unknown>): SeriesRecord {
  const data = JSON.parse(String(item.data)) as Pick<SeriesRecord, 'state' | 'recent' | 'labels' | 'outbox' | 'droppedEvents'>;
  return {
    tenant: String(item.tenant),
    series: String(item.sk),
    version: Number(item.version),
    state: data.state,
    recent: data.recent,
    labels: data.labels,
    outbox: data.outbox,
    droppedEvents: data.droppedEvents,
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  };
}

function encodeCursor(series: string): string {
  return Buffer.from(JSON.stringify({ s: series }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s?: unknown };
    if (typeof parsed.s === 'string' && parsed.s.length > 0) return parsed.s;
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError([{ path: 'cursor', message: 'not a cursor from a previous page' }]);
}

/**
 * Creates the DynamoDB-backed SeriesStore.
 * @example
 * const store = dynamoSeriesStore(dynamoClient(), config().STATE_TABLE);
 * const record = await store.get('acme', 'api.latency');
 */
export function dynamoSeriesStore(client: DynamoDBDocumentClient, tableName: string): SeriesStore {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async get(tenant, series) {
      const output = await send(new GetCommand({ TableName: tableName, Key: { pk: partition(tenant), sk: series }, ConsistentRead: true }));
      return output.Item ? deserialise(output.Item) : undefined;
    },

    async put(record, expectedVersion) {
      const stats = record.state.stats;
      const item = {
        pk: partition(record.tenant),
        sk: record.series,
        tenant: record.tenant,
        version: record.version,
        detector: record.state.detector,
        count: stats.count,
        anomalies: stats.anomalies,
        lastTimestamp: stats.lastTimestamp,
        createdAt: record.createdAt,
        updatedAt: record.updatedAt,
        data: serialise(record),
      };
      const condition =
        expectedVersion === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': expectedVersion },
            };
      try {
        await send(new PutCommand({ TableName: tableName, Item: item, ...condition }));
      } catch (error) {
        if (error instanceof ConditionFailedError) {
          throw new ConflictError(`Series ${record.series} changed concurrently (expected version ${expectedVersion ?? 'none'})`);
        }
        throw error;
      }
    },

    async delete(tenant, series) {
      const output = await send(new DeleteCommand({ TableName: tableName, Key: { pk: partition(tenant), sk: series }, ReturnValues: 'ALL_OLD' }));
      return output.Attributes !== undefined;
    },

    async list(tenant, page): Promise<SeriesPage> {
      const start = page.cursor === undefined ? undefined : { pk: partition(tenant), sk: decodeCursor(page.cursor) };
      const output = await send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': partition(tenant) },
          ProjectionExpression: 'sk, detector, #version, #count, anomalies, lastTimestamp, updatedAt',
          ExpressionAttributeNames: { '#version': 'version', '#count': 'count' },
          Limit: page.limit,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const items: SeriesListing[] = (output.Items ?? []).map((item) => ({
        series: String(item.sk),
        detector: String(item.detector),
        version: Number(item.version),
        count: Number(item.count),
        anomalies: Number(item.anomalies),
        lastTime: typeof item.lastTimestamp === 'number' ? new Date(item.lastTimestamp).toISOString() : null,
        updatedAt: String(item.updatedAt),
      }));
      const last = output.LastEvaluatedKey?.sk;
      return typeof last === 'string' ? { items, cursor: encodeCursor(last) } : { items };
    },
  };
}
