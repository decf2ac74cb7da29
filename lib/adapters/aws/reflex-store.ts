/**
 * The Reflex engine's state in the state table (every key starting with the tenant):
 *   <tenant>#reflex#components / #head                 the current generation: its key prefix, count, who and when
 *   <tenant>#reflex#components / g<gen>-<token>#<id>   one item per component of a generation
 *   <tenant>#reflex#incident   / <incidentId>          incidents as JSON text `data` (gsi1: <tenant>#reflex#incident#open|closed, by start)
 *   <tenant>#reflex#incident   / #closed#<incidentId>  a close heard before the incident's record (TTL a week; `#` is in no incident id)
 *   <tenant>#reflex#cases      / c#<at>#<caseId>       cases, newest last (TTL one year)
 *   <tenant>#reflex#cases      / id#<caseId>           a case's marker: each case counts once
 *   <tenant>#reflex#clusters   / <cluster>             per playbook: s_<playbook> recoveries, f_<playbook> failures
 *
 * The registry is one item per component (a tenant's 500 components would not fit one 400 KB item)
 * under a generation prefix: a replacement writes the new generation's items, then moves the head
 * (conditional on the generation it read), then deletes every older item. A reader reads the head,
 * then the items under its prefix; if a newer replacement deleted them meanwhile (fewer than the
 * head's count), it reads again. So readers see one whole generation, never a mix.
 * SDK failures map through lib/adapters/aws/errors.ts.
 */
import { randomBytes } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mapLimit } from '../../concurrency.ts';
import { ConflictError } from '../../errors.ts';
import type { ClusterStats, PlaybookRecord } from '../../reflex/cases.ts';
import type { CaseStore, IncidentStore, SeriesPoints } from '../../reflex/incidents.ts';
import type { Point } from '../../reflex/rca.ts';
import type { RegistryStore } from '../../reflex/registry.ts';
import {
  type Case,
  type ClosedMarker,
  type Component,
  caseSchema,
  closedMarkerSchema,
  componentSchema,
  type Incident,
  incidentSchema,
  playbooks,
  type Registry,
} from '../../reflex/schemas.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { writeWithOutbox } from './governance-store.ts';
import { dynamoSeriesStore } from './series-store.ts';

type Item = Record<string, unknown>;

const HEAD = '#head';
const componentsPk = (tenant: string) => `${tenant}#reflex#components`;
const generationPrefix = (generation: number, token: string) => `g${String(generation).padStart(10, '0')}-${token}#`;
const generationOfKey = (sk: string) => Number.parseInt(sk.slice(1, 11), 10);
/** Seconds a case (and its marker) is kept. */
const CASE_TTL_SECONDS = 365 * 86_400;

function strip(item: Item): Item {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, expiresAt: _ttl, ...rest } = item;
  return rest;
}

/** Every item of a partition (paginated), or those under a key prefix. */
async function queryAll(
  send: DynamoDBDocumentClient['send'],
  table: string,
  pk: string,
  prefix?: string,
  keysOnly = false,
): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const output = await send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: prefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk, ...(prefix ? { ':prefix': prefix } : {}) },
        ConsistentRead: true,
        ...(keysOnly ? { ProjectionExpression: 'pk, sk' } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(output.Items ?? []));
    start = output.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The component registry: one item per component under the current generation's prefix. */
export function dynamoRegistryStore(client: DynamoDBDocumentClient, table: string): RegistryStore {
  const send = mappedSend(client, 'DynamoDB');
  const read = async (tenant: string): Promise<{ registry: Registry; head?: Item }> => {
    for (let attempt = 1; ; attempt += 1) {
      const head = (await send(new GetCommand({ TableName: table, Key: { pk: componentsPk(tenant), sk: HEAD }, ConsistentRead: true })))
        .Item;
      if (!head) return { registry: { tenant, generation: 0, components: [] } };
      const items = await queryAll(send, table, componentsPk(tenant), String(head.prefix));
      if (items.length >= Number(head.count) || attempt >= 3) {
        const components = items.sort((a, b) => Number(a.order) - Number(b.order)).map((item) => componentSchema.parse(item.component));
        return {
          registry: {
            tenant,
            generation: Number(head.generation),
            components,
            updatedAt: String(head.updatedAt),
            updatedBy: String(head.updatedBy),
          },
          head,
        };
      }
      // A newer generation replaced this one while we read it.
    }
  };
  return {
    async registry(tenant) {
      return (await read(tenant)).registry;
    },
    async replace(tenant, components, expectedGeneration, meta) {
      const { registry: current } = await read(tenant);
      if (current.generation !== expectedGeneration)
        throw new ConflictError(`The registry of ${tenant} was replaced meanwhile (generation ${current.generation}); read it again`);
      const generation = expectedGeneration + 1;
      const prefix = generationPrefix(generation, randomBytes(4).toString('hex'));
      const keyOf = (component: Component) => ({ pk: componentsPk(tenant), sk: `${prefix}${component.id}` });
      await mapLimit(components, 16, (component, order) =>
        send(new PutCommand({ TableName: table, Item: { ...keyOf(component), order, component } })),
      );
      try {
        await send(
          new PutCommand({
            TableName: table,
            Item: {
              pk: componentsPk(tenant),
              sk: HEAD,
              generation,
              prefix,
              count: components.length,
              updatedAt: meta.at,
              updatedBy: meta.by,
            },
            ...(expectedGeneration === 0
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : { ConditionExpression: 'generation = :expected', ExpressionAttributeValues: { ':expected': expectedGeneration } }),
          }),
        );
      } catch (error) {
        await mapLimit(components, 16, (component) => send(new DeleteCommand({ TableName: table, Key: keyOf(component) }))).catch(
          () => undefined,
        );
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`The registry of ${tenant} was replaced meanwhile; read it again`);
        throw error;
      }
      // Older generations (and leftovers of abandoned ones) go; a newer generation's items stay.
      const stale = (await queryAll(send, table, componentsPk(tenant), undefined, true)).filter((item) => {
        const sk = String(item.sk);
        return sk !== HEAD && !sk.startsWith(prefix) && generationOfKey(sk) <= generation;
      });
      await mapLimit(stale, 16, (item) => send(new DeleteCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk } })));
      const kept = new Set(components.map((component) => component.id));
      return { generation, removed: current.components.map((component) => component.id).filter((id) => !kept.has(id)) };
    },
  };
}

const incidentKey = (tenant: string, incidentId: string) => ({ pk: `${tenant}#reflex#incident`, sk: incidentId });
const incidentOf = (item: Item): Incident => incidentSchema.parse(JSON.parse(String(item.data)));
const closedMarkerKey = (tenant: string, incidentId: string) => ({ pk: `${tenant}#reflex#incident`, sk: `#closed#${incidentId}` });

/** Incidents, each write one transaction with its outbox entries (lib/adapters/aws/governance-store.ts). */
export function dynamoIncidentStore(client: DynamoDBDocumentClient, table: string): IncidentStore {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async incident(tenant, incidentId) {
      const output = await send(new GetCommand({ TableName: table, Key: incidentKey(tenant, incidentId), ConsistentRead: true }));
      return output.Item ? incidentOf(output.Item) : undefined;
    },
    putIncident(next: Incident, expectedVersion, events) {
      // The record as JSON text: it carries figures from the event (a peak value may be below DynamoDB's 1e-130).
      const item = {
        ...incidentKey(next.tenant, next.incidentId),
        version: next.version,
        data: JSON.stringify(next),
        gsi1pk: `${next.tenant}#reflex#incident#${next.open ? 'open' : 'closed'}`,
        gsi1sk: next.startedAt,
      };
      return writeWithOutbox(send, table, item, expectedVersion, next.tenant, events, `Incident ${next.incidentId}`);
    },
    async incidents(tenant, query) {
      const output = await send(
        new QueryCommand({
          TableName: table,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': `${tenant}#reflex#incident#${query.open ? 'open' : 'closed'}` },
          ScanIndexForward: false,
          Limit: query.limit,
        }),
      );
      return (output.Items ?? []).map(incidentOf);
    },
    async closedMarker(tenant, incidentId) {
      const output = await send(new GetCommand({ TableName: table, Key: closedMarkerKey(tenant, incidentId), ConsistentRead: true }));
      if (!output.Item) return undefined;
      const { pk: _pk, sk: _sk, ...marker } = output.Item;
      return closedMarkerSchema.parse(marker);
    },
    async putClosedMarker(marker: ClosedMarker) {
      try {
        await send(
          new PutCommand({
            TableName: table,
            Item: { ...closedMarkerKey(marker.tenant, marker.incidentId), ...marker },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        // Kept already (a repeated close): the first one stands.
        if (error instanceof ConditionFailedError) return;
        throw error;
      }
    },
  };
}

const casesPk = (tenant: string) => `${tenant}#reflex#cases`;
const clusterKey = (tenant: string, cluster: string) => ({ pk: `${tenant}#reflex#clusters`, sk: cluster });

/** The case base: cases with a marker each (counted once), and per-cluster records updated atomically with them. */
export function dynamoCaseStore(client: DynamoDBDocumentClient, table: string): CaseStore {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async cases(tenant, limit) {
      const output = await send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': casesPk(tenant), ':prefix': 'c#' },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return (output.Items ?? []).map((item) => caseSchema.parse(strip(item)));
    },
    async clusterStats(tenant, cluster) {
      const output = await send(new GetCommand({ TableName: table, Key: clusterKey(tenant, cluster), ConsistentRead: true }));
      const stats: ClusterStats = {};
      for (const playbook of playbooks) {
        const record: PlaybookRecord = {
          successes: Number(output.Item?.[`s_${playbook}`] ?? 0),
          failures: Number(output.Item?.[`f_${playbook}`] ?? 0),
        };
        if (record.successes + record.failures > 0) stats[playbook] = record;
      }
      return stats;
    },
    async addCase(tenant, entry: Case) {
      const expiresAt = Math.floor(Date.parse(entry.at) / 1000) + CASE_TTL_SECONDS;
      const counter = `${entry.outcome === 'recovered' ? 's' : 'f'}_${entry.playbook}`;
      try {
        await send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: table,
                  Item: { pk: casesPk(tenant), sk: `id#${entry.caseId}`, expiresAt },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              { Put: { TableName: table, Item: { pk: casesPk(tenant), sk: `c#${entry.at}#${entry.caseId}`, ...entry, expiresAt } } },
              {
                Update: {
                  TableName: table,
                  Key: clusterKey(tenant, entry.cluster),
                  UpdateExpression: 'ADD #counter :one',
                  ExpressionAttributeNames: { '#counter': counter },
                  ExpressionAttributeValues: { ':one': 1 },
                },
              },
            ],
          }),
        );
      } catch (error) {
        // The marker exists: this case was counted already (a retried report).
        if (error instanceof ConditionFailedError && error.reasons[0] === 'ConditionalCheckFailed') return;
        throw error;
      }
    },
  };
}

/** Observation's series (its own store, so the stored format stays Observation's): the last `points` of each. */
export function dynamoSeriesPoints(client: DynamoDBDocumentClient, table: string, points: number): SeriesPoints {
  const store = dynamoSeriesStore(client, table);
  return {
    async recent(tenant, series) {
      const records = await store.getMany(tenant, series);
      return new Map(
        [...records].map(([name, record]) => [name, record.recent.slice(-points).map(([timestamp, value]): Point => [timestamp, value])]),
      );
    },
  };
}
