import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../../lib/errors.ts';
import type { ObservedPoint } from '../../lib/observation/detector-contract.ts';
import { initSeriesState, type SeriesState, UnknownDetectorError, updateSeriesState } from '../../lib/observation/detector-registry.ts';
import { robustScale } from '../../lib/observation/robust.ts';
import { madSorted, medianSorted } from '../../lib/observation/window.ts';

const HOUR = 3_600_000;

/** Deterministic noise in [-0.5, 0.5). */
function noiseSource(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
}

function run(state: SeriesState, points: readonly ObservedPoint[]) {
  const results = [];
  let current = state;
  for (const point of points) {
    const result = updateSeriesState(current, point);
    current = result.state;
    results.push(result);
  }
  return { state: current, results };
}

function noisy(n: number, base = 100, amplitude = 2, seed = 7): ObservedPoint[] {
  const noise = noiseSource(seed);
  return Array.from({ length: n }, (_, i) => ({ timestamp: i * 60_000, value: base + amplitude * noise() }));
}

describe('window order statistics', () => {
  it('computes median and MAD like a sort-based reference', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 80 }), (values) => {
        const sorted = [...values].sort((a, b) => a - b);
        const med = medianSorted(sorted);
        const deviations = values.map((v) => Math.abs(v - med)).sort((a, b) => a - b);
        assert.equal(madSorted(sorted, med), medianSorted(deviations));
      }),
    );
  });

  it('falls back from a zero MAD to the mean absolute deviation, then to a floor', () => {
    const mostlyZero = [0, 0, 0, 0, 0, 0, 1, 1];
    assert.equal(robustScale(mostlyZero, 0).source, 'mean-abs-dev');
    const flat = robustScale([5, 5, 5, 5], 0);
    assert.equal(flat.source, 'floor');
    assert.ok(flat.scale > 0 && Number.isFinite(flat.scale));
  });
});

for (const name of ['robust', 'seasonal', 'ewma'] as const) {
  describe(`${name} detector`, () => {
    const config = name === 'seasonal' ? { seasonLength: 10 } : {};
    const warm = name === 'seasonal' ? 30 : name === 'robust' ? 32 : 30;

    it('raises no alarm during warm-up, even on a huge spike', () => {
      const points = noisy(warm);
      points[warm - 1] = { timestamp: (warm - 1) * 60_000, value: 1e6 };
      const { results } = run(initSeriesState(name, config), points);
      assert.equal(
        results.some((r) => r.anomaly),
        false,
      );
      assert.ok(results.every((r) => r.evidence.warmingUp));
    });

    it('flags a spike after warm-up with evidence explaining it', () => {
      const points = noisy(200);
      points[150] = { timestamp: 150 * 60_000, value: 150 };
      const { results } = run(initSeriesState(name, config), points);
      const spike = results[150];
      assert.ok(spike?.anomaly, `spike not flagged (score ${spike?.score})`);
      assert.equal(spike.evidence.detector, name);
      assert.equal(spike.evidence.warmingUp, false);
      assert.ok(spike.evidence.expected !== null && Math.abs(spike.evidence.expected - 100) < 2);
      assert.ok(spike.evidence.upper !== null && spike.evidence.upper < 150);
      const falseAlarms = results.filter((r, i) => r.anomaly && i !== 150).length;
      assert.ok(falseAlarms <= 1, `${falseAlarms} false alarms on noise`);
    });

    it('keeps the state bounded and JSON-serialisable over 100k points', () => {
      let state = initSeriesState(name, config);
      const noise = noiseSource(3);
      let sizeAt10k = 0;
      for (let i = 0; i < 100_000; i += 1) {
        state = updateSeriesState(state, { timestamp: i * 1000, value: 50 + 10 * noise() }).state;
        if (i === 9_999) sizeAt10k = JSON.stringify(state).length;
      }
      const size = JSON.stringify(state).length;
      assert.ok(size < 4096, `state is ${size} bytes`);
      // Only digit counts of the counters may grow.
      assert.ok(size - sizeAt10k < 64, `state grew from ${sizeAt10k} to ${size} bytes`);
      assert.deepEqual(JSON.parse(JSON.stringify(state)), state);
      assert.equal(state.version, 100_000);
      assert.equal(state.stats.count, 100_000);
    });

    it('is deterministic and does not mutate the input state', () => {
      const points = noisy(120);
      const initial = initSeriesState(name, config);
      const first = run(initial, points);
      const snapshot = JSON.stringify(first.state);
      const second = run(initial, points);
      assert.deepEqual(second.results, first.results);
      updateSeriesState(first.state, { timestamp: 1e12, value: 1 });
      assert.equal(JSON.stringify(first.state), snapshot);
    });

    it('ignores and counts out-of-order and duplicate timestamps without moving the model', () => {
      const { state } = run(initSeriesState(name, config), noisy(50));
      const last = state.stats.lastTimestamp as number;
      const older = updateSeriesState(state, { timestamp: last - 1, value: 1e9 });
      assert.equal(older.anomaly, false);
      assert.equal(older.evidence.skipped, 'out-of-order');
      assert.equal(older.state.stats.outOfOrder, 1);
      const duplicate = updateSeriesState(older.state, { timestamp: last, value: 1e9 });
      assert.equal(duplicate.evidence.skipped, 'duplicate');
      assert.equal(duplicate.state.stats.duplicates, 1);
      assert.equal(duplicate.state.version, state.version + 2);
      const { stats: before, version: _v1, ...modelBefore } = state;
      const { stats: after, version: _v2, ...modelAfter } = duplicate.state;
      assert.deepEqual(modelAfter, modelBefore);
      assert.equal(after.count, before.count);
    });
  });
}

describe('seasonal versus robust on a clean seasonal signal', () => {
  // A nightly batch job: flat load with a sharp burst at the same hour every day.
  const noise = noiseSource(11);
  const points = Array.from({ length: 24 * 20 }, (_, i) => ({ timestamp: i * HOUR, value: (i % 24 === 3 ? 60 : 10) + 0.5 * noise() }));

  it('seasonal raises no alarm once it has learned the daily shape', () => {
    const { results } = run(initSeriesState('seasonal', { seasonLength: 24, intervalMs: HOUR }), points);
    assert.equal(results.filter((r) => r.anomaly).length, 0);
  });

  it('robust alarms on the daily burst it cannot model', () => {
    const { results } = run(initSeriesState('robust', {}), points);
    assert.ok(results.filter((r) => r.anomaly).length >= 10);
  });

  it('seasonal still flags a burst at an hour where none belongs', () => {
    const spiked = points.map((p, i) => (i === 24 * 15 + 12 ? { ...p, value: 60 } : p));
    const { results } = run(initSeriesState('seasonal', { seasonLength: 24, intervalMs: HOUR }), spiked);
    assert.deepEqual(
      results.flatMap((r, i) => (r.anomaly ? [i] : [])),
      [24 * 15 + 12],
    );
  });
});

describe('detector selection and configuration', () => {
  it('throws UnknownDetectorError (a ValidationError on path detector) for an unknown name', () => {
    assert.throws(
      () => initSeriesState('prophet'),
      (error: unknown) => error instanceof UnknownDetectorError && error instanceof ValidationError && error.issues[0]?.path === 'detector',
    );
  });

  it('rejects an invalid configuration naming the field', () => {
    assert.throws(
      () => initSeriesState('robust', { windowSize: 16, warmup: 32 }),
      (error: unknown) => error instanceof ValidationError && error.issues.some((issue) => issue.path === 'config.warmup'),
    );
    assert.throws(() => initSeriesState('seasonal', { warmupSeasons: 1 }), ValidationError);
  });

  it('honours direction: an upward-only detector ignores a drop', () => {
    const points = noisy(100);
    points[80] = { timestamp: 80 * 60_000, value: 0 };
    const { results } = run(initSeriesState('robust', { direction: 'up' }), points);
    assert.equal(results[80]?.anomaly, false);
    const both = run(initSeriesState('robust', {}), points).results;
    assert.equal(both[80]?.anomaly, true);
  });
});
