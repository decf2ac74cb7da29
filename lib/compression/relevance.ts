/**
 * Relevance to the current goal and diversity: each candidate unit (a sentence) is ranked by Okapi
 * BM25 and by the cosine of its lexical embedding with the goal's (lib/gateway/retrieval.ts,
 * lib/gateway/lexical-embedding.ts), the two rankings fused by weighted reciprocal rank fusion, and the
 * fused score rescaled to [0, 1] by its maximum. Maximal marginal relevance (Carbonell and Goldstein,
 * SIGIR 1998) then orders them: next = argmax λ·rel(u) − (1 − λ)·max over chosen c of cos(u, c).
 *
 * @module
 */
import { cosineSimilarity, lexicalEmbedding } from '../gateway/lexical-embedding.ts';
import { Bm25Index, cosineRank, reciprocalRankFusion } from '../gateway/retrieval.ts';

/** A unit to rank. */
export interface Unit {
  id: string;
  text: string;
}

/** Weights of the BM25 and embedding rankings in the fusion. */
export interface FusionWeights {
  bm25: number;
  vector: number;
}

/**
 * Fused relevance of each unit to `goal`, in [0, 1] (1 for the best; 0 for units neither ranking
 * found, i.e. no shared term and a non-positive cosine). Vectors are returned for MMR.
 * @example relevance('who ruled Normandy', units, { bm25: 1, vector: 1 });
 */
export function relevance(
  goal: string,
  units: readonly Unit[],
  weights: FusionWeights,
): { scores: Map<string, number>; vectors: Map<string, number[]> } {
  const index = new Bm25Index();
  const vectors = new Map<string, number[]>();
  for (const unit of units) {
    index.add(unit.id, unit.text);
    vectors.set(unit.id, lexicalEmbedding(unit.text));
  }
  const depth = units.length;
  const lexical = index.search(goal, depth);
  const semantic = cosineRank(
    lexicalEmbedding(goal),
    [...vectors].map(([id, vector]) => ({ id, vector })),
    depth,
  ).filter((hit) => hit.score > 0);
  const fused = reciprocalRankFusion(
    [
      { ranking: lexical, weight: weights.bm25 },
      { ranking: semantic, weight: weights.vector },
    ],
    depth,
  );
  const top = fused[0]?.score ?? 0;
  const scores = new Map<string, number>(units.map((unit) => [unit.id, 0]));
  for (const hit of fused) scores.set(hit.id, top > 0 ? hit.score / top : 0);
  return { scores, vectors };
}

/**
 * Yields `ids` in maximal marginal relevance order with trade-off `lambda` in [0, 1] (1: relevance
 * only), ties by the given order. Lazy: a caller that stops early (its budget is full) pays only for
 * the units it took, O(taken × n) cosines.
 * @example for (const id of mmr(ids, scores, vectors, 0.7)) { if (full) break; take(id); }
 */
export function* mmr(
  ids: readonly string[],
  scores: ReadonlyMap<string, number>,
  vectors: ReadonlyMap<string, readonly number[]>,
  lambda: number,
): Generator<string> {
  const remaining = [...ids];
  const maxSim = new Map<string, number>(ids.map((id) => [id, 0]));
  while (remaining.length > 0) {
    let bestAt = 0;
    let best = Number.NEGATIVE_INFINITY;
    remaining.forEach((id, at) => {
      const value = lambda * (scores.get(id) ?? 0) - (1 - lambda) * (maxSim.get(id) ?? 0);
      if (value > best) {
        best = value;
        bestAt = at;
      }
    });
    const [next] = remaining.splice(bestAt, 1) as [string];
    yield next;
    const nextVector = vectors.get(next);
    if (!nextVector) continue;
    for (const id of remaining) {
      const vector = vectors.get(id);
      if (!vector) continue;
      const sim = cosineSimilarity(vector, nextVector);
      if (sim > (maxSim.get(id) ?? 0)) maxSim.set(id, sim);
    }
  }
}

/** All of `ids` in maximal marginal relevance order (see {@link mmr}). */
export function mmrOrder(
  ids: readonly string[],
  scores: ReadonlyMap<string, number>,
  vectors: ReadonlyMap<string, readonly number[]>,
  lambda: number,
): string[] {
  return [...mmr(ids, scores, vectors, lambda)];
}
