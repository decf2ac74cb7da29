/**
 * A tiny deterministic **lexical** embedding: what the local stage's stand-in embedding model
 * returns, and what unit tests and benches embed with. It is not semantic: two texts are close only
 * when they share words and word pairs ("car" and "automobile" are as far apart as "car" and
 * "banana"). Real embedding models replace it through the {@link ModelBackend} port's `embed`.
 *
 * How a vector is computed (feature hashing, Weinberger et al. 2009):
 * 1. Lower-case the text (`toLowerCase`, locale-independent) and split it into words: maximal runs of
 *    Unicode letters, digits and marks (`[\p{L}\p{N}\p{M}]+`); an apostrophe between letters stays
 *    inside the word ("don't" is one word). Everything else separates words.
 * 2. Features: every word (unigram, `w:<word>`) and every pair of adjacent words (bigram,
 *    `b:<word> <word>`), each counted once per occurrence.
 * 3. Each feature's UTF-8 bytes are hashed with 32-bit FNV-1a; its index is `hash mod dims`. Its sign
 *    is `+1` or `−1` from the low bit of a second hash (FNV-1a of the same bytes with a different
 *    offset basis), so colliding features tend to cancel rather than pile up.
 * 4. The vector is L2-normalised. A text with no words gives the zero vector (cosine with it is 0).
 *
 * Same text and `dims`, same vector, on any machine.
 *
 * @module
 */
import type { ModelBackend } from './backend.ts';

/** Default number of dimensions (that of common small sentence-embedding models). */
export const LEXICAL_EMBEDDING_DIMS = 384;

const FNV_PRIME = 0x01000193;
const FNV_OFFSET = 0x811c9dc5;
/** A second offset basis for the sign hash (an arbitrary odd constant, fixed forever). */
const SIGN_OFFSET = 0x9e3779b9;

const WORD = /[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{N}\p{M}]+)*/gu;

/**
 * Both FNV-1a hashes of `feature`'s UTF-8 bytes, in one pass without allocating the bytes: the index
 * hash (offset {@link FNV_OFFSET}) and the sign hash (offset {@link SIGN_OFFSET}).
 */
function featureHashes(feature: string): [index: number, sign: number] {
  let h1 = FNV_OFFSET;
  let h2 = SIGN_OFFSET;
  const step = (byte: number) => {
    h1 = Math.imul(h1 ^ byte, FNV_PRIME);
    h2 = Math.imul(h2 ^ byte, FNV_PRIME);
  };
  for (let i = 0; i < feature.length; i++) {
    let code = feature.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < feature.length) {
      const low = feature.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    // A lone surrogate is encoded as U+FFFD, as TextEncoder does.
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    if (code < 0x80) step(code);
    else if (code < 0x800) {
      step(0xc0 | (code >> 6));
      step(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      step(0xe0 | (code >> 12));
      step(0x80 | ((code >> 6) & 0x3f));
      step(0x80 | (code & 0x3f));
    } else {
      step(0xf0 | (code >> 18));
      step(0x80 | ((code >> 12) & 0x3f));
      step(0x80 | ((code >> 6) & 0x3f));
      step(0x80 | (code & 0x3f));
    }
  }
  return [h1 >>> 0, h2 >>> 0];
}

/** The words of `text` as the embedding sees them (lower-cased, in order). */
export function lexicalWords(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/**
 * The lexical embedding of `text`: hashed word unigrams and bigrams, signed, L2-normalised.
 * Deterministic; lexical, not semantic (see the module comment).
 *
 * @param text any string (empty or word-less text gives the zero vector)
 * @param dims vector length, a positive integer (default {@link LEXICAL_EMBEDDING_DIMS})
 * @throws RangeError when `dims` is not a positive integer
 * @example
 * const a = lexicalEmbedding('The cache is cold after a deploy');
 * const b = lexicalEmbedding('After a deploy the cache is cold');
 * cosineSimilarity(a, b); // ≈ 0.92: the same words, all but one of the same pairs
 */
export function lexicalEmbedding(text: string, dims = LEXICAL_EMBEDDING_DIMS): number[] {
  if (!Number.isInteger(dims) || dims <= 0) throw new RangeError(`dims must be a positive integer, got ${dims}`);
  const vector = new Array<number>(dims).fill(0);
  const words = lexicalWords(text);
  const add = (feature: string) => {
    const [indexHash, signHash] = featureHashes(feature);
    const index = indexHash % dims;
    vector[index] = (vector[index] ?? 0) + ((signHash & 1) === 0 ? 1 : -1);
  };
  for (let i = 0; i < words.length; i++) {
    add(`w:${words[i]}`);
    if (i + 1 < words.length) add(`b:${words[i]} ${words[i + 1]}`);
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  if (norm === 0) return vector;
  const scale = 1 / Math.sqrt(norm);
  return vector.map((value) => value * scale);
}

/**
 * Cosine similarity of two vectors of the same length, in [−1, 1]; 0 when either is the zero vector.
 *
 * @throws RangeError when the lengths differ
 */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`vectors differ in length: ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 || nb === 0) return 0;
  return Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
}

/** An `embed` function (the shape of {@link ModelBackend.embed}) computing {@link lexicalEmbedding} of each text. */
export function lexicalEmbed(dims = LEXICAL_EMBEDDING_DIMS): (texts: string[], signal?: AbortSignal) => Promise<number[][]> {
  return async (texts) => texts.map((text) => lexicalEmbedding(text, dims));
}
