/**
 * Merkle tree conformance with the Certificate Transparency vectors (transparency-dev/merkle,
 * see test/fixtures/conformance/merkle-rfc6962/SOURCE.md), plus properties of proof generation.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  consistencyProof,
  EMPTY_ROOT,
  hashChildren,
  hashLeaf,
  inclusionProof,
  MerkleTree,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../lib/audit/merkle.ts';
import { conformancePath } from '../helpers/conformance.ts';

const treeVectorsPath = conformancePath('merkle-rfc6962', 'rfc6962_tree_vectors.json');
const probesDir = conformancePath('merkle-rfc6962', 'testdata');

const b64 = (text: string) => Buffer.from(text, 'base64');
const hex = (text: string) => Buffer.from(text, 'hex');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = `${dir}/${name}`;
    if (statSync(full).isDirectory()) return jsonFiles(full);
    return name.endsWith('.json') ? [full] : [];
  });
}

interface InclusionProbe {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyProbe {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface TreeVectors {
  hasher_vectors: { desc: string; input?: null; leaf_hex?: string; left_hex?: string; right_hex?: string; want: string }[];
  leaf_inputs_hex: string[];
  node_hashes_by_level: string[][];
  root_hashes_by_tree_size: string[];
  inclusion_proofs: { leaf_index_0based: number; tree_size: number; proof: string[]; root: string }[];
  consistency_proofs: { size1: number; size2: number; proof: string[]; root1: string; root2: string }[];
}

describe('merkle: RFC 6962 tree vectors', () => {
  const vectors = JSON.parse(readFileSync(treeVectorsPath, 'utf8')) as TreeVectors;
  const leaves = vectors.leaf_inputs_hex.map(hex);

  it('computes every hasher vector (empty root, leaf hashes, node hash of raw children)', () => {
    for (const vector of vectors.hasher_vectors) {
      let got: Buffer;
      if (vector.left_hex !== undefined && vector.right_hex !== undefined) got = hashChildren(hex(vector.left_hex), hex(vector.right_hex));
      else if (vector.leaf_hex !== undefined) got = hashLeaf(hex(vector.leaf_hex));
      else got = EMPTY_ROOT;
      assert.equal(got.toString('hex'), vector.want, vector.desc);
    }
  });

  it('computes the root of every tree size 0..8', () => {
    vectors.root_hashes_by_tree_size.forEach((root, size) => {
      assert.equal(merkleRoot(leaves.slice(0, size)).toString('hex'), root, `size ${size}`);
      assert.equal(MerkleTree.fromLeaves(leaves).root(size).toString('hex'), root, `cached tree, size ${size}`);
    });
  });

  it('computes every complete subtree hash', () => {
    vectors.node_hashes_by_level.forEach((nodes, level) => {
      nodes.forEach((node, index) => {
        const width = 2 ** level;
        assert.equal(merkleRoot(leaves.slice(index * width, (index + 1) * width)).toString('hex'), node, `level ${level} node ${index}`);
      });
    });
  });

  it('generates exactly the expected inclusion proofs', () => {
    const tree = MerkleTree.fromLeaves(leaves);
    for (const vector of vectors.inclusion_proofs) {
      const proof = inclusionProof(tree, vector.leaf_index_0based, vector.tree_size);
      assert.deepEqual(
        proof.map((p) => p.toString('hex')),
        vector.proof,
        `index ${vector.leaf_index_0based} size ${vector.tree_size}`,
      );
      assert.ok(
        verifyInclusion(tree.leafHash(vector.leaf_index_0based), vector.leaf_index_0based, vector.tree_size, proof, hex(vector.root)),
      );
    }
  });

  it('generates exactly the expected consistency proofs', () => {
    const tree = MerkleTree.fromLeaves(leaves);
    for (const vector of vectors.consistency_proofs) {
      const proof = consistencyProof(tree, vector.size1, vector.size2);
      assert.deepEqual(
        proof.map((p) => p.toString('hex')),
        vector.proof,
        `sizes ${vector.size1}→${vector.size2}`,
      );
      assert.ok(verifyConsistency(vector.size1, vector.size2, hex(vector.root1), hex(vector.root2), proof));
    }
  });
});

describe('merkle: CT verification probes', () => {
  const files = jsonFiles(probesDir).sort();

  it('finds the probe files', () => {
    assert.ok(files.length >= 196, `expected ≥ 196 probe files, found ${files.length}`);
  });

  for (const file of files) {
    const name = file.slice(file.indexOf('testdata/') + 'testdata/'.length);
    const probe = JSON.parse(readFileSync(file, 'utf8')) as InclusionProbe | ConsistencyProbe;
    it(`${probe.wantErr ? 'rejects' : 'accepts'} ${name} (${probe.desc})`, () => {
      const proof = (probe.proof ?? []).map(b64);
      const ok =
        'leafIdx' in probe
          ? verifyInclusion(b64(probe.leafHash), probe.leafIdx, probe.treeSize, proof, b64(probe.root))
          : verifyConsistency(probe.size1, probe.size2, b64(probe.root1), b64(probe.root2), proof);
      assert.equal(ok, !probe.wantErr);
    });
  }
});

/** The RFC 6962 §2.1 definition, recursively, as an oracle. */
function referenceRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return hashLeaf(leaves[0] ?? Buffer.alloc(0));
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return hashChildren(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

const leafArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes));

describe('merkle: properties', () => {
  it('matches the recursive RFC 6962 definition for every prefix of a tree', () => {
    fc.assert(
      fc.property(fc.array(leafArb, { maxLength: 70 }), (leaves) => {
        const tree = MerkleTree.fromLeaves(leaves);
        for (let size = 0; size <= leaves.length; size += 1) {
          assert.deepEqual(tree.root(size), referenceRoot(leaves.slice(0, size)));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('generates inclusion proofs that verify, and fail for any other index or a flipped bit', () => {
    fc.assert(
      fc.property(fc.array(leafArb, { minLength: 1, maxLength: 100 }), fc.nat(), fc.nat(), (leaves, a, b) => {
        const tree = MerkleTree.fromLeaves(leaves);
        const treeSize = 1 + (a % leaves.length);
        const index = b % treeSize;
        const proof = tree.inclusionProof(index, treeSize);
        const root = tree.root(treeSize);
        assert.ok(verifyInclusion(tree.leafHash(index), index, treeSize, proof, root));
        if (treeSize > 1) assert.ok(!verifyInclusion(tree.leafHash(index), (index + 1) % treeSize, treeSize, proof, root));
        if (proof.length > 0) {
          const flipped = proof.map((p) => Buffer.from(p));
          const target = flipped[b % flipped.length] as Buffer;
          target[a % 32] = (target[a % 32] ?? 0) ^ 1;
          assert.ok(!verifyInclusion(tree.leafHash(index), index, treeSize, flipped, root));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('generates consistency proofs that verify between any two sizes', () => {
    fc.assert(
      fc.property(fc.array(leafArb, { minLength: 1, maxLength: 100 }), fc.nat(), fc.nat(), (leaves, a, b) => {
        const tree = MerkleTree.fromLeaves(leaves);
        const newSize = 1 + (a % leaves.length);
        const oldSize = 1 + (b % newSize);
        const proof = tree.consistencyProof(oldSize, newSize);
        assert.ok(verifyConsistency(oldSize, newSize, tree.root(oldSize), tree.root(newSize), proof));
        if (oldSize < newSize) {
          assert.ok(!verifyConsistency(oldSize, newSize, tree.root(newSize), tree.root(oldSize), proof), 'swapped roots');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses proofs outside the tree', () => {
    const tree = MerkleTree.fromLeaves([Buffer.alloc(32)]);
    assert.throws(() => tree.inclusionProof(1, 1), { name: 'MerkleRangeError' });
    assert.throws(() => tree.inclusionProof(0, 2), { name: 'MerkleRangeError' });
    assert.throws(() => tree.consistencyProof(0, 1), { name: 'MerkleRangeError' });
    assert.throws(() => tree.appendLeafHash(Buffer.alloc(31)), { name: 'MerkleRangeError' });
  });
});
