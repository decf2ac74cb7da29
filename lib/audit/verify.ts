/**
 * Verification of a ledger stream: the hash chain, the payloads still kept, the signed
 * checkpoints (signatures, their own chain, their roots against the entries, Merkle consistency
 * between consecutive checkpoints) and, for exports, every inclusion and consistency proof.
 *
 * Precedence: the first chain break wins (entries are the primary evidence); checkpoints are
 * checked only over an intact chain; then proofs. For checkpoint failures `firstBadSeq` is the
 * first seq no verified checkpoint vouches for, i.e. the tree size of the last good checkpoint.
 */

import { broken, ChainWalker, hexBytes, type VerifyBroken } from './chain-walk.ts';
import { checkpointHash, verifyCheckpoint } from './checkpoint.ts';
import { hashLeaf, verifyConsistency, verifyInclusion } from './merkle.ts';
import type { Checkpoint, ConsistencyProofLine, InclusionProofLine, LedgerEntry, Payload, PublicKeySet } from './schemas.ts';

export type { BreakReason, VerifyBroken } from './chain-walk.ts';

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

/** The outcome of `verifyStream`. */
export type VerifyResult = VerifyIntact | VerifyBroken;

/** What is checked over a finished walk: the checkpoints, their signatures and (for exports) proofs. */
export interface WalkedStreamInput {
  checkpoints: readonly Checkpoint[];
  keys: PublicKeySet;
  /** The tenant and stream the walk expected. */
  tenant: string | undefined;
  stream: string | undefined;
  /** The declared end of the range (see {@link VerifyStreamInput.to}). */
  to?: number;
  proofs?: VerifyStreamInput['proofs'];
  /** The entries walked, needed only to check inclusion proofs. */
  entries?: readonly LedgerEntry[];
}

function findConsistencyProof(input: WalkedStreamInput, fromSize: number, toSize: number): ConsistencyProofLine | undefined {
  return input.proofs?.consistency.find((proof) => proof.fromSize === fromSize && proof.toSize === toSize);
}

function walkCheckpoints(input: WalkedStreamInput, walked: ChainWalker): VerifyBroken | undefined {
  const { tenant, stream } = input;
  const treeSize = walked.hasTree ? walked.size : undefined;
  let prev: Checkpoint | undefined;
  let vouched = 0;
  for (const [index, checkpoint] of input.checkpoints.entries()) {
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
    const recomputable = treeSize !== undefined && size <= treeSize;
    if (treeSize !== undefined && !recomputable && input.to === undefined) {
      return broken(
        treeSize,
        'gap',
        `checkpoint at tree size ${size} covers entries up to seq ${size - 1}, but the stream ends at seq ${treeSize - 1}`,
        size,
      );
    }
    if (recomputable && !walked.rootMatches(index)) {
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
    // Two roots recomputed from the same entries are consistent by construction; otherwise the
    // export must ship a proof that the later tree extends the earlier one.
    if (prev !== undefined && prev.treeSize > 0 && !recomputable) {
      const prevRoot = Buffer.from(prev.rootHash, 'hex');
      const shipped = findConsistencyProof(input, prev.treeSize, size);
      if (shipped === undefined) {
        return broken(vouched, 'inconsistent-checkpoint', `no consistency proof between tree sizes ${prev.treeSize} and ${size}`, size);
      }
      const proof = shipped.path.map((hex) => Buffer.from(hex, 'hex'));
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

function checkProofs(input: WalkedStreamInput, walked: ChainWalker): { failure?: VerifyBroken; count: number } {
  const proofs = input.proofs;
  if (proofs === undefined) return { count: 0 };
  const bySize = new Map(input.checkpoints.map((checkpoint) => [checkpoint.treeSize, checkpoint]));
  const bySeq = new Map((input.entries ?? []).map((entry) => [entry.seq, entry]));
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
  if (latest !== undefined && (!walked.hasTree || walked.size < latest.treeSize)) {
    const unproven = input.entries?.find((entry) => entry.seq < latest.treeSize && !proven.has(entry.seq));
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
 * The verdict over a finished walk: its first chain break if it has one, else the checkpoints
 * (signatures, their chain, their roots as the walk compared them, consistency), else the proofs.
 * The walker must have been given `input.checkpoints` as its roots, in the same order.
 *
 * @example
 * const walker = new ChainWalker({ tenant, stream, roots: checkpoints });
 * for (const entry of entries) walker.push(entry, payloads);
 * const result = verifyWalked(walker, { checkpoints, keys, tenant, stream });
 */
export function verifyWalked(walker: ChainWalker, input: WalkedStreamInput): VerifyResult {
  const chainFailure = walker.finish(input.to);
  if (chainFailure !== undefined) return chainFailure;
  const checkpointFailure = walkCheckpoints(input, walker);
  if (checkpointFailure !== undefined) return checkpointFailure;
  const proofs = checkProofs(input, walker);
  if (proofs.failure !== undefined) return proofs.failure;
  return {
    intact: true,
    entries: walker.size - walker.position().from,
    checkpoints: input.checkpoints.length,
    expiredPayloads: walker.expired,
    proofs: proofs.count,
    checkpointedEntries: input.checkpoints.at(-1)?.treeSize ?? 0,
  };
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
  const tenant = input.tenant ?? input.entries[0]?.tenant ?? input.checkpoints[0]?.tenant;
  const stream = input.stream ?? input.entries[0]?.stream ?? input.checkpoints[0]?.stream;
  const walker = new ChainWalker({
    tenant,
    stream,
    from: input.from ?? 0,
    roots: input.checkpoints,
    positions: new Set(input.entries.map((entry) => entry.seq)),
  });
  for (const entry of input.entries) if (walker.push(entry, input.payloads) !== undefined) break;
  return verifyWalked(walker, { ...input, tenant, stream });
}
