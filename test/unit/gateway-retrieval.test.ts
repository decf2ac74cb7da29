import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../../lib/errors.ts';
import {
  analyze,
  Bm25Index,
  chunkDocument,
  cosineRank,
  hybridRank,
  type RetrievedChunk,
  reciprocalRankFusion,
  retrievalMessage,
  retrievalQuotaTokens,
  selectForContext,
} from '../../lib/gateway/retrieval.ts';

const approx = (text: string): number => Math.ceil(text.length / 4);

describe('retrieval: analysis', () => {
  it('lower-cases, drops stop words and possessives, and stems with Porter', () => {
    assert.deepEqual(analyze("The Cell's proteins were binding to the receptors"), ['cell', 'protein', 'were', 'bind', 'receptor']);
    assert.deepEqual(analyze('Running runs RAN', { stem: false }), ['running', 'runs', 'ran']);
    assert.deepEqual(analyze('Running runs'), ['run', 'run']);
  });

  it('segments words the Unicode way: numbers, non-Latin scripts and punctuation', () => {
    assert.deepEqual(analyze('IL-10 and TGF-β at 1.8 mg/ml', { stem: false }), ['il', '10', 'tgf', 'β', '1.8', 'mg', 'ml']);
    assert.deepEqual(analyze('Größe!', { stem: false }), ['größe']);
    assert.ok(analyze('東京都に住んでいます', { stem: false }).length >= 2, 'Japanese is split into words without spaces');
    assert.deepEqual(analyze('... !!! ---'), []);
  });

  it('skips terms longer than 64 characters', () => {
    assert.deepEqual(analyze(`${'x'.repeat(65)} kept`), ['kept']);
  });
});

const sentenceArb = fc
  .tuple(
    fc.array(fc.constantFrom('alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'), {
      minLength: 1,
      maxLength: 40,
    }),
    fc.constantFrom('.', '!', '?'),
  )
  .map(([words, end]) => `${(words[0] as string).replace(/^./, (c) => c.toUpperCase())} ${words.slice(1).join(' ')}${end}`);
const documentArb = fc
  .array(fc.array(sentenceArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 })
  .map((paragraphs) => paragraphs.map((sentences) => sentences.join(' ')).join('\n\n'));

describe('retrieval: chunking', () => {
  it('cuts along sentences, within the token limit, with the document text at the given offsets', () => {
    fc.assert(
      fc.property(documentArb, fc.integer({ min: 8, max: 120 }), fc.integer({ min: 0, max: 30 }), (text, chunkTokens, overlapRaw) => {
        const overlapTokens = Math.min(overlapRaw, chunkTokens - 1);
        const chunks = chunkDocument({ id: 'doc', text }, approx, { chunkTokens, overlapTokens });
        assert.ok(chunks.length >= 1);
        let covered = 0;
        chunks.forEach((chunk, seq) => {
          assert.equal(chunk.seq, seq);
          assert.equal(chunk.text, text.slice(chunk.start, chunk.end));
          assert.equal(chunk.tokens, approx(chunk.text));
          assert.ok(chunk.tokens <= chunkTokens, `chunk ${seq} has ${chunk.tokens} > ${chunkTokens} tokens`);
          assert.equal(chunk.text, chunk.text.trim());
          // Every character between chunks is whitespace: nothing of the document is lost.
          assert.equal(text.slice(covered, Math.max(covered, chunk.start)).trim(), '');
          covered = Math.max(covered, chunk.end);
          if (seq > 0) {
            const previous = chunks[seq - 1] as (typeof chunks)[number];
            assert.ok(chunk.start > previous.start && chunk.end > previous.end, 'chunks move forward');
            if (chunk.start < previous.end)
              assert.ok(approx(text.slice(chunk.start, previous.end)) <= overlapTokens, 'overlap within its tokens');
          }
        });
        assert.equal(text.slice(covered).trim(), '');
        assert.equal(new Set(chunks.map((chunk) => chunk.id)).size, chunks.length, 'ids are unique');
      }),
      { numRuns: 200 },
    );
  });

  it('repeats the last sentences of a chunk at the start of the next (overlap)', () => {
    const text = 'One two three four five. Six seven eight nine ten. Eleven twelve thirteen fourteen. Fifteen sixteen seventeen.';
    const chunks = chunkDocument({ id: 'd', text }, approx, { chunkTokens: 16, overlapTokens: 8 });
    assert.ok(chunks.length >= 2);
    assert.ok(
      (chunks[1] as (typeof chunks)[number]).start < (chunks[0] as (typeof chunks)[number]).end,
      'the second chunk starts inside the first',
    );
    const none = chunkDocument({ id: 'd', text }, approx, { chunkTokens: 16, overlapTokens: 0 });
    none.slice(1).forEach((chunk, at) => {
      assert.ok(chunk.start >= (none[at] as (typeof none)[number]).end);
    });
  });

  it('ends a half-full chunk at a paragraph break', () => {
    const text = `${'Alpha beta gamma delta. '.repeat(4).trim()}\n\n${'Epsilon zeta eta theta. '.repeat(2).trim()}`;
    const chunks = chunkDocument({ id: 'd', text }, approx, { chunkTokens: 40, overlapTokens: 0 });
    assert.equal(chunks.length, 2);
    assert.ok(chunks[0]?.text.endsWith('delta.') && chunks[1]?.text.startsWith('Epsilon'));
  });

  it('cuts a sentence longer than a chunk at word boundaries', () => {
    const text = `${'word '.repeat(200).trim()}.`;
    const chunks = chunkDocument({ id: 'd', text }, approx, { chunkTokens: 20, overlapTokens: 0 });
    assert.ok(chunks.length >= 10);
    for (const chunk of chunks) {
      assert.ok(chunk.tokens <= 20);
      assert.match(chunk.text, /^word( word)*\.?$/);
    }
  });

  it('keeps the ids of unchanged chunks when a later paragraph changes, and tells the same text apart by document and occurrence', () => {
    const first = 'Refunds take five days. Ask the desk.\n\nShipping is free over fifty euros.';
    const edited = 'Refunds take five days. Ask the desk.\n\nShipping costs four euros.';
    const a = chunkDocument({ id: 'handbook', text: first }, approx, { chunkTokens: 12, overlapTokens: 0 });
    const b = chunkDocument({ id: 'handbook', text: edited }, approx, { chunkTokens: 12, overlapTokens: 0 });
    assert.equal(a[0]?.id, b[0]?.id);
    assert.notEqual(a.at(-1)?.id, b.at(-1)?.id);
    assert.notEqual(chunkDocument({ id: 'other', text: first }, approx, { chunkTokens: 12, overlapTokens: 0 })[0]?.id, a[0]?.id);
    const repeated = chunkDocument({ id: 'd', text: 'Same words here.\n\nSame words here.' }, approx, { chunkTokens: 5, overlapTokens: 0 });
    assert.equal(repeated.length, 2);
    assert.notEqual(repeated[0]?.id, repeated[1]?.id);
    assert.match(repeated[0]?.id ?? '', /^[0-9a-f]{32}$/);
  });

  it('refuses bad sizes naming the option', () => {
    assert.throws(
      () => chunkDocument({ id: 'd', text: 'x' }, approx, { chunkTokens: 0 }),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'chunkTokens',
    );
    assert.throws(
      () => chunkDocument({ id: 'd', text: 'x' }, approx, { chunkTokens: 10, overlapTokens: 10 }),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'overlapTokens',
    );
    assert.deepEqual(chunkDocument({ id: 'd', text: '  \n\n ' }, approx), []);
  });
});

describe('retrieval: BM25', () => {
  it('scores with Okapi BM25 (k1 1.2, b 0.75, idf ln(1 + (N − df + 0.5) / (df + 0.5)))', () => {
    const index = new Bm25Index({ stem: false });
    index.add('d1', 'apple banana');
    index.add('d2', 'apple apple cherry');
    index.add('d3', 'cherry date');
    const avgdl = 7 / 3;
    const idf = Math.log(1 + (3 - 2 + 0.5) / (2 + 0.5));
    const score = (tf: number, length: number) => (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * length) / avgdl));
    const hits = index.search('apple', 10);
    assert.deepEqual(
      hits.map((hit) => hit.id),
      ['d2', 'd1'],
    );
    assert.ok(Math.abs((hits[0]?.score ?? 0) - score(2, 3)) < 1e-12);
    assert.ok(Math.abs((hits[1]?.score ?? 0) - score(1, 2)) < 1e-12);
    // A term repeated in the query counts twice; unknown terms and stop words add nothing.
    const twice = index.search('apple apple the zebra', 10);
    assert.ok(Math.abs((twice[0]?.score ?? 0) - 2 * score(2, 3)) < 1e-12);
    assert.deepEqual(index.search('zebra', 10), []);
  });

  it('breaks ties by id and returns at most k hits', () => {
    const index = new Bm25Index();
    for (const id of ['c', 'a', 'b']) index.add(id, 'same words');
    assert.deepEqual(
      index.search('words', 2).map((hit) => hit.id),
      ['a', 'b'],
    );
    assert.deepEqual(index.search('words', 0), []);
  });

  it('updates incrementally: any sequence of adds, replacements and removals ranks as an index built from the end state', () => {
    const opArb = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id: fc.integer({ min: 0, max: 120 }), text: sentenceArb }),
      fc.record({ kind: fc.constant('remove' as const), id: fc.integer({ min: 0, max: 120 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 300 }),
        fc.array(sentenceArb, { minLength: 1, maxLength: 3 }),
        (ops, queries) => {
          const index = new Bm25Index();
          const state = new Map<string, string>();
          for (const op of ops) {
            const id = `c${op.id}`;
            if (op.kind === 'add') {
              index.add(id, op.text);
              state.delete(id);
              state.set(id, op.text);
            } else {
              assert.equal(index.remove(id), state.delete(id));
            }
          }
          const fresh = new Bm25Index();
          for (const [id, text] of state) fresh.add(id, text);
          assert.equal(index.size, state.size);
          const restored = Bm25Index.fromJSON(JSON.parse(JSON.stringify(index)));
          for (const query of queries) {
            const expected = fresh.search(query, 20);
            for (const candidate of [index, restored]) {
              const got = candidate.search(query, 20);
              assert.deepEqual(
                got.map((hit) => hit.id),
                expected.map((hit) => hit.id),
              );
              got.forEach((hit, at) => {
                assert.ok(Math.abs(hit.score - (expected[at]?.score ?? 0)) < 1e-9);
              });
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('serialises to compact JSON: ids, lengths and gap/tf pairs per term', () => {
    const index = new Bm25Index({ stem: false });
    index.add('x', 'apple banana apple');
    index.add('y', 'banana');
    assert.deepEqual(index.toJSON(), {
      v: 1,
      k1: 1.2,
      b: 0.75,
      stem: false,
      ids: ['x', 'y'],
      lengths: [3, 1],
      postings: { apple: [1, 2], banana: [1, 1, 1, 1] },
    });
    const restored = Bm25Index.fromJSON(index.toJSON());
    assert.equal(restored.stem, false);
    assert.deepEqual(restored.search('banana', 5), index.search('banana', 5));
  });

  it('refuses a damaged serialised index, naming the field', () => {
    const good = { v: 1, k1: 1.2, b: 0.75, stem: true, ids: ['x'], lengths: [1], postings: { a: [1, 1] } };
    const refuses = (data: unknown, path: string) =>
      assert.throws(
        () => Bm25Index.fromJSON(data),
        (error: unknown) => error instanceof ValidationError && (error.issues[0]?.path ?? '').startsWith(path),
        path,
      );
    refuses({ ...good, v: 2 }, 'index.v');
    refuses({ ...good, ids: ['x', 'x'], lengths: [1, 1] }, 'index.ids');
    refuses({ ...good, postings: { a: [1] } }, 'index.postings.a');
    refuses({ ...good, postings: { a: [2, 1] } }, 'index.postings.a');
    refuses({ ...good, postings: { a: [1, 0.5] } }, 'index.postings.a');
    refuses({ ...good, postings: { a: 'x' } }, 'index.postings.a');
    refuses('nope', 'index');
  });
});

describe('retrieval: vectors, fusion and hybrid ranking', () => {
  it('ranks by cosine, skipping vectors of another length or of zero length', () => {
    const hits = cosineRank(
      [1, 0],
      [
        { id: 'far', vector: [0, 1] },
        { id: 'near', vector: [2, 0.1] },
        { id: 'mid', vector: [1, 1] },
        { id: 'bad', vector: [1, 0, 0] },
        { id: 'zero', vector: [0, 0] },
      ],
      10,
    );
    assert.deepEqual(
      hits.map((hit) => hit.id),
      ['near', 'mid', 'far'],
    );
    assert.ok(Math.abs((hits[1]?.score ?? 0) - Math.SQRT1_2) < 1e-12);
    assert.deepEqual(cosineRank([0, 0], [{ id: 'a', vector: [1, 0] }], 5), []);
  });

  it('fuses rankings by reciprocal rank: Σ w / (60 + rank)', () => {
    const fused = reciprocalRankFusion(
      [
        {
          ranking: [
            { id: 'x', score: 9 },
            { id: 'y', score: 5 },
          ],
        },
        {
          ranking: [
            { id: 'y', score: 0.9 },
            { id: 'z', score: 0.8 },
          ],
          weight: 2,
        },
      ],
      10,
    );
    assert.deepEqual(
      fused.map((hit) => hit.id),
      ['y', 'z', 'x'],
    );
    assert.ok(Math.abs((fused[0]?.score ?? 0) - (1 / 62 + 2 / 61)) < 1e-15);
    assert.ok(Math.abs((fused[1]?.score ?? 0) - 2 / 62) < 1e-15);
  });

  it('uses BM25 alone without vectors, and fuses in what only the vectors find', () => {
    const index = new Bm25Index();
    index.add('refunds', 'Refunds are paid within five working days.');
    index.add('shipping', 'Shipping is free above fifty euros.');
    index.add('returns', 'Send the parcel back with its label.');
    const lexical = hybridRank({ index, query: 'when are refunds paid', k: 3 });
    assert.equal(lexical.scoring, 'bm25');
    assert.deepEqual(
      lexical.hits.map((hit) => hit.id),
      ['refunds'],
    );
    const hybrid = hybridRank({
      index,
      query: 'when are refunds paid',
      k: 3,
      queryVector: [1, 0],
      vectors: [
        { id: 'refunds', vector: [0.9, 0.1] },
        { id: 'returns', vector: [0.8, 0.3] },
        { id: 'shipping', vector: [0, 1] },
      ],
    });
    assert.equal(hybrid.scoring, 'hybrid');
    assert.deepEqual(
      hybrid.hits.map((hit) => hit.id),
      ['refunds', 'returns', 'shipping'],
    );
  });
});

describe('retrieval: selection for the context', () => {
  const chunk = (id: string, tokens: number, score: number): RetrievedChunk => ({
    id,
    docId: `doc-${id}`,
    text: `text of ${id}`,
    tokens,
    score,
  });

  it('takes the top k in rank order within the quota, skipping what does not fit, and says why the rest is out', () => {
    const ranked = [chunk('a', 400, 9), chunk('b', 700, 8), chunk('c', 300, 7), chunk('d', 100, 6), chunk('e', 10, 5)];
    const selection = selectForContext(ranked, 4, 1024);
    assert.deepEqual(
      selection.included.map((item) => item.id),
      ['a', 'c', 'd'],
    );
    assert.deepEqual(selection.excluded, [
      { id: 'b', reason: 'quota', tokens: 700 },
      { id: 'e', reason: 'rank', tokens: 10 },
    ]);
    assert.equal(selection.tokens, 800);
    assert.equal(selection.quotaTokens, 1024);
    const withOverhead = selectForContext(ranked, 4, 1024, 50);
    assert.deepEqual(
      withOverhead.included.map((item) => item.id),
      ['a', 'c', 'd'],
    );
    assert.equal(withOverhead.tokens, 950);
    assert.deepEqual(selectForContext(ranked, 4, 50).included, []);
  });

  it('never exceeds the quota nor k (random rankings)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 4096 }),
        (sizes, k, quota) => {
          const ranked = sizes.map((tokens, at) => chunk(`c${at}`, tokens, -at));
          const selection = selectForContext(ranked, k, quota);
          assert.ok(selection.tokens <= quota);
          assert.ok(selection.included.length <= k);
          assert.equal(selection.included.length + selection.excluded.length, ranked.length);
        },
      ),
    );
  });

  it('gives retrieval 25% of the budget by default and frames the chunks as one system message', () => {
    assert.equal(retrievalQuotaTokens(4096), 1024);
    assert.equal(retrievalQuotaTokens(4096, 0.1), 409);
    const message = retrievalMessage([chunk('a', 3, 1), chunk('b', 3, 0.5)]);
    assert.equal(message.role, 'system');
    assert.match(message.content, /\[1\] \(source: doc-a\)\ntext of a\n\n\[2\] \(source: doc-b\)\ntext of b$/);
  });
});
