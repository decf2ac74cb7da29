/**
 * The HPA arithmetic (lib/replication/hpa.ts) against the worked examples of the Kubernetes
 * documentation, each quoted with its source, and the controller's rules the documentation states
 * (tolerance, missing and unready replicas, several metrics, stabilisation, policies, min/max).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_BEHAVIOR,
  evaluate,
  limitRate,
  type Recommendation,
  replicasForMetric,
  replicasForMetrics,
  type ScaleEvent,
  scaleDownLimit,
  stabilize,
  withDefaults,
} from '../../lib/replication/hpa.ts';

const TASK_PAGE = 'https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/';
const CONCEPT_PAGE = 'https://kubernetes.io/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale/';
const cpu = (value: number, target = 100) => ({ name: 'cpu', kind: 'average' as const, target, value });
const replicasOf = (result: ReturnType<typeof replicasForMetric>) => ('replicas' in result ? result.replicas : Number.NaN);

describe('HPA algorithm details', () => {
  it(`doubles the replicas at 200m against 100m (${TASK_PAGE})`, () => {
    // "if the current metric value is 200m, and the desired value is 100m, the number of replicas
    // will be doubled, since 200.0 / 100.0 == 2.0"
    assert.equal(replicasOf(replicasForMetric(1, cpu(200))), 2);
    assert.equal(replicasOf(replicasForMetric(6, cpu(200))), 12);
  });

  it(`halves the replicas at 50m against 100m (${TASK_PAGE})`, () => {
    // "If the current value is instead 50m, you'll halve the number of replicas, since 50.0 / 100.0 == 0.5"
    assert.equal(replicasOf(replicasForMetric(4, cpu(50))), 2);
    assert.equal(replicasOf(replicasForMetric(1, cpu(50))), 1, 'ceil(0.5) is 1');
  });

  it(`skips scaling within the 0.1 tolerance and scales just outside it (${TASK_PAGE})`, () => {
    // "The control plane skips any scaling action if the ratio is sufficiently close to 1.0 (within a
    // configurable tolerance, 0.1 by default)."
    assert.equal(replicasOf(replicasForMetric(10, cpu(110))), 10);
    assert.equal(replicasOf(replicasForMetric(10, cpu(90))), 10);
    assert.equal(replicasOf(replicasForMetric(10, cpu(111))), 12);
    assert.equal(replicasOf(replicasForMetric(10, cpu(89))), 9);
  });

  it(`applies a per-direction tolerance: a 5% scale-up tolerance scales at 106 of 100 (${CONCEPT_PAGE}#tolerance)`, () => {
    // "the HPA algorithm will only consider scaling up if the memory consumption is higher than 105MiB"
    const behavior = withDefaults({ scaleUp: { tolerance: 0.05 } });
    assert.equal(replicasOf(replicasForMetric(10, cpu(105), behavior)), 10);
    assert.equal(replicasOf(replicasForMetric(10, cpu(106), behavior)), 11);
    assert.equal(replicasOf(replicasForMetric(10, cpu(91), behavior)), 10, 'scale-down tolerance stays 10%');
  });

  it('divides a total by the per-replica target (an external metric with an AverageValue target)', () => {
    assert.equal(replicasOf(replicasForMetric(2, { name: 'rps', kind: 'total', target: 50, value: 430 })), 9);
    assert.equal(
      replicasOf(replicasForMetric(9, { name: 'rps', kind: 'total', target: 50, value: 430 })),
      9,
      'ratio 430/450 within tolerance',
    );
  });

  it(`counts replicas missing a metric as 100% of the target on a scale down (${TASK_PAGE})`, () => {
    // "assuming those pods were consuming 100% of the desired value in case of a scale down, and 0%
    // in case of a scale up. This dampens the magnitude of any potential scale."
    const result = replicasForMetric(4, { name: 'cpu', kind: 'average', target: 100, replicas: [{ value: 20 }, { value: 20 }, {}, {}] });
    // Ready average 20 → ratio 0.2; with two at 100: (20+20+100+100)/4 = 60 → ratio 0.6 → ceil(0.6 × 4) = 3.
    assert.equal(replicasOf(result), 3);
  });

  it(`counts replicas missing a metric as 0% on a scale up (${TASK_PAGE})`, () => {
    const result = replicasForMetric(4, { name: 'cpu', kind: 'average', target: 100, replicas: [{ value: 300 }, { value: 300 }, {}, {}] });
    // (300+300+0+0)/4 = 150 → ratio 1.5 → ceil(1.5 × 4) = 6 (without the dampening: ceil(3 × 2) = 6 too, from 2 ready).
    assert.equal(replicasOf(result), 6);
    const small = replicasForMetric(3, { name: 'cpu', kind: 'average', target: 100, replicas: [{ value: 150 }, {}, {}] });
    // (150+0+0)/3 = 50 → the direction reverses: no change.
    assert.equal(replicasOf(small), 3);
  });

  it(`counts not-yet-ready replicas as 0% on a scale up, further dampening it (${TASK_PAGE})`, () => {
    // "if any not-yet-ready pods were present, and the workload would have scaled up without factoring in
    // missing metrics or not-yet-ready pods, the controller conservatively assumes that the not-yet-ready
    // pods are consuming 0% of the desired metric"
    // Two ready at 130 and one not ready: alone the ready ones ask for ceil(1.3 × 2) = 3; with the unready
    // one at 0% the average is 86.7, the direction reverses, so nothing changes.
    const result = replicasForMetric(3, {
      name: 'cpu',
      kind: 'average',
      target: 100,
      replicas: [{ value: 130 }, { value: 130 }, { ready: false }],
    });
    assert.equal(replicasOf(result), 3);
    const ready = replicasForMetric(2, { name: 'cpu', kind: 'average', target: 100, replicas: [{ value: 130 }, { value: 130 }] });
    assert.equal(replicasOf(ready), 3, 'the same two without the unready one scale up');
    const reversed = replicasForMetric(4, {
      name: 'cpu',
      kind: 'average',
      target: 100,
      replicas: [{ value: 150 }, { ready: false }, { ready: false }, { ready: false }],
    });
    assert.equal(replicasOf(reversed), 4, '150/4 = 37.5: the direction reverses, no change');
  });

  it(`takes the largest of several metrics (${TASK_PAGE})`, () => {
    // "this calculation is done for each metric, and then the largest of the desired replica counts is chosen"
    const result = replicasForMetrics(4, [
      cpu(50),
      { name: 'memory', kind: 'average', target: 100, value: 300 },
      { name: 'rps', kind: 'total', target: 10, value: 70 },
    ]);
    assert.equal(result.replicas, 12);
  });

  it(`skips a scale down when a metric cannot be computed, but still scales up (${TASK_PAGE})`, () => {
    // "If any of these metrics cannot be converted into a desired replica count ... and a scale down is
    // suggested by the metrics which can be fetched, scaling is skipped. This means that the HPA is still
    // capable of scaling up if one or more metrics give a desiredReplicas greater than the current value."
    assert.equal(replicasForMetrics(4, [cpu(50), { name: 'memory', kind: 'average', target: 100 }]).replicas, 4);
    assert.equal(replicasForMetrics(4, [cpu(200), { name: 'memory', kind: 'average', target: 100 }]).replicas, 8);
  });
});

describe('HPA stabilisation window', () => {
  it(`scales down to the highest recommendation of the last 300 s (${CONCEPT_PAGE}#stabilization-window)`, () => {
    // "When the metrics indicate that the target should be scaled down the algorithm looks into previously
    // computed desired states, and uses the highest value from the specified interval."
    const now = 1_000_000;
    const history: Recommendation[] = [
      { at: now - 400_000, replicas: 10 },
      { at: now - 200_000, replicas: 8 },
      { at: now - 60_000, replicas: 6 },
    ];
    assert.equal(stabilize(10, 3, history, DEFAULT_BEHAVIOR, now), 8, 'the 10 is older than 300 s');
    assert.equal(
      stabilize(10, 3, history, withDefaults({ scaleDown: { stabilizationWindowSeconds: 60 } }), now),
      3,
      '60 s window: nothing within it',
    );
  });

  it('scales up at once with the default 0 s scale-up window', () => {
    assert.equal(stabilize(2, 9, [{ at: 0, replicas: 2 }], DEFAULT_BEHAVIOR, 1000), 9);
    assert.equal(
      stabilize(2, 9, [{ at: 900, replicas: 4 }], withDefaults({ scaleUp: { stabilizationWindowSeconds: 60 } }), 1000),
      4,
      'the lowest within the up window',
    );
  });

  it('a falling metric over five minutes scales down gradually, then to the floor once the window has passed', () => {
    let state = { recommendations: [] as Recommendation[], events: [] as ScaleEvent[], current: 10 };
    const seen: number[] = [];
    for (let minute = 0; minute <= 8; minute += 1) {
      const value = minute === 0 ? 100 : 20; // drops to 20% of target at minute 1
      const decision = evaluate({
        current: state.current,
        min: 1,
        max: 20,
        metrics: [cpu(value)],
        behavior: DEFAULT_BEHAVIOR,
        recommendations: state.recommendations,
        events: state.events,
        now: minute * 60_000,
      });
      state = { recommendations: decision.recommendations, events: decision.events, current: decision.desired };
      seen.push(decision.desired);
    }
    // Minute 0 recommends 10; minutes 1-4 still see it within 300 s; at minute 5 it is 300 s old (the window
    // keeps what is newer than now − 300 s) and the count drops to ceil(0.2 × 10) = 2.
    assert.deepEqual(seen, [10, 10, 10, 10, 10, 2, 2, 2, 2]);
  });
});

describe('HPA scaling policies', () => {
  const both = withDefaults({
    scaleDown: {
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 60 },
        { type: 'Percent', value: 10, periodSeconds: 60 },
      ],
      stabilizationWindowSeconds: 0,
    },
  });

  it(`scales 80 down towards 10 by 8, then 8 (7.2 rounded up), then 4 a minute below 40 (${CONCEPT_PAGE}#scaling-policies)`, () => {
    // "if there are 80 replicas and the target has to be scaled down to 10 replicas then during the first
    // step 8 replicas will be reduced. In the next iteration when the number of replicas is 72, 10% of the
    // pods is 7.2 but the number is rounded up to 8. ... When the number of replicas falls below 40 the
    // first policy (Pods) is applied and 4 replicas will be reduced at a time."
    let current = 80;
    let events: ScaleEvent[] = [];
    let recommendations: Recommendation[] = [];
    const steps: number[] = [];
    for (let minute = 0; current > 10 && minute < 60; minute += 1) {
      // 80 replicas at 12.5 of a 100 target ask for 10; the target keeps asking for 10 replicas' worth.
      const decision = evaluate({
        current,
        min: 1,
        max: 100,
        metrics: [{ name: 'rps', kind: 'total', target: 100, value: 1000 }],
        behavior: both,
        recommendations,
        events,
        now: minute * 61_000,
      });
      steps.push(current - decision.desired);
      current = decision.desired;
      events = decision.events;
      recommendations = decision.recommendations;
    }
    assert.equal(steps[0], 8);
    assert.equal(steps[1], 8, '72 × 0.9 = 64.8 → 64: 8 removed (7.2 rounded up)');
    assert.ok(
      steps.slice(-3).every((step) => step <= 4),
      `below 40 the Pods policy removes 4 at a time: ${steps.join(',')}`,
    );
    assert.equal(current, 10);
  });

  it(`limits scale down to 10% per minute (${CONCEPT_PAGE}#example-limit-scale-down-rate)`, () => {
    // "To limit the rate at which pods are removed by the HPA to 10% per minute"
    const behavior = withDefaults({ scaleDown: { policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }] } });
    assert.equal(scaleDownLimit(50, [], behavior.scaleDown, 0), 45);
    // 5 removed 30 s ago: the period started at 50, so 45 is still the floor.
    assert.equal(scaleDownLimit(45, [{ at: -30_000, change: -5 }], behavior.scaleDown, 0), 45);
    assert.equal(limitRate(45, 10, { min: 1, max: 100 }, behavior, [{ at: -30_000, change: -5 }], 0).replicas, 45);
    assert.equal(
      limitRate(45, 10, { min: 1, max: 100 }, behavior, [{ at: -61_000, change: -5 }], 0).replicas,
      40,
      'a minute later: 45 × 0.9 = 40.5 → 40',
    );
  });

  it(`removes no more than 5 pods a minute with Percent 10 and Pods 5 and selectPolicy Min (${CONCEPT_PAGE}#example-limit-scale-down-rate)`, () => {
    // "Setting selectPolicy to Min means that the autoscaler chooses the policy that affects the smallest number of Pods"
    const behavior = withDefaults({
      scaleDown: {
        policies: [
          { type: 'Percent', value: 10, periodSeconds: 60 },
          { type: 'Pods', value: 5, periodSeconds: 60 },
        ],
        selectPolicy: 'Min',
      },
    });
    assert.equal(limitRate(100, 10, { min: 1, max: 100 }, behavior, [], 0).replicas, 95, '10% would be 10: Min takes 5');
    assert.equal(limitRate(30, 10, { min: 1, max: 100 }, behavior, [], 0).replicas, 27, '10% is 3: Min takes 3');
  });

  it(`does not scale down with selectPolicy Disabled (${CONCEPT_PAGE}#example-disable-scale-down)`, () => {
    const behavior = withDefaults({ scaleDown: { selectPolicy: 'Disabled' } });
    const decision = evaluate({
      current: 8,
      min: 1,
      max: 10,
      metrics: [cpu(10)],
      behavior: { ...behavior, scaleDown: { ...behavior.scaleDown, stabilizationWindowSeconds: 0 } },
      recommendations: [],
      events: [],
      now: 0,
    });
    assert.equal(decision.desired, 8);
    assert.equal(decision.limitedBy, 'scale-down policy');
  });

  it(`scales up by at most max(100%, 4 pods) per 15 s by default (${CONCEPT_PAGE}#default-behavior)`, () => {
    // "There are 2 policies where 4 pods or a 100% of the currently running replicas may at most be added every 15 seconds"
    assert.equal(
      evaluate({ current: 1, min: 1, max: 100, metrics: [cpu(5000)], behavior: DEFAULT_BEHAVIOR, recommendations: [], events: [], now: 0 })
        .desired,
      5,
      '1 + 4 pods beats 100%',
    );
    assert.equal(
      evaluate({ current: 10, min: 1, max: 100, metrics: [cpu(5000)], behavior: DEFAULT_BEHAVIOR, recommendations: [], events: [], now: 0 })
        .desired,
      20,
      '100% beats 4 pods',
    );
    const after = evaluate({
      current: 20,
      min: 1,
      max: 100,
      metrics: [cpu(5000)],
      behavior: DEFAULT_BEHAVIOR,
      recommendations: [],
      events: [{ at: -5_000, change: 10 }],
      now: 0,
    });
    assert.equal(after.desired, 20, 'within the same 15 s period the start was 10: at most 20');
  });

  it('keeps within min and max, and brings a count outside them back at once', () => {
    assert.equal(
      evaluate({ current: 5, min: 2, max: 6, metrics: [cpu(1000)], behavior: DEFAULT_BEHAVIOR, recommendations: [], events: [], now: 0 })
        .desired,
      6,
    );
    assert.equal(
      evaluate({ current: 9, min: 2, max: 6, metrics: [cpu(100)], behavior: DEFAULT_BEHAVIOR, recommendations: [], events: [], now: 0 })
        .desired,
      6,
    );
    assert.equal(
      evaluate({ current: 1, min: 2, max: 6, metrics: [cpu(100)], behavior: DEFAULT_BEHAVIOR, recommendations: [], events: [], now: 0 })
        .desired,
      2,
    );
    const down = evaluate({
      current: 4,
      min: 3,
      max: 6,
      metrics: [cpu(10)],
      behavior: withDefaults({ scaleDown: { stabilizationWindowSeconds: 0 } }),
      recommendations: [],
      events: [],
      now: 0,
    });
    assert.equal(down.desired, 3);
    assert.equal(down.limitedBy, 'min');
  });

  it('records the recommendation and, when the count changes, a scale event', () => {
    const decision = evaluate({
      current: 2,
      min: 1,
      max: 10,
      metrics: [cpu(200)],
      behavior: DEFAULT_BEHAVIOR,
      recommendations: [],
      events: [],
      now: 5,
    });
    assert.deepEqual(decision.recommendations, [{ at: 5, replicas: 4 }]);
    assert.deepEqual(decision.events, [{ at: 5, change: 2 }]);
  });
});
