import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initSeriesState, updateSeriesState } from '../../lib/observation/detector-registry.ts';
import { summariseSeries, theilSen } from '../../lib/observation/summary.ts';

const MINUTE = 60_000;

describe('theilSen', () => {
  it('recovers a slope despite an outlier', () => {
    const xs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const ys = xs.map((x) => 2 * x + 1);
    ys[4] = 500;
    assert.equal(theilSen(xs, ys), 2);
  });
  it('returns null when all x are equal', () => {
    assert.equal(theilSen([1, 1], [2, 3]), null);
  });
});

describe('summariseSeries', () => {
  it('reports count, last value and time, mean, median, slope per hour, rising trend and anomaly rate', () => {
    let state = initSeriesState('robust', {});
    const recent = Array.from({ length: 120 }, (_, i) => ({ timestamp: Date.UTC(2026, 0, 1) + i * MINUTE, value: 10 + i * 0.5 }));
    for (const point of recent) state = updateSeriesState(state, point).state;
    const summary = summariseSeries(state, recent);
    assert.equal(summary.count, 120);
    assert.equal(summary.lastValue, 10 + 119 * 0.5);
    assert.equal(summary.lastTime, new Date(Date.UTC(2026, 0, 1) + 119 * MINUTE).toISOString());
    assert.ok(Math.abs((summary.mean as number) - (10 + 59.5 * 0.5)) < 1e-9);
    assert.ok(Math.abs((summary.slopePerHour as number) - 30) < 1e-9);
    assert.equal(summary.trend, 'rising');
    assert.equal(summary.warmingUp, false);
    assert.ok(summary.anomalyRate >= 0 && summary.anomalyRate <= 1);
    assert.equal(summary.seasonality, null);
  });

  it('falls back to the robust window for median and per-point slope without a recent window', () => {
    let state = initSeriesState('robust', {});
    for (let i = 0; i < 100; i += 1) state = updateSeriesState(state, { timestamp: i * MINUTE, value: 5 + (i % 2) * 0.001 }).state;
    const summary = summariseSeries(state);
    assert.equal(summary.slopePerHour, null);
    assert.equal(summary.trend, 'flat');
    assert.ok(Math.abs((summary.median as number) - 5.0005) < 1e-9);
  });

  it('counts anomalies over scored points and reports seasonality for the seasonal detector', () => {
    let state = initSeriesState('seasonal', { seasonLength: 4 });
    const shape = [0, 10, 0, -10];
    for (let i = 0; i < 40; i += 1)
      state = updateSeriesState(state, { timestamp: i * MINUTE, value: 100 + (shape[i % 4] as number) + (i === 30 ? 80 : 0) }).state;
    const summary = summariseSeries(state);
    assert.equal(summary.anomalies, 1);
    assert.equal(summary.anomalyRate, 1 / (40 - 12));
    assert.equal(summary.seasonality?.seasonLength, 4);
    assert.equal(summary.seasonality?.peakPhase, 1);
    assert.equal(summary.seasonality?.troughPhase, 3);
    assert.ok(Math.abs((summary.seasonality?.amplitude as number) - 20) < 1);
  });

  it('reports ignored points and warm-up on a young series', () => {
    let state = initSeriesState('ewma', {});
    state = updateSeriesState(state, { timestamp: 2 * MINUTE, value: 1 }).state;
    state = updateSeriesState(state, { timestamp: MINUTE, value: 1 }).state;
    state = updateSeriesState(state, { timestamp: 2 * MINUTE, value: 1 }).state;
    const summary = summariseSeries(state);
    assert.deepEqual(summary.ignored, { outOfOrder: 1, duplicates: 1 });
    assert.equal(summary.warmingUp, true);
    assert.equal(summary.trend, 'unknown');
  });
});
