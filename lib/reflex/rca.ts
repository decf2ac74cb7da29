/**
 * Root-cause analysis: among the components with open incidents, which one most probably caused
 * the others. Pure and deterministic: the same registry and incidents give the same ranking.
 *
 * Three factors per candidate, each in [0, 1]:
 *
 * | factor      | rule                                                                                       |
 * |-------------|--------------------------------------------------------------------------------------------|
 * | upstream    | (E − B + (n − 1)) / (2 (n − 1)), where E = other incident components that depend on it      |
 * |             | (transitively) and B = those it depends on; 1 when it is the only candidate. A cycle's     |
 * |             | members explain each other, so the cycle cancels out and onset and correlation decide.     |
 * | onset       | (latest onset − its onset) / (latest − earliest); 1 for all when the onsets are the same   |
 * | correlation | mean over the other candidates of the strongest \|Spearman ρ\| between its deviations and  |
 * |             | theirs with it leading by 0..{@link RCA_DEFAULTS.maxLagSteps} steps (aligned on a common   |
 * |             | grid, at least {@link RCA_DEFAULTS.minAligned} pairs); null when nothing could be aligned  |
 *
 * Score = (0.5 · upstream + 0.3 · onset + 0.2 · correlation) / (sum of the weights used): a null
 * correlation drops out of both sums. Confidence = softmax(score / 0.15) over the candidates ×
 * (0.5 + 0.5 · coverage), where coverage is the share of its upstream components (transitive, no
 * open incident) that have series: a cause hidden in an unobserved dependency would not be seen, so
 * an unobserved upstream halves the confidence at worst. Order: score, then earlier onset, then id.
 *
 * Deviations are robust z-scores of a series' recent points against its median and MAD before the
 * incident's onset ({@link deviations}).
 */
import type { ComponentIndex } from './registry.ts';
import { MAX_EVIDENCE_IDS, type RankedCause } from './schemas.ts';

/** A point, `[epoch ms, value]`. */
export type Point = readonly [timestamp: number, value: number];

/** The rule's constants (see the module comment). */
export const RCA_DEFAULTS = {
  weights: { upstream: 0.5, onset: 0.3, correlation: 0.2 },
  /** The most steps one component's deviations may lead another's. */
  maxLagSteps: 3,
  /** Fewest aligned pairs a correlation is computed on. */
  minAligned: 8,
  /** Softmax temperature of the confidence. */
  temperature: 0.15,
  /** Recent points a series contributes. */
  window: 64,
  /** Series per candidate compared (the incident's own first). */
  seriesPerCandidate: 3,
  /** Candidates considered (earliest onsets first). */
  maxCandidates: 50,
} as const;

/** Options of {@link rankCauses}. */
export interface RcaOptions {
  weights?: { upstream: number; onset: number; correlation: number };
  maxLagSteps?: number;
  minAligned?: number;
  temperature?: number;
}

/** A component with an open incident. */
export interface CauseCandidate {
  component: string;
  /** Epoch ms of its incident's start. */
  onset: number;
  /** Its series' deviations ({@link deviations}), the incident's own series first. */
  series: ReadonlyArray<{ series: string; deviations: readonly Point[] }>;
}

const median = (values: readonly number[]): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** A robust scale of `values` around `center`: 1.4826·MAD, else 1.2533·mean absolute deviation, else a floor. */
export function robustScale(values: readonly number[], center: number): number {
  const absolute = values.map((value) => Math.abs(value - center));
  const mad = 1.4826 * median(absolute);
  if (mad > 0) return mad;
  const meanAbs = absolute.length > 0 ? (1.2533 * absolute.reduce((sum, value) => sum + value, 0)) / absolute.length : 0;
  if (meanAbs > 0) return meanAbs;
  return Math.max(Math.abs(center) * 1e-6, 1e-9);
}

/**
 * Robust z-scores of the last `window` points against the points before `onset` (the baseline:
 * at most `window` of them; the first half of the points when fewer than 4 precede the onset).
 * @example deviations([[0, 10], [1, 10], [2, 11], [3, 9], [4, 30]], 4) // last one ≈ 20 scales above
 */
export function deviations(points: readonly Point[], onset: number, window: number = RCA_DEFAULTS.window): Point[] {
  if (points.length === 0) return [];
  let baseline = points.filter(([timestamp]) => timestamp < onset).slice(-window);
  if (baseline.length < 4) baseline = points.slice(0, Math.max(1, Math.floor(points.length / 2)));
  const values = baseline.map(([, value]) => value);
  const center = median(values);
  const scale = robustScale(values, center);
  return points.slice(-window).map(([timestamp, value]): Point => [timestamp, (value - center) / scale]);
}

/** Median spacing of a series' timestamps (1 ms at least). */
function medianInterval(points: readonly Point[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < points.length; i += 1) gaps.push((points[i] as Point)[0] - (points[i - 1] as Point)[0]);
  return Math.max(1, median(gaps.filter((gap) => gap > 0)));
}

function buckets(points: readonly Point[], step: number): Map<number, number> {
  const sums = new Map<number, [number, number]>();
  for (const [timestamp, value] of points) {
    const key = Math.round(timestamp / step);
    const sum = sums.get(key) ?? [0, 0];
    sum[0] += value;
    sum[1] += 1;
    sums.set(key, sum);
  }
  return new Map([...sums].map(([key, [total, count]]) => [key, total / count]));
}

/** Ranks with ties averaged (1-based). */
function ranks(values: readonly number[]): number[] {
  const order = values.map((value, index) => [value, index] as const).sort((a, b) => a[0] - b[0]);
  const result = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && (order[end + 1] as readonly [number, number])[0] === (order[start] as readonly [number, number])[0])
      end += 1;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k += 1) result[(order[k] as readonly [number, number])[1]] = rank;
    start = end + 1;
  }
  return result;
}

/** Pearson's r of two equally long samples; null when either has no variance or n < 2. */
export function pearson(x: readonly number[], y: readonly number[]): number | null {
  const n = Math.min(x.length, y.length);
  if (n < 2) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i += 1) {
    mx += x[i] as number;
    my += y[i] as number;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i += 1) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Spearman's ρ (Pearson on tie-averaged ranks); null when either sample is constant or n < 2. */
export function spearman(x: readonly number[], y: readonly number[]): number | null {
  return pearson(ranks(x), ranks(y));
}

/**
 * The strongest Spearman ρ between `a` and `b` with `a` leading by 0..`maxLagSteps` steps of a
 * common grid (the larger of the two median spacings; points in one cell are averaged); the
 * smallest lag wins a tie. Null when no lag has `minAligned` aligned pairs with variance.
 */
export function leadCorrelation(
  a: readonly Point[],
  b: readonly Point[],
  maxLagSteps: number = RCA_DEFAULTS.maxLagSteps,
  minAligned: number = RCA_DEFAULTS.minAligned,
): { rho: number; lagSteps: number; n: number } | null {
  if (a.length === 0 || b.length === 0) return null;
  const step = Math.max(medianInterval(a), medianInterval(b));
  const gridA = buckets(a, step);
  const gridB = buckets(b, step);
  let best: { rho: number; lagSteps: number; n: number } | null = null;
  for (let lag = 0; lag <= maxLagSteps; lag += 1) {
    const x: number[] = [];
    const y: number[] = [];
    for (const [key, value] of gridA) {
      const other = gridB.get(key + lag);
      if (other === undefined) continue;
      x.push(value);
      y.push(other);
    }
    if (x.length < minAligned) continue;
    const rho = spearman(x, y);
    if (rho === null) continue;
    if (best === null || Math.abs(rho) > Math.abs(best.rho) + 1e-12) best = { rho, lagSteps: lag, n: x.length };
  }
  return best;
}

const round = (value: number, digits = 4) => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/** A diagnosis' ranking and the weights it used. */
export interface RcaResult {
  causes: RankedCause[];
  weights: { upstream: number; onset: number; correlation: number };
}

/**
 * Ranks the probable causes among `candidates` (components with open incidents) by the rule in
 * this module's comment. Candidates of the same component are merged (earliest onset, all series).
 * @example
 * const { causes } = rankCauses(new ComponentIndex(registry.components), [
 *   { component: 'db', onset: t0, series: [{ series: 'db.latency', deviations: dbDev }] },
 *   { component: 'api', onset: t0 + 60_000, series: [{ series: 'api.errors', deviations: apiDev }] },
 * ]);
 * causes[0].component // 'db' (api depends on it, and it started first)
 */
export function rankCauses(index: ComponentIndex, candidates: readonly CauseCandidate[], options: RcaOptions = {}): RcaResult {
  const weights = options.weights ?? RCA_DEFAULTS.weights;
  const maxLag = options.maxLagSteps ?? RCA_DEFAULTS.maxLagSteps;
  const minAligned = options.minAligned ?? RCA_DEFAULTS.minAligned;
  const temperature = options.temperature ?? RCA_DEFAULTS.temperature;

  const merged = new Map<string, { component: string; onset: number; series: Array<{ series: string; deviations: readonly Point[] }> }>();
  for (const candidate of candidates) {
    const current = merged.get(candidate.component);
    if (current) {
      current.onset = Math.min(current.onset, candidate.onset);
      current.series.push(...candidate.series);
    } else merged.set(candidate.component, { component: candidate.component, onset: candidate.onset, series: [...candidate.series] });
  }
  const list = [...merged.values()]
    .sort((a, b) => a.onset - b.onset || a.component.localeCompare(b.component))
    .slice(0, RCA_DEFAULTS.maxCandidates)
    .map((candidate) => ({ ...candidate, series: candidate.series.slice(0, RCA_DEFAULTS.seriesPerCandidate) }));
  if (list.length === 0) return { causes: [], weights };

  const inIncident = new Set(list.map((candidate) => candidate.component));
  const upstreamOf = new Map(list.map((candidate) => [candidate.component, new Set(index.dependenciesOf(candidate.component))]));
  const earliest = Math.min(...list.map((candidate) => candidate.onset));
  const latest = Math.max(...list.map((candidate) => candidate.onset));
  const n = list.length;

  const scored = list.map((candidate) => {
    const others = list.filter((other) => other.component !== candidate.component);
    const explains = others
      .filter((other) => upstreamOf.get(other.component)?.has(candidate.component))
      .map((other) => other.component)
      .sort();
    const explainedBy = others
      .filter((other) => upstreamOf.get(candidate.component)?.has(other.component))
      .map((other) => other.component)
      .sort();
    const upstream = n > 1 ? (explains.length - explainedBy.length + (n - 1)) / (2 * (n - 1)) : 1;
    const onset = latest > earliest ? (latest - candidate.onset) / (latest - earliest) : 1;

    const correlations: RankedCause['evidence']['correlations'] = [];
    for (const other of others) {
      let best: { rho: number; lagSteps: number; n: number } | null = null;
      for (const mine of candidate.series) {
        for (const theirs of other.series) {
          const found = leadCorrelation(mine.deviations, theirs.deviations, maxLag, minAligned);
          if (found && (best === null || Math.abs(found.rho) > Math.abs(best.rho))) best = found;
        }
      }
      if (best) correlations.push({ with: other.component, rho: round(best.rho), lagSteps: best.lagSteps, n: best.n });
    }
    const correlation =
      correlations.length > 0 ? correlations.reduce((sum, entry) => sum + Math.abs(entry.rho), 0) / correlations.length : null;

    const used = weights.upstream + weights.onset + (correlation === null ? 0 : weights.correlation);
    const score =
      used > 0
        ? (weights.upstream * upstream + weights.onset * onset + (correlation === null ? 0 : weights.correlation * correlation)) / used
        : 0;

    const quietUpstream = [...(upstreamOf.get(candidate.component) ?? [])].filter((id) => !inIncident.has(id)).sort();
    const unobservedUpstream = quietUpstream.filter((id) => (index.get(id)?.series.length ?? 0) === 0);
    const coverage = quietUpstream.length === 0 ? 1 : (quietUpstream.length - unobservedUpstream.length) / quietUpstream.length;

    const reasons: string[] = [];
    if (n === 1) reasons.push('the only component with an open incident');
    else if (explains.length > 0)
      reasons.push(
        `upstream of ${explains.length} of ${n - 1} other incident components (${explains.slice(0, 5).join(', ')})`.slice(0, 500),
      );
    if (explainedBy.length > 0)
      reasons.push(`depends on ${explainedBy.length} other incident components (${explainedBy.slice(0, 5).join(', ')})`.slice(0, 500));
    if (n > 1)
      reasons.push(
        candidate.onset === earliest ? 'earliest onset' : `onset ${Math.round((candidate.onset - earliest) / 1000)} s after the earliest`,
      );
    const leads = correlations.filter((entry) => entry.lagSteps > 0 && Math.abs(entry.rho) >= 0.5);
    if (leads.length > 0)
      reasons.push(
        `its deviations lead ${leads
          .map((entry) => `${entry.with} by ${entry.lagSteps} step(s) (ρ ${entry.rho})`)
          .slice(0, 3)
          .join(', ')}`.slice(0, 500),
      );
    if (unobservedUpstream.length > 0)
      reasons.push(
        `${unobservedUpstream.length} upstream component(s) without series: ${unobservedUpstream.slice(0, 5).join(', ')}`.slice(0, 500),
      );

    return {
      candidate,
      score,
      coverage,
      cause: {
        component: candidate.component,
        score: round(score),
        confidence: 0,
        factors: { upstream: round(upstream), onset: round(onset), correlation: correlation === null ? null : round(correlation) },
        evidence: {
          explains: explains.slice(0, MAX_EVIDENCE_IDS),
          explainedBy: explainedBy.slice(0, MAX_EVIDENCE_IDS),
          onset: new Date(candidate.onset).toISOString(),
          lagMs: candidate.onset - earliest,
          correlations: correlations.sort((a, b) => Math.abs(b.rho) - Math.abs(a.rho) || a.with.localeCompare(b.with)).slice(0, 10),
          unobservedUpstream: unobservedUpstream.slice(0, MAX_EVIDENCE_IDS),
        },
        reasons,
      } satisfies RankedCause,
    };
  });

  const top = Math.max(...scored.map((entry) => entry.score));
  const weightsOf = scored.map((entry) => Math.exp((entry.score - top) / temperature));
  const total = weightsOf.reduce((sum, value) => sum + value, 0);
  scored.forEach((entry, i) => {
    entry.cause.confidence = round(((weightsOf[i] as number) / total) * (0.5 + 0.5 * entry.coverage), 3);
  });
  scored.sort(
    (a, b) => b.score - a.score || a.candidate.onset - b.candidate.onset || a.candidate.component.localeCompare(b.candidate.component),
  );
  return { causes: scored.map((entry) => entry.cause), weights };
}
