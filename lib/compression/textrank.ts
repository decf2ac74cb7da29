/**
 * Extractive summarisation with TextRank (Mihalcea and Tarau, EMNLP 2004): sentences are the nodes of
 * a graph whose edge weights are the original paper's similarity, |common terms| / (ln|S_i| + ln|S_j|)
 * (terms after the gateway's analysis, lib/gateway/retrieval.ts `analyze`: stop words out, Porter
 * stems), and each sentence's score is its weighted PageRank: damping d = 0.85, iterated until the
 * scores move by less than 1e-6 in total (at most 100 rounds). The summary is the best sentences in
 * their original order.
 *
 * @module
 */
import { analyze } from '../gateway/retrieval.ts';

/** PageRank's constants. */
export const TEXTRANK_DEFAULTS = { damping: 0.85, tolerance: 1e-6, maxIterations: 100 } as const;

const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

/**
 * The sentences of `text` (Unicode sentence boundaries, UAX #29), trimmed, empty ones left out.
 * @example splitSentences('Rain fell. The river rose!'); // ['Rain fell.', 'The river rose!']
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  for (const { segment } of segmenter.segment(text)) {
    const trimmed = segment.trim();
    if (trimmed.length > 0) out.push(trimmed);
  }
  return out;
}

/** TextRank's similarity of two sentences given their distinct terms. */
function overlap(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size < 1 || b.size < 1) return 0;
  let common = 0;
  for (const term of a) if (b.has(term)) common++;
  if (common === 0) return 0;
  const denominator = Math.log(a.size + 1) + Math.log(b.size + 1);
  return common / denominator;
}

/**
 * TextRank scores of `sentences` (same order; they sum to the number of sentences). ln(|S|+1) rather
 * than ln|S| keeps one-term sentences defined.
 * @example textRank(['Cats purr.', 'Cats and dogs purr.', 'Stocks fell.']); // the middle one scores highest
 */
export function textRank(sentences: readonly string[]): number[] {
  const n = sentences.length;
  if (n === 0) return [];
  const terms = sentences.map((sentence) => new Set(analyze(sentence)));
  const weights: number[][] = sentences.map(() => new Array<number>(n).fill(0));
  const outSum = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const w = overlap(terms[i] as Set<string>, terms[j] as Set<string>);
      if (w === 0) continue;
      (weights[i] as number[])[j] = w;
      (weights[j] as number[])[i] = w;
      outSum[i] = (outSum[i] as number) + w;
      outSum[j] = (outSum[j] as number) + w;
    }
  }
  const { damping, tolerance, maxIterations } = TEXTRANK_DEFAULTS;
  let scores = new Array<number>(n).fill(1);
  for (let round = 0; round < maxIterations; round++) {
    const next = new Array<number>(n).fill(1 - damping);
    for (let j = 0; j < n; j++) {
      const out = outSum[j] as number;
      if (out === 0) continue;
      const share = (damping * (scores[j] as number)) / out;
      const row = weights[j] as number[];
      for (let i = 0; i < n; i++) if (row[i] !== 0) next[i] = (next[i] as number) + share * (row[i] as number);
    }
    let moved = 0;
    for (let i = 0; i < n; i++) moved += Math.abs((next[i] as number) - (scores[i] as number));
    scores = next;
    if (moved < tolerance) break;
  }
  return scores;
}

/**
 * The `count` best sentences of `text` by TextRank, in their original order.
 * @example summarise(longHistory, 5);
 */
export function summarise(text: string, count: number): string[] {
  const sentences = splitSentences(text);
  const scores = textRank(sentences);
  const best = scores
    .map((score, index) => ({ score, index }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, Math.max(0, count))
    .map((entry) => entry.index)
    .sort((a, b) => a - b);
  return best.map((index) => sentences[index] as string);
}
