/**
 * The streaming detector contract shared by every detector, plus the bookkeeping they all do the
 * same way: the ordering policy, the running series statistics and the version counter.
 *
 * Ordering policy (one for all detectors): a point whose timestamp is older than the last accepted
 * one is ignored and counted in `stats.outOfOrder`; a point with exactly the last accepted timestamp
 * is ignored and counted in `stats.duplicates` (the first value wins — a redelivered SQS message
 * must not move the window twice). Ignored points still bump `version`, because the counters changed.
 */
import type { z } from 'zod';
import type { DetectorSettings } from '../../events/observation.ts';
import { ValidationError } from '../errors.ts';
import type { Direction } from './schemas.ts';

/** The part of a metric point a detector reads. */
export interface ObservedPoint {
  /** Epoch milliseconds. */
  timestamp: number;
  value: number;
}

/** Running statistics every detector state carries; O(1) size whatever the series length. */
export interface SeriesStats {
  /** Points accepted (ignored out-of-order and duplicate points excluded). */
  count: number;
  /** Welford running mean and sum of squared deviations over all accepted points. */
  mean: number;
  m2: number;
  min: number | null;
  max: number | null;
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  lastValue: number | null;
  /** Accepted points flagged anomalous. */
  anomalies: number;
  /** Points scored after warm-up (the denominator of the anomaly rate). */
  scored: number;
  outOfOrder: number;
  duplicates: number;
  /** Epoch ms of the last anomalous point, if any. */
  lastAnomalyTimestamp: number | null;
}

/** Fields every detector state has. States are plain JSON data (no classes, no `undefined`). */
export interface DetectorStateBase<Name extends string, Config> {
  detector: Name;
  /** Incremented on every update: the lead's optimistic-concurrency token for the stored item. */
  version: number;
  config: Config;
  stats: SeriesStats;
}

/** Why a point was not scored. */
export type SkipReason = 'out-of-order' | 'duplicate';

/** What a detector shows for its decision: enough to explain an alarm without the state. */
export interface Evidence {
  detector: string;
  /** The detector's settings (numbers, `direction`): what `observation.*` events carry as `config`. */
  config: DetectorSettings;
  /** Values the statistics were computed from (window length, or points seen for recursive detectors). */
  n: number;
  /** The value expected at this point (median, EWMA mean, or seasonal one-step forecast). */
  expected: number | null;
  median?: number;
  mad?: number;
  mean?: number;
  sd?: number;
  /** The divisor of the score after the zero-spread guard. */
  scale: number | null;
  /** Where `scale` came from: the spread itself, a fallback, or the floor. */
  scaleSource?: 'mad' | 'mean-abs-dev' | 'sd' | 'tau-scale' | 'floor';
  /** Signed distance `value − expected`. */
  deviation: number | null;
  threshold: number;
  /** Band outside which a value is anomalous (`expected ± threshold·scale`). */
  lower: number | null;
  upper: number | null;
  warmingUp: boolean;
  /** Seasonal phase used, for seasonal detectors. */
  phase?: number;
  skipped?: SkipReason;
}

/** The result of one update: the new state (the input is never mutated) and the decision. */
export interface DetectorUpdate<State> {
  state: State;
  /** Non-negative; 0 while warming up or when the point was skipped. */
  score: number;
  anomaly: boolean;
  evidence: Evidence;
}

/**
 * A streaming anomaly detector with bounded, JSON-serialisable state.
 * `update` is pure: same state and point, same result.
 */
export interface Detector<Name extends string, Config, State extends DetectorStateBase<Name, Config>> {
  readonly name: Name;
  /** The full default configuration. */
  readonly defaults: Config;
  readonly configSchema: z.ZodType<Config>;
  /**
   * A fresh state for a series; `config` is merged over `defaults` and validated.
   * @throws {ValidationError} when the configuration is invalid (paths prefixed with `config.`).
   */
  init(config?: Partial<Config> | Record<string, unknown>): State;
  update(state: State, point: ObservedPoint): DetectorUpdate<State>;
}

/** Empty running statistics. */
export function emptyStats(): SeriesStats {
  return {
    count: 0,
    mean: 0,
    m2: 0,
    min: null,
    max: null,
    firstTimestamp: null,
    lastTimestamp: null,
    lastValue: null,
    anomalies: 0,
    scored: 0,
    outOfOrder: 0,
    duplicates: 0,
    lastAnomalyTimestamp: null,
  };
}

/**
 * Applies the ordering policy. Returns the reason to skip, or `null` when the point is newer than
 * every accepted one.
 */
export function skipReason(stats: SeriesStats, point: ObservedPoint): SkipReason | null {
  if (stats.lastTimestamp === null) return null;
  if (point.timestamp < stats.lastTimestamp) return 'out-of-order';
  if (point.timestamp === stats.lastTimestamp) return 'duplicate';
  return null;
}

/** Stats after counting a skipped point. */
export function statsAfterSkip(stats: SeriesStats, reason: SkipReason): SeriesStats {
  return reason === 'out-of-order' ? { ...stats, outOfOrder: stats.outOfOrder + 1 } : { ...stats, duplicates: stats.duplicates + 1 };
}

/** Stats after accepting a point (Welford update, so the mean stays exact over millions of points). */
export function statsAfterAccept(stats: SeriesStats, point: ObservedPoint, scored: boolean, anomaly: boolean): SeriesStats {
  const count = stats.count + 1;
  const delta = point.value - stats.mean;
  const mean = stats.mean + delta / count;
  return {
    ...stats,
    count,
    mean,
    m2: stats.m2 + delta * (point.value - mean),
    min: stats.min === null ? point.value : Math.min(stats.min, point.value),
    max: stats.max === null ? point.value : Math.max(stats.max, point.value),
    firstTimestamp: stats.firstTimestamp ?? point.timestamp,
    lastTimestamp: point.timestamp,
    lastValue: point.value,
    anomalies: stats.anomalies + (anomaly ? 1 : 0),
    scored: stats.scored + (scored ? 1 : 0),
    lastAnomalyTimestamp: anomaly ? point.timestamp : stats.lastAnomalyTimestamp,
  };
}

/** The score of a signed deviation under a direction: only the watched side counts. */
export function directedScore(deviation: number, scale: number, direction: Direction): number {
  const watched = direction === 'up' ? Math.max(0, deviation) : direction === 'down' ? Math.max(0, -deviation) : Math.abs(deviation);
  return watched / scale;
}

/**
 * The smallest scale a detector divides by. A perfectly flat window has zero spread; dividing by a
 * tiny relative floor keeps the score finite while still flagging any departure from the flat line.
 */
export function scaleFloor(center: number, minScale: number): number {
  return Math.max(minScale, 1e-9 * Math.max(1, Math.abs(center)));
}

/**
 * Parses a detector configuration, turning zod issues into a {@link ValidationError}.
 * @throws {ValidationError} naming each bad field as `config.<field>`.
 */
export function parseConfig<Config>(schema: z.ZodType<Config>, config: unknown): Config {
  const parsed = schema.safeParse(config ?? {});
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    parsed.error.issues.map((issue) => ({ path: ['config', ...issue.path.map(String)].join('.'), message: issue.message })),
  );
}

/** The evidence of a skipped point. */
export function skippedEvidence(
  detector: string,
  config: DetectorSettings,
  n: number,
  threshold: number,
  reason: SkipReason,
): Evidence {
  return {
    detector,
    config,
    n,
    expected: null,
    scale: null,
    deviation: null,
    threshold,
    lower: null,
    upper: null,
    warmingUp: false,
    skipped: reason,
  };
}
