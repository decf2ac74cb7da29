/**
 * The Replication engine's ports in a deployed function, built once per container: the component
 * records on the state table (`<tenant>#replication`, one item per component, written with its
 * outbox entries), Observation's series, the Reflex registry, governance's proposal path and the
 * Execution engine with the stage's executors.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../../config.ts';
import type { ReplicationDeps, ReplicationStore, SeriesPoints } from '../../replication/engine.ts';
import { type ReplicationRecord, replicationRecordSchema } from '../../replication/schemas.ts';
import { dynamoClient } from './clients.ts';
import { mappedSend } from './errors.ts';
import { executionDeps } from './execution-deps.ts';
import { governanceOutbox, governanceStore, proposalDeps } from './governance-deps.ts';
import { writeWithOutbox } from './governance-store.ts';
import { registryStore } from './reflex-deps.ts';
import { dynamoSeriesStore } from './series-store.ts';

const recordKey = (tenant: string, component: string) => ({ pk: `${tenant}#replication`, sk: component });

/** Component records: the record as JSON text (`data`), conditional on `version`, with its outbox entries in one transaction. */
export function dynamoReplicationStore(client: DynamoDBDocumentClient, table: string): ReplicationStore {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async get(tenant, component) {
      const output = await send(new GetCommand({ TableName: table, Key: recordKey(tenant, component), ConsistentRead: true }));
      return output.Item ? replicationRecordSchema.parse(JSON.parse(String(output.Item.data))) : undefined;
    },
    put(next: ReplicationRecord, expectedVersion, events) {
      const item = { ...recordKey(next.tenant, next.component), version: next.version, data: JSON.stringify(next) };
      return writeWithOutbox(send, table, item, expectedVersion, next.tenant, events, `The replication record of ${next.component}`);
    },
  };
}

let store: ReplicationStore | undefined;
let series: SeriesPoints | undefined;

/** The component records. */
export function replicationStore(): ReplicationStore {
  store ??= dynamoReplicationStore(dynamoClient(), config().STATE_TABLE);
  return store;
}

/** The newest points of a series (Observation's series store, read only). */
export function seriesPoints(): SeriesPoints {
  if (!series) {
    const seriesStore = dynamoSeriesStore(dynamoClient(), config().STATE_TABLE);
    series = { recent: async (tenant, name) => (await seriesStore.get(tenant, name))?.recent };
  }
  return series;
}

/** Governance's proposals, read only (the status shows the one left at the gate). */
export function proposalsOf(): Pick<ReplicationDeps['governance']['store'], 'proposal'> {
  return governanceStore();
}

/** Everything an evaluation needs, at the clock's time. */
export function replicationDeps(): ReplicationDeps {
  const { now: _now, newId: _newId, ...governance } = proposalDeps(new Date());
  return {
    store: replicationStore(),
    series: seriesPoints(),
    registry: registryStore(),
    governance,
    execution: executionDeps(),
    outbox: governanceOutbox(),
    now: () => new Date(),
    newId: randomUUID,
  };
}
