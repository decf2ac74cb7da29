/**
 * Planted-partition graphs for tests and the bench: `groups` groups of `size` nodes; each node draws
 * `inside` edges to random members of its own group and `outside` edges to random nodes of other
 * groups (seeded, mulberry32), so the planted partition is known and its modularity can be compared
 * with what community detection finds. Pure.
 */
import { seededRandom, type WeightedEdge } from './communities.ts';

/** A planted-partition graph and its planted partition. */
export interface PlantedGraph {
  n: number;
  edges: WeightedEdge[];
  /** `planted[i]`: node i's group. */
  planted: number[];
}

/**
 * A planted-partition graph (see the module comment).
 * @example plantedPartition({ groups: 4, size: 25, inside: 4, outside: 1, seed: 3 }).edges.length // 500
 */
export function plantedPartition(options: { groups: number; size: number; inside: number; outside: number; seed: number }): PlantedGraph {
  const { groups, size, inside, outside } = options;
  const random = seededRandom(options.seed);
  const n = groups * size;
  const planted = Array.from({ length: n }, (_, i) => Math.floor(i / size));
  const edges: WeightedEdge[] = [];
  for (let node = 0; node < n; node += 1) {
    const group = planted[node] as number;
    for (let k = 0; k < inside; k += 1) {
      let other = group * size + Math.floor(random() * size);
      if (other === node) other = group * size + ((other - group * size + 1) % size);
      edges.push({ a: node, b: other, weight: 1 });
    }
    for (let k = 0; k < outside && groups > 1; k += 1) {
      const otherGroup = (group + 1 + Math.floor(random() * (groups - 1))) % groups;
      edges.push({ a: node, b: otherGroup * size + Math.floor(random() * size), weight: 1 });
    }
  }
  return { n, edges, planted };
}
