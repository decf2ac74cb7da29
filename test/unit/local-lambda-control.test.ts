/**
 * The local Lambda control plane through `@aws-sdk/client-lambda`: reserved concurrency the runtime
 * enforces (throttles), published versions, and aliases whose routing weights Invoke follows.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  DeleteFunctionConcurrencyCommand,
  GetAliasCommand,
  GetFunctionConcurrencyCommand,
  InvokeCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { LambdaControlPlane } from '../../infra/local/lambda/control-api.ts';
import { handleInvoke } from '../../infra/local/lambda/invoke-api.ts';
import { LambdaRuntime } from '../../infra/local/lambda/runtime.ts';

const root = path.resolve(import.meta.dirname, '../..');
const handlers = path.join(root, 'test/fixtures/local-cloud/handlers.ts');
const arn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

let server: Server;
let runtime: LambdaRuntime;
let lambda: LambdaClient;
let draws: number[] = [];

before(async () => {
  runtime = new LambdaRuntime({ sharedEnv: {}, output: 'silent' });
  for (const [name, exportName, timeoutSeconds] of [['describe', 'describeEnvironment', 10], ['sleepy', 'sleeper', 3], ['other', 'describeEnvironment', 10]] as const) {
    runtime.deploy({ logicalId: name, name, arn: arn(name), file: handlers, exportName, environment: { FIXTURE_NAME: 'v1' }, timeoutSeconds, memoryMb: 128 });
  }
  // Alias routes draw from this list (then 0.5): tests pick which version a call lands on.
  const control = new LambdaControlPlane(runtime, { random: () => draws.shift() ?? 0.5 });
  server = createServer((req, res) => {
    void (async () => {
      if (await control.handle(req, res)) return;
      if (await handleInvoke(runtime, req, res, () => {})) return;
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  lambda = new LambdaClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

after(async () => {
  lambda.destroy();
  await runtime.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const payloadOf = (output: { Payload?: Uint8Array }) => JSON.parse(Buffer.from(output.Payload ?? new Uint8Array()).toString('utf8'));

describe('local Lambda: reserved concurrency', () => {
  it('stores, reads and deletes reserved concurrency as the API answers it', async () => {
    assert.deepEqual((await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'describe' }))).ReservedConcurrentExecutions, undefined);
    const put = await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: arn('describe'), ReservedConcurrentExecutions: 7 }));
    assert.equal(put.ReservedConcurrentExecutions, 7);
    assert.equal((await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'describe' }))).ReservedConcurrentExecutions, 7);
    const deleted = await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'describe' }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    assert.equal((await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'describe' }))).ReservedConcurrentExecutions, undefined);
  });

  it('throttles every invocation at 0 (429 TooManyRequestsException) and serves again once deleted', async () => {
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'describe', ReservedConcurrentExecutions: 0 }));
    await assert.rejects(lambda.send(new InvokeCommand({ FunctionName: 'describe', Payload: Buffer.from('{}') })), (error: Error & { $metadata?: { httpStatusCode?: number }; Reason?: string }) => {
      assert.equal(error.name, 'TooManyRequestsException');
      assert.equal(error.$metadata?.httpStatusCode, 429);
      assert.equal(error.Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
      return true;
    });
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'describe' }));
    const output = await lambda.send(new InvokeCommand({ FunctionName: 'describe', Payload: Buffer.from('{"n":1}') }));
    assert.deepEqual(payloadOf(output).event, { n: 1 });
  });

  it('throttles the invocation beyond a reserved concurrency of 1 while one runs', async () => {
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'sleepy', ReservedConcurrentExecutions: 1 }));
    const first = lambda.send(new InvokeCommand({ FunctionName: 'sleepy', Payload: Buffer.from('{}') }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await assert.rejects(lambda.send(new InvokeCommand({ FunctionName: 'sleepy', Payload: Buffer.from('{}') })), { name: 'TooManyRequestsException' });
    // The first one runs into its 3 s timeout: a function error, not a throttle.
    assert.equal((await first).FunctionError, 'Unhandled');
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'sleepy' }));
  });

  it('refuses a reservation that leaves less than 100 of the account unreserved, and a negative one', async () => {
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'other', ReservedConcurrentExecutions: 850 }));
    await assert.rejects(lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'describe', ReservedConcurrentExecutions: 51 })), (error: Error) => {
      assert.equal(error.name, 'InvalidParameterValueException');
      assert.match(error.message, /UnreservedConcurrentExecution below its minimum value of \[100\]/);
      return true;
    });
    await assert.rejects(lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'describe', ReservedConcurrentExecutions: -1 })), { name: 'ValidationException' });
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'other' }));
  });

  it('answers ResourceNotFoundException (404) for an unknown function', async () => {
    await assert.rejects(lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'nope' })), (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(error.name, 'ResourceNotFoundException');
      assert.equal(error.$metadata?.httpStatusCode, 404);
      return true;
    });
  });
});

describe('local Lambda: versions and aliases', () => {
  it('publishes versions (none when nothing changed), routes an alias by its weights and validates routing as Lambda does', async () => {
    const v1 = await lambda.send(new PublishVersionCommand({ FunctionName: 'describe' }));
    assert.equal(v1.Version, '1');
    assert.equal(v1.FunctionArn, `${arn('describe')}:1`);
    assert.equal((await lambda.send(new PublishVersionCommand({ FunctionName: 'describe' }))).Version, '1');
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'describe', Environment: { Variables: { FIXTURE_NAME: 'v2' } } }));
    const v2 = await lambda.send(new PublishVersionCommand({ FunctionName: 'describe', Description: 'second' }));
    assert.equal(v2.Version, '2');
    assert.deepEqual((await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'describe' }))).Versions?.map((version) => version.Version), ['$LATEST', '1', '2']);

    const created = await lambda.send(new CreateAliasCommand({ FunctionName: 'describe', Name: 'live', FunctionVersion: '1' }));
    assert.equal(created.AliasArn, `${arn('describe')}:live`);
    const onV1 = await lambda.send(new InvokeCommand({ FunctionName: 'describe', Qualifier: 'live', Payload: Buffer.from('{}') }));
    assert.equal(onV1.ExecutedVersion, '1');
    assert.equal(payloadOf(onV1).fixtureName, 'v1');

    const shifted = await lambda.send(new UpdateAliasCommand({ FunctionName: 'describe', Name: 'live', RoutingConfig: { AdditionalVersionWeights: { '2': 0.25 } } }));
    assert.deepEqual(shifted.RoutingConfig?.AdditionalVersionWeights, { '2': 0.25 });
    draws = [0.1, 0.9];
    const low = await lambda.send(new InvokeCommand({ FunctionName: `${arn('describe')}:live`, Payload: Buffer.from('{}') }));
    const high = await lambda.send(new InvokeCommand({ FunctionName: `${arn('describe')}:live`, Payload: Buffer.from('{}') }));
    assert.deepEqual([low.ExecutedVersion, payloadOf(low).fixtureName, high.ExecutedVersion, payloadOf(high).fixtureName], ['2', 'v2', '1', 'v1']);

    const read = await lambda.send(new GetAliasCommand({ FunctionName: 'describe', Name: 'live' }));
    assert.equal(read.FunctionVersion, '1');
    await assert.rejects(lambda.send(new UpdateAliasCommand({ FunctionName: 'describe', Name: 'live', RevisionId: 'stale' })), { name: 'PreconditionFailedException' });
    await assert.rejects(lambda.send(new UpdateAliasCommand({ FunctionName: 'describe', Name: 'live', RoutingConfig: { AdditionalVersionWeights: { '2': 1.5 } } })), { name: 'ValidationException' });
    await assert.rejects(lambda.send(new UpdateAliasCommand({ FunctionName: 'describe', Name: 'live', RoutingConfig: { AdditionalVersionWeights: { '1': 0.5 } } })), { name: 'InvalidParameterValueException' });
    await assert.rejects(lambda.send(new UpdateAliasCommand({ FunctionName: 'describe', Name: 'live', FunctionVersion: '$LATEST' })), { name: 'InvalidParameterValueException' });
    await assert.rejects(lambda.send(new UpdateAliasCommand({ FunctionName: 'describe', Name: 'live', FunctionVersion: '9', RoutingConfig: { AdditionalVersionWeights: {} } })), { name: 'ResourceNotFoundException' });
    await assert.rejects(lambda.send(new CreateAliasCommand({ FunctionName: 'describe', Name: 'live', FunctionVersion: '1' })), { name: 'ResourceConflictException' });

    // Roll back: all traffic to version 1, no additional weights.
    const back = await lambda.send(new UpdateAliasCommand({ FunctionName: 'describe', Name: 'live', FunctionVersion: '1', RoutingConfig: { AdditionalVersionWeights: {} } }));
    assert.equal(back.RoutingConfig, undefined);
    draws = [0];
    assert.equal((await lambda.send(new InvokeCommand({ FunctionName: 'describe', Qualifier: 'live', Payload: Buffer.from('{}') }))).ExecutedVersion, '1');
  });
});
