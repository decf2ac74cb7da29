/**
 * The Audit engine on the local cloud: concurrent appends (API and adapter), bus events into the
 * ledger (rule → queue → function, exactly once), every tampering case caught by both
 * GET /audit/verify and the outside verifier run on an export, retention, compliance findings,
 * proofs and key rotation. Tampering uses admin SDK access, as an attacker with storage access would.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { signingKeySecretName } from '../../lib/adapters/aws/audit-keys.ts';
import { S3CheckpointStore } from '../../lib/adapters/aws/audit-objects.ts';
import { DynamoLedgerStore } from '../../lib/adapters/aws/audit-ledger.ts';
import { DynamoStreamRegistry } from '../../lib/adapters/aws/audit-state.ts';
import { appendRecord } from '../../lib/audit/chain.ts';
import { checkpointKey, generateSigningKey, signCheckpoint, type SigningKey } from '../../lib/audit/checkpoint.ts';
import { record } from '../../lib/audit/engine.ts';
import { DuplicateAppendError } from '../../lib/audit/errors.ts';
import { parseTenantSigningKey } from '../../lib/audit/keys.ts';
import { hashLeaf, verifyInclusion } from '../../lib/audit/merkle.ts';
import type { Checkpoint } from '../../lib/audit/schemas.ts';
import { verifyStream } from '../../lib/audit/verify.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cloud = testCloud();
const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const s3 = new S3Client({ forcePathStyle: true });
const events = new EventBridgeClient({});
const lambda = new LambdaClient({});
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const secrets = new SecretsManagerClient({});
const ledgerTable = cloud.resources.tables.LedgerTable ?? '';
const stateTable = cloud.resources.tables.StateTable ?? '';
const bucket = cloud.resources.buckets.ArtifactsBucket ?? '';
const busName = Object.values(cloud.resources.buses)[0]?.split('/').pop() ?? '';
// Each tenant's signing key is its own secret under the stage's prefix (lib/adapters/aws/audit-keys.ts).
const signingKeyPrefix = `autonomy/${cloud.stage}/audit-signing-keys/`;

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-audit-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function recordVia(tenant: string, stream: string, payload: Record<string, unknown>) {
  const reply = await api('POST', '/audit/record', { tenant, roles: ['operator'], body: { parameters: { stream, payload } } });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body.result as { seq: number; hash: string; payloadHash: string };
}

async function checkpointVia(tenant: string, stream: string) {
  const reply = await api('POST', '/audit/checkpoint', { tenant, roles: ['operator'], body: { parameters: { stream } } });
  assert.ok(reply.status === 200 || reply.status === 201, JSON.stringify(reply.body));
  return reply.body.result as { created: boolean; size: number; checkpoint: Checkpoint; key: string };
}

async function verifyVia(tenant: string, stream: string) {
  const reply = await api('GET', `/audit/verify?stream=${stream}`, { tenant, roles: ['viewer'] });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.result;
}

/** Fetches the export and the key reply as a viewer, saves both, runs the CLI on them. */
async function outsideVerifier(tenant: string, stream: string, query = '') {
  const token = await tokenFor({ tenant, roles: ['viewer'] });
  const exported = await fetch(`${cloud.apiUrl}/audit/export?stream=${stream}${query}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(exported.status, 200);
  assert.equal(exported.headers.get('content-type'), 'application/x-ndjson');
  return runVerifier(tenant, stream, await exported.text());
}

/** Saves an export's text and the key reply (fetched as a viewer), runs the CLI on them. */
async function runVerifier(tenant: string, stream: string, text: string) {
  const keys = await api('GET', '/audit/keys', { tenant, roles: ['viewer'] });
  assert.equal(keys.status, 200);
  const name = `${tenant}-${stream}-${randomUUID().slice(0, 6)}`;
  const exportPath = path.join(dir, `${name}.jsonl`);
  const keysPath = path.join(dir, `${name}.keys.json`);
  await writeFile(exportPath, text);
  // The whole reply, envelope and all: the verifier accepts it as is.
  await writeFile(keysPath, JSON.stringify(keys.body));
  const child = spawn(process.execPath, [path.join(root, 'bin', 'autonomy-verify.mjs'), '--export', exportPath, '--keys', keysPath], { cwd: root });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? -1)));
  return { code, stdout, stderr, text };
}

/** Exports a stream to S3 through POST /audit/export (going on while it runs) and reads its objects back as an admin would. */
async function exportToS3(tenant: string, stream: string, pageSize: number) {
  let reply = await api('POST', '/audit/export', { tenant, roles: ['viewer'], body: { parameters: { stream, pageSize } } });
  for (let calls = 0; reply.status === 202 && calls < 20; calls += 1) {
    assert.equal(reply.body.status, 'pending');
    reply = await api('POST', '/audit/export', { tenant, roles: ['viewer'], body: { parameters: { stream, exportId: reply.body.result.exportId } } });
  }
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const status = reply.body.result;
  const read = async (key: string) => (await (await s3.send(new GetObjectCommand({ Bucket: status.bucket, Key: key }))).Body?.transformToString()) ?? '';
  const manifest = JSON.parse(await read(status.manifestKey));
  const text = (await Promise.all(manifest.parts.map((part: { key: string }) => read(part.key)))).join('');
  return { status, manifest, text };
}

/**
 * A stream of 10 notes with checkpoints at 6 and 10, built through the API. The scheduled signer
 * may add one in between, so `all` is what the store holds, oldest first.
 */
async function signedStream(tenant: string, stream: string) {
  for (let n = 0; n < 6; n += 1) await recordVia(tenant, stream, { kind: 'note', n, text: `hello ${n}` });
  const first = await checkpointVia(tenant, stream);
  for (let n = 6; n < 10; n += 1) await recordVia(tenant, stream, { kind: 'note', n, text: `hello ${n}` });
  const second = await checkpointVia(tenant, stream);
  assert.deepEqual([first.checkpoint.treeSize, second.checkpoint.treeSize], [6, 10]);
  const all = await new S3CheckpointStore(s3, bucket).list(tenant, stream);
  assert.deepEqual([all[0]?.treeSize !== undefined && all[0].treeSize <= 6, all.at(-1)?.treeSize], [true, 10]);
  return { first: first.checkpoint, second: second.checkpoint, all };
}

async function ledgerItem(tenant: string, stream: string, seq: number) {
  const { Item } = await dynamo.send(new GetCommand({ TableName: ledgerTable, Key: { pk: `${tenant}#${stream}`, seq }, ConsistentRead: true }));
  assert.ok(Item, `no entry ${seq}`);
  return Item;
}

/** The tenant's active signing key, read from its secret as an attacker with Secrets Manager access would. */
async function activeKeyOf(tenant: string, keyId: string): Promise<SigningKey> {
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: signingKeySecretName(signingKeyPrefix, tenant) }));
  const { active } = parseTenantSigningKey(secret.SecretString ?? '', tenant);
  assert.equal(active.keyId, keyId, `key ${keyId} is not the active key of ${tenant}`);
  return active;
}

async function putCheckpointObject(checkpoint: Checkpoint) {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: checkpointKey(checkpoint.tenant, checkpoint.stream, checkpoint.treeSize), Body: JSON.stringify(checkpoint) }));
}

describe('audit: appends', () => {
  it('turns 200 concurrent POST /audit/record calls on one stream into one unbroken, checkpointed chain', async () => {
    const tenant = freshTenant('audit');
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, n) => api('POST', '/audit/record', { tenant, roles: ['operator'], body: { parameters: { stream: 'decisions', payload: { kind: 'decision', n } } } })),
    );
    assert.deepEqual(replies.filter((reply) => reply.status !== 201).map((reply) => reply.body), []);
    assert.deepEqual(replies.map((reply) => reply.body.result.seq).sort((a: number, b: number) => a - b), Array.from({ length: 200 }, (_, n) => n));
    assert.equal((await checkpointVia(tenant, 'decisions')).checkpoint.treeSize, 200);
    const result = await verifyVia(tenant, 'decisions');
    assert.equal(result.intact, true, JSON.stringify(result));
    assert.equal(result.entries, 200);
    assert.equal(result.checkpointedEntries, 200);
  });

  it('keeps one chain when 200 appenders race through the DynamoDB adapter directly, trusting cached heads', async () => {
    const tenant = freshTenant('audit');
    // Stale cached heads are the worst case: every lost race must drop the cache and re-query.
    const ledger = new DynamoLedgerStore(dynamo, { ledgerTable, stateTable, cacheHeads: true });
    const payloads = { put: async () => {}, get: async () => undefined, delete: async () => {} };
    const deps = { ledger, payloads, registry: new DynamoStreamRegistry(dynamo, stateTable) };
    const entries = await Promise.all(
      Array.from({ length: 200 }, (_, n) =>
        record(deps, { tenant, stream: 'race', timestamp: new Date().toISOString(), actor: 'bench', correlationId: `c-${n}`, payload: { n } }, { maxRetries: 400 }),
      ),
    );
    assert.equal(new Set(entries.map((entry) => entry.seq)).size, 200);
    const reader = new DynamoLedgerStore(dynamo, { ledgerTable, stateTable });
    const stored = await reader.read(tenant, 'race', 0);
    assert.equal(stored.length, 200);
    assert.equal(verifyStream({ entries: stored, checkpoints: [], keys: { keys: [] } }).intact, true);
    assert.deepEqual(await reader.read(tenant, 'race', 10, 13).then((some) => some.map((entry) => entry.seq)), [10, 11, 12]);
    assert.equal((await reader.latest(tenant, 'race'))?.seq, 199);
  });

  it('stores an entry and its dedupe marker together: a second appendOnce with the same key is refused', async () => {
    const tenant = freshTenant('audit');
    const ledger = new DynamoLedgerStore(dynamo, { ledgerTable, stateTable });
    const input = { tenant, stream: 'once', timestamp: new Date().toISOString(), actor: 'x', correlationId: null, payload: { a: 1 } };
    const once = { append: (entry: Parameters<typeof ledger.append>[0]) => ledger.appendOnce(entry, 'event#same'), read: ledger.read.bind(ledger), latest: ledger.latest.bind(ledger) };
    await appendRecord(once, input);
    await assert.rejects(appendRecord(once, input), DuplicateAppendError);
    assert.equal((await ledger.read(tenant, 'once', 0)).length, 1);
  });

  it('appends a bus event through the rule, the audit queue and auditAppend, with the event as payload', async () => {
    const tenant = freshTenant('audit');
    const put = await events.send(
      new PutEventsCommand({ Entries: [{ EventBusName: busName, Source: 'autonomy.test', DetailType: 'test.thing.happened', Detail: JSON.stringify({ tenant, actor: 'alice', value: 42 }) }] }),
    );
    const eventId = put.Entries?.[0]?.EventId;
    const item = await eventually(
      'the event in the ledger',
      async () => {
        const { Items } = await dynamo.send(new QueryCommand({ TableName: ledgerTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${tenant}#events.test` }, ConsistentRead: true }));
        return Items?.[0];
      },
      20_000,
    );
    assert.equal(item.actor, 'alice');
    assert.equal(item.correlationId, `event:${eventId}`);
    const payload = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${tenant}/audit/payloads/${item.payloadHash}.json` }));
    const body = JSON.parse((await payload.Body?.transformToString()) ?? '{}');
    assert.equal(body.eventId, eventId);
    assert.deepEqual(body.detail, { tenant, actor: 'alice', value: 42 });
  });

  it('appends a redelivered event once, and a bad record does not hold up the good ones', async () => {
    const tenant = freshTenant('audit');
    const envelope = (id: string) => ({
      version: '0',
      id,
      'detail-type': 'test.thing.happened',
      source: 'autonomy.test',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: { tenant },
    });
    const [a, b] = [envelope(randomUUID()), envelope(randomUUID())];
    const queueUrl = cloud.resources.queues.AuditQueue?.url;
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: JSON.stringify(a) },
          { Id: 'a-again', MessageBody: JSON.stringify(a) },
          { Id: 'bad', MessageBody: '{"not":"an event"}' },
          { Id: 'b', MessageBody: JSON.stringify(b) },
        ],
      }),
    );
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: 'a-third', MessageBody: JSON.stringify(a) }] }));
    const query = async () =>
      (
        await dynamo.send(new QueryCommand({ TableName: ledgerTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${tenant}#events.test` }, ConsistentRead: true }))
      ).Items ?? [];
    await eventually('both events in the ledger', async () => ((await query()).length >= 2 ? true : undefined), 20_000);
    await eventually(
      'the queue to drain',
      async () => {
        const attributes = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
        );
        // Only the bad record may still be in flight (it waits out its visibility timeout).
        const { ApproximateNumberOfMessages: visible, ApproximateNumberOfMessagesNotVisible: inFlight } = attributes.Attributes ?? {};
        return visible === '0' && Number(inFlight) <= 1 ? true : undefined;
      },
      20_000,
    );
    const items = await query();
    assert.equal(items.length, 2, 'three deliveries of one event, one entry');
    const ids = await Promise.all(
      items.map(async (item) => {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${tenant}/audit/payloads/${item.payloadHash}.json` }));
        return JSON.parse((await object.Body?.transformToString()) ?? '{}').eventId;
      }),
    );
    assert.deepEqual(ids.sort(), [a.id, b.id].sort());
    assert.equal((await verifyVia(tenant, 'events.test')).intact, true);
  });
});

describe('audit: verification, API and outside verifier agree', () => {
  it('reports an intact stream as intact through both, and serves an inclusion proof that verifies', async () => {
    const tenant = freshTenant('audit');
    const { all } = await signedStream(tenant, 'ops');
    const result = await verifyVia(tenant, 'ops');
    assert.deepEqual([result.intact, result.entries, result.checkpoints], [true, 10, all.length]);
    const cli = await outsideVerifier(tenant, 'ops');
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, new RegExp(`^INTACT ${tenant}/ops \\(seq 0\\.\\.9\\)`));
    const partial = await outsideVerifier(tenant, 'ops', '&from=3&to=8');
    assert.equal(partial.code, 0, partial.stdout + partial.stderr);
    const proof = await api('GET', '/audit/proof?stream=ops&seq=7', { tenant, roles: ['viewer'] });
    assert.equal(proof.status, 200, JSON.stringify(proof.body));
    const { entryHash, treeSize, path: audit, rootHash } = proof.body.result;
    assert.equal(
      verifyInclusion(hashLeaf(Buffer.from(entryHash, 'hex')), 7, treeSize, audit.map((hex: string) => Buffer.from(hex, 'hex')), Buffer.from(rootHash, 'hex')),
      true,
    );
    assert.equal((await api('GET', '/audit/proof?stream=ops&seq=99', { tenant, roles: ['viewer'] })).status, 404);
  });

  // `seq` is the first bad seq; for a checkpoint, the tree size of the last good one before it.
  type Signed = Awaited<ReturnType<typeof signedStream>>;
  const tamperings: Array<{ name: string; seq: number | ((signed: Signed) => number); reason: string; tamper: (tenant: string, stream: string, signed: Signed) => Promise<void> }> = [
    {
      name: 'one byte of a payload changed in S3',
      seq: 3,
      reason: 'payload-mismatch',
      tamper: async (tenant, stream) => {
        const item = await ledgerItem(tenant, stream, 3);
        const key = `${tenant}/audit/payloads/${item.payloadHash}.json`;
        const text = (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString()) ?? '';
        const at = text.indexOf('hello');
        assert.ok(at >= 0);
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${text.slice(0, at)}j${text.slice(at + 1)}` }));
      },
    },
    {
      name: 'an entry deleted from DynamoDB',
      seq: 4,
      reason: 'gap',
      tamper: async (tenant, stream) => {
        await dynamo.send(new DeleteCommand({ TableName: ledgerTable, Key: { pk: `${tenant}#${stream}`, seq: 4 } }));
      },
    },
    {
      name: 'two entries swapped in DynamoDB',
      seq: 2,
      reason: 'hash-mismatch',
      tamper: async (tenant, stream) => {
        const [two, five] = [await ledgerItem(tenant, stream, 2), await ledgerItem(tenant, stream, 5)];
        await dynamo.send(new PutCommand({ TableName: ledgerTable, Item: { ...five, seq: 2 } }));
        await dynamo.send(new PutCommand({ TableName: ledgerTable, Item: { ...two, seq: 5 } }));
      },
    },
    {
      name: 'the latest checkpoint replaced by one re-signed with our own key over another root',
      seq: ({ all }) => all.at(-2)?.treeSize ?? 0,
      reason: 'checkpoint-root-mismatch',
      tamper: async (tenant, _stream, { second }) => {
        const { signature: _signature, ...body } = second;
        await putCheckpointObject(signCheckpoint({ ...body, rootHash: 'ab'.repeat(32) }, await activeKeyOf(tenant, second.keyId)));
      },
    },
    {
      name: 'a checkpoint re-signed with a foreign key under our key id',
      seq: 0,
      reason: 'bad-signature',
      tamper: async (_tenant, _stream, { all: [first] }) => {
        assert.ok(first);
        const foreign = generateSigningKey();
        const { signature: _signature, ...body } = first;
        const forged = signCheckpoint({ ...body, keyId: foreign.keyId }, foreign);
        await putCheckpointObject({ ...forged, keyId: first.keyId });
      },
    },
    {
      name: 'a checkpoint re-signed with a foreign key under its own key id',
      seq: 0,
      reason: 'unknown-key',
      tamper: async (_tenant, _stream, { all: [first] }) => {
        assert.ok(first);
        const foreign = generateSigningKey();
        const { signature: _signature, ...body } = first;
        await putCheckpointObject(signCheckpoint({ ...body, keyId: foreign.keyId }, foreign));
      },
    },
  ];

  for (const tampering of tamperings) {
    const named = typeof tampering.seq === 'number' ? `first bad seq ${tampering.seq}` : 'first bad seq where the last good checkpoint ends';
    it(`catches ${tampering.name}: ${named}, ${tampering.reason}, in GET /audit/verify and in autonomy-verify`, async () => {
      const tenant = freshTenant('audit');
      const signed = await signedStream(tenant, 'ops');
      const seq = typeof tampering.seq === 'number' ? tampering.seq : tampering.seq(signed);
      assert.equal((await verifyVia(tenant, 'ops')).intact, true);
      await tampering.tamper(tenant, 'ops', signed);
      const result = await verifyVia(tenant, 'ops');
      assert.deepEqual([result.intact, result.firstBadSeq, result.reason], [false, seq, tampering.reason], JSON.stringify(result));
      const cli = await outsideVerifier(tenant, 'ops');
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
      assert.match(cli.stdout, new RegExp(`^BROKEN ${tenant}/ops: first bad seq ${seq}, reason ${tampering.reason}\\n`));
    });
  }
});

describe('audit: exports to S3', () => {
  it('writes a stream to the artifacts bucket in pages with a manifest whose verdict the outside verifier and GET /audit/verify share, intact and after tampering', async () => {
    const tenant = freshTenant('audit');
    for (let n = 0; n < 23; n += 1) await recordVia(tenant, 'ops', { kind: 'note', n, text: `hello ${n}` });
    await checkpointVia(tenant, 'ops');
    const { status, manifest, text } = await exportToS3(tenant, 'ops', 10);
    const prefix = `${tenant}/audit-exports/ops/${status.exportId}/`;
    assert.deepEqual([status.status, status.bucket, status.prefix, status.to, status.pages], ['complete', bucket, prefix, 23, 3]);
    assert.deepEqual(
      manifest.parts.map((part: { key: string }) => part.key),
      [`${prefix}head.jsonl`, `${prefix}page-000001.jsonl`, `${prefix}page-000002.jsonl`, `${prefix}page-000003.jsonl`],
    );
    assert.deepEqual([manifest.format, manifest.exportFormat, manifest.verification], ['autonomy-audit-export-manifest/1', 'autonomy-audit-export/1', status.verification]);
    assert.deepEqual([status.verification.intact, status.verification.entries], [true, 23]);
    const cli = await runVerifier(tenant, 'ops', text);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, new RegExp(`^INTACT ${tenant}/ops \\(seq 0\\.\\.22\\)`));

    await dynamo.send(new DeleteCommand({ TableName: ledgerTable, Key: { pk: `${tenant}#ops`, seq: 14 } }));
    const after = await exportToS3(tenant, 'ops', 10);
    assert.deepEqual([after.status.verification.intact, after.status.verification.firstBadSeq, after.status.verification.reason], [false, 14, 'gap']);
    const stored = await verifyVia(tenant, 'ops');
    assert.deepEqual([stored.firstBadSeq, stored.reason], [14, 'gap']);
    const broken = await runVerifier(tenant, 'ops', after.text);
    assert.equal(broken.code, 1, broken.stdout + broken.stderr);
    assert.match(broken.stdout, new RegExp(`^BROKEN ${tenant}/ops: first bad seq 14, reason gap\\n`));
  });

  it('answers 400 naming the field for a malformed request, and 404 for an export that does not exist', async () => {
    const tenant = freshTenant('audit');
    const post = (parameters: Record<string, unknown>) => api('POST', '/audit/export', { tenant, roles: ['viewer'], body: { parameters } });
    const both = await post({ stream: 'ops', exportId: '20250601-120000-1a2b3c4d', pageSize: 10 });
    assert.equal(both.status, 400);
    assert.deepEqual(both.body.issues.map((issue: { path: string }) => issue.path), ['body.parameters.pageSize']);
    const badId = await post({ stream: 'ops', exportId: 'latest' });
    assert.deepEqual([badId.status, badId.body.issues?.[0]?.path], [400, 'body.parameters.exportId']);
    const tooBig = await post({ stream: 'ops', pageSize: 10_001 });
    assert.deepEqual([tooBig.status, tooBig.body.issues?.[0]?.path], [400, 'body.parameters.pageSize']);
    assert.equal((await post({ stream: 'ops', exportId: '20250601-120000-1a2b3c4d' })).status, 404);
  });
});

describe('audit: retention, compliance, keys', () => {
  it('deletes expired payloads but keeps the chain: verify and the CLI report intact with payloads expired', async () => {
    const tenant = freshTenant('audit');
    const set = await api('PUT', '/audit/retention', { tenant, roles: ['admin'], body: { parameters: { days: 1 } } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual((await api('GET', '/audit/retention', { tenant, roles: ['viewer'] })).body.result, { retentionDays: 1, source: 'tenant' });
    await signedStream(tenant, 'ops');
    const twoDaysLater = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const run = await lambda.send(
      new InvokeCommand({ FunctionName: cloud.resources.functions.AuditRetentionScheduleLambdaFunction, Payload: JSON.stringify({ time: twoDaysLater, tenants: [tenant] }) }),
    );
    assert.equal(run.FunctionError, undefined, Buffer.from(run.Payload ?? []).toString());
    // 10 note payloads, plus those of the tenant's events.audit stream (its checkpoint.signed events).
    assert.ok(JSON.parse(Buffer.from(run.Payload ?? []).toString()).deleted >= 10);
    const result = await verifyVia(tenant, 'ops');
    assert.deepEqual([result.intact, result.entries, result.expiredPayloads], [true, 10, 10], JSON.stringify(result));
    const cli = await outsideVerifier(tenant, 'ops');
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /payloads expired:\s+10/);
    assert.ok(cli.text.includes('"payloadExpired":true'));
  });

  it('raises a compliance finding once, lists it, and records audit.finding.raised in the tenant ledger without feeding itself', async () => {
    const tenant = freshTenant('audit');
    await recordVia(tenant, 'deploys', { kind: 'promotion', id: 'p-1', environment: 'prod' });
    await recordVia(tenant, 'deploys', { kind: 'approval', subject: 'p-1', decision: 'approve' });
    const invoke = async () => {
      const run = await lambda.send(new InvokeCommand({ FunctionName: cloud.resources.functions.AuditComplianceLambdaFunction, Payload: JSON.stringify({ tenants: [tenant] }) }));
      assert.equal(run.FunctionError, undefined, Buffer.from(run.Payload ?? []).toString());
      return JSON.parse(Buffer.from(run.Payload ?? []).toString()) as { raised: number };
    };
    // The schedule may have evaluated the stream first; either way the finding exists exactly once.
    await invoke();
    const listed = await api('GET', '/audit/findings?stream=deploys', { tenant, roles: ['viewer'] });
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.result.findings.map((finding: { ruleId: string; seq: number; severity: string }) => [finding.ruleId, finding.seq, finding.severity]),
      [['prod-promotion-four-eyes', 0, 'critical']],
    );
    const findingEntries = async () => {
      const { Items } = await dynamo.send(new QueryCommand({ TableName: ledgerTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${tenant}#events.audit` }, ConsistentRead: true }));
      const payloads = await Promise.all(
        (Items ?? []).map(async (item) => JSON.parse((await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${tenant}/audit/payloads/${item.payloadHash}.json` }))).Body?.transformToString()) ?? '{}')),
      );
      return payloads.filter((payload) => payload.detailType === 'audit.finding.raised');
    };
    const [recorded] = await eventually('audit.finding.raised in the ledger', async () => {
      const found = await findingEntries();
      return found.length > 0 ? found : undefined;
    }, 20_000);
    assert.equal(recorded.detail.ruleId, 'prod-promotion-four-eyes');
    assert.equal((await invoke()).raised, 0, 'nothing new: the audit stream itself is never evaluated');
    assert.equal((await findingEntries()).length, 1);
  });

  it('rotates the signing key: old checkpoints keep verifying, new ones are signed by the new key', async () => {
    const tenant = freshTenant('audit');
    const { second, all } = await signedStream(tenant, 'ops');
    assert.equal((await api('POST', '/audit/keys', { tenant, roles: ['operator'], body: { parameters: {} } })).status, 403, 'operators do not rotate');
    const rotated = await api('POST', '/audit/keys', { tenant, roles: ['admin'], body: { parameters: {} } });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const { activeKeyId, retiredKeyId } = rotated.body.result;
    assert.equal(retiredKeyId, second.keyId);
    assert.notEqual(activeKeyId, retiredKeyId);
    await recordVia(tenant, 'ops', { kind: 'note', n: 10 });
    const next = await checkpointVia(tenant, 'ops');
    assert.equal(next.checkpoint.keyId, activeKeyId);
    const keys = await api('GET', '/audit/keys', { tenant, roles: ['viewer'] });
    const retired = keys.body.result.keys.find((key: { keyId: string }) => key.keyId === retiredKeyId);
    assert.ok(retired?.retiredAt, 'the retired key stays published, marked retired');
    assert.equal((await verifyVia(tenant, 'ops')).intact, true);
    const cli = await outsideVerifier(tenant, 'ops');
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    const count = (await new S3CheckpointStore(s3, bucket).list(tenant, 'ops')).length;
    assert.ok(count >= all.length + 1);
    assert.match(cli.stdout, new RegExp(`checkpoints verified:\\s+${count} `));
  });

  it('keeps checkpoint objects under the tenant prefix, listed in tree-size order', async () => {
    const tenant = freshTenant('audit');
    await signedStream(tenant, 'ops');
    const sizes = (await new S3CheckpointStore(s3, bucket).list(tenant, 'ops')).map((checkpoint) => checkpoint.treeSize);
    assert.ok(sizes.includes(6) && sizes.includes(10), sizes.join(','));
    assert.deepEqual(sizes, [...sizes].sort((a, b) => a - b));
  });
});
