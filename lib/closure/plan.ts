/**
 * Termination planning, pure: which components a termination removes (the target, and with a cascade
 * its live dependents), in which order (dependents first: a component is terminated before anything
 * it depends on), and the ordered steps — quiesce each (its `quarantine` executor binding), archive
 * their data and the ledger checkpoints once, revoke the credentials each holds, deregister each (a
 * capsule is uninstalled), and a final ledger record proving it all.
 *
 * A cascade through a dependency cycle has no order in which every component goes after its
 * dependents: it is refused, naming the cycle.
 */
import { canonicalHash } from '../audit/digest.ts';
import { ConflictError } from '../errors.ts';
import { findCycles } from '../reflex/registry.ts';
import { type KindPolicy, type LifecyclePolicy, lifecyclePolicySchema, MAX_CASCADE, type Plan, type PlanStep } from './schemas.ts';

/** A component as the plan needs it: the registry's id, kind, dependencies and quarantine binding. */
export interface PlanComponent {
  id: string;
  kind: string;
  dependsOn: readonly string[];
  quarantine?: { kind: string; resource: string; parameters: Record<string, string | number | boolean> } | undefined;
}

/** An API key the tenant holds: its id and name (keys named `<component>` or `<component>#…` belong to it). */
export interface HeldKey {
  keyId: string;
  name: string;
  revoked: boolean;
}

/** The target's live dependents refuse a termination without a cascade (409), naming them. */
export class LiveDependentsError extends ConflictError {
  readonly dependents: string[];
  constructor(target: string, dependents: string[]) {
    super(`${target} has ${dependents.length} live dependent(s): ${dependents.join(', ')}; terminate them first or ask for a cascade`);
    this.dependents = dependents;
  }
}

/** A cascade through a dependency cycle (409), naming the cycle. */
export class CascadeCycleError extends ConflictError {
  readonly cycle: string[];
  constructor(cycle: string[]) {
    super(
      `the cascade runs through a dependency cycle (${[...cycle, cycle[0]].join(' → ')}); no order terminates each component after its dependents`,
    );
    this.cycle = cycle;
  }
}

/** The prefix of capsule targets: `capsule/<name>` is an installed capsule. */
export const CAPSULE_PREFIX = 'capsule/';

/**
 * The live dependents of `target` (transitive): registered components that depend on it, plus the
 * callers of observed call edges (`from` calls `to`), sorted.
 * @example liveDependents([{ id: 'api', kind: 'lambda', dependsOn: ['db'] }, { id: 'db', kind: 'database', dependsOn: [] }], 'db') // ['api']
 */
export function liveDependents(
  components: readonly PlanComponent[],
  target: string,
  observed: readonly { from: string; to: string }[] = [],
): string[] {
  const callers = new Map<string, Set<string>>();
  const add = (callee: string, caller: string) => {
    if (caller === callee) return;
    const set = callers.get(callee) ?? new Set<string>();
    set.add(caller);
    callers.set(callee, set);
  };
  for (const component of components) for (const dependency of component.dependsOn) add(dependency, component.id);
  for (const edge of observed) add(edge.to, edge.from);
  const seen = new Set<string>([target]);
  const queue = [target];
  for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
    for (const caller of callers.get(node) ?? []) {
      if (seen.has(caller)) continue;
      seen.add(caller);
      queue.push(caller);
    }
  }
  seen.delete(target);
  return [...seen].sort();
}

/**
 * The termination order: with no live dependents, the target alone; with dependents and no cascade,
 * a refusal; with a cascade, the target and its dependents in topological order, each component before
 * what it depends on (ties by id, so the order is stable), the target last.
 * @throws LiveDependentsError when `cascade` is false and the target has live dependents.
 * @throws CascadeCycleError when the cascade contains a dependency cycle.
 * @throws ConflictError when the cascade is larger than {@link MAX_CASCADE}.
 */
export function terminationOrder(
  components: readonly PlanComponent[],
  target: string,
  cascade: boolean,
  observed: readonly { from: string; to: string }[] = [],
): string[] {
  const dependents = liveDependents(components, target, observed);
  if (dependents.length === 0) return [target];
  if (!cascade) throw new LiveDependentsError(target, dependents);
  const members = new Set([target, ...dependents]);
  if (members.size > MAX_CASCADE)
    throw new ConflictError(`the cascade would terminate ${members.size} components; at most ${MAX_CASCADE} at once`);
  // Edges inside the cascade: caller → callee (registry dependencies and observed calls).
  const calls = new Map<string, Set<string>>([...members].map((id) => [id, new Set<string>()]));
  for (const component of components) {
    if (!members.has(component.id)) continue;
    for (const dependency of component.dependsOn) if (members.has(dependency)) calls.get(component.id)?.add(dependency);
  }
  for (const edge of observed)
    if (members.has(edge.from) && members.has(edge.to) && edge.from !== edge.to) calls.get(edge.from)?.add(edge.to);
  const sub = [...members].sort().map((id) => ({ id, dependsOn: [...(calls.get(id) ?? [])] }));
  const [cycle] = findCycles(sub);
  if (cycle) throw new CascadeCycleError(cycle);
  // Kahn's algorithm on "callers first": a component is ready when nothing left calls it.
  const callersLeft = new Map<string, number>([...members].map((id) => [id, 0]));
  for (const [, callees] of calls) for (const callee of callees) callersLeft.set(callee, (callersLeft.get(callee) ?? 0) + 1);
  const ready = [...members].filter((id) => callersLeft.get(id) === 0).sort();
  const order: string[] = [];
  while (ready.length > 0) {
    const next = ready.shift() as string;
    order.push(next);
    for (const callee of [...(calls.get(next) ?? [])].sort()) {
      const left = (callersLeft.get(callee) ?? 0) - 1;
      callersLeft.set(callee, left);
      if (left === 0) {
        ready.push(callee);
        ready.sort();
      }
    }
  }
  return order;
}

/** The policy of a kind: the tenant's override, else its default. */
export function policyOf(policy: LifecyclePolicy | undefined, kind: string): KindPolicy {
  const parsed = policy ?? lifecyclePolicySchema.parse({});
  return parsed.kinds[kind] ?? parsed.default;
}

/** The strictest of several kinds' policies: most approvals, longest retention, every step any asks for. */
export function strictest(policies: readonly KindPolicy[]): KindPolicy {
  return {
    approvals: Math.max(...policies.map((p) => p.approvals)),
    retentionDays: Math.max(...policies.map((p) => p.retentionDays)),
    quiesce: policies.some((p) => p.quiesce),
    revokeCredentials: policies.some((p) => p.revokeCredentials),
  };
}

/** Whether an API key belongs to a component: named after it, or `<component>#<anything>`. */
export function keyBelongsTo(key: Pick<HeldKey, 'name'>, component: string): boolean {
  return key.name === component || key.name.startsWith(`${component}#`);
}

/**
 * The termination plan: for the components in `order`, quiesce each that has a quarantine binding
 * (when the policy quiesces), one archive step, revoke the unrevoked keys each holds (when the policy
 * revokes), deregister each (uninstall a capsule), and the final record.
 * @example buildPlan('db', ['db'], byId, [], policy).steps.map((s) => s.kind) // ['quiesce', 'archive', 'deregister', 'record']
 */
export function buildPlan(
  target: string,
  order: readonly string[],
  byId: ReadonlyMap<string, PlanComponent>,
  keys: readonly HeldKey[],
  lifecycle: LifecyclePolicy | undefined,
): Plan {
  const kindOf = (id: string) => (id.startsWith(CAPSULE_PREFIX) ? 'capsule' : (byId.get(id)?.kind ?? 'service'));
  const policy = strictest(order.map((id) => policyOf(lifecycle, kindOf(id))));
  const steps: Omit<PlanStep, 'index'>[] = [];
  if (policy.quiesce) {
    for (const id of order) {
      const binding = byId.get(id)?.quarantine;
      if (binding)
        steps.push({
          kind: 'quiesce',
          component: id,
          description: `Stop ${id}'s traffic: ${binding.kind} on ${binding.resource} (its quarantine binding)`,
          executor: binding,
        });
    }
  }
  steps.push({
    kind: 'archive',
    component: '*',
    description: `Archive ${order.length} component(s)' registry entries, held keys and the tenant's latest signed ledger checkpoints to S3, kept ${policy.retentionDays} days`,
  });
  if (policy.revokeCredentials) {
    for (const id of order) {
      const held = keys
        .filter((key) => !key.revoked && keyBelongsTo(key, id))
        .map((key) => key.keyId)
        .sort();
      if (held.length > 0)
        steps.push({
          kind: 'revoke',
          component: id,
          description: `Revoke ${held.length} API key(s) ${id} holds`,
          keyIds: held.slice(0, 100),
        });
    }
  }
  for (const id of order) {
    if (id.startsWith(CAPSULE_PREFIX))
      steps.push({ kind: 'uninstall', component: id, description: `Uninstall capsule ${id.slice(CAPSULE_PREFIX.length)}` });
    if (byId.has(id)) steps.push({ kind: 'deregister', component: id, description: `Remove ${id} from the Reflex registry` });
  }
  steps.push({
    kind: 'record',
    component: '*',
    description: 'Record the termination in the ledger: the archive manifest hash, the plan hash and the approvers',
  });
  return { target, order: [...order], steps: steps.map((step, index) => ({ ...step, index })), policy };
}

/** The plan's hash: SHA-256 of its canonical JSON (what the approvers approve and the final record names). */
export function planHash(plan: Plan): string {
  return canonicalHash(plan);
}
