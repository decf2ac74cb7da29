/**
 * Statistics for the canary judge, pure: the Mann–Whitney U test (Wilcoxon rank-sum) as R's
 * `wilcox.test` and SciPy's `mannwhitneyu` compute it, the Hodges–Lehmann shift estimate with
 * its confidence interval, and Tukey-fence outlier removal.
 *
 * - U is the statistic of the FIRST sample x (R's W): the number of pairs (xi, yj) with
 *   xi > yj, ties counting one half; ranks are averaged over ties.
 * - `exact`: the null distribution of U counted exactly (the Gaussian binomial coefficient
 *   [m+n choose m]_q, in BigInt so no count loses a digit), valid when there are no ties.
 * - `asymptotic`: the normal approximation with the tie-corrected variance
 *   σ² = mn/12 · ((N+1) − Σ(t³−t)/(N(N−1))) and, by default, a 0.5 continuity correction.
 *   Two-sided follows SciPy (U = max(U₁, U₂), p = 2·P(Z ≥ z), clipped to 1), which equals R's
 *   (correction sign(z)·0.5, p = 2·min tail) everywhere, and gives 1 at U = mn/2.
 * - `auto` follows R: exact when both samples have fewer than 50 values and nothing is tied.
 */
import erfcImpl from '@stdlib/math-base-special-erfc';
import erfcinvImpl from '@stdlib/math-base-special-erfcinv';

const erfc = erfcImpl as (x: number) => number;
const erfcinv = erfcinvImpl as (x: number) => number;

/** Which tail the alternative hypothesis names, for x relative to y. */
export type Alternative = 'two-sided' | 'less' | 'greater';
/** How the p value is computed. */
export type MannWhitneyMethod = 'auto' | 'exact' | 'asymptotic';

/** Options of {@link mannWhitneyU}. */
export interface MannWhitneyOptions {
  alternative?: Alternative;
  method?: MannWhitneyMethod;
  /** Apply the 0.5 continuity correction in the normal approximation (default true, as R and SciPy). */
  continuity?: boolean;
}

/** The result of {@link mannWhitneyU}: plain data. */
export interface MannWhitneyResult {
  /** U of the first sample (R's W). */
  u: number;
  p: number;
  /** The method actually used (`auto` resolved). */
  method: 'exact' | 'asymptotic';
  alternative: Alternative;
  /** Whether any value is tied across the pooled sample. */
  ties: boolean;
  /** The z statistic of the normal approximation (null for the exact method). */
  z: number | null;
}

/** P(Z ≥ z) for a standard normal Z, accurate in the far tail. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** The standard normal quantile: the z with P(Z ≤ z) = p, for 0 < p < 1. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  return -Math.SQRT2 * erfcinv(2 * p);
}

/** Ascending copy of numbers (numeric sort, not the default string sort). */
function sortedCopy(values: readonly number[]): number[] {
  return Array.from(Float64Array.from(values).sort());
}

/**
 * Average ranks (1-based) of the pooled values and the sizes of every tie group.
 * @returns ranks in the input order, and `tieSizes` (groups of 2 or more only).
 */
export function averageRanks(values: readonly number[]): { ranks: number[]; tieSizes: number[] } {
  const order = values.map((_, i) => i).sort((a, b) => (values[a] as number) - (values[b] as number));
  const ranks = new Array<number>(values.length).fill(0);
  const tieSizes: number[] = [];
  let i = 0;
  while (i < order.length) {
    let j = i;
    const v = values[order[i] as number] as number;
    while (j + 1 < order.length && values[order[j + 1] as number] === v) j++;
    const rank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[order[k] as number] = rank;
    if (j > i) tieSizes.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, tieSizes };
}

const exactCache = new Map<string, { counts: bigint[]; total: bigint }>();

/**
 * The exact null distribution of U for samples of sizes m and n: `counts[u]` arrangements of
 * the pooled ranks give U = u, out of `total` = C(m+n, m). Counted as the coefficients of the
 * Gaussian binomial ∏ᵢ (1 − q^(n+i)) / (1 − q^i), i = 1..m, in BigInt.
 */
export function exactDistribution(m: number, n: number): { counts: bigint[]; total: bigint } {
  const small = Math.min(m, n);
  const large = Math.max(m, n);
  const key = `${small}x${large}`;
  const cached = exactCache.get(key);
  if (cached) return cached;
  const size = small * large + 1;
  const c = new Array<bigint>(size).fill(0n);
  c[0] = 1n;
  for (let i = 1; i <= small; i++) {
    const up = large + i;
    for (let k = size - 1; k >= up; k--) c[k] = (c[k] as bigint) - (c[k - up] as bigint);
    for (let k = i; k < size; k++) c[k] = (c[k] as bigint) + (c[k - i] as bigint);
  }
  let total = 0n;
  for (const v of c) total += v;
  const result = { counts: c, total };
  if (exactCache.size > 256) exactCache.clear();
  exactCache.set(key, result);
  return result;
}

/** P(U ≥ u) under the exact null distribution (u may be fractional: counts from ⌈u⌉). */
export function exactSf(u: number, m: number, n: number): number {
  const { counts, total } = exactDistribution(m, n);
  const from = Math.max(0, Math.ceil(u));
  let tail = 0n;
  for (let k = from; k < counts.length; k++) tail += counts[k] as bigint;
  return bigRatio(tail, total);
}

/** P(U ≤ u) under the exact null distribution. */
export function exactCdf(u: number, m: number, n: number): number {
  const { counts, total } = exactDistribution(m, n);
  const to = Math.min(counts.length - 1, Math.floor(u));
  let head = 0n;
  for (let k = 0; k <= to; k++) head += counts[k] as bigint;
  return bigRatio(head, total);
}

/** a/b as a double, without overflowing Number for big counts. */
function bigRatio(a: bigint, b: bigint): number {
  if (a === 0n) return 0;
  const shift = BigInt(Math.max(0, b.toString(2).length - 1000));
  return Number(a >> shift) / Number(b >> shift);
}

/** The smallest q with P(U ≤ q) ≥ prob (R's `qwilcox`). */
export function exactQuantile(prob: number, m: number, n: number): number {
  const { counts, total } = exactDistribution(m, n);
  let head = 0n;
  for (let q = 0; q < counts.length; q++) {
    head += counts[q] as bigint;
    // Same comparison R makes, with its small fuzz so a probability equal to a cdf step lands on it.
    if (bigRatio(head, total) >= prob * (1 - 64 * Number.EPSILON)) return q;
  }
  return counts.length - 1;
}

/**
 * The Mann–Whitney U test of x against y.
 * @throws RangeError when a sample is empty or holds NaN.
 * @example
 * mannWhitneyU([10, 20, 30, 40], [1, 2, 3, 4]); // { u: 16, p: 0.0286, method: 'exact', ... }
 */
export function mannWhitneyU(x: readonly number[], y: readonly number[], options: MannWhitneyOptions = {}): MannWhitneyResult {
  const alternative = options.alternative ?? 'two-sided';
  const continuity = options.continuity ?? true;
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) throw new RangeError('mannWhitneyU needs two non-empty samples');
  if ([...x, ...y].some((v) => Number.isNaN(v))) throw new RangeError('mannWhitneyU samples must not hold NaN');
  const { ranks, tieSizes } = averageRanks([...x, ...y]);
  let r1 = 0;
  for (let i = 0; i < m; i++) r1 += ranks[i] as number;
  const u1 = r1 - (m * (m + 1)) / 2;
  const u2 = m * n - u1;
  const ties = tieSizes.length > 0;
  const method =
    options.method === undefined || options.method === 'auto' ? (m < 50 && n < 50 && !ties ? 'exact' : 'asymptotic') : options.method;
  const [u, factor] = alternative === 'greater' ? [u1, 1] : alternative === 'less' ? [u2, 1] : [Math.max(u1, u2), 2];
  let p: number;
  let z: number | null = null;
  if (method === 'exact') {
    p = exactSf(u, m, n);
  } else {
    const total = m + n;
    const tieTerm = tieSizes.reduce((sum, t) => sum + (t * t * t - t), 0);
    const sigma = Math.sqrt(((m * n) / 12) * (total + 1 - tieTerm / (total * (total - 1))));
    const numerator = u - (m * n) / 2 - (continuity ? 0.5 : 0);
    // All values tied: no evidence either way (R stops; SciPy returns NaN); p = 1 is the judge's reading.
    z = sigma > 0 ? numerator / sigma : 0;
    p = sigma > 0 ? normalSf(z) : 1;
  }
  p = Math.min(1, Math.max(0, p * factor));
  return { u: u1, p, method, alternative, ties, z };
}

/** Options of {@link hodgesLehmann}. */
export interface HodgesLehmannOptions {
  /** Confidence level of the interval, 0 < level < 1 (default 0.95). */
  confidenceLevel?: number;
  method?: MannWhitneyMethod;
}

/** The Hodges–Lehmann shift of x over y with its confidence interval. */
export interface HodgesLehmannResult {
  /** Median of all pairwise differences xi − yj. */
  estimate: number;
  lower: number;
  upper: number;
  confidenceLevel: number;
  method: 'exact' | 'asymptotic';
}

/**
 * The Hodges–Lehmann estimate of the location shift x − y and its two-sided confidence interval
 * from the order statistics of the mn pairwise differences (Bauer 1972; R's `wilcox.test(x, y,
 * conf.int = TRUE)` in the exact case: bounds D(qu) and D(mn − qu + 1), qu = qwilcox(α/2, m, n),
 * at least 1). In the asymptotic case (ties or 50+ values) the rank of the bound comes from the
 * tie-corrected normal approximation, k = ⌊mn/2 − z(1−α/2)·σ⌋ (at least 1), the large-sample form
 * of the same interval (R solves the same equation by root finding with a continuity correction,
 * which can differ in the last order statistic).
 * @throws RangeError when a sample is empty or the level is not in (0, 1).
 */
export function hodgesLehmann(x: readonly number[], y: readonly number[], options: HodgesLehmannOptions = {}): HodgesLehmannResult {
  const level = options.confidenceLevel ?? 0.95;
  if (!(level > 0 && level < 1)) throw new RangeError('confidenceLevel must be in (0, 1)');
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) throw new RangeError('hodgesLehmann needs two non-empty samples');
  const diffs = new Float64Array(m * n);
  let at = 0;
  for (const xi of x) for (const yj of y) diffs[at++] = xi - yj;
  diffs.sort();
  const count = diffs.length;
  const estimate =
    count % 2 === 1 ? (diffs[(count - 1) / 2] as number) : ((diffs[count / 2 - 1] as number) + (diffs[count / 2] as number)) / 2;
  const { tieSizes } = averageRanks([...x, ...y]);
  const method =
    options.method === undefined || options.method === 'auto'
      ? m < 50 && n < 50 && tieSizes.length === 0
        ? 'exact'
        : 'asymptotic'
      : options.method;
  const alpha = 1 - level;
  let k: number;
  if (method === 'exact') {
    k = Math.max(1, exactQuantile(alpha / 2, m, n));
  } else {
    const total = m + n;
    const tieTerm = tieSizes.reduce((sum, t) => sum + (t * t * t - t), 0);
    const sigma = Math.sqrt(((m * n) / 12) * (total + 1 - tieTerm / (total * (total - 1))));
    k = Math.max(1, Math.floor((m * n) / 2 - normalQuantile(1 - alpha / 2) * sigma));
  }
  k = Math.min(k, count);
  return {
    estimate,
    lower: diffs[k - 1] as number,
    upper: diffs[count - k] as number,
    confidenceLevel: level,
    method,
  };
}

/** Median of numbers (NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = sortedCopy(values);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The p-th quantile (0..1) by linear interpolation between order statistics (R type 7, NumPy's default). */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = sortedCopy(values);
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(s.length - 1, lo + 1);
  return (s[lo] as number) + (h - lo) * ((s[hi] as number) - (s[lo] as number));
}

/** Median absolute deviation from the median (unscaled). */
export function mad(values: readonly number[]): number {
  const center = median(values);
  return median(values.map((v) => Math.abs(v - center)));
}

/** The result of {@link removeOutliers}. */
export interface OutlierRemoval {
  kept: number[];
  removed: number;
  /** Tukey's fences [Q1 − k·IQR, Q3 + k·IQR]. */
  fences: [number, number];
}

/**
 * Removes values outside Tukey's fences, Q1 − k·IQR and Q3 + k·IQR (k = 1.5 by default,
 * quartiles by R type-7 interpolation). Kayenta applies the same IQR filter before its test.
 * With fewer than 4 values nothing is removed (the quartiles mean little).
 */
export function removeOutliers(values: readonly number[], k = 1.5): OutlierRemoval {
  if (values.length < 4) return { kept: [...values], removed: 0, fences: [-Infinity, Infinity] };
  const q1 = quantile(values, 0.25);
  const q3 = quantile(values, 0.75);
  const iqr = q3 - q1;
  const fences: [number, number] = [q1 - k * iqr, q3 + k * iqr];
  const kept = values.filter((v) => v >= fences[0] && v <= fences[1]);
  return { kept, removed: values.length - kept.length, fences };
}
