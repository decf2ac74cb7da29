/**
 * Approval gates with a quorum. A proposal routed to people waits in a Step Functions
 * `.waitForTaskToken` task; its approval (state table) collects votes until `required` approvers
 * other than the requester approved (then the execution resumes) or anyone rejected (it fails).
 * When nobody decides in time the gate escalates once, to admins, then fails closed.
 *
 * The approval id is derived from the proposal (`approvalIdOf`), so the gate's request task can be
 * retried without opening a second approval. Every write is conditional on the version read, so
 * two people deciding in the same instant neither lose a vote nor resume the execution twice. The
 * decision is stored first, then sent to Step Functions; if Step Functions answers that the task no
 * longer waits (timed out, unknown token), the stored decision is taken back and the caller gets
 * a 409: the approval record always ends in the state its execution ended in.
 */
import { z } from 'zod';
import { actorSchema, tenantSchema } from '../../events/ids.ts';
import { ConflictError, DomainError, ForbiddenError, NotFoundError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import type { OutboxEntry } from './proposals.ts';
import {
  approverGroupSchema,
  environmentSchema,
  evidenceSchema,
  policyDecisionSchema,
  riskAssessmentSchema,
  riskLevelSchema,
  type Vote,
  voteSchema,
} from './model.ts';

/** Approval states: `pending` until the quorum, a rejection, the timeout or a kill switch ends it. */
export const approvalStatusSchema = z.enum(['pending', 'approved', 'rejected', 'timed-out', 'refused']);
/** An approval state. */
export type ApprovalStatus = z.infer<typeof approvalStatusSchema>;

/** The gated action. */
export const gatedActionSchema = z.object({
  engine: z.string().min(1).max(32),
  name: z.string().min(1).max(64),
  target: z.string().min(1).max(1024),
  parameters: z.record(z.string().min(1).max(128), z.unknown()).default({}),
});

/** What the gate's request task receives from the state machine (round 1: approvers; round 2: escalated to admins). */
export const approvalRequestSchema = z.object({
  // Bounds as AWS's (task tokens and ARNs).
  taskToken: z.string().min(1).max(2048),
  executionArn: z.string().min(1).max(2048),
  tenant: tenantSchema,
  proposalId: z.string().min(1).max(64),
  approvalId: z.string().min(1).max(80),
  round: z.union([z.literal(1), z.literal(2)]),
  /** Seconds this round waits (the state machine's TimeoutSecondsPath reads the same value). */
  timeoutSeconds: z.number().int().min(1),
});
/** A parsed approval request. */
export type ApprovalRequest = z.infer<typeof approvalRequestSchema>;

/** An approval as stored. */
export const approvalSchema = z.object({
  tenant: tenantSchema,
  approvalId: z.string().min(1).max(80),
  proposalId: z.string().min(1).max(64),
  status: approvalStatusSchema,
  taskToken: z.string().max(2048),
  executionArn: z.string().max(2048),
  round: z.union([z.literal(1), z.literal(2)]),
  group: approverGroupSchema,
  escalated: z.boolean(),
  action: gatedActionSchema,
  environment: environmentSchema,
  risk: riskLevelSchema,
  assessment: riskAssessmentSchema,
  policy: policyDecisionSchema,
  evidence: evidenceSchema.optional(),
  requestedBy: actorSchema,
  reason: z.string().max(2000),
  requestedAt: z.iso.datetime().max(64),
  /** When the current round stops waiting. */
  deadline: z.iso.datetime().max(64),
  /** Approvals needed (the tenant's `minApprovals` for this risk level). */
  required: z.number().int().min(1).max(10),
  votes: z.array(voteSchema).max(20),
  decidedAt: z.iso.datetime().max(64).optional(),
  /** Optimistic concurrency: every write is conditional on the version it read. */
  version: z.number().int().min(0),
});
/** An approval as stored. */
export type Approval = z.infer<typeof approvalSchema>;

/** What the gate knows about the proposal when it opens an approval (read from the proposal record). */
export type ApprovalSubject = Pick<
  Approval,
  'tenant' | 'proposalId' | 'action' | 'environment' | 'risk' | 'assessment' | 'policy' | 'evidence' | 'requestedBy' | 'reason' | 'required'
>;

/** Storage for approvals; every write is conditional. */
export interface ApprovalStore {
  get(tenant: string, approvalId: string): Promise<Approval | undefined>;
  /**
   * Writes `next` with its events (outbox entries, in the same write) if the stored approval is at
   * `expectedVersion` (`undefined`: absent). The caller delivers or discards the entries.
   * @throws ConflictError when it is not (someone else wrote first).
   */
  put(next: Approval, expectedVersion: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
  /** The tenant's approvals in `status`, oldest request first, at most `limit`. */
  list(tenant: string, status: ApprovalStatus, limit: number): Promise<Approval[]>;
}

/** Delivers outbox entries (publish, record, clear), or drops the ones of a write that was taken back. */
export interface ApprovalOutbox {
  deliver(entries: OutboxEntry[]): Promise<void>;
  discard(entries: OutboxEntry[]): Promise<void>;
}

/** The gate's task token does not wait any more (Step Functions: TaskTimedOut, InvalidToken, TaskDoesNotExist). */
export class GateClosedError extends DomainError {}

/** Resumes or checks the waiting execution. */
export interface WorkflowCallbacks {
  /** @throws GateClosedError when the task no longer waits. */
  succeed(taskToken: string, output: unknown): Promise<void>;
  /** @throws GateClosedError when the task no longer waits. */
  fail(taskToken: string, error: string, cause: string): Promise<void>;
  /** Confirms the task still waits (a vote short of the quorum). @throws GateClosedError when it does not. */
  heartbeat(taskToken: string): Promise<void>;
}

/** The error name the state machine's `Catch` matches when a person rejects. */
export const APPROVAL_REJECTED = 'ApprovalRejected';

/** Attempts at a conditional write before a 409 (each re-reads the approval). */
const WRITE_ATTEMPTS = 5;

/**
 * The approval id of a proposal: stable, so a retried request task finds the approval it opened.
 * It is also the name of the waiting execution (Step Functions names: at most 80 of [A-Za-z0-9-_]).
 */
export function approvalIdOf(proposalId: string): string {
  return `approval-${proposalId}`;
}

/**
 * Opens (round 1) or escalates (round 2) the approval of a gate. A retry of the same round by the
 * same execution only takes the new task token; a stale round changes nothing.
 * @returns the approval as stored, and whether this call changed the round (for the event).
 */
export async function openOrEscalate(
  request: ApprovalRequest,
  subject: ApprovalSubject,
  deps: { store: ApprovalStore; outbox: ApprovalOutbox; now: Date },
): Promise<{ approval: Approval; opened: boolean; escalated: boolean }> {
  const deadline = new Date(deps.now.getTime() + request.timeoutSeconds * 1000).toISOString();
  for (let attempt = 1; ; attempt += 1) {
    const current = await deps.store.get(request.tenant, request.approvalId);
    let next: Approval;
    let opened = false;
    let escalated = false;
    if (!current) {
      next = {
        ...subject,
        approvalId: request.approvalId,
        status: 'pending',
        taskToken: request.taskToken,
        executionArn: request.executionArn,
        round: request.round,
        group: request.round === 2 ? 'admin' : 'approver',
        escalated: request.round === 2,
        requestedAt: deps.now.toISOString(),
        deadline,
        votes: [],
        version: 0,
      };
      opened = true;
      escalated = request.round === 2;
    } else if (current.executionArn !== request.executionArn) {
      throw new ConflictError(`Approval ${request.approvalId} belongs to another execution`);
    } else if (current.round > request.round) {
      return { approval: current, opened: false, escalated: false };
    } else if (current.round === request.round) {
      // A retry of this round's task: the new attempt's token is the one Step Functions waits on.
      if (current.taskToken === request.taskToken) return { approval: current, opened: false, escalated: false };
      next = { ...current, taskToken: request.taskToken, version: current.version + 1 };
    } else {
      // Round 1 timed out: admins decide now. A decision that raced the timeout lost (the execution
      // moved on), so the approval waits again; the votes already cast still count.
      next = { ...current, status: 'pending', round: 2, group: 'admin', escalated: true, taskToken: request.taskToken, deadline, version: current.version + 1 };
      delete next.decidedAt;
      escalated = true;
    }
    const events = opened && !escalated ? [requestedEvent(next)] : escalated ? [requestedEvent(next), escalatedEvent(next, deps.now)] : [];
    try {
      await deps.outbox.deliver(await deps.store.put(next, current?.version, events));
      return { approval: next, opened, escalated };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= WRITE_ATTEMPTS) throw error;
    }
  }
}

/** A decision on a pending approval. */
export const approvalDecisionSchema = z.object({
  tenant: tenantSchema,
  approvalId: z.string().min(1).max(80),
  decision: z.enum(['approve', 'reject']),
  actor: actorSchema,
  /** The decider's roles (an escalated approval needs an admin). */
  roles: z.array(z.string()).max(10),
  reason: z.string().min(1).max(2000),
});
/** A parsed approval decision. */
export type ApprovalDecision = z.infer<typeof approvalDecisionSchema>;

/** The outcome of one vote. */
export interface DecideOutcome {
  approval: Approval;
  /** The vote completed the gate: the execution resumed (approved) or failed (rejected). */
  final: boolean;
  vote: Vote;
}

/**
 * Applies one vote to the approval as read: checks, then the approval after the vote.
 * @throws NotFoundError when there is no such approval for the tenant.
 * @throws ConflictError when it is not pending any more, or this person voted already.
 * @throws ForbiddenError when the requester votes on their own request (separation of duties), or a
 *   non-admin votes on an approval escalated to admins.
 */
export function applyVote(approval: Approval | undefined, decision: ApprovalDecision, now: Date): { next: Approval; vote: Vote } {
  if (!approval) throw new NotFoundError(`Approval ${decision.approvalId} not found`);
  if (approval.status !== 'pending') throw new ConflictError(`Approval ${decision.approvalId} is already ${approval.status}`);
  if (approval.requestedBy === decision.actor) throw new ForbiddenError('The requester cannot decide their own request');
  if (approval.group === 'admin' && !decision.roles.includes('admin')) {
    throw new ForbiddenError(`Approval ${decision.approvalId} was escalated to admins; an admin must decide it`);
  }
  if (approval.votes.some((vote) => vote.actor === decision.actor)) throw new ConflictError(`${decision.actor} has already voted on approval ${decision.approvalId}`);
  const vote: Vote = { actor: decision.actor, decision: decision.decision, reason: decision.reason, at: now.toISOString() };
  const votes = [...approval.votes, vote];
  const approvals = votes.filter((entry) => entry.decision === 'approve').length;
  const status: ApprovalStatus = decision.decision === 'reject' ? 'rejected' : approvals >= approval.required ? 'approved' : 'pending';
  const next: Approval = { ...approval, votes, status, version: approval.version + 1 };
  if (status !== 'pending') next.decidedAt = now.toISOString();
  return { next, vote };
}

/** What the waiting execution receives when the quorum approves. */
export function gateOutput(approval: Approval): { approvalId: string; decision: ApprovalStatus; approvers: string[]; votes: Vote[] } {
  return {
    approvalId: approval.approvalId,
    decision: approval.status,
    approvers: approval.votes.filter((vote) => vote.decision === 'approve').map((vote) => vote.actor),
    votes: approval.votes,
  };
}

/**
 * Records one vote and, when it completes the gate, resumes the execution (approve: the decision
 * as task output; reject: a task failure named {@link APPROVAL_REJECTED}). A vote short of the
 * quorum checks that the gate still waits (a heartbeat).
 *
 * @throws ConflictError (409) when the approval is decided, or the gate stopped waiting before
 *   this vote (timed out): the vote is then taken back.
 */
export async function decide(
  decision: ApprovalDecision,
  deps: { store: ApprovalStore; outbox: ApprovalOutbox; workflow: WorkflowCallbacks; now: Date },
): Promise<DecideOutcome> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await deps.store.get(decision.tenant, decision.approvalId);
    const { next, vote } = applyVote(current, decision, deps.now);
    let entries: OutboxEntry[];
    try {
      entries = await deps.store.put(next, current?.version, [decidedEvent(next, vote)]);
    } catch (error) {
      if (error instanceof ConflictError && attempt < WRITE_ATTEMPTS) continue;
      throw error;
    }
    try {
      if (next.status === 'approved') await deps.workflow.succeed(next.taskToken, gateOutput(next));
      else if (next.status === 'rejected') await deps.workflow.fail(next.taskToken, APPROVAL_REJECTED, JSON.stringify(gateOutput(next)).slice(0, 32_000));
      else await deps.workflow.heartbeat(next.taskToken);
    } catch (error) {
      // The execution did not take the decision: take the vote back (and its event).
      await deps.outbox.discard(entries);
      await withdrawVote(deps.store, next, vote);
      if (!(error instanceof GateClosedError)) throw error;
      throw new ConflictError(`Approval ${decision.approvalId} stopped waiting before this decision (its gate timed out or was escalated); nothing was recorded`);
    }
    await deps.outbox.deliver(entries);
    return { approval: next, final: next.status !== 'pending', vote };
  }
}

/**
 * Removes a vote the gate did not take. When nobody wrote since, the approval goes back to what it
 * was; when the gate's own steps wrote meanwhile (an escalation, a settle), only the vote goes and
 * their status stays.
 */
async function withdrawVote(store: ApprovalStore, written: Approval, vote: Vote): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await store.get(written.tenant, written.approvalId);
    if (!current?.votes.some((entry) => entry.actor === vote.actor && entry.at === vote.at)) return;
    const votes = current.votes.filter((entry) => !(entry.actor === vote.actor && entry.at === vote.at));
    const untouched = current.version === written.version;
    const next: Approval = { ...current, votes, ...(untouched ? { status: 'pending' as const } : {}), version: current.version + 1 };
    if (untouched) delete next.decidedAt;
    try {
      await store.put(next, current.version, []);
      return;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= WRITE_ATTEMPTS) throw error;
    }
  }
}

/**
 * Ends an approval in the state its execution ended in (the gate's settle step): written whatever
 * the approval says, except when it already says so.
 */
export async function settleApproval(
  tenant: string,
  approvalId: string,
  status: Exclude<ApprovalStatus, 'pending'>,
  deps: { store: ApprovalStore; outbox: ApprovalOutbox; now: Date },
): Promise<Approval | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await deps.store.get(tenant, approvalId);
    if (!current || current.status === status) return current;
    const next: Approval = { ...current, status, decidedAt: current.decidedAt ?? deps.now.toISOString(), version: current.version + 1 };
    try {
      await deps.outbox.deliver(await deps.store.put(next, current.version, []));
      return next;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= WRITE_ATTEMPTS) throw error;
    }
  }
}

/** `governance.approval.requested` of an approval (opened, or escalated to admins). */
function requestedEvent(approval: Approval): BusEvent {
  return busEvent('governance.approval.requested', {
    tenant: approval.tenant,
    approvalId: approval.approvalId,
    proposalId: approval.proposalId,
    executionArn: approval.executionArn,
    action: approval.action,
    environment: approval.environment,
    risk: approval.risk,
    required: approval.required,
    group: approval.group,
    requestedBy: approval.requestedBy,
    reason: approval.reason,
    requestedAt: approval.requestedAt,
    deadline: approval.deadline,
  });
}

function escalatedEvent(approval: Approval, now: Date): BusEvent {
  return busEvent('governance.approval.escalated', {
    tenant: approval.tenant,
    approvalId: approval.approvalId,
    proposalId: approval.proposalId,
    group: approval.group,
    deadline: approval.deadline,
    escalatedAt: now.toISOString(),
  });
}

function decidedEvent(approval: Approval, vote: Vote): BusEvent {
  return busEvent('governance.approval.decided', {
    tenant: approval.tenant,
    approvalId: approval.approvalId,
    proposalId: approval.proposalId,
    decision: approval.status === 'approved' || approval.status === 'rejected' ? approval.status : 'pending',
    vote,
    approvals: approval.votes.filter((entry) => entry.decision === 'approve').length,
    required: approval.required,
    decidedBy: vote.actor,
    decidedAt: vote.at,
  });
}

/** An approval as people see it: everything but the task token. */
export function approvalView({ taskToken: _token, version: _version, ...approval }: Approval): Omit<Approval, 'taskToken' | 'version'> {
  return approval;
}
