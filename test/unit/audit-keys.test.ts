/**
 * Checkpoint signing keys per tenant, over the in-memory ports: one tenant's rotation never
 * changes another's key, the secret stays bounded however often a tenant rotates (the memory
 * store refuses what Secrets Manager refuses: values over 65,536 bytes), retired keys stay
 * published so old checkpoints verify, an interrupted rotation is published by the next signer,
 * and the stage-wide keys of the earlier single ring keep verifying what they signed but sign
 * nothing new once retired.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSigningKey, publicKeySet, verifyCheckpoint } from '../../lib/audit/checkpoint.ts';
import { type CheckpointDeps, checkpointStream, exportStored, type ReadDeps, record, verifyStored } from '../../lib/audit/engine.ts';
import { SigningKeyStateError } from '../../lib/audit/errors.ts';
import { exportVerifyInput, parseExport } from '../../lib/audit/export.ts';
import {
  MAX_SIGNING_KEY_SECRET_BYTES,
  nextTenantKey,
  parseTenantSigningKey,
  ROTATION_GRACE_MS,
  retireLegacyKeys,
  rotateTenantKey,
  serializeTenantSigningKey,
  tenantKeySet,
  tenantSigningKey,
} from '../../lib/audit/keys.ts';
import {
  MemoryCheckpointHeadStore,
  MemoryCheckpointStore,
  MemoryLedgerStore,
  MemoryPayloadStore,
  MemoryPublishedKeyStore,
  MemorySigningKeyStore,
  MemoryStreamRegistry,
  SECRET_VALUE_MAX_BYTES,
} from '../../lib/audit/memory-store.ts';
import type { PublishedKeyStore, SigningKeyStore } from '../../lib/audit/ports.ts';
import type { PublicKey } from '../../lib/audit/schemas.ts';
import { verifyStream } from '../../lib/audit/verify.ts';

const START = Date.parse('2025-06-01T12:00:00.000Z');

/** A stage on memory ports whose clock the test moves. */
function stage() {
  let now = START;
  const clock = () => new Date(now);
  const ledger = new MemoryLedgerStore();
  const payloads = new MemoryPayloadStore();
  const checkpoints = new MemoryCheckpointStore();
  const registry = new MemoryStreamRegistry();
  const heads = new MemoryCheckpointHeadStore();
  const secrets = new MemorySigningKeyStore();
  const published = new MemoryPublishedKeyStore();
  const stores = { keys: secrets, published };
  const signingDeps: CheckpointDeps = {
    ledger,
    checkpoints,
    heads,
    signingKey: (tenant) => tenantSigningKey(stores, tenant, { now: clock }),
    now: clock,
  };
  const readDeps: ReadDeps = { ledger, payloads, checkpoints, publishedKeys: published };
  let n = 0;
  return {
    secrets,
    published,
    stores,
    signingDeps,
    readDeps,
    clock,
    advance: (ms: number) => {
      now += ms;
    },
    append: async (tenant: string, stream = 'ops', count = 1) => {
      for (let i = 0; i < count; i += 1) {
        n += 1;
        await record(
          { ledger, payloads, registry },
          { tenant, stream, timestamp: clock().toISOString(), actor: 'alice', correlationId: `c-${n}`, payload: { n } },
        );
      }
    },
    sign: async (tenant: string, stream = 'ops') => {
      const outcome = await checkpointStream(signingDeps, { tenant, stream });
      assert.ok(outcome.created && outcome.checkpoint, `nothing signed for ${tenant}/${stream}`);
      return outcome.checkpoint;
    },
    /** What the outside verifier concludes from an export and the tenant's GET /audit/keys. */
    verifyOutside: async (tenant: string, stream = 'ops') => {
      const exported = parseExport(await exportStored(readDeps, { tenant, stream }, { now: clock() }));
      return verifyStream(exportVerifyInput(exported, await tenantKeySet(published, tenant)));
    },
  };
}

describe('audit signing keys: one key per tenant', () => {
  it("signs tenant B's checkpoints with B's key after tenant A rotates, and both verify through the API and an export", async () => {
    const s = stage();
    await s.append('tenant-a');
    await s.append('tenant-b');
    const [firstA, firstB] = [await s.sign('tenant-a'), await s.sign('tenant-b')];
    assert.notEqual(firstA.keyId, firstB.keyId, 'each tenant signs with its own key');

    s.advance(60_000);
    const rotated = await rotateTenantKey(s.stores, 'tenant-a', { now: s.clock });
    assert.equal(rotated.retired, firstA.keyId);
    s.advance(60_000);
    await s.append('tenant-a');
    await s.append('tenant-b');
    const [nextA, nextB] = [await s.sign('tenant-a'), await s.sign('tenant-b')];
    assert.equal(nextA.keyId, rotated.key.keyId);
    assert.equal(nextB.keyId, firstB.keyId, "A's rotation leaves B's key alone");

    const [keysA, keysB] = [await tenantKeySet(s.published, 'tenant-a'), await tenantKeySet(s.published, 'tenant-b')];
    assert.deepEqual(keysA.keys.map((key) => key.keyId).sort(), [firstA.keyId, rotated.key.keyId].sort());
    assert.deepEqual(
      keysB.keys.map((key) => key.keyId),
      [firstB.keyId],
    );
    assert.equal(verifyCheckpoint(nextB, keysA).valid, false, "A's keys verify none of B's checkpoints");
    assert.equal(verifyCheckpoint(nextA, keysB).valid, false);
    for (const tenant of ['tenant-a', 'tenant-b']) {
      const api = await verifyStored(s.readDeps, { tenant, stream: 'ops' });
      assert.deepEqual([api.intact, api.intact && api.checkpoints], [true, 2], JSON.stringify(api));
      assert.equal((await s.verifyOutside(tenant)).intact, true);
    }
    // Each tenant's secret holds its own key only.
    const [secretA, secretB] = s.secrets.texts();
    assert.ok(secretA && secretB);
    assert.ok(!secretA.includes(firstB.keyId) && !secretB.includes(firstA.keyId) && !secretB.includes(rotated.key.keyId));
  });

  it('keeps the secret under 1 KiB through 300 rotations, all published, every old checkpoint verifying (the stage-wide ring passed 64 KiB at rotation ~245)', async () => {
    const s = stage();
    const tenant = 'acme';
    const sizes: number[] = [];
    const signedWith = new Set<string>();
    for (let n = 1; n <= 300; n += 1) {
      s.advance(1000);
      await rotateTenantKey(s.stores, tenant, { now: s.clock });
      sizes.push(s.secrets.bytes(tenant));
      if (n % 50 === 0) {
        // Sign with this key, then let its successor's grace for it run out before the next rotation.
        await s.append(tenant);
        signedWith.add((await s.sign(tenant)).keyId);
        s.advance(ROTATION_GRACE_MS);
      }
    }
    assert.equal(sizes.length, 300, 'every rotation succeeded');
    assert.ok(Math.max(...sizes) <= MAX_SIGNING_KEY_SECRET_BYTES, `largest secret ${Math.max(...sizes)} bytes`);
    assert.ok(
      Math.max(...sizes) - Math.min(...sizes.slice(1)) <= 16,
      `the secret does not grow with rotations: ${sizes.slice(1, 4)} … ${sizes.slice(-3)}`,
    );
    assert.ok(SECRET_VALUE_MAX_BYTES / Math.max(...sizes) > 60, 'far inside what Secrets Manager accepts');
    const keys = await s.published.list(tenant);
    assert.equal(keys.length, 300, 'every key stays published');
    assert.equal(keys.filter((key) => key.retiredAt === undefined).length, 1, 'one key signs');
    assert.equal(signedWith.size, 6);
    const api = await verifyStored(s.readDeps, { tenant, stream: 'ops' });
    assert.deepEqual([api.intact, api.intact && api.checkpoints], [true, 6], JSON.stringify(api));
    assert.equal((await s.verifyOutside(tenant)).intact, true, 'the outside verifier accepts checkpoints of 6 different retired keys');
  });

  it('refuses a checkpoint signed with a retired key after its grace', async () => {
    const s = stage();
    await s.append('acme');
    await s.sign('acme');
    const old = (await s.secrets.load('acme')).current;
    assert.ok(old);
    await rotateTenantKey(s.stores, 'acme', { now: s.clock });
    s.advance(ROTATION_GRACE_MS + 1000);
    await s.append('acme');
    // A signer that kept the old key past the grace (or a thief of the retired key).
    const late = await checkpointStream({ ...s.signingDeps, signingKey: async () => old.active }, { tenant: 'acme', stream: 'ops' });
    assert.equal(late.checkpoint?.keyId, old.active.keyId);
    const result = await verifyStored(s.readDeps, { tenant: 'acme', stream: 'ops' });
    assert.deepEqual([result.intact, !result.intact && result.reason], [false, 'bad-signature']);
  });

  it('publishes an interrupted rotation (secret replaced, table not written) at the next signing', async () => {
    const s = stage();
    await tenantSigningKey(s.stores, 'acme', { now: s.clock });
    const first = (await s.published.list('acme'))[0];
    assert.ok(first);
    // The table fails once the secret was replaced (publishing the new key): the rotation call fails.
    const p = s.published;
    const failing: PublishedKeyStore = {
      list: (tenant) => p.list(tenant),
      get: (tenant, keyId) => p.get(tenant, keyId),
      add: (tenant, key) => (key.keyId === first.keyId ? p.add(tenant, key) : Promise.reject(new Error('table unavailable'))),
      retire: (tenant, key) => p.retire(tenant, key),
      legacy: () => p.legacy(),
      putLegacy: (keys, generation) => p.putLegacy(keys, generation),
    };
    await assert.rejects(rotateTenantKey({ keys: s.secrets, published: failing }, 'acme', { now: s.clock }), /table unavailable/);
    const rotated = (await s.secrets.load('acme')).current;
    assert.equal(rotated?.generation, 2, 'the secret moved on');
    assert.deepEqual(
      (await s.published.list('acme')).map((key) => key.keyId),
      [first.keyId],
      'the new key is not published yet',
    );

    const key = await tenantSigningKey(s.stores, 'acme', { now: s.clock });
    assert.equal(key.keyId, rotated?.active.keyId);
    const keys = await s.published.list('acme');
    assert.deepEqual(
      keys.map((k) => [k.keyId, k.retiredAt !== undefined]).sort(),
      [
        [first.keyId, true],
        [key.keyId, false],
      ].sort(),
    );
  });

  it('refuses a secret that names another tenant, and a malformed one, signing nothing', async () => {
    const s = stage();
    await tenantSigningKey(s.stores, 'tenant-a', { now: s.clock });
    const [textA] = s.secrets.texts();
    assert.ok(textA);
    assert.throws(() => parseTenantSigningKey(textA, 'tenant-b'), SigningKeyStateError);
    assert.throws(() => parseTenantSigningKey('{"format":"autonomy-audit-signing-key/1"}', 'tenant-a'), SigningKeyStateError);
    assert.throws(() => parseTenantSigningKey('not json', 'tenant-a'), SigningKeyStateError);
    // A store that hands back A's secret for B (a secret copied under the wrong name).
    const misplaced: SigningKeyStore = {
      load: async () => ({ current: parseTenantSigningKey(textA, 'tenant-a'), version: '1' }),
      replace: async () => false,
    };
    await assert.rejects(tenantSigningKey({ keys: misplaced, published: s.published }, 'tenant-b', { now: s.clock }), SigningKeyStateError);
    await assert.rejects(rotateTenantKey({ keys: misplaced, published: s.published }, 'tenant-b', { now: s.clock }), SigningKeyStateError);
    assert.deepEqual(await s.published.list('tenant-b'), []);
  });

  it('bounds the secret by its shape: a secret cannot carry more than one private key', () => {
    const first = nextTenantKey('acme', undefined, new Date(START).toISOString());
    const second = nextTenantKey('acme', first, new Date(START + 1000).toISOString());
    const text = serializeTenantSigningKey(second);
    assert.equal((text.match(/privateKey/g) ?? []).length, 1);
    assert.ok(!text.includes(first.active.privateKey), 'the replaced private key is gone');
    assert.throws(() => serializeTenantSigningKey({ ...second, extra: 'x'.repeat(2000) } as never));
  });
});

describe('audit signing keys: the stage-wide ring of earlier versions', () => {
  it('keeps verifying what a stage-wide key signed for any tenant, retires it once, and refuses it after the grace', async () => {
    const s = stage();
    const legacy = generateSigningKey(new Date(START - 86_400_000).toISOString());
    await s.published.putLegacy(publicKeySet([legacy]), 3);
    // Checkpoints the earlier version signed, for two tenants, with the one stage-wide key.
    for (const tenant of ['tenant-a', 'tenant-b']) {
      await s.append(tenant);
      await checkpointStream({ ...s.signingDeps, signingKey: async () => legacy }, { tenant, stream: 'ops' });
    }
    assert.equal(await retireLegacyKeys(s.published, s.clock()), 1);
    assert.equal(await retireLegacyKeys(s.published, s.clock()), 0, 'once');
    const retired = (await s.published.legacy())?.keys.keys[0] as PublicKey;
    assert.equal(retired.retiredAt, new Date(START + ROTATION_GRACE_MS).toISOString());

    // New checkpoints are signed with each tenant's own key; the stage-wide one still verifies its own.
    s.advance(ROTATION_GRACE_MS + 1000);
    for (const tenant of ['tenant-a', 'tenant-b']) {
      await s.append(tenant);
      assert.notEqual((await s.sign(tenant)).keyId, legacy.keyId);
      assert.ok((await tenantKeySet(s.published, tenant)).keys.some((key) => key.keyId === legacy.keyId));
      assert.equal((await verifyStored(s.readDeps, { tenant, stream: 'ops' })).intact, true);
      assert.equal((await s.verifyOutside(tenant)).intact, true);
    }
    // The stage-wide key, if it leaked, signs nothing that verifies now.
    await s.append('tenant-b');
    await checkpointStream({ ...s.signingDeps, signingKey: async () => legacy }, { tenant: 'tenant-b', stream: 'ops' });
    const result = await verifyStored(s.readDeps, { tenant: 'tenant-b', stream: 'ops' });
    assert.deepEqual([result.intact, !result.intact && result.reason], [false, 'bad-signature']);
  });
});
