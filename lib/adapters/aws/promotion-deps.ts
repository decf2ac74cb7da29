/**
 * The Promotion engine's ports in a deployed function, built once per container, on the state table:
 *   <tenant>#promotion          / <promotionId>             a promotion (ids sort by start time), with its outbox
 *   <tenant>#promotion#samples  / <promotionId>#<step>      samples posted for a step (JSON text, versioned)
 * and Observation's series records (read through Observation's own store), the Lambda alias and
 * SageMaker endpoint executors (lib/adapters/aws/executors.ts), governance's proposal path, the
 * stage outbox (ledger, then bus), and Step Functions (statemachines/promotion.asl.json).
 */
import { randomUUID } from 'node:crypto';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../../config.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import type { ExecutorRegistry } from '../../execution/executor.ts';
import type { MetricSamples } from '../../promotion/judge.ts';
import type { PostedSamples, PromotionDeps, PromotionStarter, PromotionStore, SeriesSamples, VersionGate } from '../../promotion/ports.ts';
import { MAX_SAMPLES_PER_SIDE, promotionSchema } from '../../promotion/schemas.ts';
import { promotable } from '../../versioning/engine.ts';
import { dynamoClient, lambdaClient, sageMakerClient, sfnClient } from './clients.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { lambdaAliasExecutor, sageMakerEndpointExecutor } from './executors.ts';
import { proposalDeps } from './governance-deps.ts';
import { writeWithOutbox } from './governance-store.ts';
import { dynamoSeriesStore } from './series-store.ts';
import { stageOutbox } from './stage-outbox.ts';
import { versioningDeps } from './versioning-deps.ts';

const promotionsPk = (tenant: string) => `${tenant}#promotion`;
const samplesKey = (tenant: string, promotionId: string, step: number) => ({
  pk: `${tenant}#promotion#samples`,
  sk: `${promotionId}#${step}`,
});

function strip(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest;
}

/**
 * A promotion id that sorts by start time (so the newest come first in a query) and is unique:
 * 9 base-36 digits of milliseconds, then 16 random hex digits.
 */
export function newPromotionId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** Promotions on the state table, each write conditional on the version read and carrying its outbox entries. */
export function dynamoPromotionStore(client: DynamoDBDocumentClient, table: string): PromotionStore {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async get(tenant, promotionId) {
      const output = await send(
        new GetCommand({ TableName: table, Key: { pk: promotionsPk(tenant), sk: promotionId }, ConsistentRead: true }),
      );
      return output.Item ? promotionSchema.parse(strip(output.Item)) : undefined;
    },
    put(next, expectedVersion, events) {
      return writeWithOutbox(
        send,
        table,
        { pk: promotionsPk(next.tenant), sk: next.promotionId, ...next },
        expectedVersion,
        next.tenant,
        events,
        `Promotion ${next.promotionId}`,
      );
    },
    async list(tenant, limit) {
      const output = await send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': promotionsPk(tenant) },
          ScanIndexForward: false,
          Limit: limit,
          ConsistentRead: true,
        }),
      );
      return (output.Items ?? []).map((item) => promotionSchema.parse(strip(item)));
    },
  };
}

/** Posted samples per promotion step: read, merged and written back conditionally (retried on a concurrent post). */
export function dynamoPostedSamples(client: DynamoDBDocumentClient, table: string): PostedSamples {
  const send = mappedSend(client, 'DynamoDB');
  const read = async (tenant: string, promotionId: string, step: number) => {
    const output = await send(new GetCommand({ TableName: table, Key: samplesKey(tenant, promotionId, step), ConsistentRead: true }));
    const item = output.Item;
    return {
      version: item ? Number(item.version) : 0,
      metrics: item ? (JSON.parse(String(item.metrics)) as Record<string, MetricSamples>) : {},
    };
  };
  return {
    async add(tenant, promotionId, step, metrics) {
      for (let attempt = 1; ; attempt++) {
        const current = await read(tenant, promotionId, step);
        const merged: Record<string, MetricSamples> = { ...current.metrics };
        for (const [name, samples] of Object.entries(metrics)) {
          const was = merged[name] ?? { canary: [], baseline: [] };
          merged[name] = {
            canary: [...was.canary, ...samples.canary].slice(-MAX_SAMPLES_PER_SIDE),
            baseline: [...was.baseline, ...samples.baseline].slice(-MAX_SAMPLES_PER_SIDE),
          };
        }
        try {
          await send(
            new PutCommand({
              TableName: table,
              Item: { ...samplesKey(tenant, promotionId, step), metrics: JSON.stringify(merged), version: current.version + 1 },
              ...(current.version === 0
                ? { ConditionExpression: 'attribute_not_exists(pk)' }
                : {
                    ConditionExpression: '#version = :expected',
                    ExpressionAttributeNames: { '#version': 'version' },
                    ExpressionAttributeValues: { ':expected': current.version },
                  }),
            }),
          );
          return;
        } catch (error) {
          if (!(error instanceof ConditionFailedError)) throw error;
          if (attempt >= 5)
            throw new ConflictError(`Samples of promotion ${promotionId} step ${step} were posted concurrently; post again`);
        }
      }
    },
    async read(tenant, promotionId, step) {
      return (await read(tenant, promotionId, step)).metrics;
    },
  };
}

/** Observation's series: the recent points (the newest 512) inside a window. */
export function observationSeriesSamples(client: DynamoDBDocumentClient, table: string): SeriesSamples {
  const store = dynamoSeriesStore(client, table);
  return {
    async values(tenant, series, fromMs, toMs) {
      const record = await store.get(tenant, series);
      return (record?.recent ?? []).filter(([t]) => t >= fromMs && t <= toMs).map(([, value]) => value);
    },
  };
}

/** Starts promotion executions; a name used before is the execution that exists, not an error. */
export function sfnPromotionStarter(client: SFNClient, stateMachineArn: string): PromotionStarter {
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

/**
 * The Versioning engine's gate, in process: `promotable()` (regression gate passed; a breaking
 * version approved, a decision made since recorded on the version first). An unknown version is undefined.
 */
export function versioningGate(): VersionGate {
  return {
    async check(tenant, artifact) {
      try {
        const answer = await promotable(tenant, artifact.name, artifact.version, versioningDeps(new Date()));
        const detail = answer.promotable
          ? `${artifact.name} ${artifact.version} may be promoted${answer.breaking ? ' (breaking, approved)' : ''}`
          : answer.reasons.join('; ');
        return { promotable: answer.promotable, breaking: answer.breaking, detail };
      } catch (error) {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      }
    },
  };
}

let store: PromotionStore | undefined;
let samples: PostedSamples | undefined;

/** The promotions (for the routes that only read or post samples). */
export function promotionStore(): PromotionStore {
  store ??= dynamoPromotionStore(dynamoClient(), config().STATE_TABLE);
  return store;
}

/** The posted samples. */
export function postedSamples(): PostedSamples {
  samples ??= dynamoPostedSamples(dynamoClient(), config().STATE_TABLE);
  return samples;
}

let base: Omit<PromotionDeps, 'governance' | 'now'> | undefined;

/**
 * What the Promotion engine needs in a deployed function, at `now`.
 * @throws Error when the function lacks EXECUTION_ACCOUNT_ID (the actuate need) or, to start, PROMOTION_STATE_MACHINE_ARN.
 */
export function promotionDeps(now = new Date()): PromotionDeps {
  if (!base) {
    const cfg = config();
    if (!cfg.EXECUTION_ACCOUNT_ID) throw new Error('EXECUTION_ACCOUNT_ID is not set (lib/promotion/manifest.ts: the actuate need)');
    const arn = cfg.PROMOTION_STATE_MACHINE_ARN;
    base = {
      promotions: promotionStore(),
      posted: postedSamples(),
      series: observationSeriesSamples(dynamoClient(), cfg.STATE_TABLE),
      outbox: stageOutbox(),
      executors: {
        'lambda-alias': lambdaAliasExecutor(lambdaClient()),
        'sagemaker-endpoint': sageMakerEndpointExecutor(sageMakerClient()),
      } as ExecutorRegistry,
      stage: { accountId: cfg.EXECUTION_ACCOUNT_ID, region: cfg.AWS_REGION, webhookAllowList: [] },
      starter: arn
        ? sfnPromotionStarter(sfnClient(), arn)
        : { start: async () => Promise.reject(new Error('PROMOTION_STATE_MACHINE_ARN is not set (lib/promotion/manifest.ts)')) },
      newId: () => newPromotionId(),
      versions: versioningGate(),
    };
  }
  return { ...base, governance: proposalDeps(now), now: () => new Date() };
}
