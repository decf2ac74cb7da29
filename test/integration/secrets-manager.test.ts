/**
 * The local cloud's Secrets Manager through the real SDK: secrets from the template, versions and
 * staging labels, ClientRequestToken idempotency, and the key-ring adapter's compare-and-swap on it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SecretsManagerKeyRingStore } from '../../lib/adapters/aws/audit-keys.ts';
import { ensureSigningKey, rotateKeyRing } from '../../lib/audit/keys.ts';
import { testCloud } from '../helpers/local-cloud.ts';

// The endpoint comes from AWS_ENDPOINT_URL_SECRETS_MANAGER, which the local cloud sets.
const client = new SecretsManagerClient({});
const cloud = testCloud();

describe('local Secrets Manager', () => {
  it('creates the template secrets, addressable by ARN and by name', async () => {
    const arn = cloud.resources.secrets.AuditSigningKeySecret ?? '';
    assert.match(arn, /^arn:aws:secretsmanager:us-east-1:000000000000:secret:autonomy\/local\/audit-signing-keys-[A-Za-z0-9]{6}$/);
    const described = await client.send(new DescribeSecretCommand({ SecretId: arn }));
    assert.equal(described.Name, 'autonomy/local/audit-signing-keys');
    const byName = await client.send(new GetSecretValueCommand({ SecretId: 'autonomy/local/audit-signing-keys' }));
    assert.equal(byName.ARN, arn);
    assert.ok(byName.SecretString?.includes('"keys"'));
  });

  it('keeps versions with AWSCURRENT and AWSPREVIOUS, and treats a reused token as a retry or a conflict', async () => {
    const name = `test/${randomUUID()}`;
    const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }));
    await assert.rejects(client.send(new CreateSecretCommand({ Name: name, SecretString: 'again' })), ResourceExistsException);
    const token = randomUUID();
    const put = await client.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: 'two', ClientRequestToken: token }));
    assert.equal(put.VersionId, token);
    assert.deepEqual(put.VersionStages, ['AWSCURRENT']);
    const retry = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'two', ClientRequestToken: token }));
    assert.equal(retry.VersionId, token, 'same token, same value: a no-op');
    await assert.rejects(client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'three', ClientRequestToken: token })), ResourceExistsException);
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, 'two');
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }))).SecretString, 'one');
    const stages = (await client.send(new DescribeSecretCommand({ SecretId: name }))).VersionIdsToStages ?? {};
    assert.deepEqual(stages[token], ['AWSCURRENT']);
    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: `missing/${randomUUID()}` })), ResourceNotFoundException);
  });

  it('lets exactly one of two writers that read the same key-ring version replace it', async () => {
    const name = `test/${randomUUID()}`;
    await client.send(new CreateSecretCommand({ Name: name, SecretString: '{"keys":[]}' }));
    const store = new SecretsManagerKeyRingStore(client, name);
    const { ring, version } = await store.load();
    const now = new Date().toISOString();
    const results = await Promise.all([store.replace(rotateKeyRing(ring, now), version), store.replace(rotateKeyRing(ring, now), version)]);
    assert.deepEqual(results.sort(), [false, true]);
    const keys = await Promise.all(Array.from({ length: 6 }, () => ensureSigningKey(store, { now: () => new Date() })));
    assert.equal(new Set(keys.map(({ key }) => key.keyId)).size, 1, 'bootstrapping signers agree on one key');
    assert.equal((await store.load()).ring.keys.length, 1);
  });

  it('reads a secret created without a value as an empty key ring', async () => {
    const name = `test/${randomUUID()}`;
    await client.send(new CreateSecretCommand({ Name: name }));
    const { ring, version } = await new SecretsManagerKeyRingStore(client, name).load();
    assert.deepEqual([ring.keys, version], [[], '']);
  });
});
