/**
 * The local Step Functions service driven through the real `@aws-sdk/client-sfn` over HTTP.
 * `invokeTask` is a plain function: it is our port to the host, not a mock of an AWS client.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StartSyncExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { dispatchJson } from '../../infra/local/http/aws-json.ts';
import { StepFunctionsService, type TaskInvoker } from '../../infra/local/stepfunctions/service.ts';

const ACCOUNT = '123456789012';
const FN = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;

let counter = 0;
/** Fresh names per test so tests never see each other's state machines or executions. */
const fresh = (prefix: string) => `${prefix}-${process.pid}-${Date.now()}-${counter++}`;

/** Tokens delivered to the host, by execution ARN. */
const tokens = new Map<string, string>();
const flakyCalls = new Map<string, number>();

const invokeTask: TaskInvoker = async ({ resource, input, taskToken, executionArn }) => {
  if (taskToken) {
    tokens.set(executionArn, taskToken);
    return { delivered: true };
  }
  if (resource === FN('echo')) return { echoed: input };
  if (resource === FN('flaky')) {
    const n = (flakyCalls.get(executionArn) ?? 0) + 1;
    flakyCalls.set(executionArn, n);
    if (n === 1) throw Object.assign(new Error('throttled'), { name: 'Lambda.ServiceException' });
    return { attempt: n };
  }
  if (resource === FN('boom')) throw Object.assign(new Error('it broke'), { name: 'CustomError' });
  if (resource === 'arn:aws:states:::lambda:invoke') return { fromPayload: (input as { Payload: unknown }).Payload };
  throw Object.assign(new Error(`unknown resource ${resource}`), { name: 'States.TaskFailed' });
};

let dataDir: string;
let service: StepFunctionsService;
let server: Server;
let client: SFNClient;

function newService(): StepFunctionsService {
  return new StepFunctionsService({ dataDir, region: 'us-east-1', accountId: ACCOUNT, invokeTask });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function createMachine(definition: unknown, type?: 'EXPRESS'): Promise<string> {
  const out = await client.send(
    new CreateStateMachineCommand({ name: fresh('sm'), definition: JSON.stringify(definition), roleArn: `arn:aws:iam::${ACCOUNT}:role/r`, ...(type ? { type } : {}) }),
  );
  return out.stateMachineArn as string;
}

async function run(definition: unknown, input: unknown = {}): Promise<DescribeExecutionCommandOutput> {
  const stateMachineArn = await createMachine(definition);
  const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input), name: fresh('ex') }));
  return finished(executionArn as string);
}

function finished(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  return waitFor(async () => {
    const d = await client.send(new DescribeExecutionCommand({ executionArn }));
    return d.status === 'RUNNING' ? undefined : d;
  }, `execution ${executionArn} to finish`);
}

function waitToken(executionArn: string): Promise<string> {
  return waitFor(async () => tokens.get(executionArn), `task token of ${executionArn}`);
}

const approveState = (extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
  Parameters: { FunctionName: FN('approver'), Payload: { 'token.$': '$$.Task.Token', 'req.$': '$' } },
  ...extra,
});
const tokenMachine = (extra: Record<string, unknown> = {}) => ({
  StartAt: 'Approve',
  States: {
    Approve: { ...approveState(extra), End: true },
    ...('Catch' in extra ? { Rejected: { Type: 'Pass', Result: 'rejected', End: true } } : {}),
  },
});

describe('local Step Functions service over the AWS JSON protocol', () => {
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sfn-test-'));
    service = newService();
    await service.start();
    server = createServer((req, res) => {
      void dispatchJson(req, res, 'AWSStepFunctions', service.operations()).then((handled) => {
        if (!handled) {
          res.writeHead(404);
          res.end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new SFNClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      disableHostPrefix: true, // StartSyncExecution would otherwise call sync-127.0.0.1
    });
  });

  after(async () => {
    client.destroy();
    await service.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a Task (Lambda ARN and lambda:invoke with the AWS response wrapper)', async () => {
    const d = await run(
      {
        StartAt: 'Echo',
        States: {
          Echo: { Type: 'Task', Resource: FN('echo'), ResultPath: '$.echo', Next: 'Invoke' },
          Invoke: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: FN('x'), 'Payload.$': '$.n' }, ResultSelector: { 'p.$': '$.Payload', 's.$': '$.StatusCode' }, ResultPath: '$.inv', End: true },
        },
      },
      { n: 7 },
    );
    assert.equal(d.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(d.output as string), { n: 7, echo: { echoed: { n: 7 } }, inv: { p: { fromPayload: 7 }, s: 200 } });
    assert.ok(d.startDate instanceof Date && d.stopDate instanceof Date);
  });

  it('retries a failed task, then succeeds', async () => {
    const d = await run({
      StartAt: 'Flaky',
      States: { Flaky: { Type: 'Task', Resource: FN('flaky'), Retry: [{ ErrorEquals: ['Lambda.ServiceException'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1 }], End: true } },
    });
    assert.equal(d.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(d.output as string), { attempt: 2 });
  });

  it('catches a task error by name with Error and Cause', async () => {
    const d = await run({
      StartAt: 'Boom',
      States: {
        Boom: { Type: 'Task', Resource: FN('boom'), Catch: [{ ErrorEquals: ['CustomError'], ResultPath: '$.err', Next: 'Handled' }], End: true },
        Handled: { Type: 'Pass', End: true },
      },
    });
    assert.equal(d.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(d.output as string), { err: { Error: 'CustomError', Cause: 'it broke' } });
  });

  it('fails the execution with the task error when nothing catches it', async () => {
    const d = await run({ StartAt: 'Boom', States: { Boom: { Type: 'Task', Resource: FN('boom'), End: true } } });
    assert.equal(d.status, 'FAILED');
    assert.equal(d.error, 'CustomError');
    assert.equal(d.cause, 'it broke');
  });

  it('chooses, runs Parallel and Map, and waits', async () => {
    const d = await run(
      {
        StartAt: 'Pick',
        States: {
          Pick: { Type: 'Choice', Choices: [{ Variable: '$.kind', StringEquals: 'many', Next: 'Both' }], Default: 'Nope' },
          Nope: { Type: 'Fail', Error: 'Wrong' },
          Both: {
            Type: 'Parallel',
            Branches: [
              { StartAt: 'Sq', States: { Sq: { Type: 'Map', ItemsPath: '$.items', ItemSelector: { 'v.$': '$$.Map.Item.Value', 'i.$': '$$.Map.Item.Index' }, ItemProcessor: { StartAt: 'E', States: { E: { Type: 'Task', Resource: FN('echo'), End: true } } }, End: true } } },
              { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 1, Next: 'Sum' }, Sum: { Type: 'Pass', Parameters: { 'sum.$': 'States.MathAdd($.items[0], $.items[1])' }, End: true } } },
            ],
            End: true,
          },
        },
      },
      { kind: 'many', items: [1.4, 2.6] },
    );
    assert.equal(d.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(d.output as string), [
      [{ echoed: { v: 1.4, i: 0 } }, { echoed: { v: 2.6, i: 1 } }],
      { sum: 4 },
    ]);
  });

  it('waits for a task token and resumes on SendTaskSuccess', async () => {
    const stateMachineArn = await createMachine(tokenMachine());
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, name: fresh('ex'), input: '{"id":1}' }));
    const token = await waitToken(executionArn as string);
    assert.equal((await client.send(new DescribeExecutionCommand({ executionArn }))).status, 'RUNNING');
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"approved":true}' }));
    const d = await finished(executionArn as string);
    assert.equal(d.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(d.output as string), { approved: true });
    await assert.rejects(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })), { name: 'TaskDoesNotExist' });
    await assert.rejects(client.send(new SendTaskSuccessCommand({ taskToken: 'garbage', output: '{}' })), { name: 'InvalidToken' });
  });

  it('takes the Catch branch on SendTaskFailure', async () => {
    const stateMachineArn = await createMachine(tokenMachine({ Catch: [{ ErrorEquals: ['Rejected'], Next: 'Rejected' }] }));
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, name: fresh('ex') }));
    const token = await waitToken(executionArn as string);
    await client.send(new SendTaskFailureCommand({ taskToken: token, error: 'Rejected', cause: 'no' }));
    const d = await finished(executionArn as string);
    assert.equal(d.status, 'SUCCEEDED');
    assert.equal(JSON.parse(d.output as string), 'rejected');
  });

  it('times out a task token wait with States.Timeout', async () => {
    const stateMachineArn = await createMachine(tokenMachine({ TimeoutSeconds: 1 }));
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, name: fresh('ex') }));
    const token = await waitToken(executionArn as string);
    const d = await finished(executionArn as string);
    assert.equal(d.status, 'FAILED');
    assert.equal(d.error, 'States.Timeout');
    await assert.rejects(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })), { name: 'TaskDoesNotExist' });
  });

  it('stops an execution', async () => {
    const stateMachineArn = await createMachine(tokenMachine());
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, name: fresh('ex') }));
    const token = await waitToken(executionArn as string);
    await client.send(new StopExecutionCommand({ executionArn, error: 'Manual', cause: 'test' }));
    const d = await client.send(new DescribeExecutionCommand({ executionArn }));
    assert.equal(d.status, 'ABORTED');
    await assert.rejects(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })), { name: 'TaskDoesNotExist' });
    const list = await client.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'ABORTED' }));
    assert.deepEqual(list.executions?.map((e) => e.executionArn), [executionArn]);
  });

  it('records an AWS-shaped history', async () => {
    const d = await run({ StartAt: 'P', States: { P: { Type: 'Pass', Next: 'T' }, T: { Type: 'Task', Resource: FN('echo'), End: true } } }, { a: 1 });
    const h = await client.send(new GetExecutionHistoryCommand({ executionArn: d.executionArn }));
    const events = h.events ?? [];
    assert.deepEqual(
      events.map((e) => e.type),
      ['ExecutionStarted', 'PassStateEntered', 'PassStateExited', 'TaskStateEntered', 'LambdaFunctionScheduled', 'LambdaFunctionStarted', 'LambdaFunctionSucceeded', 'TaskStateExited', 'ExecutionSucceeded'],
    );
    assert.deepEqual(events.map((e) => e.id), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(events[0]?.executionStartedEventDetails?.input, '{"a":1}');
    assert.equal(events[1]?.stateEnteredEventDetails?.name, 'P');
    assert.ok(events[0]?.timestamp instanceof Date);
    const reversed = await client.send(new GetExecutionHistoryCommand({ executionArn: d.executionArn, reverseOrder: true, maxResults: 2 }));
    assert.deepEqual(reversed.events?.map((e) => e.type), ['ExecutionSucceeded', 'TaskStateExited']);
    const next = await client.send(new GetExecutionHistoryCommand({ executionArn: d.executionArn, reverseOrder: true, maxResults: 2, nextToken: reversed.nextToken }));
    assert.deepEqual(next.events?.map((e) => e.id), [7, 6]);
  });

  it('refuses JSONata and reports invalid definitions', async () => {
    await assert.rejects(createMachine({ QueryLanguage: 'JSONata', StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }), { name: 'InvalidDefinition' });
    await assert.rejects(createMachine({ StartAt: 'A', States: { A: { Type: 'Pass', Assign: { x: 1 }, End: true } } }), { name: 'InvalidDefinition' });
    await assert.rejects(createMachine({ StartAt: 'Missing', States: { A: { Type: 'Pass', End: true } } }), { name: 'InvalidDefinition' });
  });

  it('rejects a duplicate execution name with different input', async () => {
    const stateMachineArn = await createMachine(tokenMachine());
    const name = fresh('ex');
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, name, input: '{"a":1}' }));
    await assert.rejects(client.send(new StartExecutionCommand({ stateMachineArn, name, input: '{"a":2}' })), { name: 'ExecutionAlreadyExists' });
    await client.send(new StopExecutionCommand({ executionArn }));
  });

  it('runs EXPRESS machines synchronously', async () => {
    const stateMachineArn = await createMachine({ StartAt: 'P', States: { P: { Type: 'Pass', Result: { ok: true }, End: true } } }, 'EXPRESS');
    const out = await client.send(new StartSyncExecutionCommand({ stateMachineArn, input: '{}' }));
    assert.equal(out.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(out.output as string), { ok: true });
  });

  it('survives a restart while waiting for a task token and for a Wait state', async () => {
    const stateMachineArn = await createMachine({
      StartAt: 'Before',
      States: {
        Before: { Type: 'Task', Resource: FN('echo'), ResultPath: '$.before', Next: 'Approve' },
        Approve: approveState({ ResultPath: '$.approval', Next: 'Pause' }),
        Pause: { Type: 'Wait', Seconds: 1, End: true },
      },
    });
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, name: fresh('ex'), input: '{"id":9}' }));
    const token = await waitToken(executionArn as string);

    await service.stop();
    service = newService();
    await service.start();

    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"ok":1}' }));
    const d = await finished(executionArn as string);
    assert.equal(d.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(d.output as string), { id: 9, before: { echoed: { id: 9 } }, approval: { ok: 1 } });
    const h = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    const types = (h.events ?? []).map((e) => e.type);
    assert.equal(types.filter((t) => t === 'LambdaFunctionScheduled').length, 1, 'the first task is replayed, not re-invoked');
    assert.equal(types.filter((t) => t === 'TaskSubmitted').length, 1);
    assert.deepEqual(types.slice(-3), ['WaitStateEntered', 'WaitStateExited', 'ExecutionSucceeded']);
  });
});
