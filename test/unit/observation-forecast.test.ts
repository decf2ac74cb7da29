import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type EtsSpec, fitEts, forecast, legacyInitialState, runEts } from '../../lib/observation/ets.ts';
import { conformancePath } from '../helpers/conformance.ts';

// Reference outputs from R and statsmodels; see test/fixtures/conformance/holt-winters/SOURCE.md.
const reference = (name: string): string => readFileSync(conformancePath('holt-winters', name), 'utf8');

type RValue = [number | 'NaN'];
interface RFit {
  alpha: RValue;
  beta: RValue;
  gamma: RValue;
  phi: RValue;
  initstate: number[];
  states: (number[] | number)[];
  fitted: number[];
  residuals: number[];
  sigma2: [number];
  loglik: [number];
  forecast: number[];
}

function readCsvValues(name: string): number[] {
  return reference(name)
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => Number(line.split(',')[1]));
}

function num(value: RValue): number | null {
  return value[0] === 'NaN' ? null : value[0];
}

/** |a − b| ≤ rtol·|b| + atol, elementwise, with a message naming the index. */
function assertClose(actual: readonly number[], expected: readonly number[], rtol: number, atol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  expected.forEach((want, i) => {
    const got = actual[i] as number;
    assert.ok(Math.abs(got - want) <= rtol * Math.abs(want) + atol, `${what}[${i}]: got ${got}, want ${want}`);
  });
}

/** Models R fitted, with the series and season length they were fitted on. */
function rCases(): { label: string; y: number[]; spec: EtsSpec; fit: RFit }[] {
  const sets = [
    { file: 'R_ets_austourists_fit_results.json', y: readCsvValues('austourists.csv'), m: 4 },
    { file: 'R_ets_oildata_fit_results.json', y: readCsvValues('oildata.csv'), m: 1 },
  ];
  const cases: { label: string; y: number[]; spec: EtsSpec; fit: RFit }[] = [];
  for (const set of sets) {
    const results = JSON.parse(reference(set.file)) as Record<string, Record<string, Partial<RFit>>>;
    for (const [dampedKey, models] of Object.entries(results)) {
      for (const [name, partial] of Object.entries(models)) {
        if (partial.alpha === undefined) continue; // R refused this model: nothing to compare.
        const fit = partial as RFit;
        const [error, trend, season] = name.split('') as ['A' | 'M', 'N' | 'A' | 'M', 'N' | 'A' | 'M'];
        cases.push({
          label: `${set.file.replace('_fit_results.json', '')} ${name}${dampedKey === 'TRUE' ? ' damped' : ''}`,
          y: set.y,
          spec: { error, trend, season, damped: dampedKey === 'TRUE', seasonLength: set.m },
          fit,
        });
      }
    }
  }
  return cases;
}

function runWithReference(y: number[], spec: EtsSpec, fit: RFit) {
  const hasTrend = spec.trend !== 'N';
  const seasonal = spec.season === 'N' ? [] : fit.initstate.slice(hasTrend ? 2 : 1);
  // R lists m−1 free seasonal states; the last one is implied by normalisation (sum 0 or sum m).
  if (seasonal.length === spec.seasonLength - 1) {
    seasonal.push((spec.season === 'M' ? spec.seasonLength : 0) - seasonal.reduce((a, b) => a + b, 0));
  }
  return runEts(
    y,
    spec,
    { alpha: num(fit.alpha) as number, beta: num(fit.beta), gamma: num(fit.gamma), phi: num(fit.phi) },
    { level: fit.initstate[0] as number, trend: hasTrend ? (fit.initstate[1] as number) : null, seasonal },
  );
}

describe('ETS recursions against R forecast::ets (given parameters and initial state)', () => {
  it('reads the 19 models R fitted on austourists and oildata', () => assert.equal(rCases().length, 19));
  for (const { label, y, spec, fit } of rCases()) {
    it(`reproduces states, fitted values, residuals, sigma2 and loglik for ${label}`, () => {
      const model = runWithReference(y, spec, fit);
      // The JSON carries ~8 decimals: 1e-6 relative is the tightest check the data supports.
      assertClose(model.fitted, fit.fitted, 1e-6, 0, 'fitted');
      // Residuals and sigma2 are printed with 8 decimals, so small values carry few digits: add an
      // absolute slack of a few units in the last printed place.
      assertClose(model.residuals, fit.residuals, 1e-6, 5e-7, 'residuals');
      assertClose(model.states.flat(), fit.states.flat(), 1e-6, 1e-6, 'states');
      assertClose([model.loglik], fit.loglik, 1e-8, 0, 'loglik');
      assertClose([model.sigma2], fit.sigma2, 1e-6, 1e-8, 'sigma2');
    });

    // R reports forecast means for MAM damped that are not the recursion's point forecasts
    // (even at h = 1, by 9e-5 relative); every other model is compared at 1e-6.
    const forecastTolerance = label.endsWith('MAM damped') ? 1e-3 : 1e-6;
    it(`reproduces the h = 1..4 point forecasts for ${label} (rtol ${forecastTolerance})`, () => {
      const model = runWithReference(y, spec, fit);
      assertClose(forecast(model, 4), fit.forecast, forecastTolerance, 0, 'forecast');
    });
  }
});

describe('fitted ETS models against R forecast::ets likelihoods', () => {
  for (const { label, y, spec, fit } of rCases()) {
    it(`fits ${label} with a loglik equal to or better than R's (−0.05 slack)`, () => {
      const model = fitEts(y, spec);
      const reference = fit.loglik[0];
      assert.ok(model.loglik >= reference - 0.05, `loglik ${model.loglik} < R ${reference}`);
      assert.ok(model.params.alpha >= 1e-4 && model.params.alpha <= 0.9999);
      if (model.params.phi !== null) assert.ok(model.params.phi >= 0.8 && model.params.phi <= 0.98);
      const again = fitEts(y, spec);
      assert.equal(again.loglik, model.loglik, 'fit is deterministic');
    });
  }
});

interface StatsmodelsCases {
  series: Record<string, { values: number[] }>;
  cases: { name: string; series: string; params: Record<string, number | string>; expected: Record<string, number | number[]> }[];
}

describe('Holt and SES against statsmodels fixed-parameter cases', () => {
  const data = JSON.parse(reference('statsmodels_holtwinters_cases.json')) as StatsmodelsCases;
  const byName = (name: string) => {
    const found = data.cases.find((c) => c.name === name);
    assert.ok(found, `case ${name}`);
    const series = data.series[found.series];
    assert.ok(series, `series ${found.series}`);
    return { ...found, y: series.values };
  };
  const expectedArray = (value: number | number[] | undefined): number[] => (Array.isArray(value) ? value : [value as number]);

  it('matches R ets for damped Holt on livestock (level rtol 1e-7, trend/fitted atol 1e-3, forecast atol 1e-4, mse atol 1e-3)', () => {
    const c = byName('holt_damped_additive_livestock_vs_R_ets');
    const spec: EtsSpec = { error: 'A', trend: 'A', season: 'N', damped: true, seasonLength: 1 };
    const model = runEts(
      c.y,
      spec,
      {
        alpha: c.params.smoothing_level as number,
        beta: c.params.smoothing_trend as number,
        gamma: null,
        phi: c.params.damping_trend as number,
      },
      { level: c.params.initial_level as number, trend: c.params.initial_trend as number, seasonal: [] },
    );
    assertClose(
      model.states.map((row) => row[0] as number),
      expectedArray(c.expected.level_including_initial),
      1e-7,
      0,
      'level',
    );
    assertClose(
      model.states.map((row) => row[1] as number),
      expectedArray(c.expected.trend_including_initial),
      0,
      1e-3,
      'trend',
    );
    assertClose(model.fitted, expectedArray(c.expected.fitted_one_step_ahead), 0, 1e-3, 'fitted');
    assertClose(forecast(model, 10), expectedArray(c.expected.forecast_h1_to_h10), 0, 1e-4, 'forecast');
    assertClose([model.mse], expectedArray(c.expected.mse), 0, 1e-3, 'mse');
  });

  const ses = (alpha: number, y: number[]) =>
    runEts(
      y,
      { error: 'A', trend: 'N', season: 'N', damped: false, seasonLength: 1 },
      { alpha, beta: null, gamma: null, phi: null },
      {
        level: y[0] as number,
        trend: null,
        seasonal: [],
      },
    );

  it('matches SES alpha=0.2 on oil: levels and h=1 forecast to 4 decimal places', () => {
    const c = byName('ses_oil_alpha_0.2');
    const model = ses(0.2, c.y);
    assertClose(
      model.states.slice(1).map((row) => row[0] as number),
      expectedArray(c.expected.level),
      0,
      5e-5,
      'level',
    );
    assertClose(forecast(model, 1), expectedArray(c.expected.forecast_h1), 0, 5e-5, 'forecast');
  });

  it('matches SES alpha=0.6 on oil: h=1 forecast to 4 decimal places', () => {
    const c = byName('ses_oil_alpha_0.6');
    assertClose(forecast(ses(0.6, c.y), 1), expectedArray(c.expected.forecast_h1), 0, 5e-5, 'forecast');
  });

  it('matches Holt linear alpha=0.8 beta*=0.2 on ausair: trend and one-step values to 4 dp, forecasts to 2 dp', () => {
    const c = byName('holt_linear_ausair_alpha0.8_beta0.2');
    const spec: EtsSpec = { error: 'A', trend: 'A', season: 'N', damped: false, seasonLength: 1 };
    // statsmodels' smoothing_trend is β*; the state-space β is α·β*.
    const model = runEts(c.y, spec, { alpha: 0.8, beta: 0.8 * 0.2, gamma: null, phi: null }, legacyInitialState(c.y, spec));
    assertClose(
      model.states.slice(1).map((row) => row[1] as number),
      expectedArray(c.expected.trend),
      0,
      5e-5,
      'trend',
    );
    assertClose(
      [...model.fitted, ...forecast(model, 1)],
      expectedArray(c.expected.fittedfcast_one_step_ahead_plus_next),
      0,
      5e-5,
      'fittedfcast',
    );
    assertClose(forecast(model, 5), expectedArray(c.expected.forecast_h1_to_h5), 0, 5e-3, 'forecast');
  });

  it('matches exponential-trend Holt alpha=0.8 beta*=0.2 on ausair: forecasts to 2 dp', () => {
    const c = byName('holt_exponential_trend_ausair_alpha0.8_beta0.2');
    const spec: EtsSpec = { error: 'A', trend: 'M', season: 'N', damped: false, seasonLength: 1 };
    const model = runEts(c.y, spec, { alpha: 0.8, beta: 0.8 * 0.2, gamma: null, phi: null }, legacyInitialState(c.y, spec));
    assertClose(forecast(model, 5), expectedArray(c.expected.forecast_h1_to_h5), 0, 5e-3, 'forecast');
  });
});

describe('ETS input checks and forecast options', () => {
  const y = [10, 12, 11, 13, 12, 14, 13, 15, 14, 16, 15, 17];
  it('rejects non-positive data for a multiplicative model', () => {
    assert.throws(() => fitEts([1, 0, 2, 3], { error: 'M', trend: 'N', season: 'N', damped: false, seasonLength: 1 }), RangeError);
  });
  it('rejects a seasonal fit with fewer than 3 seasons', () => {
    assert.throws(() => fitEts(y.slice(0, 8), { error: 'A', trend: 'N', season: 'A', damped: false, seasonLength: 4 }), RangeError);
  });
  it('rejects a non-positive horizon', () => {
    const model = fitEts(y, { error: 'A', trend: 'A', season: 'N', damped: false, seasonLength: 1 });
    assert.throws(() => forecast(model, 0), RangeError);
  });
  it('gives the textbook damped multiplicative forecast on request, equal to R at h = 1', () => {
    const spec: EtsSpec = { error: 'M', trend: 'M', season: 'N', damped: true, seasonLength: 1 };
    const model = runEts(y, spec, { alpha: 0.5, beta: 0.1, gamma: null, phi: 0.9 }, { level: 10, trend: 1.05, seasonal: [] });
    const r = forecast(model, 3);
    const textbook = forecast(model, 3, { multiplicativeDamping: 'textbook' });
    assert.equal(r[0], textbook[0]);
    const [level, trend] = model.states.at(-1) as [number, number];
    assert.ok(Math.abs((textbook[2] as number) - level * trend ** (0.9 + 0.81 + 0.729)) < 1e-9);
  });
});
