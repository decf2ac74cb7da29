/**
 * Encapsulation engine bench: time to analyse planted-partition graphs of 1k and 10k components
 * (graph build, Tarjan, Louvain, modules with scores and interfaces), and the found partition's
 * modularity against the planted partition's, measured in the same run.
 * Run: node bench/encapsulation.ts
 */
import { analyseGraph } from '../lib/encapsulation/analysis.ts';
import { louvain, modularity } from '../lib/encapsulation/communities.ts';
import { buildGraph } from '../lib/encapsulation/graph.ts';
import { plantedPartition } from '../lib/encapsulation/planted.ts';

for (const [groups, size] of [
  [20, 50],
  [100, 100],
] as const) {
  const planted = plantedPartition({ groups, size, inside: 6, outside: 1, seed: 7 });
  const id = (i: number) => `c${i}`;
  const components = Array.from({ length: planted.n }, (_, i) => ({ id: id(i), kind: 'service', dependsOn: [] as string[] }));
  const edges = planted.edges.map((e) => ({ from: id(e.a), to: id(e.b), calls: e.weight }));
  const samples = Array.from({ length: 200 }, (_, i) => ({
    component: id(i * 7),
    operation: 'get',
    request: { id: i, at: '2025-01-01T00:00:00Z' },
  }));
  const started = performance.now();
  const analysis = analyseGraph(buildGraph(components, edges), samples, { seed: 1 });
  const ms = performance.now() - started;
  const found = louvain(planted.n, planted.edges, { seed: 1 });
  const plantedQ = modularity(planted.n, planted.edges, planted.planted);
  console.log(
    `${planted.n} nodes, ${edges.length} edges: analysed in ${ms.toFixed(0)} ms; ${analysis.modules.length} modules (planted ${groups}); modularity ${found.modularity.toFixed(4)} vs planted ${plantedQ.toFixed(4)} (ratio ${(found.modularity / plantedQ).toFixed(3)})`,
  );
}
