/**
 * `seasonal`: robust additive Holt-Winters detector. Each point is compared with the one-step-ahead
 * forecast `level + trend + season[phase]`; the score is |residual| / σ̂, where σ̂ follows the
 * τ-scale recursion of Gelper, Fried & Croux (2010, "Robust forecasting with exponential and
 * Holt-Winters smoothing", J. Forecasting 29) with the biweight ρ (k = 2, c = 2.52):
 *   σ̂²ₜ = λ·ρ(rₜ/σ̂ₜ₋₁)·σ̂²ₜ₋₁ + (1 − λ)·σ̂²ₜ₋₁.
 * Before updating level/trend/season the residual is clipped at ±huberK·σ̂ (Huber ψ), so an
 * anomaly does not teach the model to expect the next one.
 *
 * Warm-up: the first `warmupSeasons·seasonLength` points (≥ 2 seasons, default 3) are buffered and
 * produce no alarms; they initialise level, season (per-phase median minus their mean) and σ̂
 * (1.4826·MAD/√2 of the season-over-season differences). After warm-up the state holds `seasonLength + O(1)`
 * numbers, independent of series length.
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
import { type SeasonalConfig, seasonalConfigSchema } from './schemas.ts';
import { median } from './window.ts';

/** Biweight ρ constants: with k = 2, c = 2.52 makes E[ρ(Z)] = 1 for standard normal Z. */
const BIWEIGHT_K = 2;
const BIWEIGHT_C = 2.52;

/** State of the `seasonal` detector. */
export interface SeasonalState extends DetectorStateBase<'seasonal', SeasonalConfig> {
  /** Accepted points so far (the phase when `intervalMs` is not configured). */
  index: number;
  /** Warm-up buffer of [phase, value] pairs; `null` once the model is initialised. */
  warmup: [number, number][] | null;
  level: number;
  trend: number;
  /** Additive seasonal component per phase 0..m−1. */
  season: number[];
  /** Robust residual scale σ̂. */
  sigma: number;
}

/** Biweight ρ, scaled so that its expectation under N(0,1) is 1. */
function biweightRho(x: number): number {
  if (Math.abs(x) >= BIWEIGHT_K) return BIWEIGHT_C;
  const u = (x / BIWEIGHT_K) ** 2;
  return BIWEIGHT_C * (1 - (1 - u) ** 3);
}

function phaseOf(state: SeasonalState, point: ObservedPoint): number {
  const m = state.config.seasonLength;
  if (state.config.intervalMs === undefined) return state.index % m;
  const slot = Math.floor(point.timestamp / state.config.intervalMs);
  return ((slot % m) + m) % m;
}

/**
 * Level, trend, season and σ̂ from the warm-up buffer. The seasonal profile is the per-phase
 * median (not mean), so one anomalous day inside the warm-up does not become part of the "normal"
 * shape — with clipped updates afterwards, a poisoned phase would take many seasons to heal.
 */
function initialise(config: SeasonalConfig, buffer: [number, number][]): Pick<SeasonalState, 'level' | 'trend' | 'season' | 'sigma'> {
  const m = config.seasonLength;
  const byPhase: number[][] = Array.from({ length: m }, () => []);
  for (const [phase, value] of buffer) (byPhase[phase] as number[]).push(value);
  const profile = byPhase.map((values) => (values.length > 0 ? median(values) : Number.NaN));
  const known = profile.filter((value) => !Number.isNaN(value));
  const mean = known.reduce((a, b) => a + b, 0) / known.length;
  const season = profile.map((value) => (Number.isNaN(value) ? 0 : value - mean));

  // Level = mean of the last season, deseasonalised: closest to where the series is now.
  const last = buffer.slice(-m);
  const level = last.reduce((sum, [phase, value]) => sum + value - (season[phase] as number), 0) / last.length;
  let trend = 0;
  if (config.beta > 0 && buffer.length >= 2 * m) {
    const first = buffer.slice(0, m);
    const firstLevel = first.reduce((sum, [phase, value]) => sum + value - (season[phase] as number), 0) / first.length;
    trend = (level - firstLevel) / (buffer.length - m);
  }
  // σ̂ from season-over-season differences (sd √2·σ): residuals about a per-phase median of only a
  // few values are partly exact zeros, which would shrink a MAD-based scale.
  const lastByPhase = new Map<number, number>();
  const differences: number[] = [];
  for (const [phase, value] of buffer) {
    const previous = lastByPhase.get(phase);
    if (previous !== undefined) differences.push(value - previous);
    lastByPhase.set(phase, value);
  }
  const center = median(differences);
  const mad = median(differences.map((d) => Math.abs(d - center)));
  const sigma = Math.max((1.4826 * mad) / Math.SQRT2, scaleFloor(level, config.minScale));
  return { level, trend, season, sigma };
}

function update(state: SeasonalState, point: ObservedPoint): DetectorUpdate<SeasonalState> {
  const { config } = state;
  const reason = skipReason(state.stats, point);
  if (reason) {
    return {
      state: { ...state, version: state.version + 1, stats: statsAfterSkip(state.stats, reason) },
      score: 0,
      anomaly: false,
      evidence: skippedEvidence('seasonal', config, state.index, config.threshold, reason),
    };
  }
  const phase = phaseOf(state, point);

  if (state.warmup !== null) {
    const buffer = [...state.warmup, [phase, point.value] as [number, number]];
    const done = buffer.length >= config.warmupSeasons * config.seasonLength;
    const next: SeasonalState = {
      ...state,
      version: state.version + 1,
      index: state.index + 1,
      warmup: done ? null : buffer,
      ...(done ? initialise(config, buffer) : {}),
      stats: statsAfterAccept(state.stats, point, false, false),
    };
    return {
      state: next,
      score: 0,
      anomaly: false,
      evidence: {
        detector: 'seasonal',
        config,
        n: state.index,
        expected: null,
        scale: null,
        deviation: null,
        threshold: config.threshold,
        lower: null,
        upper: null,
        warmingUp: true,
        phase,
      },
    };
  }

  const seasonal = state.season[phase] as number;
  const expected = state.level + state.trend + seasonal;
  const deviation = point.value - expected;
  const floor = scaleFloor(expected, config.minScale);
  const scale = Math.max(state.sigma, floor);
  const score = directedScore(deviation, scale, config.direction);
  const anomaly = score > config.threshold;

  const limit = config.huberK * scale;
  const cleaned = expected + Math.min(limit, Math.max(-limit, deviation));
  const level = config.alpha * (cleaned - seasonal) + (1 - config.alpha) * (state.level + state.trend);
  const trend = config.beta * (level - state.level) + (1 - config.beta) * state.trend;
  const season = state.season.slice();
  season[phase] = config.gamma * (cleaned - level) + (1 - config.gamma) * seasonal;
  const sigma = Math.sqrt(config.lambda * biweightRho(deviation / scale) * scale * scale + (1 - config.lambda) * scale * scale);

  return {
    state: {
      ...state,
      version: state.version + 1,
      index: state.index + 1,
      level,
      trend,
      season,
      sigma,
      stats: statsAfterAccept(state.stats, point, true, anomaly),
    },
    score,
    anomaly,
    evidence: {
      detector: 'seasonal',
      config,
      n: state.index,
      expected,
      mean: state.level,
      sd: state.sigma,
      scale,
      scaleSource: scale === state.sigma ? 'tau-scale' : 'floor',
      deviation,
      threshold: config.threshold,
      lower: expected - config.threshold * scale,
      upper: expected + config.threshold * scale,
      warmingUp: false,
      phase,
    },
  };
}

/**
 * The `seasonal` detector (robust additive Holt-Winters, warm-up of ≥ 2 seasons).
 * @example
 * let state = seasonalDetector.init({ seasonLength: 24, intervalMs: 3_600_000 });
 * for (const point of hourly) ({ state } = seasonalDetector.update(state, point));
 */
export const seasonalDetector: Detector<'seasonal', SeasonalConfig, SeasonalState> = {
  name: 'seasonal',
  defaults: seasonalConfigSchema.parse({}),
  configSchema: seasonalConfigSchema,
  init(config) {
    const parsed = parseConfig(seasonalConfigSchema, config);
    return {
      detector: 'seasonal',
      version: 0,
      config: parsed,
      stats: emptyStats(),
      index: 0,
      warmup: [],
      level: 0,
      trend: 0,
      season: new Array<number>(parsed.seasonLength).fill(0),
      sigma: 0,
    };
  },
  update,
};
