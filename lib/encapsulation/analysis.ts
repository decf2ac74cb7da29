/**
 * One analysis of a tenant's components: the dependency graph (declared and observed edges), its
 * cycles (strongly connected components), its modules (Louvain communities on the weighted
 * undirected graph), each module's entry points with their interface (a JSON Schema 2020-12 and an
 * OpenAPI 3.1 document inferred from observed payloads) and its reusability score. Pure.
 *
 * A module's entry points are the (component, operation) pairs of its members that are called from
 * outside the module or by no one (the module's surface), by the operations seen in payload samples
 * (`invoke` for a member called from outside with no sample). Its interface schema, the body that is
 * versioned when the interface is exposed, is an object with one property per entry point
 * (`<component> <operation>`, the request's inferred schema), none required and no others allowed:
 * removing an entry point or narrowing a request breaks consumers, adding one does not.
 */

import { louvain, type WeightedEdge } from './communities.ts';
import { type DependencyGraph, edgeWeight, findCycles } from './graph.ts';
import { type Reusability, reusability } from './reusability.ts';
import { type EntryPoint, inferSchema, type JsonSchemaObject, openApiDocument, propertyCount, SCHEMA_DIALECT } from './schema-infer.ts';
import type { PayloadSample } from './traces.ts';

/** Options of {@link analyseGraph}. */
export interface AnalysisOptions {
  /** Seed of the community detection (default 1). */
  seed?: number;
  /** Modularity resolution γ (default 1). */
  resolution?: number;
}

/** One module found. */
export interface ModuleAnalysis {
  /** `module-<n>`, numbered by each module's first member in node order. */
  id: string;
  /** Its best-connected member (highest weighted degree; the first in node order on a tie). */
  name: string;
  members: string[];
  entryPoints: { component: string; operation: string; samples: number }[];
  /** Edges into it from outside (count of distinct callers = fan-in). */
  callers: string[];
  /** Outside components it calls. */
  callees: string[];
  reusability: Reusability;
  /** The versioned interface schema (see the module comment). */
  interfaceSchema: JsonSchemaObject;
  openapi: JsonSchemaObject;
}

/** What {@link analyseGraph} returns. */
export interface GraphAnalysis {
  nodes: number;
  edges: number;
  cycles: string[][];
  modularity: number;
  seed: number;
  modules: ModuleAnalysis[];
}

/** The property name of an entry point in a module's interface schema. */
export function entryPointKey(component: string, operation: string): string {
  return `${component} ${operation}`;
}

/**
 * Analyses a graph with payload samples (see the module comment).
 * @example analyseGraph(buildGraph(components, edges), samples, { seed: 7 }).modules[0].reusability.score
 */
export function analyseGraph(graph: DependencyGraph, samples: readonly PayloadSample[], options: AnalysisOptions = {}): GraphAnalysis {
  const seed = options.seed ?? 1;
  const position = new Map(graph.nodes.map((id, i) => [id, i]));
  const weighted: WeightedEdge[] = [];
  const degree = new Float64Array(graph.nodes.length);
  for (const edge of graph.edges) {
    const a = position.get(edge.from) as number;
    const b = position.get(edge.to) as number;
    const weight = edgeWeight(edge);
    weighted.push({ a, b, weight });
    degree[a] = (degree[a] as number) + weight;
    degree[b] = (degree[b] as number) + weight;
  }
  const partition = louvain(graph.nodes.length, weighted, {
    seed,
    ...(options.resolution !== undefined ? { resolution: options.resolution } : {}),
  });
  const moduleOf = (id: string) => partition.community[position.get(id) as number] as number;
  const members: string[][] = Array.from({ length: partition.count }, () => []);
  graph.nodes.forEach((id, i) => {
    (members[partition.community[i] as number] as string[]).push(id);
  });

  const byComponent = new Map<string, PayloadSample[]>();
  for (const sample of samples) {
    if (!position.has(sample.component)) continue;
    const list = byComponent.get(sample.component) ?? [];
    list.push(sample);
    byComponent.set(sample.component, list);
  }
  const inside = new Float64Array(partition.count);
  const touching = new Float64Array(partition.count);
  const callers = Array.from({ length: partition.count }, () => new Set<string>());
  const callees = Array.from({ length: partition.count }, () => new Set<string>());
  const calledFromOutside = new Set<string>();
  const called = new Set<string>();
  for (const edge of graph.edges) {
    const from = moduleOf(edge.from);
    const to = moduleOf(edge.to);
    const weight = edgeWeight(edge);
    if (edge.from !== edge.to) called.add(edge.to);
    if (from === to) {
      inside[from] = (inside[from] as number) + weight;
      continue;
    }
    touching[from] = (touching[from] as number) + weight;
    touching[to] = (touching[to] as number) + weight;
    (callers[to] as Set<string>).add(edge.from);
    (callees[from] as Set<string>).add(edge.to);
    calledFromOutside.add(edge.to);
  }

  const modules = members.map((list, index): ModuleAnalysis => {
    let name = list[0] as string;
    for (const id of list) if ((degree[position.get(id) as number] as number) > (degree[position.get(name) as number] as number)) name = id;
    const entries: EntryPoint[] = [];
    for (const component of list) {
      if (!calledFromOutside.has(component) && called.has(component)) continue;
      const operations = new Map<string, { requests: unknown[]; responses: unknown[] }>();
      for (const sample of byComponent.get(component) ?? []) {
        const op = operations.get(sample.operation) ?? { requests: [], responses: [] };
        if (sample.request !== undefined) op.requests.push(sample.request);
        if (sample.response !== undefined) op.responses.push(sample.response);
        operations.set(sample.operation, op);
      }
      if (operations.size === 0 && calledFromOutside.has(component)) operations.set('invoke', { requests: [], responses: [] });
      for (const [operation, seen] of operations) entries.push({ component, operation, ...seen });
    }
    const properties: Record<string, JsonSchemaObject> = {};
    let fields = 0;
    for (const entry of entries) {
      const { $schema: _d, ...schema } = inferSchema(entry.requests);
      properties[entryPointKey(entry.component, entry.operation)] = schema;
      fields += propertyCount(schema);
    }
    const id = `module-${index + 1}`;
    return {
      id,
      name,
      members: list,
      entryPoints: entries.map((e) => ({
        component: e.component,
        operation: e.operation,
        samples: e.requests.length + e.responses.length,
      })),
      callers: [...(callers[index] as Set<string>)].sort(),
      callees: [...(callees[index] as Set<string>)].sort(),
      reusability: reusability({
        fanIn: (callers[index] as Set<string>).size,
        fanOut: (callees[index] as Set<string>).size,
        internalWeight: inside[index] as number,
        externalWeight: touching[index] as number,
        operations: entries.length,
        properties: fields,
      }),
      interfaceSchema: {
        $schema: SCHEMA_DIALECT,
        title: `Interface of ${name}`,
        type: 'object',
        properties,
        additionalProperties: false,
      },
      openapi: openApiDocument(name, '0.0.0', entries),
    };
  });
  return {
    nodes: graph.nodes.length,
    edges: graph.edges.length,
    cycles: findCycles(graph),
    modularity: Math.round(partition.modularity * 1e6) / 1e6,
    seed,
    modules,
  };
}
