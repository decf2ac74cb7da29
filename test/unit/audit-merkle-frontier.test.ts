/**
 * The Merkle frontier (compact range): the RFC 6962 vectors through it, built in one go and
 * resumed from its plain data at every split point, and properties against the full tree and the
 * recursive definition.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hashChildren, hashLeaf, MerkleTree } from '../../lib/audit/merkle.ts';
import { frontierLength, MerkleFrontier } from '../../lib/audit/merkle-frontier.ts';
import { conformancePath } from '../helpers/conformance.ts';

interface TreeVectors {
  leaf_inputs_hex: string[];
  node_hashes_by_level: string[][];
  root_hashes_by_tree_size: string[];
}

const hex = (text: string) => Buffer.from(text, 'hex');

/** The RFC 6962 §2.1 definition, recursively, as an oracle. */
function referenceRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return hashLeaf(leaves[0] ?? Buffer.alloc(0));
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return hashChildren(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

/** The perfect subtrees of [0, n), largest first, as [start, width] pairs. */
function decomposition(n: number): Array<[number, number]> {
  const parts: Array<[number, number]> = [];
  let start = 0;
  for (let width = 2 ** Math.floor(Math.log2(Math.max(n, 1))); width >= 1; width /= 2) {
    if (start + width <= n) {
      parts.push([start, width]);
      start += width;
    }
  }
  return parts;
}

/** Builds a frontier over `leaves`, saving it to plain data and reading it back at each split point. */
function resumedFrontier(leaves: readonly Buffer[], splits: readonly number[]): MerkleFrontier {
  let frontier = new MerkleFrontier();
  leaves.forEach((leaf, index) => {
    if (splits.includes(index)) frontier = MerkleFrontier.fromData(JSON.parse(JSON.stringify(frontier.toData())));
    frontier.append(leaf);
  });
  return frontier;
}

describe('merkle frontier: RFC 6962 tree vectors', () => {
  const vectors = JSON.parse(readFileSync(conformancePath('merkle-rfc6962', 'rfc6962_tree_vectors.json'), 'utf8')) as TreeVectors;
  const leaves = vectors.leaf_inputs_hex.map(hex);

  it('computes the root of every tree size 0..8, appending one leaf at a time', () => {
    const frontier = new MerkleFrontier();
    vectors.root_hashes_by_tree_size.forEach((root, size) => {
      assert.equal(frontier.size, size);
      assert.equal(frontier.root().toString('hex'), root, `size ${size}`);
      const next = leaves[size];
      if (next !== undefined) {
        assert.equal(
          frontier.rootWith(hashLeaf(next)).toString('hex'),
          vectors.root_hashes_by_tree_size[size + 1],
          `size ${size} + 1 without appending`,
        );
        frontier.append(next);
      }
    });
  });

  it('reproduces every root when resumed from its stored form at any split point', () => {
    for (let split = 0; split <= leaves.length; split += 1) {
      for (let size = split; size <= leaves.length; size += 1) {
        const frontier = resumedFrontier(leaves.slice(0, size), [split]);
        assert.equal(frontier.root().toString('hex'), vectors.root_hashes_by_tree_size[size], `split ${split}, size ${size}`);
      }
    }
  });

  it('holds exactly the complete subtree hashes of the vectors, largest first', () => {
    for (let size = 0; size <= leaves.length; size += 1) {
      const frontier = MerkleFrontier.of(0, []);
      for (const leaf of leaves.slice(0, size)) frontier.append(leaf);
      const expected = decomposition(size).map(([start, width]) => vectors.node_hashes_by_level[Math.log2(width)]?.[start / width]);
      assert.deepEqual(frontier.toData(), { size, hashes: expected }, `size ${size}`);
    }
  });
});

const leafArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes));

describe('merkle frontier: properties', () => {
  it('gives the root of a full recomputation after resuming at random split points', () => {
    fc.assert(
      fc.property(fc.array(leafArb, { maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 6 }), (leaves, splits) => {
        const frontier = resumedFrontier(leaves, splits);
        const tree = MerkleTree.fromLeaves(leaves);
        assert.equal(frontier.size, leaves.length);
        assert.deepEqual(frontier.root(), tree.root());
        assert.deepEqual(frontier.root(), referenceRoot(leaves));
      }),
      { numRuns: 150 },
    );
  });

  it('keeps one subtree root per set bit of the size, each the root of its range of leaves', () => {
    fc.assert(
      fc.property(fc.array(leafArb, { maxLength: 130 }), (leaves) => {
        const frontier = new MerkleFrontier();
        for (const leaf of leaves) frontier.append(leaf);
        const hashes = frontier.hashes();
        assert.equal(hashes.length, frontierLength(leaves.length));
        assert.deepEqual(
          hashes,
          decomposition(leaves.length).map(([start, width]) => referenceRoot(leaves.slice(start, start + width))),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('computes the root with one more leaf without changing the frontier', () => {
    fc.assert(
      fc.property(fc.array(leafArb, { maxLength: 100 }), leafArb, (leaves, extra) => {
        const frontier = MerkleFrontier.of(0, []);
        for (const leaf of leaves) frontier.append(leaf);
        const before = frontier.toData();
        const predicted = frontier.rootWith(hashLeaf(extra));
        assert.deepEqual(frontier.toData(), before);
        frontier.append(extra);
        assert.deepEqual(predicted, frontier.root());
      }),
      { numRuns: 150 },
    );
  });

  it('leaves a clone untouched by appends to the original', () => {
    const frontier = new MerkleFrontier();
    for (let n = 0; n < 5; n += 1) frontier.append(Buffer.alloc(32, n));
    const copy = frontier.clone();
    frontier.append(Buffer.alloc(32, 9));
    assert.equal(copy.size, 5);
    assert.deepEqual(copy.root(), MerkleTree.fromLeaves(Array.from({ length: 5 }, (_, n) => Buffer.alloc(32, n))).root());
  });
});

describe('merkle frontier: sizes and malformed input', () => {
  it('counts subtrees by arithmetic, so sizes beyond 2^32 work', () => {
    const big = 2 ** 40 + 5; // bits 40, 2, 0
    const frontier = MerkleFrontier.of(big, [Buffer.alloc(32, 1), Buffer.alloc(32, 2), Buffer.alloc(32, 3)]);
    frontier.appendLeafHash(Buffer.alloc(32, 4)); // 2^40 + 6: bits 40, 2, 1
    assert.equal(frontier.size, big + 1);
    assert.equal(frontier.hashes().length, 3);
    assert.deepEqual(frontier.hashes()[2], hashChildren(Buffer.alloc(32, 3), Buffer.alloc(32, 4)));
    frontier.appendLeafHash(Buffer.alloc(32, 5)); // 2^40 + 7: bits 40, 2, 1, 0
    assert.equal(frontier.hashes().length, 4);
    assert.equal(frontierLength(2 ** 53 - 1), 53);
  });

  it('refuses a frontier whose hash count does not match its size, or hashes of the wrong shape', () => {
    assert.throws(() => MerkleFrontier.of(6, [Buffer.alloc(32)]), { name: 'MerkleRangeError' });
    assert.throws(() => MerkleFrontier.of(1, [Buffer.alloc(31)]), { name: 'MerkleRangeError' });
    assert.throws(() => MerkleFrontier.of(-1, []), { name: 'MerkleRangeError' });
    assert.throws(() => MerkleFrontier.of(1.5, []), { name: 'MerkleRangeError' });
    assert.throws(() => MerkleFrontier.fromData({ size: 1, hashes: ['AB'.repeat(32)] }), { name: 'MerkleRangeError' });
    assert.throws(() => new MerkleFrontier().appendLeafHash(Buffer.alloc(33)), { name: 'MerkleRangeError' });
    assert.throws(() => new MerkleFrontier().rootWith(Buffer.alloc(31)), { name: 'MerkleRangeError' });
  });
});
