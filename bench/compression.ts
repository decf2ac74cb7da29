/**
 * Compression ratio and answer retention of the Compression engine (lib/compression/compress.ts) on
 * long contexts built from SQuAD 2.0 dev, against two baselines measured in the same run.
 *   npm run bench:compression            (node bench/compression.ts)
 *
 * Data: test/fixtures/compression/squad/ (SOURCE.md): each answerable question's paragraph among 19
 * others of its split, shuffled, each a `document` item (~3,000 o200k_base tokens per context); the
 * question is the goal. A question *survives* when its answer-bearing sentence appears verbatim in an
 * output item (the digest does not count). Budgets are shares of each context's tokens.
 *
 * Rows: `engine` (the tenant defaults), `keep-most-recent` (whole items from the end while they fit:
 * plain truncation), `BM25 items` (items ranked by BM25 on the goal, whole items while they fit).
 * Tuning: a small grid of λ (MMR) and the item weight on the **tune** split at 20% budget; the
 * held-out split is scored once with the defaults (which were set from that grid), and the grid's
 * choice is printed so the defaults can be checked against it.
 * Throughput: input tokens compressed per second by the engine (single thread, held-out, 20% budget).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compress } from '../lib/compression/compress.ts';
import { type CompressionSettings, type ContextItem, DEFAULT_COMPRESSION_SETTINGS } from '../lib/compression/schemas.ts';
import { Bm25Index } from '../lib/gateway/retrieval.ts';
import { tokenizer } from '../lib/gateway/tokenizer.ts';
import { requireDataset } from './datasets.ts';

const folder = fileURLToPath(new URL('../test/fixtures/compression/squad/', import.meta.url));
requireDataset('bench/compression.ts', folder, ['squad-v2-dev-5-articles.json']);

interface Squad {
  data: {
    title: string;
    paragraphs: {
      context: string;
      qas: { question: string; is_impossible?: boolean; answers: { text: string; answer_start: number }[] }[];
    }[];
  }[];
}
const squad = JSON.parse(readFileSync(`${folder}squad-v2-dev-5-articles.json`, 'utf8')) as Squad;
const SPLITS = {
  tune: ['Normans', 'Sky_(United_Kingdom)'],
  heldOut: ['Computational_complexity_theory', 'Southern_California', 'Victoria_(Australia)'],
} as const;
const DISTRACTORS = 19;
const BUDGETS = [0.5, 0.3, 0.2, 0.1];

const tok = await tokenizer('o200k_base');
const count = (text: string) => tok.count(text);

/** mulberry32: a small seeded generator, so every run builds the same contexts. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sentences = new Intl.Segmenter('en', { granularity: 'sentence' });
function answerSentence(paragraph: string, offset: number): string {
  for (const { segment, index } of sentences.segment(paragraph))
    if (offset >= index && offset < index + segment.length) return segment.trim();
  throw new Error(`answer offset ${offset} outside its paragraph`);
}

interface Case {
  goal: string;
  items: ContextItem[];
  sentence: string;
  tokens: number;
}

function cases(titles: readonly string[]): Case[] {
  const random = rng(14);
  const paragraphs = squad.data.filter((article) => titles.includes(article.title)).flatMap((article) => article.paragraphs);
  const out: Case[] = [];
  paragraphs.forEach((paragraph, at) => {
    for (const qa of paragraph.qas) {
      const answer = qa.answers[0];
      if (qa.is_impossible || !answer) continue;
      const others = paragraphs.map((_, index) => index).filter((index) => index !== at);
      for (let i = others.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [others[i], others[j]] = [others[j] as number, others[i] as number];
      }
      const chosen = [at, ...others.slice(0, DISTRACTORS)];
      for (let i = chosen.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [chosen[i], chosen[j]] = [chosen[j] as number, chosen[i] as number];
      }
      const items = chosen.map((index) => ({
        id: `p${index}`,
        kind: 'document' as const,
        text: (paragraphs[index] as { context: string }).context,
      }));
      out.push({
        goal: qa.question,
        items,
        sentence: answerSentence(paragraph.context, answer.answer_start),
        tokens: items.reduce((sum, item) => sum + count(item.text), 0),
      });
    }
  });
  return out;
}

type Method = (c: Case, budget: number) => string[];
const engine =
  (settings: CompressionSettings): Method =>
  (c, budget) =>
    compress({ goal: c.goal, items: c.items, budgetTokens: budget }, settings, count)
      .items.filter((item) => item.kind !== 'digest')
      .map((item) => item.text);
const wholeItems = (order: readonly ContextItem[], budget: number): string[] => {
  const kept: string[] = [];
  let left = budget;
  for (const item of order) {
    const tokens = count(item.text);
    if (tokens <= left) {
      kept.push(item.text);
      left -= tokens;
    }
  }
  return kept;
};
const keepMostRecent: Method = (c, budget) => {
  const kept: string[] = [];
  let left = budget;
  for (const item of [...c.items].reverse()) {
    const tokens = count(item.text);
    if (tokens > left) break;
    kept.unshift(item.text);
    left -= tokens;
  }
  return kept;
};
const bm25Items: Method = (c, budget) => {
  const index = new Bm25Index();
  for (const item of c.items) index.add(item.id, item.text);
  const ranked = index.search(c.goal, c.items.length).map((hit) => c.items.find((item) => item.id === hit.id) as ContextItem);
  const rest = c.items.filter((item) => !ranked.includes(item));
  return wholeItems([...ranked, ...rest], budget);
};

interface Score {
  saved: number;
  kept: number;
  seconds: number;
  tokens: number;
}
function score(method: Method, set: readonly Case[], share: number): Score {
  let saved = 0;
  let kept = 0;
  let tokens = 0;
  const start = process.hrtime.bigint();
  for (const c of set) {
    const texts = method(c, Math.floor(share * c.tokens));
    tokens += c.tokens;
    saved += 1 - texts.reduce((sum, text) => sum + count(text), 0) / c.tokens;
    if (texts.some((text) => text.includes(c.sentence))) kept++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { saved: saved / set.length, kept: kept / set.length, seconds, tokens };
}
const pct = (value: number) => `${(100 * value).toFixed(1)}%`;

const tune = cases(SPLITS.tune);
const heldOut = cases(SPLITS.heldOut);
const mean = (set: readonly Case[]) => Math.round(set.reduce((sum, c) => sum + c.tokens, 0) / set.length);
console.log(
  `bench/compression.ts: SQuAD 2.0 dev (5 articles), contexts of ${DISTRACTORS + 1} paragraphs; tune ${tune.length} questions (mean ${mean(tune)} tokens), held out ${heldOut.length} (mean ${mean(heldOut)} tokens)`,
);

console.log('\ntune split, 20% budget: λ (relevanceWeight) × item weight → answer sentences kept');
let best = { kept: -1, lambda: 0, item: 0 };
for (const lambda of [0.7, 1]) {
  const row: string[] = [];
  for (const item of [0, 0.3, 0.5, 0.7]) {
    const { kept } = score(engine({ ...DEFAULT_COMPRESSION_SETTINGS, relevanceWeight: lambda, itemWeight: item }), tune, 0.2);
    row.push(`item ${item}: ${pct(kept)}`);
    if (kept > best.kept) best = { kept, lambda, item };
  }
  console.log(`  λ ${lambda}: ${row.join('  ')}`);
}
console.log(
  `  best on tune: λ ${best.lambda}, item weight ${best.item}; defaults: λ ${DEFAULT_COMPRESSION_SETTINGS.relevanceWeight}, item weight ${DEFAULT_COMPRESSION_SETTINGS.itemWeight}`,
);

console.log('\nheld-out split (scored once, tenant defaults): tokens saved (1 − out/in) and answer sentences kept');
console.log('budget | engine saved | engine kept | keep-most-recent kept | BM25 items kept | engine kept ÷ BM25 items kept');
for (const share of BUDGETS) {
  const ours = score(engine(DEFAULT_COMPRESSION_SETTINGS), heldOut, share);
  const recent = score(keepMostRecent, heldOut, share);
  const bm25 = score(bm25Items, heldOut, share);
  console.log(
    `${pct(share)} | ${pct(ours.saved)} | ${pct(ours.kept)} | ${pct(recent.kept)} (saved ${pct(recent.saved)}) | ${pct(bm25.kept)} (saved ${pct(bm25.saved)}) | ${(ours.kept / bm25.kept).toFixed(2)}`,
  );
  if (share === 0.2)
    console.log(
      `  throughput at 20%: ${Math.round(ours.tokens / ours.seconds).toLocaleString('en')} input tokens/s (${((1000 * ours.seconds) / heldOut.length).toFixed(1)} ms per context)`,
    );
}
