/**
 * Engine manifests: an engine is declared once, and everything else follows from the declaration —
 * its HTTP routes (the route specs), the queues, schedules and bus events that trigger its functions,
 * and the data each function may touch. `infra/serverless/` turns the manifests into the Serverless
 * configuration (functions, triggers, one least-privilege role per function, nested stacks);
 * `GET /openapi.json` and the route-permission tests read the routes from them.
 *
 * Each action is one Lambda function whose handler lives at `functions/<engine>/<action>.ts`
 * (export `handler`); a test fails when a handler file has no manifest entry or the reverse.
 */
import { ACTION_NAME_PATTERN, ENGINE_NAME_PATTERN } from '../../events/ids.ts';
import type { RouteSpec } from '../api/route.ts';

/** The shared data resources engines may need, by the name manifests use. */
export const dataResources = {
  /** Engine state: items keyed `<tenant>#<kind>…` (partition key `pk`), one table for every engine. */
  state: { logicalId: 'StateTable', kind: 'table' },
  /** The audit ledger: append-only (PutItem with a condition, Query). */
  ledger: { logicalId: 'LedgerTable', kind: 'table', env: 'LEDGER_TABLE' },
  /** Powertools idempotency records (`Idempotency-Key`). */
  idempotency: { logicalId: 'IdempotencyTable', kind: 'table' },
  /** Artifacts: objects keyed `<tenant>/<engine>/…`. */
  artifacts: { logicalId: 'ArtifactsBucket', kind: 'bucket' },
  /** The event bus every engine publishes to. */
  bus: { logicalId: 'EventBus', kind: 'bus' },
  /**
   * The audit checkpoint signing keys: one secret per tenant, created at run time by the tenant's first
   * signer, named `<service>/<stage>/audit-signing-keys/<tenant>/…`; the functions get the prefix.
   */
  auditSigningKeys: { namePrefix: 'audit-signing-keys/', kind: 'secrets', env: 'AUDIT_SIGNING_KEY_PREFIX' },
  /**
   * The keys that sign the Execution engine's webhooks: one secret per tenant, created on first use,
   * named `<service>/<stage>/execution-webhook-keys/<tenant>/…`; the functions get the prefix.
   */
  executionWebhookKeys: { namePrefix: 'execution-webhook-keys/', kind: 'secrets', env: 'EXECUTION_WEBHOOK_KEY_PREFIX' },
} as const;

/** A data resource's manifest name. */
export type DataResource = keyof typeof dataResources;
type OfKind<K extends string> = { [N in DataResource]: (typeof dataResources)[N]['kind'] extends K ? N : never }[DataResource];

/** DynamoDB actions a manifest may grant. Scans are never granted. */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'DescribeTable' | 'ConditionCheckItem';
/** Secrets Manager actions a manifest may grant, on the secrets under one of the stage's name prefixes. */
export type SecretAction = 'CreateSecret' | 'GetSecretValue' | 'PutSecretValue';
/** S3 object actions a manifest may grant. */
export type ObjectAction = 'GetObject' | 'PutObject' | 'PutObjectTagging' | 'DeleteObject';

/** What a function may touch: each need becomes one IAM statement on exactly that resource. */
export type Need =
  | { kind: 'table'; table: OfKind<'table'>; actions: TableAction[]; keyPrefixes?: string[]; index?: string }
  | { kind: 'objects'; bucket: OfKind<'bucket'>; actions: ObjectAction[]; keys: string[] }
  | { kind: 'list-objects'; bucket: OfKind<'bucket'>; prefixes?: string[] }
  | { kind: 'bus'; actions: Array<'PutEvents' | 'DescribeEventBus'> }
  | { kind: 'secrets'; secrets: OfKind<'secrets'>; actions: SecretAction[] }
  /** SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat (or only `actions`): task tokens cannot be scoped by IAM (AWS documents `*`). */
  | { kind: 'task-callbacks'; actions?: Array<'SendTaskSuccess' | 'SendTaskFailure' | 'SendTaskHeartbeat'> }
  /** StartExecution/DescribeExecution of one of the stage's state machines (its ARN in the machine's variable, {@link stateMachines}). */
  | { kind: 'start-executions'; machine: StateMachineName }
  /**
   * The Execution engine's executors: change and read Lambda functions and aliases, SageMaker
   * endpoints and EventBridge rules of the stage's account and region (its account id in
   * `EXECUTION_ACCOUNT_ID`, for the executors' scope check).
   */
  | { kind: 'actuate'; services: ActuatedService[] }
  /**
   * Calls to the stage's models (lib/gateway/models.ts, infra/gateway/models.json):
   * sagemaker:InvokeEndpoint and InvokeEndpointWithResponseStream on exactly the stage's configured
   * endpoints, and secretsmanager:GetSecretValue on exactly its models' API-key secrets.
   */
  | { kind: 'invoke-models' }
  /**
   * lambda:InvokeFunction on exactly the stage's functions that serve protected routes (the MCP
   * endpoint runs a tool call through the route's own function); their name prefix
   * (`<service>-<stage>-`) in `ROUTE_FUNCTION_PREFIX`.
   */
  | { kind: 'invoke-routes' };

/** AWS services the Execution engine's executors act on. */
export type ActuatedService = 'lambda' | 'sagemaker' | 'events';

/** Builders for {@link Need}s, so manifests read as sentences. */
export const need = {
  /**
   * DynamoDB actions on a table; on the state table, `keyPrefixes` limits them to partition keys
   * matching those patterns (`dynamodb:LeadingKeys`), e.g. `['*#series']`.
   */
  table: (table: OfKind<'table'>, actions: TableAction[], keyPrefixes?: string[]): Need => ({ kind: 'table', table, actions, ...(keyPrefixes ? { keyPrefixes } : {}) }),
  /** DynamoDB actions on one index of a table. */
  index: (table: OfKind<'table'>, index: string, actions: TableAction[]): Need => ({ kind: 'table', table, actions, index }),
  /** S3 object actions on keys matching `keys` (e.g. `*\/audit/payloads/*`). */
  objects: (bucket: OfKind<'bucket'>, actions: ObjectAction[], keys: string[]): Need => ({ kind: 'objects', bucket, actions, keys }),
  /**
   * s3:ListBucket, limited to `prefixes` when given. Without it S3 answers 403 instead of 404 for a
   * missing object, so readers of objects that may be gone (expired payloads) need it unconditioned.
   */
  listObjects: (bucket: OfKind<'bucket'>, prefixes?: string[]): Need => ({ kind: 'list-objects', bucket, ...(prefixes ? { prefixes } : {}) }),
  /** events:PutEvents on the bus. */
  publish: (): Need => ({ kind: 'bus', actions: ['PutEvents'] }),
  /** events:DescribeEventBus (readiness). */
  describeBus: (): Need => ({ kind: 'bus', actions: ['DescribeEventBus'] }),
  /** Secrets Manager actions on every secret named under the stage's prefix for `secrets` (e.g. one secret per tenant). */
  secrets: (secrets: OfKind<'secrets'>, actions: SecretAction[]): Need => ({ kind: 'secrets', secrets, actions }),
  taskCallbacks: (): Need => ({ kind: 'task-callbacks' }),
  /** Failing waiting tasks only (SendTaskFailure): ending a gate (a withdrawn proposal) without ever resuming one. */
  taskFailure: (): Need => ({ kind: 'task-callbacks', actions: ['SendTaskFailure'] }),
  /** Starting (and describing) executions of the stage's state machine `machine`. */
  startExecutions: (machine: StateMachineName): Need => ({ kind: 'start-executions', machine }),
  /** Starting (and describing) executions of the governance gate. */
  startGate: (): Need => ({ kind: 'start-executions', machine: GATE_STATE_MACHINE }),
  /** The executors' calls on `services` in the stage's account and region (lib/adapters/aws/executors.ts). */
  actuate: (services: ActuatedService[]): Need => ({ kind: 'actuate', services }),
  /** Invoking the stage's configured models (their SageMaker endpoints, their API-key secrets), and nothing else. */
  invokeModels: (): Need => ({ kind: 'invoke-models' }),
  /** Invoking the functions of the stage's protected routes (each as its HTTP request would), and nothing else. */
  invokeRoutes: (): Need => ({ kind: 'invoke-routes' }),
};

/** The calls each executor makes, by service: the `actuate` need grants exactly these. */
export const ACTUATION_CALLS: Readonly<Record<ActuatedService, { actions: readonly string[]; resource: string }>> = {
  lambda: {
    actions: ['lambda:PutFunctionConcurrency', 'lambda:DeleteFunctionConcurrency', 'lambda:GetFunctionConcurrency', 'lambda:GetAlias', 'lambda:UpdateAlias'],
    resource: 'function:*',
  },
  sagemaker: { actions: ['sagemaker:UpdateEndpointWeightsAndCapacities', 'sagemaker:DescribeEndpoint'], resource: 'endpoint/*' },
  events: { actions: ['events:DisableRule', 'events:EnableRule', 'events:DescribeRule'], resource: 'rule/*' },
};

/**
 * The governance gate state machine's name after `<service>-<stage>-`. Functions know its ARN from
 * the name, not from a reference: the machine refers to the gate's functions, so a reference back
 * would make a cycle between the root stack and the governance stack.
 */
export const GATE_STATE_MACHINE = 'governance-gate';
/** The self-repair loop's state machine (statemachines/self-repair.asl.json), named as the gate is. */
export const SELF_REPAIR_STATE_MACHINE = 'self-repair';
/** KAMACHIQ plans' state machine (statemachines/capsule-plan.asl.json), named as the gate is. */
export const CAPSULE_PLAN_STATE_MACHINE = 'capsule-plan';
/** A promotion's state machine (statemachines/promotion.asl.json), named as the gate is. */
export const PROMOTION_STATE_MACHINE = 'promotion';
/** A migration run's state machine (statemachines/migration.asl.json, Loop 4), named as the gate is. */
export const MIGRATION_STATE_MACHINE = 'migration';
/** A run of the improvement loop's state machine (statemachines/improvement-loop.asl.json, Loop 1), named as the gate is. */
export const IMPROVEMENT_LOOP_STATE_MACHINE = 'improvement-loop';
/** A run of Loop 3's state machine (statemachines/compression-loop.asl.json, Compression → Observation → Compression), named as the gate is. */
export const COMPRESSION_LOOP_STATE_MACHINE = 'compression-loop';

/**
 * The stage's state machines that functions start, by their name after `<service>-<stage>-`
 * (infra/statemachines.yml), with the variable that gives a starting function the machine's ARN.
 */
export const stateMachines = {
  [GATE_STATE_MACHINE]: { env: 'GATE_STATE_MACHINE_ARN' },
  [SELF_REPAIR_STATE_MACHINE]: { env: 'SELF_REPAIR_STATE_MACHINE_ARN' },
  [CAPSULE_PLAN_STATE_MACHINE]: { env: 'CAPSULE_PLAN_STATE_MACHINE_ARN' },
  [PROMOTION_STATE_MACHINE]: { env: 'PROMOTION_STATE_MACHINE_ARN' },
  [MIGRATION_STATE_MACHINE]: { env: 'MIGRATION_STATE_MACHINE_ARN' },
  [IMPROVEMENT_LOOP_STATE_MACHINE]: { env: 'IMPROVEMENT_LOOP_STATE_MACHINE_ARN' },
  [COMPRESSION_LOOP_STATE_MACHINE]: { env: 'COMPRESSION_LOOP_STATE_MACHINE_ARN' },
} as const;
/** A state machine's name after `<service>-<stage>-`. */
export type StateMachineName = keyof typeof stateMachines;

/**
 * Whether an action starts capsule runs: it invokes routes itself (capsule runs) or starts KAMACHIQ
 * plans (whose nodes are runs). Such an action is no MCP tool and in no invoke grant, so a capsule
 * cannot start runs.
 */
export function startsCapsuleRuns(spec: Pick<ActionSpec, 'needs'>): boolean {
  return spec.needs.some((need) => need.kind === 'invoke-routes' || (need.kind === 'start-executions' && need.machine === CAPSULE_PLAN_STATE_MACHINE));
}

/**
 * What the stage outbox (lib/adapters/aws/stage-outbox.ts) needs: outbox items written with the state
 * they report and cleared after publishing, the bus, and recording each event in the tenant's ledger
 * as the audit appender records bus events (ledger entry, dedupe marker, stream registry, payload).
 */
export const outboxNeeds: readonly Need[] = [
  need.table('state', ['PutItem', 'DeleteItem'], ['*#outbox']),
  need.publish(),
  need.table('ledger', ['PutItem', 'Query']),
  need.table('state', ['PutItem'], ['*#audit#dedupe#*', '*#audit#streams']),
  need.objects('artifacts', ['PutObject', 'PutObjectTagging'], ['*/audit/payloads/*']),
];

/** A queue (declared in `infra/resources/`) whose messages a function consumes in batches. */
export interface QueueTrigger {
  /** The queue's logical id, e.g. `AuditQueue`. */
  queue: string;
  batchSize?: number;
  /** Seconds to gather a batch (0-300). */
  batchingWindow?: number;
}

/** Bus events delivered straight to the function by a rule (an EventBridge rule target). */
export interface RuleTrigger {
  /** The EventBridge pattern, e.g. `{ source: ['autonomy.observation'], 'detail-type': ['observation.anomaly.detected'] }`. */
  pattern: Record<string, unknown>;
}

/** A schedule: the stage parameter holding its expression (`rate(5 minutes)`, `cron(…)`). */
export interface ScheduleTrigger {
  /** Name of a `params:` entry in serverless.yml, e.g. `auditCheckpointSchedule`. */
  param: string;
}

/**
 * A Lambda function URL serving one route outside the HTTP API, with AuthType NONE: the handler
 * authenticates as the engine API does (lib/api/stream-handler.ts). For replies the HTTP API cannot
 * give, such as one streamed as it is written (API Gateway buffers a Lambda reply).
 */
export interface UrlTrigger {
  /** The route it serves: its permission, parameters and Cedar path (a route the HTTP API may also serve, answered another way). */
  route: RouteSpec;
  /** Stream the reply as the handler writes it (`InvokeMode: RESPONSE_STREAM`, a handler wrapped by `awslambda.streamifyResponse`); default buffered. */
  streaming?: boolean;
}

/** One action of an engine: one Lambda function, one trigger kind. */
export interface ActionSpec {
  description: string;
  /** HTTP routes served by this function (one path, one method each). */
  routes?: readonly RouteSpec[];
  queue?: QueueTrigger;
  rule?: RuleTrigger;
  schedule?: ScheduleTrigger;
  /** Invoked by a state machine task (no trigger of its own). */
  task?: true;
  /** Served by its own function URL (see {@link UrlTrigger}). */
  url?: UrlTrigger;
  /** What it may touch besides logs and traces. Protected routes add credentials and rate-limit reads; POST routes add idempotency records. */
  needs: readonly Need[];
  memorySize?: number;
  timeout?: number;
}

/** An engine: a name and its actions, keyed by the handler's file name under `functions/<engine>/`. */
export interface EngineManifest {
  name: string;
  description: string;
  actions: Readonly<Record<string, ActionSpec>>;
  /**
   * The stages it is deployed to (the demo engine: `local` and `dev`); absent, every stage.
   * Packaging another stage leaves its functions and roles out (infra/serverless/engines.ts).
   */
  stages?: readonly string[];
}

/** Whether `engine` is deployed to `stage` (see {@link EngineManifest.stages}). */
export function deployedTo(engine: EngineManifest, stage: string): boolean {
  return engine.stages === undefined || engine.stages.includes(stage);
}

/**
 * Declares an engine. Checks what can be checked without deploying: names, one trigger kind per
 * action, routes on the engine's own paths, no route served twice.
 * @throws Error naming the engine and action at fault.
 * @example
 * export const observationEngine = defineEngine({ name: 'observation', description: '…', actions: {
 *   ingest: { description: 'Ingests points', routes: [ingestRoute], needs: [need.table('state', ['GetItem', 'PutItem'], ['*#series']), need.publish()] },
 * } });
 */
export function defineEngine(manifest: EngineManifest): EngineManifest {
  if (!ENGINE_NAME_PATTERN.test(manifest.name)) throw new Error(`engine name '${manifest.name}' must be 1-32 lower-case letters and digits`);
  const seen = new Set<string>();
  for (const [action, spec] of Object.entries(manifest.actions)) {
    const where = `${manifest.name}/${action}`;
    if (!ACTION_NAME_PATTERN.test(action)) throw new Error(`${where}: action names are kebab-case, at most 64 characters (the handler's file name)`);
    const triggers = [spec.routes?.length ? 'routes' : undefined, spec.queue && 'queue', spec.rule && 'rule', spec.schedule && 'schedule', spec.task && 'task', spec.url && 'url'].filter(Boolean);
    if (triggers.length !== 1) throw new Error(`${where}: give exactly one trigger kind (routes, queue, rule, schedule, task or url), not ${triggers.join(' + ') || 'none'}`);
    if (spec.url && spec.url.route.engine !== manifest.name) throw new Error(`${where}: its URL serves route ${spec.url.route.method} ${spec.url.route.path} of engine '${spec.url.route.engine}'`);
    const paths = new Set(spec.routes?.map((route) => route.path));
    if (paths.size > 1) throw new Error(`${where}: one function serves one path; got ${[...paths].join(', ')}`);
    for (const route of spec.routes ?? []) {
      if (route.engine !== manifest.name) throw new Error(`${where}: route ${route.method} ${route.path} belongs to engine '${route.engine}'`);
      const key = `${route.method} ${route.path}`;
      if (seen.has(key)) throw new Error(`${where}: ${key} is served twice`);
      seen.add(key);
    }
  }
  return manifest;
}

/** `observation` + `ingest-queue` → `observationIngestQueue`: the function's name in the stage. */
export function functionName(engine: string, action: string): string {
  return `${engine}${action.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('')}`;
}

/** The handler file of an action, relative to the project root. */
export function handlerFile(engine: string, action: string): string {
  return `functions/${engine}/${action}.ts`;
}

/** Every route of the given engines, in declaration order. */
export function routesOf(engines: readonly EngineManifest[]): RouteSpec[] {
  return engines.flatMap((engine) => Object.values(engine.actions).flatMap((action) => action.routes ?? []));
}
