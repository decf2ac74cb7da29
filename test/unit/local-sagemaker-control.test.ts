/**
 * The local SageMaker control plane through `@aws-sdk/client-sagemaker`: endpoints with production
 * variants, UpdateEndpointWeightsAndCapacities (Updating, then current and InService), and the
 * runtime routing InvokeEndpoint by the current weights.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  SageMakerClient,
  UpdateEndpointWeightsAndCapacitiesCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { dispatchJson } from '../../infra/local/http/aws-json.ts';
import { echoBackend } from '../../infra/local/sagemaker/backends.ts';
import { SageMakerService } from '../../infra/local/sagemaker/control-plane.ts';
import { SageMakerRuntimeService } from '../../infra/local/sagemaker/runtime.ts';

let server: Server;
let control: SageMakerService;
let sagemaker: SageMakerClient;
let runtime: SageMakerRuntimeClient;

before(async () => {
  control = new SageMakerService({ region: 'us-east-1', accountId: '000000000000', models: { echo: echoBackend() }, updateDelayMs: 30, random: () => 0.5 });
  const service = new SageMakerRuntimeService({ endpoints: {}, route: (name, variant) => control.route(name, variant) });
  const ops = control.operations();
  server = createServer((req, res) => {
    void (async () => {
      if (await dispatchJson(req, res, 'SageMaker', ops)) return;
      if (await service.handle(req, res)) return;
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const options = { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  sagemaker = new SageMakerClient(options);
  runtime = new SageMakerRuntimeClient(options);
});

after(async () => {
  control.stop();
  sagemaker.destroy();
  runtime.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function inService(name: string): Promise<DescribeEndpointCommandOutput> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const described = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }));
    if (described.EndpointStatus === 'InService') return described;
    if (Date.now() > deadline) throw new Error(`${name} stayed ${described.EndpointStatus}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const variantsOf = (described: DescribeEndpointCommandOutput) =>
  (described.ProductionVariants ?? []).map((variant) => [variant.VariantName, variant.CurrentWeight, variant.DesiredWeight, variant.CurrentInstanceCount, variant.DesiredInstanceCount]);

describe('local SageMaker control plane', () => {
  before(async () => {
    await sagemaker.send(new CreateEndpointConfigCommand({
      EndpointConfigName: 'chat-config',
      ProductionVariants: [
        { VariantName: 'blue', ModelName: 'echo', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 2, InitialVariantWeight: 1 },
        { VariantName: 'green', ModelName: 'echo', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1, InitialVariantWeight: 0 },
      ],
    }));
    const created = await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'chat', EndpointConfigName: 'chat-config' }));
    assert.equal(created.EndpointArn, 'arn:aws:sagemaker:us-east-1:000000000000:endpoint/chat');
  });

  it('creates an endpoint that goes Creating → InService with its variants as DescribeEndpoint shows them', async () => {
    const described = await inService('chat');
    assert.equal(described.EndpointConfigName, 'chat-config');
    assert.ok(described.CreationTime instanceof Date);
    assert.deepEqual(variantsOf(described), [['blue', 1, 1, 2, 2], ['green', 0, 0, 1, 1]]);
  });

  it('shifts traffic: Updating with the desired weights, then current; InvokeEndpoint follows the current weights', async () => {
    await inService('chat');
    const before = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'chat', Body: Buffer.from('{}'), ContentType: 'application/json' }));
    assert.equal(before.InvokedProductionVariant, 'blue');
    const updated = await sagemaker.send(new UpdateEndpointWeightsAndCapacitiesCommand({
      EndpointName: 'chat',
      DesiredWeightsAndCapacities: [{ VariantName: 'blue', DesiredWeight: 0 }, { VariantName: 'green', DesiredWeight: 1, DesiredInstanceCount: 3 }],
    }));
    assert.equal(updated.EndpointArn, 'arn:aws:sagemaker:us-east-1:000000000000:endpoint/chat');
    const updating = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'chat' }));
    assert.equal(updating.EndpointStatus, 'Updating');
    assert.deepEqual(variantsOf(updating), [['blue', 1, 0, 2, 2], ['green', 0, 1, 1, 3]]);
    // An endpoint that is updating refuses another update.
    await assert.rejects(sagemaker.send(new UpdateEndpointWeightsAndCapacitiesCommand({ EndpointName: 'chat', DesiredWeightsAndCapacities: [{ VariantName: 'blue', DesiredWeight: 1 }] })), (error: Error) => {
      assert.equal(error.name, 'ValidationException');
      assert.match(error.message, /Cannot update in-progress endpoint/);
      return true;
    });
    assert.deepEqual(variantsOf(await inService('chat')), [['blue', 0, 0, 2, 2], ['green', 1, 1, 3, 3]]);
    const after = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'chat', Body: Buffer.from('{}'), ContentType: 'application/json' }));
    assert.equal(after.InvokedProductionVariant, 'green');
    // A target variant is served even at weight 0.
    const targeted = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'chat', TargetVariant: 'blue', Body: Buffer.from('{}'), ContentType: 'application/json' }));
    assert.equal(targeted.InvokedProductionVariant, 'blue');
  });

  it('refuses unknown endpoints and variants, no weight or count, zero instances, and all weights at zero (ValidationException)', async () => {
    await inService('chat');
    const refused = async (input: ConstructorParameters<typeof UpdateEndpointWeightsAndCapacitiesCommand>[0], pattern: RegExp) =>
      assert.rejects(sagemaker.send(new UpdateEndpointWeightsAndCapacitiesCommand(input)), (error: Error) => {
        assert.equal(error.name, 'ValidationException');
        assert.match(error.message, pattern);
        return true;
      });
    await refused({ EndpointName: 'nope', DesiredWeightsAndCapacities: [{ VariantName: 'blue', DesiredWeight: 1 }] }, /Could not find endpoint "nope"/);
    await refused({ EndpointName: 'chat', DesiredWeightsAndCapacities: [{ VariantName: 'red', DesiredWeight: 1 }] }, /\[red\] is\/are not present/);
    await refused({ EndpointName: 'chat', DesiredWeightsAndCapacities: [{ VariantName: 'blue' }] }, /Either DesiredWeight or DesiredInstanceCount/);
    await refused({ EndpointName: 'chat', DesiredWeightsAndCapacities: [{ VariantName: 'blue', DesiredInstanceCount: 0 }] }, /desiredInstanceCount/);
    await refused({ EndpointName: 'chat', DesiredWeightsAndCapacities: [{ VariantName: 'green', DesiredWeight: 0 }] }, /must be greater than 0/);
    await refused({ EndpointName: 'chat', DesiredWeightsAndCapacities: [{ VariantName: 'blue', DesiredInstanceCount: 4 }, { VariantName: 'green', DesiredInstanceCount: 5 }] }, /only one variant/);
    assert.equal((await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'chat' }))).EndpointStatus, 'InService');
  });

  it('serves a declared local endpoint with one AllTraffic variant', async () => {
    control.declareEndpoint('probe', 'echo');
    assert.deepEqual(variantsOf(await inService('probe')), [['AllTraffic', 1, 1, 1, 1]]);
    const invoked = await runtime.send(new InvokeEndpointCommand({ EndpointName: 'probe', Body: Buffer.from('hi') }));
    assert.equal(invoked.InvokedProductionVariant, 'AllTraffic');
  });
});
