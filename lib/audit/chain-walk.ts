/**
 * One walk along a stream's hash chain, entry by entry, in bounded memory: each entry's hash,
 * its tenant and stream, its link to the one before, its payload when one is given, and the
 * Merkle tree over the entries kept as a frontier (O(log n) hashes), so the root at any size the
 * walk passes can be compared with a signed checkpoint's.
 *
 * The same walk serves every reader: `verifyStream` (an export file or a stream in memory), the
 * stored stream read page by page (`verifyStored`), the export job that resumes in a later
 * invocation (its position is plain data), and the checkpoint signer, which resumes from the
 * previous checkpoint's tree tip instead of re-reading the stream from seq 0.
 *
 * The tree is kept as the frontier of every leaf but the last, plus the last entry's hash: the
 * next entry must link to that hash, and holding it apart from the frontier binds it to the root
 * (a stored tip whose last hash was altered no longer reproduces its signed root).
 */
import { MAX_TEXT_LENGTH } from '../../events/common.ts';
import { entryHash, payloadHash } from './chain.ts';
import { HEX_HASH, ZERO_HASH } from './digest.ts';
import { hashLeaf } from './merkle.ts';
import { MerkleFrontier } from './merkle-frontier.ts';
import type { LedgerEntry, Payload, TreeTip } from './schemas.ts';

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

/** A broken stream: the first bad seq and why. */
export interface VerifyBroken {
  intact: false;
  firstBadSeq: number;
  reason: BreakReason;
  detail: string;
  /** The tree size of the offending checkpoint, for checkpoint failures. */
  checkpointTreeSize?: number;
}

/** Builds a {@link VerifyBroken}. */
export function broken(firstBadSeq: number, reason: BreakReason, text: string, checkpointTreeSize?: number): VerifyBroken {
  // The verdict is stored with export jobs and answered; its schema bounds the detail.
  const detail = text.slice(0, MAX_TEXT_LENGTH);
  return checkpointTreeSize === undefined
    ? { intact: false, firstBadSeq, reason, detail }
    : { intact: false, firstBadSeq, reason, detail, checkpointTreeSize };
}

/** The 32 bytes of a lower-case hex SHA-256, or undefined when the text is not one. */
export function hexBytes(hex: string): Buffer | undefined {
  return typeof hex === 'string' && HEX_HASH.test(hex) ? Buffer.from(hex, 'hex') : undefined;
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

/**
 * Where a walk stands, as plain data (JSON-safe), so it can resume on the next page or in
 * another invocation. The same roots list must be given to the resumed walker.
 */
export interface WalkPosition {
  /** Seq the walk started at; above 0 there is no tree (the leaves before are unknown). */
  from: number;
  /** Next seq expected. */
  next: number;
  /** Hash of entry `next − 1`: what entry `next` must link to. `ZERO_HASH` at seq 0, null when unknown (a walk from above seq 0 that has not seen an entry). */
  lastHash: string | null;
  /** Frontier (hex, largest subtree first) of leaves [0, next − 1), or [0, 0) at seq 0; null without a tree. */
  frontier: string[] | null;
  /** Payloads found expired so far. */
  expired: number;
  /** Smallest index into the roots list whose root did not match the entries; null while none. */
  rootMismatch: number | null;
  /** The first break, once the walk found one (a resumed walk keeps it and checks nothing more). */
  failure: VerifyBroken | null;
}

/** A signed root the walk checks when it reaches `treeSize` entries: a checkpoint, or its shape. */
export interface RootCheck {
  treeSize: number;
  rootHash: string;
}

/** Options of {@link ChainWalker}. */
export interface ChainWalkerOptions {
  /** Tenant and stream every entry must name. */
  tenant: string | undefined;
  stream: string | undefined;
  /** Start afresh at this seq (default 0); ignored when `position` is given. */
  from?: number;
  /** Resume where an earlier walk stopped. */
  position?: WalkPosition;
  /** Roots to compare as the walk passes their sizes; `rootMismatch` indexes this list. */
  roots?: readonly RootCheck[];
  /**
   * Every seq the input holds, when the whole input is at hand (an export file): tells an entry
   * that comes later (reorder) from one that is missing (gap), and a repeated seq (fork or
   * reorder) from an early one. Without it, a walk of stored pages (sorted, unique seqs) reports
   * a higher seq than expected as a gap and a lower one as a reorder.
   */
  positions?: ReadonlySet<number>;
}

/**
 * Walks a stream's entries in seq order. `push` them one at a time (from any number of pages);
 * the first break stops the walk and is kept.
 *
 * @example
 * const walker = new ChainWalker({ tenant, stream, roots: checkpoints });
 * for (const page of pages) for (const entry of page) if (walker.push(entry, payloads)) break;
 * walker.failure ?? walker.root() // the first break, or the root of every entry walked
 */
export class ChainWalker {
  readonly #tenant: string | undefined;
  readonly #stream: string | undefined;
  readonly #from: number;
  #next: number;
  #lastHash: string | null;
  readonly #frontier: MerkleFrontier | undefined;
  /** Leaf hash of entry `next − 1`, not yet in the frontier. */
  #pending: Buffer | undefined;
  #expired: number;
  #failure: VerifyBroken | undefined;
  #rootMismatch: number | undefined;
  readonly #roots: Array<{ index: number; size: number; root: Buffer | undefined }>;
  #rootCursor = 0;
  readonly #positions: ReadonlySet<number> | undefined;
  readonly #seen: Map<number, string> | undefined;

  /**
   * @throws MerkleRangeError when a position's frontier does not fit its size (a damaged position or tip).
   */
  constructor(options: ChainWalkerOptions) {
    this.#tenant = options.tenant;
    this.#stream = options.stream;
    this.#positions = options.positions;
    this.#seen = options.positions === undefined ? undefined : new Map();
    const position = options.position;
    this.#from = position?.from ?? options.from ?? 0;
    this.#next = position?.next ?? this.#from;
    this.#lastHash = position === undefined ? (this.#from === 0 ? ZERO_HASH : null) : position.lastHash;
    this.#expired = position?.expired ?? 0;
    this.#rootMismatch = position?.rootMismatch ?? undefined;
    this.#failure = position?.failure ?? undefined;
    const frontier = position === undefined ? (this.#from === 0 ? [] : null) : position.frontier;
    if (frontier !== null) {
      const leaves = Math.max(this.#next - 1, 0);
      this.#frontier = MerkleFrontier.fromData({ size: leaves, hashes: frontier });
      const last = this.#next > 0 && this.#lastHash !== null ? hexBytes(this.#lastHash) : undefined;
      this.#pending = last === undefined ? undefined : hashLeaf(last);
    }
    this.#roots = (options.roots ?? [])
      .map((check, index) => ({ index, size: check.treeSize, root: hexBytes(check.rootHash) }))
      .sort((a, b) => a.size - b.size || a.index - b.index);
    // A fresh walk has arrived at its first size now; a resumed one checked its current size before.
    while (this.#rootCursor < this.#roots.length && (this.#roots[this.#rootCursor]?.size ?? 0) < this.#next) this.#rootCursor += 1;
    if (position === undefined) this.#checkRoots();
    else while (this.#rootCursor < this.#roots.length && this.#roots[this.#rootCursor]?.size === this.#next) this.#rootCursor += 1;
  }

  /**
   * Resumes from a checkpoint's tree tip: the walk continues at `tip.treeSize` with the tree and
   * the link it describes. Compare `root()` with the checkpoint's signed root before trusting it.
   *
   * @throws MerkleRangeError when the tip's frontier does not fit its size.
   */
  static fromTip(tip: TreeTip, options: Omit<ChainWalkerOptions, 'from' | 'position'>): ChainWalker {
    return new ChainWalker({
      ...options,
      position: {
        from: 0,
        next: tip.treeSize,
        lastHash: tip.lastEntryHash,
        frontier: tip.frontier,
        expired: 0,
        rootMismatch: null,
        failure: null,
      },
    });
  }

  /** Entries walked plus the start: the next seq expected, i.e. the tree size when the walk started at 0. */
  get size(): number {
    return this.#next;
  }

  /** True when the walk started at seq 0, so roots are recomputed. */
  get hasTree(): boolean {
    return this.#frontier !== undefined;
  }

  /** Payloads found expired (absent or marked so), never a break. */
  get expired(): number {
    return this.#expired;
  }

  /** The first break, once there is one. */
  get failure(): VerifyBroken | undefined {
    return this.#failure;
  }

  /** Index (into the roots given) of the first root that did not match, if any. */
  get rootMismatch(): number | undefined {
    return this.#rootMismatch;
  }

  /**
   * Whether root `index` matched the entries: only meaningful for roots whose size the walk
   * reached, and only up to the first mismatch (every later one counts as matching, as a reader
   * that stops at the first break never asks about them).
   */
  rootMatches(index: number): boolean {
    return this.#rootMismatch !== index;
  }

  /** The Merkle root of the entries walked (from seq 0), or undefined without a tree. O(log n). */
  root(): Buffer | undefined {
    if (this.#frontier === undefined) return undefined;
    return this.#pending === undefined ? this.#frontier.root() : this.#frontier.rootWith(this.#pending);
  }

  /** The tip a checkpoint of the entries walked stores (undefined without a tree or entries). */
  tip(): TreeTip | undefined {
    if (this.#frontier === undefined || this.#next === 0 || this.#lastHash === null) return undefined;
    return { treeSize: this.#next, lastEntryHash: this.#lastHash, frontier: this.#frontier.toData().hashes };
  }

  /** The position as plain data, to resume later. */
  position(): WalkPosition {
    return {
      from: this.#from,
      next: this.#next,
      lastHash: this.#lastHash,
      frontier: this.#frontier === undefined ? null : this.#frontier.toData().hashes,
      expired: this.#expired,
      rootMismatch: this.#rootMismatch ?? null,
      failure: this.#failure ?? null,
    };
  }

  /**
   * Walks one entry; `payloads` (by payloadHash, `'expired'` or absent for deleted ones) checks its
   * payload too. Returns the break if the entry is (or the walk already was) broken.
   */
  push(entry: LedgerEntry, payloads?: ReadonlyMap<string, Payload | 'expired'>): VerifyBroken | undefined {
    if (this.#failure !== undefined) return this.#failure;
    const expected = this.#next;
    if (entry.seq !== expected) return this.#fail(this.#misplaced(entry, expected));
    this.#seen?.set(entry.seq, entry.hash);
    if (safeEntryHash(entry) !== entry.hash)
      return this.#fail(broken(entry.seq, 'hash-mismatch', `entry ${entry.seq} does not hash to its recorded hash`));
    if (entry.tenant !== this.#tenant || entry.stream !== this.#stream) {
      return this.#fail(
        broken(entry.seq, 'fork', `entry ${entry.seq} belongs to ${entry.tenant}/${entry.stream}, not ${this.#tenant}/${this.#stream}`),
      );
    }
    if (this.#lastHash !== null && entry.prevHash !== this.#lastHash) {
      return this.#fail(
        broken(entry.seq, 'fork', `entry ${entry.seq} links to ${entry.prevHash.slice(0, 12)}…, not to the hash of seq ${entry.seq - 1}`),
      );
    }
    if (payloads !== undefined) {
      const payload = payloads.get(entry.payloadHash);
      if (payload === undefined || payload === 'expired') this.#expired += 1;
      else if (safePayloadHash(payload) !== entry.payloadHash) {
        return this.#fail(broken(entry.seq, 'payload-mismatch', `payload of entry ${entry.seq} does not hash to its payloadHash`));
      }
    }
    if (this.#frontier !== undefined) {
      if (this.#pending !== undefined) this.#frontier.appendLeafHash(this.#pending);
      // The hash matched entryHash, so it is 64 hex characters.
      this.#pending = hashLeaf(Buffer.from(entry.hash, 'hex'));
    }
    this.#lastHash = entry.hash;
    this.#next += 1;
    this.#checkRoots();
    return undefined;
  }

  /**
   * Ends the walk: with `to`, the entries must have reached exactly seq `to − 1`.
   * Returns the first break, if any.
   */
  finish(to?: number): VerifyBroken | undefined {
    if (this.#failure !== undefined || to === undefined || this.#next === to) return this.#failure;
    const last = this.#next - 1;
    return this.#fail(
      this.#next < to
        ? broken(this.#next, 'gap', `entries end at seq ${last}, expected up to ${to - 1}`)
        : broken(to, 'reorder', `entries run past the declared end (seq ${to - 1})`),
    );
  }

  #fail(failure: VerifyBroken): VerifyBroken {
    this.#failure = failure;
    return failure;
  }

  #misplaced(entry: LedgerEntry, expected: number): VerifyBroken {
    const index = expected - this.#from;
    const earlier = this.#seen?.get(entry.seq);
    if (earlier !== undefined) {
      return earlier === entry.hash
        ? broken(entry.seq, 'reorder', `seq ${entry.seq} appears again at position ${index}`)
        : broken(entry.seq, 'fork', `two different entries claim seq ${entry.seq}`);
    }
    if (this.#positions?.has(expected))
      return broken(expected, 'reorder', `position ${index} holds seq ${entry.seq}, seq ${expected} comes later`);
    if (typeof entry.seq === 'number' && entry.seq > expected)
      return broken(expected, 'gap', `seq ${expected} is missing (next present: ${entry.seq})`);
    return broken(expected, 'reorder', `position ${index} holds seq ${String(entry.seq)}, expected ${expected}`);
  }

  /** Compares every root whose size the walk has just reached. */
  #checkRoots(): void {
    if (this.#frontier === undefined) return;
    let root: Buffer | undefined;
    for (
      let check = this.#roots[this.#rootCursor];
      check !== undefined && check.size <= this.#next;
      check = this.#roots[this.#rootCursor]
    ) {
      this.#rootCursor += 1;
      if (check.size !== this.#next || check.root === undefined) continue;
      root ??= this.root();
      if (root !== undefined && !root.equals(check.root) && (this.#rootMismatch === undefined || check.index < this.#rootMismatch)) {
        this.#rootMismatch = check.index;
      }
    }
  }
}
