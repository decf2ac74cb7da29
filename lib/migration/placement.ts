/**
 * Placement planning: workloads onto the instances of pools, at the lowest cost plus risk, within
 * the constraints. Pure: plain data in, plain data out.
 *
 * Constraints (hard): an instance's capacity in every dimension (vCPU, memory, accelerators), the
 * accelerator type, the latency class the pool serves, data residency (the pool's region among the
 * workload's), affinity (same pool), anti-affinity (never the same instance), and each pool's
 * `maxInstances`.
 *
 * Objective (lower is better, US dollars per hour): the prices of the instances opened, plus risk:
 * `weights.move` per workload that leaves its current pool (moving costs), plus `weights.zonePair`
 * per pair of one group's workloads in the same zone (spreading lowers the blast radius).
 *
 * Three algorithms: first-fit decreasing and best-fit decreasing (heuristics, O(n·instances)), and
 * an exact depth-first branch and bound for small instances, which measures the heuristics' gap.
 */
import { type Algorithm, DEFAULT_WEIGHTS, type Pool, type Weights, type Workload } from './schemas.ts';

/** Where one workload goes: a pool and the index of an instance in it (0-based, in opening order). */
export interface Slot {
  pool: string;
  instance: number;
}

/** A placement problem. */
export interface PlacementProblem {
  pools: readonly Pool[];
  workloads: readonly Workload[];
  weights?: Weights;
}

/** The objective's parts. */
export interface Objective {
  /** Σ prices of the instances opened ($/h). */
  cost: number;
  /** `move` × workloads moved + `zonePair` × same-zone pairs of a group ($/h equivalent). */
  risk: number;
  /** cost + risk. */
  total: number;
  instances: number;
  moves: number;
  zonePairs: number;
}

/** A placement found by one algorithm. */
export interface Placement {
  algorithm: Algorithm;
  /** Workload id → slot, for every workload placed. */
  slots: Record<string, Slot>;
  /** Workloads no pool can take, with the reason. */
  unplaced: { workload: string; reason: string }[];
  objective: Objective;
  /** For `optimal`: true when the search finished (the placement is proven optimal), false when the node limit stopped it. */
  proven: boolean;
  /** Search nodes visited (branch and bound), or workloads placed (heuristics). */
  nodes: number;
}

const EPS = 1e-9;

/** Why pool `pool` can never take workload `w` (whatever else runs there), or undefined when it can. */
export function poolRefusal(pool: Pool, w: Workload): string | undefined {
  const needs = w.needs;
  if (needs.regions && !needs.regions.includes(pool.region)) return `residency: ${pool.region} is not among ${needs.regions.join(', ')}`;
  if (!pool.latencyClasses.includes(needs.latencyClass)) return `latency: ${pool.id} does not serve ${needs.latencyClass}`;
  if (needs.accelerators > pool.accelerators) return `accelerators: needs ${needs.accelerators}, an instance has ${pool.accelerators}`;
  if (needs.accelerators > 0 && needs.acceleratorType && pool.acceleratorType !== needs.acceleratorType)
    return `accelerator type: needs ${needs.acceleratorType}, ${pool.id} has ${pool.acceleratorType ?? 'none'}`;
  if (w.traffic && !(pool.id in (w.traffic.kind === 'lambda-alias' ? w.traffic.versions : w.traffic.variants)))
    return `traffic: no ${w.traffic.kind === 'lambda-alias' ? 'version' : 'variant'} of ${w.id} runs in ${pool.id}`;
  if (needs.vcpu > pool.vcpu + EPS) return `vCPU: needs ${needs.vcpu}, an instance has ${pool.vcpu}`;
  if (needs.memoryGiB > pool.memoryGiB + EPS) return `memory: needs ${needs.memoryGiB} GiB, an instance has ${pool.memoryGiB}`;
  return undefined;
}

/** One open instance during a search. */
interface Bin {
  pool: number;
  instance: number;
  vcpu: number;
  memoryGiB: number;
  accelerators: number;
  members: number[];
}

/** The problem compiled to indices, shared by every algorithm. */
interface Compiled {
  pools: readonly Pool[];
  workloads: readonly Workload[];
  weights: Weights;
  /** Per workload: the pools that could ever take it. */
  feasible: number[][];
  /** Per workload: why no pool takes it (when `feasible` is empty). */
  refusals: string[];
  /** Symmetric anti-affinity and affinity, by workload index. */
  anti: Set<number>[];
  affinity: number[][];
  /** Per workload and pool: the move risk of placing it there. */
  moveRisk: number[][];
  /** Per workload and pool: a lower bound on its share of an instance's price (the mean of its shares over the dimensions). */
  share: number[][];
  /** Group index per workload (-1: none). */
  group: number[];
  /** Workload indices in decreasing size. */
  order: number[];
}

function compile(problem: PlacementProblem): Compiled {
  const { pools, workloads } = problem;
  const weights = problem.weights ?? DEFAULT_WEIGHTS;
  const index = new Map(workloads.map((w, i) => [w.id, i]));
  const anti = workloads.map(() => new Set<number>());
  const affinity = workloads.map(() => [] as number[]);
  workloads.forEach((w, i) => {
    for (const other of w.antiAffinity) {
      const j = index.get(other);
      if (j !== undefined && j !== i) {
        anti[i]?.add(j);
        anti[j]?.add(i);
      }
    }
    for (const other of w.affinity) {
      const j = index.get(other);
      if (j !== undefined && j !== i) {
        affinity[i]?.push(j);
        affinity[j]?.push(i);
      }
    }
  });
  const feasible: number[][] = [];
  const refusals: string[] = [];
  for (const w of workloads) {
    const reasons: string[] = [];
    const ok: number[] = [];
    pools.forEach((pool, p) => {
      const refusal = poolRefusal(pool, w);
      if (refusal) reasons.push(`${pool.id}: ${refusal}`);
      else ok.push(p);
    });
    feasible.push(ok);
    refusals.push(pools.length === 0 ? 'no pools' : reasons.slice(0, 5).join('; '));
  }
  const moveRisk = workloads.map((w) => pools.map((pool) => (w.current !== undefined && w.current !== pool.id ? weights.move : 0)));
  const share = workloads.map((w) =>
    pools.map((pool) => {
      const parts = [w.needs.vcpu / pool.vcpu, w.needs.memoryGiB / pool.memoryGiB];
      if (pool.accelerators > 0) parts.push(w.needs.accelerators / pool.accelerators);
      return parts.reduce((a, b) => a + b, 0) / parts.length;
    }),
  );
  const groups = new Map<string, number>();
  const group = workloads.map((w) => {
    if (w.group === undefined) return -1;
    if (!groups.has(w.group)) groups.set(w.group, groups.size);
    return groups.get(w.group) ?? -1;
  });
  // Size: the largest share of the biggest instance in the catalogue, over the dimensions.
  const max = {
    vcpu: Math.max(EPS, ...pools.map((p) => p.vcpu)),
    mem: Math.max(EPS, ...pools.map((p) => p.memoryGiB)),
    acc: Math.max(1, ...pools.map((p) => p.accelerators)),
  };
  const size = workloads.map((w) => Math.max(w.needs.vcpu / max.vcpu, w.needs.memoryGiB / max.mem, w.needs.accelerators / max.acc));
  const order = workloads
    .map((_, i) => i)
    .sort(
      (a, b) =>
        (size[b] ?? 0) - (size[a] ?? 0) ||
        (feasible[a]?.length ?? 0) - (feasible[b]?.length ?? 0) ||
        ((workloads[a]?.id ?? '') < (workloads[b]?.id ?? '') ? -1 : 1),
    );
  return { pools, workloads, weights, feasible, refusals, anti, affinity, moveRisk, share, group, order };
}

/** The search's mutable state: open instances, where each workload sits, zone counts per group. */
class State {
  readonly bins: Bin[] = [];
  readonly openPerPool: number[];
  readonly binOf: number[];
  readonly zoneCount = new Map<string, number>();
  cost = 0;
  risk = 0;
  readonly c: Compiled;
  constructor(c: Compiled) {
    this.c = c;
    this.openPerPool = c.pools.map(() => 0);
    this.binOf = c.workloads.map(() => -1);
  }
  /** Whether workload w may join open instance b. */
  fits(w: number, b: number): boolean {
    const bin = this.bins[b];
    const pool = bin ? this.c.pools[bin.pool] : undefined;
    const needs = this.c.workloads[w]?.needs;
    if (!bin || !pool || !needs) return false;
    if (!this.c.feasible[w]?.includes(bin.pool)) return false;
    if (
      bin.vcpu + needs.vcpu > pool.vcpu + EPS ||
      bin.memoryGiB + needs.memoryGiB > pool.memoryGiB + EPS ||
      bin.accelerators + needs.accelerators > pool.accelerators
    )
      return false;
    const anti = this.c.anti[w];
    if (anti && bin.members.some((m) => anti.has(m))) return false;
    return this.affinityAllows(w, bin.pool);
  }
  /** Whether affinity lets workload w into pool p (every placed partner is in p). */
  affinityAllows(w: number, p: number): boolean {
    for (const partner of this.c.affinity[w] ?? []) {
      const b = this.binOf[partner] ?? -1;
      if (b >= 0 && this.bins[b]?.pool !== p) return false;
    }
    return true;
  }
  /** Whether a new instance of pool p may open for w. */
  canOpen(w: number, p: number): boolean {
    const pool = this.c.pools[p];
    return (
      pool !== undefined &&
      (this.openPerPool[p] ?? 0) < pool.maxInstances &&
      (this.c.feasible[w]?.includes(p) ?? false) &&
      this.affinityAllows(w, p)
    );
  }
  /** The risk workload w adds in pool p. */
  riskOf(w: number, p: number): number {
    const g = this.c.group[w] ?? -1;
    const sameZone = g < 0 ? 0 : (this.zoneCount.get(`${g}|${this.c.pools[p]?.zone}`) ?? 0);
    return (this.c.moveRisk[w]?.[p] ?? 0) + this.c.weights.zonePair * sameZone;
  }
  /** Places w in open instance b, or opens a new instance of pool p when b is -1; returns an undo. */
  place(w: number, b: number, p: number): () => void {
    let bin: Bin;
    let opened = false;
    if (b < 0) {
      bin = { pool: p, instance: this.openPerPool[p] ?? 0, vcpu: 0, memoryGiB: 0, accelerators: 0, members: [] };
      this.bins.push(bin);
      this.openPerPool[p] = (this.openPerPool[p] ?? 0) + 1;
      this.cost += this.c.pools[p]?.pricePerHour ?? 0;
      b = this.bins.length - 1;
      opened = true;
    } else bin = this.bins[b] as Bin;
    const added = this.riskOf(w, bin.pool);
    const needs = this.c.workloads[w]?.needs;
    bin.vcpu += needs?.vcpu ?? 0;
    bin.memoryGiB += needs?.memoryGiB ?? 0;
    bin.accelerators += needs?.accelerators ?? 0;
    bin.members.push(w);
    this.binOf[w] = b;
    this.risk += added;
    const g = this.c.group[w] ?? -1;
    const key = `${g}|${this.c.pools[bin.pool]?.zone}`;
    if (g >= 0) this.zoneCount.set(key, (this.zoneCount.get(key) ?? 0) + 1);
    return () => {
      if (g >= 0) this.zoneCount.set(key, (this.zoneCount.get(key) ?? 1) - 1);
      this.risk -= added;
      this.binOf[w] = -1;
      bin.members.pop();
      bin.vcpu -= needs?.vcpu ?? 0;
      bin.memoryGiB -= needs?.memoryGiB ?? 0;
      bin.accelerators -= needs?.accelerators ?? 0;
      if (opened) {
        this.bins.pop();
        this.openPerPool[bin.pool] = (this.openPerPool[bin.pool] ?? 1) - 1;
        this.cost -= this.c.pools[bin.pool]?.pricePerHour ?? 0;
      }
    };
  }
  slots(): Record<string, Slot> {
    const out: Record<string, Slot> = {};
    this.binOf.forEach((b, w) => {
      const bin = this.bins[b];
      const id = this.c.workloads[w]?.id;
      const pool = bin ? this.c.pools[bin.pool] : undefined;
      if (bin && id !== undefined && pool) out[id] = { pool: pool.id, instance: bin.instance };
    });
    return out;
  }
}

/** The cheapest new instance for w: the pool minimising price + risk (ties: pool order). */
function cheapestNew(state: State, w: number): number {
  let best = -1;
  let bestValue = Number.POSITIVE_INFINITY;
  for (const p of state.c.feasible[w] ?? []) {
    if (!state.canOpen(w, p)) continue;
    const value = (state.c.pools[p]?.pricePerHour ?? 0) + state.riskOf(w, p);
    if (value < bestValue - EPS) {
      best = p;
      bestValue = value;
    }
  }
  return best;
}

function greedy(problem: PlacementProblem, algorithm: 'ffd' | 'bfd'): Placement {
  const c = compile(problem);
  const state = new State(c);
  const unplaced: Placement['unplaced'] = [];
  for (const w of c.order) {
    let chosen = -1;
    if (algorithm === 'ffd') {
      chosen = state.bins.findIndex((_, b) => state.fits(w, b));
    } else {
      // Best fit: the open instance where w adds the least (risk), then the tightest fit (least room left after it).
      let bestValue = Number.POSITIVE_INFINITY;
      state.bins.forEach((bin, b) => {
        if (!state.fits(w, b)) return;
        const pool = c.pools[bin.pool] as Pool;
        const needs = c.workloads[w]?.needs;
        const room =
          (pool.vcpu - bin.vcpu - (needs?.vcpu ?? 0)) / pool.vcpu +
          (pool.memoryGiB - bin.memoryGiB - (needs?.memoryGiB ?? 0)) / pool.memoryGiB;
        const value = state.riskOf(w, bin.pool) * 1000 + room;
        if (value < bestValue - EPS) {
          bestValue = value;
          chosen = b;
        }
      });
      // Opening a cheaper instance can beat joining one where w adds more risk than that instance costs.
      const fresh = cheapestNew(state, w);
      if (chosen >= 0 && fresh >= 0) {
        const joinCost = state.riskOf(w, state.bins[chosen]?.pool ?? 0);
        const openCost = (c.pools[fresh]?.pricePerHour ?? 0) + state.riskOf(w, fresh);
        if (openCost < joinCost - EPS) chosen = -1;
      }
    }
    if (chosen >= 0) {
      state.place(w, chosen, -1);
      continue;
    }
    const p = cheapestNew(state, w);
    if (p >= 0) state.place(w, -1, p);
    else
      unplaced.push({
        workload: c.workloads[w]?.id ?? '',
        reason:
          (c.feasible[w]?.length ?? 0) === 0
            ? (c.refusals[w] ?? '')
            : 'every pool that fits is full, or affinity/anti-affinity rule it out',
      });
  }
  return finish(problem, algorithm, state.slots(), unplaced, true, c.workloads.length);
}

function finish(
  problem: PlacementProblem,
  algorithm: Algorithm,
  slots: Record<string, Slot>,
  unplaced: Placement['unplaced'],
  proven: boolean,
  nodes: number,
): Placement {
  const evaluated = evaluate(problem, slots);
  return { algorithm, slots, unplaced, objective: evaluated.objective, proven, nodes };
}

/**
 * First-fit decreasing: workloads by decreasing size; each joins the first open instance it fits
 * (opening order), else opens an instance of the pool with the lowest price + risk.
 * @example firstFitDecreasing({ pools, workloads }).objective.total
 */
export function firstFitDecreasing(problem: PlacementProblem): Placement {
  return greedy(problem, 'ffd');
}

/**
 * Best-fit decreasing: workloads by decreasing size; each joins the open instance where it adds the
 * least risk and leaves the least room, unless a new instance would cost less than the risk it adds
 * there; else opens the cheapest (price + risk) pool's instance.
 */
export function bestFitDecreasing(problem: PlacementProblem): Placement {
  return greedy(problem, 'bfd');
}

/** Options of the exact search. */
export interface OptimalOptions {
  /** Most search nodes before it stops with the best found (`proven: false`). Default 2,000,000. */
  maxNodes?: number;
}

/**
 * The optimal placement by depth-first branch and bound: workloads in decreasing size; each joins
 * an open instance it fits or opens one instance of a pool (one branch per pool: unopened instances
 * of a pool are alike); the cheapest branch first. A branch is cut when its cost so far plus a lower
 * bound on what the remaining workloads must add reaches the best placement found: per workload,
 * the least over its pools of the move risk plus, where no open instance could take it, its share
 * of an instance's price (the mean of its shares over the dimensions, which sum to at most 1 per
 * instance). The first incumbent is the better of FFD and BFD. Exponential: meant for small
 * instances (≲ 12 workloads), to measure the heuristics' gap.
 * @example optimalPlacement({ pools, workloads }).proven // true when the search finished
 */
export function optimalPlacement(problem: PlacementProblem, options: OptimalOptions = {}): Placement {
  const maxNodes = options.maxNodes ?? 2_000_000;
  const c = compile(problem);
  const incumbents = [firstFitDecreasing(problem), bestFitDecreasing(problem)].filter((p) => p.unplaced.length === 0);
  const best = incumbents.sort((a, b) => a.objective.total - b.objective.total)[0];
  let bestTotal = best ? best.objective.total : Number.POSITIVE_INFINITY;
  let bestSlots = best?.slots;
  if (c.feasible.some((pools) => pools.length === 0)) return { ...greedy(problem, 'bfd'), algorithm: 'optimal', proven: false };
  const state = new State(c);
  let nodes = 0;
  let stopped = false;

  const lowerBound = (from: number): number => {
    let sum = 0;
    for (let k = from; k < c.order.length; k += 1) {
      const w = c.order[k] as number;
      let least = Number.POSITIVE_INFINITY;
      for (const p of c.feasible[w] ?? []) {
        const hasRoom = state.bins.some((bin, b) => bin.pool === p && state.fits(w, b));
        const value = (c.moveRisk[w]?.[p] ?? 0) + (hasRoom ? 0 : (c.share[w]?.[p] ?? 0) * (c.pools[p]?.pricePerHour ?? 0));
        if (value < least) least = value;
      }
      sum += least;
    }
    return sum;
  };

  const search = (k: number): void => {
    if (stopped) return;
    nodes += 1;
    if (nodes > maxNodes) {
      stopped = true;
      return;
    }
    const total = state.cost + state.risk;
    if (k === c.order.length) {
      if (total < bestTotal - EPS) {
        bestTotal = total;
        bestSlots = state.slots();
      }
      return;
    }
    if (total + lowerBound(k) >= bestTotal - EPS) return;
    const w = c.order[k] as number;
    const branches: { b: number; p: number; value: number }[] = [];
    state.bins.forEach((bin, b) => {
      if (state.fits(w, b)) branches.push({ b, p: bin.pool, value: state.riskOf(w, bin.pool) });
    });
    for (const p of c.feasible[w] ?? []) {
      if (state.canOpen(w, p)) branches.push({ b: -1, p, value: (c.pools[p]?.pricePerHour ?? 0) + state.riskOf(w, p) });
    }
    branches.sort((x, y) => x.value - y.value);
    for (const branch of branches) {
      if (total + branch.value >= bestTotal - EPS) break;
      const undo = state.place(w, branch.b, branch.p);
      search(k + 1);
      undo();
      if (stopped) return;
    }
  };
  search(0);
  if (!bestSlots) return { ...greedy(problem, 'bfd'), algorithm: 'optimal', proven: !stopped, nodes };
  return finish(problem, 'optimal', bestSlots, [], !stopped, nodes);
}

/**
 * Places the workloads with one algorithm.
 * @example place({ pools, workloads }, 'bfd')
 */
export function place(problem: PlacementProblem, algorithm: Algorithm, options: OptimalOptions = {}): Placement {
  if (algorithm === 'ffd') return firstFitDecreasing(problem);
  if (algorithm === 'bfd') return bestFitDecreasing(problem);
  return optimalPlacement(problem, options);
}

/** A placement's objective and the constraints it breaks (none for any algorithm's placement). */
export interface Evaluation {
  objective: Objective;
  violations: string[];
}

/**
 * Scores any assignment (the algorithms', or one written by hand) and lists the constraints it
 * breaks; unplaced workloads are counted as violations.
 * @example evaluate({ pools, workloads }, { 'svc/a': { pool: 'p1', instance: 0 } }).violations
 */
export function evaluate(problem: PlacementProblem, slots: Readonly<Record<string, Slot>>): Evaluation {
  const weights = problem.weights ?? DEFAULT_WEIGHTS;
  const pools = new Map(problem.pools.map((pool) => [pool.id, pool]));
  const violations: string[] = [];
  const instances = new Map<string, { pool: Pool; vcpu: number; memoryGiB: number; accelerators: number; members: Workload[] }>();
  let moves = 0;
  for (const w of problem.workloads) {
    const slot = slots[w.id];
    if (!slot) {
      violations.push(`${w.id}: not placed`);
      continue;
    }
    const pool = pools.get(slot.pool);
    if (!pool) {
      violations.push(`${w.id}: unknown pool ${slot.pool}`);
      continue;
    }
    const refusal = poolRefusal(pool, w);
    if (refusal) violations.push(`${w.id}: ${refusal}`);
    if (slot.instance >= pool.maxInstances) violations.push(`${w.id}: ${pool.id} has ${pool.maxInstances} instances`);
    if (w.current !== undefined && w.current !== pool.id) moves += 1;
    const key = `${pool.id}#${slot.instance}`;
    const bin = instances.get(key) ?? { pool, vcpu: 0, memoryGiB: 0, accelerators: 0, members: [] };
    bin.vcpu += w.needs.vcpu;
    bin.memoryGiB += w.needs.memoryGiB;
    bin.accelerators += w.needs.accelerators;
    bin.members.push(w);
    instances.set(key, bin);
  }
  for (const [key, bin] of instances) {
    if (bin.vcpu > bin.pool.vcpu + EPS) violations.push(`${key}: vCPU ${bin.vcpu} > ${bin.pool.vcpu}`);
    if (bin.memoryGiB > bin.pool.memoryGiB + EPS) violations.push(`${key}: memory ${bin.memoryGiB} > ${bin.pool.memoryGiB}`);
    if (bin.accelerators > bin.pool.accelerators) violations.push(`${key}: accelerators ${bin.accelerators} > ${bin.pool.accelerators}`);
    for (const a of bin.members)
      for (const b of bin.members)
        if (a.id < b.id && (a.antiAffinity.includes(b.id) || b.antiAffinity.includes(a.id)))
          violations.push(`${a.id} and ${b.id} share ${key} (anti-affinity)`);
  }
  for (const w of problem.workloads) {
    for (const other of w.affinity) {
      const mine = slots[w.id];
      const theirs = slots[other];
      if (mine && theirs && mine.pool !== theirs.pool) violations.push(`${w.id} and ${other} are in different pools (affinity)`);
    }
  }
  const zones = new Map<string, number>();
  let zonePairs = 0;
  for (const w of problem.workloads) {
    const slot = slots[w.id];
    const pool = slot ? pools.get(slot.pool) : undefined;
    if (w.group === undefined || !pool) continue;
    const key = `${w.group}|${pool.zone}`;
    const n = zones.get(key) ?? 0;
    zonePairs += n;
    zones.set(key, n + 1);
  }
  const cost = [...instances.values()].reduce((sum, bin) => sum + bin.pool.pricePerHour, 0);
  const risk = weights.move * moves + weights.zonePair * zonePairs;
  return { objective: { cost, risk, total: cost + risk, instances: instances.size, moves, zonePairs }, violations };
}
