/**
 * Loop 1's ports in a deployed function, built once per container: the runs on the state table
 *   <tenant>#evolution#loops / <loopId>   a run (JSON text in `data`, conditional on `version`), with its outbox
 * (ids sort by start time, so a descending query lists the newest first), the kill switches, Step
 * Functions (statemachines/improvement-loop.asl.json), and each engine's own dependencies, built only
 * when a task calls that engine (each task function is granted only the engine it calls).
 */
import { randomUUID } from 'node:crypto';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../../config.ts';
import type { LoopDeps, LoopStarter, LoopStore } from '../../evolution/loop.ts';
import { loopRunSchema } from '../../evolution/loop-schemas.ts';
import { dynamoClient, sfnClient } from './clients.ts';
import { mappedSend } from './errors.ts';
import { evolutionDeps } from './evolution-deps.ts';
import { governanceOutbox, governanceStore } from './governance-deps.ts';
import { writeWithOutbox } from './governance-store.ts';
import { promotionDeps, promotionStore } from './promotion-deps.ts';
import { replicationDeps } from './replication-deps.ts';
import { versioningDeps } from './versioning-deps.ts';

const loopsPk = (tenant: string) => `${tenant}#evolution#loops`;

/** A run id that sorts by start time: 9 base-36 digits of milliseconds, then 8 random hex digits. */
export function newLoopId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${randomUUID().replaceAll('-', '').slice(0, 8)}`;
}

/** Runs on the state table, each write conditional on the `rev` read and carrying its outbox entries. */
export function dynamoLoopStore(client: DynamoDBDocumentClient, table: string): LoopStore {
  const send = mappedSend(client, 'DynamoDB');
  const parse = (item: Record<string, unknown>) => loopRunSchema.parse(JSON.parse(String(item.data)));
  return {
    async get(tenant, loopId) {
      const output = await send(new GetCommand({ TableName: table, Key: { pk: loopsPk(tenant), sk: loopId }, ConsistentRead: true }));
      return output.Item ? parse(output.Item) : undefined;
    },
    put(next, expectedRev, events) {
      const item = { pk: loopsPk(next.tenant), sk: next.loopId, version: next.rev, data: JSON.stringify(next) };
      return writeWithOutbox(send, table, item, expectedRev, next.tenant, events, `Loop run ${next.loopId}`);
    },
    async list(tenant, limit) {
      const output = await send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': loopsPk(tenant) },
          ScanIndexForward: false,
          Limit: limit,
          ConsistentRead: true,
        }),
      );
      return (output.Items ?? []).map(parse);
    },
  };
}

/** Starts runs' executions; a name used before is the execution that exists, not an error. */
export function sfnLoopStarter(client: SFNClient, stateMachineArn: string): LoopStarter {
  const send = mappedSend(client, 'StepFunctions');
  return {
    async start(name, input) {
      try {
        return (await send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }))).executionArn ?? '';
      } catch (error) {
        if ((error as { name?: string }).name !== 'ExecutionAlreadyExists') throw error;
        return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      }
    },
  };
}

let store: LoopStore | undefined;

/** The runs. */
export function loopStore(): LoopStore {
  store ??= dynamoLoopStore(dynamoClient(), config().STATE_TABLE);
  return store;
}

/** What the loop's route and tasks need; the engines' own dependencies are built when called. */
export function loopDeps(): LoopDeps {
  const arn = config().IMPROVEMENT_LOOP_STATE_MACHINE_ARN;
  return {
    loops: loopStore(),
    outbox: governanceOutbox(),
    governance: governanceStore(),
    evolution: () => evolutionDeps(new Date()),
    versioning: () => versioningDeps(new Date()),
    promotion: () => promotionDeps(new Date()),
    promotions: promotionStore,
    replication: replicationDeps,
    starter: arn
      ? sfnLoopStarter(sfnClient(), arn)
      : { start: async () => Promise.reject(new Error('IMPROVEMENT_LOOP_STATE_MACHINE_ARN is not set (lib/evolution/manifest.ts)')) },
    now: () => new Date(),
    newId: () => newLoopId(),
  };
}
