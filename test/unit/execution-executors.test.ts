/**
 * The AWS executors against the local cloud's emulated Lambda, SageMaker and EventBridge (real SDK
 * clients, real wire protocol, real state): dry run, execute, read-back and undo of each, and the
 * binding scope check.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateAliasCommand, GetAliasCommand, GetFunctionConcurrencyCommand, PublishVersionCommand, UpdateAliasCommand, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { CreateEndpointCommand, CreateEndpointConfigCommand, DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { DescribeRuleCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { eventBridgeRuleExecutor, lambdaAliasExecutor, lambdaConcurrencyExecutor, sageMakerEndpointExecutor } from '../../lib/adapters/aws/executors.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.ts';
import { type Binding, bindingSchema, checkScope } from '../../lib/execution/bindings.ts';
import { type ExecutionRequest, type Executor, mismatches } from '../../lib/execution/executor.ts';
import type { ActuationId } from '../../lib/governance/actuations.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalAws, startLocalAws } from '../helpers/local-aws.ts';

let aws: LocalAws;
before(async () => {
  // Endpoints stay Creating/Updating 300 ms: long enough that a busy machine still sees the first dry run refused.
  aws = await startLocalAws(['chat', 'billing', 'search'], { sagemakerUpdateDelayMs: 300 });
});
after(() => aws.stop());

function request<P>(executor: Executor<P>, action: ActuationId, binding: Binding, raw: Record<string, unknown> = {}): ExecutionRequest<P> {
  return { tenant: 'acme', action, target: 'component/x', binding, parameters: executor.parameters(action, { ...binding.parameters, ...raw }) };
}

/** dry run → execute → read-back, as the engine runs them. */
async function apply<P>(executor: Executor<P>, req: ExecutionRequest<P>) {
  const plan = await executor.dryRun(req);
  const result = await executor.execute(req, 'exec-test', plan);
  const observed = await executor.readBack(req, result);
  return { plan, result, observed };
}

const reserved = async (name: string) => (await aws.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name }))).ReservedConcurrentExecutions;

describe('lambda-concurrency executor', () => {
  const binding = (name: string): Binding => bindingSchema.parse({ kind: 'lambda-concurrency', resource: aws.functionArn(name), parameters: { concurrency: 4 } });

  it('throttles: plans none → 4 without changing anything, sets 4, reads 4 back, and undo removes the reservation', async () => {
    const executor = lambdaConcurrencyExecutor(aws.lambda);
    const req = request(executor, 'reflex:throttle', binding('chat'));
    const plan = await executor.dryRun(req);
    assert.deepEqual(plan, { before: { reservedConcurrency: null }, after: { reservedConcurrency: 4 }, changes: ['reserved concurrency: none → 4'] });
    assert.equal(await reserved('chat'), undefined);
    const result = await executor.execute(req, 'exec-1', plan);
    assert.equal(await reserved('chat'), 4);
    assert.deepEqual(mismatches(result.after, await executor.readBack(req, result)), []);
    // Idempotent: the same request again sets the same absolute state.
    await executor.execute(req, 'exec-1', plan);
    assert.equal(await reserved('chat'), 4);
    const undone = await executor.undo?.(req, result, 'undo-exec-1');
    assert.deepEqual(undone?.after, { reservedConcurrency: null });
    assert.equal(await reserved('chat'), undefined);
  });

  it('quarantines with concurrency 0: the function is throttled, and undo restores the earlier reservation', async () => {
    const executor = lambdaConcurrencyExecutor(aws.lambda);
    const throttle = request(executor, 'reflex:throttle', binding('billing'), { concurrency: 9 });
    await apply(executor, throttle);
    const quarantine = request(executor, 'reflex:quarantine', bindingSchema.parse({ kind: 'lambda-concurrency', resource: aws.functionArn('billing') }));
    assert.equal(quarantine.parameters.concurrency, 0);
    const { result, observed } = await apply(executor, quarantine);
    assert.deepEqual(observed, { reservedConcurrency: 0 });
    const invoked = await aws.runtime.invoke('billing', {});
    assert.equal(invoked.ok === false && invoked.throttled, true);
    await executor.undo?.(quarantine, result, 'undo');
    assert.equal(await reserved('billing'), 9);
  });

  it('refuses parameters that contradict the action, and a function that does not exist', async () => {
    const executor = lambdaConcurrencyExecutor(aws.lambda);
    assert.throws(() => executor.parameters('reflex:quarantine', { concurrency: 3 }), ValidationError);
    assert.throws(() => executor.parameters('reflex:throttle', { concurrency: 0 }), ValidationError);
    assert.throws(() => executor.parameters('reflex:throttle', {}), (error: ValidationError) => error.issues[0]?.path === 'body.parameters.parameters.concurrency');
    await assert.rejects(executor.dryRun(request(executor, 'reflex:throttle', binding('missing'))), NotFoundError);
  });
});

describe('lambda-alias executor', () => {
  before(async () => {
    await aws.lambda.send(new PublishVersionCommand({ FunctionName: 'search' }));
    await aws.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'search', Environment: { Variables: { FIXTURE_NAME: 'search-v2' } } }));
    await aws.lambda.send(new PublishVersionCommand({ FunctionName: 'search' }));
    await aws.lambda.send(new CreateAliasCommand({ FunctionName: 'search', Name: 'live', FunctionVersion: '1', RoutingConfig: { AdditionalVersionWeights: { '2': 0.3 } } }));
  });
  const binding = (): Binding => bindingSchema.parse({ kind: 'lambda-alias', resource: `${aws.functionArn('search')}:live` });

  it('rolls back a canary (weights dropped, all traffic on the alias version) and undo restores the canary', async () => {
    const executor = lambdaAliasExecutor(aws.lambda);
    const req = request(executor, 'reflex:roll-back', binding());
    const { plan, result, observed } = await apply(executor, req);
    assert.deepEqual(plan.changes, ['additional weights: {"2":0.3} → {}']);
    assert.deepEqual(observed, { functionVersion: '1', additionalVersionWeights: {} });
    const alias = await aws.lambda.send(new GetAliasCommand({ FunctionName: 'search', Name: 'live' }));
    assert.equal(alias.RoutingConfig, undefined);
    const restored = await executor.undo?.(req, result, 'undo');
    assert.deepEqual(await executor.readBack(req, restored ?? result), { functionVersion: '1', additionalVersionWeights: { '2': 0.3 } });
  });

  it('shifts traffic to a version, and refuses to act when the alias changed after its dry run', async () => {
    const executor = lambdaAliasExecutor(aws.lambda);
    const req = request(executor, 'promotion:promote', binding(), { functionVersion: '2', additionalVersionWeights: {} });
    const plan = await executor.dryRun(req);
    await aws.lambda.send(new UpdateAliasCommand({ FunctionName: 'search', Name: 'live', RoutingConfig: { AdditionalVersionWeights: { '2': 0.5 } } }));
    await assert.rejects(executor.execute(req, 'exec', plan), ConflictError);
    const { observed } = await apply(executor, req);
    assert.deepEqual(observed, { functionVersion: '2', additionalVersionWeights: {} });
  });
});

describe('sagemaker-endpoint executor', () => {
  before(async () => {
    await aws.sagemaker.send(new CreateEndpointConfigCommand({
      EndpointConfigName: 'chat-config',
      ProductionVariants: [
        { VariantName: 'blue', ModelName: 'echo', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 2, InitialVariantWeight: 1 },
        { VariantName: 'green', ModelName: 'echo', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1, InitialVariantWeight: 0 },
      ],
    }));
    await aws.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'chat', EndpointConfigName: 'chat-config' }));
  });
  const binding = (): Binding => bindingSchema.parse({ kind: 'sagemaker-endpoint', resource: `arn:aws:sagemaker:${LOCAL_REGION}:${LOCAL_ACCOUNT}:endpoint/chat` });

  it('fails over (weights) and scales one variant, reads the settled endpoint back, and undo restores it', async () => {
    const executor = sageMakerEndpointExecutor(aws.sagemaker, { pollMs: 10 });
    // The endpoint is still Creating: the dry run says it cannot change yet.
    await assert.rejects(executor.dryRun(request(executor, 'reflex:fail-over', binding(), { variants: [{ variantName: 'green', weight: 1 }] })), ConflictError);
    for (let i = 0; i < 100 && (await aws.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'chat' }))).EndpointStatus !== 'InService'; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const req = request(executor, 'reflex:fail-over', binding(), { variants: [{ variantName: 'blue', weight: 0 }, { variantName: 'green', weight: 1, instanceCount: 2 }] });
    const { plan, result, observed } = await apply(executor, req);
    assert.deepEqual(plan.changes, ['blue weight: 1 → 0', 'green weight: 0 → 1', 'green instances: 1 → 2']);
    assert.deepEqual(mismatches(result.after, observed), []);
    const described = await aws.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'chat' }));
    assert.deepEqual(described.ProductionVariants?.map((variant) => [variant.VariantName, variant.CurrentWeight, variant.CurrentInstanceCount]), [['blue', 0, 2], ['green', 1, 2]]);
    const restored = await executor.undo?.(req, result, 'undo');
    assert.deepEqual(mismatches(restored?.after ?? {}, await executor.readBack(req, result)), []);
    assert.deepEqual((await aws.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'chat' }))).ProductionVariants?.map((variant) => [variant.VariantName, variant.CurrentWeight, variant.CurrentInstanceCount]), [['blue', 1, 2], ['green', 0, 1]]);
  });

  it('refuses a variant the endpoint does not have, and reports an endpoint that does not exist', async () => {
    const executor = sageMakerEndpointExecutor(aws.sagemaker, { pollMs: 10 });
    await assert.rejects(executor.dryRun(request(executor, 'reflex:scale-out', binding(), { variants: [{ variantName: 'red', instanceCount: 3 }] })), ValidationError);
    const missing = bindingSchema.parse({ kind: 'sagemaker-endpoint', resource: `arn:aws:sagemaker:${LOCAL_REGION}:${LOCAL_ACCOUNT}:endpoint/nope` });
    await assert.rejects(executor.dryRun(request(executor, 'reflex:scale-out', missing, { variants: [{ variantName: 'blue', instanceCount: 3 }] })), NotFoundError);
  });
});

describe('eventbridge-rule executor', () => {
  it('quarantines a rule (DISABLED: events stop reaching its targets) and undo enables it again', async () => {
    const executor = eventBridgeRuleExecutor(aws.events);
    const binding = bindingSchema.parse({ kind: 'eventbridge-rule', resource: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/app/orders` });
    const req = request(executor, 'reflex:quarantine', binding);
    const put = () => aws.events.send(new PutEventsCommand({ Entries: [{ EventBusName: 'app', Source: 'shop', DetailType: 'order.placed', Detail: '{}' }] }));
    const { plan, result, observed } = await apply(executor, req);
    assert.deepEqual(plan.changes, ['state: ENABLED → DISABLED']);
    assert.deepEqual(observed, { state: 'DISABLED' });
    aws.deliveries.length = 0;
    await put();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(aws.deliveries, []);
    await executor.undo?.(req, result, 'undo');
    assert.equal((await aws.events.send(new DescribeRuleCommand({ Name: 'orders', EventBusName: 'app' }))).State, 'ENABLED');
    await put();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(aws.deliveries, ['orders']);
  });
});

describe('binding scope', () => {
  const stage = { accountId: '123456789012', region: 'eu-west-1', webhookAllowList: ['https://hooks.acme.example/autonomy/', 'http://127.0.0.1:8080'] };

  it("refuses resources outside the stage's account or region, and webhooks off the allow-list", () => {
    const lambda = (arn: string) => checkScope(bindingSchema.parse({ kind: 'lambda-concurrency', resource: arn }), stage);
    assert.equal(lambda('arn:aws:lambda:eu-west-1:123456789012:function:chat'), undefined);
    assert.match(lambda('arn:aws:lambda:eu-west-1:999999999999:function:chat') ?? '', /account 999999999999/);
    assert.match(lambda('arn:aws:lambda:us-east-1:123456789012:function:chat') ?? '', /region us-east-1/);
    const hook = (url: string) => checkScope(bindingSchema.parse({ kind: 'webhook', resource: url }), stage);
    assert.equal(hook('https://hooks.acme.example/autonomy/restart'), undefined);
    assert.equal(hook('http://127.0.0.1:8080/x'), undefined);
    assert.match(hook('https://hooks.acme.example/other') ?? '', /allow-list/);
    assert.match(hook('https://hooks.acme.example.evil.example/autonomy/x') ?? '', /allow-list/);
    assert.match(hook('http://hooks.acme.example/autonomy/x') ?? '', /allow-list/);
    assert.match(hook('http://127.0.0.1:9090/x') ?? '', /allow-list/);
  });

  it('refuses malformed bindings by their shape: qualified function ARNs, numeric alias names, URLs with credentials', () => {
    assert.equal(bindingSchema.safeParse({ kind: 'lambda-concurrency', resource: 'arn:aws:lambda:eu-west-1:123456789012:function:chat:live' }).success, false);
    assert.equal(bindingSchema.safeParse({ kind: 'lambda-alias', resource: 'arn:aws:lambda:eu-west-1:123456789012:function:chat:3' }).success, false);
    assert.equal(bindingSchema.safeParse({ kind: 'webhook', resource: 'https://user:pw@hooks.acme.example/a' }).success, false);
    assert.equal(bindingSchema.safeParse({ kind: 'ssh', resource: 'host' }).success, false);
  });
});
