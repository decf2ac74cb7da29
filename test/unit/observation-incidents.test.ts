import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../../lib/errors.ts';
import {
  DEFAULT_INCIDENT_CONFIG,
  erfc,
  familiarStep,
  type IncidentConfig,
  type IncidentState,
  type IncidentUpdate,
  initIncidents,
  learnIncidents,
  logLikelihood,
  updateIncidents,
} from '../../lib/observation/incidents.ts';

const T0 = Date.parse('2026-11-25T00:00:00Z');
const MINUTE = 60_000;

/** Settings that leave only Numenta's likelihood: no histogram, no score floor, no range rule. */
const PLAIN: Partial<IncidentConfig> = { tailBins: 0, minScore: 0, rangeTolerance: 0, meanFloor: 0, varianceFloor: 1e-12 };

function feed(state: IncidentState, scores: readonly number[], start = 0): { state: IncidentState; updates: IncidentUpdate[] } {
  let current = state;
  const updates = scores.map((score, i) => {
    const update = updateIncidents(current, { timestamp: T0 + (start + i) * MINUTE, value: 100 + score, score });
    current = update.state;
    return update;
  });
  return { state: current, updates };
}

/** Deterministic noise in [0, 1). */
function noise(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

const relClose = (actual: number, expected: number, tolerance: number) =>
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.abs(expected), `${actual} ≠ ${expected} (±${tolerance} relative)`);

describe('incident likelihood', () => {
  it('computes erfc within 1.2e-7 relative', () => {
    // Reference values: Python's math.erfc.
    for (const [x, expected] of [
      [0.5, 0.4795001221869535],
      [2, 0.004677734981047265],
      [5, 1.5374597944280351e-12],
      [-1, 1.842700792949715],
    ] as const) {
      relClose(erfc(x), expected, 1.2e-7);
    }
  });

  it("maps a tail of 1e-5 to Numenta's log-likelihood 0.5", () => {
    relClose(logLikelihood(1e-5), 0.49999956570768955, 1e-12);
    assert.equal(logLikelihood(1), 0);
    assert.ok(Math.abs(logLikelihood(0) - 1) < 1e-12);
  });

  it('judges a score against the Gaussian of the scores before it (hand-computed)', () => {
    // saturation 1: scores 1 and 3 squash to 0.5 and 0.75, so μ = 0.625, σ² = 0.015625 (σ = 0.125).
    // Score 9 squashes to 0.9: z = 2.2, tail = ½·erfc(2.2/√2) = 0.01390344751349861.
    const state = initIncidents({ ...PLAIN, estimationSamples: 2, saturation: 1 });
    const { updates } = feed(state, [1, 3, 9]);
    const [first, second, third] = updates as [IncidentUpdate, IncidentUpdate, IncidentUpdate];
    assert.equal(first.likelihood, 0.5);
    assert.equal(second.likelihood, 0.5);
    assert.equal(third.shortMean, 0.9);
    relClose(third.longMean ?? 0, 0.625, 1e-12);
    relClose(third.longSd ?? 0, 0.125, 1e-12);
    relClose(1 - third.likelihood, 0.01390344751349861, 2e-7);
    relClose(third.logLikelihood, 0.18568774951513764, 1e-7);
  });

  it('averages the last shortWindow scores (hand-computed)', () => {
    // shortWindow 2: means 0.5 and 0.625 are learned (μ = 0.5625, σ² = 0.00390625); then (0.75 + 0.9)/2 = 0.825: z = 4.2.
    const state = initIncidents({ ...PLAIN, estimationSamples: 2, saturation: 1, shortWindow: 2 });
    const third = feed(state, [1, 3, 9]).updates[2] as IncidentUpdate;
    relClose(third.shortMean ?? 0, 0.825, 1e-12);
    relClose(1 - third.likelihood, 1.3345749015906383e-5, 2e-7);
    relClose(third.logLikelihood, 0.48746537927124034, 1e-7);
  });

  it('reports 0.5 through the learning period and the estimation samples, as Numenta does', () => {
    const { updates } = feed(initIncidents({ ...PLAIN, learningPeriod: 3, estimationSamples: 4 }), [1, 50, 1, 2, 1, 2, 1, 50]);
    assert.deepEqual(
      updates.map((update) => update.likelihood === 0.5 && update.shortMean === null),
      [true, true, true, true, true, true, true, false],
    );
    assert.equal(updates.at(-1)?.state.moments.n, 4);
  });

  it('applies the floors of the mean and variance to a series that always scores the same', () => {
    const { updates } = feed(
      initIncidents({ ...PLAIN, estimationSamples: 5, saturation: 1, meanFloor: 0.03, varianceFloor: 0.0003 }),
      [0, 0, 0, 0, 0, 0.01],
    );
    const last = updates.at(-1) as IncidentUpdate;
    assert.equal(last.longMean, 0.03);
    relClose(last.longSd ?? 0, Math.sqrt(0.0003), 1e-12);
    // 0.01 squashes to ~0.0099, below the floored mean: an ordinary point.
    assert.ok(last.likelihood < 0.5);
  });

  it('takes a value beyond the range seen by more than rangeTolerance as maximally unlikely', () => {
    let state = initIncidents({ ...PLAIN, estimationSamples: 3, rangeTolerance: 0.05, minScore: 3 });
    for (const value of [10, 20, 15, 12, 18]) state = updateIncidents(state, { timestamp: T0 + value * MINUTE, value, score: 1 }).state;
    const inside = updateIncidents(state, { timestamp: T0 + 30 * MINUTE, value: 20.4, score: 1 });
    const beyond = updateIncidents(state, { timestamp: T0 + 30 * MINUTE, value: 20.6, score: 1 });
    assert.equal(inside.opened, undefined);
    assert.ok(Math.abs(beyond.logLikelihood - 1) < 1e-9);
    assert.ok(beyond.opened, 'out of range opens even below minScore');
  });
});

describe('incidents: hysteresis and suppression', () => {
  const quiet = (n: number, random = noise(7)) => Array.from({ length: n }, () => 0.5 + random());

  it('opens one incident for a burst of anomalous scores, suppresses the rest, and closes after closeAfter calm points', () => {
    const state = initIncidents({ estimationSamples: 50, closeAfter: 4 });
    const scores = [...quiet(100), 40, 60, 90, 55, 45, 50, ...quiet(20)];
    const { updates, state: after } = feed(state, scores);
    const opened = updates.flatMap((update, i) => (update.opened ? [i] : []));
    const closed = updates.flatMap((update, i) => (update.closed ? [i] : []));
    assert.deepEqual(opened, [100]);
    // The burst's later points are at least as unlikely as its first, yet open nothing new.
    assert.ok(updates.slice(101, 106).every((update) => update.logLikelihood >= DEFAULT_INCIDENT_CONFIG.openLevel && !update.opened));
    // Closed on the 4th calm point after the burst: points 106..109.
    assert.deepEqual(closed, [109]);
    const end = updates[109]?.closed;
    assert.ok(end);
    assert.deepEqual(end.peak, { timestamp: T0 + 102 * MINUTE, value: 190, score: 90 });
    assert.equal(end.start, T0 + 100 * MINUTE);
    assert.equal(end.end, T0 + 109 * MINUTE);
    assert.equal(end.durationMs, 9 * MINUTE);
    assert.deepEqual(end.scores, {
      points: 10,
      mean: (40 + 60 + 90 + 55 + 45 + 50 + scores.slice(106, 110).reduce((a, b) => a + b, 0)) / 10,
      max: 90,
    });
    assert.equal(after.open, null);
    assert.deepEqual([after.opened, after.closed], [1, 1]);
  });

  it('keeps an incident open while calm points are interrupted, and opens a new one after it closed', () => {
    const state = initIncidents({ estimationSamples: 50, closeAfter: 3 });
    const scores = [...quiet(100), 50, 0.5, 0.5, 60, 0.5, 0.5, 0.5, ...quiet(30, noise(3)), 70];
    const { updates } = feed(state, scores);
    assert.deepEqual(
      updates.flatMap((update, i) => (update.opened ? [i] : [])),
      [100, 137],
    );
    assert.deepEqual(
      updates.flatMap((update, i) => (update.closed ? [i] : [])),
      [106],
    );
  });

  it('needs minScore from the detector before opening, however unlikely the score', () => {
    const state = initIncidents({ estimationSamples: 50, minScore: 3 });
    // Scores near 0.1 make σ tiny: 2.5 is extremely unlikely for this series but below minScore.
    const { updates } = feed(state, [...Array.from({ length: 100 }, () => 0.1), 2.5, 0.1, 0.1, 0.1, 3.5]);
    assert.ok((updates[100]?.logLikelihood ?? 0) > 0.5);
    assert.equal(updates[100]?.opened, undefined);
    assert.ok(updates[104]?.opened);
  });

  it('does not alert on a score level the series often reaches (the histogram), yet alerts on a new one', () => {
    // Mostly ~0.05, and every 20th point 2.9 (below minScore, so learned): the Gaussian stays narrow
    // (σ ≈ 0.05 in squashed units), and on its own it would call 3.3 a one-in-a-million point.
    const scores = [...Array.from({ length: 600 }, (_, i) => (i % 20 === 19 ? 2.9 : 0.05)), 3.3, 0.05, 0.05, 0.05, 0.05, 40];
    const withHistogram = feed(initIncidents({ estimationSamples: 50, rangeTolerance: 0 }), scores).updates;
    const gaussianOnly = feed(initIncidents({ estimationSamples: 50, rangeTolerance: 0, tailBins: 0 }), scores).updates;
    assert.ok(gaussianOnly[600]?.opened, 'the Gaussian alone opens on 3.3');
    assert.equal(withHistogram[600]?.opened, undefined);
    assert.ok((withHistogram[600]?.likelihood ?? 1) < 0.99);
    assert.ok(withHistogram[605]?.opened, 'a level never seen still opens');
  });

  it('stops alerting on a step between exact values the series keeps making, yet opens on a new one', () => {
    // Quantised telemetry: level 1, and every 100th point a drop to -0.2 that the detector scores 1e9
    // (its spread on the flat level is ~0); then a drop to -1, a value never seen.
    const values = [...Array.from({ length: 1050 }, (_, i) => (i % 100 === 99 ? -0.2 : 1)), -1, 1, 1, 1];
    const run = (config: Partial<IncidentConfig>) => {
      let state = initIncidents({ estimationSamples: 50, ...config });
      return values.map((value, i) => {
        const update = updateIncidents(state, { timestamp: T0 + i * MINUTE, value, score: value === 1 ? 0.01 : 1e9 });
        state = update.state;
        return update;
      });
    };
    const openedAt = (updates: IncidentUpdate[]) => updates.flatMap((update, i) => (update.opened ? [i] : []));
    // Without the rule every drop opens an incident (an opening's own score is never learned).
    assert.deepEqual(openedAt(run({ familiarTransitions: 0 })), [99, 199, 299, 399, 499, 599, 699, 799, 899, 999, 1050]);
    // With it, 1 → -0.2 is familiar once its decayed count reaches 2 (before the fourth drop): 1 + e^(-0.05) < 2 ≤ 1 + e^(-0.05) + e^(-0.1).
    const withRule = run({});
    assert.deepEqual(openedAt(withRule), [99, 199, 299, 1050]);
    assert.equal(withRule[1050]?.opened?.peak.score, 1e9, 'the evidence keeps the detector score');
  });

  it('remembers at most familiarTransitions steps, forgetting the weakest, and decays their counts', () => {
    let state = initIncidents({ familiarTransitions: 2, familiarMemory: 10 });
    for (const [i, value] of [1, 2, 1, 2, 1, 3].entries())
      state = updateIncidents(state, { timestamp: T0 + i * MINUTE, value, score: 0 }).state;
    // 1→2 and 2→1 twice each (counts decay between), then 1→3 replaces the weaker, 1→2 (last seen earlier).
    assert.equal(state.transitions?.length, 2);
    assert.deepEqual(
      state.transitions?.map(([from, to]) => [from, to]),
      [
        [2, 1],
        [1, 3],
      ],
    );
    const [, , count, at] = state.transitions?.[0] ?? [];
    assert.equal(at, 5);
    relClose(count ?? 0, 1 + Math.exp(-0.2), 1e-12);
    // A step's count decays by e every familiarMemory points; familiar once the decayed count reaches familiarVisits.
    const later = familiarStep({ ...state, previous: 2 }, 1, 5 + 10);
    relClose(later.transitions[0]?.[2] ?? 0, (1 + Math.exp(-0.2)) * Math.exp(-1) + 1, 1e-12);
    assert.equal(later.familiar, false);
    assert.equal(familiarStep({ ...state, previous: 2 }, 1, 6).familiar, false);
    assert.equal(familiarStep({ ...state, previous: 2, config: { ...state.config, familiarVisits: 1.5 } }, 1, 6).familiar, true);
  });

  it('keeps the rule off for a state stored before it (no transitions, no setting)', () => {
    const stored = feed(initIncidents(), [1, 2, 3]).state;
    const { familiarTransitions: _, ...oldConfig } = stored.config;
    const { previous: __, transitions: ___, ...oldState } = stored;
    const old = { ...oldState, config: oldConfig } as IncidentState;
    assert.deepEqual(familiarStep(old, 5, 4), { familiar: false, transitions: [] });
    const update = updateIncidents(old, { timestamp: T0, value: 5, score: 1 });
    assert.deepEqual(update.state.transitions, []);
    assert.equal(update.state.previous, 5);
  });

  it('learns from replayed points without leaving an incident open or counting one', () => {
    const points = [...quiet(80), 90, 90, 90].map((score, i) => ({ timestamp: T0 + i * MINUTE, value: score, score }));
    const warmed = learnIncidents(initIncidents({ estimationSamples: 50 }), points);
    assert.equal(warmed.open, null);
    assert.equal(warmed.opened, 0);
    assert.equal(warmed.seen, 83);
    assert.equal(warmed.moments.n, 83);
  });

  it('refuses bad settings, naming them', () => {
    assert.throws(
      () => initIncidents({ closeLevel: 0.6, openLevel: 0.5 }),
      (error: unknown) => error instanceof ValidationError && JSON.stringify(error.issues).includes('incidents.closeLevel'),
    );
    assert.throws(
      () => initIncidents({ shortWindow: 0 }),
      (error: unknown) => error instanceof ValidationError && JSON.stringify(error.issues).includes('incidents.shortWindow'),
    );
    assert.throws(
      () => initIncidents({ familiarTransitions: 65 }),
      (error: unknown) => error instanceof ValidationError && JSON.stringify(error.issues).includes('incidents.familiarTransitions'),
    );
    assert.throws(() => initIncidents({ bogus: 1 } as Partial<IncidentConfig>), ValidationError);
  });
});

describe('incident state', () => {
  it('stays within 2 KB of JSON and finite, whatever the scores (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ min: 0, max: 1e100, noNaN: true }), fc.constant(0), fc.double({ min: 0, max: 10, noNaN: true })), {
          maxLength: 400,
        }),
        fc.integer({ min: 1, max: 100 }),
        (scores, shortWindow) => {
          const { state } = feed(initIncidents({ estimationSamples: 10, shortWindow }), scores);
          const json = JSON.stringify(state);
          assert.ok(Buffer.byteLength(json) <= 4096, `${Buffer.byteLength(json)} bytes`);
          assert.ok(!json.includes('null,null') || state.min === null);
          assert.ok(state.recent.length <= shortWindow);
          assert.ok([state.moments.mean, state.moments.variance, ...state.bins].every(Number.isFinite));
        },
      ),
      { numRuns: 60 },
    );
    // The defaults, after a long series: a few hundred bytes, independent of its length.
    const random = noise(5);
    const long = feed(
      initIncidents(),
      Array.from({ length: 20_000 }, (_, i) => (i % 997 === 0 ? 50 : random() * 2)),
    ).state;
    assert.ok(Buffer.byteLength(JSON.stringify(long)) < 2048, `${Buffer.byteLength(JSON.stringify(long))} bytes`);
  });

  it('continues identically after a JSON round trip (as stored in the series record)', () => {
    const random = noise(9);
    const scores = Array.from({ length: 300 }, (_, i) => (i === 150 || i === 151 ? 80 : random() * 2));
    const first = feed(initIncidents({ estimationSamples: 50 }), scores.slice(0, 151));
    assert.ok(first.state.open, 'an incident is open at the cut');
    const restored = JSON.parse(JSON.stringify(first.state)) as IncidentState;
    assert.deepEqual(restored, first.state);
    const a = feed(first.state, scores.slice(151), 151).updates;
    const b = feed(restored, scores.slice(151), 151).updates;
    assert.deepEqual(b, a);
    assert.ok(a.some((update) => update.closed));
  });

  it('never mutates the state it is given', () => {
    const state = feed(initIncidents({ estimationSamples: 10 }), [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]).state;
    const copy = structuredClone(state);
    updateIncidents(state, { timestamp: T0, value: 1, score: 500 });
    assert.deepEqual(state, copy);
  });
});
