/**
 * Case-based recovery: an incident's signature, the nearest past cases, and the playbook with the
 * best record for that kind of case. Pure; deterministic given a seed.
 *
 * **Signature**: the component's kind, the metrics involved ({@link metricName}), the direction
 * (up/down) and the shape of the deviation ({@link shapeOf}: spike, level-shift, trend, oscillation).
 *
 * **Distance** between signatures, in [0, 1]: 0.4 · [kinds differ] + 0.2 · (1 − Jaccard of the
 * metric sets) + 0.2 · [directions differ] + 0.2 · [shapes differ].
 *
 * **Cluster**: `kind|direction|shape`. Each cluster keeps, per playbook, the count of recoveries and
 * failures (every outcome ever written back; O(1) storage). The posterior of playbook p for a new
 * incident is Beta(α, β) with
 *   α = 1 + recoveries(cluster, p) + Σ 0.5 · (1 − d) over the nearest cases of other clusters within
 *       distance 0.5 that tried p and recovered,
 *   β = 1 + failures(cluster, p)   + the same sum over those that did not recover,
 * so similar cases of a neighbouring cluster count for up to half a case each.
 *
 * **Choice** (Thompson sampling): one draw from each untried playbook's posterior, with a PRNG
 * seeded by the tenant, incident and round, so the same incident always gets the same choice; the
 * highest draw wins (ties: the order of {@link playbooks}, least invasive first). Sampling, not the
 * mean, so a playbook with little history still gets tried now and then and the base learns.
 *
 * **Escalation** to people when {@link CASE_DEFAULTS.maxFailedPlaybooks} playbooks already failed on
 * this incident, when no bound playbook is left, when the root-cause confidence is below
 * {@link CASE_DEFAULTS.minCauseConfidence}, or when the chosen playbook's posterior mean is below
 * {@link CASE_DEFAULTS.minPlaybookMean} on at least {@link CASE_DEFAULTS.minEvidence} outcomes.
 */
import { betaSample, seededRandom } from '../sampling.ts';
import type { Point } from './rca.ts';
import { robustScale } from './rca.ts';
import type { Case, CaseMatch, Playbook, Shape, Signature } from './schemas.ts';
import { playbooks } from './schemas.ts';

/** The rule's constants (see the module comment). */
export const CASE_DEFAULTS = {
  prior: { alpha: 1, beta: 1 },
  neighbourRadius: 0.5,
  neighbourWeight: 0.5,
  /** Nearest cases shown with a match. */
  nearest: 5,
  maxFailedPlaybooks: 3,
  minCauseConfidence: 0.35,
  minPlaybookMean: 0.25,
  minEvidence: 3,
} as const;

/** Recoveries and failures of one playbook in one cluster. */
export interface PlaybookRecord {
  successes: number;
  failures: number;
}
/** A cluster's record per playbook. */
export type ClusterStats = Partial<Record<Playbook, PlaybookRecord>>;

/**
 * The metric a series measures for its component: the series name after the component id and a
 * separator (`api.checkout` + `api.checkout.latency` → `latency`), else its last `.`/`:`/`/` segment.
 * @example metricName('shop.db:cpu', 'orders-db') // 'cpu'
 */
export function metricName(series: string, component: string): string {
  for (const separator of ['.', ':', '/']) {
    if (series.startsWith(`${component}${separator}`) && series.length > component.length + 1) return series.slice(component.length + 1);
  }
  const parts = series.split(/[.:/]/).filter((part) => part.length > 0);
  return parts.at(-1) ?? series;
}

const median = (values: readonly number[]): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** What {@link shapeOf} read from the points. */
export interface ShapeReading {
  shape: Shape;
  direction: 'up' | 'down';
  /** Largest robust z-score after the onset (signed). */
  peak: number;
  /** Median |z| of the last third of the points after the onset. */
  tail: number;
  /** R² of a straight line through the z-scores after the onset. */
  r2: number;
  /** Share of sign changes between consecutive clearly deviated points (|z| ≥ 2). */
  alternation: number;
}

/** |z| from which a point counts as deviated when reading a shape. */
const DEVIATED = 3;

/**
 * The shape of a deviation, from robust z-scores of the points at and after `onset` against the
 * median and MAD of the points before it (at most 64; the first half of the points when fewer than 4):
 * - **oscillation**: at least 4 points with |z| ≥ 2 after the onset, and their sign alternates at
 *   60% of consecutive pairs or more;
 * - **spike**: the last third of the points after the onset is back (median |z| < 3), or there are
 *   fewer than 3 points after the onset;
 * - **trend**: still deviated, a straight line explains it (R² ≥ 0.7) and the first third deviates
 *   less than half as much as the last;
 * - **level-shift**: still deviated otherwise.
 * The direction is the sign of the largest |z|.
 * @example shapeOf(points, onset).shape // 'level-shift'
 */
export function shapeOf(points: readonly Point[], onset: number): ShapeReading {
  let baseline = points.filter(([timestamp]) => timestamp < onset).slice(-64);
  if (baseline.length < 4) baseline = points.slice(0, Math.max(1, Math.floor(points.length / 2)));
  const values = baseline.map(([, value]) => value);
  const center = median(values);
  const scale = robustScale(values, center);
  const after = points.filter(([timestamp]) => timestamp >= onset).map(([, value]) => (value - center) / scale);
  const z = after.length > 0 ? after : points.slice(-1).map(([, value]) => (value - center) / scale);
  const peak = z.reduce((best, value) => (Math.abs(value) > Math.abs(best) ? value : best), 0);
  const direction = peak < 0 ? 'down' : 'up';

  const strong = z.filter((value) => Math.abs(value) >= 2);
  let changes = 0;
  for (let i = 1; i < strong.length; i += 1) if (Math.sign(strong[i] as number) !== Math.sign(strong[i - 1] as number)) changes += 1;
  const alternation = strong.length > 1 ? changes / (strong.length - 1) : 0;

  const third = Math.max(1, Math.ceil(z.length / 3));
  const tail = median(z.slice(-third).map(Math.abs));
  const head = median(z.slice(0, third).map(Math.abs));
  const r2 = rSquared(z);

  const reading = { direction, peak, tail, r2, alternation } as const;
  if (strong.length >= 4 && alternation >= 0.6) return { shape: 'oscillation', ...reading };
  if (z.length < 3 || tail < DEVIATED) return { shape: 'spike', ...reading };
  if (r2 >= 0.7 && head < 0.5 * tail) return { shape: 'trend', ...reading };
  return { shape: 'level-shift', ...reading };
}

/** R² of the least-squares line through `values` against their index (0 for fewer than 3 or no variance). */
function rSquared(values: readonly number[]): number {
  const n = values.length;
  if (n < 3) return 0;
  const mx = (n - 1) / 2;
  const my = values.reduce((sum, value) => sum + value, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  values.forEach((value, x) => {
    sxy += (x - mx) * (value - my);
    sxx += (x - mx) ** 2;
    syy += (value - my) ** 2;
  });
  return syy === 0 || sxx === 0 ? 0 : (sxy * sxy) / (sxx * syy);
}

/**
 * An incident's signature: the component's kind, the metrics involved (sorted, at most 20) and
 * the direction and shape of the deviation of its points.
 */
export function signatureOf(input: {
  kind: string;
  metrics: readonly string[];
  points: readonly Point[];
  onset: number;
}): Signature & { reading: ShapeReading } {
  const reading = shapeOf(input.points, input.onset);
  return {
    kind: input.kind,
    metrics: [...new Set(input.metrics)].sort().slice(0, 20),
    direction: reading.direction,
    shape: reading.shape,
    reading,
  };
}

/** Distance between two signatures, in [0, 1] (see the module comment). */
export function signatureDistance(a: Signature, b: Signature): number {
  const left = new Set(a.metrics);
  const right = new Set(b.metrics);
  const union = new Set([...left, ...right]);
  const shared = [...left].filter((metric) => right.has(metric)).length;
  const jaccard = union.size === 0 ? 1 : shared / union.size;
  const distance =
    0.4 * Number(a.kind !== b.kind) + 0.2 * (1 - jaccard) + 0.2 * Number(a.direction !== b.direction) + 0.2 * Number(a.shape !== b.shape);
  return Math.round(distance * 1e4) / 1e4;
}

/** The cluster of a signature: `kind|direction|shape`. */
export function clusterOf(signature: Pick<Signature, 'kind' | 'direction' | 'shape'>): string {
  return `${signature.kind}|${signature.direction}|${signature.shape}`;
}

/** The `k` cases nearest to `signature` (distance, then the order given: newest first), with their distance. */
export function nearestCases(
  signature: Signature,
  cases: readonly Case[],
  k: number = CASE_DEFAULTS.nearest,
): Array<{ case: Case; distance: number }> {
  return cases
    .map((entry, order) => ({ case: entry, distance: signatureDistance(signature, entry.signature), order }))
    .sort((a, b) => a.distance - b.distance || a.order - b.order)
    .slice(0, k)
    .map(({ case: entry, distance }) => ({ case: entry, distance }));
}

/** A playbook's Beta posterior. */
export interface Posterior {
  playbook: Playbook;
  alpha: number;
  beta: number;
  mean: number;
}

const round4 = (value: number) => Math.round(value * 1e4) / 1e4;

/**
 * The Beta posterior of success of each playbook for `signature`: the cluster's record plus the
 * nearby cases of other clusters (see the module comment).
 */
export function posteriorsFor(
  signature: Signature,
  candidates: readonly Playbook[],
  stats: ClusterStats,
  cases: readonly Case[],
): Posterior[] {
  const cluster = clusterOf(signature);
  const near = cases
    .filter((entry) => entry.cluster !== cluster)
    .map((entry) => ({ entry, distance: signatureDistance(signature, entry.signature) }))
    .filter(({ distance }) => distance <= CASE_DEFAULTS.neighbourRadius);
  return candidates.map((playbook) => {
    let alpha = CASE_DEFAULTS.prior.alpha + (stats[playbook]?.successes ?? 0);
    let beta = CASE_DEFAULTS.prior.beta + (stats[playbook]?.failures ?? 0);
    for (const { entry, distance } of near) {
      if (entry.playbook !== playbook) continue;
      const weight = CASE_DEFAULTS.neighbourWeight * (1 - distance);
      if (entry.outcome === 'recovered') alpha += weight;
      else beta += weight;
    }
    return { playbook, alpha: round4(alpha), beta: round4(beta), mean: round4(alpha / (alpha + beta)) };
  });
}

/** The seeded PRNG and Beta draws moved to lib/sampling.ts (Evolution samples with them too); re-exported for Reflex's callers. */
export { betaSample, seededRandom } from '../sampling.ts';

/** What {@link choosePlaybook} takes. */
export interface ChoiceInput {
  signature: Signature;
  /** The playbooks the target component has bindings for. */
  available: readonly Playbook[];
  /** Playbooks that already failed on this incident. */
  tried: readonly Playbook[];
  /** The cluster's record. */
  stats: ClusterStats;
  /** Recent cases of the tenant, newest first. */
  cases: readonly Case[];
  /** The root-cause ranking's confidence in the target. */
  causeConfidence: number;
  /** Seeds the draws: tenant, incident and round. */
  seed: string;
  /** Failed playbooks after which people are asked (the tenant's self-repair setting; default {@link CASE_DEFAULTS.maxFailedPlaybooks}). */
  maxFailedPlaybooks?: number;
}

/**
 * Chooses the playbook by Thompson sampling over the untried available playbooks and decides
 * whether people must be asked (see the module comment for both rules).
 * @example
 * const match = choosePlaybook({ signature, available: ['restart', 'roll-back'], tried: [], stats, cases, causeConfidence: 0.9, seed: 'acme/inc-1/1' });
 * match.playbook // 'roll-back' (say); match.escalate false
 */
export function choosePlaybook(input: ChoiceInput): CaseMatch {
  const cluster = clusterOf(input.signature);
  const tried = new Set(input.tried);
  const candidates = playbooks.filter((playbook) => input.available.includes(playbook) && !tried.has(playbook));
  const random = seededRandom(input.seed);
  const posteriors = posteriorsFor(input.signature, candidates, input.stats, input.cases).map((posterior) => ({
    ...posterior,
    draw: round4(betaSample(posterior.alpha, posterior.beta, random)),
  }));
  let chosen: (typeof posteriors)[number] | undefined;
  for (const posterior of posteriors) if (!chosen || posterior.draw > chosen.draw) chosen = posterior;

  const reasons: string[] = [];
  if (chosen) {
    const evidence = chosen.alpha + chosen.beta - CASE_DEFAULTS.prior.alpha - CASE_DEFAULTS.prior.beta;
    reasons.push(
      `${chosen.playbook}: Beta(${chosen.alpha}, ${chosen.beta}) in cluster ${cluster}, posterior mean ${chosen.mean}, Thompson draw ${chosen.draw} (highest of ${posteriors.length})`.slice(
        0,
        500,
      ),
    );
    if (chosen.mean < CASE_DEFAULTS.minPlaybookMean && evidence >= CASE_DEFAULTS.minEvidence) {
      reasons.push(
        `escalate: ${chosen.playbook} recovered this kind of case rarely (mean ${chosen.mean} < ${CASE_DEFAULTS.minPlaybookMean})`,
      );
    }
  } else
    reasons.push(
      `escalate: no playbook left (bound: ${input.available.join(', ') || 'none'}; failed: ${input.tried.join(', ') || 'none'})`.slice(
        0,
        500,
      ),
    );
  if (input.tried.length >= (input.maxFailedPlaybooks ?? CASE_DEFAULTS.maxFailedPlaybooks))
    reasons.push(`escalate: ${input.tried.length} playbooks failed on this incident (${input.tried.join(', ')})`.slice(0, 500));
  if (input.causeConfidence < CASE_DEFAULTS.minCauseConfidence)
    reasons.push(`escalate: the root cause is uncertain (confidence ${input.causeConfidence} < ${CASE_DEFAULTS.minCauseConfidence})`);

  return {
    signature: {
      kind: input.signature.kind,
      metrics: input.signature.metrics,
      direction: input.signature.direction,
      shape: input.signature.shape,
    },
    cluster,
    nearest: nearestCases(input.signature, input.cases).map(({ case: entry, distance }) => ({
      caseId: entry.caseId,
      distance,
      playbook: entry.playbook,
      outcome: entry.outcome,
    })),
    posteriors,
    playbook: chosen?.playbook ?? null,
    confidence: chosen?.mean ?? 0,
    escalate: reasons.some((reason) => reason.startsWith('escalate:')),
    reasons,
  };
}

/** The cluster's record after one more outcome of `playbook` (the store applies the same increment atomically). */
export function learn(stats: ClusterStats, playbook: Playbook, outcome: 'recovered' | 'not-recovered'): ClusterStats {
  const current = stats[playbook] ?? { successes: 0, failures: 0 };
  const next = outcome === 'recovered' ? { ...current, successes: current.successes + 1 } : { ...current, failures: current.failures + 1 };
  return { ...stats, [playbook]: next };
}

/**
 * A cluster's record as shown: each playbook with outcomes, its counts and the posterior mean of
 * Beta(prior + successes, prior + failures), in the order of {@link playbooks}.
 */
export function clusterRecord(stats: ClusterStats): Array<{ playbook: Playbook; successes: number; failures: number; mean: number }> {
  return playbooks.flatMap((playbook) => {
    const record = stats[playbook];
    if (!record) return [];
    const alpha = CASE_DEFAULTS.prior.alpha + record.successes;
    const beta = CASE_DEFAULTS.prior.beta + record.failures;
    return [{ playbook, successes: record.successes, failures: record.failures, mean: round4(alpha / (alpha + beta)) }];
  });
}
