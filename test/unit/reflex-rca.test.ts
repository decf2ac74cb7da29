/**
 * Root-cause analysis (lib/reflex/rca.ts), table-driven: a chain, a diamond, simultaneous onsets,
 * a cycle, correlation breaking a tie, and an unobserved upstream lowering the confidence; plus the
 * statistics underneath (Spearman, the lead correlation, robust deviations).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CauseCandidate, deviations, leadCorrelation, type Point, rankCauses, spearman } from '../../lib/reflex/rca.ts';
import { ComponentIndex } from '../../lib/reflex/registry.ts';
import { type Component, componentSchema } from '../../lib/reflex/schemas.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T10:00:00Z');

/** A deterministic pseudo-random stream in [-1, 1) (an LCG). */
function noise(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
}

/** 60 minutely points: noise around 100, plus `fault(step)`. */
function series(seed: number, fault: (step: number) => number): Point[] {
  const next = noise(seed);
  return Array.from({ length: 60 }, (_, step): Point => [T0 + step * MINUTE, 100 + next() + fault(step)]);
}

const step = (from: number, height: number) => (at: number) => (at >= from ? height : 0);

function candidate(component: string, onsetStep: number, points: Point[]): CauseCandidate {
  const onset = T0 + onsetStep * MINUTE;
  return { component, onset, series: [{ series: `${component}.metric`, deviations: deviations(points, onset) }] };
}

function index(edges: Record<string, string[]>, withSeries = true): ComponentIndex {
  return new ComponentIndex(
    Object.entries(edges).map(
      ([id, dependsOn]): Component => componentSchema.parse({ id, kind: 'service', dependsOn, series: withSeries ? [`${id}.metric`] : [] }),
    ),
  );
}

interface Case {
  name: string;
  edges: Record<string, string[]>;
  candidates: CauseCandidate[];
  order: string[];
  /** Pairs expected to score the same. */
  ties?: Array<[string, string]>;
  check?: (causes: ReturnType<typeof rankCauses>['causes']) => void;
}

const cases: Case[] = [
  {
    name: 'a chain db ← api ← web: the most upstream and earliest first',
    edges: { db: [], api: ['db'], web: ['api'] },
    candidates: [
      candidate('web', 42, series(3, step(42, 12))),
      candidate('db', 40, series(1, step(40, 20))),
      candidate('api', 41, series(2, step(41, 15))),
    ],
    order: ['db', 'api', 'web'],
    check: (causes) => {
      const [db, api, web] = causes;
      assert.deepEqual(db?.factors.upstream, 1);
      assert.deepEqual(web?.factors.upstream, 0);
      assert.deepEqual(db?.evidence.explains, ['api', 'web']);
      assert.deepEqual(web?.evidence.explainedBy, ['api', 'db']);
      assert.equal(db?.evidence.lagMs, 0);
      assert.equal(web?.evidence.lagMs, 2 * MINUTE);
      assert.ok((db?.confidence ?? 0) > 0.6, `db confidence ${db?.confidence}`);
      assert.ok((db?.confidence ?? 0) > (api?.confidence ?? 1));
      assert.ok(db?.reasons.includes('earliest onset'));
    },
  },
  {
    name: 'a diamond a ← b, a ← c, b ← d, c ← d: the shared root first, the two middles tied',
    edges: { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] },
    candidates: [
      candidate('d', 42, series(4, step(42, 10))),
      candidate('c', 41, series(2, step(41, 10))),
      candidate('b', 41, series(2, step(41, 10))),
      candidate('a', 40, series(1, step(40, 10))),
    ],
    order: ['a', 'b', 'c', 'd'],
    ties: [['b', 'c']],
    check: (causes) => {
      assert.deepEqual(causes[0]?.evidence.explains, ['b', 'c', 'd']);
      assert.equal(causes[1]?.factors.upstream, 0.5);
    },
  },
  {
    name: 'simultaneous onsets: the graph alone decides',
    edges: { db: [], api: ['db'], web: ['api'] },
    candidates: [
      candidate('web', 40, series(3, step(40, 12))),
      candidate('api', 40, series(2, step(40, 12))),
      candidate('db', 40, series(1, step(40, 12))),
    ],
    order: ['db', 'api', 'web'],
    check: (causes) => {
      for (const cause of causes) assert.equal(cause.factors.onset, 1);
    },
  },
  {
    name: 'a cycle x ↔ y: the members explain each other, so the earlier onset decides',
    edges: { x: ['y'], y: ['x'] },
    candidates: [candidate('x', 45, series(1, step(45, 10))), candidate('y', 40, series(2, step(40, 10)))],
    order: ['y', 'x'],
    check: (causes) => {
      for (const cause of causes) assert.equal(cause.factors.upstream, 0.5);
      assert.deepEqual(causes[0]?.evidence.explains, ['x']);
      assert.deepEqual(causes[0]?.evidence.explainedBy, ['x']);
    },
  },
  {
    name: 'unconnected components with the same onset: the one whose deviations lead the others',
    edges: { p: [], q: [], r: [] },
    candidates: (() => {
      const wild = noise(9);
      const driver = Array.from({ length: 60 }, () => 10 * wild());
      const lagged = (seed: number) => {
        const small = noise(seed);
        return Array.from(
          { length: 60 },
          (_, at): Point => [T0 + at * MINUTE, 100 + (at >= 2 ? (driver[at - 2] as number) : 0) + 0.1 * small()],
        );
      };
      const p: Point[] = driver.map((value, at) => [T0 + at * MINUTE, 100 + value]);
      return [candidate('r', 30, lagged(5)), candidate('q', 30, lagged(5)), candidate('p', 30, p)];
    })(),
    order: ['p', 'q', 'r'],
    ties: [['q', 'r']],
    check: (causes) => {
      const [p] = causes;
      assert.ok((p?.factors.correlation ?? 0) > 0.9, `p correlation ${p?.factors.correlation}`);
      assert.deepEqual(
        p?.evidence.correlations.map((entry) => [entry.with, entry.lagSteps]),
        [
          ['q', 2],
          ['r', 2],
        ].sort(),
      );
      assert.ok(p?.reasons.some((reason) => /lead q by 2 step/.test(reason)));
    },
  },
];

describe('root-cause analysis', () => {
  for (const entry of cases) {
    it(`ranks ${entry.name}`, () => {
      const { causes, weights } = rankCauses(index(entry.edges), entry.candidates);
      assert.deepEqual(
        causes.map((cause) => cause.component),
        entry.order,
        JSON.stringify(causes.map((cause) => [cause.component, cause.score, cause.factors])),
      );
      assert.deepEqual(weights, { upstream: 0.5, onset: 0.3, correlation: 0.2 });
      for (const cause of causes) {
        assert.ok(cause.confidence >= 0 && cause.confidence <= 1);
        assert.ok(cause.score >= 0 && cause.score <= 1);
      }
      for (let i = 1; i < causes.length; i += 1) assert.ok((causes[i - 1]?.score ?? 0) >= (causes[i]?.score ?? 0));
      for (const [left, right] of entry.ties ?? []) {
        const score = (id: string) => causes.find((cause) => cause.component === id)?.score;
        assert.equal(score(left), score(right));
      }
      entry.check?.(causes);
      // The same input gives the same ranking.
      assert.deepEqual(rankCauses(index(entry.edges), entry.candidates).causes, causes);
    });
  }

  it('gives the only incident full confidence when its upstream is observed, and half when it is not', () => {
    const only = [candidate('api', 40, series(1, step(40, 10)))];
    const observed = rankCauses(index({ db: [], api: ['db'] }), only).causes[0];
    assert.equal(observed?.confidence, 1);
    assert.deepEqual(observed?.reasons, ['the only component with an open incident']);
    const hidden = rankCauses(index({ db: [], api: ['db'] }, false), only).causes[0];
    assert.equal(hidden?.confidence, 0.5);
    assert.deepEqual(hidden?.evidence.unobservedUpstream, ['db']);
  });

  it('merges two incidents of one component (earliest onset) and answers nothing for no candidates', () => {
    const { causes } = rankCauses(index({ db: [] }), [
      candidate('db', 45, series(1, step(45, 5))),
      candidate('db', 40, series(2, step(40, 5))),
    ]);
    assert.equal(causes.length, 1);
    assert.equal(causes[0]?.evidence.onset, new Date(T0 + 40 * MINUTE).toISOString());
    assert.deepEqual(rankCauses(index({}), []).causes, []);
  });
});

describe('rca statistics', () => {
  it("computes Spearman's rho with ties, and null for a constant sample", () => {
    assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 1000]), 1);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    assert.equal(spearman([1, 2, 3], [5, 5, 5]), null);
    assert.ok(Math.abs((spearman([1, 2, 2, 3], [1, 2, 3, 4]) ?? 0) - 0.9487) < 1e-3);
  });

  it('finds the lag by which one series leads another, and null below the aligned minimum', () => {
    const wild = noise(11);
    const a: Point[] = Array.from({ length: 40 }, (_, at) => [T0 + at * MINUTE, wild()]);
    const b: Point[] = a.map(([timestamp], at) => [timestamp, at >= 3 ? (a[at - 3] as Point)[1] : 0]);
    assert.deepEqual(leadCorrelation(a, b), { rho: 1, lagSteps: 3, n: 37 });
    assert.equal(leadCorrelation(a.slice(0, 6), b.slice(0, 6)), null);
  });

  it('scores deviations against the baseline before the onset', () => {
    const points: Point[] = [10, 11, 9, 10, 12, 8, 10, 40].map((value, at) => [T0 + at * MINUTE, value]);
    const scored = deviations(points, T0 + 7 * MINUTE);
    assert.equal(scored.length, 8);
    assert.ok((scored[7] as Point)[1] > 15);
    assert.ok(Math.abs((scored[0] as Point)[1]) < 1);
  });
});
