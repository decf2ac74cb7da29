/**
 * Checkpoint time against stream length, on the in-memory ports: a checkpoint of 100 new entries
 * resumed from the head's tree tip (what the signer does now) against the full re-read every
 * checkpoint used to do (the same signer walking from seq 0: `fullPass`), for streams of 10^3 to
 * 10^6 entries. The incremental time should stay flat; the full re-read grows with the stream.
 * Run alone: `node bench/audit-checkpoint.ts`. Prints figures; checks every signed root against
 * one recomputed from the entries.
 */
import { entryHash, payloadHash } from '../lib/audit/chain.ts';
import { generateSigningKey } from '../lib/audit/checkpoint.ts';
import { ZERO_HASH } from '../lib/audit/digest.ts';
import { type CheckpointDeps, checkpointStream } from '../lib/audit/engine.ts';
import { MemoryCheckpointHeadStore, MemoryCheckpointStore, MemoryLedgerStore } from '../lib/audit/memory-store.ts';
import { MerkleFrontier } from '../lib/audit/merkle-frontier.ts';
import type { LedgerEntry } from '../lib/audit/schemas.ts';

const SIZES = [1_000, 10_000, 100_000, 1_000_000];
const NEW_ENTRIES = 100;
const INCREMENTAL_RUNS = 7;
const REF = { tenant: 'acme', stream: 'ops' };
const TIMESTAMP = '2025-06-01T12:00:00.000Z';

/**
 * A valid chain of `count` entries, built directly (the fixed fields shared, one hash per entry)
 * rather than through `buildEntry`, so a million entries take seconds, not a minute.
 */
function chain(count: number): LedgerEntry[] {
  const payload = payloadHash({ kind: 'bench', note: 'every entry carries the same payload' });
  const entries: LedgerEntry[] = new Array(count);
  let prevHash = ZERO_HASH;
  for (let seq = 0; seq < count; seq += 1) {
    const unhashed = { ...REF, seq, timestamp: TIMESTAMP, prevHash, payloadHash: payload, actor: 'system:bench', correlationId: null };
    const entry = { ...unhashed, hash: entryHash(unhashed) };
    entries[seq] = entry;
    prevHash = entry.hash;
  }
  return entries;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;

/** The root of the first `size` entries, recomputed independently of the signer. */
function rootOf(entries: readonly LedgerEntry[], size: number): string {
  const frontier = new MerkleFrontier();
  for (let seq = 0; seq < size; seq += 1) frontier.append(Buffer.from((entries[seq] as LedgerEntry).hash, 'hex'));
  return frontier.root().toString('hex');
}

export async function benchAuditCheckpoint(): Promise<void> {
  const started = performance.now();
  const largest = (SIZES.at(-1) ?? 0) + NEW_ENTRIES * (INCREMENTAL_RUNS + 1);
  const generated = performance.now();
  const entries = chain(largest);
  console.log(
    `${largest.toLocaleString('en-US')} chained entries generated in ${((performance.now() - generated) / 1000).toFixed(1)} s; each size gets a fresh in-memory store`,
  );
  console.log('entries     first checkpoint   +100, from the tip (median of 7)   +100, full re-read from seq 0   full ÷ incremental');
  const key = generateSigningKey('2025-01-01T00:00:00.000Z');
  for (const size of SIZES) {
    const ledger = new MemoryLedgerStore();
    ledger.load(entries.slice(0, size));
    const deps: CheckpointDeps = {
      ledger,
      checkpoints: new MemoryCheckpointStore(),
      heads: new MemoryCheckpointHeadStore(),
      signingKey: async () => key,
      now: () => new Date(TIMESTAMP),
    };
    let stored = size;
    const grow = () => {
      ledger.load(entries.slice(stored, stored + NEW_ENTRIES));
      stored += NEW_ENTRIES;
    };
    /** One checkpoint, timed; it must have read exactly `expected` entries. */
    const timed = async (fullPass: boolean, expected: number) => {
      const at = performance.now();
      const outcome = await checkpointStream(deps, REF, { fullPass });
      const elapsed = performance.now() - at;
      if (!outcome.created || outcome.walked !== expected)
        throw new Error(`a checkpoint at ${stored} read ${outcome.walked} entries, not ${expected}`);
      return { elapsed, outcome };
    };
    const first = await timed(false, size);
    const incremental: number[] = [];
    for (let run = 0; run < INCREMENTAL_RUNS; run += 1) {
      grow();
      incremental.push((await timed(false, NEW_ENTRIES)).elapsed);
    }
    grow();
    const full = await timed(true, stored);
    if (full.outcome.checkpoint?.rootHash !== rootOf(entries, stored)) throw new Error(`the checkpoint at ${stored} signed a wrong root`);
    const step = median(incremental);
    console.log(
      `${size.toLocaleString('en-US').padStart(9)}   ${ms(first.elapsed).padStart(16)}   ${ms(step).padStart(32)}   ${ms(full.elapsed).padStart(29)}   ${`${(full.elapsed / step).toFixed(0)}×`.padStart(18)}`,
    );
  }
  console.log(`checkpoint bench took ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) await benchAuditCheckpoint();
