/**
 * Exponential smoothing forecasts in the ETS (error, trend, season) state-space form of Hyndman et
 * al. and R `forecast::ets`: Holt linear (optionally damped, additive or multiplicative trend) and
 * Holt-Winters additive and multiplicative seasonality, with additive or multiplicative errors.
 *
 * Conventions (those of R ets, so reference outputs compare one to one):
 * - `beta` is the state-space trend smoothing (R's beta). statsmodels' `smoothing_trend` β* maps to
 *   it as `beta = alpha · β*`; `gamma` is R's gamma.
 * - The initial seasonal vector is ordered most recent first: `[s₀, s₋₁, …, s₋₍ₘ₋₁₎]`, so the value
 *   used for the first observation is the last element.
 * - `loglik` is R's: −½·(n·log SSE + 2·Σ log|ŷₜ| for multiplicative errors), no 2π constant, where
 *   for multiplicative errors the residuals are relative, (y − ŷ)/ŷ.
 *
 * Accuracy, checked by test/unit/observation-forecast.test.ts against test/fixtures/conformance/holt-winters
 * (R ets results and statsmodels cases; the reference numbers carry 8 decimals, which bounds the check):
 * - with R's parameters and initial state: fitted values and h = 1..4 forecasts within 1e-6
 *   relative; states within 1e-6 relative + 1e-6 absolute; loglik within 1e-8 relative. One
 *   exception: R's reported forecasts for MAM damped differ from its own recursion by ~1e-4
 *   relative (already at h = 1), so that case is checked at 1e-3.
 * - statsmodels fixed-parameter cases: within their stated tolerances (4 dp / 2 dp, livestock:
 *   level rtol 1e-7, trend and fitted atol 1e-3, forecast atol 1e-4).
 * - fitted models ({@link fitEts}): restarted Nelder-Mead over parameters and initial states within
 *   R's "usual" bounds; loglik must be ≥ R's − 0.05. On the 19 reference models it is equal or
 *   better (by up to ~9 log-likelihood units, where R's optimiser stopped early); parameters differ.
 */

/** Error, trend and seasonal component types. */
export type ErrorType = 'A' | 'M';
/** Trend component type: none, additive, multiplicative. */
export type TrendType = 'N' | 'A' | 'M';
/** Seasonal component type: none, additive, multiplicative. */
export type SeasonType = 'N' | 'A' | 'M';

/** The model form. `seasonLength` is ignored (treated as 1) when `season` is `'N'`. */
export interface EtsSpec {
  error: ErrorType;
  trend: TrendType;
  season: SeasonType;
  damped: boolean;
  seasonLength: number;
}

/** Smoothing parameters; `null` for components the model lacks. */
export interface EtsParams {
  alpha: number;
  beta: number | null;
  gamma: number | null;
  phi: number | null;
}

/** Initial state; `seasonal` holds m values, most recent first (R's `initstate` order). */
export interface EtsInitialState {
  level: number;
  trend: number | null;
  seasonal: number[];
}

/** A model run over a series: every quantity R ets reports that a forecast or a check needs. */
export interface EtsModel {
  spec: EtsSpec;
  params: EtsParams;
  initial: EtsInitialState;
  n: number;
  /** n+1 rows `[level, trend?, s₀, s₋₁, …]`; row 0 is the initial state. */
  states: number[][];
  /** One-step-ahead predictions ŷₜ|ₜ₋₁. */
  fitted: number[];
  /** y − ŷ (additive error) or (y − ŷ)/ŷ (multiplicative error). */
  residuals: number[];
  /** Σ (y − ŷ)², whatever the error type. */
  sse: number;
  /** sse / n. */
  mse: number;
  /** Σ residuals² / (n − number of free parameters), as R. */
  sigma2: number;
  loglik: number;
}

const TOL = 1e-10;

function seasonCount(spec: EtsSpec): number {
  return spec.season === 'N' ? 1 : spec.seasonLength;
}

/** Number of estimated quantities as R counts them (smoothing + initial states, last season implied). */
export function parameterCount(spec: EtsSpec): number {
  let count = 2; // alpha + level
  if (spec.trend !== 'N') count += 2;
  if (spec.damped) count += 1;
  if (spec.season !== 'N') count += 1 + (spec.seasonLength - 1);
  return count;
}

function checkSpec(spec: EtsSpec, y: readonly number[]): void {
  if (spec.season !== 'N' && (!Number.isInteger(spec.seasonLength) || spec.seasonLength < 2)) {
    throw new RangeError('seasonLength must be an integer ≥ 2 for a seasonal model');
  }
  if (spec.damped && spec.trend === 'N') throw new RangeError('a damped model needs a trend');
  if ((spec.error === 'M' || spec.trend === 'M' || spec.season === 'M') && y.some((value) => value <= 0)) {
    throw new RangeError('multiplicative components need strictly positive data');
  }
  if (y.some((value) => !Number.isFinite(value))) throw new RangeError('series values must be finite');
}

/**
 * How a damped multiplicative trend compounds over the horizon. R forecast's point forecasts use
 * the exponent φ + φ¹ + … + φʰ⁻¹ (φ counted twice); the textbook (Hyndman et al. 2008) uses
 * φ + φ² + … + φʰ. They agree at h = 1 and differ by well under 1% over short horizons.
 */
export type MultiplicativeDamping = 'r' | 'textbook';

/** Options of {@link forecast}. */
export interface ForecastOptions {
  /** Default `'r'`, so results compare with R ets one to one. */
  multiplicativeDamping?: MultiplicativeDamping;
}

/** Point forecasts for h = 1..horizon from one state row. */
function forecastFromState(spec: EtsSpec, phi: number, row: readonly number[], horizon: number, damping: MultiplicativeDamping): number[] {
  const m = seasonCount(spec);
  const level = row[0] as number;
  const trend = spec.trend === 'N' ? 0 : (row[1] as number);
  const seasonOffset = spec.trend === 'N' ? 1 : 2;
  const out: number[] = [];
  const damped = Math.abs(phi - 1) >= TOL;
  // Σ_{j=1..h} φʲ for the additive trend; R's exponent for the multiplicative one (see above).
  let phiSum = phi;
  let phiExponent = phi;
  for (let i = 0; i < horizon; i += 1) {
    let f: number;
    if (spec.trend === 'N') f = level;
    else if (spec.trend === 'A') f = level + phiSum * trend;
    else f = trend < 0 ? Number.NaN : level * trend ** (damping === 'r' ? phiExponent : phiSum);
    if (spec.season !== 'N') {
      let j = m - 1 - i;
      while (j < 0) j += m;
      const s = row[seasonOffset + j] as number;
      f = spec.season === 'A' ? f + s : f * s;
    }
    out.push(f);
    phiSum += damped ? phi ** (i + 2) : 1;
    phiExponent += damped ? phi ** (i + 1) : 1;
  }
  return out;
}

/** What one pass of the ETS recursions accumulates; the per-step series only when recorded. */
interface Recursion {
  sse: number;
  sumSquaredResiduals: number;
  logAbsFitted: number;
  /** True when a fitted value was not positive (fatal for multiplicative parts). */
  nonPositiveFit: boolean;
  states: number[][];
  fitted: number[];
  residuals: number[];
}

/**
 * The ETS recursions, once for both uses: {@link runEts} records every state, fitted value and
 * residual; the optimiser's objective records nothing and stops at the first non-positive fitted
 * value of a multiplicative model. Seasonal states live in a ring (`ring[head]` is the oldest).
 */
function recurse(y: readonly number[], spec: EtsSpec, params: EtsParams, initial: EtsInitialState, record: boolean): Recursion {
  const m = seasonCount(spec);
  const alpha = params.alpha;
  const beta = params.beta ?? 0;
  const gamma = params.gamma ?? 0;
  const phi = spec.damped ? (params.phi ?? 1) : 1;
  const seasonal = spec.season !== 'N';
  const multiplicative = spec.error === 'M' || spec.season === 'M' || spec.trend === 'M';
  const ring = new Float64Array(seasonal ? m : 0);
  for (let k = 0; k < ring.length; k += 1) ring[m - 1 - k] = initial.seasonal[k] as number;
  let head = 0;
  let level = initial.level;
  let trend = spec.trend === 'N' ? 0 : (initial.trend as number);
  let sse = 0;
  let sumSquaredResiduals = 0;
  let logAbsFitted = 0;
  let nonPositiveFit = false;
  const states: number[][] = [];
  const fitted: number[] = [];
  const residuals: number[] = [];
  const hasTrend = spec.trend !== 'N';
  // No closures over the loop's variables: captured, they would leave registers for a context object.
  if (record) states.push(stateRow(level, trend, hasTrend, ring, head));
  for (let i = 0; i < y.length; i += 1) {
    const value = y[i] as number;
    const oldSeason = seasonal ? (ring[head] as number) : 0;
    let q: number;
    let phib = 0;
    if (spec.trend === 'N') q = level;
    else if (spec.trend === 'A') {
      phib = phi * trend;
      q = level + phib;
    } else {
      phib = Math.abs(phi - 1) < TOL ? trend : trend ** phi;
      q = level * phib;
    }
    const f = !seasonal ? q : spec.season === 'A' ? q + oldSeason : q * oldSeason;
    if (!(f > 0)) {
      nonPositiveFit = true;
      if (multiplicative && !record) return { sse, sumSquaredResiduals, logAbsFitted, nonPositiveFit, states, fitted, residuals };
    }
    const error = spec.error === 'A' ? value - f : (value - f) / f;
    sse += (value - f) ** 2;
    sumSquaredResiduals += error * error;
    logAbsFitted += Math.log(Math.abs(f));
    const p = !seasonal ? value : spec.season === 'A' ? value - oldSeason : value / oldSeason;
    const newLevel = q + alpha * (p - q);
    if (spec.trend === 'A') trend = phib + (beta / alpha) * (newLevel - level - phib);
    else if (spec.trend === 'M') trend = phib + (beta / alpha) * (newLevel / level - phib);
    if (seasonal) {
      const t = spec.season === 'A' ? value - q : value / q;
      ring[head] = oldSeason + gamma * (t - oldSeason);
      head = head + 1 === m ? 0 : head + 1;
    }
    level = newLevel;
    if (record) {
      fitted.push(f);
      residuals.push(error);
      states.push(stateRow(level, trend, hasTrend, ring, head));
    }
  }
  return { sse, sumSquaredResiduals, logAbsFitted, nonPositiveFit, states, fitted, residuals };
}

/** One row of the state matrix: level, trend (if any), seasonal states newest first. */
function stateRow(level: number, trend: number, hasTrend: boolean, ring: Float64Array, head: number): number[] {
  const values = hasTrend ? [level, trend] : [level];
  const m = ring.length;
  for (let k = 1; k <= m; k += 1) values.push(ring[(head - k + m) % m] as number);
  return values;
}

/** −2·loglik as R ets computes it (`n·log(Σe²)`, plus `2·Σlog|f|` for multiplicative errors). */
function minusTwoLogLik(run: Recursion, spec: EtsSpec, n: number): number {
  return n * Math.log(run.sumSquaredResiduals) + (spec.error === 'M' ? 2 * run.logAbsFitted : 0);
}

/**
 * Runs the ETS recursions with given parameters and initial state.
 *
 * Constraints: `initial.seasonal` has `seasonLength` values for seasonal models (most recent
 * first); `phi` defaults to 1 when the model is not damped.
 * @throws {RangeError} on an inconsistent spec/state or non-positive data for multiplicative parts.
 * @example
 * const model = runEts(y, { error: 'A', trend: 'A', season: 'N', damped: false, seasonLength: 1 },
 *   { alpha: 0.8, beta: 0.16, gamma: null, phi: null }, { level: y[0], trend: y[1] - y[0], seasonal: [] });
 * forecast(model, 5);
 */
export function runEts(y: readonly number[], spec: EtsSpec, params: EtsParams, initial: EtsInitialState): EtsModel {
  checkSpec(spec, y);
  const m = seasonCount(spec);
  if (spec.season !== 'N' && initial.seasonal.length !== m) throw new RangeError(`initial.seasonal must hold ${m} values`);
  if (spec.trend !== 'N' && initial.trend === null) throw new RangeError('initial.trend is required for a trend model');
  const run = recurse(y, spec, params, initial, true);
  const n = y.length;
  return {
    spec,
    params: {
      alpha: params.alpha,
      beta: spec.trend === 'N' ? null : (params.beta ?? 0),
      gamma: spec.season === 'N' ? null : (params.gamma ?? 0),
      phi: spec.damped ? (params.phi ?? 1) : null,
    },
    initial: {
      level: initial.level,
      trend: spec.trend === 'N' ? null : initial.trend,
      seasonal: spec.season === 'N' ? [] : initial.seasonal.slice(),
    },
    n,
    states: run.states,
    fitted: run.fitted,
    residuals: run.residuals,
    sse: run.sse,
    mse: run.sse / n,
    sigma2: run.sumSquaredResiduals / (n - parameterCount(spec)),
    loglik: -0.5 * minusTwoLogLik(run, spec, n),
  };
}


/**
 * Point forecasts h = 1..horizon from the last state of a model.
 * @throws {RangeError} when horizon is not a positive integer.
 * @example
 * const next4 = forecast(fitEts(quarterly, { error: 'A', trend: 'A', season: 'A', damped: true, seasonLength: 4 }), 4);
 */
export function forecast(model: EtsModel, horizon: number, options: ForecastOptions = {}): number[] {
  if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError('horizon must be a positive integer');
  const last = model.states[model.states.length - 1] as number[];
  const phi = model.spec.damped ? (model.params.phi ?? 1) : 1;
  return forecastFromState(model.spec, phi, last, horizon, options.multiplicativeDamping ?? 'r');
}

/**
 * statsmodels' "legacy-heuristic" initial state: l₀ = y₀, b₀ = y₁ − y₀ (or y₁/y₀ for a
 * multiplicative trend). Non-seasonal models only.
 * @throws {RangeError} for seasonal specs or fewer than 2 observations.
 */
export function legacyInitialState(y: readonly number[], spec: EtsSpec): EtsInitialState {
  if (spec.season !== 'N') throw new RangeError('legacy initial state covers non-seasonal models only');
  const [y0, y1] = y;
  if (y0 === undefined || y1 === undefined) throw new RangeError('need at least 2 observations');
  const trend = spec.trend === 'N' ? null : spec.trend === 'A' ? y1 - y0 : y1 / y0;
  return { level: y0, trend, seasonal: [] };
}

/** Least-squares intercept and slope of values against 1..n (R's `lsfit(1:n, y)`). */
function lineFit(values: readonly number[]): { intercept: number; slope: number } {
  const n = values.length;
  const meanX = (n + 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  values.forEach((value, i) => {
    sxy += (i + 1 - meanX) * (value - meanY);
    sxx += (i + 1 - meanX) ** 2;
  });
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { intercept: meanY - slope * meanX, slope };
}

/**
 * Heuristic initial state after R ets' `initstate`: classical decomposition of the first three
 * seasons for the seasonal part, then a line through the first max(10, 2m) seasonally adjusted
 * values for level and trend. It only seeds the optimiser.
 * @throws {RangeError} when a seasonal model has fewer than 3 seasons of data.
 */
export function heuristicInitialState(y: readonly number[], spec: EtsSpec): EtsInitialState {
  const m = seasonCount(spec);
  let seasonal: number[] = [];
  let adjusted: number[] = y.slice();
  if (spec.season !== 'N') {
    if (y.length < 3 * m) throw new RangeError('a seasonal fit needs at least 3 seasons of data');
    const head = y.slice(0, 3 * m);
    // Centred moving average of order m (2×m when m is even), as R's decompose().
    const half = Math.floor(m / 2);
    const ratios: number[][] = Array.from({ length: m }, () => []);
    for (let t = half; t < head.length - half; t += 1) {
      let ma: number;
      if (m % 2 === 0) {
        let sum = 0.5 * ((head[t - half] as number) + (head[t + half] as number));
        for (let k = t - half + 1; k < t + half; k += 1) sum += head[k] as number;
        ma = sum / m;
      } else {
        let sum = 0;
        for (let k = t - half; k <= t + half; k += 1) sum += head[k] as number;
        ma = sum / m;
      }
      const value = head[t] as number;
      (ratios[t % m] as number[]).push(spec.season === 'A' ? value - ma : value / ma);
    }
    const figure = ratios.map((list) => list.reduce((a, b) => a + b, 0) / list.length);
    const centre = figure.reduce((a, b) => a + b, 0) / m;
    const normalised = figure.map((value) => (spec.season === 'A' ? value - centre : value / centre));
    // Phase of y[t] is t mod m; the state before y[0] lists phases m−1, m−2, …, 0 (most recent first).
    seasonal = Array.from({ length: m }, (_, j) => normalised[m - 1 - j] as number);
    adjusted = head.map((value, t) =>
      spec.season === 'A' ? value - (normalised[t % m] as number) : value / (normalised[t % m] as number),
    );
  }
  const maxn = Math.min(Math.max(10, 2 * m), adjusted.length);
  const first = adjusted.slice(0, maxn);
  if (spec.trend === 'N') {
    return { level: first.reduce((a, b) => a + b, 0) / first.length, trend: null, seasonal };
  }
  const { intercept, slope } = lineFit(first);
  if (spec.trend === 'A') return { level: intercept, trend: slope, seasonal };
  let level = intercept + slope;
  let trend = (intercept + 2 * slope) / level;
  level /= trend;
  if (!(level > 1e-8) || !(trend > 1e-8)) {
    level = Math.max(first[0] as number, 1e-3);
    trend = Math.max((first[1] as number) / (first[0] as number), 1e-3);
  }
  return { level, trend, seasonal };
}

/** Options of {@link fitEts}. */
export interface FitOptions {
  /** Nelder-Mead iterations per run (default 4000). */
  maxIterations?: number;
  /** Restarts from the best point with a fresh simplex (default 8). */
  restarts?: number;
}

interface Layout {
  hasBeta: boolean;
  hasGamma: boolean;
  hasPhi: boolean;
  m: number;
}

function decode(theta: readonly number[], spec: EtsSpec, layout: Layout): { params: EtsParams; initial: EtsInitialState } {
  let i = 0;
  const next = (): number => theta[i++] as number;
  const alpha = next();
  const beta = layout.hasBeta ? next() : null;
  const gamma = layout.hasGamma ? next() : null;
  const phi = layout.hasPhi ? next() : null;
  const level = next();
  const trend = spec.trend === 'N' ? null : next();
  let seasonal: number[] = [];
  if (spec.season !== 'N') {
    seasonal = [];
    for (let k = 0; k < layout.m - 1; k += 1) seasonal.push(next());
    const sum = seasonal.reduce((a, b) => a + b, 0);
    seasonal.push((spec.season === 'M' ? layout.m : 0) - sum);
  }
  return { params: { alpha, beta, gamma, phi }, initial: { level, trend, seasonal } };
}

/** R ets "usual" bounds: α, β, γ ∈ [1e-4, 0.9999], β ≤ α, γ ≤ 1 − α, φ ∈ [0.8, 0.98]. */
function withinBounds(params: EtsParams, initial: EtsInitialState, spec: EtsSpec): boolean {
  const lo = 1e-4;
  const hi = 0.9999;
  if (!(params.alpha >= lo && params.alpha <= hi)) return false;
  if (params.beta !== null && !(params.beta >= lo && params.beta <= params.alpha)) return false;
  if (params.gamma !== null && !(params.gamma >= lo && params.gamma <= 1 - params.alpha)) return false;
  if (params.phi !== null && !(params.phi >= 0.8 && params.phi <= 0.98)) return false;
  if (spec.trend === 'M' && !((initial.trend as number) > 0)) return false;
  if (spec.season === 'M' && initial.seasonal.some((s) => s <= 0)) return false;
  if ((spec.trend === 'M' || spec.error === 'M' || spec.season === 'M') && !(initial.level > 0)) return false;
  return true;
}

/**
 * Nelder-Mead minimisation (reflection 1, expansion 2, contraction ½, shrink ½) from `start` with
 * per-coordinate initial steps. Returns the best point and value.
 */
export function nelderMead(
  objective: (x: number[]) => number,
  start: readonly number[],
  steps: readonly number[],
  maxIterations: number,
  tolerance = 1e-12,
): { x: number[]; value: number } {
  const dim = start.length;
  let simplex: number[][] = [start.slice()];
  for (let k = 0; k < dim; k += 1) {
    const vertex = start.slice();
    vertex[k] = (vertex[k] as number) + (steps[k] as number);
    simplex.push(vertex);
  }
  let values = simplex.map(objective);
  for (let iteration = 0; iteration < maxIterations; iteration += 1) {
    const order = values.map((_, i) => i).sort((a, b) => (values[a] as number) - (values[b] as number));
    simplex = order.map((i) => simplex[i] as number[]);
    values = order.map((i) => values[i] as number);
    const best = values[0] as number;
    const worst = values[dim] as number;
    if (Number.isFinite(worst) && Math.abs(worst - best) <= tolerance * (Math.abs(best) + tolerance)) break;
    const centroid = new Array<number>(dim).fill(0);
    for (let v = 0; v < dim; v += 1)
      for (let k = 0; k < dim; k += 1) centroid[k] = (centroid[k] as number) + (simplex[v]?.[k] as number) / dim;
    const worstPoint = simplex[dim] as number[];
    const along = (factor: number): number[] => centroid.map((c, k) => c + factor * (c - (worstPoint[k] as number)));
    const reflected = along(1);
    const reflectedValue = objective(reflected);
    if (reflectedValue < best) {
      const expanded = along(2);
      const expandedValue = objective(expanded);
      if (expandedValue < reflectedValue) {
        simplex[dim] = expanded;
        values[dim] = expandedValue;
      } else {
        simplex[dim] = reflected;
        values[dim] = reflectedValue;
      }
    } else if (reflectedValue < (values[dim - 1] as number)) {
      simplex[dim] = reflected;
      values[dim] = reflectedValue;
    } else {
      const outside = reflectedValue < worst;
      const contracted = along(outside ? 0.5 : -0.5);
      const contractedValue = objective(contracted);
      if (contractedValue < (outside ? reflectedValue : worst)) {
        simplex[dim] = contracted;
        values[dim] = contractedValue;
      } else {
        const bestPoint = simplex[0] as number[];
        for (let v = 1; v <= dim; v += 1) {
          simplex[v] = (simplex[v] as number[]).map((x, k) => (bestPoint[k] as number) + 0.5 * (x - (bestPoint[k] as number)));
          values[v] = objective(simplex[v] as number[]);
        }
      }
    }
  }
  let bestIndex = 0;
  for (let v = 1; v <= dim; v += 1) if ((values[v] as number) < (values[bestIndex] as number)) bestIndex = v;
  return { x: (simplex[bestIndex] as number[]).slice(), value: values[bestIndex] as number };
}

/**
 * Fits an ETS model by minimising −2·loglik (R ets' `opt.crit = "lik"`) over smoothing parameters
 * and initial states, within R's "usual" bounds, using Nelder-Mead restarted from its best point.
 *
 * Constraints: seasonal models need ≥ 3 seasons; multiplicative parts need positive data. The fit is
 * deterministic. Parameters may differ from R's where the likelihood is flat; the likelihood itself
 * is comparable (see the module note for the tolerance).
 * @throws {RangeError} on too little or invalid data.
 * @example
 * const model = fitEts(austourists, { error: 'M', trend: 'A', season: 'M', damped: false, seasonLength: 4 });
 * forecast(model, 8);
 */
export function fitEts(y: readonly number[], spec: EtsSpec, options: FitOptions = {}): EtsModel {
  checkSpec(spec, y);
  const layout: Layout = { hasBeta: spec.trend !== 'N', hasGamma: spec.season !== 'N', hasPhi: spec.damped, m: seasonCount(spec) };
  const init = heuristicInitialState(y, spec);
  const m = layout.m;
  const alpha0 = 1e-4 + (0.2 * (0.9999 - 1e-4)) / m;
  const start: number[] = [alpha0];
  const steps: number[] = [0.05];
  if (layout.hasBeta) {
    start.push(Math.min(1e-4 + 0.1 * (0.9999 - 1e-4), alpha0 / 2));
    steps.push(0.01);
  }
  if (layout.hasGamma) {
    start.push(1e-4 + 0.05 * (1 - alpha0 - 1e-4));
    steps.push(0.02);
  }
  if (layout.hasPhi) {
    start.push(0.8 + 0.99 * 0.18);
    steps.push(-0.02);
  }
  start.push(init.level);
  steps.push(Math.max(Math.abs(init.level) * 0.1, 1e-3));
  if (spec.trend !== 'N') {
    start.push(init.trend as number);
    steps.push(spec.trend === 'M' ? 0.01 : Math.max(Math.abs(init.trend as number) * 0.1, 1e-2 * Math.abs(init.level) + 1e-3));
  }
  if (spec.season !== 'N') {
    for (let k = 0; k < m - 1; k += 1) {
      const s = init.seasonal[k] as number;
      start.push(s);
      steps.push(spec.season === 'M' ? 0.02 : Math.max(Math.abs(s) * 0.1, 1e-2 * Math.abs(init.level) + 1e-3));
    }
  }
  const objective = (theta: number[]): number => {
    const { params, initial } = decode(theta, spec, layout);
    if (!withinBounds(params, initial, spec)) return Number.POSITIVE_INFINITY;
    const run = recurse(y, spec, params, initial, false);
    if (run.nonPositiveFit && (spec.error === 'M' || spec.season === 'M' || spec.trend === 'M')) return Number.POSITIVE_INFINITY;
    const value = minusTwoLogLik(run, spec, y.length);
    return Number.isFinite(value) ? value : Number.POSITIVE_INFINITY;
  };
  const maxIterations = options.maxIterations ?? 4000;
  let best = nelderMead(objective, start, steps, maxIterations);
  const restarts = options.restarts ?? 8;
  for (let r = 0; r < restarts; r += 1) {
    // Smaller simplexes on later restarts: the first ones escape collapsed simplexes, the later
    // ones polish the optimum.
    const restartSteps = steps.map((step) => step * 0.5 ** r);
    const next = nelderMead(objective, best.x, restartSteps, maxIterations);
    const improved = best.value - next.value;
    if (next.value < best.value) best = next;
    if (improved < 1e-9) break;
  }
  const { params, initial } = decode(best.x, spec, layout);
  return runEts(y, spec, params, initial);
}
