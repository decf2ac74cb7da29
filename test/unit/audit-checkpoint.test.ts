import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  checkpointHash,
  checkpointKey,
  createCheckpoint,
  generateSigningKey,
  keyIdOf,
  publicKeySet,
  retireKey,
  signCheckpoint,
  verifyCheckpoint,
} from '../../lib/audit/checkpoint.ts';
import { MerkleTree } from '../../lib/audit/merkle.ts';
import { type CheckpointBody, publicKeySetSchema } from '../../lib/audit/schemas.ts';

const body = (keyId: string, overrides: Partial<CheckpointBody> = {}): CheckpointBody => ({
  tenant: 'acme',
  stream: 'ops',
  treeSize: 3,
  rootHash: 'ab'.repeat(32),
  timestamp: '2025-01-02T00:00:00.000Z',
  previousCheckpointHash: null,
  keyId,
  ...overrides,
});

describe('checkpoint: keys', () => {
  it('derives the key id from SHA-256 of the raw 32-byte public key', () => {
    const key = generateSigningKey('2025-01-01T00:00:00.000Z');
    const raw = Buffer.from(key.publicKey, 'base64');
    assert.equal(raw.length, 32);
    assert.equal(key.keyId, createHash('sha256').update(raw).digest('hex').slice(0, 16));
    assert.equal(keyIdOf(raw), key.keyId);
  });

  it('publishes public halves only, in the schema the verifier reads, retired keys included', () => {
    const old = retireKey(generateSigningKey('2024-01-01T00:00:00.000Z'), '2025-01-01T00:00:00.000Z');
    const current = generateSigningKey('2025-01-01T00:00:00.000Z');
    const set = publicKeySet([old, current]);
    assert.deepEqual(publicKeySetSchema.parse(set), set);
    assert.equal(JSON.stringify(set).includes(current.privateKey), false);
    assert.equal(set.keys[0]?.retiredAt, '2025-01-01T00:00:00.000Z');
    assert.equal('retiredAt' in (set.keys[1] ?? {}), false);
  });
});

describe('checkpoint: signatures', () => {
  it('signs and verifies a checkpoint', () => {
    const key = generateSigningKey();
    const checkpoint = signCheckpoint(body(key.keyId), key);
    assert.match(checkpoint.signature, /^[A-Za-z0-9+/]{86}==$/);
    assert.deepEqual(verifyCheckpoint(checkpoint, publicKeySet([key])).valid, true);
  });

  it('reports bad-signature for any changed field, and unknown-key for a key not in the set', () => {
    const key = generateSigningKey();
    const checkpoint = signCheckpoint(body(key.keyId), key);
    const keys = publicKeySet([key]);
    for (const changed of [
      { treeSize: 4 },
      { rootHash: 'cd'.repeat(32) },
      { timestamp: '2025-01-03T00:00:00.000Z' },
      { stream: 'billing' },
    ]) {
      const result = verifyCheckpoint({ ...checkpoint, ...changed }, keys);
      assert.equal(result.valid ? 'valid' : result.reason, 'bad-signature', JSON.stringify(changed));
    }
    const foreign = generateSigningKey();
    const resigned = signCheckpoint(body(foreign.keyId), foreign);
    const unknown = verifyCheckpoint(resigned, keys);
    assert.equal(unknown.valid ? 'valid' : unknown.reason, 'unknown-key');
  });

  it('keeps old checkpoints verifiable after rotation, and rejects new ones signed by the retired key', () => {
    const old = generateSigningKey('2024-01-01T00:00:00.000Z');
    const before = signCheckpoint(body(old.keyId, { timestamp: '2024-06-01T00:00:00.000Z' }), old);
    const after = signCheckpoint(body(old.keyId, { timestamp: '2025-06-01T00:00:00.000Z' }), old);
    const next = generateSigningKey('2025-01-01T00:00:00.000Z');
    const keys = publicKeySet([retireKey(old, '2025-01-01T00:00:00.000Z'), next]);
    assert.equal(verifyCheckpoint(before, keys).valid, true);
    const late = verifyCheckpoint(after, keys);
    assert.equal(late.valid ? 'valid' : late.reason, 'bad-signature');
    assert.equal(verifyCheckpoint(signCheckpoint(body(next.keyId), next), keys).valid, true);
  });

  it('treats a published key whose id does not match its bytes as unknown', () => {
    const key = generateSigningKey();
    const other = generateSigningKey();
    const checkpoint = signCheckpoint(body(key.keyId), key);
    const lying = { keys: [{ ...publicKeySet([other]).keys[0], keyId: key.keyId } as never] };
    const result = verifyCheckpoint(checkpoint, lying);
    assert.equal(result.valid ? 'valid' : result.reason, 'unknown-key');
  });

  it('refuses to sign with a retired key or for another key id', () => {
    const key = generateSigningKey();
    assert.throws(() => signCheckpoint(body('0123456789abcdef'), key), /names key/);
    assert.throws(() => signCheckpoint(body(key.keyId), retireKey(key, '2025-01-01T00:00:00.000Z')), /retired/);
  });

  it('chains checkpoints by the hash of the previous signed checkpoint', () => {
    const key = generateSigningKey();
    const tree = MerkleTree.fromLeaves([Buffer.alloc(32, 1), Buffer.alloc(32, 2), Buffer.alloc(32, 3)]);
    const first = createCheckpoint({ tenant: 'acme', stream: 'ops', tree, treeSize: 2, timestamp: '2025-01-01T00:00:00.000Z' }, key);
    const second = createCheckpoint({ tenant: 'acme', stream: 'ops', tree, timestamp: '2025-01-01T00:01:00.000Z', previous: first }, key);
    assert.equal(first.previousCheckpointHash, null);
    assert.equal(first.rootHash, tree.root(2).toString('hex'));
    assert.equal(second.treeSize, 3);
    assert.equal(second.previousCheckpointHash, checkpointHash(first));
    assert.throws(
      () =>
        createCheckpoint(
          { tenant: 'acme', stream: 'ops', tree, treeSize: 1, timestamp: '2025-01-01T00:02:00.000Z', previous: second },
          key,
        ),
      /cannot precede/,
    );
  });

  it('stores checkpoints under a predictable, sortable S3 key', () => {
    assert.equal(checkpointKey('acme', 'ops', 42), 'acme/audit/checkpoints/ops/0000000000000042.json');
    assert.ok(checkpointKey('acme', 'ops', 9) < checkpointKey('acme', 'ops', 10));
  });
});
