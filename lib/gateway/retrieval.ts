/**
 * Retrieval for the gateway (RAG): documents are cut into chunks, chunks are indexed with Okapi BM25
 * (and, when an embedding model is set, ranked by the cosine of their stored vectors too), and the
 * best chunks are put into the first model's context within a share of its budget. Pure: tokens are
 * counted by an injected {@link TextTokenCounter}, vectors are given, storage is the caller's (the
 * index serialises to compact JSON, one per tenant).
 *
 * **Analysis** ({@link analyze}), modelled on the Elasticsearch `english` analyser that the BEIR
 * paper's BM25 baseline used: Unicode word segmentation (UAX #29, `Intl.Segmenter`, word-like
 * segments only), lower case, English possessive `'s` removed, Lucene's English stop list
 * ({@link STOP_WORDS}, 33 words), then Porter's stemmer (the `stemmer` package) unless `stem: false`.
 * Terms longer than {@link MAX_TERM_CHARS} characters are skipped.
 *
 * **Scoring** (Okapi BM25, k1 = 1.2, b = 0.75, Lucene's non-negative idf):
 * score(d, q) = Σ over query terms t of idf(t) · tf(t, d) · (k1 + 1) / (tf(t, d) + k1 · (1 − b + b · |d| / avgdl)),
 * idf(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5)); a term repeated in the query counts each time;
 * |d| counts the chunk's terms after analysis. Ties are broken by id, so rankings are deterministic.
 *
 * **Hybrid** ({@link hybridRank}): reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009),
 * score(d) = Σ over rankings r of w_r / (60 + rank_r(d)), ranks from 1, each ranking cut at its
 * `depth`. Chosen over a min-max-normalised weighted sum because BM25 scores and cosines live on
 * unrelated scales that shift with every query and corpus; RRF needs only ranks and has no constant
 * to tune per corpus. Without query or chunk vectors, the BM25 ranking is used alone.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { stemmer } from 'stemmer';
import { z } from 'zod';
import { ValidationError } from '../errors.ts';
import type { ChatMessage } from './backend.ts';

/** Counts the tokens of a text for the model that will read it. Must not decrease when text is added. */
export type TextTokenCounter = (text: string) => number;

/** The rules' constants (see the module comment). */
export const RETRIEVAL_DEFAULTS = {
  k1: 1.2,
  b: 0.75,
  /** Target size of a chunk, in tokens. */
  chunkTokens: 256,
  /** Tokens of the end of a chunk repeated at the start of the next. */
  overlapTokens: 32,
  /** The reciprocal rank fusion constant. */
  rrfK: 60,
  /** Share of the context budget retrieved chunks may take. */
  quotaShare: 0.25,
  /** Chunks put into the context. */
  k: 4,
} as const;

/** Lucene's English stop words (`EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`), which Elasticsearch's `_english_` list is. */
export const STOP_WORDS: ReadonlySet<string> = new Set([
  'a',
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'but',
  'by',
  'for',
  'if',
  'in',
  'into',
  'is',
  'it',
  'no',
  'not',
  'of',
  'on',
  'or',
  'such',
  'that',
  'the',
  'their',
  'then',
  'there',
  'these',
  'they',
  'this',
  'to',
  'was',
  'will',
  'with',
]);

/** Longest term indexed, in characters (longer word-like segments are hashes, base64 and the like). */
export const MAX_TERM_CHARS = 64;

const words = new Intl.Segmenter('en', { granularity: 'word' });
const sentences = new Intl.Segmenter('en', { granularity: 'sentence' });
const POSSESSIVE = /['’\uFF07]s$/;

/** Options of {@link analyze}. */
export interface AnalyzeOptions {
  /** Apply Porter's stemmer (default true). */
  stem?: boolean;
}

/**
 * The index terms of a text (see the module comment), in order, repeats kept.
 *
 * @example
 * analyze("The cell's proteins were binding"); // ['cell', 'protein', 'were', 'bind']
 */
export function analyze(text: string, options: AnalyzeOptions = {}): string[] {
  const stem = options.stem ?? true;
  const terms: string[] = [];
  for (const segment of words.segment(text)) {
    if (!segment.isWordLike) continue;
    const word = segment.segment.toLowerCase().replace(POSSESSIVE, '');
    if (word.length === 0 || word.length > MAX_TERM_CHARS || STOP_WORDS.has(word)) continue;
    terms.push(stem ? stemmer(word) : word);
  }
  return terms;
}

// ---------------------------------------------------------------------------------------------
// Chunking

/** A document to chunk. */
export interface RetrievalDocument {
  /** The tenant's id of the document. */
  id: string;
  text: string;
}

/** A piece of a document: what is indexed, retrieved and put into the context. */
export interface Chunk {
  /** Stable id: the first 32 hex digits of SHA-256 over the document id, the text's occurrence number in the document and the text. */
  id: string;
  docId: string;
  /** Position among the document's chunks, from 0. */
  seq: number;
  text: string;
  /** Tokens of `text` by the counter used to chunk. */
  tokens: number;
  /** Offsets of `text` in the document, in UTF-16 code units (`document.text.slice(start, end) === text`). */
  start: number;
  end: number;
}

/** Options of {@link chunkDocument}. */
export interface ChunkOptions {
  /** Most tokens of a chunk; default {@link RETRIEVAL_DEFAULTS.chunkTokens}. */
  chunkTokens?: number;
  /** Tokens of sentences repeated from the end of one chunk at the start of the next; default {@link RETRIEVAL_DEFAULTS.overlapTokens}. */
  overlapTokens?: number;
}

interface Span {
  start: number;
  end: number;
  /** First span of a paragraph. */
  paragraph: boolean;
}

/** Sentences of `text` (offsets), each flagged when it opens a paragraph (after a blank line). */
function sentenceSpans(text: string): Span[] {
  const spans: Span[] = [];
  const paragraphs = /\n[ \t]*\n/g;
  let from = 0;
  const addParagraph = (start: number, end: number) => {
    let first = true;
    for (const segment of sentences.segment(text.slice(start, end))) {
      const lead = segment.segment.length - segment.segment.trimStart().length;
      const body = segment.segment.trim();
      if (body.length === 0) continue;
      const spanStart = start + segment.index + lead;
      spans.push({ start: spanStart, end: spanStart + body.length, paragraph: first });
      first = false;
    }
  };
  for (const match of text.matchAll(paragraphs)) {
    addParagraph(from, match.index);
    from = match.index + match[0].length;
  }
  addParagraph(from, text.length);
  return spans;
}

/** Splits a span longer than `limit` tokens at word boundaries into spans of at most `limit` tokens (a single longer word is cut by code points). */
function splitLongSpan(text: string, span: Span, limit: number, count: TextTokenCounter): Span[] {
  const boundaries: number[] = [];
  for (const segment of words.segment(text.slice(span.start, span.end))) if (segment.index > 0) boundaries.push(span.start + segment.index);
  boundaries.push(span.end);
  const pieces: Span[] = [];
  let start = span.start;
  let from = 0;
  while (start < span.end) {
    while ((boundaries[from] as number) <= start) from++;
    // Largest boundary b with count(text[start, b)) ≤ limit (binary search over the boundaries after start).
    let low = from - 1;
    let high = boundaries.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (count(text.slice(start, boundaries[middle])) <= limit) low = middle;
      else high = middle - 1;
    }
    let end: number;
    if (low >= from) end = boundaries[low] as number;
    else {
      // One word longer than the limit: cut it by code points.
      const points = Array.from(text.slice(start, boundaries[from]));
      let keep = points.length;
      while (keep > 1 && count(points.slice(0, keep).join('')) > limit) keep = Math.ceil(keep / 2);
      end = start + points.slice(0, keep).join('').length;
    }
    const trimmedStart = start + (text.slice(start, end).length - text.slice(start, end).trimStart().length);
    const trimmedEnd = trimmedStart + text.slice(trimmedStart, end).trimEnd().length;
    if (trimmedEnd > trimmedStart) pieces.push({ start: trimmedStart, end: trimmedEnd, paragraph: pieces.length === 0 && span.paragraph });
    start = end;
  }
  return pieces;
}

function chunkId(docId: string, occurrence: number, text: string): string {
  return createHash('sha256').update(`${docId}\u0000${occurrence}\u0000${text}`).digest('hex').slice(0, 32);
}

/**
 * Cuts a document into chunks of at most `chunkTokens` tokens along sentences (Unicode sentence
 * segmentation), preferring to end a chunk at a paragraph break once it is half full; a sentence longer
 * than a chunk is cut at word boundaries. Each chunk after the first starts with the last sentences of
 * the previous one, up to `overlapTokens` tokens. A chunk's text is the document's own text between
 * its first and last sentence (newlines kept).
 *
 * @throws {ValidationError} `chunkTokens` / `overlapTokens` when not integers with 1 ≤ chunkTokens and 0 ≤ overlapTokens < chunkTokens.
 * @example
 * const chunks = chunkDocument({ id: 'handbook', text }, (t) => Math.ceil(t.length / 4), { chunkTokens: 200 });
 */
export function chunkDocument(document: RetrievalDocument, count: TextTokenCounter, options: ChunkOptions = {}): Chunk[] {
  const limit = options.chunkTokens ?? RETRIEVAL_DEFAULTS.chunkTokens;
  const overlap = options.overlapTokens ?? RETRIEVAL_DEFAULTS.overlapTokens;
  if (!Number.isInteger(limit) || limit < 1) throw new ValidationError([{ path: 'chunkTokens', message: 'must be an integer ≥ 1' }]);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= limit) {
    throw new ValidationError([{ path: 'overlapTokens', message: 'must be an integer ≥ 0 and below chunkTokens' }]);
  }
  const { text } = document;
  const units = sentenceSpans(text).flatMap((span) =>
    count(text.slice(span.start, span.end)) > limit ? splitLongSpan(text, span, limit, count) : [span],
  );
  const chunks: Chunk[] = [];
  const occurrences = new Map<string, number>();
  let first = 0;
  /** The first unit the next chunk must contain (those before it are overlap). */
  let fresh = 0;
  while (first < units.length) {
    const start = (units[first] as Span).start;
    let last = first;
    // Grow while the next unit fits; once half full, stop at a paragraph break.
    while (last + 1 < units.length) {
      const next = units[last + 1] as Span;
      if (last + 1 > fresh && next.paragraph && count(text.slice(start, (units[last] as Span).end)) * 2 >= limit) break;
      if (count(text.slice(start, next.end)) > limit) break;
      last++;
    }
    const end = (units[last] as Span).end;
    const body = text.slice(start, end);
    const occurrence = occurrences.get(body) ?? 0;
    occurrences.set(body, occurrence + 1);
    chunks.push({
      id: chunkId(document.id, occurrence, body),
      docId: document.id,
      seq: chunks.length,
      text: body,
      tokens: count(body),
      start,
      end,
    });
    if (last + 1 >= units.length) break;
    // The next chunk starts with the trailing units of this one that fit in the overlap (never all of them).
    let next = last + 1;
    while (next - 1 > first && count(text.slice((units[next - 1] as Span).start, end)) <= overlap) next--;
    // ... and only as much of it as leaves room for the next new unit (else the chunk would repeat the last one).
    const following = (units[last + 1] as Span).end;
    while (next <= last && count(text.slice((units[next] as Span).start, following)) > limit) next++;
    first = next;
    fresh = last + 1;
  }
  return chunks;
}

// ---------------------------------------------------------------------------------------------
// BM25

/** One hit of a ranking. */
export interface RankedId {
  id: string;
  score: number;
}

/** The serialised form of a {@link Bm25Index} (format version 1). */
export const bm25IndexJsonSchema = z.strictObject({
  v: z.literal(1),
  k1: z.number().positive(),
  b: z.number().min(0).max(1),
  stem: z.boolean(),
  /** Chunk ids, in internal order. */
  ids: z.array(z.string().min(1)),
  /** Terms per chunk after analysis, same order. */
  lengths: z.array(z.number().int().min(0)),
  /**
   * Per term: flattened pairs [gap, tf, gap, tf, …] of integers ≥ 1, gap = internal number − previous
   * one (the first from −1). Checked element by element in {@link Bm25Index.fromJSON} rather than by
   * zod, which takes most of a large index's load time otherwise.
   */
  postings: z.record(
    z.string(),
    z.custom<unknown[]>((value) => Array.isArray(value), 'must be an array'),
  ),
});
/** The serialised form of a {@link Bm25Index}. */
export type Bm25IndexJson = z.infer<typeof bm25IndexJsonSchema>;

/** Options of a {@link Bm25Index}. */
export interface Bm25Options {
  k1?: number;
  b?: number;
  /** Stem terms (default true). An index and its queries always share this setting. */
  stem?: boolean;
}

/**
 * An incremental Okapi BM25 index over chunks (see the module comment): add, replace or remove a chunk
 * at any time; serialise with {@link Bm25Index.toJSON} and restore with {@link Bm25Index.fromJSON}.
 *
 * @example
 * const index = new Bm25Index();
 * for (const chunk of chunks) index.add(chunk.id, chunk.text);
 * index.search('how do refunds work', 10); // [{ id, score }, …]
 */
export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  readonly stem: boolean;
  /** Internal number → id (undefined once removed). */
  private ids: (string | undefined)[] = [];
  private lengths: number[] = [];
  private readonly numbers = new Map<string, number>();
  /** term → (internal number → tf). */
  private readonly postings = new Map<string, Map<number, number>>();
  /** internal number → its distinct terms (to remove it). */
  private terms: (string[] | undefined)[] = [];
  private totalLength = 0;

  constructor(options: Bm25Options = {}) {
    this.k1 = options.k1 ?? RETRIEVAL_DEFAULTS.k1;
    this.b = options.b ?? RETRIEVAL_DEFAULTS.b;
    this.stem = options.stem ?? true;
  }

  /** Chunks indexed. */
  get size(): number {
    return this.numbers.size;
  }

  has(id: string): boolean {
    return this.numbers.has(id);
  }

  /** Indexes `text` under `id`, replacing what `id` had. */
  add(id: string, text: string): void {
    this.addTerms(id, analyze(text, { stem: this.stem }));
  }

  private addTerms(id: string, terms: readonly string[]): void {
    this.remove(id);
    const frequencies = new Map<string, number>();
    for (const term of terms) frequencies.set(term, (frequencies.get(term) ?? 0) + 1);
    const number = this.ids.length;
    this.ids.push(id);
    this.lengths.push(terms.length);
    this.terms.push([...frequencies.keys()]);
    this.numbers.set(id, number);
    this.totalLength += terms.length;
    for (const [term, tf] of frequencies) {
      let posting = this.postings.get(term);
      if (!posting) {
        posting = new Map();
        this.postings.set(term, posting);
      }
      posting.set(number, tf);
    }
  }

  /** Removes `id`; false when it was not indexed. */
  remove(id: string): boolean {
    const number = this.numbers.get(id);
    if (number === undefined) return false;
    for (const term of this.terms[number] ?? []) {
      const posting = this.postings.get(term);
      posting?.delete(number);
      if (posting?.size === 0) this.postings.delete(term);
    }
    this.totalLength -= this.lengths[number] ?? 0;
    this.ids[number] = undefined;
    this.terms[number] = undefined;
    this.lengths[number] = 0;
    this.numbers.delete(id);
    // Renumber once holes outweigh live chunks, so memory follows the live size.
    if (this.ids.length > 64 && this.numbers.size * 2 < this.ids.length) this.compact();
    return true;
  }

  private compact(): void {
    const renumber = new Map<number, number>();
    const ids: string[] = [];
    const lengths: number[] = [];
    const terms: string[][] = [];
    this.ids.forEach((id, number) => {
      if (id === undefined) return;
      renumber.set(number, ids.length);
      this.numbers.set(id, ids.length);
      ids.push(id);
      lengths.push(this.lengths[number] ?? 0);
      terms.push(this.terms[number] ?? []);
    });
    for (const [term, posting] of this.postings) {
      const next = new Map<number, number>();
      for (const [number, tf] of posting) next.set(renumber.get(number) as number, tf);
      this.postings.set(term, next);
    }
    this.ids = ids;
    this.lengths = lengths;
    this.terms = terms;
  }

  /**
   * The `k` best chunks for `query`, best first (ties by id); only chunks matching at least one term.
   *
   * @example
   * index.search('refund policy', 5);
   */
  search(query: string, k: number): RankedId[] {
    return this.rank(query, k);
  }

  private rank(query: string, k: number): RankedId[] {
    const n = this.size;
    if (n === 0 || k <= 0) return [];
    const avgdl = this.totalLength / n || 1;
    const queryTerms = new Map<string, number>();
    for (const term of analyze(query, { stem: this.stem })) queryTerms.set(term, (queryTerms.get(term) ?? 0) + 1);
    const scores = new Float64Array(this.ids.length);
    const touched: number[] = [];
    for (const [term, repeats] of queryTerms) {
      const posting = this.postings.get(term);
      if (!posting) continue;
      const idf = Math.log(1 + (n - posting.size + 0.5) / (posting.size + 0.5)) * repeats;
      for (const [number, tf] of posting) {
        const norm = this.k1 * (1 - this.b + (this.b * (this.lengths[number] ?? 0)) / avgdl);
        if (scores[number] === 0) touched.push(number);
        scores[number] = (scores[number] ?? 0) + (idf * tf * (this.k1 + 1)) / (tf + norm);
      }
    }
    const hits = touched.map((number) => ({ id: this.ids[number] as string, score: scores[number] as number }));
    hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return hits.slice(0, k);
  }

  /** The compact serialised form ({@link bm25IndexJsonSchema}); live chunks renumbered densely. */
  toJSON(): Bm25IndexJson {
    const renumber = new Map<number, number>();
    const ids: string[] = [];
    const lengths: number[] = [];
    this.ids.forEach((id, number) => {
      if (id === undefined) return;
      renumber.set(number, ids.length);
      ids.push(id);
      lengths.push(this.lengths[number] ?? 0);
    });
    const postings: Record<string, number[]> = {};
    for (const term of [...this.postings.keys()].sort()) {
      const posting = this.postings.get(term) as Map<number, number>;
      // Numbers are assigned in increasing order, so a posting is usually sorted already.
      let entries = [...posting].map(([number, tf]) => [renumber.get(number) as number, tf] as const);
      if (entries.some((entry, at) => at > 0 && entry[0] < (entries[at - 1] as readonly [number, number])[0])) {
        entries = entries.sort((a, b) => a[0] - b[0]);
      }
      const flat: number[] = new Array(entries.length * 2);
      let previous = -1;
      entries.forEach(([number, tf], at) => {
        flat[2 * at] = number - previous;
        flat[2 * at + 1] = tf;
        previous = number;
      });
      postings[term] = flat;
    }
    return { v: 1, k1: this.k1, b: this.b, stem: this.stem, ids, lengths, postings };
  }

  /**
   * Restores an index serialised by {@link Bm25Index.toJSON}.
   *
   * @throws {ValidationError} naming the field when `data` is not a valid serialised index.
   */
  static fromJSON(data: unknown): Bm25Index {
    const parsed = bm25IndexJsonSchema.safeParse(data);
    if (!parsed.success) {
      throw new ValidationError(
        parsed.error.issues.slice(0, 5).map((issue) => ({ path: `index.${issue.path.join('.')}`, message: issue.message })),
      );
    }
    const json = parsed.data;
    if (json.lengths.length !== json.ids.length || new Set(json.ids).size !== json.ids.length) {
      throw new ValidationError([{ path: 'index.ids', message: 'ids must be unique and as many as lengths' }]);
    }
    const index = new Bm25Index({ k1: json.k1, b: json.b, stem: json.stem });
    index.ids = [...json.ids];
    index.lengths = [...json.lengths];
    index.terms = json.ids.map(() => []);
    json.ids.forEach((id, number) => {
      index.numbers.set(id, number);
    });
    index.totalLength = json.lengths.reduce((sum, length) => sum + length, 0);
    for (const [term, flat] of Object.entries(json.postings)) {
      const bad = (message: string) => new ValidationError([{ path: `index.postings.${term}`, message }]);
      if (flat.length % 2 !== 0) throw bad('must hold gap, tf pairs');
      const posting = new Map<number, number>();
      let number = -1;
      for (let at = 0; at < flat.length; at += 2) {
        const gap = flat[at];
        const tf = flat[at + 1];
        if (!Number.isInteger(gap) || !Number.isInteger(tf) || (gap as number) < 1 || (tf as number) < 1)
          throw bad('gaps and tfs must be integers ≥ 1');
        number += gap as number;
        if (number >= json.ids.length) throw bad('refers to a chunk that is not in ids');
        posting.set(number, tf as number);
        (index.terms[number] as string[]).push(term);
      }
      index.postings.set(term, posting);
    }
    return index;
  }
}

// ---------------------------------------------------------------------------------------------
// Vectors and fusion

/** A chunk's stored embedding. */
export interface ChunkVector {
  id: string;
  vector: readonly number[];
}

function norm(vector: readonly number[]): number {
  let sum = 0;
  for (const value of vector) sum += value * value;
  return Math.sqrt(sum);
}

/**
 * The `k` chunks whose vectors have the highest cosine with `query`, best first (ties by id). Vectors
 * of another length than the query's, or of zero length, are skipped.
 */
export function cosineRank(query: readonly number[], vectors: Iterable<ChunkVector>, k: number): RankedId[] {
  const queryNorm = norm(query);
  if (queryNorm === 0 || k <= 0) return [];
  const hits: RankedId[] = [];
  for (const { id, vector } of vectors) {
    if (vector.length !== query.length) continue;
    const vectorNorm = norm(vector);
    if (vectorNorm === 0) continue;
    let dot = 0;
    for (let at = 0; at < query.length; at++) dot += (query[at] as number) * (vector[at] as number);
    hits.push({ id, score: dot / (queryNorm * vectorNorm) });
  }
  hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return hits.slice(0, k);
}

/** One ranking to fuse, with its weight (default 1). */
export interface WeightedRanking {
  ranking: readonly RankedId[];
  weight?: number;
}

/**
 * Reciprocal rank fusion: score(d) = Σ w / (`rrfK` + rank), rank from 1 in each ranking that has d;
 * best first, ties by id.
 */
export function reciprocalRankFusion(rankings: readonly WeightedRanking[], k: number, rrfK: number = RETRIEVAL_DEFAULTS.rrfK): RankedId[] {
  const scores = new Map<string, number>();
  for (const { ranking, weight = 1 } of rankings) {
    ranking.forEach((hit, position) => {
      scores.set(hit.id, (scores.get(hit.id) ?? 0) + weight / (rrfK + position + 1));
    });
  }
  return [...scores]
    .map(([id, score]) => ({ id, score }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, k);
}

/** Options of {@link hybridRank}. */
export interface HybridRankInput {
  index: Bm25Index;
  query: string;
  /** How many to return. */
  k: number;
  /** The query's embedding; with `vectors`, turns on hybrid scoring. */
  queryVector?: readonly number[];
  vectors?: Iterable<ChunkVector>;
  /** How deep each ranking is read before fusion; default max(50, 4k). */
  depth?: number;
  /** Weights of the BM25 and vector rankings (default 1 and 1). */
  weights?: { bm25: number; vector: number };
}

/** A ranking and how it was scored. */
export interface HybridRanking {
  scoring: 'hybrid' | 'bm25';
  hits: RankedId[];
}

/**
 * Ranks chunks for a query: reciprocal rank fusion of BM25 and vector cosine when the query and the
 * chunks have vectors, BM25 alone otherwise.
 */
export function hybridRank(input: HybridRankInput): HybridRanking {
  const depth = input.depth ?? Math.max(50, 4 * input.k);
  const lexical = input.index.search(input.query, depth);
  if (!input.queryVector || !input.vectors) return { scoring: 'bm25', hits: lexical.slice(0, input.k) };
  const semantic = cosineRank(input.queryVector, input.vectors, depth);
  if (semantic.length === 0) return { scoring: 'bm25', hits: lexical.slice(0, input.k) };
  const weights = input.weights ?? { bm25: 1, vector: 1 };
  return {
    scoring: 'hybrid',
    hits: reciprocalRankFusion(
      [
        { ranking: lexical, weight: weights.bm25 },
        { ranking: semantic, weight: weights.vector },
      ],
      input.k,
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// Context selection

/** A retrieved chunk, as the context takes it. */
export interface RetrievedChunk {
  id: string;
  docId: string;
  text: string;
  tokens: number;
  score: number;
}

/** Why a ranked chunk is not in the context. */
export interface ExcludedChunk {
  id: string;
  /** `quota`: among the top k but over the quota; `rank`: below the top k. */
  reason: 'quota' | 'rank';
  tokens: number;
}

/** What {@link selectForContext} chose. */
export interface ContextSelection {
  /** In rank order. */
  included: RetrievedChunk[];
  excluded: ExcludedChunk[];
  /** Tokens the included chunks take, overhead included. */
  tokens: number;
  quotaTokens: number;
}

/** The retrieval quota of a budget: ⌊share × budget⌋ (default share {@link RETRIEVAL_DEFAULTS.quotaShare}). */
export function retrievalQuotaTokens(budgetTokens: number, share: number = RETRIEVAL_DEFAULTS.quotaShare): number {
  return Math.max(0, Math.floor(budgetTokens * share));
}

/**
 * Takes the top `k` ranked chunks, in rank order, while they fit in `quotaTokens` (each costs its
 * tokens + `overheadTokens`, the framing {@link retrievalMessage} adds); a top-k chunk that does not
 * fit is skipped and later smaller ones may still enter. Everything not taken is listed with why.
 *
 * @example
 * const selection = selectForContext(ranked, 4, retrievalQuotaTokens(4096), 8);
 */
export function selectForContext(ranked: readonly RetrievedChunk[], k: number, quotaTokens: number, overheadTokens = 0): ContextSelection {
  const included: RetrievedChunk[] = [];
  const excluded: ExcludedChunk[] = [];
  let tokens = 0;
  ranked.forEach((chunk, position) => {
    const cost = chunk.tokens + overheadTokens;
    if (position >= k) excluded.push({ id: chunk.id, reason: 'rank', tokens: chunk.tokens });
    else if (tokens + cost > quotaTokens) excluded.push({ id: chunk.id, reason: 'quota', tokens: chunk.tokens });
    else {
      included.push(chunk);
      tokens += cost;
    }
  });
  return { included, excluded, tokens, quotaTokens };
}

/**
 * The system message that carries the selected chunks to the model: a short instruction, then each
 * chunk as `[n] (source: <docId>)` and its text. Context fitting keeps system messages, so what
 * retrieval put in stays within its quota and is never dropped.
 */
export function retrievalMessage(included: readonly RetrievedChunk[]): ChatMessage {
  const parts = included.map((chunk, position) => `[${position + 1}] (source: ${chunk.docId})\n${chunk.text}`);
  return {
    role: 'system',
    content: `Use these excerpts of the tenant's documents when they help; cite them as [n].\n\n${parts.join('\n\n')}`,
  };
}
