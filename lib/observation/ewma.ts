/**
 * `ewma`: exponentially weighted mean/variance control chart. During warm-up the mean and variance
 * are the plain running ones (Welford); afterwards they are exponentially weighted with `lambda`
 * (effective memory ≈ 2/λ − 1 points). score = |x − mean| / sd. Values beyond `clip` sd update the
 * chart as if they sat at the clip limit, so one spike does not inflate the variance for long.
 * State: O(1) numbers.
 */
import {
  type Detector,
  type DetectorStateBase,
  type DetectorUpdate,
  directedScore,
  emptyStats,
  type ObservedPoint,
  parseConfig,
  scaleFloor,
  skippedEvidence,
  skipReason,
  statsAfterAccept,
  statsAfterSkip,
} from './detector-contract.ts';
import { type EwmaConfig, ewmaConfigSchema } from './schemas.ts';

/** State of the `ewma` detector. */
export interface EwmaState extends DetectorStateBase<'ewma', EwmaConfig> {
  n: number;
  mean: number;
  variance: number;
}

function update(state: EwmaState, point: ObservedPoint): DetectorUpdate<EwmaState> {
  const { config } = state;
  const reason = skipReason(state.stats, point);
  if (reason) {
    return {
      state: { ...state, version: state.version + 1, stats: statsAfterSkip(state.stats, reason) },
      score: 0,
      anomaly: false,
      evidence: skippedEvidence('ewma', config, state.n, config.threshold, reason),
    };
  }
  const warmingUp = state.n < config.warmup;
  const sd = Math.sqrt(state.variance);
  const floor = scaleFloor(state.mean, config.minScale);
  const scale = Math.max(sd, floor);
  const deviation = point.value - state.mean;
  const score = state.n >= 2 ? directedScore(deviation, scale, config.direction) : 0;
  const anomaly = !warmingUp && score > config.threshold;

  let mean: number;
  let variance: number;
  if (warmingUp) {
    const n = state.n + 1;
    const delta = point.value - state.mean;
    mean = state.mean + delta / n;
    // Population variance during warm-up; it becomes the EW variance's starting value.
    variance = (state.variance * state.n + delta * (point.value - mean)) / n;
  } else {
    const limit = config.clip * scale;
    const clipped = state.mean + Math.min(limit, Math.max(-limit, deviation));
    const diff = clipped - state.mean;
    mean = state.mean + config.lambda * diff;
    variance = (1 - config.lambda) * (state.variance + config.lambda * diff * diff);
  }
  return {
    state: {
      ...state,
      version: state.version + 1,
      n: state.n + 1,
      mean,
      variance,
      stats: statsAfterAccept(state.stats, point, !warmingUp, anomaly),
    },
    score,
    anomaly,
    evidence: {
      detector: 'ewma',
      config,
      n: state.n,
      expected: state.n > 0 ? state.mean : null,
      mean: state.mean,
      sd,
      scale,
      scaleSource: scale === sd ? 'sd' : 'floor',
      deviation: state.n > 0 ? deviation : null,
      threshold: config.threshold,
      lower: state.mean - config.threshold * scale,
      upper: state.mean + config.threshold * scale,
      warmingUp,
    },
  };
}

/**
 * The `ewma` detector (EW mean/variance control chart).
 * @example
 * const state = ewmaDetector.init({ lambda: 0.1 });
 * const { anomaly } = ewmaDetector.update(state, { timestamp: 0, value: 1 });
 */
export const ewmaDetector: Detector<'ewma', EwmaConfig, EwmaState> = {
  name: 'ewma',
  defaults: ewmaConfigSchema.parse({}),
  configSchema: ewmaConfigSchema,
  init(config) {
    return { detector: 'ewma', version: 0, config: parseConfig(ewmaConfigSchema, config), stats: emptyStats(), n: 0, mean: 0, variance: 0 };
  },
  update,
};
