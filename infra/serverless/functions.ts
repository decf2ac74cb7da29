/**
 * The Serverless configuration of every engine action, generated from the engine manifests
 * (lib/engines/): the function with its trigger, and its own least-privilege role. Statements every
 * protected route needs (read API keys, count requests), state-changing routes need (the tenant's
 * Cedar policies, the break-glass event) and POST routes need (idempotency records) are written
 * here once.
 */
import { ACTUATION_CALLS, dataResources, functionName, type EngineManifest, type Need, type StateMachineName, startsCapsuleRuns, stateMachines } from '../../lib/engines/manifest.ts';

type Cfn = Record<string, unknown>;
type Statement = { Effect: 'Allow'; Action: string[]; Resource: unknown; Condition?: Cfn };

/** serverless' logical-id normalisation: `observationIngest` → `ObservationIngest`. */
export const normalizedName = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);
/** The function's logical id as serverless names it. */
export const lambdaLogicalId = (name: string): string => `${normalizedName(name)}LambdaFunction`;
/** The logical id of the function's role. */
export const roleLogicalId = (name: string): string => `${normalizedName(name)}Role`;

const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const under = (logicalId: string, suffix: string) => ({ 'Fn::Join': ['', [arnOf(logicalId), suffix]] });

/** Every protected route authenticates (API keys) and counts requests (per-tenant rate limit). */
const PROTECTED_ROUTE: Need[] = [
  { kind: 'table', table: 'state', actions: ['GetItem'], keyPrefixes: ['*#apikey'] },
  { kind: 'table', table: 'state', actions: ['UpdateItem'], keyPrefixes: ['*#ratelimit'] },
];
/**
 * Cedar on state-changing routes (POST, PUT, DELETE; lib/api/engine-handler.ts): the tenant's policy
 * version (its governance settings) and policy sets, and the break-glass event.
 */
const WRITE_ROUTE: Need[] = [
  { kind: 'table', table: 'state', actions: ['GetItem'], keyPrefixes: ['*#governance', '*#governance#policies'] },
  { kind: 'bus', actions: ['PutEvents'] },
];
/** `Idempotency-Key` on POST routes: Powertools idempotency records. */
const POST_ROUTE: Need[] = [{ kind: 'table', table: 'idempotency', actions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'] }];

/** The stage's secret names start `<service>/<stage>/`; {@link GenerateOptions.secretNamePrefix} carries it. */
function stageSecretPrefix(secretNamePrefix: string | undefined): string {
  if (secretNamePrefix === undefined || !/^[A-Za-z0-9/_+=.@-]+\/$/.test(secretNamePrefix)) {
    const got = JSON.stringify(secretNamePrefix);
    throw new Error(`a 'secrets' need needs GenerateOptions.secretNamePrefix ('<service>/<stage>/'), got ${got}`);
  }
  return secretNamePrefix;
}

/**
 * A state machine's ARN (or its executions'), from its name: `<service>-<stage>-<machine>`, e.g.
 * `autonomy-dev-governance-gate`. By name, not by reference: a machine refers to its task functions,
 * so a reference back from them would be a cycle.
 */
function stateMachineArn(stateMachinePrefix: string | undefined, machine: StateMachineName, kind: 'stateMachine' | 'execution'): Cfn {
  if (stateMachinePrefix === undefined || !/^[A-Za-z0-9_-]+-$/.test(stateMachinePrefix)) {
    throw new Error(`a 'start-executions' need needs GenerateOptions.stateMachinePrefix ('<service>-<stage>-'), got ${JSON.stringify(stateMachinePrefix)}`);
  }
  return { 'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:${kind}:${stateMachinePrefix}${machine}${kind === 'execution' ? ':*' : ''}` };
}

/**
 * The IAM statement of one need. `secretNamePrefix` (`<service>/<stage>/`) is what a `secrets`
 * need's names start with; `stateMachinePrefix` (`<service>-<stage>-`) what the gate's name starts with.
 */
export function statementOf(need: Need, secretNamePrefix?: string, stateMachinePrefix?: string): Statement {
  switch (need.kind) {
    case 'table': {
      const table = dataResources[need.table].logicalId;
      return {
        Effect: 'Allow',
        Action: need.actions.map((action) => `dynamodb:${action}`),
        Resource: need.index ? under(table, `/index/${need.index}`) : arnOf(table),
        ...(need.keyPrefixes ? { Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': need.keyPrefixes } } } : {}),
      };
    }
    case 'objects': {
      const bucket = dataResources[need.bucket].logicalId;
      const resources = need.keys.map((key) => under(bucket, `/${key}`));
      return { Effect: 'Allow', Action: need.actions.map((action) => `s3:${action}`), Resource: resources.length === 1 ? resources[0] : resources };
    }
    case 'list-objects':
      return {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: arnOf(dataResources[need.bucket].logicalId),
        ...(need.prefixes ? { Condition: { StringLike: { 's3:prefix': need.prefixes } } } : {}),
      };
    case 'bus':
      return { Effect: 'Allow', Action: need.actions.map((action) => `events:${action}`), Resource: arnOf(dataResources.bus.logicalId) };
    case 'secrets': {
      // Every secret under the prefix (one per tenant); the `*` also takes the `-xxxxxx` Secrets Manager appends to ARNs.
      const names = `${stageSecretPrefix(secretNamePrefix)}${dataResources[need.secrets].namePrefix}*`;
      return {
        Effect: 'Allow',
        Action: need.actions.map((action) => `secretsmanager:${action}`),
        Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${names}` },
      };
    }
    case 'task-callbacks':
      return {
        Effect: 'Allow',
        Action: (need.actions ?? ['SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat']).map((action) => `states:${action}`),
        Resource: '*',
      };
    case 'start-executions':
      return {
        Effect: 'Allow',
        Action: ['states:StartExecution', 'states:DescribeExecution'],
        Resource: [stateMachineArn(stateMachinePrefix, need.machine, 'stateMachine'), stateMachineArn(stateMachinePrefix, need.machine, 'execution')],
      };
    case 'invoke-models':
      throw new Error("an 'invoke-models' need becomes statements through modelStatements (it depends on the stage's models)");
    case 'invoke-routes':
      throw new Error("an 'invoke-routes' need becomes a statement through routeInvokeStatement (it depends on every engine's routes)");
    case 'actuate':
      // The stage's account and region only: the executors' scope check refuses the rest before calling.
      return {
        Effect: 'Allow',
        Action: need.services.flatMap((service) => ACTUATION_CALLS[service].actions),
        Resource: need.services.map((service) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${ACTUATION_CALLS[service].resource}` })),
      };
  }
}

/** The stage's models as the `invoke-models` need grants them (lib/gateway/models.ts: sageMakerEndpoints, apiKeySecrets). */
export interface StageModelAccess {
  /** SageMaker endpoint names. */
  endpoints: readonly string[];
  /** Secrets Manager secret names holding model API keys. */
  apiKeySecrets: readonly string[];
}

/**
 * The statements of an `invoke-models` need: InvokeEndpoint and InvokeEndpointWithResponseStream on
 * exactly the stage's endpoints (SageMaker endpoint ARNs are lower-case), GetSecretValue on exactly
 * its API-key secrets (`-??????`: the suffix Secrets Manager appends to ARNs); none for what the
 * stage does not have (a stage without models gets no statement, never a wildcard).
 * @throws Error when the stage's models were not given.
 */
export function modelStatements(models: StageModelAccess | undefined): Statement[] {
  if (!models) throw new Error("an 'invoke-models' need needs GenerateOptions.models (the stage's endpoints and API-key secrets)");
  const statements: Statement[] = [];
  if (models.endpoints.length > 0) {
    statements.push({
      Effect: 'Allow',
      Action: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointWithResponseStream'],
      Resource: models.endpoints.map((name) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:sagemaker:\${AWS::Region}:\${AWS::AccountId}:endpoint/${name.toLowerCase()}` })),
    });
  }
  if (models.apiKeySecrets.length > 0) {
    statements.push({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: models.apiKeySecrets.map((name) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}-??????` })),
    });
  }
  return statements;
}

/** `<service>-<stage>-`: what the stage's function names start with (needed by `invoke-routes` needs). */
function functionPrefix(functionNamePrefix: string | undefined): string {
  if (functionNamePrefix === undefined || !/^[A-Za-z0-9_-]+-$/.test(functionNamePrefix)) {
    throw new Error(`an 'invoke-routes' need needs GenerateOptions.functionNamePrefix ('<service>-<stage>-'), got ${JSON.stringify(functionNamePrefix)}`);
  }
  return functionNamePrefix;
}

/**
 * The statement of an `invoke-routes` need: lambda:InvokeFunction on exactly the functions that
 * serve protected routes, by name (`<service>-<stage>-<function>`), the functions that invoke
 * routes themselves left out (no tool call reaches the MCP endpoint again).
 * @throws Error when the stage's function-name prefix was not given.
 */
export function routeInvokeStatement(engines: readonly EngineManifest[], functionNamePrefix: string | undefined): Statement {
  const prefix = functionPrefix(functionNamePrefix);
  const names = engines.flatMap((engine) =>
    Object.entries(engine.actions)
      .filter(([, spec]) => (spec.routes ?? []).some((route) => route.permission !== 'public') && !startsCapsuleRuns(spec))
      .map(([action]) => functionName(engine.name, action)),
  );
  return {
    Effect: 'Allow',
    Action: ['lambda:InvokeFunction'],
    Resource: names.map((name) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${prefix}${name}` })),
  };
}

/** Stage values the generated configuration needs. */
export interface GenerateOptions {
  /** Resolves a stage parameter (`params:` in serverless.yml), e.g. a schedule expression. */
  param: (name: string) => string;
  /** `<service>/<stage>/`: what the names of the stage's secrets start with (needed by `secrets` needs). */
  secretNamePrefix?: string;
  /** `<service>-<stage>-`: what the stage's state machines' names start with (needed by `start-executions` needs). */
  stateMachinePrefix?: string;
  /** The stage's models (needed by `invoke-models` needs). */
  models?: StageModelAccess;
  /** `<service>-<stage>-`: what the stage's function names start with (needed by `invoke-routes` needs). */
  functionNamePrefix?: string;
}

/** The Serverless `functions:` map and the `resources:` (roles) of every engine action. */
export function serverlessConfig(engines: readonly EngineManifest[], options: GenerateOptions): { functions: Record<string, Cfn>; resources: { Resources: Record<string, Cfn> } } {
  const functions: Record<string, Cfn> = {};
  const roles: Record<string, Cfn> = {};
  for (const engine of engines) {
    for (const [action, spec] of Object.entries(engine.actions)) {
      const name = functionName(engine.name, action);
      if (name in functions) throw new Error(`function ${name} is declared twice`);
      const routes = spec.routes ?? [];
      // A function URL's route authenticates and is gated like the API's; it keeps no idempotency records (a stream is not replayed).
      const served = [...routes, ...(spec.url ? [spec.url.route] : [])];
      const needs: Need[] = [
        ...spec.needs,
        ...(served.some((route) => route.permission !== 'public') ? PROTECTED_ROUTE : []),
        ...(served.some((route) => route.method !== 'GET' && route.permission !== 'public') ? WRITE_ROUTE : []),
        ...(routes.some((route) => route.method === 'POST' && route.permission !== 'public') ? POST_ROUTE : []),
      ];
      const environment: Record<string, unknown> = {};
      for (const need of needs) {
        const resource = 'table' in need ? dataResources[need.table] : undefined;
        if (resource && 'env' in resource) environment[resource.env] = { Ref: resource.logicalId };
        if (need.kind === 'secrets') {
          const secrets = dataResources[need.secrets];
          environment[secrets.env] = `${stageSecretPrefix(options.secretNamePrefix)}${secrets.namePrefix}`;
        }
        if (need.kind === 'start-executions') environment[stateMachines[need.machine].env] = stateMachineArn(options.stateMachinePrefix, need.machine, 'stateMachine');
        if (need.kind === 'actuate') environment.EXECUTION_ACCOUNT_ID = { Ref: 'AWS::AccountId' };
        if (need.kind === 'invoke-routes') environment.ROUTE_FUNCTION_PREFIX = functionPrefix(options.functionNamePrefix);
      }
      const events: Cfn[] = [
        ...routes.map((route) => ({ httpApi: { method: route.method, path: route.path } })),
        ...(spec.queue
          ? [{ sqs: { arn: arnOf(spec.queue.queue), batchSize: spec.queue.batchSize ?? 10, maximumBatchingWindow: spec.queue.batchingWindow ?? 0, functionResponseType: 'ReportBatchItemFailures' } }]
          : []),
        ...(spec.schedule ? [{ schedule: options.param(spec.schedule.param) }] : []),
        ...(spec.rule ? [{ eventBridge: { eventBus: { 'Fn::GetAtt': [dataResources.bus.logicalId, 'Name'] }, pattern: spec.rule.pattern } }] : []),
      ];
      const statements: Statement[] = [
        { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arnOf(`${normalizedName(name)}LogGroup`) },
        { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
        ...(spec.queue ? [{ Effect: 'Allow' as const, Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: arnOf(spec.queue.queue) }] : []),
        ...needs.flatMap((need) =>
          need.kind === 'invoke-models'
            ? modelStatements(options.models)
            : need.kind === 'invoke-routes'
              ? [routeInvokeStatement(engines, options.functionNamePrefix)]
              : [statementOf(need, options.secretNamePrefix, options.stateMachinePrefix)],
        ),
      ];
      roles[roleLogicalId(name)] = {
        Type: 'AWS::IAM::Role',
        Properties: {
          Description: `${engine.name}/${action}: ${spec.description}`.slice(0, 1000),
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
          },
          Policies: [{ PolicyName: name, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
        },
      };
      functions[name] = {
        handler: `functions/${engine.name}/${action}.handler`,
        description: spec.description,
        role: roleLogicalId(name),
        ...(spec.memorySize ? { memorySize: spec.memorySize } : {}),
        ...(spec.timeout ? { timeout: spec.timeout } : {}),
        ...(Object.keys(environment).length > 0 ? { environment } : {}),
        // osls: an AWS::Lambda::Url (AuthType NONE, public invoke permissions) and its URL in the stack outputs.
        ...(spec.url ? { url: { invokeMode: spec.url.streaming ? 'RESPONSE_STREAM' : 'BUFFERED' } } : {}),
        events,
      };
    }
  }
  return { functions, resources: { Resources: roles } };
}
