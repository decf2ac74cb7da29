/**
 * The reusability score of a module, from its place in the dependency graph and its interface.
 * Five parts, each in [0, 1] (higher is more reusable), and their weighted sum:
 *
 * | part        | weight | formula                                                                     |
 * |-------------|--------|-----------------------------------------------------------------------------|
 * | reach       | 0.30   | 1 − 1/(1 + Ca): Ca = distinct outside components calling in (fan-in)        |
 * | cohesion    | 0.25   | W_in / (W_in + W_out): share of the edge weight touching it that stays inside (1 with no edges) |
 * | decoupling  | 0.15   | 1/(1 + Ce): Ce = distinct outside components it calls (coupling)            |
 * | stability   | 0.15   | 1 − Ce/(Ca + Ce) (Martin's instability inverted; 1 when Ca + Ce = 0)        |
 * | compactness | 0.15   | 1/(1 + log2(1 + (operations + properties)/8)): a small interface            |
 *
 * Pure.
 */

/** Weights of the parts (they sum to 1). */
export const REUSABILITY_WEIGHTS = { reach: 0.3, cohesion: 0.25, decoupling: 0.15, stability: 0.15, compactness: 0.15 } as const;

/** What the score is computed from. */
export interface ReusabilityInput {
  /** Ca: distinct components outside the module with an edge into it. */
  fanIn: number;
  /** Ce: distinct components outside the module it has an edge to. */
  fanOut: number;
  /** Edge weight with both ends inside. */
  internalWeight: number;
  /** Edge weight with one end inside (either direction). */
  externalWeight: number;
  /** Entry points (operations) of its interface. */
  operations: number;
  /** Properties its interface schemas declare, at every depth. */
  properties: number;
}

/** The score and its parts. */
export interface Reusability {
  score: number;
  parts: Record<keyof typeof REUSABILITY_WEIGHTS, number>;
  inputs: ReusabilityInput;
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;

/**
 * The reusability score of a module (see the module comment for the formula).
 * @example reusability({ fanIn: 3, fanOut: 0, internalWeight: 6, externalWeight: 2, operations: 1, properties: 7 }).parts.reach // 0.75
 */
export function reusability(input: ReusabilityInput): Reusability {
  const touching = input.internalWeight + input.externalWeight;
  const parts = {
    reach: 1 - 1 / (1 + input.fanIn),
    cohesion: touching === 0 ? 1 : input.internalWeight / touching,
    decoupling: 1 / (1 + input.fanOut),
    stability: input.fanIn + input.fanOut === 0 ? 1 : 1 - input.fanOut / (input.fanIn + input.fanOut),
    compactness: 1 / (1 + Math.log2(1 + (input.operations + input.properties) / 8)),
  };
  let score = 0;
  for (const [part, weight] of Object.entries(REUSABILITY_WEIGHTS)) score += weight * parts[part as keyof typeof parts];
  return {
    score: round(score),
    parts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, round(v)])) as Reusability['parts'],
    inputs: { ...input },
  };
}
