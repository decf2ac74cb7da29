/**
 * Verification of a ledger stream: the hash chain, the payloads still kept, the signed
 * checkpoints (signatures, their own chain, their roots against the entries, Merkle consistency
 * between consecutive checkpoints) and, for exports, every inclusion and consistency proof.
 *
 * Precedence: the first chain break wins (entries are the primary evidence); checkpoints are
 * checked only over an intact chain; then proofs. For checkpoint failures `firstBadSeq` is the
 * first seq no verified checkpoint vouches for, i.e. the tree size of the last good checkpoint.
 */

import { entryHash, payloadHash } from './chain.ts';
import { checkpointHash, verifyCheckpoint } from './checkpoint.ts';
import { HEX_HASH, ZERO_HASH } from './digest.ts';
import { hashLeaf, MerkleTree, verifyConsistency, verifyInclusion } from './merkle.ts';
import type { Checkpoint, ConsistencyProofLine, InclusionProofLine, LedgerEntry, Payload, PublicKeySet } from './schemas.ts';

/** Why a stream failed verification. */
export type BreakReason =
  | 'hash-mismatch'
  | 'payload-mismatch'
  | 'gap'
  | 'fork'
  | 'reorder'
  | 'bad-signature'
  | 'unknown-key'
  | 'inconsistent-checkpoint'
  | 'checkpoint-root-mismatch'
  | 'checkpoint-chain-broken';

/** Input of `verifyStream`. */
export interface VerifyStreamInput {
  /** Entries in stored order, expected to run from seq `from` without holes. */
  entries: readonly LedgerEntry[];
  /** Payloads by `payloadHash`; `'expired'` (or absence) marks a payload deleted by retention. */
  payloads?: ReadonlyMap<string, Payload | 'expired'>;
  /** Signed checkpoints of the stream, oldest first, starting from the stream's first checkpoint. */
  checkpoints: readonly Checkpoint[];
  keys: PublicKeySet;
  /** Expected tenant and stream (default: those of the first entry or checkpoint). */
  tenant?: string;
  stream?: string;
  /** First seq of `entries` (default 0). Above 0, roots cannot be recomputed, so proofs are required. */
  from?: number;
  /** One past the last seq the entries must reach; when set, checkpoints beyond it are checked by proofs. */
  to?: number;
  /** Proofs shipped with an export; each one is verified. */
  proofs?: { inclusion: readonly InclusionProofLine[]; consistency: readonly ConsistencyProofLine[] };
}

/** An intact stream. */
export interface VerifyIntact {
  intact: true;
  /** Entries verified. */
  entries: number;
  /** Checkpoints verified. */
  checkpoints: number;
  /** Entries whose payload retention deleted (never a break). */
  expiredPayloads: number;
  /** Inclusion and consistency proofs verified. */
  proofs: number;
  /** Entries covered by the latest checkpoint (0 when there is none). */
  checkpointedEntries: number;
}

/** A broken stream: the first bad seq and why. */
export interface VerifyBroken {
  intact: false;
  firstBadSeq: number;
  reason: BreakReason;
  detail: string;
  /** The tree size of the offending checkpoint, for checkpoint failures. */
  checkpointTreeSize?: number;
}

/** The outcome of `verifyStream`. */
export type VerifyResult = VerifyIntact | VerifyBroken;

function broken(firstBadSeq: number, reason: BreakReason, detail: string, checkpointTreeSize?: number): VerifyBroken {
  return checkpointTreeSize === undefined
    ? { intact: false, firstBadSeq, reason, detail }
    : { intact: false, firstBadSeq, reason, detail, checkpointTreeSize };
}

function safeEntryHash(entry: LedgerEntry): string | undefined {
  try {
    return entryHash(entry);
  } catch {
    return undefined;
  }
}

function safePayloadHash(payload: Payload): string | undefined {
  try {
    return payloadHash(payload);
  } catch {
    return undefined;
  }
}

function hexBytes(hex: string): Buffer | undefined {
  return typeof hex === 'string' && HEX_HASH.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

interface ChainOutcome {
  failure?: VerifyBroken;
  expired: number;
  tree?: MerkleTree;
}

function walkChain(input: VerifyStreamInput, tenant: string | undefined, stream: string | undefined, from: number): ChainOutcome {
  const { entries, payloads } = input;
  const tree = from === 0 ? new MerkleTree() : undefined;
  const seen = new Map<number, string>();
  const positions = new Set<number>();
  for (const entry of entries) positions.add(entry.seq);
  let expired = 0;
  let prev: LedgerEntry | undefined;
  for (const [index, entry] of entries.entries()) {
    const expected = from + index;
    if (entry.seq !== expected) {
      const earlier = seen.get(entry.seq);
      if (earlier !== undefined) {
        return earlier === entry.hash
          ? { failure: broken(entry.seq, 'reorder', `seq ${entry.seq} appears again at position ${index}`), expired }
          : { failure: broken(entry.seq, 'fork', `two different entries claim seq ${entry.seq}`), expired };
      }
      if (positions.has(expected))
        return { failure: broken(expected, 'reorder', `position ${index} holds seq ${entry.seq}, seq ${expected} comes later`), expired };
      if (typeof entry.seq === 'number' && entry.seq > expected) {
        return { failure: broken(expected, 'gap', `seq ${expected} is missing (next present: ${entry.seq})`), expired };
      }
      return { failure: broken(expected, 'reorder', `position ${index} holds seq ${String(entry.seq)}, expected ${expected}`), expired };
    }
    seen.set(entry.seq, entry.hash);
    if (safeEntryHash(entry) !== entry.hash)
      return { failure: broken(entry.seq, 'hash-mismatch', `entry ${entry.seq} does not hash to its recorded hash`), expired };
    if (entry.tenant !== tenant || entry.stream !== stream) {
      return {
        failure: broken(entry.seq, 'fork', `entry ${entry.seq} belongs to ${entry.tenant}/${entry.stream}, not ${tenant}/${stream}`),
        expired,
      };
    }
    const expectedPrev = prev === undefined ? (from === 0 ? ZERO_HASH : undefined) : prev.hash;
    if (expectedPrev !== undefined && entry.prevHash !== expectedPrev) {
      return {
        failure: broken(
          entry.seq,
          'fork',
          `entry ${entry.seq} links to ${entry.prevHash.slice(0, 12)}…, not to the hash of seq ${entry.seq - 1}`,
        ),
        expired,
      };
    }
    if (payloads !== undefined) {
      const payload = payloads.get(entry.payloadHash);
      if (payload === undefined || payload === 'expired') expired += 1;
      else if (safePayloadHash(payload) !== entry.payloadHash) {
        return {
          failure: broken(entry.seq, 'payload-mismatch', `payload of entry ${entry.seq} does not hash to its payloadHash`),
          expired,
        };
      }
    }
    tree?.append(Buffer.from(entry.hash, 'hex'));
    prev = entry;
  }
  if (input.to !== undefined && from + entries.length !== input.to) {
    const seq = Math.min(from + entries.length, input.to);
    return from + entries.length < input.to
      ? { failure: broken(seq, 'gap', `entries end at seq ${from + entries.length - 1}, expected up to ${input.to - 1}`), expired }
      : { failure: broken(seq, 'reorder', `entries run past the declared end (seq ${input.to - 1})`), expired };
  }
  return tree === undefined ? { expired } : { expired, tree };
}

function findConsistencyProof(input: VerifyStreamInput, fromSize: number, toSize: number): ConsistencyProofLine | undefined {
  return input.proofs?.consistency.find((proof) => proof.fromSize === fromSize && proof.toSize === toSize);
}

function walkCheckpoints(
  input: VerifyStreamInput,
  tenant: string | undefined,
  stream: string | undefined,
  tree: MerkleTree | undefined,
): VerifyBroken | undefined {
  let prev: Checkpoint | undefined;
  let vouched = 0;
  for (const checkpoint of input.checkpoints) {
    const size = checkpoint.treeSize;
    const signature = verifyCheckpoint(checkpoint, input.keys);
    if (!signature.valid) return broken(vouched, signature.reason, `checkpoint at tree size ${size}: ${signature.detail}`, size);
    if (checkpoint.tenant !== tenant || checkpoint.stream !== stream) {
      return broken(
        vouched,
        'checkpoint-chain-broken',
        `checkpoint at tree size ${size} belongs to ${checkpoint.tenant}/${checkpoint.stream}`,
        size,
      );
    }
    const expectedPrevious = prev === undefined ? null : checkpointHash(prev);
    if (checkpoint.previousCheckpointHash !== expectedPrevious) {
      return broken(
        vouched,
        'checkpoint-chain-broken',
        prev === undefined
          ? `the first checkpoint (tree size ${size}) names a predecessor`
          : `checkpoint at tree size ${size} does not link to the checkpoint at tree size ${prev.treeSize}`,
        size,
      );
    }
    const root = hexBytes(checkpoint.rootHash);
    if (root === undefined)
      return broken(vouched, 'checkpoint-root-mismatch', `checkpoint at tree size ${size} has a malformed root`, size);
    const recomputable = tree !== undefined && size <= tree.size;
    if (tree !== undefined && !recomputable && input.to === undefined) {
      return broken(
        tree.size,
        'gap',
        `checkpoint at tree size ${size} covers entries up to seq ${size - 1}, but the stream ends at seq ${tree.size - 1}`,
        size,
      );
    }
    if (recomputable && !tree.root(size).equals(root)) {
      return broken(
        vouched,
        'checkpoint-root-mismatch',
        `checkpoint at tree size ${size} does not match the root of the first ${size} entries`,
        size,
      );
    }
    if (prev !== undefined && prev.treeSize > size) {
      return broken(vouched, 'inconsistent-checkpoint', `checkpoint at tree size ${size} follows one at tree size ${prev.treeSize}`, size);
    }
    if (prev !== undefined && prev.treeSize > 0) {
      const prevRoot = Buffer.from(prev.rootHash, 'hex');
      const shipped = findConsistencyProof(input, prev.treeSize, size);
      let proof: Buffer[] | undefined;
      if (recomputable) proof = tree.consistencyProof(prev.treeSize, size);
      else if (shipped !== undefined) proof = shipped.path.map((hex) => Buffer.from(hex, 'hex'));
      if (proof === undefined) {
        return broken(vouched, 'inconsistent-checkpoint', `no consistency proof between tree sizes ${prev.treeSize} and ${size}`, size);
      }
      if (!verifyConsistency(prev.treeSize, size, prevRoot, root, proof)) {
        return broken(
          vouched,
          'inconsistent-checkpoint',
          `checkpoint at tree size ${size} is not consistent with the one at tree size ${prev.treeSize}`,
          size,
        );
      }
    }
    prev = checkpoint;
    vouched = size;
  }
  return undefined;
}

function checkProofs(input: VerifyStreamInput, tree: MerkleTree | undefined): { failure?: VerifyBroken; count: number } {
  const proofs = input.proofs;
  if (proofs === undefined) return { count: 0 };
  const bySize = new Map(input.checkpoints.map((checkpoint) => [checkpoint.treeSize, checkpoint]));
  const bySeq = new Map(input.entries.map((entry) => [entry.seq, entry]));
  for (const proof of proofs.consistency) {
    const older = bySize.get(proof.fromSize);
    const newer = bySize.get(proof.toSize);
    const ok =
      older !== undefined &&
      newer !== undefined &&
      verifyConsistency(
        proof.fromSize,
        proof.toSize,
        Buffer.from(older.rootHash, 'hex'),
        Buffer.from(newer.rootHash, 'hex'),
        proof.path.map((hex) => Buffer.from(hex, 'hex')),
      );
    if (!ok)
      return {
        failure: broken(
          proof.fromSize,
          'inconsistent-checkpoint',
          `consistency proof ${proof.fromSize}→${proof.toSize} does not verify`,
          proof.toSize,
        ),
        count: 0,
      };
  }
  const proven = new Set<number>();
  const sorted = [...proofs.inclusion].sort((a, b) => a.seq - b.seq);
  for (const proof of sorted) {
    const checkpoint = bySize.get(proof.treeSize);
    const entry = bySeq.get(proof.seq);
    const ok =
      checkpoint !== undefined &&
      entry !== undefined &&
      verifyInclusion(
        hashLeaf(Buffer.from(entry.hash, 'hex')),
        proof.seq,
        proof.treeSize,
        proof.path.map((hex) => Buffer.from(hex, 'hex')),
        Buffer.from(checkpoint.rootHash, 'hex'),
      );
    if (!ok) {
      return {
        failure: broken(
          proof.seq,
          'checkpoint-root-mismatch',
          `inclusion proof of seq ${proof.seq} in the checkpoint at tree size ${proof.treeSize} does not verify`,
          proof.treeSize,
        ),
        count: 0,
      };
    }
    proven.add(proof.seq);
  }
  // Entries the latest checkpoint covers but the verifier could not re-hash into a root need a proof.
  const latest = input.checkpoints.at(-1);
  if (latest !== undefined && (tree === undefined || tree.size < latest.treeSize)) {
    const unproven = input.entries.find((entry) => entry.seq < latest.treeSize && !proven.has(entry.seq));
    if (unproven !== undefined) {
      return {
        failure: broken(
          unproven.seq,
          'checkpoint-root-mismatch',
          `seq ${unproven.seq} has no inclusion proof in the checkpoint at tree size ${latest.treeSize}`,
          latest.treeSize,
        ),
        count: 0,
      };
    }
  }
  return { count: proofs.consistency.length + proofs.inclusion.length };
}

/**
 * Verifies a stream: chain, payloads, checkpoints and (for exports) proofs. A payload deleted by
 * retention counts as expired, never as a break. Never throws on tampered data: it reports.
 *
 * @example
 * const result = verifyStream({ entries, payloads, checkpoints, keys: publicKeySet([key]) });
 * if (!result.intact) console.log(`broken at seq ${result.firstBadSeq}: ${result.reason}`);
 */
export function verifyStream(input: VerifyStreamInput): VerifyResult {
  const from = input.from ?? 0;
  const tenant = input.tenant ?? input.entries[0]?.tenant ?? input.checkpoints[0]?.tenant;
  const stream = input.stream ?? input.entries[0]?.stream ?? input.checkpoints[0]?.stream;
  const chain = walkChain(input, tenant, stream, from);
  if (chain.failure !== undefined) return chain.failure;
  const checkpointFailure = walkCheckpoints(input, tenant, stream, chain.tree);
  if (checkpointFailure !== undefined) return checkpointFailure;
  const proofs = checkProofs(input, chain.tree);
  if (proofs.failure !== undefined) return proofs.failure;
  return {
    intact: true,
    entries: input.entries.length,
    checkpoints: input.checkpoints.length,
    expiredPayloads: chain.expired,
    proofs: proofs.count,
    checkpointedEntries: input.checkpoints.at(-1)?.treeSize ?? 0,
  };
}
