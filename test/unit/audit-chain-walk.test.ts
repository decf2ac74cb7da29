/**
 * The chain walker read in pieces: a stored stream verified page by page, and a walk saved as
 * plain data and resumed, reach the same verdict as one pass over every entry, intact or tampered.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ChainWalker, type WalkPosition } from '../../lib/audit/chain-walk.ts';
import { signCheckpoint } from '../../lib/audit/checkpoint.ts';
import { verifyStored } from '../../lib/audit/engine.ts';
import { MemoryCheckpointStore, MemoryLedgerStore, MemoryPayloadStore, MemoryPublishedKeyStore } from '../../lib/audit/memory-store.ts';
import type { Checkpoint, LedgerEntry, Payload } from '../../lib/audit/schemas.ts';
import { type VerifyResult, verifyStream, verifyWalked } from '../../lib/audit/verify.ts';
import { buildStream, type TestStream } from '../helpers/audit-stream.ts';

type Tampering =
  | { kind: 'none' }
  | { kind: 'delete-entry' | 'alter-entry' | 'alter-payload' | 'expire-payload'; at: number }
  | { kind: 'resign-checkpoint' | 'drop-checkpoint'; at: number };

const tamperingArb: fc.Arbitrary<Tampering> = fc.oneof(
  fc.constant<Tampering>({ kind: 'none' }),
  fc.record({
    kind: fc.constantFrom('delete-entry', 'alter-entry', 'alter-payload', 'expire-payload'),
    at: fc.nat(),
  }) as fc.Arbitrary<Tampering>,
  fc.record({ kind: fc.constantFrom('resign-checkpoint', 'drop-checkpoint'), at: fc.nat() }) as fc.Arbitrary<Tampering>,
);

/** The stream as stored after the tampering: entries (ascending, as a store returns them), payloads, checkpoints. */
function tampered(stream: TestStream, tampering: Tampering) {
  let entries: LedgerEntry[] = stream.entries.map((entry) => ({ ...entry }));
  const payloads = new Map<string, Payload | 'expired'>(stream.payloads);
  let checkpoints: Checkpoint[] = [...stream.checkpoints];
  if (tampering.kind === 'none') return { entries, payloads, checkpoints };
  if (tampering.kind === 'resign-checkpoint' || tampering.kind === 'drop-checkpoint') {
    const at = tampering.at % checkpoints.length;
    const victim = checkpoints[at] as Checkpoint;
    if (tampering.kind === 'drop-checkpoint') checkpoints = checkpoints.filter((_, index) => index !== at);
    else {
      const { signature: _signature, ...body } = victim;
      checkpoints[at] = signCheckpoint({ ...body, rootHash: 'ab'.repeat(32) }, stream.key);
    }
    return { entries, payloads, checkpoints };
  }
  const at = tampering.at % entries.length;
  const victim = entries[at] as LedgerEntry;
  if (tampering.kind === 'delete-entry') entries = entries.filter((_, index) => index !== at);
  else if (tampering.kind === 'alter-entry') entries[at] = { ...victim, actor: `${victim.actor}!` };
  else if (tampering.kind === 'alter-payload') payloads.set(victim.payloadHash, { forged: true });
  else payloads.set(victim.payloadHash, 'expired');
  return { entries, payloads, checkpoints };
}

function withoutStoreFields(result: VerifyResult & { tenant?: string; stream?: string; keyIds?: string[] }): VerifyResult {
  const { tenant: _tenant, stream: _stream, keyIds: _keyIds, ...rest } = result;
  return rest as VerifyResult;
}

describe('chain walker: in pieces, the same verdict', () => {
  it('verifies a stored stream page by page exactly as one pass over all its entries, for any tampering and page size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 45 }),
        tamperingArb,
        async (count, every, pageSize, tampering) => {
          const stream = buildStream(count, { checkpointEvery: every });
          const { entries, payloads, checkpoints } = tampered(stream, tampering);
          const ledger = new MemoryLedgerStore();
          ledger.load(entries);
          const payloadStore = new MemoryPayloadStore();
          for (const [hash, payload] of payloads) if (payload !== 'expired') await payloadStore.put(stream.tenant, hash, payload);
          const checkpointStore = new MemoryCheckpointStore();
          for (const checkpoint of checkpoints) await checkpointStore.put(checkpoint);
          const publishedKeys = new MemoryPublishedKeyStore();
          await publishedKeys.publishAll(stream.tenant, stream.keys);
          const ref = { tenant: stream.tenant, stream: stream.stream };
          const paged = await verifyStored({ ledger, payloads: payloadStore, checkpoints: checkpointStore, publishedKeys }, ref, {
            pageSize,
          });
          const whole = verifyStream({ entries, payloads, checkpoints, keys: stream.keys, ...ref });
          assert.deepEqual(withoutStoreFields(paged), whole);
          // Only an expired payload is no break, and dropping the latest checkpoint leaves a stream signed up to an earlier point.
          const dropsLatest =
            tampering.kind === 'drop-checkpoint' && tampering.at % stream.checkpoints.length === stream.checkpoints.length - 1;
          if (tampering.kind !== 'none' && tampering.kind !== 'expire-payload' && !dropsLatest)
            assert.equal(whole.intact, false, `${tampering.kind} goes unnoticed`);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('resumes from its position as JSON at any split points and reaches the same verdict and root', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.array(fc.nat(40), { maxLength: 5 }), tamperingArb, (count, splits, tampering) => {
        const stream = buildStream(Math.max(count, 1), { checkpointEvery: 3 });
        const { entries, payloads, checkpoints } = tampered(stream, tampering);
        const options = { tenant: stream.tenant, stream: stream.stream, roots: checkpoints };
        const whole = new ChainWalker(options);
        for (const entry of entries) whole.push(entry, payloads);
        let walker = new ChainWalker(options);
        entries.forEach((entry, index) => {
          if (splits.includes(index)) {
            const position = JSON.parse(JSON.stringify(walker.position())) as WalkPosition;
            walker = new ChainWalker({ ...options, position });
          }
          walker.push(entry, payloads);
        });
        assert.deepEqual(walker.position(), whole.position());
        assert.deepEqual(walker.root(), whole.root());
        const input = { checkpoints, keys: stream.keys, tenant: stream.tenant, stream: stream.stream };
        assert.deepEqual(verifyWalked(walker, input), verifyWalked(whole, input));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps as its tip the frontier of all leaves but the last, and the last hash, from which a walk resumes', () => {
    const stream = buildStream(13, { checkpointEvery: 100 });
    const walker = new ChainWalker({ tenant: 'acme', stream: 'ops' });
    for (const entry of stream.entries.slice(0, 9)) walker.push(entry);
    const tip = walker.tip();
    assert.ok(tip);
    assert.deepEqual([tip.treeSize, tip.lastEntryHash, tip.frontier.length], [9, stream.entries[8]?.hash, 1]);
    assert.deepEqual(tip.frontier, [stream.tree.root(8).toString('hex')]);
    const resumed = ChainWalker.fromTip(tip, { tenant: 'acme', stream: 'ops' });
    assert.deepEqual(resumed.root(), stream.tree.root(9));
    for (const entry of stream.entries.slice(9)) assert.equal(resumed.push(entry), undefined);
    assert.deepEqual(resumed.root(), stream.tree.root(13));
  });
});
