/**
 * Predictive scaling (lib/replication/predictive.ts) on the Observation engine's ETS forecasts, and
 * the N+1 redundancy check across zones (lib/replication/redundancy.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecentPoint } from '../../lib/observation/ports.ts';
import { capacityPlan, compareForecasts, forecastCapacity, predictiveFloor } from '../../lib/replication/predictive.ts';
import { checkRedundancy, n1Count, spreadOver, survivingReplicas } from '../../lib/replication/redundancy.ts';

const HOUR = 3_600_000;
// Four days of hourly load with a daily cycle between 100 and 500 requests per second.
const daily: RecentPoint[] = Array.from({ length: 96 }, (_, i) => [
  Date.UTC(2026, 0, 1) + i * HOUR,
  300 + 200 * Math.sin((2 * Math.PI * i) / 24),
]);

describe('predictive capacity', () => {
  it('needs ceil(load × (1 + buffer) / per-replica target) per period, within min and max', () => {
    const plan = capacityPlan(
      [
        { time: 'a', value: 430 },
        { time: 'b', value: 10 },
        { time: 'c', value: 5000 },
        { time: 'd', value: -3 },
      ],
      { targetPerReplica: 50, bufferPercent: 10 },
      { min: 2, max: 20 },
    );
    assert.deepEqual(
      plan.map((p) => p.capacity),
      [10, 2, 20, 2],
    );
  });

  it("forecasts a daily cycle with the Observation engine's Holt-Winters model and follows it", () => {
    const { report, plan } = forecastCapacity(
      daily,
      {
        mode: 'forecast-only',
        series: 'rps',
        targetPerReplica: 50,
        bufferPercent: 0,
        leadSeconds: 600,
        horizon: 24,
        model: 'AAA',
        seasonLength: 24,
      },
      { min: 1, max: 50 },
    );
    assert.equal(report.model, 'AAA');
    const peak = plan.reduce((a, b) => (b.capacity > a.capacity ? b : a));
    const trough = plan.reduce((a, b) => (b.capacity < a.capacity ? b : a));
    // The cycle peaks at 500 (10 replicas of 50) six hours into each day and bottoms at 100 (2).
    assert.ok(peak.capacity >= 9 && peak.capacity <= 11, `peak ${peak.capacity}`);
    assert.ok(trough.capacity >= 1 && trough.capacity <= 3, `trough ${trough.capacity}`);
    const peakLoad = plan.reduce((a, b) => (b.load > a.load ? b : a));
    assert.equal(new Date(peakLoad.time).getUTCHours(), 6);
    assert.ok(Math.abs(peakLoad.load - 500) < 25, `peak load ${peakLoad.load}`);
  });

  it('pre-scales by the lead time: the largest capacity of the periods starting before now + lead', () => {
    const plan = [
      { time: new Date(1 * HOUR).toISOString(), load: 0, capacity: 3 },
      { time: new Date(2 * HOUR).toISOString(), load: 0, capacity: 8 },
      { time: new Date(3 * HOUR).toISOString(), load: 0, capacity: 5 },
    ];
    assert.equal(predictiveFloor(plan, 0.5 * HOUR, 0, HOUR), 3, 'no lead: the period in progress');
    assert.equal(predictiveFloor(plan, 0.5 * HOUR, 1800, HOUR), 8, 'the next period starts within 30 minutes');
    assert.equal(predictiveFloor(plan, 4 * HOUR, 600, HOUR), undefined, 'a stale plan sets nothing');
  });

  it('compares recorded forecasts with the load that came and what reactive scaling had', () => {
    const recorded = [
      { time: new Date(HOUR).toISOString(), load: 100, capacity: 2 },
      { time: new Date(2 * HOUR).toISOString(), load: 200, capacity: 4 },
      { time: new Date(3 * HOUR).toISOString(), load: 300, capacity: 6 },
    ];
    const actual: RecentPoint[] = [
      [0.5 * HOUR, 100],
      [1.5 * HOUR, 240],
      [1.9 * HOUR, 260],
    ];
    const report = compareForecasts(
      recorded,
      actual,
      [
        { at: 0, replicas: 2 },
        { at: 1.2 * HOUR, replicas: 3 },
      ],
      { targetPerReplica: 50, bufferPercent: 0 },
      HOUR,
      2.5 * HOUR,
    );
    assert.equal(report.periods.length, 2, 'the future period is not compared');
    assert.deepEqual(
      report.periods.map((p) => [p.actualLoad, p.neededCapacity, p.reactiveCapacity]),
      [
        [100, 2, 2],
        [250, 5, 3],
      ],
    );
    assert.equal(report.mape, (0 + 50 / 250) / 2);
    assert.equal(report.predictiveShort, 1);
    assert.equal(report.reactiveShort, 1);
  });
});

describe('N+1 across zones', () => {
  it('spreads evenly and counts what is left after losing the fullest zone', () => {
    assert.deepEqual(spreadOver(5, ['a', 'b', 'c']), { a: 2, b: 2, c: 1 });
    assert.equal(survivingReplicas(5, 3), 3);
    assert.equal(survivingReplicas(4, 1), 0);
  });

  it('finds the smallest count that survives any one zone', () => {
    assert.equal(n1Count(4, 3), 6);
    assert.equal(n1Count(4, 2), 8);
    assert.equal(n1Count(5, 3), 8, '3+3+2: losing a 3 leaves 5');
    assert.equal(n1Count(1, 3), 2);
    assert.equal(n1Count(3, 1), undefined);
    for (let needed = 1; needed <= 40; needed += 1) {
      for (let zones = 2; zones <= 6; zones += 1) {
        const count = n1Count(needed, zones) as number;
        assert.ok(survivingReplicas(count, zones) >= needed && survivingReplicas(count - 1, zones) < needed, `${needed} over ${zones}`);
      }
    }
  });

  it('raises the count, flags it, or names max when it caps the count', () => {
    assert.equal(checkRedundancy({ desired: 4, needed: 4, zones: ['a', 'b', 'c'], max: 10, mode: 'raise' }).replicas, 6);
    const flagged = checkRedundancy({ desired: 4, needed: 4, zones: ['a', 'b', 'c'], max: 10, mode: 'flag' });
    assert.deepEqual([flagged.ok, flagged.replicas], [false, 4]);
    const capped = checkRedundancy({ desired: 4, needed: 4, zones: ['a', 'b'], max: 6, mode: 'raise' });
    assert.deepEqual([capped.ok, capped.replicas], [false, 6]);
    assert.match(capped.reason, /above max 6/);
    const single = checkRedundancy({ desired: 4, needed: 4, zones: ['a'], max: 10, mode: 'raise' });
    assert.equal(single.ok, false);
    assert.ok(checkRedundancy({ desired: 9, needed: 4, zones: ['a', 'b', 'c'], max: 10, mode: 'raise' }).ok);
  });
});
