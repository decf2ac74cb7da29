/**
 * Near-duplicate detection with MinHash and locality-sensitive hashing (Broder 1997; Leskovec,
 * Rajaraman and Ullman, *Mining of Massive Datasets*, ch. 3).
 *
 * - **Shingles**: the text's words as the lexical embedding sees them (lower-cased letter/digit runs,
 *   lib/gateway/lexical-embedding.ts `lexicalWords`), taken {@link MINHASH_DEFAULTS.shingleWords} at a
 *   time (word 3-grams); a text of fewer words is one shingle of all its words. Each shingle is hashed
 *   to 32 bits with FNV-1a.
 * - **Signature**: {@link MINHASH_DEFAULTS.permutations} = 128 hash functions h_i(x) = fmix32(x XOR s_i)
 *   (MurmurHash3's finaliser, seeds s_i from a fixed xorshift sequence); signature[i] = min over
 *   shingles of h_i. The share of equal positions of two signatures estimates the Jaccard similarity of
 *   their shingle sets (standard error ≈ √(J(1−J)/128) ≤ 0.045).
 * - **LSH**: the signature cut into b = 32 bands of r = 4 rows; two texts are candidates when any band
 *   is equal. P(candidate) = 1 − (1 − J⁴)³², which is 0.5 near J ≈ (1/b)^(1/r) ≈ 0.42 and > 0.999 at
 *   J ≥ 0.8, so candidates are then confirmed by the estimate ≥ the threshold (default 0.8).
 *
 * @module
 */
import { lexicalWords } from '../gateway/lexical-embedding.ts';

/** The documented parameters (see the module comment). */
export const MINHASH_DEFAULTS = {
  permutations: 128,
  bands: 32,
  rows: 4,
  shingleWords: 3,
  /** Estimated Jaccard similarity from which two texts are near-duplicates. */
  threshold: 0.8,
} as const;

const FNV_PRIME = 0x01000193;
const FNV_OFFSET = 0x811c9dc5;

function fnv1a(text: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash >>> 0;
}

/** MurmurHash3's 32-bit finaliser: a bijection on 32-bit integers with full avalanche. */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The fixed seeds of the hash functions (xorshift32 from 0x9e3779b9). */
const SEEDS: readonly number[] = (() => {
  const seeds: number[] = [];
  let x = 0x9e3779b9;
  for (let i = 0; i < MINHASH_DEFAULTS.permutations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    seeds.push(x >>> 0);
  }
  return seeds;
})();

/** The hashed word shingles of `text` (distinct). */
export function shingles(text: string, size: number = MINHASH_DEFAULTS.shingleWords): Set<number> {
  const words = lexicalWords(text);
  const out = new Set<number>();
  if (words.length === 0) return out;
  if (words.length < size) {
    out.add(fnv1a(words.join(' ')));
    return out;
  }
  for (let i = 0; i + size <= words.length; i++) out.add(fnv1a(words.slice(i, i + size).join(' ')));
  return out;
}

/**
 * The MinHash signature of `text` ({@link MINHASH_DEFAULTS.permutations} values); a text with no words
 * gives all 0xffffffff, which matches only another empty text.
 * @example
 * estimateJaccard(minhashSignature('the cache is cold after deploy'), minhashSignature('the cache is cold after a deploy'));
 */
export function minhashSignature(text: string): Uint32Array {
  const signature = new Uint32Array(MINHASH_DEFAULTS.permutations).fill(0xffffffff);
  for (const shingle of shingles(text)) {
    for (let i = 0; i < signature.length; i++) {
      const h = fmix32((shingle ^ (SEEDS[i] as number)) >>> 0);
      if (h < (signature[i] as number)) signature[i] = h;
    }
  }
  return signature;
}

/** The share of equal positions of two signatures: the estimate of their texts' Jaccard similarity. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) throw new RangeError(`signatures differ in length: ${a.length} and ${b.length}`);
  let equal = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) equal++;
  return equal / a.length;
}

/** A text to deduplicate. */
export interface DedupeText {
  id: string;
  text: string;
  /** Never removed as a duplicate (another may be merged into it). */
  keep?: boolean;
}

/** A near-duplicate found: `id` is merged into `into`, with the estimated similarity. */
export interface DuplicateOf {
  id: string;
  into: string;
  similarity: number;
}

/**
 * Finds near-duplicates among `texts` by LSH candidates confirmed by the estimate ≥ `threshold`. In
 * input order, each text is merged into the first earlier text it duplicates that is not itself
 * merged; a `keep` text is never merged (when it comes later, the earlier non-`keep` one is merged
 * into it instead).
 * @example
 * nearDuplicates([{ id: 'a', text }, { id: 'b', text: text + '.' }]); // [{ id: 'b', into: 'a', similarity: 1 }]
 */
export function nearDuplicates(texts: readonly DedupeText[], threshold: number = MINHASH_DEFAULTS.threshold): DuplicateOf[] {
  const { bands, rows } = MINHASH_DEFAULTS;
  const signatures = texts.map((entry) => minhashSignature(entry.text));
  const buckets = new Map<string, number[]>();
  const candidates = texts.map(() => new Set<number>());
  signatures.forEach((signature, index) => {
    if (shingles(texts[index]?.text ?? '').size === 0) return;
    for (let band = 0; band < bands; band++) {
      const key = `${band}:${Array.from(signature.subarray(band * rows, band * rows + rows)).join(',')}`;
      const bucket = buckets.get(key);
      if (bucket) {
        for (const other of bucket) candidates[index]?.add(other);
        bucket.push(index);
      } else buckets.set(key, [index]);
    }
  });
  const mergedInto = new Map<number, { into: number; similarity: number }>();
  texts.forEach((entry, index) => {
    for (const other of [...(candidates[index] ?? [])].sort((x, y) => x - y)) {
      if (mergedInto.has(other)) continue;
      const similarity = estimateJaccard(signatures[index] as Uint32Array, signatures[other] as Uint32Array);
      if (similarity < threshold) continue;
      const earlier = texts[other] as DedupeText;
      if (entry.keep && earlier.keep) continue;
      if (entry.keep) mergedInto.set(other, { into: index, similarity });
      else mergedInto.set(index, { into: other, similarity });
      if (!entry.keep) return;
    }
  });
  // Resolve chains (a kept later text took over an earlier one that others were merged into).
  const root = (index: number): number => {
    let at = index;
    for (let guard = 0; mergedInto.has(at) && guard < texts.length; guard++) at = (mergedInto.get(at) as { into: number }).into;
    return at;
  };
  return [...mergedInto.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([index, { similarity }]) => ({ id: (texts[index] as DedupeText).id, into: (texts[root(index)] as DedupeText).id, similarity }));
}
