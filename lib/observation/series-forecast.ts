/**
 * Forecasts for a stored series: the ETS models of ets.ts fitted to the series' recent points
 * (at most 512), by name or chosen by AICc. Pure: points in, forecasts and fitted parameters out.
 *
 * Models (ETS notation error-trend-season, `d` = damped): `ANN` simple exponential smoothing,
 * `AAN` Holt linear, `AAdN` damped Holt, `AAA` Holt-Winters additive, `AAdA` damped additive,
 * `MAM` Holt-Winters multiplicative, `MAdM` damped multiplicative. `auto` fits every candidate the
 * data allows and keeps the lowest AICc (R forecast::ets's default criterion, computed as R does).
 *
 * The points are taken as equally spaced (ETS has no notion of time): gaps shorten the history the
 * model sees, and forecast times step by the series' sampling interval.
 */
import { ValidationError } from '../errors.ts';
import { type EtsModel, type EtsSpec, type FitOptions, fitEts, forecast, parameterCount } from './ets.ts';
import type { RecentPoint } from './ports.ts';

/** Model names accepted by {@link forecastPoints}. */
export const forecastModelNames = ['auto', 'ANN', 'AAN', 'AAdN', 'AAA', 'AAdA', 'MAM', 'MAdM'] as const;
/** A model name, or `auto`. */
export type ForecastModelName = (typeof forecastModelNames)[number];
/** A concrete model name. */
export type EtsModelName = Exclude<ForecastModelName, 'auto'>;

/** Largest forecast horizon, in steps. */
export const MAX_HORIZON = 500;
/** Fewest points a non-seasonal fit accepts. */
export const MIN_POINTS = 10;
/**
 * Optimiser effort per fit: fitEts's full default (4000 iterations × 8 restarts), about 0.5 s for a
 * seasonal model (m = 24) on 512 points on one core of the bench machine, so `auto` stays near 2 s.
 */
export const SERVICE_FIT_OPTIONS: FitOptions = {};

const SPECS: Record<EtsModelName, Omit<EtsSpec, 'seasonLength'>> = {
  ANN: { error: 'A', trend: 'N', season: 'N', damped: false },
  AAN: { error: 'A', trend: 'A', season: 'N', damped: false },
  AAdN: { error: 'A', trend: 'A', season: 'N', damped: true },
  AAA: { error: 'A', trend: 'A', season: 'A', damped: false },
  AAdA: { error: 'A', trend: 'A', season: 'A', damped: true },
  MAM: { error: 'M', trend: 'A', season: 'M', damped: false },
  MAdM: { error: 'M', trend: 'A', season: 'M', damped: true },
};
const AUTO_CANDIDATES: EtsModelName[] = ['ANN', 'AAN', 'AAdN', 'AAA', 'MAM', 'MAdM'];

/** What {@link forecastPoints} needs besides the points. */
export interface SeriesForecastOptions {
  horizon: number;
  model: ForecastModelName;
  /** Points per season; required by seasonal models (the seasonal detector's, when it has one). */
  seasonLength?: number;
  /** Sampling interval; when absent, the median spacing of the points. */
  intervalMs?: number;
  fit?: FitOptions;
}

/** One fitted candidate of an `auto` choice. */
export interface CandidateScore {
  model: EtsModelName;
  aicc: number | null;
  /** Why the candidate was not fitted, when it was not. */
  skipped?: string;
}

/** A forecast with the model that made it. */
export interface ForecastReport {
  model: EtsModelName;
  requestedModel: ForecastModelName;
  spec: EtsSpec;
  params: { alpha: number; beta: number | null; gamma: number | null; phi: number | null };
  /** Season length used; null for non-seasonal models. */
  seasonLength: number | null;
  /** Points the model was fitted to. */
  points: number;
  intervalMs: number;
  /** ISO time of the last point used. */
  lastTime: string;
  loglik: number;
  aicc: number;
  sigma2: number;
  forecasts: { step: number; time: string; value: number }[];
  /** Every candidate considered (only for `auto`). */
  candidates?: CandidateScore[];
}

/** Akaike's criterion corrected for small samples, as R forecast::ets computes it (σ² counted). */
export function aicc(model: EtsModel): number {
  const k = parameterCount(model.spec) + 1;
  const aic = -2 * model.loglik + 2 * k;
  return aic + (2 * k * (k + 1)) / (model.n - k - 1);
}

/** The ETS spec of a model name. */
export function specOf(model: EtsModelName, seasonLength: number | undefined): EtsSpec {
  const base = SPECS[model];
  return { ...base, seasonLength: base.season === 'N' ? 1 : (seasonLength ?? 0) };
}

/** Median spacing of the points in ms (at least 1). */
export function medianInterval(points: readonly RecentPoint[]): number {
  const gaps = points.slice(1).map(([t], i) => t - (points[i] as RecentPoint)[0]);
  if (gaps.length === 0) return 1;
  gaps.sort((a, b) => a - b);
  const mid = gaps.length >>> 1;
  const median = gaps.length % 2 === 1 ? (gaps[mid] as number) : ((gaps[mid - 1] as number) + (gaps[mid] as number)) / 2;
  return Math.max(1, Math.round(median));
}

/** Why `model` cannot be fitted to `values`, or undefined when it can. */
function unfit(model: EtsModelName, values: readonly number[], seasonLength: number | undefined): string | undefined {
  const spec = specOf(model, seasonLength);
  if (spec.season !== 'N') {
    if (seasonLength === undefined) return 'a seasonal model needs seasonLength';
    if (values.length < 3 * seasonLength)
      return `a seasonal model needs 3 seasons (${3 * seasonLength} points); the series has ${values.length}`;
  }
  if (values.length < MIN_POINTS) return `needs at least ${MIN_POINTS} points; the series has ${values.length}`;
  if (values.length <= parameterCount(spec) + 2)
    return `needs more than ${parameterCount(spec) + 2} points; the series has ${values.length}`;
  if ((spec.error === 'M' || spec.season === 'M') && values.some((value) => value <= 0))
    return 'a multiplicative model needs strictly positive values';
  return undefined;
}

function fitModel(model: EtsModelName, values: readonly number[], seasonLength: number | undefined, fit: FitOptions): EtsModel | string {
  const reason = unfit(model, values, seasonLength);
  if (reason) return reason;
  try {
    const fitted = fitEts(values, specOf(model, seasonLength), fit);
    return Number.isFinite(fitted.loglik) ? fitted : 'the fit did not converge';
  } catch (error) {
    return error instanceof RangeError ? error.message : 'the fit failed';
  }
}

/**
 * Fits `options.model` (or every candidate, for `auto`) to the points and forecasts `horizon` steps.
 *
 * Constraints: points sorted by time; 1 ≤ horizon ≤ {@link MAX_HORIZON}; seasonal models need
 * `seasonLength` and 3 seasons of points; multiplicative ones positive values.
 * @throws {ValidationError} when the model cannot be fitted to these points (path `model`, or
 *   `seasonLength`, or `series` for too few points), naming the reason.
 * @example
 * const report = forecastPoints(record.recent, { horizon: 24, model: 'AAA', seasonLength: 24 });
 * // report.forecasts[0] → { step: 1, time: '…', value: 131.2 }, report.params.alpha → 0.31
 */
export function forecastPoints(points: readonly RecentPoint[], options: SeriesForecastOptions): ForecastReport {
  if (!Number.isInteger(options.horizon) || options.horizon < 1 || options.horizon > MAX_HORIZON) {
    throw new ValidationError([{ path: 'horizon', message: `must be an integer from 1 to ${MAX_HORIZON}` }]);
  }
  const values = points.map(([, value]) => value);
  const fit = options.fit ?? SERVICE_FIT_OPTIONS;
  let chosen: { name: EtsModelName; model: EtsModel; score: number } | undefined;
  let candidates: CandidateScore[] | undefined;
  if (options.model === 'auto') {
    candidates = [];
    for (const name of AUTO_CANDIDATES) {
      const fitted = fitModel(name, values, options.seasonLength, fit);
      if (typeof fitted === 'string') {
        candidates.push({ model: name, aicc: null, skipped: fitted });
        continue;
      }
      const score = aicc(fitted);
      candidates.push({ model: name, aicc: Number.isFinite(score) ? score : null });
      if (Number.isFinite(score) && (chosen === undefined || score < chosen.score)) chosen = { name, model: fitted, score };
    }
    if (!chosen) {
      throw new ValidationError([
        { path: 'series', message: `no model fits: ${candidates.map((c) => `${c.model}: ${c.skipped ?? 'failed'}`).join('; ')}` },
      ]);
    }
  } else {
    const fitted = fitModel(options.model, values, options.seasonLength, fit);
    if (typeof fitted === 'string') {
      const path = fitted.includes('seasonLength') ? 'seasonLength' : fitted.includes('points') ? 'series' : 'model';
      throw new ValidationError([{ path, message: `${options.model}: ${fitted}` }]);
    }
    chosen = { name: options.model, model: fitted, score: aicc(fitted) };
  }
  const predicted = forecast(chosen.model, options.horizon);
  if (predicted.some((value) => !Number.isFinite(value))) {
    throw new ValidationError([
      { path: 'model', message: `${chosen.name} produced non-finite forecasts for this series; try another model` },
    ]);
  }
  const intervalMs = options.intervalMs ?? medianInterval(points);
  const last = (points.at(-1) as RecentPoint)[0];
  return {
    model: chosen.name,
    requestedModel: options.model,
    spec: chosen.model.spec,
    params: chosen.model.params,
    seasonLength: chosen.model.spec.season === 'N' ? null : chosen.model.spec.seasonLength,
    points: values.length,
    intervalMs,
    lastTime: new Date(last).toISOString(),
    loglik: chosen.model.loglik,
    aicc: chosen.score,
    sigma2: chosen.model.sigma2,
    forecasts: predicted.map((value, i) => ({ step: i + 1, time: new Date(last + (i + 1) * intervalMs).toISOString(), value })),
    ...(candidates ? { candidates } : {}),
  };
}
