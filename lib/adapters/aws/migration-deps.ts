/**
 * The Migration engine's ports on AWS, built once per container. In the state table:
 *   <tenant>#migration       / pools            the pool catalogue
 *   <tenant>#migration       / plan#<planId>    a plan (JSON text in `data`, conditional on `version`)
 *   <tenant>#migration       / run#<runId>      a run, with each step's record
 * Plans and runs are written with their outbox entries in one transaction (ledger, then bus, through
 * the stage outbox, as other engines do). Ids start with the time in base 36, so a descending
 * query lists the newest first. Latency comes from Observation's series records (read through its
 * own store); runs start the migration state machine, which waits at governance's gate through its
 * gate waits (./gate-waits.ts). SDK failures map through ./errors.ts.
 */
import { randomUUID } from 'node:crypto';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../../config.ts';
import { ConflictError } from '../../errors.ts';
import type { MigrationDeps, MigrationStore, RunStarter } from '../../migration/engine.ts';
import type { LoopDeps } from '../../migration/loop.ts';
import type { LatencyPort, RunnerDeps } from '../../migration/runner.ts';
import { catalogueRecordSchema, planRecordSchema, runRecordSchema } from '../../migration/schemas.ts';
import { dynamoClient, sfnClient } from './clients.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { executionDeps } from './execution-deps.ts';
import { gateWaitDeps } from './gate-waits.ts';
import { governanceOutbox, governanceStore } from './governance-deps.ts';
import { outboxEntries, outboxPut } from './governance-store.ts';
import { dynamoSeriesStore } from './series-store.ts';

const recordsKey = (tenant: string, sk: string) => ({ pk: `${tenant}#migration`, sk });

/** A time-ordered id: the time in base 36, then a UUID. */
export function migrationId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}-${randomUUID()}`;
}

const condition = (expectedVersion: number | undefined) =>
  expectedVersion === undefined
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : {
        ConditionExpression: '#version = :expected',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':expected': expectedVersion },
      };

/** The engine's records on the state table. */
export function dynamoMigrationStore(client: DynamoDBDocumentClient, table: string): MigrationStore {
  const send = mappedSend(client, 'DynamoDB');
  const get = async (tenant: string, sk: string) =>
    (await send(new GetCommand({ TableName: table, Key: recordsKey(tenant, sk), ConsistentRead: true }))).Item;
  const list = async (tenant: string, prefix: string, limit: number) => {
    const output = await send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': `${tenant}#migration`, ':prefix': prefix },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (output.Items ?? []).map((item) => JSON.parse(String(item.data)) as unknown);
  };
  return {
    async catalogue(tenant) {
      const item = await get(tenant, 'pools');
      return item ? catalogueRecordSchema.parse(JSON.parse(String(item.data))) : undefined;
    },
    async putCatalogue(next, expectedVersion) {
      try {
        await send(
          new PutCommand({
            TableName: table,
            Item: { ...recordsKey(next.tenant, 'pools'), version: next.version, data: JSON.stringify(next) },
            ...condition(expectedVersion),
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`The pool catalogue of ${next.tenant} was changed concurrently; read it again`);
        throw error;
      }
    },
    async plan(tenant, planId) {
      const item = await get(tenant, `plan#${planId}`);
      return item ? planRecordSchema.parse(JSON.parse(String(item.data))) : undefined;
    },
    async run(tenant, runId) {
      const item = await get(tenant, `run#${runId}`);
      return item ? runRecordSchema.parse(JSON.parse(String(item.data))) : undefined;
    },
    async plans(tenant, limit) {
      return (await list(tenant, 'plan#', limit)).map((data) => planRecordSchema.parse(data));
    },
    async runs(tenant, limit) {
      return (await list(tenant, 'run#', limit)).map((data) => runRecordSchema.parse(data));
    },
    async write(tenant, write, events) {
      const now = new Date();
      const entries = outboxEntries(tenant, events, now);
      const puts = [
        ...(write.plan
          ? [
              {
                sk: `plan#${write.plan.next.planId}`,
                version: write.plan.next.version,
                data: write.plan.next,
                expected: write.plan.expectedVersion,
              },
            ]
          : []),
        ...(write.run
          ? [
              {
                sk: `run#${write.run.next.runId}`,
                version: write.run.next.version,
                data: write.run.next,
                expected: write.run.expectedVersion,
              },
            ]
          : []),
      ].map((put) => ({
        Put: {
          TableName: table,
          Item: { ...recordsKey(tenant, put.sk), version: put.version, data: JSON.stringify(put.data) },
          ...condition(put.expected),
        },
      }));
      try {
        await send(new TransactWriteCommand({ TransactItems: [...puts, ...entries.map((entry) => outboxPut(table, entry, now))] }));
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError('The migration plan or run was changed concurrently; read it again');
        throw error;
      }
      return entries;
    },
  };
}

/** The newest points of a series, newest first, from Observation's record (none when it does not exist). */
export function dynamoLatency(client: DynamoDBDocumentClient, table: string): LatencyPort {
  const series = dynamoSeriesStore(client, table);
  return {
    async newest(tenant, name, count) {
      const record = await series.get(tenant, name);
      return (record?.recent ?? [])
        .slice(-count)
        .reverse()
        .map(([, value]) => value);
    },
  };
}

/** Starts runs of the migration state machine; a name used already is the run that exists. */
export function sfnRunStarter(client: SFNClient, stateMachineArn: string): RunStarter {
  const send = mappedSend(client, 'StepFunctions');
  return {
    async start(name, input) {
      try {
        const output = await send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
        return output.executionArn ?? '';
      } catch (error) {
        if ((error as { name?: string }).name !== 'ExecutionAlreadyExists') throw error;
        return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      }
    },
  };
}

let store: MigrationStore | undefined;
let latency: LatencyPort | undefined;
let starter: RunStarter | undefined;

/** The engine's records. */
export function migrationStore(): MigrationStore {
  store ??= dynamoMigrationStore(dynamoClient(), config().STATE_TABLE);
  return store;
}

/** What the API operations need. */
export function migrationDeps(): MigrationDeps {
  return { store: migrationStore(), outbox: governanceOutbox(), now: () => new Date(), newId: migrationId };
}

/**
 * Starts migration runs.
 * @throws Error when the function has no MIGRATION_STATE_MACHINE_ARN (its manifest lacks the start-executions need).
 */
export function runStarter(): RunStarter {
  const arn = config().MIGRATION_STATE_MACHINE_ARN;
  if (!arn) throw new Error('MIGRATION_STATE_MACHINE_ARN is not set (lib/migration/manifest.ts: the runs start-executions need)');
  starter ??= sfnRunStarter(sfnClient(), arn);
  return starter;
}

/** What the state machine's steps need: the records, governance, the executors (for the steps that act), Observation's series. */
export function loopDeps(options: { act?: boolean } = {}): LoopDeps {
  latency ??= dynamoLatency(dynamoClient(), config().STATE_TABLE);
  const governance = governanceStore();
  const execution = options.act ? executionDeps() : undefined;
  const runner: RunnerDeps = {
    executors: execution?.executors ?? ({} as RunnerDeps['executors']),
    stage: execution?.stage ?? { accountId: '000000000000', region: config().AWS_REGION, webhookAllowList: [] },
    governance,
    latency,
    pools: async (tenant) => (await migrationStore().catalogue(tenant))?.pools ?? [],
    now: () => new Date(),
  };
  return {
    store: migrationStore(),
    outbox: governanceOutbox(),
    runner,
    governance: { store: governance, outbox: governanceOutbox() },
    gate: gateWaitDeps(new Date()),
    now: () => new Date(),
  };
}
