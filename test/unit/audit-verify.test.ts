import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildEntry } from '../../lib/audit/chain.ts';
import { checkpointHash, createCheckpoint, generateSigningKey, signCheckpoint } from '../../lib/audit/checkpoint.ts';
import { MerkleTree } from '../../lib/audit/merkle.ts';
import type { Checkpoint, LedgerEntry, Payload } from '../../lib/audit/schemas.ts';
import { type VerifyResult, verifyStream } from '../../lib/audit/verify.ts';
import { buildStream, type TestStream, timestampOf } from '../helpers/audit-stream.ts';

function verify(
  stream: TestStream,
  changes: { entries?: LedgerEntry[]; payloads?: Map<string, Payload | 'expired'>; checkpoints?: Checkpoint[] } = {},
): VerifyResult {
  return verifyStream({
    entries: changes.entries ?? stream.entries,
    payloads: changes.payloads ?? stream.payloads,
    checkpoints: changes.checkpoints ?? stream.checkpoints,
    keys: stream.keys,
  });
}

function assertBroken(result: VerifyResult, reason: string, firstBadSeq: number): void {
  assert.equal(result.intact, false, 'expected the stream to be reported broken');
  if (result.intact) return;
  assert.deepEqual({ reason: result.reason, firstBadSeq: result.firstBadSeq }, { reason, firstBadSeq }, result.detail);
}

/** Re-signs `body` as the stream's own key would (a legitimate but wrong checkpoint). */
function resign(stream: TestStream, checkpoint: Checkpoint, changes: Partial<Checkpoint>): Checkpoint {
  const { signature: _old, ...body } = { ...checkpoint, ...changes };
  return signCheckpoint(body, stream.key);
}

describe('verifyStream: intact streams', () => {
  it('reports counts for an intact stream with checkpoints', () => {
    const stream = buildStream(12);
    assert.deepEqual(verify(stream), { intact: true, entries: 12, checkpoints: 3, expiredPayloads: 0, proofs: 0, checkpointedEntries: 12 });
  });

  it('reports payloads deleted by retention as expired, never as a break', () => {
    const stream = buildStream(12);
    const payloads = new Map(stream.payloads);
    payloads.set(stream.entries[2]?.payloadHash ?? '', 'expired');
    payloads.delete(stream.entries[7]?.payloadHash ?? '');
    const result = verify(stream, { payloads });
    assert.equal(result.intact, true);
    assert.equal(result.intact && result.expiredPayloads, 2);
  });

  it('verifies an empty stream', () => {
    assert.equal(verifyStream({ entries: [], checkpoints: [], keys: { keys: [] } }).intact, true);
  });

  it('verifies entries appended after the latest checkpoint', () => {
    const stream = buildStream(10, { checkpointEvery: 4 });
    const checkpoints = stream.checkpoints.slice(0, 2);
    assert.equal(verify(stream, { checkpoints }).intact, true);
  });
});

describe('verifyStream: tampering', () => {
  const stream = buildStream(12, { checkpointEvery: 4 });

  it('detects one changed byte of a payload: payload-mismatch at its seq', () => {
    const payloads = new Map(stream.payloads);
    const target = stream.entries[5] as LedgerEntry;
    payloads.set(target.payloadHash, { kind: 'note', seq: 5, text: 'event 5 ✗' });
    assertBroken(verify(stream, { payloads }), 'payload-mismatch', 5);
  });

  it('detects a changed entry field: hash-mismatch at its seq', () => {
    const entries = stream.entries.map((entry) => (entry.seq === 5 ? { ...entry, actor: 'mallory' } : entry));
    assertBroken(verify(stream, { entries }), 'hash-mismatch', 5);
  });

  it('detects a deleted entry: gap at its seq', () => {
    assertBroken(verify(stream, { entries: stream.entries.filter((entry) => entry.seq !== 5) }), 'gap', 5);
  });

  it('detects a deleted last entry through the checkpoint that covers it: gap', () => {
    assertBroken(verify(stream, { entries: stream.entries.slice(0, 11) }), 'gap', 11);
  });

  it('detects two swapped entries: reorder at the first', () => {
    const entries = [...stream.entries];
    [entries[5], entries[6]] = [entries[6] as LedgerEntry, entries[5] as LedgerEntry];
    assertBroken(verify(stream, { entries }), 'reorder', 5);
  });

  it('detects a second, different entry at a seq: fork', () => {
    const forged = buildEntry(stream.entries[4], {
      tenant: 'acme',
      stream: 'ops',
      timestamp: timestampOf(5),
      actor: 'mallory',
      correlationId: null,
      payload: { kind: 'note' },
    });
    const entries = [...stream.entries.slice(0, 6), forged, ...stream.entries.slice(6)];
    assertBroken(verify(stream, { entries }), 'fork', 5);
  });

  it('detects an entry re-linked to another predecessor: fork', () => {
    const other = buildStream(12, { payloadOf: (seq) => ({ kind: 'other', seq }) });
    const entries = stream.entries.map((entry) => (entry.seq === 7 ? (other.entries[7] as LedgerEntry) : entry));
    assertBroken(verify(stream, { entries }), 'fork', 7);
  });

  it('detects history rewritten and re-hashed from seq 5 on: checkpoint-root-mismatch after the last good checkpoint', () => {
    const entries = stream.entries.slice(0, 5);
    for (let seq = 5; seq < 12; seq += 1) {
      entries.push(
        buildEntry(entries.at(-1), {
          tenant: 'acme',
          stream: 'ops',
          timestamp: timestampOf(seq),
          actor: 'mallory',
          correlationId: null,
          payload: { kind: 'note' },
        }),
      );
    }
    const payloads = new Map(stream.payloads);
    payloads.set(entries[5]?.payloadHash ?? '', { kind: 'note' });
    const result = verify(stream, { entries, payloads });
    assertBroken(result, 'checkpoint-root-mismatch', 4);
    assert.equal(!result.intact && result.checkpointTreeSize, 8);
  });

  it('detects a replaced checkpoint (root changed, signature kept): bad-signature', () => {
    const checkpoints = stream.checkpoints.map((checkpoint) =>
      checkpoint.treeSize === 8 ? { ...checkpoint, rootHash: 'ab'.repeat(32) } : checkpoint,
    );
    assertBroken(verify(stream, { checkpoints }), 'bad-signature', 4);
  });

  it('detects a checkpoint re-signed with a foreign key: unknown-key', () => {
    const foreign = generateSigningKey();
    const checkpoints = stream.checkpoints.map((checkpoint) => {
      if (checkpoint.treeSize !== 8) return checkpoint;
      const { signature: _signature, ...body } = checkpoint;
      return signCheckpoint({ ...body, keyId: foreign.keyId }, foreign);
    });
    assertBroken(verify(stream, { checkpoints }), 'unknown-key', 4);
  });

  it('detects a validly signed checkpoint whose root is not the entries’ root: checkpoint-root-mismatch', () => {
    const checkpoints = stream.checkpoints
      .slice(0, 2)
      .map((checkpoint) => (checkpoint.treeSize === 8 ? resign(stream, checkpoint, { rootHash: 'ab'.repeat(32) }) : checkpoint));
    assertBroken(verify(stream, { checkpoints }), 'checkpoint-root-mismatch', 4);
  });

  it('detects a dropped checkpoint: checkpoint-chain-broken', () => {
    assertBroken(
      verify(stream, { checkpoints: [stream.checkpoints[0] as Checkpoint, stream.checkpoints[2] as Checkpoint] }),
      'checkpoint-chain-broken',
      4,
    );
  });

  it('detects a checkpoint of another stream: checkpoint-chain-broken', () => {
    const checkpoints = stream.checkpoints
      .slice(0, 2)
      .map((checkpoint) => (checkpoint.treeSize === 8 ? resign(stream, checkpoint, { stream: 'billing' }) : checkpoint));
    assertBroken(verify(stream, { checkpoints }), 'checkpoint-chain-broken', 4);
  });

  it('detects a checkpoint that shrinks the tree: inconsistent-checkpoint', () => {
    const tree = stream.tree;
    const big = createCheckpoint({ tenant: 'acme', stream: 'ops', tree, treeSize: 8, timestamp: timestampOf(8) }, stream.key);
    const small = signCheckpoint(
      {
        tenant: 'acme',
        stream: 'ops',
        treeSize: 4,
        rootHash: tree.root(4).toString('hex'),
        timestamp: timestampOf(9),
        previousCheckpointHash: checkpointHash(big),
        keyId: stream.key.keyId,
      },
      stream.key,
    );
    assertBroken(verify(stream, { checkpoints: [big, small] }), 'inconsistent-checkpoint', 8);
  });

  it('reports the first break when there are several', () => {
    const entries = stream.entries.map((entry) => (entry.seq === 9 || entry.seq === 3 ? { ...entry, actor: 'mallory' } : entry));
    assertBroken(verify(stream, { entries }), 'hash-mismatch', 3);
  });
});

const payloadArb: fc.Arbitrary<Payload> = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
  maxKeys: 4,
}) as fc.Arbitrary<Payload>;

const appendsArb = fc.array(
  fc.record({
    actor: fc.string({ maxLength: 12 }),
    correlationId: fc.option(fc.string({ maxLength: 12 }), { nil: null }),
    payload: payloadArb,
    checkpoint: fc.boolean(),
  }),
  { minLength: 1, maxLength: 40 },
);

function streamOf(
  appends: { actor: string; correlationId: string | null; payload: Payload; checkpoint: boolean }[],
  key: ReturnType<typeof generateSigningKey>,
) {
  const entries: LedgerEntry[] = [];
  const payloads = new Map<string, Payload | 'expired'>();
  const checkpoints: Checkpoint[] = [];
  const tree = new MerkleTree();
  appends.forEach((append, seq) => {
    const entry = buildEntry(entries.at(-1), { tenant: 'acme', stream: 'ops', timestamp: timestampOf(seq), ...append });
    entries.push(entry);
    payloads.set(entry.payloadHash, append.payload);
    tree.append(Buffer.from(entry.hash, 'hex'));
    if (append.checkpoint)
      checkpoints.push(
        createCheckpoint({ tenant: 'acme', stream: 'ops', tree, timestamp: timestampOf(seq), previous: checkpoints.at(-1) }, key),
      );
  });
  return { entries, payloads, checkpoints };
}

const FIELDS = ['tenant', 'stream', 'seq', 'timestamp', 'prevHash', 'payloadHash', 'actor', 'correlationId', 'hash'] as const;

function mutate(entry: LedgerEntry, field: (typeof FIELDS)[number], position: number, bit: number): LedgerEntry {
  const value = entry[field];
  if (typeof value === 'number') return { ...entry, [field]: value ^ (1 << (bit % 8)) };
  if (value === null) return { ...entry, [field]: '' };
  if (value.length === 0) return { ...entry, [field]: 'x' };
  const index = position % value.length;
  const flipped = String.fromCharCode(value.charCodeAt(index) ^ (1 << (bit % 7)));
  return { ...entry, [field]: value.slice(0, index) + flipped + value.slice(index + 1) };
}

describe('verifyStream: properties', () => {
  const key = generateSigningKey('2024-01-01T00:00:00.000Z');
  const keys = { keys: [{ keyId: key.keyId, algorithm: 'Ed25519' as const, publicKey: key.publicKey, createdAt: key.createdAt }] };

  it('verifies any sequence of appends and checkpoints', () => {
    fc.assert(
      fc.property(appendsArb, (appends) => {
        const { entries, payloads, checkpoints } = streamOf(appends, key);
        const result = verifyStream({ entries, payloads, checkpoints, keys });
        assert.equal(result.intact, true, result.intact ? '' : result.detail);
      }),
      { numRuns: 100 },
    );
  });

  it('detects any single flipped bit in any field of any entry', () => {
    fc.assert(
      fc.property(appendsArb, fc.nat(), fc.constantFrom(...FIELDS), fc.nat(), fc.nat(), (appends, which, field, position, bit) => {
        const { entries, payloads, checkpoints } = streamOf(appends, key);
        const index = which % entries.length;
        const tampered = entries.map((entry, at) => (at === index ? mutate(entry, field, position, bit) : entry));
        const result = verifyStream({ entries: tampered, payloads, checkpoints, keys });
        assert.equal(result.intact, false, `flip in ${field} of seq ${index} went unnoticed`);
        assert.ok(
          !result.intact && result.firstBadSeq <= index,
          `first bad seq ${!result.intact && result.firstBadSeq} after the mutated ${index}`,
        );
      }),
      { numRuns: 400 },
    );
  });

  it('detects any changed payload that is still kept', () => {
    fc.assert(
      fc.property(appendsArb, fc.nat(), (appends, which) => {
        const { entries, payloads, checkpoints } = streamOf(appends, key);
        const entry = entries[which % entries.length] as LedgerEntry;
        const changed = new Map(payloads);
        changed.set(entry.payloadHash, { ...(payloads.get(entry.payloadHash) as Payload), __tampered: true });
        const result = verifyStream({ entries, payloads: changed, checkpoints, keys });
        assert.equal(result.intact ? 'intact' : result.reason, 'payload-mismatch');
      }),
      { numRuns: 100 },
    );
  });
});
