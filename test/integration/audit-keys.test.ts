/**
 * Checkpoint signing keys on the local cloud: each tenant has its own key in its own secret, so
 * one tenant's admin rotating changes nothing for another; rotations do not grow the secret (the
 * stage-wide ring grew by ~268 bytes per rotation and answered 500 at rotation 244, past Secrets
 * Manager's 65,536 bytes); retired keys stay published in the state table, so old checkpoints
 * verify through the API and the outside verifier.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { signingKeySecretName } from '../../lib/adapters/aws/audit-keys.ts';
import { DynamoPublishedKeys } from '../../lib/adapters/aws/audit-state.ts';
import { generateSigningKey, publicKeySet } from '../../lib/audit/checkpoint.ts';
import { MAX_SIGNING_KEY_SECRET_BYTES, publicHalf, retireLegacyKeys, tenantKeySet } from '../../lib/audit/keys.ts';
import type { Checkpoint } from '../../lib/audit/schemas.ts';
import { api, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cloud = testCloud();
const secrets = new SecretsManagerClient({});
const dynamoClient = new DynamoDBClient({});
const signingKeyPrefix = `autonomy/${cloud.stage}/audit-signing-keys/`;
const ROTATIONS = 40;

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-audit-keys-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function recordVia(tenant: string, stream: string, payload: Record<string, unknown>) {
  const reply = await api('POST', '/audit/record', { tenant, roles: ['operator'], body: { parameters: { stream, payload } } });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
}

/** The stream's checkpoint after POST /audit/checkpoint: ours (201), or the schedule's when it signed first (200). */
async function checkpointVia(tenant: string, stream: string): Promise<Checkpoint> {
  const reply = await api('POST', '/audit/checkpoint', { tenant, roles: ['operator'], body: { parameters: { stream } } });
  assert.ok(reply.status === 200 || reply.status === 201, JSON.stringify(reply.body));
  assert.ok(reply.body.result.checkpoint, JSON.stringify(reply.body));
  return reply.body.result.checkpoint as Checkpoint;
}

async function rotate(tenant: string) {
  return api('POST', '/audit/keys', { tenant, roles: ['admin'], body: { parameters: {} } });
}

async function publishedKeyIds(tenant: string): Promise<string[]> {
  const reply = await api('GET', '/audit/keys', { tenant, roles: ['viewer'] });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.result.keys.map((key: { keyId: string }) => key.keyId);
}

/** The tenant's secret as stored (undefined when it has none). */
async function secretOf(tenant: string): Promise<string | undefined> {
  try {
    return (await secrets.send(new GetSecretValueCommand({ SecretId: signingKeySecretName(signingKeyPrefix, tenant) }))).SecretString;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/**
 * GET /audit/verify and the outside verifier (an export and the GET /audit/keys reply, as a viewer
 * saves them) agree the stream is intact; returns the checkpoints verified.
 */
async function assertVerifies(tenant: string, stream: string): Promise<number> {
  const verified = await api('GET', `/audit/verify?stream=${stream}`, { tenant, roles: ['viewer'] });
  assert.equal(verified.body.result?.intact, true, JSON.stringify(verified.body));
  const token = await tokenFor({ tenant, roles: ['viewer'] });
  const exported = await fetch(`${cloud.apiUrl}/audit/export?stream=${stream}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(exported.status, 200);
  const keys = await api('GET', '/audit/keys', { tenant, roles: ['viewer'] });
  const name = `${tenant}-${randomUUID().slice(0, 6)}`;
  await writeFile(path.join(dir, `${name}.jsonl`), await exported.text());
  await writeFile(path.join(dir, `${name}.keys.json`), JSON.stringify(keys.body));
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'bin', 'autonomy-verify.mjs'),
      '--export',
      path.join(dir, `${name}.jsonl`),
      '--keys',
      path.join(dir, `${name}.keys.json`),
    ],
    { cwd: root },
  );
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? -1)));
  assert.equal(code, 0, output);
  const checkpoints = verified.body.result.checkpoints as number;
  assert.match(output, new RegExp(`checkpoints verified:\\s+${checkpoints} `));
  return checkpoints;
}

describe('audit: signing keys per tenant', () => {
  it("signs tenant B's next checkpoint with B's own key after tenant A rotates; both verify (API and outside verifier)", async () => {
    const [a, b] = [freshTenant('keys-a'), freshTenant('keys-b')];
    await recordVia(a, 'ops', { n: 0 });
    await recordVia(b, 'ops', { n: 0 });
    const [firstA, firstB] = [await checkpointVia(a, 'ops'), await checkpointVia(b, 'ops')];
    assert.notEqual(firstA.keyId, firstB.keyId, 'two tenants never share a signing key');
    const rotated = await rotate(a);
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.equal(rotated.body.result.retiredKeyId, firstA.keyId);
    const newA = rotated.body.result.activeKeyId as string;

    await recordVia(b, 'ops', { n: 1 });
    const nextB = await checkpointVia(b, 'ops');
    assert.equal(nextB.keyId, firstB.keyId, "A's rotation does not touch B's key");
    await recordVia(a, 'ops', { n: 1 });
    assert.equal((await checkpointVia(a, 'ops')).keyId, newA);

    const [keysA, keysB] = [await publishedKeyIds(a), await publishedKeyIds(b)];
    assert.ok(keysA.includes(firstA.keyId) && keysA.includes(newA), keysA.join(','));
    assert.ok(!keysB.includes(newA) && !keysB.includes(firstA.keyId), `B's published keys hold none of A's: ${keysB.join(',')}`);
    assert.ok(!keysA.includes(firstB.keyId), "A's published keys hold none of B's");
    await assertVerifies(a, 'ops');
    await assertVerifies(b, 'ops');

    // Each secret holds its own tenant's active key and nothing of the other's.
    const [secretA, secretB] = [await secretOf(a), await secretOf(b)];
    assert.ok(secretA?.includes(newA) && !secretA.includes(firstB.keyId));
    assert.ok(secretB?.includes(firstB.keyId) && !secretB.includes(newA) && !secretB.includes(firstA.keyId));
    await assert.rejects(
      secrets.send(new DescribeSecretCommand({ SecretId: `autonomy/${cloud.stage}/audit-signing-keys` })),
      ResourceNotFoundException,
      'no stage-wide key ring',
    );
  });

  it('answers 200 to 40 rotations in a row with the secret the same size throughout, every key published, old checkpoints verifying', async () => {
    // The stage-wide ring grew ~268 bytes per rotation and answered 500 from rotation 244 (past
    // Secrets Manager's 65,536 bytes); test/unit/audit-keys.test.ts runs 300 rotations in memory.
    const tenant = freshTenant('keys-many');
    await recordVia(tenant, 'ops', { n: 0 });
    const first = await checkpointVia(tenant, 'ops');
    const firstSize = Buffer.byteLength((await secretOf(tenant)) ?? '');
    const sizes: number[] = [];
    const started = performance.now();
    for (let n = 0; n < ROTATIONS; n += 1) {
      const reply = await rotate(tenant);
      if (reply.status !== 200) assert.fail(`rotation ${n + 1} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
      if (n % 10 === 9) sizes.push(Buffer.byteLength((await secretOf(tenant)) ?? ''));
    }
    const perRotation = (performance.now() - started) / ROTATIONS;
    assert.ok(firstSize > 0 && Math.max(...sizes) <= MAX_SIGNING_KEY_SECRET_BYTES, `secret sizes ${firstSize}, ${sizes.join(', ')}`);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 16, `the secret does not grow with rotations: ${sizes.join(', ')} bytes`);
    const keys = await publishedKeyIds(tenant);
    assert.equal(keys.length, ROTATIONS + 1, 'every key stays published (the first and each rotation)');
    assert.ok(keys.includes(first.keyId));
    await recordVia(tenant, 'ops', { n: 1 });
    const last = await checkpointVia(tenant, 'ops');
    assert.notEqual(last.keyId, first.keyId);
    assert.ok((await assertVerifies(tenant, 'ops')) >= 2, 'the checkpoints of the first key and of the last');
    console.log(
      `${ROTATIONS} rotations through POST /audit/keys: ${perRotation.toFixed(1)} ms each; secret ${Math.min(...sizes)}-${Math.max(...sizes)} bytes`,
    );
  });
});

describe('audit: published keys in DynamoDB', () => {
  // A table of its own, shaped like the state table, so the stage-wide item here touches no other test.
  const table = `published-keys-${randomUUID().slice(0, 8)}`;
  const store = new DynamoPublishedKeys(DynamoDBDocumentClient.from(dynamoClient), table);
  before(async () => {
    await dynamoClient.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });
  after(async () => {
    await dynamoClient.send(new DeleteTableCommand({ TableName: table }));
  });

  it('keeps one item per tenant key, never un-retires one, and keeps the stage-wide set beside them', async () => {
    const [k1, k2] = [generateSigningKey('2025-01-01T00:00:00.000Z'), generateSigningKey('2025-02-01T00:00:00.000Z')];
    await store.add('acme', publicHalf(k1));
    await store.add('acme', publicHalf(k1));
    await store.retire('acme', { ...publicHalf(k1), retiredAt: '2025-02-01T00:10:00.000Z' });
    await store.add('acme', publicHalf(k1)); // a stale signer: no effect
    await store.retire('acme', { ...publicHalf(k1), retiredAt: '2030-01-01T00:00:00.000Z' }); // retired once, at the first time
    await store.add('acme', publicHalf(k2));
    assert.deepEqual(await store.list('acme'), [{ ...publicHalf(k1), retiredAt: '2025-02-01T00:10:00.000Z' }, publicHalf(k2)]);
    assert.deepEqual(await store.list('other'), []);
    assert.deepEqual(await store.get('acme', k2.keyId), publicHalf(k2));

    const legacy = generateSigningKey('2024-01-01T00:00:00.000Z');
    await store.putLegacy(publicKeySet([legacy]), 4);
    assert.equal(await retireLegacyKeys(store, new Date('2025-03-01T00:00:00.000Z'), 0), 1);
    assert.equal(await retireLegacyKeys(store, new Date('2025-04-01T00:00:00.000Z'), 0), 0);
    assert.deepEqual(await store.legacy(), {
      keys: { keys: [{ ...publicHalf(legacy), retiredAt: '2025-03-01T00:00:00.000Z' }] },
      generation: 5,
    });
    await store.putLegacy(publicKeySet([legacy]), 5); // an older writer: refused
    assert.equal((await store.legacy())?.keys.keys[0]?.retiredAt, '2025-03-01T00:00:00.000Z');
    // The system tenant's own keys share the partition with the stage-wide item, apart by sort key.
    await store.add('system', publicHalf(k2));
    assert.deepEqual(
      (await store.list('system')).map((key) => key.keyId),
      [k2.keyId],
    );
    assert.deepEqual(
      (await tenantKeySet(store, 'acme')).keys.map((key) => key.keyId),
      [legacy.keyId, k1.keyId, k2.keyId],
    );
  });
});
