/**
 * The dependency graph the Encapsulation engine analyses: components (nodes) and caller→callee
 * edges, each with where it was seen (declared in the Reflex registry, observed in call traces, or
 * both) and a weight. Strongly connected components by Tarjan's algorithm, written iteratively so a
 * 100 000-node chain does not overflow the stack. Pure: plain data in, plain data out.
 */

/** One directed edge: `from` calls or needs `to`. */
export interface DependencyEdge {
  from: string;
  to: string;
  /** Declared in the registry (`dependsOn`). */
  declared: boolean;
  /** Calls observed in traces (0 when only declared). */
  observed: number;
}

/** A directed dependency graph over named nodes. */
export interface DependencyGraph {
  /** Node ids in a stable order (registry order, then nodes first seen in traces). */
  nodes: string[];
  /** Node kinds where known (the registry's `kind`). */
  kinds: Record<string, string>;
  edges: DependencyEdge[];
}

/**
 * The weight of an edge in the analysis: observed calls count, and a declared dependency counts as
 * one call, so a declared edge never seen in traces still binds its ends.
 * @example edgeWeight({ from: 'a', to: 'b', declared: true, observed: 4 }) // 5
 */
export function edgeWeight(edge: Pick<DependencyEdge, 'declared' | 'observed'>): number {
  return edge.observed + (edge.declared ? 1 : 0);
}

/**
 * Builds the graph from registered components and observed edges: every registered component is a
 * node (in registry order), every observed caller or callee not registered becomes a node too
 * (appended in first-seen order, kind `unregistered`); declared and observed edges between the same
 * pair merge into one.
 * @example buildGraph([{ id: 'api', kind: 'lambda', dependsOn: ['db'] }, { id: 'db', kind: 'table', dependsOn: [] }], [{ from: 'api', to: 'db', calls: 3 }])
 * // { nodes: ['api', 'db'], edges: [{ from: 'api', to: 'db', declared: true, observed: 3 }], … }
 */
export function buildGraph(
  components: readonly { id: string; kind: string; dependsOn: readonly string[] }[],
  observed: readonly { from: string; to: string; calls: number }[],
): DependencyGraph {
  const nodes: string[] = [];
  const kinds: Record<string, string> = {};
  const seen = new Set<string>();
  const add = (id: string, kind: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    nodes.push(id);
    kinds[id] = kind;
  };
  for (const component of components) add(component.id, component.kind);
  const edges = new Map<string, DependencyEdge>();
  const edgeOf = (from: string, to: string) => {
    const key = `${from}\u0000${to}`;
    let edge = edges.get(key);
    if (!edge) {
      edge = { from, to, declared: false, observed: 0 };
      edges.set(key, edge);
    }
    return edge;
  };
  for (const component of components)
    for (const dependency of component.dependsOn) {
      add(dependency, 'unregistered');
      edgeOf(component.id, dependency).declared = true;
    }
  for (const call of observed) {
    add(call.from, 'unregistered');
    add(call.to, 'unregistered');
    edgeOf(call.from, call.to).observed += call.calls;
  }
  return { nodes, kinds, edges: [...edges.values()] };
}

/**
 * Strongly connected components of a directed graph given as adjacency lists over node indices
 * (Tarjan 1972, with an explicit stack of frames instead of recursion). Each component's members
 * ascending; components in the order Tarjan completes them (a reverse topological order of the
 * condensation: a component comes before every component that reaches it).
 * @example stronglyConnected([[1], [0], []]) // [[0, 1], [2]] or [[2], [0, 1]] by visiting order
 */
export function stronglyConnected(adjacency: readonly (readonly number[])[]): number[][] {
  const n = adjacency.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const components: number[][] = [];
  // Frames as two parallel stacks: the node and the position of its next edge.
  const frameNode: number[] = [];
  const frameEdge: number[] = [];
  let counter = 0;
  for (let root = 0; root < n; root += 1) {
    if (index[root] !== -1) continue;
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    frameNode.push(root);
    frameEdge.push(0);
    while (frameNode.length > 0) {
      const top = frameNode.length - 1;
      const node = frameNode[top] as number;
      const edges = adjacency[node] ?? [];
      const position = frameEdge[top] as number;
      if (position < edges.length) {
        frameEdge[top] = position + 1;
        const next = edges[position] as number;
        if (index[next] === -1) {
          index[next] = low[next] = counter++;
          stack.push(next);
          onStack[next] = 1;
          frameNode.push(next);
          frameEdge.push(0);
        } else if (onStack[next] === 1 && (index[next] as number) < (low[node] as number)) low[node] = index[next] as number;
        continue;
      }
      frameNode.pop();
      frameEdge.pop();
      if (frameNode.length > 0) {
        const parent = frameNode[frameNode.length - 1] as number;
        if ((low[node] as number) < (low[parent] as number)) low[parent] = low[node] as number;
      }
      if (low[node] !== index[node]) continue;
      const component: number[] = [];
      for (;;) {
        const member = stack.pop() as number;
        onStack[member] = 0;
        component.push(member);
        if (member === node) break;
      }
      components.push(component.sort((a, b) => a - b));
    }
  }
  return components;
}

/**
 * The cycles of a graph: each strongly connected component of two or more nodes, and each node
 * with an edge to itself. Members in node order, cycles ordered by their first member.
 * @example findCycles({ nodes: ['a', 'b', 'c'], kinds: {}, edges: [ab, ba, cc] }) // [['a', 'b'], ['c']]
 */
export function findCycles(graph: Pick<DependencyGraph, 'nodes' | 'edges'>): string[][] {
  const position = new Map(graph.nodes.map((id, i) => [id, i]));
  const adjacency: number[][] = graph.nodes.map(() => []);
  const selfLoop = new Uint8Array(graph.nodes.length);
  for (const edge of graph.edges) {
    const from = position.get(edge.from);
    const to = position.get(edge.to);
    if (from === undefined || to === undefined) continue;
    (adjacency[from] as number[]).push(to);
    if (from === to) selfLoop[from] = 1;
  }
  return stronglyConnected(adjacency)
    .filter((component) => component.length > 1 || selfLoop[component[0] as number] === 1)
    .sort((a, b) => (a[0] as number) - (b[0] as number))
    .map((component) => component.map((i) => graph.nodes[i] as string));
}
