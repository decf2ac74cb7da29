/**
 * The Kubernetes Horizontal Pod Autoscaler's algorithm, as its documentation states it
 * (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/) and as the controller
 * computes it (kube-controller-manager `podautoscaler`: replica_calculator.go, horizontal.go). Pure:
 * metrics, the recommendation history and the recent scale events in; a replica count and the new
 * history out.
 *
 * Per metric: `desired = ceil(current × currentMetricValue / desiredMetricValue)`, no change while the
 * ratio is within the tolerance (1 ± 0.1 by default, per direction). Per-replica samples may be
 * given: replicas missing a metric count as 100% of the target on a scale down and 0% on a scale
 * up; not-yet-ready replicas count as 0% on a scale up; a recomputed ratio that reverses the
 * direction or falls within the tolerance means no change. Several metrics: the largest count,
 * except that a metric that cannot be computed blocks a scale down. Then the stabilisation window
 * (scale down: the highest recommendation of the last 300 s; scale up: the lowest of its window, 0 s
 * by default), then the rate policies per direction (`Pods` or `Percent` per `periodSeconds`,
 * `selectPolicy` Max, Min or Disabled), then min/max.
 */

/** One rate policy: at most `value` replicas (`Pods`) or `value`% of the replicas at the period's start (`Percent`) per `periodSeconds`. */
export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

/** The rules of one direction (the HPA's `HPAScalingRules`). */
export interface ScalingRules {
  stabilizationWindowSeconds: number;
  /** `Max`: the policy allowing the largest change; `Min`: the smallest; `Disabled`: no scaling this way. */
  selectPolicy: 'Max' | 'Min' | 'Disabled';
  policies: ScalingPolicy[];
  /** No scaling while the usage ratio stays within this fraction of 1 in this direction. */
  tolerance: number;
}

/** The HPA's `behavior`: rules per direction. */
export interface Behavior {
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** The tolerance the HPA applies when none is set (`--horizontal-pod-autoscaler-tolerance`). */
export const DEFAULT_TOLERANCE = 0.1;

/**
 * The documented default behaviour: scale down with a 300 s window, 100% per 15 s; scale up at once,
 * the larger of 100% and 4 replicas per 15 s.
 */
export const DEFAULT_BEHAVIOR: Behavior = {
  scaleDown: {
    stabilizationWindowSeconds: 300,
    selectPolicy: 'Max',
    policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
    tolerance: DEFAULT_TOLERANCE,
  },
  scaleUp: {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Percent', value: 100, periodSeconds: 15 },
      { type: 'Pods', value: 4, periodSeconds: 15 },
    ],
    tolerance: DEFAULT_TOLERANCE,
  },
};

/** A behaviour as configured: any field may be left out and takes the documented default. */
export interface BehaviorInput {
  scaleUp?: Partial<ScalingRules>;
  scaleDown?: Partial<ScalingRules>;
}

/**
 * Merges a configured behaviour with the defaults, field by field, as the HPA does.
 * @example withDefaults({ scaleDown: { stabilizationWindowSeconds: 60 } }).scaleDown.policies // [{ type: 'Percent', value: 100, periodSeconds: 15 }]
 */
export function withDefaults(input: BehaviorInput = {}): Behavior {
  return {
    scaleUp: { ...DEFAULT_BEHAVIOR.scaleUp, ...input.scaleUp },
    scaleDown: { ...DEFAULT_BEHAVIOR.scaleDown, ...input.scaleDown },
  };
}

/** One replica's sample of a metric: `value` absent when its metric is missing; `ready` false while it is not yet ready. */
export interface ReplicaSample {
  value?: number;
  ready?: boolean;
}

/**
 * One metric as observed. `average`: `value` is the per-replica average (or give `replicas`, one
 * sample each) and `target` the desired average. `total`: `value` is the component's total (requests
 * per second, queue depth) and `target` the desired amount per replica (the HPA's external metric
 * with an `AverageValue` target).
 */
export interface MetricObservation {
  name: string;
  kind: 'average' | 'total';
  target: number;
  value?: number;
  replicas?: ReplicaSample[];
}

/** What one metric recommends, or why it cannot. */
export type MetricRecommendation =
  | { name: string; replicas: number; ratio: number; adjustedRatio?: number; reason: string }
  | { name: string; error: string };

const within = (ratio: number, rules: Pick<Behavior, 'scaleUp' | 'scaleDown'>) =>
  1 - rules.scaleDown.tolerance <= ratio && ratio <= 1 + rules.scaleUp.tolerance;
const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/**
 * The replica count one metric asks for (replica_calculator.go).
 * @example replicasForMetric(1, { name: 'cpu', kind: 'average', target: 100, value: 200 }, DEFAULT_BEHAVIOR) // { replicas: 2, ratio: 2, … }
 */
export function replicasForMetric(
  current: number,
  metric: MetricObservation,
  behavior: Pick<Behavior, 'scaleUp' | 'scaleDown'> = DEFAULT_BEHAVIOR,
): MetricRecommendation {
  const { name, target } = metric;
  if (!(target > 0) || !Number.isFinite(target)) return { name, error: 'the target must be a positive number' };
  if (metric.kind === 'total') {
    if (metric.value === undefined || !Number.isFinite(metric.value)) return { name, error: 'no value' };
    const ratio = metric.value / (target * current);
    if (within(ratio, behavior)) return { name, replicas: current, ratio, reason: 'within tolerance' };
    return { name, replicas: Math.ceil(metric.value / target), ratio, reason: 'total / target per replica' };
  }
  if (!metric.replicas) {
    if (metric.value === undefined || !Number.isFinite(metric.value)) return { name, error: 'no value' };
    const ratio = metric.value / target;
    if (within(ratio, behavior)) return { name, replicas: current, ratio, reason: 'within tolerance' };
    return { name, replicas: Math.ceil(ratio * current), ratio, reason: 'ceil(current × value / target)' };
  }
  const ready = metric.replicas
    .filter((sample) => sample.ready !== false && sample.value !== undefined)
    .map((sample) => sample.value as number);
  const unready = metric.replicas.filter((sample) => sample.ready === false).length;
  const missing = metric.replicas.filter((sample) => sample.ready !== false && sample.value === undefined).length;
  if (ready.length === 0) return { name, error: 'no ready replica reported the metric' };
  const ratio = mean(ready) / target;
  const scaleUpWithUnready = unready > 0 && ratio > 1;
  if (!scaleUpWithUnready && missing === 0) {
    if (within(ratio, behavior)) return { name, replicas: current, ratio, reason: 'within tolerance' };
    return { name, replicas: Math.ceil(ratio * ready.length), ratio, reason: 'ceil(ready replicas × average / target)' };
  }
  // Missing: 100% of the target on a scale down, 0% on a scale up; not ready: 0% on a scale up.
  const adjusted = [
    ...ready,
    ...Array<number>(missing).fill(ratio < 1 ? target : 0),
    ...(scaleUpWithUnready ? Array<number>(unready).fill(0) : []),
  ];
  const adjustedRatio = mean(adjusted) / target;
  if (within(adjustedRatio, behavior) || (ratio < 1 && adjustedRatio > 1) || (ratio > 1 && adjustedRatio < 1)) {
    return {
      name,
      replicas: current,
      ratio,
      adjustedRatio,
      reason: 'missing or unready replicas: within tolerance or the direction reverses',
    };
  }
  const replicas = Math.ceil(adjustedRatio * adjusted.length);
  if ((adjustedRatio < 1 && replicas > current) || (adjustedRatio > 1 && replicas < current)) {
    return { name, replicas: current, ratio, adjustedRatio, reason: 'missing or unready replicas: the count would move against the ratio' };
  }
  return {
    name,
    replicas,
    ratio,
    adjustedRatio,
    reason: `recomputed with ${missing} missing and ${scaleUpWithUnready ? unready : 0} unready replicas`,
  };
}

/**
 * The count several metrics ask for: the largest; when one cannot be computed, a scale down is
 * skipped (the current count stands) but a scale up goes ahead. `undefined` when none can be computed.
 */
export function replicasForMetrics(
  current: number,
  metrics: readonly MetricObservation[],
  behavior: Pick<Behavior, 'scaleUp' | 'scaleDown'> = DEFAULT_BEHAVIOR,
): { replicas: number | undefined; perMetric: MetricRecommendation[]; reason: string } {
  const perMetric = metrics.map((metric) => replicasForMetric(current, metric, behavior));
  const valid = perMetric.filter((entry): entry is Extract<MetricRecommendation, { replicas: number }> => 'replicas' in entry);
  if (valid.length === 0) return { replicas: undefined, perMetric, reason: 'no metric could be computed' };
  const best = valid.reduce((a, b) => (b.replicas > a.replicas ? b : a));
  if (valid.length < perMetric.length && best.replicas < current)
    return { replicas: current, perMetric, reason: 'a metric is missing and the others suggest a scale down: skipped' };
  return { replicas: best.replicas, perMetric, reason: `${best.name}: ${best.reason}` };
}

/** A recommendation the autoscaler made (before stabilisation), at `at` (ms since the epoch). */
export interface Recommendation {
  at: number;
  replicas: number;
}

/** A scale the autoscaler carried out: `change` replicas (+ up, − down) at `at` (ms). */
export interface ScaleEvent {
  at: number;
  change: number;
}

/**
 * The stabilised recommendation (horizontal.go `stabilizeRecommendationWithBehaviors`): the lowest
 * recommendation within the scale-up window bounds a scale up, the highest within the scale-down
 * window bounds a scale down (both windows include the new recommendation).
 */
export function stabilize(current: number, desired: number, history: readonly Recommendation[], behavior: Behavior, now: number): number {
  let up = desired;
  let down = desired;
  const upCutoff = now - behavior.scaleUp.stabilizationWindowSeconds * 1000;
  const downCutoff = now - behavior.scaleDown.stabilizationWindowSeconds * 1000;
  for (const entry of history) {
    if (entry.at > upCutoff) up = Math.min(up, entry.replicas);
    if (entry.at > downCutoff) down = Math.max(down, entry.replicas);
  }
  let recommendation = current;
  if (recommendation < up) recommendation = up;
  if (recommendation > down) recommendation = down;
  return recommendation;
}

const changeSince = (events: readonly ScaleEvent[], now: number, periodSeconds: number) =>
  events.filter((event) => event.at > now - periodSeconds * 1000).reduce((sum, event) => sum + Math.abs(event.change), 0);

function periodStart(current: number, events: readonly ScaleEvent[], now: number, periodSeconds: number): number {
  const added = changeSince(
    events.filter((event) => event.change > 0),
    now,
    periodSeconds,
  );
  const removed = changeSince(
    events.filter((event) => event.change < 0),
    now,
    periodSeconds,
  );
  return current - added + removed;
}

/**
 * The most replicas the scale-up policies allow now (`calculateScaleUpLimitWithScalingRules`):
 * per policy, the count at the start of its period plus `value` (Pods) or × (1 + value%) rounded up
 * (Percent); `Max` takes the largest, `Min` the smallest, `Disabled` keeps the current count.
 */
export function scaleUpLimit(current: number, events: readonly ScaleEvent[], rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled' || rules.policies.length === 0) return current;
  const proposals = rules.policies.map((policy) => {
    const start = periodStart(current, events, now, policy.periodSeconds);
    return policy.type === 'Pods' ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
  });
  return rules.selectPolicy === 'Max' ? Math.max(...proposals) : Math.min(...proposals);
}

/**
 * The fewest replicas the scale-down policies allow now (`calculateScaleDownLimitWithBehaviors`):
 * per policy, the count at the start of its period minus `value` (Pods) or × (1 − value%) rounded
 * down (Percent); `Max` (the largest change) takes the smallest count, `Min` the largest.
 */
export function scaleDownLimit(current: number, events: readonly ScaleEvent[], rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled' || rules.policies.length === 0) return current;
  const proposals = rules.policies.map((policy) => {
    const start = periodStart(current, events, now, policy.periodSeconds);
    return policy.type === 'Pods' ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
  });
  return rules.selectPolicy === 'Max' ? Math.min(...proposals) : Math.max(...proposals);
}

/** The desired count within the rate policies and min/max (`convertDesiredReplicasWithBehaviorRate`), and what bounded it. */
export function limitRate(
  current: number,
  desired: number,
  bounds: { min: number; max: number },
  behavior: Behavior,
  events: readonly ScaleEvent[],
  now: number,
): { replicas: number; limitedBy?: 'scale-up policy' | 'scale-down policy' | 'max' | 'min' } {
  if (desired > current) {
    const limit = Math.max(current, scaleUpLimit(current, events, behavior.scaleUp, now));
    const allowed = Math.min(bounds.max, limit);
    if (desired > allowed) return { replicas: allowed, limitedBy: limit < bounds.max ? 'scale-up policy' : 'max' };
  } else if (desired < current) {
    const limit = Math.min(current, scaleDownLimit(current, events, behavior.scaleDown, now));
    const allowed = Math.max(bounds.min, limit);
    if (desired < allowed) return { replicas: allowed, limitedBy: limit > bounds.min ? 'scale-down policy' : 'min' };
  }
  return { replicas: desired };
}

/** What one evaluation of the autoscaler needs. */
export interface HpaInput {
  current: number;
  min: number;
  max: number;
  metrics: readonly MetricObservation[];
  behavior: Behavior;
  /** Earlier recommendations (pruned to the longer window on return). */
  recommendations: readonly Recommendation[];
  /** Earlier scale events (pruned to the longest policy period on return). */
  events: readonly ScaleEvent[];
  /** Now, in ms since the epoch. */
  now: number;
  /** Further lower bound from outside the metrics (predictive capacity, redundancy): applied before stabilisation, as a metric would be. */
  floor?: number;
}

/** One evaluation's outcome. */
export interface HpaDecision {
  current: number;
  /** What the metrics ask for, before stabilisation and policies (what is recorded). */
  recommended: number;
  /** After the stabilisation window. */
  stabilized: number;
  /** After the rate policies and min/max: the count to set. */
  desired: number;
  limitedBy?: string;
  reason: string;
  perMetric: MetricRecommendation[];
  recommendations: Recommendation[];
  events: ScaleEvent[];
}

/**
 * One evaluation: metrics → recommendation → stabilisation → rate policies → min/max. A current
 * count outside min/max is brought within them at once (as the HPA does); a count of 0 with min > 0
 * is left alone (scaling inactive). The new recommendation is added to the returned history; a scale
 * event is added when `desired` differs from `current` (the caller acts on it).
 * @example
 * const d = evaluate({ current: 1, min: 1, max: 10, metrics: [{ name: 'cpu', kind: 'average', target: 100, value: 200 }], behavior: DEFAULT_BEHAVIOR, recommendations: [], events: [], now: Date.now() });
 * d.desired // 2
 */
export function evaluate(input: HpaInput): HpaDecision {
  const { current, min, max, behavior, now } = input;
  const keepFor = Math.max(behavior.scaleUp.stabilizationWindowSeconds, behavior.scaleDown.stabilizationWindowSeconds) * 1000;
  const longest =
    Math.max(0, ...behavior.scaleUp.policies.map((p) => p.periodSeconds), ...behavior.scaleDown.policies.map((p) => p.periodSeconds)) *
    1000;
  const recent = input.recommendations.filter((entry) => entry.at > now - keepFor);
  const base = { current, perMetric: [] as MetricRecommendation[] };
  const finish = (decision: Omit<HpaDecision, 'recommendations' | 'events'>, recommendations: Recommendation[]): HpaDecision => {
    const events = input.events.filter((event) => event.at > now - longest);
    if (decision.desired !== current) events.push({ at: now, change: decision.desired - current });
    return { ...decision, recommendations, events };
  };
  if (current === 0 && min > 0)
    return finish(
      { ...base, recommended: 0, stabilized: 0, desired: 0, reason: 'current count is 0: scaling inactive until it is set again' },
      recent,
    );
  if (current > max)
    return finish(
      { ...base, recommended: max, stabilized: max, desired: max, limitedBy: 'max', reason: `current ${current} above max ${max}` },
      recent,
    );
  if (current < min)
    return finish(
      { ...base, recommended: min, stabilized: min, desired: min, limitedBy: 'min', reason: `current ${current} below min ${min}` },
      recent,
    );
  const fromMetrics = replicasForMetrics(current, input.metrics, behavior);
  if (fromMetrics.replicas === undefined && input.floor === undefined) {
    return finish(
      {
        ...base,
        perMetric: fromMetrics.perMetric,
        recommended: current,
        stabilized: current,
        desired: current,
        reason: fromMetrics.reason,
      },
      recent,
    );
  }
  const metricCount = fromMetrics.replicas ?? current;
  const recommended = input.floor !== undefined && input.floor > metricCount ? input.floor : metricCount;
  const reason = recommended === metricCount ? fromMetrics.reason : `floor ${input.floor} above the metrics' ${metricCount}`;
  const stabilized = stabilize(current, recommended, recent, behavior, now);
  const limited = limitRate(current, stabilized, { min, max }, behavior, input.events, now);
  return finish(
    {
      current,
      perMetric: fromMetrics.perMetric,
      recommended,
      stabilized,
      desired: limited.replicas,
      ...(limited.limitedBy ? { limitedBy: limited.limitedBy } : {}),
      reason,
    },
    [...recent, { at: now, replicas: recommended }],
  );
}
