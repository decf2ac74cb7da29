/**
 * Module boundaries by community detection: the Louvain method (Blondel, Guillaume, Lambiotte and
 * Lefebvre 2008) maximising Newman–Girvan modularity on the weighted undirected graph (an edge's
 * weight is the sum of both directions' weights). Phase 1 moves single nodes to the neighbouring
 * community with the best modularity gain until no move gains; phase 2 merges each community into
 * one node; the two repeat until a pass moves nothing. Deterministic: the node visiting order of
 * each pass is a Fisher–Yates shuffle by a seeded PRNG (mulberry32), ties keep the current
 * community, then go to the lowest community id; communities are numbered by their first node.
 *
 * Convention: the adjacency is symmetric, a self-loop of weight w counts 2w in A_ii and in the
 * degree, 2m = Σ degrees; Q = Σ_c [ in_c / 2m − γ (tot_c / 2m)² ]. Pure.
 */

/** A weighted undirected edge between node indices. */
export interface WeightedEdge {
  a: number;
  b: number;
  weight: number;
}

/** Options of {@link louvain}. */
export interface LouvainOptions {
  /** Seed of the visiting order (default 1). */
  seed?: number;
  /** Resolution γ (default 1): larger finds smaller communities. */
  resolution?: number;
  /** Most aggregation levels (default 32). */
  maxLevels?: number;
}

/** What {@link louvain} finds. */
export interface Partition {
  /** `community[i]`: node i's community, numbered 0.. in order of each community's first node. */
  community: number[];
  /** How many communities. */
  count: number;
  /** The partition's modularity on the input graph. */
  modularity: number;
  /** Aggregation levels run. */
  levels: number;
}

/** mulberry32: a small, fast, well-distributed 32-bit PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Compressed adjacency: neighbours of node i at offsets[i]..offsets[i+1], self-loops kept apart. */
interface Adjacency {
  n: number;
  offsets: Int32Array;
  targets: Int32Array;
  weights: Float64Array;
  /** A_ii (2w for a self-loop of weight w). */
  loops: Float64Array;
  degree: Float64Array;
  twoM: number;
}

function adjacencyOf(n: number, edges: readonly WeightedEdge[]): Adjacency {
  const merged = new Map<number, number>();
  const loops = new Float64Array(n);
  for (const { a, b, weight } of edges) {
    if (!(weight > 0) || a < 0 || b < 0 || a >= n || b >= n) continue;
    if (a === b) loops[a] = (loops[a] as number) + 2 * weight;
    else {
      const key = a < b ? a * n + b : b * n + a;
      merged.set(key, (merged.get(key) ?? 0) + weight);
    }
  }
  const counts = new Int32Array(n + 1);
  for (const key of merged.keys()) {
    const a = Math.floor(key / n);
    const b = key - a * n;
    counts[a + 1] = (counts[a + 1] as number) + 1;
    counts[b + 1] = (counts[b + 1] as number) + 1;
  }
  for (let i = 0; i < n; i += 1) counts[i + 1] = (counts[i + 1] as number) + (counts[i] as number);
  const offsets = counts.slice();
  const fill = counts.slice(0, n);
  const targets = new Int32Array(offsets[n] as number);
  const weights = new Float64Array(offsets[n] as number);
  const degree = new Float64Array(n);
  for (const [key, weight] of merged) {
    const a = Math.floor(key / n);
    const b = key - a * n;
    let at = fill[a] as number;
    targets[at] = b;
    weights[at] = weight;
    fill[a] = at + 1;
    at = fill[b] as number;
    targets[at] = a;
    weights[at] = weight;
    fill[b] = at + 1;
    degree[a] = (degree[a] as number) + weight;
    degree[b] = (degree[b] as number) + weight;
  }
  let twoM = 0;
  for (let i = 0; i < n; i += 1) {
    degree[i] = (degree[i] as number) + (loops[i] as number);
    twoM += degree[i] as number;
  }
  return { n, offsets, targets, weights, loops, degree, twoM };
}

/**
 * The modularity of a partition of an undirected weighted graph (see the module comment); 0 for a
 * graph without edges.
 * @example modularity(4, [{ a: 0, b: 1, weight: 1 }, { a: 2, b: 3, weight: 1 }], [0, 0, 1, 1]) // 0.5
 */
export function modularity(n: number, edges: readonly WeightedEdge[], community: readonly number[], resolution = 1): number {
  return modularityOf(adjacencyOf(n, edges), community, resolution);
}

function modularityOf(g: Adjacency, community: readonly number[], resolution: number): number {
  if (g.twoM === 0) return 0;
  const inside = new Map<number, number>();
  const total = new Map<number, number>();
  for (let i = 0; i < g.n; i += 1) {
    const c = community[i] as number;
    total.set(c, (total.get(c) ?? 0) + (g.degree[i] as number));
    let within = g.loops[i] as number;
    for (let k = g.offsets[i] as number; k < (g.offsets[i + 1] as number); k += 1)
      if (community[g.targets[k] as number] === c) within += g.weights[k] as number;
    inside.set(c, (inside.get(c) ?? 0) + within);
  }
  let q = 0;
  for (const [c, tot] of total) q += (inside.get(c) ?? 0) / g.twoM - resolution * (tot / g.twoM) ** 2;
  return q;
}

/** Phase 1: local moving. Returns each node's community (ids are node indices) and whether any node moved. */
function moveNodes(g: Adjacency, resolution: number, random: () => number): { community: Int32Array; moved: boolean } {
  const community = new Int32Array(g.n);
  const total = new Float64Array(g.n);
  for (let i = 0; i < g.n; i += 1) {
    community[i] = i;
    total[i] = g.degree[i] as number;
  }
  const order = Array.from({ length: g.n }, (_, i) => i);
  for (let i = g.n - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const linkTo = new Float64Array(g.n);
  const touched: number[] = [];
  let moved = false;
  for (let improved = true, passes = 0; improved && passes < 100; passes += 1) {
    improved = false;
    for (const node of order) {
      const current = community[node] as number;
      const k = g.degree[node] as number;
      for (let at = g.offsets[node] as number; at < (g.offsets[node + 1] as number); at += 1) {
        const c = community[g.targets[at] as number] as number;
        if (linkTo[c] === 0) touched.push(c);
        linkTo[c] = (linkTo[c] as number) + (g.weights[at] as number);
      }
      total[current] = (total[current] as number) - k;
      const scale = (resolution * k) / g.twoM;
      let best = current;
      let bestGain = (linkTo[current] as number) - scale * (total[current] as number);
      for (const c of touched) {
        const gain = (linkTo[c] as number) - scale * (total[c] as number);
        if (gain > bestGain + 1e-12 || (Math.abs(gain - bestGain) <= 1e-12 && best !== current && c < best)) {
          best = c;
          bestGain = gain;
        }
      }
      total[best] = (total[best] as number) + k;
      if (best !== current) {
        community[node] = best;
        improved = true;
        moved = true;
      }
      for (const c of touched) linkTo[c] = 0;
      touched.length = 0;
    }
  }
  return { community, moved };
}

/**
 * Communities of an undirected weighted graph by the Louvain method (see the module comment).
 * @example louvain(6, twoTriangles, { seed: 7 }).community // [0, 0, 0, 1, 1, 1]
 */
export function louvain(n: number, edges: readonly WeightedEdge[], options: LouvainOptions = {}): Partition {
  const resolution = options.resolution ?? 1;
  const random = seededRandom(options.seed ?? 1);
  const original = adjacencyOf(n, edges);
  // membership[i]: node i's node at the current level.
  let membership = Int32Array.from({ length: n }, (_, i) => i);
  let g = original;
  let levels = 0;
  while (levels < (options.maxLevels ?? 32)) {
    const { community, moved } = moveNodes(g, resolution, random);
    if (!moved) break;
    levels += 1;
    const renumber = new Int32Array(g.n).fill(-1);
    let count = 0;
    for (let i = 0; i < g.n; i += 1) {
      const c = community[i] as number;
      if (renumber[c] === -1) renumber[c] = count++;
    }
    const next: WeightedEdge[] = [];
    for (let i = 0; i < g.n; i += 1) {
      const ci = renumber[community[i] as number] as number;
      // A_ii is 2w; as an edge (ci, ci) of weight w it counts 2w again.
      if ((g.loops[i] as number) > 0) next.push({ a: ci, b: ci, weight: (g.loops[i] as number) / 2 });
      for (let at = g.offsets[i] as number; at < (g.offsets[i + 1] as number); at += 1) {
        const j = g.targets[at] as number;
        if (j < i) continue;
        const cj = renumber[community[j] as number] as number;
        next.push({ a: ci, b: cj, weight: g.weights[at] as number });
      }
    }
    membership = membership.map((m) => renumber[community[m] as number] as number);
    g = adjacencyOf(count, next);
  }
  // Number communities by their first node.
  const final = new Map<number, number>();
  const result = Array.from(membership, (m) => {
    let id = final.get(m);
    if (id === undefined) {
      id = final.size;
      final.set(m, id);
    }
    return id;
  });
  return { community: result, count: final.size, modularity: modularityOf(original, result, resolution), levels };
}
