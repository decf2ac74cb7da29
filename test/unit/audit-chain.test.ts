import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { appendRecord, buildEntry, canonicalEntryJson, entryHash, payloadHash } from '../../lib/audit/chain.ts';
import { ZERO_HASH } from '../../lib/audit/digest.ts';
import { ChainConflictError } from '../../lib/audit/errors.ts';
import { MemoryLedgerStore, MemoryPayloadStore } from '../../lib/audit/memory-store.ts';
import type { AppendInput, LedgerEntry } from '../../lib/audit/schemas.ts';
import { verifyStream } from '../../lib/audit/verify.ts';

const input = (n: number): AppendInput => ({
  tenant: 'acme',
  stream: 'ops',
  timestamp: '2025-01-01T00:00:00.000Z',
  actor: 'alice',
  correlationId: `req-${n}`,
  payload: { kind: 'note', n },
});

describe('chain: entries', () => {
  it('hashes payloads by their canonical JSON, whatever the key order', () => {
    assert.equal(payloadHash({ b: 1, a: { d: [1, 2], c: 'x' } }), payloadHash({ a: { c: 'x', d: [1, 2] }, b: 1 }));
    assert.notEqual(payloadHash({ a: 1 }), payloadHash({ a: 2 }));
    assert.match(payloadHash({}), /^[0-9a-f]{64}$/);
  });

  it('starts a stream at seq 0 with 64 zeros as prevHash and links each entry to the previous hash', () => {
    const first = buildEntry(undefined, input(0));
    const second = buildEntry(first, input(1));
    assert.equal(first.seq, 0);
    assert.equal(first.prevHash, ZERO_HASH);
    assert.equal(first.correlationId, 'req-0');
    assert.equal(second.seq, 1);
    assert.equal(second.prevHash, first.hash);
    assert.equal(first.payloadHash, payloadHash({ kind: 'note', n: 0 }));
  });

  it('hashes an entry as SHA-256 of canonicalize(entry without hash)', () => {
    const entry = buildEntry(undefined, { ...input(0), correlationId: undefined });
    const { hash, ...rest } = entry;
    assert.equal(entry.correlationId, null);
    assert.equal(canonicalEntryJson(rest), canonicalize(rest));
    assert.equal(hash, entryHash(rest));
  });

  it('writes the same canonical JSON as canonicalize for any field values', () => {
    fc.assert(
      fc.property(
        fc.record({
          tenant: fc.string({ unit: 'binary' }),
          stream: fc.string({ unit: 'grapheme' }),
          seq: fc.nat(),
          timestamp: fc.string(),
          prevHash: fc.string({ unit: 'binary-ascii' }),
          payloadHash: fc.string(),
          actor: fc.string({ unit: 'binary' }),
          correlationId: fc.option(fc.string({ unit: 'binary' }), { nil: null }),
        }),
        (entry) => {
          assert.equal(canonicalEntryJson(entry), canonicalize(entry));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('rejects malformed input naming the field, and a previous entry of another stream', () => {
    assert.throws(
      () => buildEntry(undefined, { ...input(0), tenant: 'ACME' }),
      (error: Error) => error.name === 'ValidationError' && /tenant/.test(error.message),
    );
    assert.throws(() => buildEntry(undefined, { ...input(0), timestamp: 'yesterday' }), /timestamp/);
    assert.throws(() => buildEntry(undefined, { ...input(0), payload: [1] as unknown as AppendInput['payload'] }), /payload/);
    const other = buildEntry(undefined, { ...input(0), stream: 'billing' });
    assert.throws(() => buildEntry(other, input(1)), /belongs to acme\/billing/);
  });
});

describe('chain: appendRecord', () => {
  it('appends in order and stores each payload under its hash', async () => {
    const store = new MemoryLedgerStore();
    const payloads = new MemoryPayloadStore();
    for (let n = 0; n < 5; n += 1) await appendRecord(store, input(n), { payloads });
    const entries = store.entries('acme', 'ops');
    assert.deepEqual(
      entries.map((entry) => entry.seq),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(await payloads.get('acme', entries[3]?.payloadHash ?? ''), { kind: 'note', n: 3 });
    assert.equal(verifyStream({ entries, checkpoints: [], keys: { keys: [] } }).intact, true);
  });

  it('turns 200 concurrent appends into one unbroken chain of 200', async () => {
    const store = new MemoryLedgerStore();
    const results = await Promise.all(Array.from({ length: 200 }, (_, n) => appendRecord(store, input(n), { maxRetries: 200 })));
    const entries = store.entries('acme', 'ops');
    assert.equal(entries.length, 200);
    assert.deepEqual(
      entries.map((entry) => entry.seq),
      Array.from({ length: 200 }, (_, seq) => seq),
    );
    assert.deepEqual(new Set(results.map((entry) => entry.seq)).size, 200);
    assert.deepEqual(new Set(entries.map((entry) => entry.correlationId)), new Set(Array.from({ length: 200 }, (_, n) => `req-${n}`)));
    assert.deepEqual(verifyStream({ entries, checkpoints: [], keys: { keys: [] } }), {
      intact: true,
      entries: 200,
      checkpoints: 0,
      expiredPayloads: 0,
      proofs: 0,
      checkpointedEntries: 0,
    });
  });

  it('gives up with ChainConflictError after maxRetries lost races', async () => {
    const store = new MemoryLedgerStore();
    let attempts = 0;
    const hostile = {
      latest: () => store.latest('acme', 'ops'),
      read: () => store.read('acme', 'ops', 0),
      append: async (entry: LedgerEntry) => {
        attempts += 1;
        throw new ChainConflictError('taken', entry.seq);
      },
    };
    await assert.rejects(
      appendRecord(hostile, input(0), { maxRetries: 3 }),
      (error: Error) => error instanceof ChainConflictError && /4 times/.test(error.message),
    );
    assert.equal(attempts, 4);
  });

  it('does not retry errors other than conflicts', async () => {
    let attempts = 0;
    const failing = {
      latest: async () => undefined,
      read: async () => [],
      append: async () => {
        attempts += 1;
        throw new Error('table is gone');
      },
    };
    await assert.rejects(appendRecord(failing, input(0)), /table is gone/);
    assert.equal(attempts, 1);
  });
});
