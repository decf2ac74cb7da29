import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../../lib/errors.ts';
import type { ObservedPoint } from '../../lib/observation/detector-contract.ts';
import { initSeriesState, type SeriesState, updateSeriesState } from '../../lib/observation/detector-registry.ts';
import { calibrationScale, exclusionZone, knnDetector, nonConformity } from '../../lib/observation/knn.ts';

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

/** A repeating shape (a 12-point sawtooth) with a little noise. */
function sawtooth(n: number, seed = 5): ObservedPoint[] {
  const noise = noiseSource(seed);
  return Array.from({ length: n }, (_, i) => ({ timestamp: i * 60_000, value: 10 + (i % 12) + 0.2 * noise() }));
}

/** The same non-conformity by brute force: every earlier vector outside the exclusion zone, sorted. */
function bruteForce(values: readonly number[], dim: number, k: number): number | null {
  const last = values.length - 1;
  const distances: number[] = [];
  for (let end = dim - 1; end <= last - exclusionZone(dim); end += 1) {
    let d2 = 0;
    for (let j = 0; j < dim; j += 1) d2 += ((values[last - j] as number) - (values[end - j] as number)) ** 2;
    distances.push(Math.sqrt(d2));
  }
  if (last < dim - 1 || distances.length < k) return null;
  distances.sort((a, b) => a - b);
  return distances.slice(0, k).reduce((a, b) => a + b, 0) / k;
}

describe('knn non-conformity', () => {
  it('equals the mean distance to the k nearest earlier vectors outside the exclusion zone', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 5 }),
        (values, dim, k) => {
          const expected = bruteForce(values, dim, k);
          const got = nonConformity(values, dim, k);
          if (expected === null) assert.equal(got, null);
          else assert.ok(got !== null && Math.abs(got.ncm - expected) <= 1e-9 * Math.max(1, expected));
        },
      ),
    );
  });

  it('is zero for a shape seen k times before, and the neighbours predict the value', () => {
    const values = [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3];
    const result = nonConformity(values, 3, 2);
    assert.deepEqual(result, { ncm: 0, expected: 3 });
  });

  it('guards a zero spread of the calibration set like robust does', () => {
    assert.equal(calibrationScale([1, 1, 1, 1, 1, 1, 5, 9], 0).source, 'mean-abs-dev');
    const flat = calibrationScale([0, 0, 0, 0], 0);
    assert.equal(flat.source, 'floor');
    assert.ok(flat.scale > 0 && Number.isFinite(flat.scale));
    assert.equal(calibrationScale([0, 0, 0, 0], 0.5).scale, 0.5);
  });
});

describe('knn detector', () => {
  it('raises no alarm during warm-up, even on a huge spike', () => {
    const points = sawtooth(60);
    points[59] = { timestamp: 59 * 60_000, value: 1e6 };
    const { results } = run(initSeriesState('knn'), points);
    assert.equal(
      results.some((r) => r.anomaly),
      false,
    );
    assert.ok(results.every((r) => r.evidence.warmingUp && r.score === 0));
  });

  it('learns a repeating shape, and flags a break in it with the value the neighbours expected', () => {
    // Non-conformities are heavy-tailed: noise alone reaches ~5 calibration spreads, a break hundreds.
    const config = { threshold: 10 };
    const points = sawtooth(300);
    const { results } = run(initSeriesState('knn', config), points);
    const falseAlarms = results.filter((r) => r.anomaly).length;
    assert.equal(falseAlarms, 0, `${falseAlarms} alarms on a repeating shape`);
    // A break in the shape: the ramp stalls for two points.
    const broken = points.map((p, i) => (i === 200 || i === 201 ? { ...p, value: 10 } : p));
    const after = run(initSeriesState('knn', config), broken).results;
    const flagged = after.flatMap((r, i) => (r.anomaly ? [i] : []));
    assert.ok(flagged.includes(200), `break not flagged (flagged ${flagged.join(', ')}; score ${after[200]?.score})`);
    assert.ok(
      flagged.every((i) => i >= 200 && i < 200 + 12),
      `flags outside the break: ${flagged.join(', ')}`,
    );
    const evidence = after[200]?.evidence;
    assert.equal(evidence?.detector, 'knn');
    // The nearest shapes are chosen with the broken value in them, so their value leans towards it, but
    // stays near the ramp's 18 (10 + 200 mod 12), far from the stalled 10.
    assert.ok(
      evidence?.expected !== null && evidence?.expected !== undefined && Math.abs(evidence.expected - 18) < 1.5,
      `${evidence?.expected}`,
    );
    assert.equal(evidence?.deviation, 10 - (evidence?.expected as number));
  });

  it('keeps the state bounded (under 3 KB as JSON with the defaults) and JSON-serialisable over 100k points', () => {
    let state = initSeriesState('knn');
    const noise = noiseSource(3);
    let sizeAt10k = 0;
    let largest = 0;
    for (let i = 0; i < 100_000; i += 1) {
      state = updateSeriesState(state, { timestamp: i * 1000, value: 50 + 10 * noise() + 1e-7 * i }).state;
      if (i === 9_999) sizeAt10k = JSON.stringify(state).length;
      if (i % 997 === 0) largest = Math.max(largest, JSON.stringify(state).length);
    }
    const size = JSON.stringify(state).length;
    assert.ok(Math.max(size, largest) < 3072, `state is ${Math.max(size, largest)} bytes`);
    assert.ok(size - sizeAt10k < 64, `state grew from ${sizeAt10k} to ${size} bytes`);
    assert.deepEqual(JSON.parse(JSON.stringify(state)), state);
    assert.equal(state.version, 100_000);
    if (state.detector !== 'knn') throw new Error('not a knn state');
    assert.equal(state.ring.length, 96);
    assert.equal(state.cal.length, 32);
  });

  it('is deterministic, does not mutate the input state, and ignores out-of-order and duplicate points', () => {
    const points = sawtooth(150);
    const initial = initSeriesState('knn');
    const first = run(initial, points);
    const snapshot = JSON.stringify(first.state);
    assert.deepEqual(run(initial, points).results, first.results);
    const last = first.state.stats.lastTimestamp as number;
    const older = updateSeriesState(first.state, { timestamp: last - 1, value: 1e9 });
    assert.equal(older.evidence.skipped, 'out-of-order');
    const duplicate = updateSeriesState(older.state, { timestamp: last, value: 1e9 });
    assert.equal(duplicate.evidence.skipped, 'duplicate');
    assert.equal(JSON.stringify(first.state), snapshot);
    const { stats: _s1, version: _v1, ...before } = first.state;
    const { stats: _s2, version: _v2, ...after } = duplicate.state;
    assert.deepEqual(after, before);
  });

  it('rejects a window too small for k candidates outside the exclusion zone, naming the field', () => {
    assert.throws(
      () => knnDetector.init({ dim: 16, k: 5, window: 24 }),
      (error: unknown) => error instanceof ValidationError && error.issues.some((issue) => issue.path === 'config.window'),
    );
    assert.throws(() => knnDetector.init({ window: 4096 }), ValidationError);
    assert.equal(knnDetector.init({ dim: 16, k: 5, window: 28 }).config.window, 28);
  });
});
