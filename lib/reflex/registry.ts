/**
 * The component registry: a tenant's components, what each depends on, the series that describe it
 * and what each recovery step means for it (its executor bindings). `PUT /reflex/components`
 * replaces the whole registry at once (a new generation); dependencies must name registered
 * components, and cycles are allowed (services do call each other) but reported.
 *
 * The graph answers two questions: the transitive dependents of a component (governance's blast
 * radius, {@link componentGraph}) and the transitive dependencies (root-cause analysis looks
 * upstream). Pure: the store is a port ({@link RegistryStore}).
 */
import { ConflictError, type FieldIssue, ValidationError } from '../errors.ts';
import type { ComponentGraph } from '../governance/proposals.ts';
import { type Component, MAX_COMPONENTS, type Registry } from './schemas.ts';

/** Most cycles a reply or a diagnosis lists. */
export const MAX_REPORTED_CYCLES = 50;

/** Storage of registries: one generation per tenant, replaced whole. */
export interface RegistryStore {
  /** The tenant's current registry (generation 0 and no components when none is registered). */
  registry(tenant: string): Promise<Registry>;
  /**
   * Replaces the registry if it is still at `expectedGeneration`; returns the new generation and the
   * ids that are no longer registered.
   * @throws ConflictError when another replacement landed first.
   */
  replace(
    tenant: string,
    components: readonly Component[],
    expectedGeneration: number,
    meta: { at: string; by: string },
  ): Promise<{ generation: number; removed: string[] }>;
}

/**
 * Checks a registry before it is stored: ids unique, every dependency registered, each series
 * claimed by one component (an incident on a series must name one component).
 * @returns the cycles, which are allowed.
 * @throws ValidationError naming each unknown dependency (`body.parameters.components.3.dependsOn.0: unknown component 'db'`), duplicate id and shared series.
 * @example
 * checkRegistry([{ id: 'api', kind: 'lambda', dependsOn: ['db'], … }]) // throws: unknown component 'db'
 */
export function checkRegistry(components: readonly Component[]): { cycles: string[][] } {
  const issues: FieldIssue[] = [];
  const at = (index: number, ...rest: (string | number)[]) => ['body.parameters.components', index, ...rest].join('.');
  if (components.length > MAX_COMPONENTS)
    issues.push({ path: 'body.parameters.components', message: `at most ${MAX_COMPONENTS} components` });
  const firstIndex = new Map<string, number>();
  components.forEach((component, index) => {
    const first = firstIndex.get(component.id);
    if (first === undefined) firstIndex.set(component.id, index);
    else issues.push({ path: at(index, 'id'), message: `component '${component.id}' is declared twice (first at components.${first})` });
  });
  const seriesOwner = new Map<string, string>();
  components.forEach((component, index) => {
    component.dependsOn.forEach((dependency, position) => {
      if (!firstIndex.has(dependency))
        issues.push({ path: at(index, 'dependsOn', position), message: `unknown component '${dependency}' (not in this registry)` });
    });
    component.series.forEach((series, position) => {
      const owner = seriesOwner.get(series);
      if (owner !== undefined && owner !== component.id)
        issues.push({ path: at(index, 'series', position), message: `series '${series}' already describes component '${owner}'` });
      else seriesOwner.set(series, component.id);
    });
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return { cycles: findCycles(components) };
}

/**
 * The dependency cycles of a graph: each strongly connected group of two or more components, and
 * each component that depends on itself (Tarjan's algorithm, iterative). Ids in declaration order,
 * groups ordered by their first member; at most {@link MAX_REPORTED_CYCLES}. Unknown dependencies are ignored.
 * @example findCycles([{ id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] }]) // [['a', 'b']]
 */
export function findCycles(components: readonly Pick<Component, 'id' | 'dependsOn'>[]): string[][] {
  const order = new Map(components.map((component, index) => [component.id, index]));
  const edges = components.map((component) =>
    component.dependsOn.map((id) => order.get(id)).filter((index): index is number => index !== undefined),
  );
  const indexOf = new Array<number>(components.length).fill(-1);
  const low = new Array<number>(components.length).fill(0);
  const onStack = new Array<boolean>(components.length).fill(false);
  const stack: number[] = [];
  const groups: number[][] = [];
  let counter = 0;
  for (let root = 0; root < components.length; root += 1) {
    if (indexOf[root] !== -1) continue;
    // Each frame: the node and the position of the next edge to follow.
    const frames: Array<[node: number, edge: number]> = [[root, 0]];
    indexOf[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (frames.length > 0) {
      const frame = frames[frames.length - 1] as [number, number];
      const [node, edge] = frame;
      const next = edges[node]?.[edge];
      if (next !== undefined) {
        frame[1] += 1;
        if (indexOf[next] === -1) {
          indexOf[next] = low[next] = counter++;
          stack.push(next);
          onStack[next] = true;
          frames.push([next, 0]);
        } else if (onStack[next]) low[node] = Math.min(low[node] as number, indexOf[next] as number);
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low[parent[0]] = Math.min(low[parent[0]] as number, low[node] as number);
      if (low[node] !== indexOf[node]) continue;
      const group: number[] = [];
      for (;;) {
        const member = stack.pop() as number;
        onStack[member] = false;
        group.push(member);
        if (member === node) break;
      }
      const selfLoop = group.length === 1 && (edges[node] ?? []).includes(node);
      if (group.length > 1 || selfLoop) groups.push(group.sort((a, b) => a - b));
    }
  }
  return groups
    .sort((a, b) => (a[0] as number) - (b[0] as number))
    .slice(0, MAX_REPORTED_CYCLES)
    .map((group) => group.map((index) => (components[index] as Pick<Component, 'id'>).id));
}

/** A registry's graph, indexed once: components by id and by series, edges both ways. */
export class ComponentIndex {
  readonly components: readonly Component[];
  readonly #byId: Map<string, Component>;
  readonly #bySeries = new Map<string, Component>();
  readonly #dependents = new Map<string, string[]>();

  constructor(components: readonly Component[]) {
    this.components = components;
    this.#byId = new Map(components.map((component) => [component.id, component]));
    for (const component of components) {
      for (const series of component.series) if (!this.#bySeries.has(series)) this.#bySeries.set(series, component);
      for (const dependency of component.dependsOn) {
        const list = this.#dependents.get(dependency) ?? [];
        list.push(component.id);
        this.#dependents.set(dependency, list);
      }
    }
  }

  /** The component with this id. */
  get(id: string): Component | undefined {
    return this.#byId.get(id);
  }

  /** The component a series describes. */
  ofSeries(series: string): Component | undefined {
    return this.#bySeries.get(series);
  }

  /** Components that depend on `id`, directly or through others (never `id` itself, even in a cycle), sorted. */
  dependentsOf(id: string): string[] {
    return this.#reach(id, (node) => this.#dependents.get(node) ?? []);
  }

  /** Components `id` depends on, directly or through others (never `id` itself), sorted. */
  dependenciesOf(id: string): string[] {
    return this.#reach(id, (node) => (this.#byId.get(node)?.dependsOn ?? []).filter((dependency) => this.#byId.has(dependency)));
  }

  #reach(id: string, next: (node: string) => readonly string[]): string[] {
    const seen = new Set<string>([id]);
    const queue = [id];
    for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
      for (const neighbour of next(node)) {
        if (seen.has(neighbour)) continue;
        seen.add(neighbour);
        queue.push(neighbour);
      }
    }
    seen.delete(id);
    return [...seen].sort();
  }
}

/** What `PUT /reflex/components` answers. */
export interface RegistryReplaced {
  generation: number;
  count: number;
  removed: string[];
  cycles: string[][];
}

/**
 * Replaces a tenant's registry after {@link checkRegistry}: conditional on the generation read (or
 * on `ifGeneration` when the caller names one), so two concurrent replacements cannot interleave.
 * @throws ValidationError (see {@link checkRegistry}); ConflictError when the registry moved on (or is not at `ifGeneration`).
 */
export async function replaceRegistry(
  tenant: string,
  input: { components: readonly Component[]; ifGeneration?: number | undefined },
  actor: string,
  deps: { store: RegistryStore; now: Date },
): Promise<RegistryReplaced> {
  const { cycles } = checkRegistry(input.components);
  const current = await deps.store.registry(tenant);
  if (input.ifGeneration !== undefined && input.ifGeneration !== current.generation) {
    throw new ConflictError(`The registry of ${tenant} is at generation ${current.generation}, not ${input.ifGeneration}; read it again`);
  }
  const { generation, removed } = await deps.store.replace(tenant, input.components, current.generation, {
    at: deps.now.toISOString(),
    by: actor,
  });
  return { generation, count: input.components.length, removed, cycles };
}

/**
 * Governance's {@link ComponentGraph} port from the registry: a target's dependents are the
 * transitive dependents of the component with that id (none when the target is not registered).
 * @example
 * const graph = componentGraph(store);
 * await graph.dependents('acme', 'db/orders') // ['api/checkout', 'web/shop']
 */
export function componentGraph(store: Pick<RegistryStore, 'registry'>): ComponentGraph {
  return {
    async dependents(tenant, target) {
      const registry = await store.registry(tenant);
      return new ComponentIndex(registry.components).dependentsOf(target);
    },
  };
}
