/**
 * Faults, on a local cloud of this file's own (own ports, own data dir, started once and restarted
 * once): a function killed mid-batch, duplicated and reordered deliveries to the audit and the
 * observation ingest queues, poison messages parked in each dead-letter queue after the queue's
 * `maxReceiveCount` and moved back by `npm run redrive`, and an execution waiting for approval
 * across a restart of the whole local cloud. Nothing acknowledged is lost, nothing is applied twice,
 * every ledger chain verifies.
 *
 * The cloud deploys the packaged `local` stage as is, except that the two consumer queues'
 * visibility timeout is 2 s instead of 180 s, so that a failed batch comes back (and poison reaches
 * its DLQ after five receives) within the test's budget rather than in 15 minutes, and that its
 * schedules are off (not under test; they would only add load and messages). The S3/SQS
 * emulator (fauxqs) runs inside the cloud's process, so it cannot die alone: it stops and restarts
 * with the cloud (the restart test), and what it holds (payloads, queued messages) must survive that.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type LocalCloud, type LocalCloudPorts, startLocalCloud } from '../../infra/local/cloud.ts';
import { loadOrCreateIdpKey, signLocalToken } from '../../infra/local/idp.ts';
import { freePorts } from '../../infra/local/ports.ts';
import { type CfnTemplate, packageStacks } from '../../infra/local/template.ts';
import type { Role } from '../../lib/auth/roles.ts';
import { eventually, freshTenant } from '../helpers/local-cloud.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const VISIBILITY_SECONDS = 2;
const MAX_RECEIVE_COUNT = 5;

let cloud: LocalCloud;
let ports: LocalCloudPorts;
let dataDir = '';
let template: CfnTemplate;
let templateFiles: Record<string, CfnTemplate> = {};
const cloudLog: string[] = [];

/**
 * The packaged stage with a short visibility timeout on every queue that has a dead-letter queue, and
 * its schedules off: the scheduled jobs (heartbeat, checkpoints, compliance) are not under test here,
 * and would only add load and unrelated messages to the audit queue.
 */
function forFaults(packaged: CfnTemplate): CfnTemplate {
  const copy = structuredClone(packaged);
  for (const resource of Object.values(copy.Resources)) {
    if (resource.Type === 'AWS::SQS::Queue' && resource.Properties?.RedrivePolicy) resource.Properties.VisibilityTimeout = VISIBILITY_SECONDS;
    if (resource.Type === 'AWS::Events::Rule' && resource.Properties?.ScheduleExpression) resource.Properties.State = 'DISABLED';
  }
  return copy;
}

let sdk: ReturnType<typeof sdkClients> | undefined;

function sdkClients(target: LocalCloud) {
  const base = { region: target.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  return {
    sqs: new SQSClient({ ...base, endpoint: target.env.AWS_ENDPOINT_URL_SQS, useQueueUrlAsEndpoint: false }),
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ ...base, endpoint: target.env.AWS_ENDPOINT_URL_DYNAMODB })),
    sfn: new SFNClient({ ...base, endpoint: target.env.AWS_ENDPOINT_URL_SFN }),
  };
}

/** SDK clients of the running cloud. */
function clients(): ReturnType<typeof sdkClients> {
  sdk ??= sdkClients(cloud);
  return sdk;
}

/** Starts the cloud on this file's ports and data dir (the same ones on a restart). */
async function boot(): Promise<LocalCloud> {
  // What the functions print joins the suite's captured output when npm test collects it (it is scanned for secrets).
  const functionLog = process.env.AUTONOMY_TEST_FUNCTION_LOG;
  return startLocalCloud({ root, dataDir, ports, template, templateFiles, stage: 'local', functionOutput: functionLog ? { file: functionLog } : 'silent', log: (line) => cloudLog.push(line) });
}

/** Stops the cloud and the clients that talked to it. */
async function shutDown(): Promise<void> {
  if (sdk) for (const client of [sdk.sqs, sdk.dynamo, sdk.sfn]) client.destroy();
  sdk = undefined;
  await cloud?.stop();
}

const queue = (logicalId: string) => {
  const found = cloud.resources.queues[logicalId];
  assert.ok(found, `queue ${logicalId} is deployed`);
  return found;
};

/** Calls this cloud's API with a token from its identity provider. */
// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON a route replies
async function call(method: string, pathAndQuery: string, as: { tenant: string; roles: Role[]; subject?: string }, body?: unknown): Promise<{ status: number; body: any; text: string }> {
  const token = await signLocalToken(await loadOrCreateIdpKey(dataDir), as);
  const response = await fetch(`${cloud.apiUrl}${pathAndQuery}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed, text };
}

/** A bus event as the audit rule puts it on the audit queue. */
function busEnvelope(tenant: string, engine: string, detail: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': `${engine}.thing.happened`,
    source: `autonomy.${engine}`,
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: { tenant, ...detail },
  };
}

async function ledgerCount(tenant: string, stream: string): Promise<number> {
  const output = await clients().dynamo.send(
    new QueryCommand({
      TableName: cloud.resources.tables.LedgerTable,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `${tenant}#${stream}` },
      Select: 'COUNT',
      ConsistentRead: true,
    }),
  );
  return output.Count ?? 0;
}

/** A bus event as the ledger holds it (the payload auditAppend stores). */
interface LedgerEvent {
  eventId: string;
  detailType: string;
  detail: Record<string, unknown>;
}

/** The bus events in a tenant's stream, in seq order, read as the tenant reads them (GET /audit/export). */
async function exportedEvents(tenant: string, stream: string): Promise<LedgerEvent[]> {
  const reply = await call('GET', `/audit/export?stream=${stream}`, { tenant, roles: ['viewer'] });
  if (reply.status === 404) return [];
  assert.equal(reply.status, 200, reply.text);
  return reply.text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { type: string; payload?: LedgerEvent })
    .flatMap((line) => (line.type === 'entry' && line.payload ? [line.payload] : []));
}

async function verified(tenant: string, stream: string): Promise<{ intact: boolean; entries: number }> {
  const reply = await call('GET', `/audit/verify?stream=${stream}`, { tenant, roles: ['viewer'] });
  assert.equal(reply.status, 200, reply.text);
  return reply.body.result;
}

async function depth(url: string): Promise<{ visible: number; inFlight: number }> {
  const output = await clients().sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(output.Attributes?.ApproximateNumberOfMessages), inFlight: Number(output.Attributes?.ApproximateNumberOfMessagesNotVisible) };
}

async function drained(logicalId: string, timeoutMs = 20_000): Promise<void> {
  await eventually(`${logicalId} to drain`, async () => {
    const { visible, inFlight } = await depth(queue(logicalId).url);
    return visible === 0 && inFlight === 0 ? true : undefined;
  }, timeoutMs);
}

async function send(logicalId: string, bodies: string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    const output = await clients().sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue(logicalId).url,
        Entries: bodies.slice(start, start + 10).map((body, index) => ({ Id: `m${start + index}`, MessageBody: body })),
      }),
    );
    assert.equal(output.Failed?.length ?? 0, 0, JSON.stringify(output.Failed));
  }
}

/** Runs the redrive command as `npm run redrive` runs it, against this cloud. */
async function redrive(argument: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const packageJson = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [command, ...args] = (packageJson.scripts.redrive ?? '').split(' ');
  assert.equal(command, 'node', 'npm run redrive runs a node script');
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AWS_ENDPOINT_URL_SQS: cloud.env.AWS_ENDPOINT_URL_SQS ?? '' };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...args, argument], { cwd: root, env, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('faults on a local cloud of its own', () => {
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-faults-'));
    // Packaged (or found current) under the lock `npm test` and `npm start` share; then the files as written.
    const packaged = path.join(root, '.local', 'package', 'local');
    await packageStacks(root, 'local', packaged);
    const read = async (file: string) => JSON.parse(await readFile(path.join(packaged, file), 'utf8')) as CfnTemplate;
    template = forFaults(await read('cloudformation-template-update-stack.json'));
    const nested = (await readdir(packaged)).filter((file) => /^cloudformation-template-engine-.+\.json$/.test(file));
    templateFiles = Object.fromEntries(await Promise.all(nested.map(async (file) => [file, forFaults(await read(file))] as const)));
    ports = await freePorts();
    cloud = await boot();
  });

  let logFrom = 0;
  beforeEach(() => {
    logFrom = cloudLog.length;
  });
  // What the cloud said (function errors, failed batches) while a failed test ran.
  afterEach((t) => {
    if (!t.passed) t.diagnostic(`local cloud log:\n${cloudLog.slice(logFrom).slice(-40).join('\n')}`);
  });

  after(async () => {
    await shutDown();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('appends duplicated and reordered bus events once each, and the chain verifies', { timeout: 40_000 }, async () => {
    const tenant = freshTenant('faults');
    const events = Array.from({ length: 8 }, () => busEnvelope(tenant, 'faults'));
    const body = (index: number) => JSON.stringify(events[index]);
    // Newest first, with repeats inside and across batches.
    await send('AuditQueue', [7, 6, 5, 4, 3, 2, 1, 0, 3, 5].map(body));
    await send('AuditQueue', [0, 7, 1, 1].map(body));
    await eventually('all eight events in the ledger', async () => ((await ledgerCount(tenant, 'events.faults')) >= 8 ? true : undefined), 20_000);
    // Late redeliveries, after the first copies were applied and acknowledged.
    await send('AuditQueue', [2, 4, 6].map(body));
    await drained('AuditQueue');
    const ids = (await exportedEvents(tenant, 'events.faults')).map((event) => event.eventId);
    assert.equal(ids.length, 8, `8 events in 17 deliveries, 8 entries: ${ids.join(', ')}`);
    assert.deepEqual([...ids].sort(), events.map((event) => event.id).sort());
    const chain = await verified(tenant, 'events.faults');
    assert.deepEqual([chain.intact, chain.entries], [true, 8]);
  });

  it('applies duplicated and reordered ingest messages once: each point counted once, one anomaly in the ledger', { timeout: 60_000 }, async () => {
    const tenant = freshTenant('faults');
    const series = 'faults.rps';
    const T0 = Date.parse('2026-01-01T00:00:00.000Z');
    const at = (i: number) => new Date(T0 + i * 60_000).toISOString();
    const point = (i: number, value = 100 + (i % 5) - 2) => ({ series, timestamp: at(i), value });
    // 70 steady points newest first (past the default detector's warm-up, 60), a spike, then 4 more newest first.
    const warm = JSON.stringify({ tenant, points: Array.from({ length: 70 }, (_, k) => point(69 - k)) });
    const spike = JSON.stringify({ tenant, ...point(70, 1000) });
    const tail = JSON.stringify({ tenant, points: [74, 73, 72, 71].map((i) => point(i)) });
    const count = async () => (await call('GET', `/observation/status?series=${series}`, { tenant, roles: ['viewer'] })).body?.result?.summary?.count;
    const counted = (expected: number) => eventually(`${expected} points applied`, async () => ((await count()) === expected ? true : undefined), 20_000);

    await send('ObservationIngestQueue', [warm, warm]);
    await counted(70);
    // Copies of one point in one batch race each other: one applies it, the others find it applied.
    await send('ObservationIngestQueue', [spike, spike, warm, spike, spike]);
    await counted(71);
    await send('ObservationIngestQueue', [tail, spike, tail]);
    await counted(75);
    await drained('ObservationIngestQueue');
    await eventually('the anomaly in the ledger', async () => ((await exportedEvents(tenant, 'events.observation')).some((event) => event.detailType === 'observation.anomaly.detected') ? true : undefined), 20_000);
    await drained('AuditQueue');

    assert.equal(await count(), 75, '75 points in 11 deliveries, each applied once');
    const anomalies = async () => (await exportedEvents(tenant, 'events.observation')).filter((event) => event.detailType === 'observation.anomaly.detected');
    const [recorded] = await anomalies();
    assert.deepEqual((await anomalies()).map((event) => event.detail.timestamp), [at(70)], 'the spike, delivered five times, is one anomaly in the ledger');

    // What a second writer does when it finds the anomaly still in the series' outbox: publish it
    // again, a new event (new id) with the same detail. The audit rule queues each copy; the ledger keeps one entry.
    const copy = () => JSON.stringify({ ...busEnvelope(tenant, 'observation'), 'detail-type': 'observation.anomaly.detected', detail: recorded?.detail });
    await send('AuditQueue', [copy(), copy()]);
    await drained('AuditQueue');
    assert.equal((await anomalies()).length, 1, 'an outbox event published three times is one ledger entry');
    assert.equal((await verified(tenant, 'events.observation')).intact, true);
  });

  it('appends each event of a batch exactly once when the function is killed after writing part of it', { timeout: 60_000 }, async () => {
    const fn = cloud.resources.functions.AuditAppendLambdaFunction ?? '';
    const tenant = freshTenant('faults');
    const events = Array.from({ length: 10 }, () => busEnvelope(tenant, 'faults'));
    const logStart = cloudLog.length;
    await send('AuditQueue', events.map((event) => JSON.stringify(event)));

    // Ten appends to one stream contend for its head, so the batch is written one entry at a time:
    // end the function's environment once some, not all, are in the ledger.
    const cut = await eventually('the batch caught part-written, and killed', async () => {
      const written = await ledgerCount(tenant, 'events.faults');
      assert.ok(written < events.length, 'the batch finished before it could be killed');
      if (written === 0 || cloud.lambda.running(fn) === 0) return undefined;
      const killed = cloud.lambda.terminate(fn);
      return killed > 0 ? { written, killed } : undefined;
    }, 20_000, 2);
    assert.ok(cut.written >= 1 && cut.written < events.length);

    await eventually('every event in the ledger', async () => ((await ledgerCount(tenant, 'events.faults')) >= events.length ? true : undefined), 30_000);
    await drained('AuditQueue', 30_000);
    assert.match(cloudLog.slice(logStart).join('\n'), /batch of \d+ failed \(Runtime\.ExitError\); records return after the visibility timeout/);
    const ids = (await exportedEvents(tenant, 'events.faults')).map((event) => event.eventId);
    assert.equal(ids.length, events.length, `${cut.written} written before the kill, all ${events.length} redelivered, each appended once`);
    assert.deepEqual([...ids].sort(), events.map((event) => event.id).sort());
    const chain = await verified(tenant, 'events.faults');
    assert.deepEqual([chain.intact, chain.entries], [true, events.length]);
    assert.deepEqual(await depth(queue('AuditDeadLetterQueue').url), { visible: 0, inFlight: 0 });
  });

  it("parks poison in each queue's DLQ after maxReceiveCount receives, and `npm run redrive` moves it back", { timeout: 90_000 }, async () => {
    const { sqs } = clients();
    const pairs = [
      { source: 'AuditQueue', dlq: 'AuditDeadLetterQueue', name: 'autonomy-local-audit' },
      { source: 'ObservationIngestQueue', dlq: 'ObservationIngestDeadLetterQueue', name: 'autonomy-local-observation-ingest' },
    ] as const;
    for (const pair of pairs) {
      const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue(pair.source).url, AttributeNames: ['RedrivePolicy'] }));
      const policy = JSON.parse(attributes.Attributes?.RedrivePolicy ?? '{}');
      assert.deepEqual([policy.deadLetterTargetArn, Number(policy.maxReceiveCount)], [queue(pair.dlq).arn, MAX_RECEIVE_COUNT]);
      assert.deepEqual(await depth(queue(pair.dlq).url), { visible: 0, inFlight: 0 });
    }
    // Naming the DLQ itself finds its queue; an empty DLQ is nothing to do; an unknown queue is a usage error.
    const [nothing, unknown] = await Promise.all([redrive('audit-dlq'), redrive('no-such-queue')]);
    assert.equal(nothing.code, 0, nothing.stdout + nothing.stderr);
    assert.match(nothing.stdout, /autonomy-local-audit-dlq → autonomy-local-audit \(maxReceiveCount 5\): 0 waiting/);
    assert.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
    assert.match(unknown.stderr, /No queue named autonomy-local-no-such-queue/);

    const tenant = freshTenant('faults');
    const good = busEnvelope(tenant, 'faults');
    const poison = {
      AuditQueue: ['{"id": not json', JSON.stringify({ version: '0', id: randomUUID(), source: 'autonomy.faults' })],
      ObservationIngestQueue: ['not json at all', JSON.stringify({ points: [{ series: 'faults.x', timestamp: new Date().toISOString(), value: 1 }] })],
    };
    const sentAt = Date.now();
    await send('AuditQueue', [poison.AuditQueue[0] ?? '', JSON.stringify(good), poison.AuditQueue[1] ?? '']);
    await send('ObservationIngestQueue', [poison.ObservationIngestQueue[0] ?? '', JSON.stringify({ tenant, series: 'faults.ok', timestamp: new Date().toISOString(), value: 1 }), poison.ObservationIngestQueue[1] ?? '']);

    await Promise.all(pairs.map((pair) => eventually(`poison in ${pair.dlq}`, async () => ((await depth(queue(pair.dlq).url)).visible === 2 ? true : undefined), 60_000)));
    const parkedAfterMs = Date.now() - sentAt;
    assert.ok(parkedAfterMs >= (MAX_RECEIVE_COUNT - 1) * VISIBILITY_SECONDS * 1000, `parked after ${parkedAfterMs} ms: not before ${MAX_RECEIVE_COUNT} receives`);
    for (const pair of pairs) {
      await drained(pair.source);
      // A look that leaves them visible (visibility 0), so the redrive finds them.
      const peeked = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue(pair.dlq).url, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
      assert.deepEqual((peeked.Messages ?? []).map((message) => message.Body).sort(), [...poison[pair.source]].sort());
      for (const message of peeked.Messages ?? []) assert.ok(Number(message.Attributes?.ApproximateReceiveCount) >= MAX_RECEIVE_COUNT);
    }
    // The good records of the same batches were not held up.
    assert.deepEqual((await exportedEvents(tenant, 'events.faults')).map((event) => event.eventId), [good.id]);
    assert.equal((await call('GET', '/observation/status?series=faults.ok', { tenant, roles: ['viewer'] })).body.result.summary.count, 1);

    // One event parked while something it needs was down: the redrive is how it gets appended once fixed.
    const parked = busEnvelope(tenant, 'faults');
    await send('AuditDeadLetterQueue', [JSON.stringify(parked)]);
    await eventually('three in the audit DLQ', async () => {
      const { visible, inFlight } = await depth(queue('AuditDeadLetterQueue').url);
      return visible + inFlight === 3 ? true : undefined;
    }, 5_000);

    // By logical name and by URL, as an operator would type them.
    const [audit, observation] = await Promise.all([redrive('audit'), redrive(queue('ObservationIngestQueue').url)]);
    assert.equal(audit.code, 0, audit.stdout + audit.stderr);
    assert.match(audit.stdout, /autonomy-local-audit-dlq → autonomy-local-audit \(maxReceiveCount 5\): 3 waiting/);
    assert.match(audit.stdout, /moved 3 message\(s\) back to autonomy-local-audit, 0 refused; 0 left in autonomy-local-audit-dlq/);
    assert.equal(observation.code, 0, observation.stdout + observation.stderr);
    assert.match(observation.stdout, /moved 2 message\(s\) back to autonomy-local-observation-ingest, 0 refused; 0 left in autonomy-local-observation-ingest-dlq/);
    for (const pair of pairs) {
      assert.deepEqual(await depth(queue(pair.dlq).url), { visible: 0, inFlight: 0 }, `${pair.dlq} emptied`);
      // Poison is still poison: back on its queue (waiting or being tried), not yet parked again.
      const back = await depth(queue(pair.source).url);
      assert.ok(back.visible + back.inFlight >= 2, `${pair.name} holds the poison again`);
    }
    await eventually('the parked event appended', async () => ((await exportedEvents(tenant, 'events.faults')).length === 2 ? true : undefined), 20_000);
    assert.deepEqual((await exportedEvents(tenant, 'events.faults')).map((event) => event.eventId), [good.id, parked.id]);

  });

  it('resumes an execution waiting for approval across a restart of the local cloud, and keeps what it acknowledged', { timeout: 90_000 }, async () => {
    const tenant = freshTenant('faults');
    const approver = { tenant, roles: ['approver' as const], subject: 'bob' };
    // One approval is enough for this drill; a terminate in prod always waits for people.
    assert.equal((await call('PUT', '/governance/config', { tenant, roles: ['admin'] }, { parameters: { minApprovals: { high: 1 } } })).status, 200);
    const proposed = await call('POST', '/governance/proposals', { tenant, roles: ['operator'], subject: 'alice' }, {
      parameters: { engine: 'closure', action: 'terminate', target: 'agent/drill', environment: 'prod', reason: 'restart drill' },
    });
    assert.equal(proposed.status, 202, proposed.text);
    const started = { executionArn: proposed.body.result.executionArn as string };
    const approval = await eventually('the approval to be opened', async () => {
      const listed = await call('GET', '/governance/approvals', approver);
      assert.equal(listed.status, 200, listed.text);
      return listed.body.result.approvals[0];
    }, 45_000);
    assert.equal(approval.status, 'pending');
    // Acknowledged before the restart: three records (201) and one event accepted by the queue.
    for (const n of [1, 2, 3]) {
      const recorded = await call('POST', '/audit/record', { tenant, roles: ['operator'] }, { parameters: { stream: 'decisions', payload: { n } } });
      assert.equal(recorded.status, 201, recorded.text);
    }
    const queued = busEnvelope(tenant, 'faults');
    await send('AuditQueue', [JSON.stringify(queued)]);

    await shutDown();
    cloud = await boot();

    assert.equal((await clients().sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }))).status, 'RUNNING', 'still waiting after the restart');
    const decided = await call('POST', '/governance/approvals', approver, { parameters: { approvalId: approval.approvalId, decision: 'approve', reason: 'after the restart' } });
    assert.equal(decided.status, 200, decided.text);
    const done = await eventually('the execution to finish', async () => {
      const described = await clients().sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
      return described.status === 'RUNNING' ? undefined : described;
    }, 20_000);
    assert.equal(done.status, 'SUCCEEDED', `${done.error}: ${done.cause}`);
    const output = JSON.parse(done.output ?? '{}');
    assert.deepEqual([output.decision, output.approval?.approvers], ['approved', ['bob']]);

    const ids = await eventually('the queued event appended', async () => {
      const found = (await exportedEvents(tenant, 'events.faults')).map((event) => event.eventId);
      return found.length > 0 ? found : undefined;
    }, 20_000);
    assert.deepEqual(ids, [queued.id]);
    const decisions = await verified(tenant, 'decisions');
    assert.deepEqual([decisions.intact, decisions.entries], [true, 3], 'entries in DynamoDB Local and payloads in fauxqs survived');
  });
});
