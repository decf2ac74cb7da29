/**
 * KAMACHIQ plans as they run: submitted (validated against the tenant's installs; a refusal stores
 * nothing), then statemachines/capsule-plan.asl.json calls {@link levelStep} before each layer (the
 * kill switches and a cancellation checked first; a layer that needs a review gate sent to
 * {@link reviewStep}, which proposes `capsules:plan` to governance, and {@link awaitReview}, which
 * waits at governance's gate on a task token until the proposal is settled (lib/governance/gate-wait.ts),
 * the next level step reading the decision; nodes whose
 * dependency did not complete, or whose run budget no longer fits the plan's, skipped with why),
 * {@link nodeStep} for each admitted node in
 * parallel (one capsule run through {@link startRun}, its input filled from its dependencies'
 * summaries, on the node's run budget), and {@link finishStep} last (the summary). The plan, each node's
 * end and the summary are saved with their events (an outbox: the tenant's ledger stream
 * `events.capsules`, then the bus); each run records its own steps as any capsule run does.
 */
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { canonicalHash } from '../audit/digest.ts';
import type { Principal } from '../auth/principal.ts';
import { ConflictError, ForbiddenError, LockedError, NotFoundError, ValidationError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import { awaitSettlement, type GateWaitDeps, type GateWaitOutcome } from '../governance/gate-wait.ts';
import type { ProposalInput } from '../governance/model.ts';
import type { Proposal, ProposalOutcome, Proposer } from '../governance/proposals.ts';
import { proposerOf } from '../governance/proposer.ts';
import {
  admitLayer,
  type cancelPlanInputSchema,
  fillInput,
  type getPlansInputSchema,
  type Plan,
  type PlanNode,
  type PlanReview,
  type PlanView,
  planSummary,
  planUsage,
  type ReviewDecision,
  reviewFor,
  reviewProposal,
  reviewProposalId,
  reviewVerdict,
  submitPlanInputSchema,
  validatePlan,
} from './plans.ts';
import type { CapsuleRun } from './runs.ts';
import type { Install } from './schemas.ts';

/** Where plans and their nodes are kept (each node an item of its own). */
export interface PlanStore {
  /** Saves a new plan with its nodes and events, all or nothing. @throws ConflictError when the id exists. */
  createPlan(plan: Plan, nodes: PlanNode[], events: BusEvent[]): Promise<void>;
  /** Saves a plan. @throws ConflictError when it moved since `expectedRevision`. */
  putPlan(plan: Plan, expectedRevision: number, events: BusEvent[]): Promise<void>;
  /** Saves one node with its events (only its own step writes it). */
  putNode(tenant: string, planId: string, node: PlanNode, events: BusEvent[]): Promise<void>;
  plan(tenant: string, planId: string): Promise<Plan | undefined>;
  nodes(tenant: string, planId: string): Promise<PlanNode[]>;
  /** The tenant's plans, newest first. */
  plans(tenant: string, limit: number): Promise<Plan[]>;
  /** Marks the plan to stop before its next layer (kept apart from the plan, which its steps write). */
  requestCancel(tenant: string, planId: string, by: string, at: string): Promise<void>;
  cancelRequest(tenant: string, planId: string): Promise<{ by: string; at: string } | undefined>;
}

/** Starts a plan's execution (the state machine), named after the plan. */
export interface PlanStarter {
  start(name: string, input: { tenant: string; planId: string }): Promise<string>;
}

/** What submitting, reading and cancelling need. */
export interface PlanDeps {
  store: PlanStore;
  /** The tenant's installs by capsule name. */
  installs(tenant: string): Promise<Install[]>;
  starter: PlanStarter;
  clock: () => Date;
  newPlanId?: () => string;
}

/**
 * Validates a plan and starts it: stored with its nodes and `capsules.plan.started`, then its
 * execution. Its runs act with the caller's roles.
 * @throws ValidationError naming each field at fault (nothing is stored).
 * @example await submitPlan(principal, { goal: 'report', budget: { tokens: 4000, costUsd: 0.1 }, nodes: [{ id: 'a', capsule: 'incident-summary' }] }, deps);
 */
export async function submitPlan(caller: Principal, params: z.input<typeof submitPlanInputSchema>, deps: PlanDeps): Promise<PlanView> {
  const submission = submitPlanInputSchema.parse(params);
  const installs = new Map((await deps.installs(caller.tenant)).map((install) => [install.name, install]));
  const checked = validatePlan(submission, installs);
  if (!checked.ok) throw new ValidationError(checked.issues);
  const planId = deps.newPlanId?.() ?? `plan-${randomBytes(16).toString('hex')}`;
  const startedAt = deps.clock().toISOString();
  const plan: Plan = {
    planId,
    tenant: caller.tenant,
    goal: submission.goal,
    budget: submission.budget,
    status: 'running',
    layers: checked.layers,
    layer: 0,
    proposalId: null,
    reviews: [],
    reason: null,
    usage: { tokens: 0, costUsd: 0, toolCalls: 0 },
    startedBy: caller.subject,
    roles: caller.roles,
    startedAt,
    endedAt: null,
    executionArn: null,
    revision: 0,
  };
  await deps.store.createPlan(plan, checked.nodes, [
    busEvent('capsules.plan.started', {
      tenant: caller.tenant,
      planId,
      goal: plan.goal,
      budget: plan.budget,
      nodes: checked.nodes.map((node) => ({
        id: node.id,
        capsule: node.capsule,
        dependsOn: node.dependsOn,
        budget: node.budget,
        layer: node.layer,
        inputSha256: canonicalHash(node.input),
      })),
      startedBy: caller.subject,
      startedAt,
    }),
  ]);
  let executionArn: string;
  try {
    executionArn = await deps.starter.start(planId, { tenant: caller.tenant, planId });
  } catch (error) {
    await finish(plan, checked.nodes, { outcome: 'failed', reason: 'the plan could not start its execution' }, deps.store, deps.clock);
    throw error;
  }
  const started = { ...plan, executionArn, revision: 1 };
  await deps.store.putPlan(started, 0, []);
  return { ...started, nodes: checked.nodes };
}

/** Reads the tenant's plans, or one with its nodes. @throws NotFoundError when `planId` names none of the tenant's. */
export async function readPlans(
  tenant: string,
  params: z.infer<typeof getPlansInputSchema>,
  store: PlanStore,
): Promise<{ plans: PlanView[] }> {
  if (params.planId) {
    const plan = await store.plan(tenant, params.planId);
    if (!plan) throw new NotFoundError(`Tenant ${tenant} has no plan ${params.planId}`);
    return { plans: [{ ...plan, nodes: await store.nodes(tenant, plan.planId) }] };
  }
  const plans = await store.plans(tenant, params.limit);
  return { plans: await Promise.all(plans.map(async (plan) => ({ ...plan, nodes: await store.nodes(tenant, plan.planId) }))) };
}

/**
 * Asks a running plan to stop: no node starts after this; runs under way finish.
 * @throws NotFoundError when the tenant has no such plan. @throws ConflictError when it has ended.
 */
export async function cancelPlan(
  caller: Principal,
  params: z.infer<typeof cancelPlanInputSchema>,
  deps: Pick<PlanDeps, 'store' | 'clock'>,
): Promise<PlanView> {
  const plan = await deps.store.plan(caller.tenant, params.planId);
  if (!plan) throw new NotFoundError(`Tenant ${caller.tenant} has no plan ${params.planId}`);
  if (plan.status !== 'running' && plan.status !== 'reviewing') throw new ConflictError(`Plan ${plan.planId} has ended (${plan.status})`);
  await deps.store.requestCancel(caller.tenant, plan.planId, caller.subject, deps.clock().toISOString());
  return { ...plan, nodes: await deps.store.nodes(caller.tenant, plan.planId) };
}

/** A state-machine step's reference to its plan. */
export interface PlanRef {
  tenant: string;
  planId: string;
}

/** What the level step needs: the store, the review proposals (read after the gate) and why actuation is locked (the kill switches), if it is. */
export interface LevelDeps {
  store: PlanStore;
  proposal(tenant: string, proposalId: string): Promise<Proposal | undefined>;
  /** The tenant's and the global kill switch: the reason when one is on. */
  locked(tenant: string): Promise<string | undefined>;
  clock: () => Date;
}

function nodeEnded(plan: Plan, node: PlanNode): BusEvent {
  return busEvent('capsules.plan-node.ended', {
    tenant: plan.tenant,
    planId: plan.planId,
    nodeId: node.id,
    capsule: node.capsule,
    runId: node.runId,
    outcome: node.state === 'pending' || node.state === 'running' ? 'skipped' : node.state,
    usage: node.usage,
    durationMs: node.durationMs,
    reason: node.reason,
    endedAt: node.endedAt ?? new Date().toISOString(),
  });
}

async function skip(plan: Plan, node: PlanNode, reason: string, store: PlanStore, at: string): Promise<PlanNode> {
  const skipped: PlanNode = { ...node, state: 'skipped', reason: reason.slice(0, 2000), endedAt: at };
  await store.putNode(plan.tenant, plan.planId, skipped, [nodeEnded(plan, skipped)]);
  return skipped;
}

/** A stop before a layer: the plan's status and why. */
type Stop = { outcome: 'halted' | 'cancelled' | 'rejected'; reason: string };

/**
 * Before each layer: a plan back from its review gate has the decision read first (approved: on;
 * rejected, timed out or refused: `finish`, the plan rejected; still pending: back to `review`, which
 * waits again); a cancellation or a kill switch stops the plan (its waiting nodes skipped with why); a
 * layer that needs a review gate ({@link reviewFor}) and has no approved one goes to `review`;
 * otherwise the layer's nodes are admitted ({@link admitLayer}) and the rest skipped.
 * @returns `run` with the node ids to start (possibly none: then the next layer), `review`, or `finish`.
 */
export async function levelStep(ref: PlanRef, deps: LevelDeps): Promise<{ next: 'run' | 'review' | 'finish'; nodes: string[] }> {
  let plan = await deps.store.plan(ref.tenant, ref.planId);
  if (!plan) throw new NotFoundError(`No plan ${ref.planId} in ${ref.tenant}`);
  if (plan.status === 'reviewing') {
    plan = await decideReview(ref.tenant, ref.planId, deps);
    if (!plan) return { next: 'review', nodes: [] };
  }
  if (plan.status !== 'running') return { next: 'finish', nodes: [] };
  const nodes = await deps.store.nodes(ref.tenant, ref.planId);
  const at = deps.clock().toISOString();
  const cancel = await deps.store.cancelRequest(ref.tenant, ref.planId);
  const locked = cancel ? undefined : await deps.locked(ref.tenant);
  const stop: Stop | undefined = cancel
    ? { outcome: 'cancelled', reason: `cancelled by ${cancel.by} at ${cancel.at}` }
    : locked
      ? { outcome: 'halted', reason: locked }
      : undefined;
  if (stop) {
    for (const node of nodes)
      if (node.state === 'pending') await skip(plan, node, `the plan stopped before layer ${plan.layer}: ${stop.reason}`, deps.store, at);
    await deps.store.putPlan(
      { ...plan, status: stop.outcome, reason: stop.reason.slice(0, 2000), revision: plan.revision + 1 },
      plan.revision,
      [],
    );
    return { next: 'finish', nodes: [] };
  }
  if (plan.layer >= plan.layers.length) return { next: 'finish', nodes: [] };
  if (reviewFor(plan, nodes, plan.layer)) return { next: 'review', nodes: [] };
  const admission = admitLayer(plan, nodes, plan.layer);
  const byId = new Map(nodes.map((node) => [node.id, node]));
  for (const skipped of admission.skip) {
    const node = byId.get(skipped.id);
    if (node) await skip(plan, node, skipped.reason, deps.store, at);
  }
  await deps.store.putPlan({ ...plan, layer: plan.layer + 1, revision: plan.revision + 1 }, plan.revision, []);
  return { next: 'run', nodes: admission.start };
}

/** What a node's run needs: starting one capsule run as the plan's starter, on the node's budget. */
export interface NodeDeps {
  store: PlanStore;
  run(caller: Principal, params: { name: string; input: Record<string, unknown> }, budget: PlanNode['budget']): Promise<CapsuleRun>;
  clock: () => Date;
}

/**
 * One node: its input filled from its dependencies' summaries, one capsule run (its guardrails,
 * tools through the MCP path, per-run budget), its outcome saved with `capsules.plan-node.ended`.
 * A run refused before it started (an input its capsule's schema refuses, the capsule uninstalled
 * since) ends the node `failed` with the reason. A node not pending (a retried task) is left as it is.
 */
export async function nodeStep(ref: PlanRef & { nodeId: string }, deps: NodeDeps): Promise<{ state: PlanNode['state'] }> {
  const plan = await deps.store.plan(ref.tenant, ref.planId);
  if (!plan) throw new NotFoundError(`No plan ${ref.planId} in ${ref.tenant}`);
  const nodes = await deps.store.nodes(ref.tenant, ref.planId);
  const node = nodes.find((candidate) => candidate.id === ref.nodeId);
  if (!node) throw new NotFoundError(`No node ${ref.nodeId} in plan ${ref.planId}`);
  if (node.state !== 'pending') return { state: node.state };
  const summaries = new Map(nodes.map((other) => [other.id, other.summary]));
  const input = fillInput(node.input, summaries);
  const started = deps.clock();
  const running: PlanNode = { ...node, state: 'running', startedAt: started.toISOString() };
  await deps.store.putNode(plan.tenant, plan.planId, running, []);
  const caller: Principal = { tenant: plan.tenant, subject: plan.startedBy, roles: plan.roles, via: 'jwt' };
  let ended: PlanNode;
  try {
    const run = await deps.run(caller, { name: node.capsule, input }, node.budget);
    const outcome = run.outcome === 'running' ? 'failed' : run.outcome;
    ended = { ...running, state: outcome, runId: run.runId, summary: run.summary, reason: run.reason, usage: run.usage };
  } catch (error) {
    const reason =
      error instanceof ValidationError || error instanceof NotFoundError || error instanceof ConflictError
        ? error.message
        : 'the run failed to start';
    ended = { ...running, state: 'failed', reason: reason.slice(0, 2000) };
  }
  const endedAt = deps.clock();
  ended = { ...ended, endedAt: endedAt.toISOString(), durationMs: Math.max(0, endedAt.getTime() - started.getTime()) };
  await deps.store.putNode(plan.tenant, plan.planId, ended, [nodeEnded(plan, ended)]);
  return { state: ended.state };
}

async function finish(
  plan: Plan,
  nodes: PlanNode[],
  stop: { outcome: 'failed'; reason: string } | Stop | undefined,
  store: PlanStore,
  clock: () => Date,
) {
  const at = clock().toISOString();
  const settled: PlanNode[] = [];
  for (const node of nodes)
    settled.push(
      node.state === 'pending' || node.state === 'running'
        ? await skip(plan, node, stop?.reason ?? 'the plan ended before it ran', store, at)
        : node,
    );
  const summary =
    stop?.outcome === 'failed'
      ? { ...planSummary(plan, settled), outcome: 'failed' as const, reason: stop.reason }
      : planSummary(plan, settled, stop);
  const ended: Plan = {
    ...plan,
    status: summary.outcome,
    reason: summary.reason.slice(0, 2000),
    usage: planUsage(settled),
    endedAt: at,
    revision: plan.revision + 1,
  };
  await store.putPlan(ended, plan.revision, [
    busEvent('capsules.plan.completed', {
      tenant: plan.tenant,
      planId: plan.planId,
      outcome: summary.outcome,
      reason: ended.reason ?? '',
      budget: plan.budget,
      usage: summary.usage,
      nodes: summary.nodes.map((row) => ({
        id: row.id,
        capsule: row.capsule,
        outcome: row.state === 'running' ? 'skipped' : row.state,
        runId: row.runId,
        tokens: row.tokens,
        costUsd: row.costUsd,
        durationMs: row.durationMs,
        reason: row.reason,
      })),
      completedAt: at,
    }),
  ]);
  return { ...ended, nodes: settled };
}

/**
 * Last: the plan's summary (each node's outcome, cost, duration, what was skipped and why) saved
 * with `capsules.plan.completed`, once. `failure` is a step that failed after its retries.
 */
export async function finishStep(ref: PlanRef & { failure?: string }, deps: Pick<LevelDeps, 'store' | 'clock'>): Promise<PlanView> {
  const plan = await deps.store.plan(ref.tenant, ref.planId);
  if (!plan) throw new NotFoundError(`No plan ${ref.planId} in ${ref.tenant}`);
  const nodes = await deps.store.nodes(ref.tenant, ref.planId);
  if (plan.endedAt) return { ...plan, nodes };
  if (plan.status === 'reviewing') {
    // The machine stopped waiting at the gate (its timeout, or a failed gate step): no decision came.
    const reason = `no decision on review proposal ${plan.proposalId ?? 'unknown'} while the plan waited at its gate${ref.failure ? ` (${ref.failure})` : ''}`;
    const decided = decide(plan, 'timed-out', reason, deps.clock().toISOString());
    await deps.store.putPlan(decided.plan, plan.revision, decided.events);
    return finish(decided.plan, nodes, { outcome: 'rejected', reason }, deps.store, deps.clock);
  }
  const stop =
    plan.status === 'halted' || plan.status === 'cancelled' || plan.status === 'rejected'
      ? { outcome: plan.status, reason: plan.reason ?? plan.status }
      : ref.failure
        ? { outcome: 'failed' as const, reason: `a step failed after its retries: ${ref.failure}`.slice(0, 2000) }
        : undefined;
  return finish(plan, nodes, stop, deps.store, deps.clock);
}

/** What the review step needs: governance's `propose` and proposals in process. */
export interface ReviewDeps {
  store: PlanStore;
  /** Proposes with the given proposal id. @throws ConflictError when a proposal of that id exists. */
  propose(input: ProposalInput, proposer: Proposer, proposalId: string): Promise<ProposalOutcome>;
  proposal(tenant: string, proposalId: string): Promise<Proposal | undefined>;
  /** Seconds the plan may wait at the gate (governance's two timeouts and a margin). */
  gateTimeoutSeconds(tenant: string): Promise<number>;
  clock: () => Date;
}

/** The plan with its latest review decided (and the plan running again, or rejected), and the decision's event. */
function decide(plan: Plan, decision: Exclude<ReviewDecision, 'pending'>, reason: string, at: string): { plan: Plan; events: BusEvent[] } {
  const reviews = plan.reviews.map((review, index) =>
    index === plan.reviews.length - 1 ? { ...review, decision, reason: reason.slice(0, 2000), decidedAt: at } : review,
  );
  const review = reviews.at(-1);
  const next: Plan = {
    ...plan,
    reviews,
    status: decision === 'approved' ? 'running' : 'rejected',
    reason: decision === 'approved' ? plan.reason : reason.slice(0, 2000),
    revision: plan.revision + 1,
  };
  return { plan: next, events: review ? [reviewedEvent(next, review)] : [] };
}

function reviewedEvent(plan: Plan, review: PlanReview): BusEvent {
  return busEvent('capsules.plan.reviewed', {
    tenant: plan.tenant,
    planId: plan.planId,
    layer: review.layer,
    proposalId: review.proposalId,
    route: review.route,
    escalated: review.escalated,
    decision: review.decision === 'pending' ? 'timed-out' : review.decision,
    reason: review.reason,
    decidedAt: review.decidedAt ?? new Date().toISOString(),
  });
}

/** Where the machine goes after the gate: on to the layer, or to the summary. */
export type ReviewNext = { next: 'level' | 'finish' };
/** Where the machine goes after a review step, with how long the gate may wait. */
export type ReviewStepResult = { next: 'gate' | 'level' | 'finish'; gateTimeoutSeconds: number };

const afterDecision = (plan: Plan): ReviewNext => ({ next: plan.status === 'running' ? 'level' : 'finish' });

/**
 * Before a layer that needs a review gate: proposes `capsules:plan` ({@link reviewProposal}) as the
 * plan's starter, one proposal per plan and layer (a retried step finds it). Governance routes it by
 * risk and the tenant's autonomy level, or to people when the proposal escalates (the budget above
 * the threshold, a flagged node). Approved at once: the plan goes on (`level`); waiting: the plan is
 * `reviewing` and goes to the `gate`; refused by policy or the constitution: the plan ends
 * `rejected`; a kill switch: `halted`. Each decision is saved with `capsules.plan.reviewed`.
 */
export async function reviewStep(ref: PlanRef, deps: ReviewDeps): Promise<ReviewStepResult> {
  const plan = await deps.store.plan(ref.tenant, ref.planId);
  if (!plan) throw new NotFoundError(`No plan ${ref.planId} in ${ref.tenant}`);
  const gateTimeoutSeconds = await deps.gateTimeoutSeconds(ref.tenant);
  const pending = plan.reviews.at(-1);
  if (plan.status === 'reviewing' && pending?.decision === 'pending') return { next: 'gate', gateTimeoutSeconds };
  if (plan.status !== 'running') return { next: 'finish', gateTimeoutSeconds };
  const nodes = await deps.store.nodes(ref.tenant, ref.planId);
  const need = reviewFor(plan, nodes, plan.layer);
  if (!need) return { next: 'level', gateTimeoutSeconds };
  const proposalId = reviewProposalId(plan.planId, need.layer);
  const caller: Principal = { tenant: plan.tenant, subject: plan.startedBy, roles: plan.roles, via: 'jwt' };
  const at = deps.clock().toISOString();
  let proposal: Proposal | undefined;
  let refusal: { outcome: 'halted' | 'rejected'; reason: string } | undefined;
  try {
    proposal = (await deps.propose(reviewProposal(plan, nodes, need), proposerOf(caller), proposalId)).proposal;
  } catch (error) {
    if (error instanceof ConflictError) proposal = await deps.proposal(plan.tenant, proposalId);
    else if (error instanceof LockedError) refusal = { outcome: 'halted', reason: error.message };
    else if (error instanceof ForbiddenError || error instanceof ValidationError)
      refusal = { outcome: 'rejected', reason: `the review proposal was refused: ${error.message}` };
    else throw error;
  }
  const review: PlanReview = {
    layer: need.layer,
    proposalId,
    route: proposal?.route ?? 'human-approval',
    escalated: need.escalate ?? null,
    decision: 'pending',
    reason: (proposal?.reasons.at(-1) ?? refusal?.reason ?? 'proposed').slice(0, 2000),
    decidedAt: null,
  };
  const proposed: Plan = { ...plan, proposalId, reviews: [...plan.reviews, review], status: 'reviewing' };
  if (refusal) {
    const decided = decide(proposed, 'refused', refusal.reason, at);
    await deps.store.putPlan({ ...decided.plan, status: refusal.outcome }, plan.revision, decided.events);
    return { next: 'finish', gateTimeoutSeconds };
  }
  const verdict = reviewVerdict(proposal);
  if (!verdict) {
    await deps.store.putPlan({ ...proposed, revision: plan.revision + 1 }, plan.revision, []);
    return { next: 'gate', gateTimeoutSeconds };
  }
  const decided = decide(proposed, verdict.decision, verdict.reason, at);
  await deps.store.putPlan(decided.plan, plan.revision, decided.events);
  return { ...afterDecision(decided.plan), gateTimeoutSeconds };
}

/**
 * Settles the plan's pending review from its proposal, once, with `capsules.plan.reviewed`: the plan
 * as it stands after, or undefined while the proposal waits. A plan that is not reviewing any more
 * (decided by a step before, retried) is returned as it is.
 */
async function decideReview(
  tenant: string,
  planId: string,
  deps: Pick<LevelDeps, 'store' | 'proposal' | 'clock'>,
): Promise<Plan | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    const plan = await deps.store.plan(tenant, planId);
    if (!plan) throw new NotFoundError(`No plan ${planId} in ${tenant}`);
    const pending = plan.reviews.at(-1);
    if (plan.status !== 'reviewing' || pending?.decision !== 'pending') return plan;
    const verdict = reviewVerdict(await deps.proposal(tenant, pending.proposalId));
    if (!verdict) return undefined;
    const decided = decide(plan, verdict.decision, verdict.reason, deps.clock().toISOString());
    try {
      await deps.store.putPlan(decided.plan, plan.revision, decided.events);
      return decided.plan;
    } catch (error) {
      // Another step wrote first (a retried one): read what it decided.
      if (!(error instanceof ConflictError) || attempt >= 3) throw error;
    }
  }
}

/** Who waits at governance's gate for a plan's review proposal. */
export const PLAN_OWNER = 'capsules:plan';

/**
 * The gate (a `.waitForTaskToken` task): waits at governance's gate for the plan's latest review
 * proposal (lib/governance/gate-wait.ts), resumed with `{ next: 'level' }`, at once when the
 * proposal is decided already, otherwise by governance's gate-resume when it settles; the level
 * step then reads the decision.
 * @throws NotFoundError when the plan does not exist; ConflictError when it has no review to wait for.
 */
export async function awaitReview(
  input: PlanRef & { taskToken: string; gateTimeoutSeconds: number },
  deps: { store: PlanStore; gate: GateWaitDeps },
): Promise<GateWaitOutcome> {
  const plan = await deps.store.plan(input.tenant, input.planId);
  if (!plan) throw new NotFoundError(`No plan ${input.planId} in ${input.tenant}`);
  const review = plan.reviews.at(-1);
  if (!review) throw new ConflictError(`Plan ${input.planId} has no review to wait for`);
  return awaitSettlement(
    {
      tenant: input.tenant,
      proposalId: review.proposalId,
      taskToken: input.taskToken,
      owner: PLAN_OWNER,
      output: { next: 'level' },
      timeoutSeconds: input.gateTimeoutSeconds,
    },
    deps.gate,
  );
}
