/**
 * The local cloud as a product of its own, on a fixture stack: Lambda environments and errors,
 * SQS partial batches and redrive, EventBridge rules to queues and state machines, the callback
 * pattern, the HTTP API event shape, and data surviving a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import { freePorts } from '../../infra/local/ports.ts';
import type { CfnTemplate } from '../../infra/local/template.ts';
import { eventually } from '../helpers/local-cloud.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const templatePath = path.join(root, 'test', 'fixtures', 'local-cloud', 'template.json');

let cloud: LocalCloud;
let dataDir: string;
let template: CfnTemplate;

function clients(target: LocalCloud) {
  const base = { region: target.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  return {
    lambda: new LambdaClient({ ...base, endpoint: target.env.AWS_ENDPOINT_URL_LAMBDA }),
    sqs: new SQSClient({ ...base, endpoint: target.env.AWS_ENDPOINT_URL_SQS, useQueueUrlAsEndpoint: false }),
    events: new EventBridgeClient({ ...base, endpoint: target.env.AWS_ENDPOINT_URL_EVENTBRIDGE }),
    sfn: new SFNClient({ ...base, endpoint: target.env.AWS_ENDPOINT_URL_SFN }),
    dynamo: new DynamoDBClient({ ...base, endpoint: target.env.AWS_ENDPOINT_URL_DYNAMODB }),
  };
}

async function boot(): Promise<LocalCloud> {
  return startLocalCloud({ root, dataDir, ports: await freePorts(), template, stage: 'fixture', functionOutput: 'silent', log: () => {} });
}

const decode = (payload: Uint8Array | undefined) => JSON.parse(Buffer.from(payload ?? []).toString('utf8'));

describe('local cloud (fixture stack)', () => {
  before(async () => {
    template = JSON.parse(await readFile(templatePath, 'utf8')) as CfnTemplate;
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-fixture-'));
    cloud = await boot();
  });

  after(async () => {
    await cloud?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('gives each function the environment it is deployed with, plus the local endpoints', async () => {
    const { lambda } = clients(cloud);
    const a = decode((await lambda.send(new InvokeCommand({ FunctionName: 'fixture-describe-a', Payload: JSON.stringify({ n: 1 }) }))).Payload);
    const b = decode((await lambda.send(new InvokeCommand({ FunctionName: 'fixture-describe-b', Payload: '{}' }))).Payload);
    assert.equal(a.fixtureName, 'a');
    assert.equal(a.table, 'fixture-table');
    assert.equal(b.fixtureName, 'b');
    assert.equal(b.table, undefined);
    assert.equal(a.sqsEndpoint, cloud.env.AWS_ENDPOINT_URL_SQS);
    assert.deepEqual(a.event, { n: 1 });
  });

  it('reports a function error as Lambda does: 200 with X-Amz-Function-Error and the error type', async () => {
    const { lambda } = clients(cloud);
    const reply = await lambda.send(new InvokeCommand({ FunctionName: 'fixture-thrower', Payload: '{}' }));
    assert.equal(reply.FunctionError, 'Unhandled');
    const body = decode(reply.Payload);
    assert.equal(body.errorType, 'WidgetError');
    assert.equal(body.errorMessage, 'the widget is broken');
  });

  it('ends a function that runs past its timeout', async () => {
    const { lambda } = clients(cloud);
    const reply = await lambda.send(new InvokeCommand({ FunctionName: 'fixture-sleeper', Payload: '{}' }));
    assert.equal(reply.FunctionError, 'Unhandled');
    assert.match(decode(reply.Payload).errorMessage, /Task timed out after 1\.00 seconds/);
  });

  it('runs a cold start\'s init outside the timeout, as Lambda does: a 1.5 s module load under a 1 s timeout succeeds', async () => {
    const { lambda } = clients(cloud);
    const invokedAt = Date.now();
    const reply = await lambda.send(new InvokeCommand({ FunctionName: 'fixture-slow-init', Payload: '{}' }));
    const body = decode(reply.Payload);
    assert.equal(reply.FunctionError, undefined, JSON.stringify(body));
    assert.equal(body.initialized, true);
    assert.ok(body.loadedAt - invokedAt >= 1000, 'the module was still loading when the invocation arrived');
  });

  it('answers ResourceNotFoundException for an unknown function', async () => {
    const { lambda } = clients(cloud);
    await assert.rejects(lambda.send(new InvokeCommand({ FunctionName: 'nope' })), { name: 'ResourceNotFoundException' });
  });

  it('keeps only the reported failures of a batch, and redrives them to the DLQ after maxReceiveCount', async () => {
    const { sqs } = clients(cloud);
    const work = cloud.resources.queues.WorkQueue?.url ?? '';
    const dlq = cloud.resources.queues.WorkDeadLetterQueue?.url ?? '';
    await sqs.send(new SendMessageBatchCommand({
      QueueUrl: work,
      Entries: [
        { Id: 'good1', MessageBody: 'fine-1' },
        { Id: 'bad', MessageBody: 'poison-pill' },
        { Id: 'good2', MessageBody: 'fine-2' },
      ],
    }));
    const deadLettered = await eventually('the poison record in the DLQ', async () => {
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      return received.Messages?.length ? received.Messages : undefined;
    }, 20_000);
    assert.deepEqual(deadLettered.map((message) => message.Body), ['poison-pill']);
  });

  it('routes a matching bus event to a queue and a state machine, and not a non-matching one', async () => {
    const { events, sqs } = clients(cloud);
    const queue = cloud.resources.queues.RuleQueue?.url ?? '';
    const put = await events.send(new PutEventsCommand({
      Entries: [
        { EventBusName: 'fixture-bus', Source: 'fixture.orders', DetailType: 'order.placed', Detail: JSON.stringify({ amount: 50, key: 'small' }) },
        { EventBusName: 'fixture-bus', Source: 'fixture.orders', DetailType: 'order.placed', Detail: JSON.stringify({ amount: 500, key: 'rule-big' }) },
      ],
    }));
    assert.equal(put.FailedEntryCount, 0);
    const message = await eventually('the big order on the rule queue', async () => {
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      return received.Messages?.[0];
    });
    const envelope = JSON.parse(message.Body ?? '{}');
    assert.equal(envelope['detail-type'], 'order.placed');
    assert.equal(envelope.detail.amount, 500);
    assert.equal(envelope.source, 'fixture.orders');
    const { dynamo } = clients(cloud);
    const token = await eventually('the state machine started by the rule to store its token', async () => {
      const item = await dynamo.send(new GetItemCommand({ TableName: 'fixture-table', Key: { pk: { S: 'rule-big' } }, ConsistentRead: true }));
      return item.Item?.token?.S;
    });
    assert.ok(token.length > 0);
  });

  it('reports entry-level failures for a malformed event and keeps the good ones', async () => {
    const { events } = clients(cloud);
    const put = await events.send(new PutEventsCommand({
      Entries: [
        { EventBusName: 'fixture-bus', Source: 'fixture.orders', DetailType: 'x', Detail: '{not json' },
        { EventBusName: 'fixture-bus', Source: 'fixture.orders', DetailType: 'x', Detail: '{}' },
      ],
    }));
    assert.equal(put.FailedEntryCount, 1);
    assert.equal(put.Entries?.[0]?.ErrorCode, 'MalformedDetail');
    assert.ok(put.Entries?.[1]?.EventId);
  });

  it('serves HTTP API routes with the payload v2 event shape', async () => {
    const reply = await fetch(`${cloud.apiUrl}/things/t-42?x=1&x=2`, { headers: { 'x-custom': 'yes' } });
    assert.equal(reply.status, 200);
    const body = (await reply.json()) as { event: Record<string, unknown> & { requestContext: { http: { method: string } } } };
    assert.equal(body.event.version, '2.0');
    assert.equal(body.event.routeKey, 'GET /things/{id}');
    assert.deepEqual(body.event.pathParameters, { id: 't-42' });
    assert.deepEqual(body.event.queryStringParameters, { x: '1,2' });
    assert.equal((body.event.headers as Record<string, string>)['x-custom'], 'yes');
    assert.equal(body.event.requestContext.http.method, 'GET');
    const missing = await fetch(`${cloud.apiUrl}/nothing-here`);
    assert.equal(missing.status, 404);
  });

  it('keeps data, queued messages and a waiting execution across a restart', async () => {
    const before = clients(cloud);
    await before.dynamo.send(new PutItemCommand({ TableName: 'fixture-table', Item: { pk: { S: 'survivor' } } }));
    const started = await before.sfn.send(new StartExecutionCommand({ stateMachineArn: cloud.resources.stateMachines.EchoMachine, input: JSON.stringify({ key: 'restart-token' }) }));
    const token = await eventually('the waiting execution to store its token', async () => {
      const item = await before.dynamo.send(new GetItemCommand({ TableName: 'fixture-table', Key: { pk: { S: 'restart-token' } }, ConsistentRead: true }));
      return item.Item?.token?.S;
    });
    await cloud.stop();
    cloud = await boot();
    const afterRestart = clients(cloud);
    const item = await afterRestart.dynamo.send(new GetItemCommand({ TableName: 'fixture-table', Key: { pk: { S: 'survivor' } } }));
    assert.equal(item.Item?.pk?.S, 'survivor');
    await afterRestart.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved: true }) }));
    const done = await eventually('the resumed execution to succeed', async () => {
      const described = await afterRestart.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
      return described.status === 'RUNNING' ? undefined : described;
    });
    assert.equal(done.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(done.output ?? '{}').callback, { approved: true });
  });
});
