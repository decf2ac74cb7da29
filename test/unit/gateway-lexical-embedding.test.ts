/**
 * The lexical stand-in embedding (lib/gateway/lexical-embedding.ts): deterministic, unit length,
 * close for texts sharing words and pairs, orthogonal-ish for unrelated texts, zero for no words.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cosineSimilarity, LEXICAL_EMBEDDING_DIMS, lexicalEmbedding, lexicalWords } from '../../lib/gateway/lexical-embedding.ts';

describe('lexicalEmbedding', () => {
  it('returns the same unit-length 384-dimension vector for the same text', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (text) => {
        const a = lexicalEmbedding(text);
        assert.equal(a.length, LEXICAL_EMBEDDING_DIMS);
        assert.deepEqual(a, lexicalEmbedding(text));
        const norm = Math.sqrt(a.reduce((s, x) => s + x * x, 0));
        if (lexicalWords(text).length > 0) assert.ok(Math.abs(norm - 1) < 1e-9, `norm ${norm}`);
        else assert.equal(norm, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('ignores case and punctuation but not word order', () => {
    const a = lexicalEmbedding('Restart the payments service.');
    assert.deepEqual(a, lexicalEmbedding('restart THE payments, service'));
    const reordered = cosineSimilarity(a, lexicalEmbedding('the payments service restart'));
    assert.ok(reordered < 0.999 && reordered > 0.5, `reordered ${reordered}`);
  });

  it('puts paraphrases sharing words closer than unrelated text', () => {
    const q = lexicalEmbedding('The cache is cold after a deploy, so latency rises for a few minutes');
    const near = lexicalEmbedding('After a deploy the cache is cold and latency rises briefly');
    const far = lexicalEmbedding('Photosynthesis converts light into chemical energy in plants');
    assert.ok(cosineSimilarity(q, near) > 0.5, `near ${cosineSimilarity(q, near)}`);
    assert.ok(Math.abs(cosineSimilarity(q, far)) < 0.2, `far ${cosineSimilarity(q, far)}`);
  });

  it('honours dims and refuses a non-positive one', () => {
    assert.equal(lexicalEmbedding('hello world', 16).length, 16);
    assert.throws(() => lexicalEmbedding('hello', 0), RangeError);
    assert.throws(() => lexicalEmbedding('hello', 2.5), RangeError);
  });

  it('keeps apostrophes inside words and splits on everything else', () => {
    assert.deepEqual(lexicalWords("Don't STOP—naïve café, 42!"), ["don't", 'stop', 'naïve', 'café', '42']);
    assert.deepEqual(lexicalWords('  ...  '), []);
  });
});

/** The module comment's algorithm, written plainly (TextEncoder bytes, two FNV-1a passes): the reference. */
function referenceEmbedding(text: string, dims = 384): number[] {
  const fnv = (bytes: Uint8Array, offset: number) => {
    let hash = offset;
    for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    return hash;
  };
  const vector = new Array<number>(dims).fill(0);
  const words = lexicalWords(text);
  const features = words.flatMap((word, i) => (i + 1 < words.length ? [`w:${word}`, `b:${word} ${words[i + 1]}`] : [`w:${word}`]));
  for (const feature of features) {
    const bytes = new TextEncoder().encode(feature);
    const index = fnv(bytes, 0x811c9dc5) % dims;
    vector[index] = (vector[index] ?? 0) + ((fnv(bytes, 0x9e3779b9) & 1) === 0 ? 1 : -1);
  }
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  return norm === 0 ? vector : vector.map((x) => x / norm);
}

describe('lexicalEmbedding against the reference', () => {
  it('equals the plainly written algorithm on any text, astral characters and lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom(384, 97, 16), (text, dims) => {
        assert.deepEqual(lexicalEmbedding(text, dims), referenceEmbedding(text, dims));
      }),
      { numRuns: 500 },
    );
    for (const text of ['naïve café 😀 déjà-vu', '中文 文本 测试', 'Σίσυφος ǅ ﬁ', "don't \ud800 stop"]) {
      assert.deepEqual(lexicalEmbedding(text), referenceEmbedding(text), text);
    }
  });
});

describe('cosineSimilarity', () => {
  it('is 0 against the zero vector and refuses different lengths', () => {
    assert.equal(cosineSimilarity([0, 0], [1, 0]), 0);
    assert.throws(() => cosineSimilarity([1], [1, 0]), RangeError);
  });
});
