/**
 * Placement planning (lib/migration/placement.ts): FFD and BFD on examples worked by hand, every
 * hard constraint respected, the exact solver checked against brute force on small random
 * instances, and the heuristics never beating it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { illustrativeCatalogue } from '../../lib/migration/catalogue.ts';
import {
  bestFitDecreasing,
  evaluate,
  firstFitDecreasing,
  optimalPlacement,
  type PlacementProblem,
  type Slot,
} from '../../lib/migration/placement.ts';
import { prng, randomProblem } from '../../lib/migration/random-problems.ts';
import { type Pool, type Workload, workloadSchema } from '../../lib/migration/schemas.ts';

const pool = (id: string, over: Partial<Pool> = {}): Pool => ({
  id,
  platform: 'sagemaker',
  instanceType: 'ml.m5.large',
  region: 'us-east-1',
  zone: 'us-east-1a',
  vcpu: 2,
  memoryGiB: 8,
  accelerators: 0,
  latencyClasses: ['interactive', 'standard', 'batch'],
  pricePerHour: 1,
  maxInstances: 10,
  ...over,
});
const workload = (id: string, vcpu: number, memoryGiB: number, over: Record<string, unknown> = {}): Workload =>
  workloadSchema.parse({
    id,
    needs: { vcpu, memoryGiB, ...((over.needs as object) ?? {}) },
    ...over,
    ...(over.needs ? { needs: { vcpu, memoryGiB, ...(over.needs as object) } } : {}),
  });

/** Every assignment of workloads to (pool, instance), instances numbered below min(maxInstances, n): the least objective. */
function bruteForce(problem: PlacementProblem): number {
  const slots: Slot[] = [];
  for (const p of problem.pools)
    for (let i = 0; i < Math.min(p.maxInstances, problem.workloads.length); i += 1) slots.push({ pool: p.id, instance: i });
  let best = Number.POSITIVE_INFINITY;
  const current: Record<string, Slot> = {};
  const walk = (k: number) => {
    if (k === problem.workloads.length) {
      const result = evaluate(problem, current);
      if (result.violations.length === 0 && result.objective.total < best) best = result.objective.total;
      return;
    }
    const id = problem.workloads[k]?.id ?? '';
    for (const slot of slots) {
      current[id] = slot;
      walk(k + 1);
    }
  };
  walk(0);
  return best;
}

describe('first-fit and best-fit decreasing', () => {
  it('packs 1.5, 1, 0.5, 0.5 vCPU into two 2-vCPU instances, largest first (FFD)', () => {
    const problem = {
      pools: [pool('p')],
      workloads: [workload('a', 0.5, 1), workload('b', 1.5, 1), workload('c', 1, 1), workload('d', 0.5, 1)],
    };
    const placement = firstFitDecreasing(problem);
    // b (1.5) opens #0, c (1) opens #1, a (0.5) fits #0 (1.5+0.5), d (0.5) fits #1.
    assert.deepEqual(placement.slots, {
      b: { pool: 'p', instance: 0 },
      c: { pool: 'p', instance: 1 },
      a: { pool: 'p', instance: 0 },
      d: { pool: 'p', instance: 1 },
    });
    assert.equal(placement.objective.cost, 2);
    assert.equal(placement.objective.instances, 2);
  });

  it('best fit puts a workload in the tightest instance where first fit takes the first', () => {
    // a (1.2) opens #0 (0.8 left); b (1.1) may not share with a: #1 (0.9 left); c (0.7) may not share
    // with a: #1 (0.2 left); d (0.15) fits both: first fit takes #0, best fit the tighter #1.
    const problem = {
      pools: [pool('p', { vcpu: 2, memoryGiB: 100 })],
      workloads: [
        workload('a', 1.2, 1),
        workload('b', 1.1, 1, { antiAffinity: ['a'] }),
        workload('c', 0.7, 1, { antiAffinity: ['a'] }),
        workload('d', 0.15, 1),
      ],
    };
    assert.equal(firstFitDecreasing(problem).slots.d?.instance, 0);
    assert.equal(bestFitDecreasing(problem).slots.d?.instance, 1);
    assert.equal(bestFitDecreasing(problem).objective.instances, 2);
  });

  it('opens the cheapest pool that fits and keeps a workload where it is when moving would cost more than it saves', () => {
    const pools = [pool('cheap', { pricePerHour: 0.1 }), pool('dear', { pricePerHour: 0.12 })];
    const stay = { pools, workloads: [workload('a', 1, 1, { current: 'dear' })] };
    assert.equal(bestFitDecreasing(stay).slots.a?.pool, 'dear'); // 0.12 < 0.1 + 0.05 move
    const move = {
      pools: [pool('cheap', { pricePerHour: 0.1 }), pool('dear', { pricePerHour: 0.2 })],
      workloads: [workload('a', 1, 1, { current: 'dear' })],
    };
    assert.equal(bestFitDecreasing(move).slots.a?.pool, 'cheap'); // 0.15 < 0.2
    assert.equal(bestFitDecreasing(move).objective.moves, 1);
  });

  it('respects residency, latency class, accelerator type and anti-affinity, and names why a workload has no pool', () => {
    const pools = [
      pool('us', { pricePerHour: 0.1 }),
      pool('eu', { region: 'eu-west-1', zone: 'eu-west-1a', pricePerHour: 0.3 }),
      pool('lambda', { platform: 'lambda', latencyClasses: ['standard', 'batch'], pricePerHour: 0.01 }),
      pool('t4', { accelerators: 1, acceleratorType: 't4', vcpu: 4, memoryGiB: 16, pricePerHour: 0.7 }),
      pool('a10g', { accelerators: 1, acceleratorType: 'a10g', vcpu: 4, memoryGiB: 16, pricePerHour: 1.4 }),
    ];
    const workloads = [
      workload('eu-data', 1, 1, { needs: { regions: ['eu-west-1'], latencyClass: 'interactive' } }),
      workload('chat', 0.5, 1, { needs: { latencyClass: 'interactive' }, antiAffinity: ['chat-2'] }),
      workload('chat-2', 0.5, 1, { needs: { latencyClass: 'interactive' } }),
      workload('llm', 2, 8, { needs: { accelerators: 1, acceleratorType: 'a10g', latencyClass: 'interactive' } }),
      workload('nightly', 0.5, 1, { needs: { latencyClass: 'batch' } }),
      workload('huge', 64, 1),
    ];
    for (const algorithm of [firstFitDecreasing, bestFitDecreasing, optimalPlacement]) {
      const placement = algorithm({ pools, workloads });
      assert.equal(placement.slots['eu-data']?.pool, 'eu');
      assert.equal(placement.slots.llm?.pool, 'a10g');
      // The batch job rides along on an instance already open (free) rather than open a Lambda one.
      assert.notEqual(placement.slots.nightly, undefined);
      assert.notDeepEqual(placement.slots.chat, placement.slots['chat-2']);
      assert.notEqual(placement.slots.chat?.pool, 'lambda');
      assert.deepEqual(
        placement.unplaced.map((u) => u.workload),
        ['huge'],
      );
      assert.match(placement.unplaced[0]?.reason ?? '', /vCPU: needs 64/);
    }
  });

  it('keeps affine workloads in one pool, spreads a group across zones when a zone pair costs more than a dearer instance', () => {
    const pools = [pool('a', { pricePerHour: 0.1, zone: 'us-east-1a' }), pool('b', { pricePerHour: 0.15, zone: 'us-east-1b' })];
    const affine = bestFitDecreasing({
      pools,
      workloads: [workload('x', 1.5, 1, { current: 'b' }), workload('y', 1.5, 1, { affinity: ['x'] })],
    });
    assert.equal(affine.slots.x?.pool, affine.slots.y?.pool);
    const spread = { pools, workloads: [workload('r1', 0.5, 1, { group: 'api' }), workload('r2', 0.5, 1, { group: 'api' })] };
    // Together on one 0.1 instance: 0.1 + 0.1 zone pair; apart: 0.1 + 0.15 = 0.25; together wins at weight 0.1 …
    assert.equal(optimalPlacement(spread).objective.total.toFixed(2), '0.20');
    // … and spreading wins when a zone pair weighs 0.2.
    const apart = optimalPlacement({ ...spread, weights: { move: 0.05, zonePair: 0.2 } });
    assert.notEqual(apart.slots.r1?.pool, apart.slots.r2?.pool);
    assert.equal(apart.objective.zonePairs, 0);
  });
});

describe('the exact solver', () => {
  it('finds the brute-force optimum on 40 small random instances, and no heuristic beats it', () => {
    const catalogue = illustrativeCatalogue(3);
    let strictlyBetter = 0;
    for (let seed = 1; seed <= 40; seed += 1) {
      const random = prng(seed * 7919);
      // Three pools and four workloads: brute force walks (9 slots)^4 = 6,561 assignments at most.
      const pools = [catalogue[0], catalogue[4], catalogue[Math.floor(random() * catalogue.length)]].filter(
        (p, i, all): p is Pool => p !== undefined && all.indexOf(p) === i,
      );
      const problem = randomProblem(seed, 4, { pools: catalogue });
      const small = {
        pools,
        workloads: problem.workloads.map((w) => ({
          ...w,
          needs: { ...w.needs, regions: undefined },
          current: w.current ? pools[seed % pools.length]?.id : undefined,
        })),
      };
      const optimal = optimalPlacement(small);
      const expected = bruteForce(small);
      if (!Number.isFinite(expected)) {
        assert.ok(
          optimal.unplaced.length > 0 || evaluate(small, optimal.slots).violations.length > 0,
          `seed ${seed}: brute force found nothing, the solver placed everything`,
        );
        continue;
      }
      assert.ok(optimal.proven, `seed ${seed}`);
      assert.deepEqual(evaluate(small, optimal.slots).violations, [], `seed ${seed}`);
      assert.ok(
        Math.abs(optimal.objective.total - expected) < 1e-9,
        `seed ${seed}: solver ${optimal.objective.total}, brute force ${expected}`,
      );
      for (const heuristic of [firstFitDecreasing(small), bestFitDecreasing(small)]) {
        if (heuristic.unplaced.length > 0) continue;
        assert.ok(heuristic.objective.total >= optimal.objective.total - 1e-9, `seed ${seed}: ${heuristic.algorithm} beat the optimum`);
        if (heuristic.objective.total > optimal.objective.total + 1e-9) strictlyBetter += 1;
      }
    }
    // The instances are not all trivial: the solver improves on a heuristic somewhere.
    assert.ok(strictlyBetter > 0);
  });

  it('places every workload of a random 10-workload instance within every constraint, and stops at the node limit unproven', () => {
    const problem = randomProblem(42, 10);
    for (const placement of [firstFitDecreasing(problem), bestFitDecreasing(problem), optimalPlacement(problem)]) {
      const placedIds = Object.keys(placement.slots);
      assert.deepEqual(
        evaluate({ ...problem, workloads: problem.workloads.filter((w) => placedIds.includes(w.id)) }, placement.slots).violations,
        [],
      );
    }
    const limited = optimalPlacement(randomProblem(43, 14), { maxNodes: 50 });
    assert.equal(limited.proven, false);
    assert.ok(limited.nodes >= 50);
  });
});
