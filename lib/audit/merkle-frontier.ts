/**
 * The Merkle frontier of a stream: the RFC 6962 "compact range" [0, n), i.e. the roots of the
 * perfect subtrees that the left-complete tree of n leaves is made of, one per set bit of n,
 * largest (leftmost) first. 13 leaves = 8 + 4 + 1: three hashes. Never more than ⌈log2 n⌉ + 1.
 *
 * With it a tree can be extended by one leaf in amortised O(1) hashes and its root computed in
 * O(log n), without the leaves before it. That is what lets a checkpoint read only the entries
 * appended since the previous one (see `checkpointStream`), and a verifier walk a stream of any
 * length in bounded memory (see `ChainWalker`).
 *
 * Shape of the tree is RFC 6962 §2.1 (`merkle.ts`): the root of n leaves is
 * MTH = H(0x01 ‖ MTH(first k) ‖ MTH(rest)), k the largest power of two below n, which is the
 * frontier's hashes folded from the right: H(f0 ‖ H(f1 ‖ … H(f(m−2) ‖ f(m−1)))).
 */
import { hash as oneShotHash } from 'node:crypto';
import { MerkleRangeError } from './errors.ts';
import { EMPTY_ROOT, hashLeaf } from './merkle.ts';

const HASH_SIZE = 32;
const HEX_HASH = /^[0-9a-f]{64}$/;

// The node-hash input, reused: one allocation per hash is most of the cost at 65 bytes.
const NODE_INPUT = Buffer.alloc(1 + 2 * HASH_SIZE, 1);

function hashNode(left: Uint8Array, right: Uint8Array): Buffer {
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 1 + HASH_SIZE);
  return oneShotHash('sha256', NODE_INPUT, 'buffer');
}

/** Set bits of n (a safe integer ≥ 0); arithmetic, not bit operations, so sizes may pass 2^32. */
export function frontierLength(n: number): number {
  let bits = 0;
  for (let rest = n; rest > 0; rest = Math.floor(rest / 2)) bits += rest % 2;
  return bits;
}

/** A frontier as plain data: the tree size and the subtree roots as lower-case hex, largest first. */
export interface FrontierData {
  size: number;
  hashes: string[];
}

/**
 * The compact range [0, size) of a Merkle tree: append leaves, read the root, never the leaves
 * before. Mutable; `clone()` for a copy.
 *
 * @example
 * const frontier = new MerkleFrontier();
 * for (const entry of entries) frontier.append(Buffer.from(entry.hash, 'hex'));
 * frontier.root().equals(MerkleTree.fromLeaves(leaves).root()) // true
 */
export class MerkleFrontier {
  #size = 0;
  /** Subtree roots, largest first: the last one covers the lowest set bit of the size. */
  #hashes: Buffer[] = [];

  /**
   * The frontier of a tree of `size` leaves from its subtree roots, largest first.
   *
   * @throws MerkleRangeError when the size is not a safe integer ≥ 0, or the number of hashes is
   * not the number of set bits of the size, or a hash is not 32 bytes.
   */
  static of(size: number, hashes: readonly Uint8Array[]): MerkleFrontier {
    if (!Number.isSafeInteger(size) || size < 0) throw new MerkleRangeError(`frontier size must be a safe integer ≥ 0, got ${size}`);
    const expected = frontierLength(size);
    if (hashes.length !== expected) {
      throw new MerkleRangeError(`a frontier of ${size} leaves has ${expected} subtree roots, got ${hashes.length}`);
    }
    const frontier = new MerkleFrontier();
    for (const hash of hashes) {
      if (hash.length !== HASH_SIZE) throw new MerkleRangeError(`frontier hash must be ${HASH_SIZE} bytes, got ${hash.length}`);
      frontier.#hashes.push(Buffer.from(hash));
    }
    frontier.#size = size;
    return frontier;
  }

  /**
   * Reads a frontier from plain data (as `toData` writes it).
   *
   * @throws MerkleRangeError as {@link MerkleFrontier.of}, or when a hash is not 64 lower-case hex characters.
   */
  static fromData(data: FrontierData): MerkleFrontier {
    const bytes = data.hashes.map((hex) => {
      if (typeof hex !== 'string' || !HEX_HASH.test(hex))
        throw new MerkleRangeError('frontier hashes must be 64 lower-case hex characters');
      return Buffer.from(hex, 'hex');
    });
    return MerkleFrontier.of(data.size, bytes);
  }

  /** Number of leaves. */
  get size(): number {
    return this.#size;
  }

  /** Copies of the subtree roots, largest first. */
  hashes(): Buffer[] {
    return this.#hashes.map((hash) => Buffer.from(hash));
  }

  /** Plain data: size and hex subtree roots. */
  toData(): FrontierData {
    return { size: this.#size, hashes: this.#hashes.map((hash) => hash.toString('hex')) };
  }

  /** An independent copy. */
  clone(): MerkleFrontier {
    const copy = new MerkleFrontier();
    copy.#size = this.#size;
    copy.#hashes = [...this.#hashes];
    return copy;
  }

  /** Appends one leaf input (hashed with `hashLeaf`). */
  append(leaf: Uint8Array): void {
    this.appendLeafHash(hashLeaf(leaf));
  }

  /**
   * Appends one precomputed 32-byte leaf hash. Each trailing set bit of the size is a subtree the
   * new leaf completes: merge them, like a binary counter's carry. Amortised one node hash.
   *
   * @throws MerkleRangeError when the hash is not 32 bytes.
   */
  appendLeafHash(leafHash: Uint8Array): void {
    if (leafHash.length !== HASH_SIZE) throw new MerkleRangeError(`leaf hash must be ${HASH_SIZE} bytes, got ${leafHash.length}`);
    let node: Buffer = Buffer.from(leafHash);
    for (let rest = this.#size; rest % 2 === 1; rest = (rest - 1) / 2) {
      node = hashNode(this.#hashes.pop() as Buffer, node);
    }
    this.#hashes.push(node);
    this.#size += 1;
  }

  /** The root of the tree (SHA-256 of '' when empty). O(log n) hashes; the frontier is unchanged. */
  root(): Buffer {
    const last = this.#hashes.length - 1;
    let root = this.#hashes[last];
    if (root === undefined) return Buffer.from(EMPTY_ROOT);
    for (let index = last - 1; index >= 0; index -= 1) root = hashNode(this.#hashes[index] as Buffer, root);
    return Buffer.from(root);
  }

  /**
   * The root the tree would have with one more leaf hash, without appending it. O(log n).
   *
   * @throws MerkleRangeError when the hash is not 32 bytes.
   */
  rootWith(leafHash: Uint8Array): Buffer {
    if (leafHash.length !== HASH_SIZE) throw new MerkleRangeError(`leaf hash must be ${HASH_SIZE} bytes, got ${leafHash.length}`);
    let node: Buffer = Buffer.from(leafHash);
    let index = this.#hashes.length - 1;
    // The subtrees the leaf would complete, then the rest folded from the right, as `root` does.
    for (let rest = this.#size; rest % 2 === 1; rest = (rest - 1) / 2) {
      node = hashNode(this.#hashes[index] as Buffer, node);
      index -= 1;
    }
    for (; index >= 0; index -= 1) node = hashNode(this.#hashes[index] as Buffer, node);
    return node;
  }
}
