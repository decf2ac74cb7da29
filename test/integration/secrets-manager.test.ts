/**
 * The local cloud's Secrets Manager through the real SDK: secrets by name and ARN, secrets a
 * template declares, versions and staging labels, ClientRequestToken idempotency, and the
 * signing-key adapter's create-or-compare-and-swap on it (one secret per tenant).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
import { SecretsManagerService } from '../../infra/local/secretsmanager/service.ts';
import { SecretsManagerSigningKeyStore, signingKeySecretName } from '../../lib/adapters/aws/audit-keys.ts';
import { nextTenantKey, tenantSigningKey } from '../../lib/audit/keys.ts';
import { MemoryPublishedKeyStore } from '../../lib/audit/memory-store.ts';
import { freshTenant, testCloud } from '../helpers/local-cloud.ts';

// The endpoint comes from AWS_ENDPOINT_URL_SECRETS_MANAGER, which the local cloud sets.
const client = new SecretsManagerClient({});
// Fails fast, naming `npm test`, when the local cloud is not running.
testCloud();

describe('local Secrets Manager', () => {
  it('addresses a secret by name, full ARN and partial ARN', async () => {
    const name = `test/${randomUUID()}`;
    const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: '{"keys":[]}' }));
    assert.match(created.ARN ?? '', new RegExp(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-[A-Za-z0-9]{6}$`));
    const described = await client.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    assert.equal(described.Name, name);
    const byName = await client.send(new GetSecretValueCommand({ SecretId: name }));
    assert.equal(byName.ARN, created.ARN);
    const partial = (created.ARN ?? '').replace(/-[A-Za-z0-9]{6}$/, '');
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: partial }))).SecretString, '{"keys":[]}');
  });

  it('creates the secrets a template declares once, keeping their value across restarts', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-secrets-'));
    try {
      const service = () => new SecretsManagerService({ dataDir, region: 'us-east-1', accountId: '000000000000' });
      const arn = service().declare({ name: 'autonomy/local/x', secretString: 'first' });
      assert.equal(service().declare({ name: 'autonomy/local/x', secretString: 'changed' }), arn);
      const read = (await service().operations().GetSecretValue?.({ SecretId: arn })) as { SecretString?: string };
      assert.equal(read.SecretString, 'first');
      service().declare({ name: 'autonomy/local/generated', generateSecretString: { SecretStringTemplate: '{"user":"a"}', GenerateStringKey: 'password', PasswordLength: 20 } });
      const generated = (await service().operations().GetSecretValue?.({ SecretId: 'autonomy/local/generated' })) as { SecretString?: string };
      assert.equal((JSON.parse(generated.SecretString ?? '{}') as { password?: string }).password?.length, 20);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
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

  it("lets exactly one of two writers that read the same version of a tenant's key replace it, the first key included", async () => {
    const prefix = `test/${randomUUID()}/`;
    const tenant = freshTenant('keys');
    const store = new SecretsManagerSigningKeyStore(client, prefix);
    assert.deepEqual(await store.load(tenant), { current: undefined, version: '' }, 'no secret yet');
    const now = new Date().toISOString();
    // Two first signers: one creates the secret, the other finds it taken.
    const created = await Promise.all([store.replace(nextTenantKey(tenant, undefined, now), ''), store.replace(nextTenantKey(tenant, undefined, now), '')]);
    assert.deepEqual(created.sort(), [false, true]);
    const { current, version } = await store.load(tenant);
    assert.equal(current?.generation, 1);
    const described = await client.send(new DescribeSecretCommand({ SecretId: signingKeySecretName(prefix, tenant) }));
    assert.equal(described.Name, `${prefix}${tenant}/signing-key`);
    // Two rotations from the same version: one wins.
    const rotated = await Promise.all([store.replace(nextTenantKey(tenant, current, now), version), store.replace(nextTenantKey(tenant, current, now), version)]);
    assert.deepEqual(rotated.sort(), [false, true]);
    assert.equal((await store.load(tenant)).current?.generation, 2);
    // Bootstrapping signers of a new tenant agree on one key.
    const other = freshTenant('keys');
    const published = new MemoryPublishedKeyStore();
    const keys = await Promise.all(Array.from({ length: 6 }, () => tenantSigningKey({ keys: store, published }, other, { now: () => new Date() })));
    assert.equal(new Set(keys.map((key) => key.keyId)).size, 1, 'bootstrapping signers agree on one key');
    assert.equal((await published.list(other)).length, 1);
  });

  it('reads a tenant secret created without a value as no key, and gives it its first one', async () => {
    const prefix = `test/${randomUUID()}/`;
    const tenant = freshTenant('keys');
    await client.send(new CreateSecretCommand({ Name: signingKeySecretName(prefix, tenant) }));
    const store = new SecretsManagerSigningKeyStore(client, prefix);
    assert.deepEqual(await store.load(tenant), { current: undefined, version: '' });
    assert.equal(await store.replace(nextTenantKey(tenant, undefined, new Date().toISOString()), ''), true);
    assert.equal((await store.load(tenant)).current?.tenant, tenant);
  });
});
