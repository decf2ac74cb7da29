/**
 * Case-based recovery (lib/reflex/cases.ts): metric names, shapes read from points, signature
 * distances, the Beta posteriors with neighbouring cases, Thompson sampling deterministic given a
 * seed, escalation, and a case base that learns which playbook works.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  betaSample,
  CASE_DEFAULTS,
  type ClusterStats,
  choosePlaybook,
  clusterOf,
  learn,
  metricName,
  nearestCases,
  posteriorsFor,
  seededRandom,
  shapeOf,
  signatureDistance,
  signatureOf,
} from '../../lib/reflex/cases.ts';
import type { Point } from '../../lib/reflex/rca.ts';
import type { Case, Playbook, Signature } from '../../lib/reflex/schemas.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T10:00:00Z');
const ONSET = T0 + 40 * MINUTE;

/** 40 baseline points (a small deterministic wobble around 100), then `after(i)` for 20 points. */
function points(after: (i: number) => number): Point[] {
  const wobble = [0.4, -0.3, 0.1, -0.5, 0.2, 0.6, -0.1, -0.4];
  const base = Array.from({ length: 40 }, (_, i): Point => [T0 + i * MINUTE, 100 + (wobble[i % wobble.length] as number)]);
  return [...base, ...Array.from({ length: 20 }, (_, i): Point => [ONSET + i * MINUTE, after(i)])];
}

const signature = (overrides: Partial<Signature> = {}): Signature => ({
  kind: 'lambda',
  metrics: ['errors', 'latency'],
  direction: 'up',
  shape: 'level-shift',
  ...overrides,
});

let caseCounter = 0;
const pastCase = (overrides: Partial<Case> & { signature: Signature; playbook: Playbook; outcome: Case['outcome'] }): Case => {
  caseCounter += 1;
  return {
    caseId: `case-${caseCounter}`,
    incidentId: `inc-${caseCounter}`,
    component: 'api',
    cluster: clusterOf(overrides.signature),
    at: new Date(T0 - caseCounter * MINUTE).toISOString(),
    ...overrides,
  };
};

describe('incident signatures', () => {
  it('names metrics relative to the component, else by the last segment', () => {
    assert.equal(metricName('api.checkout.latency.p95', 'api.checkout'), 'latency.p95');
    assert.equal(metricName('endpoint/chat:errors', 'endpoint/chat'), 'errors');
    assert.equal(metricName('shop.db:cpu', 'orders-db'), 'cpu');
    assert.equal(metricName('rps', 'web'), 'rps');
  });

  const shapes: Array<{ name: string; after: (i: number) => number; shape: string; direction: 'up' | 'down' }> = [
    { name: 'one high point, then back', after: (i) => (i === 0 ? 180 : 100 + (i % 2 ? 0.2 : -0.2)), shape: 'spike', direction: 'up' },
    { name: 'a step up that stays', after: (i) => 140 + (i % 3) * 0.3, shape: 'level-shift', direction: 'up' },
    { name: 'a step down that stays', after: () => 60, shape: 'level-shift', direction: 'down' },
    { name: 'a steady ramp', after: (i) => 100 + 3 * (i + 1), shape: 'trend', direction: 'up' },
    { name: 'swings around the baseline', after: (i) => (i % 2 === 0 ? 130 : 70), shape: 'oscillation', direction: 'up' },
  ];
  for (const entry of shapes) {
    it(`reads ${entry.shape} (${entry.direction}) from ${entry.name}`, () => {
      const reading = shapeOf(points(entry.after), ONSET);
      assert.equal(reading.shape, entry.shape, JSON.stringify(reading));
      assert.equal(reading.direction, entry.direction);
    });
  }

  it('builds a signature with sorted, unique metrics', () => {
    const built = signatureOf({ kind: 'lambda', metrics: ['latency', 'errors', 'latency'], points: points(() => 150), onset: ONSET });
    assert.deepEqual([built.kind, built.metrics, built.direction, built.shape], ['lambda', ['errors', 'latency'], 'up', 'level-shift']);
  });

  it('measures distance by kind, metrics, direction and shape', () => {
    assert.equal(signatureDistance(signature(), signature()), 0);
    assert.equal(signatureDistance(signature(), signature({ kind: 'endpoint' })), 0.4);
    assert.equal(signatureDistance(signature(), signature({ metrics: ['errors'] })), 0.1);
    assert.equal(signatureDistance(signature(), signature({ direction: 'down', shape: 'spike' })), 0.4);
    assert.equal(signatureDistance(signature(), { kind: 'queue', metrics: ['depth'], direction: 'down', shape: 'trend' }), 1);
    assert.equal(clusterOf(signature()), 'lambda|up|level-shift');
  });

  it('lists the nearest cases, the newest first among equals', () => {
    const cases = [
      pastCase({ signature: signature({ kind: 'queue' }), playbook: 'restart', outcome: 'recovered' }),
      pastCase({ signature: signature(), playbook: 'restart', outcome: 'recovered' }),
      pastCase({ signature: signature(), playbook: 'roll-back', outcome: 'not-recovered' }),
    ];
    const nearest = nearestCases(signature(), cases, 2);
    assert.deepEqual(
      nearest.map((entry) => [entry.case.caseId, entry.distance]),
      [
        [cases[1]?.caseId, 0],
        [cases[2]?.caseId, 0],
      ],
    );
  });
});

describe('playbook choice', () => {
  it('adds nearby cases of other clusters at half weight, scaled by similarity', () => {
    const neighbour = pastCase({ signature: signature({ shape: 'spike' }), playbook: 'restart', outcome: 'recovered' });
    const far = pastCase({
      signature: { kind: 'queue', metrics: ['depth'], direction: 'down', shape: 'trend' },
      playbook: 'restart',
      outcome: 'not-recovered',
    });
    const [restart, rollBack] = posteriorsFor(signature(), ['restart', 'roll-back'], { restart: { successes: 2, failures: 1 } }, [
      neighbour,
      far,
    ]);
    // 1 + 2 + 0.5 × (1 − 0.2) successes; 1 + 1 failures (the far case is outside the radius).
    assert.deepEqual(restart, { playbook: 'restart', alpha: 3.4, beta: 2, mean: 0.6296 });
    assert.deepEqual(rollBack, { playbook: 'roll-back', alpha: 1, beta: 1, mean: 0.5 });
  });

  it('is deterministic given the seed, and draws Beta variates with the right mean', () => {
    const input = {
      signature: signature(),
      available: [...playbooksAll()],
      tried: [],
      stats: {},
      cases: [],
      causeConfidence: 0.9,
      seed: 'acme/inc-1/1',
    };
    assert.deepEqual(choosePlaybook(input), choosePlaybook(input));
    const chosen = new Set(Array.from({ length: 40 }, (_, i) => choosePlaybook({ ...input, seed: `acme/inc-${i}/1` }).playbook));
    assert.ok(chosen.size >= 3, `without history every playbook gets its chance: ${[...chosen]}`);
    const random = seededRandom('beta');
    const draws = Array.from({ length: 4000 }, () => betaSample(2, 5, random));
    const mean = draws.reduce((sum, value) => sum + value, 0) / draws.length;
    assert.ok(Math.abs(mean - 2 / 7) < 0.015, `mean ${mean}`);
    assert.ok(draws.every((value) => value >= 0 && value <= 1));
  });

  it('picks the playbook with the clearly better record and never one already tried', () => {
    const stats: ClusterStats = { restart: { successes: 1, failures: 12 }, 'roll-back': { successes: 15, failures: 1 } };
    for (let i = 0; i < 20; i += 1) {
      const match = choosePlaybook({
        signature: signature(),
        available: ['restart', 'roll-back'],
        tried: [],
        stats,
        cases: [],
        causeConfidence: 0.9,
        seed: `s${i}`,
      });
      assert.equal(match.playbook, 'roll-back');
      assert.equal(match.escalate, false);
      assert.equal(match.confidence, 0.8889);
    }
    const afterFailure = choosePlaybook({
      signature: signature(),
      available: ['restart', 'roll-back'],
      tried: ['roll-back'],
      stats,
      cases: [],
      causeConfidence: 0.9,
      seed: 's',
    });
    assert.equal(afterFailure.playbook, 'restart');
    assert.deepEqual(
      afterFailure.posteriors.map((posterior) => posterior.playbook),
      ['restart'],
    );
  });

  const escalations: Array<{
    name: string;
    tried: Playbook[];
    available: Playbook[];
    stats?: ClusterStats;
    causeConfidence?: number;
    reason: RegExp;
    playbook?: Playbook | null;
  }> = [
    {
      name: `after ${CASE_DEFAULTS.maxFailedPlaybooks} failed playbooks`,
      tried: ['restart', 'roll-back', 'scale-out'],
      available: [...playbooksAll()],
      reason: /3 playbooks failed/,
    },
    { name: 'when no bound playbook is left', tried: ['restart'], available: ['restart'], reason: /no playbook left/, playbook: null },
    {
      name: 'when the root cause is uncertain',
      tried: [],
      available: ['restart'],
      causeConfidence: 0.2,
      reason: /root cause is uncertain/,
      playbook: 'restart',
    },
    {
      name: 'when the playbook rarely works for this kind of case',
      tried: [],
      available: ['restart'],
      stats: { restart: { successes: 0, failures: 8 } },
      reason: /recovered this kind of case rarely/,
      playbook: 'restart',
    },
  ];
  for (const entry of escalations) {
    it(`escalates ${entry.name}`, () => {
      const match = choosePlaybook({
        signature: signature(),
        available: entry.available,
        tried: entry.tried,
        stats: entry.stats ?? {},
        cases: [],
        causeConfidence: entry.causeConfidence ?? 0.9,
        seed: 'x',
      });
      assert.equal(match.escalate, true);
      if (entry.playbook === undefined) assert.ok(match.playbook && !entry.tried.includes(match.playbook));
      else assert.equal(match.playbook, entry.playbook);
      assert.ok(
        match.reasons.some((reason) => entry.reason.test(reason)),
        match.reasons.join(' | '),
      );
    });
  }

  it('learns from written-back outcomes: the playbook that works takes over', () => {
    // In this cluster roll-back recovers 90% of incidents and restart 20%.
    const truth: Record<string, number> = { restart: 0.2, 'roll-back': 0.9 };
    const world = seededRandom('world');
    let stats: ClusterStats = {};
    const chosen: Playbook[] = [];
    for (let i = 0; i < 80; i += 1) {
      const match = choosePlaybook({
        signature: signature(),
        available: ['restart', 'roll-back'],
        tried: [],
        stats,
        cases: [],
        causeConfidence: 0.9,
        seed: `acme/inc-${i}/1`,
      });
      assert.ok(match.playbook);
      chosen.push(match.playbook);
      stats = learn(stats, match.playbook, world() < (truth[match.playbook] ?? 0) ? 'recovered' : 'not-recovered');
    }
    const late = chosen.slice(-30).filter((playbook) => playbook === 'roll-back').length;
    assert.ok(late >= 26, `roll-back chosen ${late} of the last 30 times`);
    const total =
      (stats['roll-back']?.successes ?? 0) +
      (stats['roll-back']?.failures ?? 0) +
      (stats.restart?.successes ?? 0) +
      (stats.restart?.failures ?? 0);
    assert.equal(total, 80);
  });
});

function playbooksAll(): Playbook[] {
  return ['restart', 'roll-back', 'scale-out', 'fail-over', 'throttle', 'quarantine'];
}
