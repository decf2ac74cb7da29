/**
 * Audit engine figures: verification throughput against the bare cost of hashing the same
 * entries, and proof generation time against tree size (it should grow like log n).
 * Run alone: `node bench/audit.ts`. Prints figures, asserts nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import canonicalize from 'canonicalize';
import { buildEntry } from '../lib/audit/chain.ts';
import { createCheckpoint, generateSigningKey, publicKeySet } from '../lib/audit/checkpoint.ts';
import { MerkleTree } from '../lib/audit/merkle.ts';
import type { Checkpoint, LedgerEntry, Payload } from '../lib/audit/schemas.ts';
import { verifyStream } from '../lib/audit/verify.ts';

const ENTRIES = 100_000;
const CHECKPOINT_EVERY = 1_000;

function best(runs: number, work: () => void): number {
  let fastest = Number.POSITIVE_INFINITY;
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    work();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}

const rate = (count: number, ms: number) => `${Math.round((count / ms) * 1000).toLocaleString('en-US')}/s`;

function benchVerification(): void {
  const key = generateSigningKey('2025-01-01T00:00:00.000Z');
  const keys = publicKeySet([key]);
  const entries: LedgerEntry[] = [];
  const payloads = new Map<string, Payload | 'expired'>();
  const checkpoints: Checkpoint[] = [];
  const tree = new MerkleTree();
  const base = Date.parse('2025-01-01T00:00:00.000Z');
  const setupStarted = performance.now();
  for (let seq = 0; seq < ENTRIES; seq += 1) {
    const payload = { kind: 'observation', series: `svc-${seq % 17}`, value: seq * 0.25, tags: ['bench', `shard-${seq % 8}`] };
    const entry = buildEntry(entries.at(-1), {
      tenant: 'acme',
      stream: 'ops',
      timestamp: new Date(base + seq * 1000).toISOString(),
      actor: seq % 5 === 0 ? 'system:detector' : `user-${seq % 13}`,
      correlationId: `corr-${seq}`,
      payload,
    });
    entries.push(entry);
    payloads.set(entry.payloadHash, payload);
    tree.append(Buffer.from(entry.hash, 'hex'));
    if (tree.size % CHECKPOINT_EVERY === 0) {
      checkpoints.push(
        createCheckpoint({ tenant: 'acme', stream: 'ops', tree, timestamp: entry.timestamp, previous: checkpoints.at(-1) }, key),
      );
    }
  }
  console.log(
    `setup: ${ENTRIES.toLocaleString('en-US')} entries, ${checkpoints.length} checkpoints built in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`,
  );

  // Baseline: the least any verifier must do — canonicalize each entry (without hash) and SHA-256 it.
  let sink = 0;
  const baselineMs = best(5, () => {
    for (const entry of entries) {
      const { hash: _hash, ...rest } = entry;
      sink ^=
        createHash('sha256')
          .update(canonicalize(rest) ?? '')
          .digest()[0] ?? 0;
    }
  });
  let intact = true;
  const verifyMs = best(5, () => {
    intact &&= verifyStream({ entries, checkpoints, keys }).intact;
  });
  const verifyWithPayloadsMs = best(3, () => {
    intact &&= verifyStream({ entries, payloads, checkpoints, keys }).intact;
  });
  console.log(`baseline canonicalize + SHA-256 per entry:        ${rate(ENTRIES, baselineMs).padStart(12)}  (${baselineMs.toFixed(0)} ms)`);
  console.log(
    `verifyStream (chain, Merkle roots, ${checkpoints.length} checkpoints + consistency): ${rate(ENTRIES, verifyMs).padStart(12)}  (${verifyMs.toFixed(0)} ms)  ratio to baseline ${(baselineMs / verifyMs).toFixed(2)} (target ≥ 0.5)`,
  );
  console.log(
    `verifyStream + every payload re-hashed:           ${rate(ENTRIES, verifyWithPayloadsMs).padStart(12)}  (${verifyWithPayloadsMs.toFixed(0)} ms)  ratio ${(baselineMs / verifyWithPayloadsMs).toFixed(2)}`,
  );
  if (!intact || sink < 0) console.log('unexpected: the bench stream did not verify');
}

function benchProofs(): void {
  const maxLog = 20;
  const leaves = randomBytes(32 * 2 ** maxLog);
  const buildStarted = performance.now();
  const tree = new MerkleTree();
  for (let index = 0; index < 2 ** maxLog; index += 1) tree.append(leaves.subarray(index * 32, index * 32 + 32));
  const buildMs = performance.now() - buildStarted;
  console.log(
    `cached tree of 2^${maxLog} leaves: built in ${(buildMs / 1000).toFixed(2)} s (${rate(2 ** maxLog, buildMs)} appends), ${(tree.byteLength / 2 ** 20).toFixed(0)} MiB of cached subtree hashes (${(tree.byteLength / 2 ** maxLog).toFixed(0)} B/leaf)`,
  );
  console.log('tree size      inclusion µs/proof  path  consistency µs/proof  path   (sizes 2^k and 2^k−1; 4,000 random proofs each)');
  const samples = 4_000;
  let seed = 7;
  const random = (below: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % below;
  };
  for (let log = 10; log <= maxLog; log += 1) {
    for (const size of [2 ** log, 2 ** log - 1]) {
      let inclusionLength = 0;
      let consistencyLength = 0;
      const inclusionMs = best(3, () => {
        for (let sample = 0; sample < samples; sample += 1) inclusionLength = tree.inclusionProof(random(size), size).length;
      });
      const consistencyMs = best(3, () => {
        for (let sample = 0; sample < samples; sample += 1) consistencyLength = tree.consistencyProof(1 + random(size - 1), size).length;
      });
      console.log(
        `${`2^${log}${size === 2 ** log ? '  ' : '−1'}`.padEnd(13)}${((inclusionMs * 1000) / samples).toFixed(2).padStart(17)}${String(inclusionLength).padStart(6)}${((consistencyMs * 1000) / samples).toFixed(2).padStart(22)}${String(consistencyLength).padStart(6)}`,
      );
    }
  }
  const naiveStarted = performance.now();
  MerkleTree.fromLeaves(Array.from({ length: 2 ** 16 }, (_, index) => leaves.subarray(index * 32, index * 32 + 32))).inclusionProof(
    12_345,
    2 ** 16,
  );
  console.log(
    `for contrast, one proof at 2^16 without a cached tree (rebuild, O(n)): ${((performance.now() - naiveStarted) * 1000).toFixed(0)} µs`,
  );
}

export async function benchAudit(): Promise<void> {
  const started = performance.now();
  console.log('\nAudit: verification throughput');
  benchVerification();
  console.log('\nAudit: proof generation vs tree size');
  benchProofs();
  console.log(`\naudit bench took ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) await benchAudit();
