/**
 * The canary judge, pure, in Kayenta's manner: each metric of the canary is compared with the
 * same metric of a freshly deployed baseline (same version as the primary, same traffic share as
 * the canary, started at the same time — so age, warm caches and share of traffic cancel out).
 *
 * Per metric:
 *  1. outliers removed from each side with Tukey's fences (Q1 − k·IQR, Q3 + k·IQR; k = 1.5);
 *  2. fewer than `minSamples` values left on a side → `nodata` (a critical metric without data
 *     fails the judgement: nothing shows it is safe; any other is left out of the score);
 *  3. the Mann–Whitney U test, two-sided, at the confidence level (significant when p < 1 − level);
 *  4. the Hodges–Lehmann shift canary − baseline with its confidence interval at that level;
 *  5. the allowed effect, relative to the baseline's own spread: `allowedEffect` × scale, where
 *     scale = 1.4826 · MAD of the baseline (σ for normal data), or IQR / 1.349 when the MAD is 0;
 *     when both are 0 (a constant baseline) the allowed effect is 0;
 *  6. `fail` when the difference is significant, in the bad direction (an increase for
 *     `increase-is-bad`, a decrease for `decrease-is-bad`, either for `either`) AND |shift| is
 *     larger than the allowed effect; otherwise `pass`. A significant change in the good
 *     direction passes (Kayenta's "High"/"Low" classes are reported as `classification`).
 *
 * Score = 100 × (weight of passing metrics) / (weight of metrics with data); 0 when no metric has
 * data (nothing shows the canary is safe). Decision: any critical metric failing, or no metric
 * with data → `fail`; else score ≥
 * `passThreshold` → `pass`; score ≥ `marginalThreshold` → `marginal` (pause for a person);
 * else `fail` (roll back). Defaults follow Kayenta's usual thresholds: pass 95, marginal 75.
 */
import {
  type JudgeConfig,
  type JudgeConfigInput,
  judgeConfigSchema,
  type MetricDirection,
  type MetricRuleInput,
  metricRuleSchema,
} from './report-schemas.ts';
import { hodgesLehmann, mad, mannWhitneyU, median, quantile, removeOutliers } from './stats.ts';

export {
  type JudgeConfig,
  type JudgeConfigInput,
  judgeConfigSchema,
  type MetricDirection,
  type MetricRule,
  type MetricRuleInput,
  metricDirectionSchema,
  metricRuleSchema,
} from './report-schemas.ts';

/** Observed values of one metric on both sides. */
export interface MetricSamples {
  canary: readonly number[];
  baseline: readonly number[];
}

/** A metric's verdict. */
export type MetricVerdict = 'pass' | 'fail' | 'nodata';
/** Kayenta's classes: where the canary's values lie against the baseline's. */
export type MetricClassification = 'high' | 'low' | 'same' | 'nodata';

/** The report of one metric: plain data, what the ledger and `GET /promotion/status` show. */
export interface MetricReport {
  name: string;
  direction: MetricDirection;
  critical: boolean;
  weight: number;
  canary: { n: number; removed: number; median: number | null };
  baseline: { n: number; removed: number; median: number | null };
  /** U of the canary sample (null without data). */
  u: number | null;
  p: number | null;
  method: 'exact' | 'asymptotic' | null;
  /** Hodges–Lehmann shift canary − baseline and its interval. */
  shift: { estimate: number; lower: number; upper: number; confidenceLevel: number } | null;
  /** The baseline's robust spread and the allowed |shift| derived from it. */
  baselineScale: number | null;
  allowedEffect: number | null;
  significant: boolean;
  classification: MetricClassification;
  verdict: MetricVerdict;
  reason: string;
}

/** A judgement's decision: go on, pause for a person, or roll back. */
export type JudgeDecision = 'pass' | 'marginal' | 'fail';

/** A judgement: the score, the decision and each metric's report. */
export interface Judgement {
  score: number;
  decision: JudgeDecision;
  /** Critical metrics that failed (or had no data). */
  criticalFailures: string[];
  metrics: MetricReport[];
  config: JudgeConfig;
  reason: string;
}

const finite = (values: readonly number[]) => values.filter((v) => Number.isFinite(v));

/** The baseline's robust spread: 1.4826·MAD, else IQR/1.349, else 0. */
export function robustSpread(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const madScale = 1.4826 * mad(values);
  if (madScale > 0) return madScale;
  return (quantile(values, 0.75) - quantile(values, 0.25)) / 1.349;
}

/**
 * Judges one metric.
 * @example judgeMetric({ name: 'latency' }, { canary: [..], baseline: [..] }).verdict // 'pass'
 */
export function judgeMetric(ruleInput: MetricRuleInput, samples: MetricSamples, configInput: JudgeConfigInput = {}): MetricReport {
  const rule = metricRuleSchema.parse(ruleInput);
  const config = judgeConfigSchema.parse(configInput);
  const canary = removeOutliers(finite(samples.canary), config.outlierK);
  const baseline = removeOutliers(finite(samples.baseline), config.outlierK);
  const base = {
    name: rule.name,
    direction: rule.direction,
    critical: rule.critical,
    weight: rule.weight,
    canary: { n: canary.kept.length, removed: canary.removed, median: canary.kept.length ? median(canary.kept) : null },
    baseline: { n: baseline.kept.length, removed: baseline.removed, median: baseline.kept.length ? median(baseline.kept) : null },
  };
  if (canary.kept.length < config.minSamples || baseline.kept.length < config.minSamples) {
    return {
      ...base,
      u: null,
      p: null,
      method: null,
      shift: null,
      baselineScale: null,
      allowedEffect: null,
      significant: false,
      classification: 'nodata',
      verdict: 'nodata',
      reason: `${rule.name}: ${canary.kept.length} canary and ${baseline.kept.length} baseline values after outlier removal; ${config.minSamples} needed each side`,
    };
  }
  const test = mannWhitneyU(canary.kept, baseline.kept);
  const hl = hodgesLehmann(canary.kept, baseline.kept, { confidenceLevel: config.confidenceLevel });
  const alpha = 1 - config.confidenceLevel;
  const significant = test.p < alpha;
  const scale = robustSpread(baseline.kept);
  const allowed = rule.allowedEffect * scale;
  const classification: MetricClassification = !significant ? 'same' : hl.estimate > 0 ? 'high' : hl.estimate < 0 ? 'low' : 'same';
  const bad =
    (rule.direction === 'increase-is-bad' && classification === 'high') ||
    (rule.direction === 'decrease-is-bad' && classification === 'low') ||
    (rule.direction === 'either' && classification !== 'same');
  const fail = bad && Math.abs(hl.estimate) > allowed;
  const fmt = (v: number) => Number(v.toPrecision(4));
  const reason = fail
    ? `${rule.name}: canary ${classification === 'high' ? 'higher' : 'lower'} by ${fmt(hl.estimate)} [${fmt(hl.lower)}, ${fmt(hl.upper)}] (p=${test.p.toExponential(2)}), beyond the allowed ${fmt(allowed)} (${rule.allowedEffect} × baseline spread ${fmt(scale)})`
    : bad
      ? `${rule.name}: significant shift ${fmt(hl.estimate)} in the bad direction (p=${test.p.toExponential(2)}) within the allowed ${fmt(allowed)}`
      : significant
        ? `${rule.name}: significant shift ${fmt(hl.estimate)} in the good direction (p=${test.p.toExponential(2)})`
        : `${rule.name}: no significant difference (p=${fmt(test.p)}, shift ${fmt(hl.estimate)})`;
  return {
    ...base,
    u: test.u,
    p: test.p,
    method: test.method,
    shift: { estimate: hl.estimate, lower: hl.lower, upper: hl.upper, confidenceLevel: hl.confidenceLevel },
    baselineScale: scale,
    allowedEffect: allowed,
    significant,
    classification,
    verdict: fail ? 'fail' : 'pass',
    reason,
  };
}

/**
 * Judges a canary against its baseline over every metric rule. A metric absent from `observed`
 * is judged with no values (`nodata`).
 * @example
 * judge([{ name: 'latency', critical: true }], { latency: { canary, baseline } }).decision // 'pass' | 'marginal' | 'fail'
 */
export function judge(
  rules: readonly MetricRuleInput[],
  observed: Readonly<Record<string, MetricSamples>>,
  configInput: JudgeConfigInput = {},
): Judgement {
  const config = judgeConfigSchema.parse(configInput);
  const metrics = rules.map((rule) => judgeMetric(rule, observed[rule.name] ?? { canary: [], baseline: [] }, config));
  const criticalFailures = metrics.filter((m) => m.critical && m.verdict !== 'pass').map((m) => m.name);
  const withData = metrics.filter((m) => m.verdict !== 'nodata');
  const total = withData.reduce((sum, m) => sum + m.weight, 0);
  const passed = withData.filter((m) => m.verdict === 'pass').reduce((sum, m) => sum + m.weight, 0);
  const score = total === 0 ? 0 : Math.round((10000 * passed) / total) / 100;
  const decision: JudgeDecision =
    criticalFailures.length > 0 || total === 0
      ? 'fail'
      : score >= config.passThreshold
        ? 'pass'
        : score >= config.marginalThreshold
          ? 'marginal'
          : 'fail';
  const failed = metrics.filter((m) => m.verdict === 'fail').map((m) => m.name);
  const reason =
    criticalFailures.length > 0
      ? `critical metric(s) ${criticalFailures.join(', ')} failed or had no data`
      : total === 0
        ? 'no metric had data: nothing shows the canary is safe'
        : `score ${score} (pass ≥ ${config.passThreshold}, marginal ≥ ${config.marginalThreshold})${failed.length ? `; failed: ${failed.join(', ')}` : ''}`;
  return { score, decision, criticalFailures, metrics, config, reason };
}
