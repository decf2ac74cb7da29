/**
 * The local cloud: deploys the packaged template of a stage onto local emulators that speak the
 * AWS wire protocols — DynamoDB Local, fauxqs (S3 + SQS), and our own EventBridge, Step Functions,
 * Lambda, SageMaker runtime and Secrets Manager services behind one gateway — plus the HTTP API on its own port.
 * The product's code reaches them only through `AWS_ENDPOINT_URL_<SERVICE>` variables.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException, UpdateTimeToLiveCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type ListenOptions, Server as NetServer } from 'node:net';
import { startFauxqs } from 'fauxqs';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb.ts';
import { EventBridgeService, type RuleTarget } from './eventbridge/bus.ts';
import { AwsServiceError, dispatchJson, sendAwsError } from './http/aws-json.ts';
import { FunctionUrls } from './function-url.ts';
import { HttpApi, type HttpRoute } from './http-api.ts';
import { JWKS_PATH, jwks, LOCAL_ISSUER, loadOrCreateIdpKey } from './idp.ts';
import { LambdaControlPlane } from './lambda/control-api.ts';
import { handleInvoke } from './lambda/invoke-api.ts';
import { type FunctionOutput, LambdaRuntime, parseFunctionRef, resolveHandler, type InvokeResult } from './lambda/runtime.ts';
import { SqsPoller, type SqsMapping } from './sqs-poller.ts';
import { StepFunctionsService, type TaskInvoker } from './stepfunctions/service.ts';
import { SageMakerService } from './sagemaker/control-plane.ts';
import { SageMakerRuntimeService } from './sagemaker/runtime.ts';
import { SecretsManagerService } from './secretsmanager/service.ts';
import { localModels } from './sagemaker/endpoints.ts';
import { StandInHttpService } from './sagemaker/standin-http.ts';
import { flattenStacks, type NestedStackSummary, templateFilesLoader } from './stacks.ts';
import { IntrinsicResolver, packageStacks, resourcesOfType, type CfnTemplate } from './template.ts';

/** Ports the local cloud listens on (all on 127.0.0.1). */
export interface LocalCloudPorts {
  /** The HTTP API (API Gateway). */
  api: number;
  /** EventBridge, Step Functions, Lambda Invoke, SageMaker runtime and Secrets Manager. */
  gateway: number;
  /** DynamoDB Local. */
  dynamodb: number;
  /** fauxqs: S3, SQS and STS. */
  storage: number;
}

/** Options for {@link startLocalCloud}. */
export interface LocalCloudOptions {
  root: string;
  dataDir: string;
  stage?: string;
  region?: string;
  accountId?: string;
  ports: LocalCloudPorts;
  log?: (line: string) => void;
  /** Deploy this template instead of packaging the stage (tests of the local cloud itself). */
  template?: CfnTemplate;
  /** The nested templates `template`'s stacks point at, by file name (the last path segment of each TemplateURL). */
  templateFiles?: Record<string, CfnTemplate>;
  /** Where function output goes (`{ file }` appends it to a file); default: this process's stdout/stderr. */
  functionOutput?: FunctionOutput;
}

/** A running local cloud. */
export interface LocalCloud {
  stage: string;
  region: string;
  accountId: string;
  apiUrl: string;
  /** The SDK variables that point every client at this cloud. */
  env: Record<string, string>;
  /** The deployed template: the root with every nested stack inlined. */
  template: CfnTemplate;
  /** The nested stacks inlined into `template`, parents before children (empty for a single stack). */
  stacks: NestedStackSummary[];
  resources: {
    tables: Record<string, string>;
    queues: Record<string, { url: string; arn: string }>;
    buckets: Record<string, string>;
    buses: Record<string, string>;
    functions: Record<string, string>;
    stateMachines: Record<string, string>;
    /** Secrets by logical id → ARN. */
    secrets: Record<string, string>;
    routes: string[];
    /** Function URLs by the `AWS::Lambda::Url`'s logical id (the stack output's name) → URL, on the gateway port. */
    functionUrls: Record<string, string>;
  };
  /** PIDs by service: `dynamodb` (DynamoDB Local's java, the current one after a supervised restart) and `cloud` (this process, which runs everything else). */
  pids: Record<string, number>;
  /** The local Lambda service: which invocations run, (fault tests) ending them as a crash would, and warming every function (test runs). */
  lambda: Pick<LambdaRuntime, 'running' | 'terminate' | 'warm'>;
  stop(): Promise<void>;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function functionError(result: Extract<InvokeResult, { ok: false }>): Error {
  return Object.assign(new Error(result.error.errorMessage), { name: result.error.errorType });
}

/**
 * Starts fauxqs on loopback. fauxqs always listens on 0.0.0.0 and has no option for it, so its one
 * `listen` is pinned to 127.0.0.1 while it starts. (Its queue URLs, `sqs.<region>.127.0.0.1:<port>`,
 * are not valid WHATWG URL hosts; the SQS client then warns and uses its configured endpoint.)
 */
async function startStorageOnLoopback(options: Parameters<typeof startFauxqs>[0] & { port: number }): ReturnType<typeof startFauxqs> {
  const listen = NetServer.prototype.listen;
  NetServer.prototype.listen = function (this: NetServer, ...args: unknown[]) {
    const first = args[0] as ListenOptions | undefined;
    if (first && typeof first === 'object' && first.port === options.port && first.host === '0.0.0.0') args[0] = { ...first, host: '127.0.0.1' };
    return listen.apply(this, args as Parameters<typeof listen>);
  } as typeof listen;
  try {
    return await startFauxqs(options);
  } finally {
    NetServer.prototype.listen = listen;
  }
}

/**
 * Boots the local cloud and deploys the stage's template onto it.
 * @throws JavaMissingError when Java is absent; Error when packaging or a port fails.
 */
export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const stage = options.stage ?? 'local';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const log = options.log ?? ((line: string) => console.log(`[local-cloud] ${line}`));
  const stackName = `autonomy-${stage}`;
  const { ports } = options;
  await mkdir(options.dataDir, { recursive: true });

  const stoppers: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch((error: unknown) => log(`stop: ${(error as Error).message}`));
    stoppers.length = 0;
  };

  try {
    const [{ template, stacks }, dynamo] = await Promise.all([
      options.template
        ? flattenStacks(options.template, templateFilesLoader(options.templateFiles ?? {}))
        : packageStacks(options.root, stage, path.join(options.root, '.local', 'package', stage), log),
      startDynamoDbLocal({ port: ports.dynamodb, dataDir: path.join(options.dataDir, 'dynamodb'), cacheDir: path.join(options.root, '.local', 'cache'), log }).then((instance: DynamoDbLocal) => {
        stoppers.push(() => instance.stop());
        return instance;
      }),
      startStorageOnLoopback({ port: ports.storage, logger: false, host: '127.0.0.1', defaultRegion: region, dataDir: path.join(options.dataDir, 'fauxqs') }).then((instance) => {
        stoppers.push(() => instance.stop());
        return instance;
      }),
    ]);

    if (stacks.length > 0) log(`deploying ${stacks.length} nested stacks inlined: ${stacks.map((stack) => `${stack.logicalId} (${stack.resources})`).join(', ')}`);
    const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
    const storageUrl = `http://127.0.0.1:${ports.storage}`;
    const env: Record<string, string> = {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: storageUrl,
      AWS_ENDPOINT_URL_SQS: storageUrl,
      AWS_ENDPOINT_URL_STS: storageUrl,
      AWS_ENDPOINT_URL_EVENTBRIDGE: gatewayUrl,
      AWS_ENDPOINT_URL_SFN: gatewayUrl,
      AWS_ENDPOINT_URL_LAMBDA: gatewayUrl,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: gatewayUrl,
      AWS_ENDPOINT_URL_SAGEMAKER: gatewayUrl,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: gatewayUrl,
    };
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const dynamoClient = new DynamoDBClient({ endpoint: dynamo.endpoint, region, credentials });
    const s3 = new S3Client({ endpoint: storageUrl, region, credentials, forcePathStyle: true });
    const sqs = new SQSClient({ endpoint: storageUrl, region, credentials, useQueueUrlAsEndpoint: false });
    stoppers.push(async () => {
      dynamoClient.destroy();
      s3.destroy();
      sqs.destroy();
    });

    const resolver = new IntrinsicResolver({ region, accountId, stackName });
    const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:${accountId}:${resource}`;
    const resources: LocalCloud['resources'] = { tables: {}, queues: {}, buckets: {}, buses: {}, functions: {}, stateMachines: {}, secrets: {}, routes: [], functionUrls: {} };
    const secretsManager = new SecretsManagerService({ dataDir: path.join(options.dataDir, 'secretsmanager'), region, accountId });

    // Names and ARNs first: they depend only on properties, so everything else can refer to them.
    const nameOf = (id: string, properties: Record<string, unknown>, key: string) => String(resolver.resolve(properties[key] ?? `${stackName}-${id}`));
    for (const [id, resource] of Object.entries(template.Resources)) {
      const p = resource.Properties ?? {};
      switch (resource.Type) {
        case 'AWS::DynamoDB::Table': {
          const name = nameOf(id, p, 'TableName');
          resolver.physical.set(id, { ref: name, attributes: { Arn: arn('dynamodb', `table/${name}`), StreamArn: arn('dynamodb', `table/${name}/stream/local`) } });
          break;
        }
        case 'AWS::S3::Bucket': {
          const name = nameOf(id, p, 'BucketName').toLowerCase();
          resolver.physical.set(id, { ref: name, attributes: { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com` } });
          break;
        }
        case 'AWS::SQS::Queue': {
          const name = nameOf(id, p, 'QueueName');
          resolver.physical.set(id, { ref: `${storageUrl}/${accountId}/${name}`, attributes: { Arn: arn('sqs', name), QueueName: name, QueueUrl: `${storageUrl}/${accountId}/${name}` } });
          break;
        }
        case 'AWS::Events::EventBus': {
          const name = nameOf(id, p, 'Name');
          resolver.physical.set(id, { ref: name, attributes: { Arn: arn('events', `event-bus/${name}`), Name: name } });
          break;
        }
        case 'AWS::Events::Rule': {
          const name = nameOf(id, p, 'Name');
          resolver.physical.set(id, { ref: name, attributes: { Arn: arn('events', `rule/${name}`) } });
          break;
        }
        case 'AWS::Lambda::Function': {
          const name = nameOf(id, p, 'FunctionName');
          resolver.physical.set(id, { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } });
          break;
        }
        case 'AWS::StepFunctions::StateMachine': {
          const name = nameOf(id, p, 'StateMachineName');
          const machineArn = arn('states', `stateMachine:${name}`);
          resolver.physical.set(id, { ref: machineArn, attributes: { Arn: machineArn, Name: name } });
          break;
        }
        case 'AWS::Logs::LogGroup': {
          const name = nameOf(id, p, 'LogGroupName');
          resolver.physical.set(id, { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } });
          break;
        }
        case 'AWS::SecretsManager::Secret': {
          const secretArn = secretsManager.arnOf(nameOf(id, p, 'Name'));
          resolver.physical.set(id, { ref: secretArn, attributes: { Id: secretArn } });
          break;
        }
        case 'AWS::IAM::Role':
          resolver.physical.set(id, { ref: `${stackName}-${id}`, attributes: { Arn: `arn:aws:iam::${accountId}:role/${stackName}-${id}` } });
          break;
        case 'AWS::ApiGatewayV2::Api':
          resolver.physical.set(id, { ref: 'local', attributes: { ApiEndpoint: `http://127.0.0.1:${ports.api}` } });
          break;
        case 'AWS::CloudFormation::Stack':
          // Inlined by flattenStacks: its resources are in the template, the stack itself creates nothing.
          resolver.physical.set(id, { ref: arn('cloudformation', `stack/${stackName}-${id}/local`), attributes: {} });
          break;
        default:
          resolver.physical.set(id, { ref: `${stackName}-${id}`, attributes: {} });
      }
    }

    // DynamoDB tables, exactly as declared (keys, indexes, billing, TTL).
    for (const [id, raw] of resourcesOfType(template, 'AWS::DynamoDB::Table')) {
      const p = resolver.resolve(raw) as Record<string, unknown>;
      const name = resolver.physical.get(id)?.ref ?? id;
      resources.tables[id] = name;
      try {
        await dynamoClient.send(new DescribeTableCommand({ TableName: name }));
        continue;
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
      const input: CreateTableCommandInput = {
        TableName: name,
        AttributeDefinitions: p.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
        KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
        GlobalSecondaryIndexes: p.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'],
        LocalSecondaryIndexes: p.LocalSecondaryIndexes as CreateTableCommandInput['LocalSecondaryIndexes'],
        BillingMode: (p.BillingMode as 'PAY_PER_REQUEST' | 'PROVISIONED' | undefined) ?? 'PROVISIONED',
        ProvisionedThroughput: p.ProvisionedThroughput as CreateTableCommandInput['ProvisionedThroughput'],
      };
      await dynamoClient.send(new CreateTableCommand(input));
      const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
      if (ttl?.Enabled && ttl.AttributeName) {
        await dynamoClient.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true } }));
      }
    }

    for (const [id, raw] of resourcesOfType(template, 'AWS::S3::Bucket')) {
      if (id === 'ServerlessDeploymentBucket') continue; // holds deploy artifacts on AWS; nothing reads it locally
      const p = resolver.resolve(raw) as Record<string, unknown>;
      const name = resolver.physical.get(id)?.ref ?? id;
      resources.buckets[id] = name;
      await s3.send(new CreateBucketCommand({ Bucket: name })).catch((error: Error) => {
        if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(error.name)) throw error;
      });
      if ((p.VersioningConfiguration as { Status?: string } | undefined)?.Status === 'Enabled') {
        await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } })).catch(() => {
          log(`bucket ${name}: versioning is not emulated`);
        });
      }
    }

    // Secrets, with their initial value; a restart keeps the value they hold.
    for (const [id, raw] of resourcesOfType(template, 'AWS::SecretsManager::Secret')) {
      const p = resolver.resolve(raw) as Record<string, unknown>;
      resources.secrets[id] = secretsManager.declare({
        name: nameOf(id, p, 'Name'),
        description: p.Description as string | undefined,
        kmsKeyId: p.KmsKeyId as string | undefined,
        secretString: p.SecretString as string | undefined,
        generateSecretString: p.GenerateSecretString as Parameters<SecretsManagerService['declare']>[0]['generateSecretString'],
      });
    }

    // Queues: dead-letter queues before the queues that redrive into them.
    const queues = resourcesOfType(template, 'AWS::SQS::Queue').sort(([, a], [, b]) => Number('RedrivePolicy' in a) - Number('RedrivePolicy' in b));
    const queueUrlByArn = new Map<string, string>();
    for (const [id, raw] of queues) {
      const p = resolver.resolve(raw) as Record<string, unknown>;
      const physical = resolver.physical.get(id);
      const name = physical?.attributes.QueueName ?? id;
      const attributes: Record<string, string> = {};
      for (const key of ['VisibilityTimeout', 'MessageRetentionPeriod', 'DelaySeconds', 'MaximumMessageSize', 'ReceiveMessageWaitTimeSeconds', 'FifoQueue', 'ContentBasedDeduplication']) {
        if (p[key] !== undefined) attributes[key] = String(p[key]);
      }
      if (p.RedrivePolicy) attributes.RedrivePolicy = typeof p.RedrivePolicy === 'string' ? p.RedrivePolicy : JSON.stringify(p.RedrivePolicy);
      const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      const url = created.QueueUrl ?? physical?.ref ?? '';
      resolver.physical.set(id, { ref: url, attributes: { ...(physical?.attributes ?? {}), QueueUrl: url } });
      queueUrlByArn.set(physical?.attributes.Arn ?? '', url);
      resources.queues[id] = { url, arn: physical?.attributes.Arn ?? '' };
    }

    // Functions, with the environment they are deployed with plus the local endpoints.
    const runtime = new LambdaRuntime({ sharedEnv: { ...env, TZ: 'UTC', NODE_ENV: 'production' }, log, output: options.functionOutput ?? 'inherit' });
    stoppers.push(() => runtime.stop());
    for (const [id, raw] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      const p = resolver.resolve(raw) as Record<string, unknown>;
      const name = resolver.physical.get(id)?.ref ?? id;
      const variables = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
      const environment = Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, String(value)]));
      // Source maps are for the bundle; here the source runs as is.
      delete environment.NODE_OPTIONS;
      // The local cloud is the stage's identity provider: its key set is on the API port actually bound.
      if (environment.AUTH_ISSUER === LOCAL_ISSUER) environment.AUTH_JWKS_URL = `http://127.0.0.1:${ports.api}${JWKS_PATH}`;
      runtime.deploy({
        logicalId: id,
        name,
        arn: resolver.physical.get(id)?.attributes.Arn ?? '',
        ...resolveHandler(options.root, String(p.Handler)),
        environment,
        timeoutSeconds: Number(p.Timeout ?? 6),
        memoryMb: Number(p.MemorySize ?? 1024),
      });
      resources.functions[id] = name;
    }

    // Function URLs, on the gateway port under /lambda-url/<function>/ (infra/local/function-url.ts).
    const functionUrls = new FunctionUrls({ baseUrl: gatewayUrl, accountId, invoker: runtime, log });
    for (const [id, raw] of resourcesOfType(template, 'AWS::Lambda::Url')) {
      const p = resolver.resolve(raw) as Record<string, unknown>;
      const target = String(p.TargetFunctionArn ?? '');
      const url = functionUrls.add(parseFunctionRef(target).name, p.InvokeMode === 'RESPONSE_STREAM' ? 'RESPONSE_STREAM' : 'BUFFERED', target);
      resolver.physical.set(id, { ref: target, attributes: { FunctionUrl: url, FunctionArn: target } });
      resources.functionUrls[id] = url;
    }

    const invokeOrThrow = async (nameOrArn: string, payload: unknown) => {
      const result = await runtime.invoke(nameOrArn, payload);
      if (!result.ok) throw functionError(result);
      return result.payload;
    };
    /** Asynchronous invocation as Lambda does it: two retries with backoff on a function error. */
    const invokeAsync = async (nameOrArn: string, payload: unknown) => {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
        const result = await runtime.invoke(nameOrArn, payload);
        if (result.ok) return;
        log(`${nameOrArn} (async, attempt ${attempt + 1}/3): ${result.error.errorType}: ${result.error.errorMessage}`);
      }
    };

    // Step Functions, with tasks served by the local Lambda, SQS and EventBridge.
    let bus: EventBridgeService | undefined;
    const invokeTask: TaskInvoker = async ({ resource, input, taskToken }) => {
      if (/^arn:aws:lambda:[^:]*:[^:]*:function:/.test(resource)) return invokeOrThrow(resource, input);
      const args = (input ?? {}) as Record<string, unknown>;
      // The service wraps `lambda:invoke` results (Payload, StatusCode…) as AWS does; we return the payload.
      if (resource.startsWith('arn:aws:states:::lambda:invoke')) return invokeOrThrow(String(args.FunctionName), args.Payload ?? {});
      if (resource.startsWith('arn:aws:states:::sqs:sendMessage')) {
        const body = typeof args.MessageBody === 'string' ? args.MessageBody : JSON.stringify(args.MessageBody);
        const output = await sqs.send(new SendMessageCommand({ QueueUrl: String(args.QueueUrl), MessageBody: body, DelaySeconds: args.DelaySeconds as number | undefined }));
        return { MessageId: output.MessageId, MD5OfMessageBody: output.MD5OfMessageBody };
      }
      if (resource.startsWith('arn:aws:states:::events:putEvents')) {
        const entries = ((args.Entries ?? []) as Array<Record<string, unknown>>).map((entry) => ({
          ...entry,
          Detail: typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail ?? {}),
        }));
        return bus?.operations().PutEvents?.({ Entries: entries });
      }
      throw Object.assign(new Error(`The local cloud does not run task resource ${resource}${taskToken ? ' (callback)' : ''}`), { name: 'States.Runtime' });
    };
    const stepFunctions = new StepFunctionsService({ dataDir: path.join(options.dataDir, 'stepfunctions'), region, accountId, invokeTask, log });
    stoppers.push(async () => stepFunctions.stop());

    // The bus: rules and targets from the template.
    bus = new EventBridgeService({
      region,
      accountId,
      log,
      deliver: async (targetArn, input, context) => {
        if (targetArn.startsWith('arn:aws:lambda:')) return invokeAsync(targetArn, JSON.parse(input));
        if (targetArn.startsWith('arn:aws:sqs:')) {
          const url = queueUrlByArn.get(targetArn);
          if (!url) throw new Error(`rule ${context.ruleName}: no queue ${targetArn}`);
          await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: input }));
          return;
        }
        if (targetArn.startsWith('arn:aws:states:')) {
          await stepFunctions.operations().StartExecution?.({ stateMachineArn: targetArn, input });
          return;
        }
        throw new Error(`rule ${context.ruleName}: target type of ${targetArn} is not supported locally`);
      },
    });
    stoppers.push(async () => bus?.stop());
    for (const [id] of resourcesOfType(template, 'AWS::Events::EventBus')) {
      const name = resolver.physical.get(id)?.ref ?? id;
      resources.buses[id] = bus.createBus(name);
    }
    for (const [id, raw] of resourcesOfType(template, 'AWS::Events::Rule')) {
      const p = resolver.resolve(raw) as Record<string, unknown>;
      const busName = String(p.EventBusName ?? 'default');
      bus.putRule({
        name: resolver.physical.get(id)?.ref ?? id,
        arn: resolver.physical.get(id)?.attributes.Arn ?? '',
        busName: busName.startsWith('arn:') ? (busName.split(':event-bus/')[1] ?? busName) : busName,
        eventPattern: p.EventPattern,
        scheduleExpression: p.ScheduleExpression as string | undefined,
        enabled: (p.State ?? 'ENABLED') === 'ENABLED',
        targets: (p.Targets ?? []) as RuleTarget[],
      });
    }

    // State machines, with DefinitionSubstitutions applied as CloudFormation applies them.
    await stepFunctions.start();
    for (const [id, raw] of resourcesOfType(template, 'AWS::StepFunctions::StateMachine')) {
      const p = resolver.resolve(raw) as Record<string, unknown>;
      const substitutions = (p.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
      const definition = String(p.DefinitionString ?? JSON.stringify(p.Definition)).replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, key: string) =>
        key in substitutions ? String(substitutions[key]) : whole,
      );
      const name = resolver.physical.get(id)?.attributes.Name ?? id;
      resources.stateMachines[id] = await stepFunctions.createStateMachine({ name, definition, roleArn: String(p.RoleArn ?? ''), type: String(p.StateMachineType ?? 'STANDARD') });
    }

    // SQS event source mappings.
    for (const [, raw] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
      const p = resolver.resolve(raw) as Record<string, unknown>;
      const source = String(p.EventSourceArn ?? '');
      if (!source.startsWith('arn:aws:sqs:')) {
        log(`event source ${source} is not emulated (only SQS)`);
        continue;
      }
      const mapping: SqsMapping = {
        functionName: String(p.FunctionName),
        queueUrl: queueUrlByArn.get(source) ?? '',
        queueArn: source,
        batchSize: Number(p.BatchSize ?? 10),
        reportBatchItemFailures: ((p.FunctionResponseTypes ?? []) as string[]).includes('ReportBatchItemFailures'),
        enabled: p.Enabled !== false,
      };
      if (!mapping.enabled) continue;
      const poller = new SqsPoller({ mapping, sqs, region, invoke: (name, event) => runtime.invoke(name, event), log });
      poller.start();
      stoppers.push(() => poller.stop());
    }

    // The gateway: EventBridge, Step Functions, Lambda (Invoke, concurrency, versions, aliases), SageMaker
    // (endpoints and their variants; the runtime routes by their weights) and Secrets Manager on one port.
    const lambdaControl = new LambdaControlPlane(runtime);
    const { endpoints: models, standIns } = localModels();
    // The same stand-ins over the OpenAI-compatible (/v1/…) and Ollama (/api/…) APIs, for those backends.
    const standInHttp = new StandInHttpService({ standIns, log });
    const sagemakerControl = new SageMakerService({ region, accountId, models, log });
    for (const name of Object.keys(models)) sagemakerControl.declareEndpoint(name);
    stoppers.push(async () => sagemakerControl.stop());
    const sagemaker = new SageMakerRuntimeService({ endpoints: models, log, route: (name, variant) => sagemakerControl.route(name, variant) });
    const sagemakerOps = sagemakerControl.operations();
    const eventsOps = bus.operations();
    const sfnOps = stepFunctions.operations();
    const secretsOps = secretsManager.operations();
    const gateway = createServer((req: IncomingMessage, res: ServerResponse) => {
      void (async () => {
        try {
          if (await functionUrls.handle(req, res)) return;
          if (await dispatchJson(req, res, 'AWSEvents', eventsOps)) return;
          if (await dispatchJson(req, res, 'AWSStepFunctions', sfnOps)) return;
          if (await dispatchJson(req, res, 'secretsmanager', secretsOps)) return;
          if (await dispatchJson(req, res, 'SageMaker', sagemakerOps)) return;
          if (await lambdaControl.handle(req, res)) return;
          if (await handleInvoke(runtime, req, res, log)) return;
          if (await sagemaker.handle(req, res)) return;
          if (await standInHttp.handle(req, res)) return;
          sendAwsError(res, new AwsServiceError('UnknownOperationException', `The local cloud does not serve ${req.method} ${req.url}`, 404));
        } catch (error) {
          log(`gateway: ${(error as Error).message}`);
          if (!res.headersSent) sendAwsError(res, new AwsServiceError('InternalFailure', 'The local cloud failed', 500));
        }
      })();
    });
    await listen(gateway, ports.gateway);
    stoppers.push(() => close(gateway));

    // The HTTP API.
    const integrations = new Map<string, string>();
    for (const [id, raw] of resourcesOfType(template, 'AWS::ApiGatewayV2::Integration')) {
      const p = resolver.resolve(raw) as Record<string, unknown>;
      integrations.set(id, String(p.IntegrationUri ?? ''));
    }
    const routes: HttpRoute[] = [];
    for (const [, raw] of resourcesOfType(template, 'AWS::ApiGatewayV2::Route')) {
      const target = raw.Target as unknown;
      const integrationId = JSON.stringify(target).match(/"Ref":"([^"]+)"/)?.[1] ?? '';
      const functionArn = integrations.get(integrationId) ?? '';
      routes.push({ routeKey: String(raw.RouteKey), functionName: functionArn.split(':function:')[1] ?? functionArn });
    }
    const cors = resourcesOfType(template, 'AWS::ApiGatewayV2::Api').some(([, p]) => p.CorsConfiguration !== undefined);
    const api = new HttpApi(routes, { apiId: 'local', accountId, invoke: (name, event) => runtime.invoke(name, event), log, cors });
    resources.routes = api.routeKeys();
    const keySet = JSON.stringify(jwks(await loadOrCreateIdpKey(options.dataDir)));
    const apiServer = createServer((req, res) => {
      if (req.method === 'GET' && req.url === JWKS_PATH) {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(keySet);
        return;
      }
      api.handle(req, res).catch((error: unknown) => {
        log(`api: ${(error as Error).message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"Internal Server Error"}');
      });
    });
    await listen(apiServer, ports.api);
    stoppers.push(() => close(apiServer));

    bus.startSchedules();
    return {
      stage,
      region,
      accountId,
      apiUrl: `http://127.0.0.1:${ports.api}`,
      env,
      template,
      stacks,
      resources,
      pids: {
        get dynamodb() {
          return dynamo.pid;
        },
        cloud: process.pid,
      },
      lambda: runtime,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
