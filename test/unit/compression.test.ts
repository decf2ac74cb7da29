import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compress, itemHash } from '../../lib/compression/compress.ts';
import { digestTriples, entities } from '../../lib/compression/digest.ts';
import { estimateJaccard, minhashSignature, nearDuplicates, shingles } from '../../lib/compression/minhash.ts';
import { mmrOrder, relevance } from '../../lib/compression/relevance.ts';
import { type ContextItem, DEFAULT_COMPRESSION_SETTINGS } from '../../lib/compression/schemas.ts';
import { splitSentences, summarise, textRank } from '../../lib/compression/textrank.ts';
import { tuneSettings } from '../../lib/compression/tuner.ts';

const count = (text: string): number => Math.ceil(text.length / 4);
const words = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ');

describe('compression: MinHash', () => {
  it('estimates the Jaccard similarity of word-shingle sets within 0.15', () => {
    // 100 words: shingle sets of 98; sharing the first k words shares k − 2 shingles.
    for (const shared of [20, 50, 80, 98]) {
      const a = `${words(shared, 'w')} ${words(100 - shared, 'a')}`;
      const b = `${words(shared, 'w')} ${words(100 - shared, 'b')}`;
      const sa = shingles(a);
      const sb = shingles(b);
      const truth = [...sa].filter((x) => sb.has(x)).length / new Set([...sa, ...sb]).size;
      const estimate = estimateJaccard(minhashSignature(a), minhashSignature(b));
      assert.ok(Math.abs(estimate - truth) <= 0.15, `shared ${shared}: estimate ${estimate}, truth ${truth.toFixed(3)}`);
    }
    assert.equal(estimateJaccard(minhashSignature('the same text here'), minhashSignature('The same text, here.')), 1);
  });

  it('merges a near-duplicate into the earlier text, and never merges a kept one away', () => {
    const base = `${words(60, 'x')} end`;
    const found = nearDuplicates([
      { id: 'a', text: base },
      { id: 'b', text: `${base} again` },
      { id: 'c', text: words(60, 'y') },
    ]);
    assert.deepEqual(
      found.map(({ id, into }) => ({ id, into })),
      [{ id: 'b', into: 'a' }],
    );
    const kept = nearDuplicates([
      { id: 'a', text: base },
      { id: 'b', text: `${base} again`, keep: true },
    ]);
    assert.deepEqual(
      kept.map(({ id, into }) => ({ id, into })),
      [{ id: 'a', into: 'b' }],
    );
  });
});

describe('compression: TextRank', () => {
  it('ranks the sentence that shares most with the others first, and keeps summary sentences in text order', () => {
    const text =
      'The river flooded the old town. Stock markets fell sharply on Monday. The flooded town asked the river authority for help. The river authority sent boats to the flooded town.';
    assert.equal(splitSentences(text).length, 4);
    const scores = textRank(splitSentences(text));
    const best = scores.indexOf(Math.max(...scores));
    assert.ok(best === 2 || best === 3, `central sentence expected, got ${best}`);
    assert.equal(scores[1], Math.min(...scores), 'the unrelated sentence ranks last');
    const summary = summarise(text, 2);
    assert.equal(summary.length, 2);
    assert.ok(!summary.includes('Stock markets fell sharply on Monday.'));
    assert.ok(text.indexOf(summary[0] as string) < text.indexOf(summary[1] as string));
  });
});

describe('compression: relevance and MMR', () => {
  it('puts a diverse unit before a near-copy of the best one when λ < 1, and not when λ = 1', () => {
    const units = [
      { id: 'best', text: 'Rollo led the Norse raiders into Normandy' },
      { id: 'copy', text: 'Rollo led the Norse raiders into Normandy again' },
      { id: 'other', text: 'Rollo signed a treaty with King Charles' },
    ];
    const { scores, vectors } = relevance('Rollo Norse raiders Normandy treaty', units, { bm25: 1, vector: 1 });
    assert.equal(scores.get('best'), 1);
    assert.deepEqual(mmrOrder(['best', 'copy', 'other'], scores, vectors, 0.5), ['best', 'other', 'copy']);
    const byRelevance = mmrOrder(['best', 'copy', 'other'], scores, vectors, 1);
    assert.equal(byRelevance[0], 'best');
    assert.ok((scores.get('copy') ?? 0) >= (scores.get('other') ?? 0) === (byRelevance[1] === 'copy'));
  });
});

describe('compression: knowledge-graph digest', () => {
  it('extracts capitalised-phrase entities and the relations the goal refers to', () => {
    const sentence = 'Rollo agreed to swear fealty to King Charles III of West Francia.';
    assert.deepEqual(
      entities(sentence, new Set()).map((mention) => mention.text),
      ['King Charles III of West Francia'],
      'a lone capitalised word opening a sentence is no entity unless capitalised elsewhere',
    );
    assert.deepEqual(
      entities(sentence, new Set(['Rollo'])).map((mention) => mention.text),
      ['Rollo', 'King Charles III of West Francia'],
    );
    const triples = digestTriples(
      [
        { key: 's', text: sentence },
        { key: 't', text: 'Paris hosted Berlin.' },
        { key: 'u', text: 'Their leader was Rollo.' },
      ],
      'Who was Rollo?',
    );
    assert.deepEqual(triples, [
      { subject: 'Rollo', relation: 'agreed to swear fealty to', object: 'King Charles III of West Francia', sources: ['s'] },
    ]);
  });
});

const doc = (id: string, text: string, extra: Partial<ContextItem> = {}): ContextItem => ({ id, kind: 'document', text, ...extra });
const filler = (topic: string, n: number) =>
  Array.from({ length: n }, (_, i) => `The ${topic} note number ${i} talks about ${topic} matters in general terms.`).join(' ');

describe('compression: compress', () => {
  it('fits the budget, keeps the goal-relevant sentence, and accounts for every input item in its lineage', () => {
    const items: ContextItem[] = [
      doc('d1', `${filler('weather', 8)} The Eiffel Tower was completed in 1889 for the World Fair.`),
      doc('d2', filler('cooking', 10)),
      doc('d3', filler('cooking', 10)),
      { id: 't1', kind: 'turn', role: 'user', text: 'Tell me about Paris landmarks.' },
      { id: 't2', kind: 'turn', role: 'assistant', text: 'Paris has many landmarks.' },
    ];
    const tokensIn = items.reduce((sum, item) => sum + count(item.text), 0);
    const result = compress(
      { goal: 'When was the Eiffel Tower completed?', items, budgetTokens: Math.floor(tokensIn * 0.3) },
      DEFAULT_COMPRESSION_SETTINGS,
      count,
    );
    assert.equal(result.status, 'compressed');
    assert.ok(result.withinBudget && result.tokensOut <= result.budgetTokens);
    assert.ok(result.saved > 0.6, `saved ${result.saved}`);
    assert.ok(result.items.some((item) => item.text.includes('The Eiffel Tower was completed in 1889')));
    assert.ok(
      result.items.some((item) => item.id === 't2'),
      'the most recent turns are kept',
    );
    const d3 = result.items.find((item) => item.from.some((from) => from.id === 'd3'));
    const d3Dropped = result.dropped.find((entry) => entry.id === 'd3');
    assert.ok(
      d3?.from.some((from) => from.id === 'd3' && from.how === 'deduplicated') || d3Dropped?.reason === 'duplicate',
      'd3 repeats d2',
    );
    const accounted = new Set([
      ...result.items.flatMap((item) => item.from.map((from) => from.id)),
      ...result.dropped.map((entry) => entry.id),
    ]);
    for (const item of items) assert.ok(accounted.has(item.id), `${item.id} is in the lineage`);
    for (const item of result.items)
      for (const from of item.from) assert.equal(from.hash, itemHash(items.find((input) => input.id === from.id) as ContextItem));
  });

  it('summarises a long history into one summary item (TextRank) when it passes the threshold', () => {
    const turns: ContextItem[] = Array.from({ length: 12 }, (_, i) => ({
      id: `t${i}`,
      kind: 'turn',
      role: i % 2 ? 'assistant' : 'user',
      text: filler(`topic${i}`, 4),
    }));
    const result = compress(
      { goal: 'topic3 matters', items: turns, budgetTokens: 300 },
      { ...DEFAULT_COMPRESSION_SETTINGS, summariseAboveTokens: 100 },
      count,
    );
    const summary = result.items.find((item) => item.kind === 'summary');
    assert.ok(summary, 'a summary item');
    assert.ok(summary.from.every((from) => from.how === 'summarised'));
    assert.ok(result.withinBudget, `${result.tokensOut} ≤ ${result.budgetTokens}`);
  });

  it('never drops a critical item (flag or policy label); over budget it asks for approval instead', () => {
    const critical = doc('c1', filler('contract', 6), { critical: true });
    const labelled = doc('c2', filler('safety', 6), { labels: ['legal-hold'] });
    const settings = { ...DEFAULT_COMPRESSION_SETTINGS, criticalLabels: ['legal-hold'] };
    const small = compress(
      { goal: 'anything', items: [critical, labelled, doc('d', filler('other', 20))], budgetTokens: 300 },
      settings,
      count,
    );
    assert.equal(small.status, 'compressed');
    for (const id of ['c1', 'c2'])
      assert.ok(small.items.some((item) => item.id === id && item.text.length > 0 && item.from[0]?.how === 'kept'));
    const tight = compress({ goal: 'safety', items: [critical, labelled], budgetTokens: 150 }, settings, count);
    assert.equal(tight.status, 'needs-approval');
    assert.deepEqual(
      tight.needsApproval?.items.map((item) => item.id),
      ['c1'],
      'the least relevant critical item',
    );
    assert.deepEqual(
      tight.items.map((item) => item.id),
      ['c1', 'c2'],
      'nothing critical dropped',
    );
    const approved = compress(
      { goal: 'safety', items: [critical, labelled], budgetTokens: 150, approvedDrops: new Set([itemHash(critical)]) },
      settings,
      count,
    );
    assert.equal(approved.status, 'compressed');
    assert.ok(approved.items.some((item) => item.id === 'c2' && item.from[0]?.how === 'kept'));
  });

  it('keeps every critical item and accounts for every item, whatever the items and budget (property)', () => {
    const item = fc.record({
      text: fc
        .array(fc.constantFrom('Alpha', 'beta', 'gamma.', 'Delta', 'river', 'rises.', 'Paris', 'fell.'), { minLength: 1, maxLength: 40 })
        .map((w) => w.join(' ')),
      critical: fc.boolean(),
      kind: fc.constantFrom('turn' as const, 'document' as const, 'memory' as const),
    });
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 12 }), fc.integer({ min: 16, max: 400 }), (raw, budget) => {
        const items = raw.map((entry, i) => ({ id: `i${i}`, ...entry }));
        const result = compress({ goal: 'Paris river', items, budgetTokens: budget }, DEFAULT_COMPRESSION_SETTINGS, count);
        const accounted = new Set([
          ...result.items.flatMap((out) => out.from.map((from) => from.id)),
          ...result.dropped.map((entry) => entry.id),
        ]);
        for (const input of items) {
          assert.ok(accounted.has(input.id));
          if (input.critical)
            assert.ok(!result.dropped.some((entry) => entry.id === input.id && entry.reason === 'budget'), `${input.id} critical dropped`);
        }
        if (result.status === 'compressed') assert.ok(result.withinBudget, `${result.tokensOut} > ${budget}`);
        else assert.ok((result.needsApproval?.items.length ?? 0) > 0);
      }),
      { numRuns: 60 },
    );
  });
});

describe('compression: tuner (Loop 3)', () => {
  const base = DEFAULT_COMPRESSION_SETTINGS;
  it('waits for enough feedback, then moves towards relevance when answers go missing, within bounds', () => {
    assert.deepEqual(tuneSettings(base, { samples: 5, found: 0 }).changes, []);
    const low = tuneSettings(base, { samples: 40, found: 30 });
    assert.ok(low.settings.relevanceWeight > base.relevanceWeight && low.settings.summariseAboveTokens > base.summariseAboveTokens);
    let settings = base;
    for (let i = 0; i < 20; i++) settings = tuneSettings(settings, { samples: 40, found: 0 }).settings;
    assert.equal(settings.relevanceWeight, 1);
    assert.equal(tuneSettings(settings, { samples: 40, found: 0 }).changes.length, 0, 'at its bounds nothing changes');
    const high = tuneSettings(base, { samples: 40, found: 40 });
    assert.ok(high.settings.relevanceWeight < base.relevanceWeight);
    assert.deepEqual(tuneSettings(base, { samples: 40, found: 37 }).changes, [], 'between target and target + margin: stay');
  });
});
