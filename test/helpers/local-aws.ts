/**
 * The local cloud's emulated Lambda, SageMaker and EventBridge control planes on one loopback port,
 * with SDK clients pointed at them: what the Execution engine's unit tests run their AWS executors
 * against (real wire protocol, real state), without booting the whole local cloud.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { EventBridgeService } from '../../infra/local/eventbridge/bus.ts';
import { dispatchJson } from '../../infra/local/http/aws-json.ts';
import { LambdaControlPlane } from '../../infra/local/lambda/control-api.ts';
import { handleInvoke } from '../../infra/local/lambda/invoke-api.ts';
import { LambdaRuntime } from '../../infra/local/lambda/runtime.ts';
import { echoBackend } from '../../infra/local/sagemaker/backends.ts';
import { SageMakerService } from '../../infra/local/sagemaker/control-plane.ts';

/** The account and region of the emulated services. */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

/** A running set of emulated control planes. */
export interface LocalAws {
  lambda: LambdaClient;
  sagemaker: SageMakerClient;
  events: EventBridgeClient;
  runtime: LambdaRuntime;
  sagemakerService: SageMakerService;
  bus: EventBridgeService;
  /** Rule names in delivery order (what the bus delivered to targets). */
  deliveries: string[];
  functionArn(name: string): string;
  stop(): Promise<void>;
}

/**
 * Starts the emulated services with functions `names` (each returns its environment), a bus `app`
 * with a rule `orders` (pattern `source: shop`), and the local model `echo` for SageMaker variants.
 */
export async function startLocalAws(
  names: readonly string[] = ['chat', 'billing'],
  settings: { sagemakerUpdateDelayMs?: number } = {},
): Promise<LocalAws> {
  const handlers = path.resolve(import.meta.dirname, '../fixtures/local-cloud/handlers.ts');
  const functionArn = (name: string) => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;
  const runtime = new LambdaRuntime({ sharedEnv: {}, output: 'silent' });
  for (const name of names) runtime.deploy({ logicalId: name, name, arn: functionArn(name), file: handlers, exportName: 'describeEnvironment', environment: { FIXTURE_NAME: name }, timeoutSeconds: 10, memoryMb: 128 });
  const control = new LambdaControlPlane(runtime);
  const sagemakerService = new SageMakerService({ region: LOCAL_REGION, accountId: LOCAL_ACCOUNT, models: { echo: echoBackend() }, updateDelayMs: settings.sagemakerUpdateDelayMs ?? 30 });
  const deliveries: string[] = [];
  const bus = new EventBridgeService({ region: LOCAL_REGION, accountId: LOCAL_ACCOUNT, deliver: async (_arn, _input, context) => void deliveries.push(context.ruleName) });
  bus.createBus('app');
  bus.putRule({ name: 'orders', arn: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/app/orders`, busName: 'app', eventPattern: { source: ['shop'] }, enabled: true, targets: [{ Id: 'q', Arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:q` }] });
  const sagemakerOps = sagemakerService.operations();
  const eventsOps = bus.operations();
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (await dispatchJson(req, res, 'SageMaker', sagemakerOps)) return;
      if (await dispatchJson(req, res, 'AWSEvents', eventsOps)) return;
      if (await control.handle(req, res)) return;
      if (await handleInvoke(runtime, req, res, () => {})) return;
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const options = { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const lambda = new LambdaClient(options);
  const sagemaker = new SageMakerClient(options);
  const events = new EventBridgeClient(options);
  return {
    lambda,
    sagemaker,
    events,
    runtime,
    sagemakerService,
    bus,
    deliveries,
    functionArn,
    async stop() {
      lambda.destroy();
      sagemaker.destroy();
      events.destroy();
      sagemakerService.stop();
      await bus.stop();
      await runtime.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
