/**
 * Per-series trend and behaviour summary, computed from a detector state and, optionally, a recent
 * window of points (the state alone has no timestamps per value, so a time-based slope needs the
 * window). Pure and O(w²) in the window length for Theil-Sen; callers pass a bounded window.
 */
import type { ObservedPoint } from './detector-contract.ts';
import type { SeriesState } from './detector-registry.ts';
import { median } from './window.ts';

/** Largest recent window used for the slope (Theil-Sen is quadratic in it). */
export const MAX_SUMMARY_WINDOW = 512;

/** Direction of the recent trend. */
export type TrendDirection = 'rising' | 'falling' | 'flat' | 'unknown';

/** The summary of one series. */
export interface SeriesSummary {
  detector: string;
  version: number;
  count: number;
  lastValue: number | null;
  /** ISO 8601 of the last accepted point. */
  lastTime: string | null;
  firstTime: string | null;
  mean: number | null;
  /** Sample standard deviation over all accepted points. */
  sd: number | null;
  min: number | null;
  max: number | null;
  /** Median of the recent window, else of the robust detector's window, else null. */
  median: number | null;
  /** Theil-Sen slope in value units per hour over the recent window (null without timestamps). */
  slopePerHour: number | null;
  /** Theil-Sen slope per point over the values at hand (recent window or robust window). */
  slopePerPoint: number | null;
  trend: TrendDirection;
  /** Anomalies / points scored after warm-up (0 when nothing was scored yet). */
  anomalyRate: number;
  anomalies: number;
  lastAnomalyTime: string | null;
  ignored: { outOfOrder: number; duplicates: number };
  warmingUp: boolean;
  /** Seasonal shape when the detector models one. */
  seasonality: { seasonLength: number; amplitude: number; peakPhase: number; troughPhase: number; residualScale: number } | null;
}

/** Theil-Sen slope: median of pairwise slopes (robust to up to ~29% outliers). */
export function theilSen(xs: readonly number[], ys: readonly number[]): number | null {
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i += 1) {
    for (let j = i + 1; j < xs.length; j += 1) {
      const dx = (xs[j] as number) - (xs[i] as number);
      if (dx !== 0) slopes.push(((ys[j] as number) - (ys[i] as number)) / dx);
    }
  }
  return slopes.length === 0 ? null : median(slopes);
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Values in arrival order from a `robust` or `knn` state's ring buffer. */
function ringValues(state: SeriesState): number[] | null {
  if (state.detector !== 'robust' && state.detector !== 'knn') return null;
  return [...state.ring.slice(state.head), ...state.ring.slice(0, state.head)];
}

function isWarmingUp(state: SeriesState): boolean {
  switch (state.detector) {
    case 'robust':
      return state.sorted.length < state.config.warmup;
    case 'seasonal':
      return state.warmup !== null;
    case 'ewma':
    case 'knn':
      return state.n < state.config.warmup;
  }
}

/**
 * Summarises a series.
 *
 * Constraints: `recent` should be sorted by time; only its last {@link MAX_SUMMARY_WINDOW} points
 * are used. The trend is `flat` when the fitted change over the window is under one robust scale
 * (1.4826·MAD of the window), `unknown` with fewer than 3 values.
 * @example
 * const summary = summariseSeries(state, lastHourOfPoints);
 * // { count, lastValue, median, slopePerHour, trend: 'rising', anomalyRate: 0.01, … }
 */
export function summariseSeries(state: SeriesState, recent: readonly ObservedPoint[] = []): SeriesSummary {
  const { stats } = state;
  const window = recent.slice(-MAX_SUMMARY_WINDOW);
  const values = window.length > 0 ? window.map((p) => p.value) : (ringValues(state) ?? []);
  const indexes = values.map((_, i) => i);
  const slopePerPoint = values.length >= 2 ? theilSen(indexes, values) : null;
  const slopePerMs =
    window.length >= 2
      ? theilSen(
          window.map((p) => p.timestamp),
          values,
        )
      : null;
  const center = values.length > 0 ? median(values) : null;

  let trend: TrendDirection = 'unknown';
  if (values.length >= 3 && slopePerPoint !== null && center !== null) {
    const mad = median(values.map((v) => Math.abs(v - center)));
    const change = slopePerPoint * (values.length - 1);
    const scale = Math.max(1.4826 * mad, 1e-12);
    trend = Math.abs(change) < scale ? 'flat' : change > 0 ? 'rising' : 'falling';
  }

  let seasonality: SeriesSummary['seasonality'] = null;
  if (state.detector === 'seasonal' && state.warmup === null) {
    let peakPhase = 0;
    let troughPhase = 0;
    state.season.forEach((value, phase) => {
      if (value > (state.season[peakPhase] as number)) peakPhase = phase;
      if (value < (state.season[troughPhase] as number)) troughPhase = phase;
    });
    seasonality = {
      seasonLength: state.config.seasonLength,
      amplitude: (state.season[peakPhase] as number) - (state.season[troughPhase] as number),
      peakPhase,
      troughPhase,
      residualScale: state.sigma,
    };
  }

  return {
    detector: state.detector,
    version: state.version,
    count: stats.count,
    lastValue: stats.lastValue,
    lastTime: iso(stats.lastTimestamp),
    firstTime: iso(stats.firstTimestamp),
    mean: stats.count > 0 ? stats.mean : null,
    sd: stats.count > 1 ? Math.sqrt(stats.m2 / (stats.count - 1)) : null,
    min: stats.min,
    max: stats.max,
    median: center,
    slopePerHour: slopePerMs === null ? null : slopePerMs * 3_600_000,
    slopePerPoint,
    trend,
    anomalyRate: stats.scored > 0 ? stats.anomalies / stats.scored : 0,
    anomalies: stats.anomalies,
    lastAnomalyTime: iso(stats.lastAnomalyTimestamp),
    ignored: { outOfOrder: stats.outOfOrder, duplicates: stats.duplicates },
    warmingUp: isWarmingUp(state),
    seasonality,
  };
}
