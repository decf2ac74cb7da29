/**
 * Merkle tree of a ledger stream, per RFC 6962 §2.1 / RFC 9162 §2.1:
 * leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right), and the empty
 * tree's root = SHA-256(''). A tree of n leaves splits at k, the largest power of two below n.
 *
 * Leaves of a ledger stream: the leaf input of entry `seq` is the 32 raw bytes of its `hash`
 * (not the hex text), so the tree's leaf `seq` is SHA-256(0x00 || bytes(entry.hash)).
 *
 * `MerkleTree` keeps every complete, aligned subtree hash: level k holds the hashes of the
 * subtrees of 2^k leaves starting at multiples of 2^k, packed 32 bytes apiece in one growable
 * byte array per level. That is about 2n hashes = 64 bytes per leaf (with array growth, at most
 * ~128 bytes per leaf); 2^20 leaves take 64–128 MiB. In return any root, inclusion proof or
 * consistency proof for any tree size up to n costs O(log n) hashing: every proof node is one
 * stored subtree, except at most two "right border" nodes, each folded from ≤ log2 n stored ones.
 */
import { hash as oneShotHash } from 'node:crypto';
import { MerkleRangeError } from './errors.ts';

const HASH_SIZE = 32;

function sha256(data: Uint8Array): Buffer {
  // crypto.hash is the one-shot digest: markedly cheaper than createHash for 33- and 65-byte inputs.
  return oneShotHash('sha256', data, 'buffer');
}

// Scratch inputs for the fixed-size hashes; Buffers so subtree hashes can be copied in without views.
const LEAF_INPUT = Buffer.alloc(1 + HASH_SIZE, 0);
const NODE_INPUT = Buffer.alloc(1 + 2 * HASH_SIZE, 1);

/** Root of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT: Buffer = sha256(new Uint8Array(0));

/**
 * The RFC 6962 leaf hash: SHA-256(0x00 || leaf).
 *
 * @example hashLeaf(Buffer.from(entry.hash, 'hex')) // leaf hash of a ledger entry
 */
export function hashLeaf(leaf: Uint8Array): Buffer {
  if (leaf.length === HASH_SIZE) {
    // Ledger leaves are always 32 bytes: reuse one buffer (crypto.hash reads it synchronously).
    LEAF_INPUT.set(leaf, 1);
    return sha256(LEAF_INPUT);
  }
  const input = new Uint8Array(1 + leaf.length);
  input.set(leaf, 1);
  return sha256(input);
}

/** The RFC 6962 interior node hash: SHA-256(0x01 || left || right). Children may be any length. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = 1;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

/** Largest power of two strictly below n (n ≥ 2). Arithmetic, not bit ops: sizes may pass 2^32. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && splitPoint(n + 1) === n;
}

interface Level {
  bytes: Buffer;
  count: number;
}

/**
 * An append-only Merkle tree that caches complete subtree hashes (see the module comment for the
 * memory cost), so roots and proofs for any size up to `size` cost O(log n) hashes.
 *
 * @example
 * const tree = MerkleTree.fromLeaves(entries.map((e) => Buffer.from(e.hash, 'hex')));
 * const proof = tree.inclusionProof(5, tree.size);
 * verifyInclusion(tree.leafHash(5), 5, tree.size, proof, tree.root()); // true
 */
export class MerkleTree {
  readonly #levels: Level[] = [];
  #size = 0;

  /** Builds a tree from leaf inputs (each is hashed with `hashLeaf`). O(n) hashes. */
  static fromLeaves(leaves: Iterable<Uint8Array>): MerkleTree {
    const tree = new MerkleTree();
    for (const leaf of leaves) tree.append(leaf);
    return tree;
  }

  /** Builds a tree from precomputed 32-byte leaf hashes. O(n) hashes. */
  static fromLeafHashes(leafHashes: Iterable<Uint8Array>): MerkleTree {
    const tree = new MerkleTree();
    for (const leafHash of leafHashes) tree.appendLeafHash(leafHash);
    return tree;
  }

  /** Number of leaves. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the cached levels (allocated capacity, not just the hashes in use). */
  get byteLength(): number {
    return this.#levels.reduce((total, level) => total + level.bytes.length, 0);
  }

  /** Appends one leaf input. Amortised O(1) hashes (two on average). */
  append(leaf: Uint8Array): void {
    this.appendLeafHash(hashLeaf(leaf));
  }

  /**
   * Appends one precomputed leaf hash.
   *
   * @throws MerkleRangeError when the hash is not 32 bytes.
   */
  appendLeafHash(leafHash: Uint8Array): void {
    if (leafHash.length !== HASH_SIZE) throw new MerkleRangeError(`leaf hash must be ${HASH_SIZE} bytes, got ${leafHash.length}`);
    let node: Uint8Array = leafHash;
    let level = 0;
    for (;;) {
      this.#push(level, node);
      const count = this.#level(level).count;
      // An even count at this level completes a subtree one level up.
      if (count % 2 !== 0) break;
      // Both children are adjacent in the level's bytes: one copy, no views, no allocation.
      const bytes = this.#level(level).bytes;
      bytes.copy(NODE_INPUT, 1, (count - 2) * HASH_SIZE, count * HASH_SIZE);
      node = sha256(NODE_INPUT);
      level += 1;
    }
    this.#size += 1;
  }

  /**
   * The leaf hash at `index`.
   *
   * @throws MerkleRangeError when `index` is outside the tree.
   */
  leafHash(index: number): Buffer {
    this.#checkIndex(index, this.#size);
    return Buffer.from(this.#node(0, index));
  }

  /**
   * The root of the first `size` leaves (default: all). O(log n) hashes.
   *
   * @throws MerkleRangeError when `size` is negative, fractional or above the tree size.
   */
  root(size: number = this.#size): Buffer {
    this.#checkSize(size);
    return size === 0 ? Buffer.from(EMPTY_ROOT) : Buffer.from(this.#subtree(0, size));
  }

  /**
   * The RFC 6962 §2.1.1 audit path of leaf `index` in the tree of the first `treeSize` leaves,
   * bottom-up. O(log n) hashes.
   *
   * @throws MerkleRangeError unless 0 ≤ index < treeSize ≤ size.
   */
  inclusionProof(index: number, treeSize: number = this.#size): Buffer[] {
    this.#checkSize(treeSize);
    this.#checkIndex(index, treeSize);
    const proof: Buffer[] = [];
    this.#path(index, 0, treeSize, proof);
    return proof.reverse();
  }

  /**
   * The RFC 6962 §2.1.2 consistency proof between the trees of the first `oldSize` and
   * `newSize` leaves. Empty when the sizes are equal. O(log n) hashes.
   *
   * @throws MerkleRangeError unless 0 < oldSize ≤ newSize ≤ size: RFC 9162 §2.1.4 defines no proof
   * from the empty tree (every tree extends it, so there is nothing to prove).
   */
  consistencyProof(oldSize: number, newSize: number = this.#size): Buffer[] {
    this.#checkSize(newSize);
    if (!Number.isSafeInteger(oldSize) || oldSize < 1 || oldSize > newSize) {
      throw new MerkleRangeError(`consistency proof needs 0 < oldSize ≤ newSize, got ${oldSize} and ${newSize}`);
    }
    const proof: Buffer[] = [];
    if (oldSize < newSize) this.#subproof(oldSize, 0, newSize, true, proof);
    return proof.reverse();
  }

  // PATH(m, D[start:start+n]) of RFC 6962, collected top-down (callers reverse).
  #path(m: number, start: number, n: number, out: Buffer[]): void {
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      out.push(Buffer.from(this.#subtree(start + k, n - k)));
      this.#path(m, start, k, out);
    } else {
      out.push(Buffer.from(this.#subtree(start, k)));
      this.#path(m - k, start + k, n - k, out);
    }
  }

  // SUBPROOF(m, D[start:start+n], b) of RFC 6962, collected top-down (callers reverse).
  #subproof(m: number, start: number, n: number, complete: boolean, out: Buffer[]): void {
    if (m === n) {
      if (!complete) out.push(Buffer.from(this.#subtree(start, n)));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      out.push(Buffer.from(this.#subtree(start + k, n - k)));
      this.#subproof(m, start, k, complete, out);
    } else {
      out.push(Buffer.from(this.#subtree(start, k)));
      this.#subproof(m - k, start + k, n - k, false, out);
    }
  }

  // MTH(D[start:start+n]) for a subtree of the RFC 6962 shape (start is a multiple of a power of
  // two ≥ n): a stored node when n is a power of two, else folded from stored nodes.
  #subtree(start: number, n: number): Uint8Array {
    if (isPowerOfTwo(n)) {
      const level = Math.log2(n);
      return this.#node(level, start / n);
    }
    const k = splitPoint(n);
    return hashChildren(this.#subtree(start, k), this.#subtree(start + k, n - k));
  }

  #level(level: number): Level {
    let entry = this.#levels[level];
    if (entry === undefined) {
      entry = { bytes: Buffer.alloc(HASH_SIZE * 16), count: 0 };
      this.#levels[level] = entry;
    }
    return entry;
  }

  #node(level: number, index: number): Uint8Array {
    const entry = this.#level(level);
    return entry.bytes.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }

  #push(level: number, node: Uint8Array): void {
    const entry = this.#level(level);
    if ((entry.count + 1) * HASH_SIZE > entry.bytes.length) {
      const grown = Buffer.alloc(entry.bytes.length * 2);
      entry.bytes.copy(grown);
      entry.bytes = grown;
    }
    entry.bytes.set(node, entry.count * HASH_SIZE);
    entry.count += 1;
  }

  #checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.#size) {
      throw new MerkleRangeError(`tree size ${size} is outside 0..${this.#size}`);
    }
  }

  #checkIndex(index: number, treeSize: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) {
      throw new MerkleRangeError(`leaf index ${index} is outside 0..${treeSize - 1}`);
    }
  }
}

function asTree(leaves: readonly Uint8Array[] | MerkleTree): MerkleTree {
  return leaves instanceof MerkleTree ? leaves : MerkleTree.fromLeaves(leaves);
}

/**
 * The Merkle tree hash (root) of the leaf inputs, or of a cached tree.
 *
 * @example merkleRoot([]).toString('hex') // 'e3b0c442…' (SHA-256 of '')
 */
export function merkleRoot(leaves: readonly Uint8Array[] | MerkleTree): Buffer {
  return asTree(leaves).root();
}

/**
 * Inclusion proof (audit path) of leaf `index` in the tree of the first `treeSize` leaves.
 * Given a `MerkleTree` it costs O(log n); given raw leaves it first builds the tree (O(n)).
 *
 * @throws MerkleRangeError unless 0 ≤ index < treeSize ≤ number of leaves.
 * @example inclusionProof(tree, 3, 8) // three 32-byte hashes
 */
export function inclusionProof(leaves: readonly Uint8Array[] | MerkleTree, index: number, treeSize: number): Buffer[] {
  return asTree(leaves).inclusionProof(index, treeSize);
}

/**
 * Consistency proof between the trees of the first `oldSize` and `newSize` leaves.
 * Given a `MerkleTree` it costs O(log n); given raw leaves it first builds the tree (O(n)).
 *
 * @throws MerkleRangeError unless 0 < oldSize ≤ newSize ≤ number of leaves.
 * @example consistencyProof(tree, 6, 8) // three 32-byte hashes
 */
export function consistencyProof(leaves: readonly Uint8Array[] | MerkleTree, oldSize: number, newSize: number): Buffer[] {
  return asTree(leaves).consistencyProof(oldSize, newSize);
}

function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * Verifies an inclusion proof by the algorithm of RFC 9162 §2.1.3.2. Never throws: any malformed
 * input (index out of range, a hash that is not 32 bytes, a proof of the wrong length) is `false`.
 *
 * @example verifyInclusion(tree.leafHash(5), 5, 8, tree.inclusionProof(5, 8), tree.root(8)) // true
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return false;
  if (leafHash.length !== HASH_SIZE || root.length !== HASH_SIZE) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r: Uint8Array = leafHash;
  for (const p of proof) {
    if (sn === 0 || p.length !== HASH_SIZE) return false;
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(r, root);
}

/**
 * Verifies a consistency proof by the algorithm of RFC 9162 §2.1.4.2. Equal sizes need an empty
 * proof and equal roots; `oldSize` 0 is rejected (RFC 9162 defines proofs for 0 < first only, and
 * a claim of consistency with the empty tree proves nothing). Never throws.
 *
 * @example verifyConsistency(6, 8, tree.root(6), tree.root(8), tree.consistencyProof(6, 8)) // true
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 1 || oldSize > newSize) return false;
  if (oldSize === newSize) return proof.length === 0 && equalBytes(oldRoot, newRoot);
  if (proof.length === 0 || oldRoot.length !== HASH_SIZE || newRoot.length !== HASH_SIZE) return false;
  if (proof.some((p) => p.length !== HASH_SIZE)) return false;
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  const [first, ...rest] = path;
  if (first === undefined) return false;
  let fr: Uint8Array = first;
  let sr: Uint8Array = first;
  for (const c of rest) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(fr, oldRoot) && equalBytes(sr, newRoot);
}
