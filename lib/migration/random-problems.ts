/**
 * Seeded random placement problems, for the bench (heuristics vs the exact solver) and the tests
 * (the solver vs brute force): workloads drawn from a few shapes (small and large CPU services,
 * memory-heavy caches, one-GPU models of a type or any type, batch jobs), some with a current pool,
 * a group of replicas, residency in one region, and anti-affinity between replicas.
 */
import { illustrativeCatalogue } from './catalogue.ts';
import type { PlacementProblem } from './placement.ts';
import type { Pool, Workload } from './schemas.ts';

/** sfc32: a small seeded PRNG with uniform floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4_294_967_296;
  };
  for (let i = 0; i < 12; i += 1) next();
  return next;
}

interface Shape {
  vcpu: [number, number];
  memoryGiB: [number, number];
  accelerators: number;
  acceleratorType?: string;
  latency: Workload['needs']['latencyClass'];
}

const SHAPES: readonly Shape[] = [
  { vcpu: [0.25, 1], memoryGiB: [0.5, 2], accelerators: 0, latency: 'standard' },
  { vcpu: [1, 3], memoryGiB: [2, 6], accelerators: 0, latency: 'interactive' },
  { vcpu: [0.5, 1.5], memoryGiB: [4, 12], accelerators: 0, latency: 'standard' },
  { vcpu: [1, 3], memoryGiB: [4, 12], accelerators: 1, latency: 'interactive' },
  { vcpu: [1, 2], memoryGiB: [4, 8], accelerators: 1, acceleratorType: 'a10g', latency: 'interactive' },
  { vcpu: [0.5, 4], memoryGiB: [1, 8], accelerators: 0, latency: 'batch' },
];

/** Options of a random problem. */
export interface RandomProblemOptions {
  /** Pools to draw from (default: the illustrative catalogue with 4 instances each, one region's first zone kept apart). */
  pools?: Pool[];
  /** Share of workloads that run somewhere now (default 0.5). */
  placedShare?: number;
}

/**
 * A random problem of `n` workloads, the same for the same seed.
 * @example randomProblem(7, 8).workloads.length // 8
 */
export function randomProblem(seed: number, n: number, options: RandomProblemOptions = {}): PlacementProblem {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const between = ([lo, hi]: [number, number]) => Math.round((lo + random() * (hi - lo)) * 4) / 4;
  const all = options.pools ?? illustrativeCatalogue(4);
  // A subset of the catalogue keeps the search honest: ~12 pools, every kind represented.
  const pools = all.filter(() => random() < 0.3);
  for (const must of ['ml.m5.large', 'ml.g5.xlarge', 'lambda-2048'])
    if (!pools.some((pool) => pool.instanceType === must)) pools.push(pick(all.filter((pool) => pool.instanceType === must)));
  const workloads: Workload[] = [];
  for (let i = 0; i < n; i += 1) {
    const shape = pick(SHAPES);
    const group = random() < 0.3 ? `g${Math.floor(random() * Math.max(1, n / 4))}` : undefined;
    const residency = random() < 0.25 ? [pick(['us-east-1', 'eu-west-1'])] : undefined;
    const current = random() < (options.placedShare ?? 0.5) ? pick(pools).id : undefined;
    workloads.push({
      id: `w${i}`,
      needs: {
        vcpu: between(shape.vcpu),
        memoryGiB: between(shape.memoryGiB),
        accelerators: shape.accelerators,
        ...(shape.acceleratorType ? { acceleratorType: shape.acceleratorType } : {}),
        latencyClass: shape.latency,
        ...(residency ? { regions: residency } : {}),
      },
      ...(current ? { current } : {}),
      ...(group ? { group } : {}),
      affinity: [],
      antiAffinity: [],
      dependsOn: [],
      latencyBoundMs: 1000,
    });
  }
  // Replicas of a group never share an instance.
  for (const w of workloads) {
    if (!w.group) continue;
    w.antiAffinity = workloads.filter((other) => other !== w && other.group === w.group).map((other) => other.id);
  }
  return { pools, workloads };
}
