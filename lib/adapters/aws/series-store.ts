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
 *
 * Batched reads: `getMany` reads up to 100 series per BatchGetItem (strongly consistent), resending
 * the keys DynamoDB leaves unprocessed with jittered backoff; conditional writes cannot be batched
 * (BatchWriteItem takes no condition, and a transaction fails whole when one series conflicts).
 */
import { BatchGetCommand, DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, DependencyError, ValidationError } from '../../errors.ts';
import {
  type RecentPoint,
  type SeriesListing,
  type SeriesPage,
  type SeriesRecord,
  type SeriesStore,
  seriesFacts,
  type WindowPoint,
} from '../../observation/ports.ts';
import { type IncidentState, initIncidents } from '../../observation/incidents.ts';
import { backoffDelay } from '../../retry.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';

/** Keys per BatchGetItem request (DynamoDB's limit). */
export const BATCH_GET_KEYS = 100;
/** BatchGetItem requests per chunk before keys DynamoDB keeps leaving unprocessed are a DependencyError. */
const BATCH_GET_ATTEMPTS = 5;

/** Largest `data` attribute written; DynamoDB's item limit is 400 KB including names and keys. */
export const MAX_DATA_BYTES = 380 * 1024;

const partition = (tenant: string) => `${tenant}#series`;

/**
 * The reorder window's points are the newest of the recent ring, so it is stored as their decisions
 * only (`windowFlags`, one `0`/`1` per point: ~256 bytes instead of ~8 KB), and in full only in the
 * unexpected case that it is not the ring's tail.
 */
function windowFields(record: SeriesRecord): { windowFlags: string } | { window: WindowPoint[] } {
  const tail = record.recent.slice(record.recent.length - record.window.length);
  const isTail =
    tail.length === record.window.length &&
    record.window.every(([timestamp, value], i) => tail[i]?.[0] === timestamp && Object.is(tail[i]?.[1], value));
  return isTail ? { windowFlags: record.window.map((point) => point[2]).join('') } : { window: record.window };
}

function windowOf(data: { recent: RecentPoint[]; window?: WindowPoint[]; windowFlags?: string }): WindowPoint[] {
  // Records written before the reorder window have neither: every point of theirs is settled.
  if (data.windowFlags === undefined) return data.window ?? [];
  const tail = data.recent.slice(data.recent.length - data.windowFlags.length);
  return tail.map(([timestamp, value], i) => [timestamp, value, data.windowFlags?.[i] === '1' ? 1 : 0]);
}

function serialise(record: SeriesRecord): string {
  const data = JSON.stringify(
    {
      state: record.state,
      ...windowFields(record),
      incidents: record.incidents,
      recent: record.recent,
      labels: record.labels,
      outbox: record.outbox,
      droppedEvents: record.droppedEvents,
    },
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
  const data = JSON.parse(String(item.data)) as Pick<SeriesRecord, 'state' | 'recent' | 'labels' | 'outbox' | 'droppedEvents'> & {
    window?: WindowPoint[];
    windowFlags?: string;
    incidents?: IncidentState;
  };
  return {
    tenant: String(item.tenant),
    series: String(item.sk),
    version: Number(item.version),
    state: data.state,
    window: windowOf(data),
    // Records written before incidents start a fresh tracker (it learns from their next points).
    incidents: data.incidents ?? initIncidents(),
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
export function dynamoSeriesStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: { sleep?: (ms: number) => Promise<void> } = {},
): SeriesStore {
  const send = mappedSend(client, 'DynamoDB');
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  async function readChunk(tenant: string, names: readonly string[], found: Map<string, SeriesRecord>, signal: AbortSignal | undefined): Promise<void> {
    let keys: Array<Record<string, unknown>> = names.map((series) => ({ pk: partition(tenant), sk: series }));
    for (let attempt = 1; keys.length > 0; attempt += 1) {
      if (attempt > BATCH_GET_ATTEMPTS) {
        throw new DependencyError(`DynamoDB left ${keys.length} series unread after ${BATCH_GET_ATTEMPTS} batched reads`, { retryAfterSeconds: 2 });
      }
      if (attempt > 1) await sleep(backoffDelay(attempt - 1, { baseDelayMs: 50, maxDelayMs: 1000 }));
      const output = await send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }), { abortSignal: signal });
      for (const item of output.Responses?.[tableName] ?? []) found.set(String(item.sk), deserialise(item));
      keys = output.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }

  return {
    async get(tenant, series, options) {
      const output = await send(new GetCommand({ TableName: tableName, Key: { pk: partition(tenant), sk: series }, ConsistentRead: true }), {
        abortSignal: options?.signal,
      });
      return output.Item ? deserialise(output.Item) : undefined;
    },

    async getMany(tenant, series, options) {
      const names = [...new Set(series)];
      const found = new Map<string, SeriesRecord>();
      const chunks: string[][] = [];
      for (let start = 0; start < names.length; start += BATCH_GET_KEYS) chunks.push(names.slice(start, start + BATCH_GET_KEYS));
      await Promise.all(chunks.map((chunk) => readChunk(tenant, chunk, found, options?.signal)));
      return found;
    },

    async put(record, expectedVersion, options) {
      const facts = seriesFacts(record);
      const item = {
        pk: partition(record.tenant),
        sk: record.series,
        tenant: record.tenant,
        version: record.version,
        detector: record.state.detector,
        count: facts.count,
        anomalies: facts.anomalies,
        lastTimestamp: facts.lastTimestamp,
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
        await send(new PutCommand({ TableName: tableName, Item: item, ...condition }), { abortSignal: options?.signal });
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
