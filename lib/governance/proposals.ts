/**
 * Proposals: the one governed path of every actuation. An engine (or an operator) proposes an
 * action on a target; governance checks the kill switches and the constitution, assesses the risk
 * (lib/governance/risk.ts), asks the tenant's Cedar policies, and routes by the tenant's autonomy
 * level: `autonomous` (approved now), `l3-validation` or `human-approval` (a gate execution waits;
 * the gate's settle step ends the proposal). The engine reports what happened (`executed`,
 * `failed`), which feeds the failure rate of the next assessment.
 *
 * Every state change is written together with its events (an outbox, in the same conditional
 * write), then recorded in the ledger and published.
 */
import { z } from 'zod';
import { actorSchema, tenantSchema } from '../../events/ids.ts';
import { ConflictError, DomainError, ForbiddenError, LockedError, NotFoundError, ValidationError } from '../errors.ts';
import type { BusEvent } from '../events/publisher.ts';
import { busEvent } from '../events/publisher.ts';
import { type Actuation, findActuation, operationOf } from './actuations.ts';
import { type ApprovalOutbox, type ApprovalStore, type ApprovalSubject, approvalIdOf, GateClosedError, settleApproval, type WorkflowCallbacks } from './approvals.ts';
import {
  type PolicyDecision,
  type ProposalInput,
  type ProposalState,
  policyDecisionSchema,
  proposalInputSchema,
  proposalStateSchema,
  type RiskAssessment,
  riskAssessmentSchema,
  routeSchema,
} from './model.ts';
import type { ActuationRequest } from './policy.ts';
import { assessRisk } from './risk.ts';
import { assertActuationAllowed, constitutionHashOf, type KillSwitch, requiredApprovals, type TenantSettings } from './settings.ts';

/** Who proposes: a person (JWT), an API key, an engine's own service principal, later agents and capsules. */
export const proposerSchema = z.object({
  kind: z.enum(['user', 'api-key', 'engine', 'agent', 'capsule']),
  id: actorSchema,
  tenant: tenantSchema,
  roles: z.array(z.string().min(1).max(64)).max(32),
});
/** A proposer. */
export type Proposer = z.infer<typeof proposerSchema>;

/** The Cedar request a proposal was judged by (stored, so a candidate policy set can replay it). */
export type ActuationPolicyRequest = ActuationRequest;

/** Where a record landed in the ledger. */
export const ledgerRefSchema = z.object({ tenant: tenantSchema, stream: z.string().max(128), seq: z.number().int().min(0) });
/** A ledger location. */
export type LedgerRef = z.infer<typeof ledgerRefSchema>;

/** A proposal as stored and shown. */
export const proposalSchema = z.object({
  tenant: tenantSchema,
  proposalId: z.string().max(64),
  status: proposalStateSchema,
  engine: proposalInputSchema.shape.engine,
  action: proposalInputSchema.shape.action,
  target: proposalInputSchema.shape.target,
  environment: proposalInputSchema.shape.environment,
  parameters: z.record(z.string().min(1).max(128), z.unknown()),
  reason: z.string().max(2000),
  evidence: z.record(z.string().min(1).max(128), z.unknown()).optional(),
  requestedBy: actorSchema,
  route: routeSchema,
  assessment: riskAssessmentSchema,
  policy: policyDecisionSchema,
  /** The Cedar request it was judged by (L3 validation asks the policies again with it). */
  policyRequest: z.record(z.string().min(1).max(64), z.unknown()),
  /** SHA-256 of the constitution it was judged under ('' when the tenant has none). */
  constitutionHash: z.string().max(64),
  approvalId: z.string().max(80).optional(),
  executionArn: z.string().max(2048).optional(),
  /** Why it ended as it did (L3 validation's reasons, the gate's outcome, the executor's report). */
  reasons: z.array(z.string().max(1000)).max(50),
  createdAt: z.iso.datetime().max(64),
  updatedAt: z.iso.datetime().max(64),
  /** The ledger entry of its evaluation. */
  ledger: ledgerRefSchema.optional(),
  version: z.number().int().min(0),
});
/** A proposal. */
export type Proposal = z.infer<typeof proposalSchema>;

/** An event saved with a state change, published after it. */
export interface OutboxEntry {
  tenant: string;
  /** Unique per entry; the order in which they were written. */
  id: string;
  event: BusEvent;
}

/** Storage of governance state: settings and proposals, each write conditional and carrying its events. */
export interface GovernanceStore {
  settings(tenant: string): Promise<TenantSettings>;
  /** @throws ConflictError when the stored settings are not at `expectedVersion`. */
  putSettings(next: TenantSettings, expectedVersion: number, events: BusEvent[]): Promise<OutboxEntry[]>;
  /** The global kill switch (the `system` tenant's). */
  globalKillSwitch(): Promise<KillSwitch | undefined>;
  proposal(tenant: string, proposalId: string): Promise<Proposal | undefined>;
  /** @throws ConflictError when the stored proposal is not at `expectedVersion` (`undefined`: absent). */
  putProposal(next: Proposal, expectedVersion: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
  /** Proposals of the tenant in `status`, newest first. */
  proposals(tenant: string, status: ProposalState, limit: number): Promise<Proposal[]>;
  /** The last outcomes (`executed`/`failed`) of an action on a target, newest first. */
  outcomes(tenant: string, key: string): Promise<('executed' | 'failed')[]>;
  /** Adds an outcome to the action's history on the target (the last {@link OUTCOME_HISTORY} are kept). */
  addOutcome(tenant: string, key: string, outcome: 'executed' | 'failed'): Promise<void>;
}

/** Outcomes kept per action and target for the failure rate. */
export const OUTCOME_HISTORY = 20;

/** Asks the tenant's Cedar policies. */
export interface PolicyPort {
  evaluateActuation(tenant: string, policyVersion: number, request: ActuationPolicyRequest): Promise<PolicyDecision>;
}

/** The tenant's registered component graph (the Reflex engine's registry; none yet: no dependents). */
export interface ComponentGraph {
  dependents(tenant: string, target: string): Promise<string[]>;
}

/** Starts gate executions. */
export interface GatePort {
  /** Starts the gate named `name` (idempotent: the same name gives the same execution). @returns its ARN. */
  start(name: string, input: GateInput): Promise<string>;
}

/** What a gate execution starts with. */
export interface GateInput {
  tenant: string;
  proposalId: string;
  approvalId: string;
  route: 'l3-validation' | 'human-approval';
  gate: { timeoutSeconds: number; escalationSeconds: number };
  /** Filled by the gate (L3 validation's verdict, a caught error, the approvers' decision); null until then, so every path exists. */
  validation: null;
  error: null;
  approval: null;
}

/** Publishes outbox entries and clears them; what fails stays for the outbox sweep. */
export interface OutboxPort {
  deliver(entries: OutboxEntry[]): Promise<void>;
  /** Records an entry in the ledger now (the bus copy is then a duplicate); undefined when it could not. */
  record(entry: OutboxEntry): Promise<LedgerRef | undefined>;
}

/** What proposing needs. */
export interface ProposalDeps {
  store: GovernanceStore;
  policy: PolicyPort;
  components: ComponentGraph;
  gate: GatePort;
  outbox: OutboxPort;
  now: Date;
  newId: () => string;
}

/** The reply to a proposal. */
export interface ProposalOutcome {
  proposal: Proposal;
  /** 200 autonomous, 202 waiting at a gate. */
  statusCode: 200 | 202;
}

/** The key of an action on a target in the outcome history. */
export function outcomeKey(engine: string, action: string, target: string): string {
  return `${engine}:${action}#${target}`;
}

/** The Cedar request of a proposal. */
export function policyRequestOf(input: ProposalInput, proposer: Proposer, actuation: Actuation, assessment: RiskAssessment, dependents: number): ActuationPolicyRequest {
  return {
    principal: proposer,
    tenant: proposer.tenant,
    engine: input.engine,
    action: input.action,
    target: input.target,
    environment: input.environment,
    tags: [],
    operation: operationOf(actuation, input.environment, input.parameters),
    riskScore: assessment.score,
    riskLevel: assessment.level,
    autonomyLevel: assessment.autonomyLevel,
    reversible: actuation.reversible,
    blastRadius: dependents,
  };
}

/** Saves a proposal with its events, records the first event in the ledger, publishes them. */
async function commit(deps: Pick<ProposalDeps, 'store' | 'outbox'>, next: Proposal, expected: number | undefined, events: BusEvent[]): Promise<Proposal> {
  const entries = await deps.store.putProposal(next, expected, events);
  const first = entries[0];
  let stored = next;
  if (first && next.ledger === undefined && first.event.detailType === 'governance.proposal.evaluated') {
    const ledger = await deps.outbox.record(first);
    if (ledger) {
      stored = { ...next, ledger, version: next.version + 1 };
      await deps.store.putProposal(stored, next.version, []).catch(() => {
        stored = next;
      });
    }
  }
  await deps.outbox.deliver(entries);
  return stored;
}

function evaluatedEvent(proposal: Proposal, request: ActuationPolicyRequest): BusEvent {
  return busEvent('governance.proposal.evaluated', {
    tenant: proposal.tenant,
    proposalId: proposal.proposalId,
    engine: proposal.engine,
    action: proposal.action,
    target: proposal.target,
    environment: proposal.environment,
    actor: proposal.requestedBy,
    status: proposal.status,
    route: proposal.route,
    assessment: proposal.assessment,
    policy: proposal.policy,
    constitutionHash: proposal.constitutionHash,
    policyRequest: request as unknown as Record<string, unknown>,
    reasons: proposal.reasons,
    evaluatedAt: proposal.createdAt,
  });
}

/** The event of a proposal reaching a later state. */
export function settledEvent(proposal: Proposal, actor: string): BusEvent {
  return busEvent('governance.proposal.settled', {
    tenant: proposal.tenant,
    proposalId: proposal.proposalId,
    status: proposal.status,
    actor,
    reasons: proposal.reasons,
    settledAt: proposal.updatedAt,
  });
}

/**
 * Proposes one actuation. Refusals (kill switch, constitution, policy) are recorded too, then thrown.
 *
 * @throws ValidationError when the engine/action is not a governed actuation.
 * @throws LockedError (423) while a kill switch is on or a changed constitution waits.
 * @throws ForbiddenError (403) when the tenant's policies do not permit it, naming the deciding policies.
 */
export async function propose(input: ProposalInput, proposer: Proposer, deps: ProposalDeps): Promise<ProposalOutcome> {
  const actuation = findActuation(input.engine, input.action);
  if (!actuation) throw new ValidationError([{ path: 'body.parameters.action', message: `${input.engine}:${input.action} is not a governed actuation (see GET /openapi.json, governance)` }]);
  const [settings, global, dependents, outcomes] = await Promise.all([
    deps.store.settings(proposer.tenant),
    deps.store.globalKillSwitch(),
    deps.components.dependents(proposer.tenant, input.target),
    deps.store.outcomes(proposer.tenant, outcomeKey(input.engine, input.action, input.target)),
  ]);
  const assessed = assessRisk({
    actuation,
    environment: input.environment,
    parameters: input.parameters,
    dependents: dependents.length,
    recentFailureRate: outcomes.length === 0 ? undefined : outcomes.filter((outcome) => outcome === 'failed').length / outcomes.length,
    autonomyLevel: settings.autonomyLevel,
  });
  // A proposer may ask for people (never for less than the assessment's route).
  const assessment: RiskAssessment =
    input.escalate && assessed.route !== 'human-approval'
      ? { ...assessed, route: 'human-approval', reason: `${assessed.reason} Escalated to people by the proposer: ${input.escalate}`.slice(0, 500) }
      : assessed;
  const request = policyRequestOf(input, proposer, actuation, assessment, dependents.length);
  const now = deps.now.toISOString();
  const proposalId = deps.newId();
  const base: Proposal = {
    tenant: proposer.tenant,
    proposalId,
    status: 'pending',
    engine: input.engine,
    action: input.action,
    target: input.target,
    environment: input.environment,
    parameters: input.parameters,
    reason: input.reason,
    ...(input.evidence ? { evidence: input.evidence } : {}),
    requestedBy: proposer.id,
    route: assessment.route,
    assessment,
    policy: { decision: 'deny', policies: [], errors: [], version: settings.policyVersion, breakGlass: false },
    constitutionHash: constitutionHashOf(settings),
    policyRequest: request,
    reasons: [],
    createdAt: now,
    updatedAt: now,
    version: 0,
  };

  let locked: LockedError | undefined;
  try {
    assertActuationAllowed(settings, global);
  } catch (error) {
    if (!(error instanceof LockedError)) throw error;
    locked = error;
  }
  if (locked) {
    await commit(deps, { ...base, status: 'refused', reasons: [locked.message] }, undefined, [evaluatedEvent({ ...base, status: 'refused', reasons: [locked.message] }, request)]);
    throw new LockedError(`${locked.message} (proposal ${proposalId} refused)`);
  }

  const policy = await deps.policy.evaluateActuation(proposer.tenant, settings.policyVersion, request);
  if (policy.decision === 'deny') {
    const why = policy.policies.length > 0 ? `forbidden by ${policy.policies.join(', ')}` : 'no policy permits it';
    const refused: Proposal = { ...base, policy, status: 'refused', reasons: [`Cedar: ${why}`] };
    await commit(deps, refused, undefined, [evaluatedEvent(refused, request)]);
    throw new ForbiddenError(`Proposal ${proposalId} refused: ${input.engine}:${input.action} on ${input.target} is ${why} (policy set v${policy.version})`);
  }

  if (assessment.route === 'autonomous') {
    const approved: Proposal = { ...base, policy, status: 'approved', reasons: [assessment.reason] };
    return { proposal: await commit(deps, approved, undefined, [evaluatedEvent(approved, request)]), statusCode: 200 };
  }

  const approvalId = approvalIdOf(proposalId);
  const pending: Proposal = { ...base, policy, status: 'pending', reasons: [assessment.reason], ...(assessment.route === 'human-approval' ? { approvalId } : {}) };
  let stored = await commit(deps, pending, undefined, [evaluatedEvent(pending, request)]);
  const gate: GateInput = {
    tenant: proposer.tenant,
    proposalId,
    approvalId,
    route: assessment.route,
    gate: { timeoutSeconds: settings.config.approvalTimeoutSeconds, escalationSeconds: settings.config.escalationTimeoutSeconds },
    validation: null,
    error: null,
    approval: null,
  };
  let executionArn: string;
  try {
    executionArn = await deps.gate.start(assessment.route === 'human-approval' ? approvalId : `validation-${proposalId}`, gate);
  } catch (error) {
    // No gate waits: the proposal must not look as if one did.
    const failed: Proposal = { ...stored, status: 'refused', reasons: [...stored.reasons, 'the gate could not be started; propose again'], updatedAt: deps.now.toISOString(), version: stored.version + 1 };
    await commit(deps, failed, stored.version, [settledEvent(failed, 'system:governance')]).catch(() => {});
    throw error;
  }
  // The gate may settle before this write (a fast L3 validation): then the settled record gets the ARN.
  for (let attempt = 1; ; attempt += 1) {
    const withArn: Proposal = { ...stored, executionArn, version: stored.version + 1 };
    try {
      await deps.store.putProposal(withArn, stored.version, []);
      return { proposal: withArn, statusCode: 202 };
    } catch (error) {
      const current = error instanceof ConflictError && attempt < 5 ? await deps.store.proposal(proposer.tenant, proposalId) : undefined;
      if (!current) throw error;
      if (current.executionArn) return { proposal: current, statusCode: 202 };
      stored = current;
    }
  }
}

/**
 * Approvals a proposal's gate needs: the tenant's `minApprovals` for its risk level, raised (never
 * lowered) by a proposer's `parameters.minApprovals` (an integer 1-10; the Closure engine asks for its
 * lifecycle policy's k of n this way).
 */
export function quorumOf(proposal: Proposal, settings: TenantSettings): number {
  const tenant = requiredApprovals(settings.config, proposal.assessment.level);
  const asked = proposal.parameters.minApprovals;
  return typeof asked === 'number' && Number.isInteger(asked) && asked >= 1 && asked <= 10 ? Math.max(tenant, asked) : tenant;
}

/** What an approval shows of its proposal (the gate's request task opens it with this). */
export function approvalSubjectOf(proposal: Proposal, required: number): ApprovalSubject {
  return {
    tenant: proposal.tenant,
    proposalId: proposal.proposalId,
    action: { engine: proposal.engine, name: proposal.action, target: proposal.target, parameters: proposal.parameters },
    environment: proposal.environment,
    risk: proposal.assessment.level,
    assessment: proposal.assessment,
    policy: proposal.policy,
    ...(proposal.evidence ? { evidence: proposal.evidence } : {}),
    requestedBy: proposal.requestedBy,
    reason: proposal.reason,
    required,
  };
}

/**
 * Moves a proposal to a later state, with its event; a no-op when it is there already.
 * @throws NotFoundError when there is no such proposal; ConflictError when it cannot move there.
 */
export async function transition(
  tenant: string,
  proposalId: string,
  to: ProposalState,
  change: { reasons: string[]; actor: string; from: readonly ProposalState[] },
  deps: Pick<ProposalDeps, 'store' | 'outbox' | 'now'>,
): Promise<Proposal> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await deps.store.proposal(tenant, proposalId);
    if (!current) throw new NotFoundError(`Proposal ${proposalId} not found`);
    if (current.status === to) return current;
    if (!change.from.includes(current.status)) throw new ConflictError(`Proposal ${proposalId} is ${current.status}; it cannot become ${to}`);
    const next: Proposal = { ...current, status: to, reasons: [...current.reasons, ...change.reasons].slice(-50), updatedAt: deps.now.toISOString(), version: current.version + 1 };
    try {
      return await commit(deps, next, current.version, [settledEvent(next, change.actor)]);
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 5) throw error;
    }
  }
}

/**
 * The executing engine reports what happened to an approved proposal; the outcome feeds the
 * failure rate of later assessments of that action on that target.
 */
export async function reportOutcome(
  tenant: string,
  input: { proposalId: string; outcome: 'executed' | 'failed'; detail: string },
  actor: string,
  deps: Pick<ProposalDeps, 'store' | 'outbox' | 'now'>,
): Promise<Proposal> {
  const before = await deps.store.proposal(tenant, input.proposalId);
  // A retried report changes nothing and counts once.
  if (before?.status === input.outcome) return before;
  const proposal = await transition(tenant, input.proposalId, input.outcome, { reasons: [input.detail || input.outcome], actor, from: ['approved'] }, deps);
  await deps.store.addOutcome(tenant, outcomeKey(proposal.engine, proposal.action, proposal.target), input.outcome);
  return proposal;
}

/** The error name a withdrawn proposal's waiting gate task fails with (the gate's `Catch` ends in a Fail state of that name). */
export const PROPOSAL_WITHDRAWN = 'ProposalWithdrawn';

/** A gate step met a withdrawn proposal: its gate ends (the error's name is {@link PROPOSAL_WITHDRAWN}, as the gate's `Catch` matches). */
export class ProposalWithdrawn extends DomainError {}

/** Whether the proposal was withdrawn ({@link withdraw}: refused, with a `withdrawn by` reason). */
export function isWithdrawn(proposal: Proposal | undefined): boolean {
  return proposal?.status === 'refused' && proposal.reasons.some((reason) => reason.startsWith('withdrawn by '));
}

/** Who withdraws a proposal, and why. */
export const withdrawalSchema = z.object({
  actor: actorSchema,
  /** The withdrawer's roles: an admin may withdraw anyone's proposal. */
  roles: z.array(z.string().min(1).max(64)).max(32).default([]),
  reason: z.string().min(1).max(1000),
});
/** A withdrawal. */
export type Withdrawal = z.input<typeof withdrawalSchema>;

/** What withdrawing needs: the proposals, its approval and the callbacks of its waiting gate. */
export interface WithdrawDeps extends Pick<ProposalDeps, 'store' | 'outbox' | 'now'> {
  approvals: ApprovalStore;
  approvalOutbox: ApprovalOutbox;
  workflow: WorkflowCallbacks;
}

/**
 * Withdraws a pending proposal (its proposer, or an admin): the proposal becomes `refused` with the
 * reason `withdrawn by <actor>: <reason>`, its approval (human-approval route) is refused, and the
 * gate task waiting on that approval fails with {@link PROPOSAL_WITHDRAWN}, so the gate ends at once
 * without its settle step. A gate that stopped waiting already is fine. An L3-route proposal has no
 * approval: its validation ends soon and its settle step then finds the proposal refused.
 *
 * @throws NotFoundError when there is no such proposal; ForbiddenError (403) when the actor is neither
 *   its proposer nor an admin; ConflictError (409) when it is not pending.
 */
export async function withdraw(tenant: string, proposalId: string, withdrawal: Withdrawal, deps: WithdrawDeps): Promise<Proposal> {
  const { actor, roles, reason } = withdrawalSchema.parse(withdrawal);
  const current = await deps.store.proposal(tenant, proposalId);
  if (!current) throw new NotFoundError(`Proposal ${proposalId} not found`);
  if (current.requestedBy !== actor && !roles.includes('admin')) throw new ForbiddenError(`Only the proposer (${current.requestedBy}) or an admin may withdraw proposal ${proposalId}`);
  if (current.status !== 'pending') throw new ConflictError(`Proposal ${proposalId} is ${current.status}; only a pending proposal can be withdrawn`);
  const proposal = await transition(tenant, proposalId, 'refused', { reasons: [`withdrawn by ${actor}: ${reason}`], actor, from: ['pending'] }, deps);
  if (proposal.approvalId) {
    const approval = await settleApproval(tenant, proposal.approvalId, 'refused', { store: deps.approvals, outbox: deps.approvalOutbox, now: deps.now });
    if (approval?.taskToken) {
      try {
        await deps.workflow.fail(approval.taskToken, PROPOSAL_WITHDRAWN, `withdrawn by ${actor}: ${reason}`);
      } catch (error) {
        // The gate ended already (timed out, escalated meanwhile): nothing waits on this token.
        if (!(error instanceof GateClosedError)) throw error;
      }
    }
  }
  return proposal;
}
