/**
 * The Evolution engine's state on the state table:
 *
 *   pk                              sk          what
 *   <tenant>#evolution#services     <service>   the configuration (JSON text), `version`
 *   <tenant>#evolution#stats        <service>   `declared` (the arm ids, a string set) and one number per
 *                                               arm and statistic, `<stat>#<arm>` (count, successes,
 *                                               failures, latN, latSum, latSumSq, costN, costSum, costSumSq)
 *   <tenant>#evolution#decisions    <service>   the latest decision (JSON text), `seq`
 *
 * A configuration is written with its `declared` set in one transaction, conditional on its version.
 * Observations are one UpdateItem of `ADD`s (DynamoDB applies an item's updates one at a time, so
 * concurrent posts never lose counts), conditional on every arm being in `declared`. A decision is
 * written with its outbox entries, conditional on the previous decision's seq.
 */
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../errors.ts';
import type { EvolutionStore } from '../../evolution/ports.ts';
import { type ArmStats, decisionSchema, storedServiceSchema } from '../../evolution/schemas.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { writeWithOutbox } from './governance-store.ts';

const serviceKey = (tenant: string, service: string) => ({ pk: `${tenant}#evolution#services`, sk: service });
const statsKey = (tenant: string, service: string) => ({ pk: `${tenant}#evolution#stats`, sk: service });
const decisionKey = (tenant: string, service: string) => ({ pk: `${tenant}#evolution#decisions`, sk: service });

/** The item attributes of one arm's statistics, and how to read them back. */
const FIELDS: readonly [string, (s: ArmStats) => number][] = [
  ['count', (s) => s.count],
  ['successes', (s) => s.successes],
  ['failures', (s) => s.failures],
  ['latN', (s) => s.latency.n],
  ['latSum', (s) => s.latency.sum],
  ['latSumSq', (s) => s.latency.sumSq],
  ['costN', (s) => s.cost.n],
  ['costSum', (s) => s.cost.sum],
  ['costSumSq', (s) => s.cost.sumSq],
];

function statsOf(item: Record<string, unknown>, arm: string): ArmStats {
  const value = (field: string) => {
    const raw = item[`${field}#${arm}`];
    return typeof raw === 'number' && Number.isFinite(raw) ? raw : 0;
  };
  return {
    count: value('count'),
    successes: value('successes'),
    failures: value('failures'),
    latency: { n: value('latN'), sum: value('latSum'), sumSq: value('latSumSq') },
    cost: { n: value('costN'), sum: value('costSum'), sumSq: value('costSumSq') },
  };
}

/**
 * Evolution's store on the state table.
 * @example const store = dynamoEvolutionStore(dynamoClient(), config().STATE_TABLE);
 */
export function dynamoEvolutionStore(client: DynamoDBDocumentClient, table: string): EvolutionStore {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async service(tenant, service) {
      const output = await send(new GetCommand({ TableName: table, Key: serviceKey(tenant, service), ConsistentRead: true }));
      return output.Item ? storedServiceSchema.parse(JSON.parse(String(output.Item.data))) : undefined;
    },
    async putService(next, expectedVersion) {
      const condition =
        expectedVersion === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': expectedVersion },
            };
      try {
        await send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: table,
                  Item: { ...serviceKey(next.tenant, next.config.service), version: next.version, data: JSON.stringify(next) },
                  ...condition,
                },
              },
              {
                Update: {
                  TableName: table,
                  Key: statsKey(next.tenant, next.config.service),
                  UpdateExpression: 'SET #declared = :declared',
                  ExpressionAttributeNames: { '#declared': 'declared' },
                  ExpressionAttributeValues: { ':declared': new Set(next.config.arms.map((arm) => arm.id)) },
                },
              },
            ],
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`The Evolution configuration of ${next.config.service} was changed concurrently; read it again`);
        throw error;
      }
    },
    async stats(tenant, service) {
      const output = await send(new GetCommand({ TableName: table, Key: statsKey(tenant, service), ConsistentRead: true }));
      const item = output.Item ?? {};
      const arms = new Set<string>();
      for (const key of Object.keys(item)) if (key.startsWith('count#')) arms.add(key.slice('count#'.length));
      return Object.fromEntries([...arms].map((arm) => [arm, statsOf(item, arm)]));
    },
    async addStats(tenant, service, increments) {
      const names: Record<string, string> = { '#declared': 'declared' };
      const values: Record<string, unknown> = {};
      const adds: string[] = [];
      const conditions: string[] = [];
      Object.entries(increments).forEach(([arm, stats], a) => {
        values[`:arm${a}`] = arm;
        conditions.push(`contains(#declared, :arm${a})`);
        FIELDS.forEach(([field, read], f) => {
          const amount = read(stats);
          if (amount === 0) return;
          names[`#f${a}_${f}`] = `${field}#${arm}`;
          values[`:v${a}_${f}`] = amount;
          adds.push(`#f${a}_${f} :v${a}_${f}`);
        });
      });
      if (adds.length === 0) return;
      try {
        await send(
          new UpdateCommand({
            TableName: table,
            Key: statsKey(tenant, service),
            UpdateExpression: `ADD ${adds.join(', ')}`,
            ConditionExpression: conditions.join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`An arm of ${service} is no longer declared (its configuration changed meanwhile); nothing was added`);
        throw error;
      }
    },
    async latestDecision(tenant, service) {
      const output = await send(new GetCommand({ TableName: table, Key: decisionKey(tenant, service), ConsistentRead: true }));
      return output.Item ? decisionSchema.parse(JSON.parse(String(output.Item.data))) : undefined;
    },
    putDecision(next, expectedSeq, events) {
      // The record's `version` is its seq, so writeWithOutbox's condition is on the previous decision's seq.
      const item = { ...decisionKey(next.tenant, next.service), version: next.seq, data: JSON.stringify(next) };
      return writeWithOutbox(send, table, item, expectedSeq, next.tenant, events, `The latest Evolution decision of ${next.service}`);
    },
  };
}
