/**
 * A migration plan from a placement: for each workload that changes pool, four ordered steps —
 * provision the target, shift a canary share of the traffic, drain the source (all traffic to the
 * target), release the source — each with its pre-checks, post-checks and undo. Workloads move after
 * the workloads they depend on (a dependency moved first is healthy before its dependents move).
 * Pure: plain data in, plain data out; the steps' executor calls are L3 Execution engine bindings.
 */
import { ValidationError } from '../errors.ts';
import type { Binding } from '../execution/bindings.ts';
import type { Placement, Slot } from './placement.ts';
import type { Pool, Traffic, Workload } from './schemas.ts';

/** The kinds of step, in the order a workload takes them. */
export const stepKinds = ['provision', 'shift-traffic', 'drain', 'release'] as const;
/** A step kind. */
export type StepKind = (typeof stepKinds)[number];

/** A check before a step acts. */
export type PreCheck =
  /** The target instance holds what the plan puts there (re-checked against the catalogue when the step runs). */
  | { kind: 'capacity'; pool: string; instance: number; vcpu: number; memoryGiB: number; accelerators: number }
  /** A dependency's latency series is within its bound before its dependent moves. */
  | { kind: 'dependency'; workload: string; series: string; boundMs: number };

/** A check after a step acted; a failed one rolls the migration back. */
export type PostCheck =
  /** The executor's read-back shows every field the step asked for. */
  | { kind: 'health' }
  /** The newest points of the workload's latency series are within the bound. */
  | { kind: 'latency'; series: string; boundMs: number };

/** One step of a plan. */
export interface PlanStep {
  /** Position in the plan (0-based): steps run in this order, undo in the reverse. */
  index: number;
  workload: string;
  kind: StepKind;
  from: string;
  to: string;
  description: string;
  /** The executor call (an L3 Execution binding); absent for a step that only checks. */
  binding?: Binding;
  preChecks: PreCheck[];
  postChecks: PostCheck[];
  /** How the step is undone: the executor restores the state its dry run found (none for a check). */
  undo: string;
}

/** Options of a plan. */
export interface PlanOptions {
  /** Share of traffic the canary shift sends to the target (default 0.1). */
  canaryWeight?: number;
}

/** The pool → version or variant map of a workload's traffic binding. */
export function trafficPools(traffic: Traffic): Record<string, string> {
  return traffic.kind === 'lambda-alias' ? traffic.versions : traffic.variants;
}

/**
 * Workloads in an order where each comes after those it depends on (among the given ones); ties
 * keep the input order.
 * @throws ValidationError naming the cycle when dependencies form one.
 */
export function dependencyOrder(workloads: readonly Workload[]): Workload[] {
  const byId = new Map(workloads.map((w) => [w.id, w]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: Workload[] = [];
  const visit = (w: Workload, path: string[]) => {
    if (done.has(w.id)) return;
    if (visiting.has(w.id))
      throw new ValidationError([{ path: 'body.parameters.workloads', message: `dependency cycle: ${[...path, w.id].join(' → ')}` }]);
    visiting.add(w.id);
    for (const id of w.dependsOn) {
      const dependency = byId.get(id);
      if (dependency) visit(dependency, [...path, w.id]);
    }
    visiting.delete(w.id);
    done.add(w.id);
    out.push(w);
  };
  for (const w of workloads) visit(w, []);
  return out;
}

function stepBindings(traffic: Traffic, from: string, to: string, canary: number): Record<StepKind, Binding | undefined> {
  const map = trafficPools(traffic);
  const source = map[from] ?? '';
  const target = map[to] ?? '';
  if (traffic.kind === 'lambda-alias') {
    const alias = (parameters: Record<string, unknown>): Binding => ({ kind: 'lambda-alias', resource: traffic.resource, parameters });
    return {
      // A published version needs no provisioning: the step checks capacity only.
      provision: undefined,
      'shift-traffic': alias({ functionVersion: source, additionalVersionWeights: { [target]: canary } }),
      drain: alias({ functionVersion: target, additionalVersionWeights: {} }),
      // Versions are immutable and cost nothing idle: nothing to release.
      release: undefined,
    };
  }
  const endpoint = (variants: Record<string, unknown>[]): Binding => ({
    kind: 'sagemaker-endpoint',
    resource: traffic.resource,
    parameters: { variants },
  });
  return {
    provision: endpoint([{ variantName: target, instanceCount: traffic.instanceCount }]),
    'shift-traffic': endpoint([
      { variantName: source, weight: 1 - canary },
      { variantName: target, weight: canary },
    ]),
    drain: endpoint([
      { variantName: source, weight: 0 },
      { variantName: target, weight: 1 },
    ]),
    // The smallest count UpdateEndpointWeightsAndCapacities takes; deleting the variant is a new endpoint config.
    release: endpoint([{ variantName: source, instanceCount: 1 }]),
  };
}

/**
 * The ordered steps that carry out a placement.
 * @throws ValidationError naming the workload when one must move and has no traffic binding, or its binding lacks a version/variant for the source or target pool, or dependencies form a cycle.
 * @example buildSteps(pools, workloads, placement).map((step) => `${step.workload} ${step.kind}`)
 */
export function buildSteps(
  pools: readonly Pool[],
  workloads: readonly Workload[],
  placement: Pick<Placement, 'slots'>,
  options: PlanOptions = {},
): PlanStep[] {
  const canary = options.canaryWeight ?? 0.1;
  const poolById = new Map(pools.map((pool) => [pool.id, pool]));
  const position = new Map(workloads.map((w, i) => [w.id, i]));
  // What each target instance holds once every workload sits where the placement puts it.
  const usage = new Map<string, { vcpu: number; memoryGiB: number; accelerators: number }>();
  const key = (slot: Slot) => `${slot.pool}#${slot.instance}`;
  for (const w of workloads) {
    const slot = placement.slots[w.id];
    if (!slot) continue;
    const used = usage.get(key(slot)) ?? { vcpu: 0, memoryGiB: 0, accelerators: 0 };
    used.vcpu += w.needs.vcpu;
    used.memoryGiB += w.needs.memoryGiB;
    used.accelerators += w.needs.accelerators;
    usage.set(key(slot), used);
  }
  const steps: PlanStep[] = [];
  for (const w of dependencyOrder(workloads)) {
    const slot = placement.slots[w.id];
    if (!slot || w.current === undefined || w.current === slot.pool) continue;
    const path = `body.parameters.workloads.${position.get(w.id)}`;
    if (!w.traffic)
      throw new ValidationError([
        { path: `${path}.traffic`, message: `${w.id} moves from ${w.current} to ${slot.pool}: give the binding that shifts its traffic` },
      ]);
    const map = trafficPools(w.traffic);
    for (const pool of [w.current, slot.pool]) {
      if (!(pool in map))
        throw new ValidationError([
          {
            path: `${path}.traffic`,
            message: `no ${w.traffic.kind === 'lambda-alias' ? 'version' : 'variant'} of ${w.id} runs in pool ${pool}`,
          },
        ]);
    }
    const bindings = stepBindings(w.traffic, w.current, slot.pool, canary);
    const used = usage.get(key(slot)) ?? { vcpu: 0, memoryGiB: 0, accelerators: 0 };
    const dependencies: PreCheck[] = w.dependsOn.flatMap((id) => {
      const dependency = workloads.find((other) => other.id === id);
      return dependency?.latencySeries
        ? [{ kind: 'dependency' as const, workload: id, series: dependency.latencySeries, boundMs: dependency.latencyBoundMs }]
        : [];
    });
    const latency: PostCheck[] = w.latencySeries ? [{ kind: 'latency', series: w.latencySeries, boundMs: w.latencyBoundMs }] : [];
    const target = poolById.get(slot.pool);
    const describe: Record<StepKind, string> = {
      provision: bindings.provision
        ? `provision ${w.id} in ${slot.pool} (${target?.instanceType ?? ''})`
        : `check capacity for ${w.id} in ${slot.pool} (nothing to provision)`,
      'shift-traffic': `shift ${Math.round(canary * 100)} % of ${w.id}'s traffic from ${w.current} to ${slot.pool}`,
      drain: `drain ${w.id} from ${w.current}: all traffic to ${slot.pool}`,
      release: bindings.release ? `release ${w.id}'s capacity in ${w.current}` : `release ${w.id} in ${w.current} (nothing held)`,
    };
    for (const kind of stepKinds) {
      const binding = bindings[kind];
      steps.push({
        index: steps.length,
        workload: w.id,
        kind,
        from: w.current,
        to: slot.pool,
        description: describe[kind],
        ...(binding ? { binding } : {}),
        preChecks: kind === 'provision' ? [{ kind: 'capacity', pool: slot.pool, instance: slot.instance, ...used }, ...dependencies] : [],
        postChecks: binding ? [{ kind: 'health' }, ...(kind === 'shift-traffic' || kind === 'drain' ? latency : [])] : [],
        undo: binding ? 'the executor restores the state its dry run read before this step' : 'nothing to undo (a check)',
      });
    }
  }
  return steps;
}

/**
 * The steps to undo after step `failedAt` failed: every step before it that acted, last first (the
 * failed step's own change is undone too when it acted).
 * @example undoOrder(steps, [0, 1, 2]) // [2, 1, 0] minus the steps that only check
 */
export function undoOrder(steps: readonly PlanStep[], acted: readonly number[]): number[] {
  return [...acted].filter((index) => steps[index]?.binding !== undefined).sort((a, b) => b - a);
}
