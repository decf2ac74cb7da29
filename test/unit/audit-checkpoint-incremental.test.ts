/**
 * Checkpoints that do not re-read history: a checkpoint reads only the entries since the previous
 * one, resumed from the tree tip kept in the head; a head without a tip costs one walk from seq 0;
 * a tampered tip is refused; a broken new entry is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildEntry } from '../../lib/audit/chain.ts';
import { generateSigningKey, publicKeySet } from '../../lib/audit/checkpoint.ts';
import { type CheckpointDeps, checkpointStream, verifyStored } from '../../lib/audit/engine.ts';
import { LedgerStateError } from '../../lib/audit/errors.ts';
import { frontierLength } from '../../lib/audit/merkle-frontier.ts';
import { MerkleTree } from '../../lib/audit/merkle.ts';
import {
  MemoryCheckpointHeadStore,
  MemoryCheckpointStore,
  MemoryLedgerStore,
  MemoryPayloadStore,
  MemoryPublishedKeyStore,
} from '../../lib/audit/memory-store.ts';
import type { LedgerEntry } from '../../lib/audit/schemas.ts';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const REF = { tenant: 'acme', stream: 'ops' };

/** A memory ledger that records the seq ranges read. */
class CountingLedger extends MemoryLedgerStore {
  reads: Array<[number, number | undefined]> = [];

  override read(tenant: string, stream: string, fromSeq: number, toSeq?: number): Promise<LedgerEntry[]> {
    this.reads.push([fromSeq, toSeq]);
    return super.read(tenant, stream, fromSeq, toSeq);
  }

  /** Entries read since the last reset, counted from the ranges' bounds. */
  entriesRead(): number {
    return this.reads.reduce((total, [from, to]) => total + ((to ?? Number.POSITIVE_INFINITY) - from), 0);
  }
}

function world() {
  const ledger = new CountingLedger();
  const checkpoints = new MemoryCheckpointStore();
  const heads = new MemoryCheckpointHeadStore();
  const publishedKeys = new MemoryPublishedKeyStore();
  const key = generateSigningKey('2025-01-01T00:00:00.000Z');
  const deps: CheckpointDeps = { ledger, checkpoints, heads, signingKey: async () => key, now: () => NOW };
  const readDeps = { ledger, payloads: new MemoryPayloadStore(), checkpoints, publishedKeys };
  const appended: LedgerEntry[] = [];
  const append = (count: number) => {
    const fresh: LedgerEntry[] = [];
    for (let n = 0; n < count; n += 1) {
      const entry = buildEntry(appended.at(-1), {
        ...REF,
        timestamp: NOW.toISOString(),
        actor: 'alice',
        correlationId: `c-${appended.length}`,
        payload: { n: appended.length },
      });
      appended.push(entry);
      fresh.push(entry);
    }
    ledger.load(fresh);
  };
  const fullRoot = () =>
    MerkleTree.fromLeaves(appended.map((entry) => Buffer.from(entry.hash, 'hex')))
      .root()
      .toString('hex');
  return { ledger, checkpoints, heads, publishedKeys, key, deps, readDeps, appended, append, fullRoot };
}

async function publish(w: ReturnType<typeof world>) {
  await w.publishedKeys.publishAll(REF.tenant, publicKeySet([w.key]));
}

describe('checkpoints: incremental', () => {
  it('reads only the entries since the previous checkpoint and signs the root of the whole stream', async () => {
    const w = world();
    w.append(10);
    const first = await checkpointStream(w.deps, REF);
    assert.deepEqual([first.created, first.walked, first.checkpoint?.treeSize], [true, 10, 10]);
    w.append(5);
    w.ledger.reads = [];
    const second = await checkpointStream(w.deps, REF);
    assert.deepEqual([second.created, second.walked, second.checkpoint?.treeSize], [true, 5, 15]);
    assert.deepEqual(w.ledger.reads, [[10, 15]]);
    assert.equal(second.checkpoint?.rootHash, w.fullRoot());
    const head = await w.heads.get(REF.tenant, REF.stream);
    assert.equal(head?.tip?.treeSize, 15);
    assert.equal(head?.tip?.lastEntryHash, w.appended[14]?.hash);
    assert.equal(head?.tip?.frontier.length, frontierLength(14));
    await publish(w);
    const verified = await verifyStored(w.readDeps, REF);
    assert.deepEqual([verified.intact, verified.intact && verified.checkpoints], [true, 2]);
  });

  it('reads nothing but the head when the stream did not grow', async () => {
    const w = world();
    w.append(3);
    await checkpointStream(w.deps, REF);
    w.ledger.reads = [];
    const again = await checkpointStream(w.deps, REF);
    assert.deepEqual([again.created, again.walked, w.ledger.reads.length], [false, 0, 0]);
  });

  it('signs the same root as a full recomputation for any split of the appends into checkpoints', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), async (batches) => {
        const w = world();
        let incremental = 0;
        for (const batch of batches) {
          w.append(batch);
          const outcome = await checkpointStream(w.deps, REF);
          assert.equal(outcome.checkpoint?.rootHash, w.fullRoot());
          assert.equal(outcome.walked, batch);
          incremental += outcome.walked;
        }
        assert.equal(incremental, w.appended.length, 'every entry was read exactly once');
        await publish(w);
        assert.equal((await verifyStored(w.readDeps, REF)).intact, true);
      }),
      { numRuns: 40 },
    );
  });

  it('walks in pages, so a long backlog is never held at once', async () => {
    const w = world();
    w.append(12_001);
    const outcome = await checkpointStream(w.deps, REF);
    assert.equal(outcome.checkpoint?.rootHash, w.fullRoot());
    assert.deepEqual(w.ledger.reads, [
      [0, 5_000],
      [5_000, 10_000],
      [10_000, 12_001],
    ]);
  });
});

describe('checkpoints: heads without a tip', () => {
  it('walks once from seq 0 after a head stored without a tip, keeps a tip, then goes incremental', async () => {
    const w = world();
    w.append(8);
    const signed = await checkpointStream(w.deps, REF);
    assert.ok(signed.checkpoint);
    w.heads.set({ checkpoint: signed.checkpoint });
    w.append(4);
    w.ledger.reads = [];
    const legacy = await checkpointStream(w.deps, REF);
    assert.deepEqual([legacy.walked, w.ledger.entriesRead()], [12, 12]);
    assert.equal(legacy.checkpoint?.rootHash, w.fullRoot());
    assert.equal((await w.heads.get(REF.tenant, REF.stream))?.tip?.treeSize, 12);
    w.append(2);
    w.ledger.reads = [];
    const next = await checkpointStream(w.deps, REF);
    assert.deepEqual([next.walked, w.ledger.reads], [2, [[12, 14]]]);
  });

  it('chains to the latest stored checkpoint of a stream signed before the head register existed', async () => {
    const w = world();
    w.append(5);
    const old = await checkpointStream(w.deps, REF);
    w.append(3);
    const fresh = { ...w.deps, heads: new MemoryCheckpointHeadStore() };
    const outcome = await checkpointStream(fresh, REF);
    assert.deepEqual([outcome.created, outcome.walked, outcome.checkpoint?.treeSize], [true, 8, 8]);
    assert.equal(outcome.checkpoint?.previousCheckpointHash !== null, true);
    await publish(w);
    assert.equal((await verifyStored(w.readDeps, REF)).intact, true, 'the new checkpoint links to the old one');
    assert.ok(old.checkpoint);
  });

  it('refuses, on a full pass, a stream whose old entries no longer match the previous checkpoint', async () => {
    const w = world();
    w.append(6);
    await checkpointStream(w.deps, REF);
    const victim = w.appended[2] as LedgerEntry;
    w.ledger.remove(REF.tenant, REF.stream, 2);
    const forged = buildEntry(w.appended[1], {
      ...REF,
      timestamp: NOW.toISOString(),
      actor: 'mallory',
      correlationId: 'x',
      payload: { n: 2 },
    });
    w.ledger.load([forged]);
    assert.notEqual(forged.hash, victim.hash);
    w.append(1);
    await assert.rejects(checkpointStream(w.deps, REF, { fullPass: true }), /broken at seq 3 \(fork\)/);
  });
});

describe('checkpoints: refusals', () => {
  async function signedWithTip(count = 9) {
    const w = world();
    w.append(count);
    const signed = await checkpointStream(w.deps, REF);
    const head = await w.heads.get(REF.tenant, REF.stream);
    assert.ok(signed.checkpoint && head?.tip);
    w.append(2);
    return { w, checkpoint: signed.checkpoint, tip: head.tip };
  }

  async function assertRefused(w: ReturnType<typeof world>, pattern: RegExp) {
    const before = await w.heads.get(REF.tenant, REF.stream);
    const stored = (await w.checkpoints.list(REF.tenant, REF.stream)).length;
    await assert.rejects(checkpointStream(w.deps, REF), (error: Error) => error instanceof LedgerStateError && pattern.test(error.message));
    assert.deepEqual(await w.heads.get(REF.tenant, REF.stream), before, 'the head did not move');
    assert.equal((await w.checkpoints.list(REF.tenant, REF.stream)).length, stored, 'nothing was signed');
  }

  it('refuses a tip whose frontier was altered: it no longer reproduces the signed root', async () => {
    const { w, checkpoint, tip } = await signedWithTip();
    const frontier = [...tip.frontier];
    frontier[0] = (frontier[0] ?? '').replace(/^./, (c) => (c === '0' ? '1' : '0'));
    w.heads.set({ checkpoint, tip: { ...tip, frontier } });
    await assertRefused(w, /does not reproduce its signed root/);
  });

  it('refuses a tip whose last entry hash was altered, even with the frontier intact', async () => {
    const { w, checkpoint, tip } = await signedWithTip();
    w.heads.set({ checkpoint, tip: { ...tip, lastEntryHash: w.appended[3]?.hash ?? '' } });
    await assertRefused(w, /does not reproduce its signed root/);
  });

  it('refuses a tip of another size, of the wrong shape, or not a tip at all', async () => {
    const { w, checkpoint, tip } = await signedWithTip();
    w.heads.set({ checkpoint, tip: { ...tip, treeSize: tip.treeSize + 1 } });
    await assertRefused(w, /does not describe that tree/);
    w.heads.set({ checkpoint, tip: { ...tip, frontier: [...tip.frontier, tip.lastEntryHash] } });
    await assertRefused(w, /is malformed/);
    w.heads.set({ checkpoint, tip: {} as never });
    await assertRefused(w, /does not describe that tree/);
  });

  it('refuses a new entry altered after it was hashed: hash-mismatch at its seq', async () => {
    const w = world();
    w.append(4);
    await checkpointStream(w.deps, REF);
    const next = buildEntry(w.appended[3], { ...REF, timestamp: NOW.toISOString(), actor: 'alice', correlationId: 'x', payload: { n: 4 } });
    w.ledger.load([{ ...next, actor: 'mallory' }]);
    await assertRefused(w, /broken at seq 4 \(hash-mismatch\)/);
  });

  it('refuses a new entry that does not link to the last checkpointed one: fork at its seq', async () => {
    const w = world();
    w.append(4);
    await checkpointStream(w.deps, REF);
    const relinked = buildEntry(
      { ...(w.appended[3] as LedgerEntry), hash: 'f'.repeat(64) },
      {
        ...REF,
        timestamp: NOW.toISOString(),
        actor: 'mallory',
        correlationId: 'x',
        payload: { n: 4 },
      },
    );
    w.ledger.load([relinked]);
    await assertRefused(w, /broken at seq 4 \(fork\)/);
  });

  it('refuses a gap among the new entries', async () => {
    const w = world();
    w.append(4);
    await checkpointStream(w.deps, REF);
    w.append(3);
    w.ledger.remove(REF.tenant, REF.stream, 5);
    await assertRefused(w, /broken at seq 5 \(gap\)/);
  });

  it('refuses a stream that lost entries below its checkpoint', async () => {
    const w = world();
    w.append(6);
    await checkpointStream(w.deps, REF);
    w.ledger.remove(REF.tenant, REF.stream, 5);
    w.ledger.remove(REF.tenant, REF.stream, 4);
    await assertRefused(w, /below its checkpoint at tree size 6/);
  });
});
