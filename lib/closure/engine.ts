/**
 * The Closure engine: safe termination of a Reflex-registered component or an installed capsule.
 *
 * A request is validated (the target exists; no live dependents, or an ordered cascade), planned
 * (lib/closure/plan.ts), hashed and proposed to governance as `closure:terminate` — a termination
 * always waits for people (the seed's boundary), and its gate's quorum is the lifecycle policy's k
 * (governance counts each approver identity once; one rejection rejects). When governance settles the
 * proposal approved, {@link executeTermination} runs the plan's steps in order, each recorded in the
 * ledger: quiesce (the Execution engine's executor of the component's quarantine binding), archive
 * (registry entries, held keys, the tenant's latest signed checkpoints, to S3), revoke the API keys,
 * deregister / uninstall, and a final `closure.termination.completed` entry holding the archive
 * manifest's hash, the plan's hash and the approvers. A kill switch halts it before any step.
 */
import { canonicalHash } from '../audit/digest.ts';
import type { Checkpoint } from '../audit/schemas.ts';
import { ConflictError, LockedError, NotFoundError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import type { ProposalInput } from '../governance/model.ts';
import type { OutboxEntry, OutboxPort, Proposal, ProposalOutcome, Proposer } from '../governance/proposals.ts';
import type { Component } from '../reflex/schemas.ts';
import { type ArchiveRetention, archiveRetention } from './archive-retention.ts';
import { buildPlan, CAPSULE_PREFIX, type HeldKey, type PlanComponent, planHash, terminationOrder } from './plan.ts';
import type { LifecyclePolicy, PlanStep, StepResult, Termination, TerminationInput } from './schemas.ts';

/** Terminations and the tenant's lifecycle policy. */
export interface ClosureStore {
  policy(tenant: string): Promise<LifecyclePolicy | undefined>;
  /** Replaces the tenant's policy, with its events. */
  putPolicy(tenant: string, policy: LifecyclePolicy, events: BusEvent[]): Promise<OutboxEntry[]>;
  termination(tenant: string, terminationId: string): Promise<{ termination: Termination; rev: number } | undefined>;
  /**
   * Saves a termination at revision `expectedRev + 1` (1 when absent), with its events.
   * @throws ConflictError when the stored one is not at `expectedRev` (`undefined`: absent).
   */
  putTermination(tenant: string, termination: Termination, expectedRev: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
  /** The tenant's terminations, newest first, at most `limit`. */
  list(tenant: string, limit: number): Promise<Termination[]>;
}

/** What the engine reads and calls. */
export interface ClosureDeps {
  store: ClosureStore;
  outbox: OutboxPort;
  /** The tenant's Reflex registry. */
  registry(tenant: string): Promise<{ generation: number; components: Component[] }>;
  /**
   * Replaces the registry without `remove` if still at `generation`.
   * @throws ConflictError when it moved on.
   */
  deregister(tenant: string, remove: readonly string[], generation: number, actor: string): Promise<void>;
  /** Whether the tenant has capsule `name` installed. */
  installed(tenant: string, name: string): Promise<boolean>;
  /** Uninstalls capsule `name` (its layer out of the policy set). */
  uninstall(tenant: string, name: string, actor: string): Promise<void>;
  /** The tenant's API keys (no secrets). */
  keys(tenant: string): Promise<(HeldKey & { roles: string[]; createdAt: string })[]>;
  revoke(tenant: string, keyId: string, at: string): Promise<void>;
  /** Governance's proposal path under the given proposal id. */
  propose(input: ProposalInput, proposer: Proposer, proposalId: string): Promise<ProposalOutcome>;
  proposal(tenant: string, proposalId: string): Promise<Proposal | undefined>;
  /** Who approved the proposal's gate (its approval's approving votes). */
  approvers(tenant: string, proposalId: string): Promise<string[]>;
  /** @throws LockedError when a kill switch (tenant or global) or an unratified constitution locks actuation. */
  assertUnlocked(tenant: string): Promise<void>;
  /** Quiesces through the Execution engine's executor of `binding` (dry run, execute, read-back); returns what it did. */
  quiesce(tenant: string, target: string, binding: NonNullable<PlanStep['executor']>, executionId: string): Promise<string>;
  /** The latest signed checkpoint of each of the tenant's ledger streams. */
  checkpoints(tenant: string): Promise<Checkpoint[]>;
  /** Writes the archive object tagged with its retention class (the bucket's lifecycle rule for that tag expires it); returns its key. */
  archive(tenant: string, terminationId: string, body: unknown, retention: ArchiveRetention): Promise<string>;
  /** Governance's reportOutcome: the proposal becomes executed or failed. */
  reportOutcome(tenant: string, proposalId: string, outcome: 'executed' | 'failed', detail: string): Promise<void>;
  now: () => Date;
  newId: () => string;
}

/** The engine's own actor in the ledger and the proposals' outcomes. */
export const CLOSURE_ACTOR = 'engine:closure';

async function deliver(outbox: OutboxPort, entries: OutboxEntry[]): Promise<void> {
  for (const entry of entries) await outbox.record(entry);
  await outbox.deliver(entries);
}

function planComponents(components: readonly Component[]): PlanComponent[] {
  return components.map((component) => ({
    id: component.id,
    kind: component.kind,
    dependsOn: component.dependsOn,
    quarantine: component.bindings.quarantine
      ? { ...component.bindings.quarantine, parameters: { ...component.bindings.quarantine.parameters } }
      : undefined,
  }));
}

/**
 * Validates, plans and proposes a termination; nothing is written when it is refused here.
 * @throws NotFoundError (404) when the target is neither registered nor an installed capsule.
 * @throws LiveDependentsError (409) naming the live dependents when `cascade` is false.
 * @throws CascadeCycleError (409) naming a cycle in the cascade.
 * @throws LockedError (423) / ForbiddenError (403) when governance refuses the proposal (kill switch, policy).
 */
export async function requestTermination(
  tenant: string,
  input: TerminationInput,
  proposer: Proposer,
  deps: ClosureDeps,
): Promise<{ termination: Termination; proposal: { proposalId: string; status: string; route: string; required: number } }> {
  const [registry, policy] = await Promise.all([deps.registry(tenant), deps.store.policy(tenant)]);
  const components = planComponents(registry.components);
  const byId = new Map(components.map((component) => [component.id, component]));
  const isCapsule = input.target.startsWith(CAPSULE_PREFIX);
  if (!byId.has(input.target) && !(isCapsule && (await deps.installed(tenant, input.target.slice(CAPSULE_PREFIX.length)))))
    throw new NotFoundError(`${input.target} is neither a registered component nor an installed capsule of ${tenant}`);
  const order = terminationOrder(components, input.target, input.cascade);
  const keys = await deps.keys(tenant);
  const plan = buildPlan(input.target, order, byId, keys, policy);
  const hash = planHash(plan);
  const proposalId = deps.newId();
  const environment = registry.components.find((component) => component.id === input.target)?.environment ?? 'prod';
  const outcome = await deps.propose(
    {
      engine: 'closure',
      action: 'terminate',
      target: input.target,
      environment,
      parameters: { minApprovals: plan.policy.approvals, planHash: hash, cascade: input.cascade, order },
      reason: input.reason,
      escalate: 'a termination always waits for people',
    },
    proposer,
    proposalId,
  );
  const now = deps.now().toISOString();
  const termination: Termination = {
    terminationId: outcome.proposal.proposalId,
    target: input.target,
    reason: input.reason,
    cascade: input.cascade,
    status: 'pending',
    plan,
    planHash: hash,
    requestedBy: proposer.id,
    requestedAt: now,
    approvers: [],
    steps: [],
    reasons: [],
  };
  const entries = await deps.store.putTermination(tenant, termination, undefined, [
    busEvent('closure.termination.requested', {
      tenant,
      terminationId: termination.terminationId,
      proposalId: termination.terminationId,
      target: input.target,
      cascade: input.cascade,
      order,
      steps: plan.steps.map((step) => `${step.kind}:${step.component}`),
      planHash: hash,
      approvals: plan.policy.approvals,
      requestedBy: proposer.id,
      reason: input.reason,
      requestedAt: now,
    }),
  ]);
  await deliver(deps.outbox, entries);
  return {
    termination,
    proposal: {
      proposalId: outcome.proposal.proposalId,
      status: outcome.proposal.status,
      route: outcome.proposal.route,
      required: plan.policy.approvals,
    },
  };
}

/** Replaces the tenant's lifecycle policy, recorded in the ledger. */
export async function putPolicy(
  tenant: string,
  policy: LifecyclePolicy,
  actor: string,
  deps: Pick<ClosureDeps, 'store' | 'outbox' | 'now'>,
): Promise<LifecyclePolicy> {
  const entries = await deps.store.putPolicy(tenant, policy, [
    busEvent('closure.policy.changed', { tenant, policy, changedBy: actor, changedAt: deps.now().toISOString() }),
  ]);
  await deliver(deps.outbox, entries);
  return policy;
}

/** The tenant's terminations (one by id, or the newest `limit`). @throws NotFoundError for an unknown id. */
export async function terminationStatus(
  tenant: string,
  input: { terminationId?: string | undefined; limit: number },
  store: ClosureStore,
): Promise<{ terminations: Termination[] }> {
  if (input.terminationId === undefined) return { terminations: await store.list(tenant, input.limit) };
  const found = await store.termination(tenant, input.terminationId);
  if (!found) throw new NotFoundError(`Termination ${input.terminationId} not found`);
  return { terminations: [found.termination] };
}

function stepEvent(tenant: string, termination: Termination, result: StepResult): BusEvent {
  return busEvent('closure.step.completed', {
    tenant,
    terminationId: termination.terminationId,
    target: termination.target,
    step: result,
    planHash: termination.planHash,
  });
}

function completedEvent(tenant: string, termination: Termination): BusEvent {
  return busEvent('closure.termination.completed', {
    tenant,
    terminationId: termination.terminationId,
    proposalId: termination.terminationId,
    target: termination.target,
    outcome: termination.status === 'pending' || termination.status === 'executing' ? 'failed' : termination.status,
    order: termination.plan.order,
    planHash: termination.planHash,
    manifestHash: termination.manifestHash ?? null,
    archiveKey: termination.archiveKey ?? null,
    approvers: termination.approvers,
    steps: termination.steps.map((step) => `${step.index}:${step.kind}:${step.component}:${step.outcome}`),
    reasons: termination.reasons,
    terminationMs: termination.terminationMs ?? null,
    completedAt: termination.completedAt ?? termination.requestedAt,
  });
}

/** Runs one step; returns its detail. The archive step also fills the termination's archive key and manifest hash. */
async function runStep(
  tenant: string,
  termination: Termination,
  step: PlanStep,
  deps: ClosureDeps,
): Promise<{ detail: string; outcome: 'done' | 'skipped' }> {
  switch (step.kind) {
    case 'quiesce': {
      if (!step.executor) return { detail: 'no quarantine binding', outcome: 'skipped' };
      return {
        detail: await deps.quiesce(tenant, step.component, step.executor, `closure-${termination.terminationId}-${step.index}`),
        outcome: 'done',
      };
    }
    case 'archive': {
      const members = new Set(termination.plan.order);
      const [registry, keys, checkpoints] = await Promise.all([deps.registry(tenant), deps.keys(tenant), deps.checkpoints(tenant)]);
      const archivedAt = deps.now();
      const retention = archiveRetention(termination.plan.policy.retentionDays);
      const manifest = {
        tenant,
        terminationId: termination.terminationId,
        target: termination.target,
        order: termination.plan.order,
        planHash: termination.planHash,
        registryGeneration: registry.generation,
        components: registry.components.filter((component) => members.has(component.id)),
        keys: keys.filter((key) => termination.plan.order.some((id) => key.name === id || key.name.startsWith(`${id}#`))),
        checkpoints,
        archivedAt: archivedAt.toISOString(),
        retainUntil: new Date(archivedAt.getTime() + retention.retentionDays * 86_400_000).toISOString(),
        // The bucket's lifecycle rule for this tag expires the object this many days after it is written.
        lifecycle: { tag: `${retention.tag.key}=${retention.tag.value}`, expireAfterDays: retention.expireAfterDays },
      };
      const manifestHash = canonicalHash(manifest);
      termination.archiveKey = await deps.archive(tenant, termination.terminationId, { manifest, manifestHash }, retention);
      termination.manifestHash = manifestHash;
      return {
        detail: `${manifest.components.length} component(s), ${manifest.keys.length} key(s), ${checkpoints.length} checkpoint(s) to ${termination.archiveKey} (manifest ${manifestHash})`,
        outcome: 'done',
      };
    }
    case 'revoke': {
      for (const keyId of step.keyIds ?? []) await deps.revoke(tenant, keyId, deps.now().toISOString());
      return { detail: `revoked ${(step.keyIds ?? []).join(', ')}`, outcome: 'done' };
    }
    case 'deregister': {
      for (let attempt = 1; ; attempt += 1) {
        const registry = await deps.registry(tenant);
        if (!registry.components.some((component) => component.id === step.component))
          return { detail: 'not registered (any more)', outcome: 'skipped' };
        try {
          await deps.deregister(tenant, [step.component], registry.generation, CLOSURE_ACTOR);
          return { detail: `removed from registry generation ${registry.generation}`, outcome: 'done' };
        } catch (error) {
          if (!(error instanceof ConflictError) || attempt >= 5) throw error;
        }
      }
    }
    case 'uninstall': {
      const name = step.component.slice(CAPSULE_PREFIX.length);
      if (!(await deps.installed(tenant, name))) return { detail: 'not installed (any more)', outcome: 'skipped' };
      await deps.uninstall(tenant, name, CLOSURE_ACTOR);
      return { detail: `uninstalled ${name}`, outcome: 'done' };
    }
    case 'record':
      return {
        detail: `plan ${termination.planHash}, manifest ${termination.manifestHash ?? 'none'}, approvers ${termination.approvers.join(', ')}`,
        outcome: 'done',
      };
  }
}

/**
 * Runs an approved termination (on its proposal's `governance.proposal.settled`): idempotent — a
 * finished termination is left as it is, a step already done is not run again. A rejected, timed-out
 * or refused proposal ends the termination `rejected`; a kill switch ends it `halted` before any step;
 * a failing step ends it `failed` (the steps done stay done: a termination is not undone).
 * @returns the termination after the run, or undefined when the proposal is not a termination's.
 */
export async function executeTermination(tenant: string, proposalId: string, deps: ClosureDeps): Promise<Termination | undefined> {
  const found = await deps.store.termination(tenant, proposalId);
  if (!found) return undefined;
  let { termination, rev } = found;
  if (!['pending', 'executing'].includes(termination.status)) return termination;
  const proposal = await deps.proposal(tenant, proposalId);
  if (!proposal || proposal.status === 'pending') return termination;
  const save = async (next: Termination, events: BusEvent[]) => {
    const entries = await deps.store.putTermination(tenant, next, rev, events);
    rev += 1;
    termination = next;
    await deliver(deps.outbox, entries);
  };
  const finish = async (status: Termination['status'], reasons: string[], outcome?: 'executed' | 'failed') => {
    const completedAt = deps.now();
    const approvedAt = termination.approvedAt ? Date.parse(termination.approvedAt) : undefined;
    const next: Termination = {
      ...termination,
      status,
      reasons: [...termination.reasons, ...reasons].slice(-50),
      completedAt: completedAt.toISOString(),
      ...(approvedAt !== undefined ? { terminationMs: Math.max(0, completedAt.getTime() - approvedAt) } : {}),
    };
    await save(next, [completedEvent(tenant, next)]);
    if (outcome) await deps.reportOutcome(tenant, proposalId, outcome, reasons.join('; ').slice(0, 1000) || status);
    return termination;
  };
  if (!['approved', 'executed', 'failed'].includes(proposal.status))
    return finish('rejected', [`proposal ${proposal.status}: ${proposal.reasons.at(-1) ?? ''}`.slice(0, 1000)]);
  if (termination.status === 'pending') {
    try {
      await deps.assertUnlocked(tenant);
    } catch (error) {
      if (!(error instanceof LockedError)) throw error;
      return finish('halted', [error.message.slice(0, 1000)], 'failed');
    }
    const approvers = await deps.approvers(tenant, proposalId);
    await save({ ...termination, status: 'executing', approvedAt: proposal.updatedAt, approvers: approvers.slice(0, 20) }, []);
  }
  const done = new Set(termination.steps.map((step) => step.index));
  for (const step of termination.plan.steps) {
    if (done.has(step.index)) continue;
    let result: StepResult;
    const next: Termination = { ...termination };
    try {
      const { detail, outcome } = await runStep(tenant, next, step, deps);
      result = {
        index: step.index,
        kind: step.kind,
        component: step.component,
        outcome,
        detail: detail.slice(0, 2000),
        at: deps.now().toISOString(),
      };
    } catch (error) {
      const reason =
        `step ${step.index} (${step.kind} ${step.component}) failed: ${error instanceof Error ? error.message : String(error)}`.slice(
          0,
          1000,
        );
      result = {
        index: step.index,
        kind: step.kind,
        component: step.component,
        outcome: 'failed',
        detail: reason,
        at: deps.now().toISOString(),
      };
      await save({ ...next, steps: [...termination.steps, result] }, [stepEvent(tenant, termination, result)]);
      return finish('failed', [reason], 'failed');
    }
    if (step.kind === 'record') {
      termination = { ...next, steps: [...termination.steps, result] };
      return finish('terminated', [], 'executed');
    }
    await save({ ...next, steps: [...termination.steps, result] }, [stepEvent(tenant, next, result)]);
  }
  return termination;
}
