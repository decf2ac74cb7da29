/**
 * `robust`: rolling median/MAD detector. Each point is scored against the window of the previous
 * `windowSize` accepted values, then enters the window (so a lasting level shift is absorbed after
 * about half a window, while isolated spikes barely move the median).
 *
 * score = |x − median| / scale, scale = 1.4826·MAD (consistent with σ for normal data); when the
 * MAD is 0 (more than half the window shares one value) the scale falls back to 1.2533·mean
 * absolute deviation, then to a tiny floor, so the score stays finite.
 * State: a ring buffer (arrival order, for eviction) and its sorted copy (for order statistics):
 * 2·windowSize numbers at most, independent of series length.
 */
import {
  type Detector,
  type DetectorStateBase,
  type DetectorUpdate,
  directedScore,
  type Evidence,
  emptyStats,
  type ObservedPoint,
  parseConfig,
  scaleFloor,
  skippedEvidence,
  skipReason,
  statsAfterAccept,
  statsAfterSkip,
} from './detector-contract.ts';
import { type RobustConfig, robustConfigSchema } from './schemas.ts';
import { insertSorted, madSorted, medianSorted, removeSorted } from './window.ts';

/** State of the `robust` detector. */
export interface RobustState extends DetectorStateBase<'robust', RobustConfig> {
  /** Ring buffer of the last `windowSize` values; `head` is the oldest once full. */
  ring: number[];
  head: number;
  /** The same values, ascending. */
  sorted: number[];
}

/** Median, MAD and the guarded scale of a sorted window. */
export function robustScale(
  sorted: readonly number[],
  minScale: number,
): { median: number; mad: number; scale: number; source: 'mad' | 'mean-abs-dev' | 'floor' } {
  const center = medianSorted(sorted);
  const mad = madSorted(sorted, center);
  const floor = scaleFloor(center, minScale);
  const madScale = 1.4826 * mad;
  if (madScale > floor) return { median: center, mad, scale: madScale, source: 'mad' };
  let absSum = 0;
  for (const value of sorted) absSum += Math.abs(value - center);
  const meanAbsScale = (1.2533 * absSum) / sorted.length;
  if (meanAbsScale > floor) return { median: center, mad, scale: meanAbsScale, source: 'mean-abs-dev' };
  return { median: center, mad, scale: floor, source: 'floor' };
}

function update(state: RobustState, point: ObservedPoint): DetectorUpdate<RobustState> {
  const { config } = state;
  const n = state.sorted.length;
  const reason = skipReason(state.stats, point);
  if (reason) {
    return {
      state: { ...state, version: state.version + 1, stats: statsAfterSkip(state.stats, reason) },
      score: 0,
      anomaly: false,
      evidence: skippedEvidence('robust', config, n, config.threshold, reason),
    };
  }
  const warmingUp = n < config.warmup;
  let score = 0;
  let evidence: Evidence;
  if (n >= 2) {
    const { median, mad, scale, source } = robustScale(state.sorted, config.minScale);
    const deviation = point.value - median;
    score = directedScore(deviation, scale, config.direction);
    evidence = {
      detector: 'robust',
      config,
      n,
      expected: median,
      median,
      mad,
      scale,
      scaleSource: source,
      deviation,
      threshold: config.threshold,
      lower: median - config.threshold * scale,
      upper: median + config.threshold * scale,
      warmingUp,
    };
  } else {
    evidence = {
      detector: 'robust',
      config,
      n,
      expected: null,
      scale: null,
      deviation: null,
      threshold: config.threshold,
      lower: null,
      upper: null,
      warmingUp,
    };
  }
  const anomaly = !warmingUp && score > config.threshold;

  const ring = state.ring.slice();
  const sorted = state.sorted.slice();
  let head = state.head;
  if (ring.length < config.windowSize) {
    ring.push(point.value);
  } else {
    removeSorted(sorted, ring[head] as number);
    ring[head] = point.value;
    head = (head + 1) % config.windowSize;
  }
  insertSorted(sorted, point.value);
  return {
    state: {
      ...state,
      version: state.version + 1,
      ring,
      head,
      sorted,
      stats: statsAfterAccept(state.stats, point, !warmingUp, anomaly),
    },
    score,
    anomaly,
    evidence,
  };
}

/**
 * The `robust` detector (rolling median/MAD with warm-up).
 * @example
 * let state = robustDetector.init({ threshold: 5 });
 * const result = robustDetector.update(state, { timestamp: Date.now(), value: 42 });
 * state = result.state; // store with a condition on the previous state.version
 */
export const robustDetector: Detector<'robust', RobustConfig, RobustState> = {
  name: 'robust',
  defaults: robustConfigSchema.parse({}),
  configSchema: robustConfigSchema,
  init(config) {
    return {
      detector: 'robust',
      version: 0,
      config: parseConfig(robustConfigSchema, config),
      stats: emptyStats(),
      ring: [],
      head: 0,
      sorted: [],
    };
  },
  update,
};
