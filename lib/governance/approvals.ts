/**
 * Approval gates: a high-risk action waits (a Step Functions `.waitForTaskToken` task) until a
 * person other than the requester approves or rejects it. The task token waits in the state
 * table; the decision resumes the execution.
 */
import { z } from 'zod';
import { actionNameSchema, actorSchema, engineNameSchema, tenantSchema } from '../../events/ids.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';

/** Risk classes: low runs on its own, medium and high wait for a decision. */
export const riskSchema = z.enum(['low', 'medium', 'high']);

/** What the gate's request task receives from the state machine. */
export const approvalRequestSchema = z.object({
  // Bounds as AWS's (task tokens and ARNs) and the approval events' (events/governance.ts).
  taskToken: z.string().min(1).max(2048),
  executionArn: z.string().min(1).max(2048),
  tenant: tenantSchema,
  action: z.object({
    engine: engineNameSchema,
    name: actionNameSchema,
    target: z.string().min(1).max(1024),
    parameters: z.record(z.string().min(1).max(128), z.unknown()).default({}),
  }),
  risk: riskSchema,
  requestedBy: actorSchema,
  reason: z.string().max(2000).default(''),
});

/** A parsed approval request. */
export type ApprovalRequest = z.infer<typeof approvalRequestSchema>;

/** A decision on a pending approval. */
export const approvalDecisionSchema = z.object({
  tenant: tenantSchema,
  approvalId: z.string().min(1).max(128),
  decision: z.enum(['approve', 'reject']),
  actor: actorSchema,
  reason: z.string().max(2000).default(''),
});

/** A parsed approval decision. */
export type ApprovalDecision = z.infer<typeof approvalDecisionSchema>;

/** An approval as stored. */
export interface Approval {
  tenant: string;
  approvalId: string;
  status: 'pending' | 'approved' | 'rejected';
  taskToken: string;
  executionArn: string;
  action: ApprovalRequest['action'];
  risk: ApprovalRequest['risk'];
  requestedBy: string;
  reason: string;
  requestedAt: string;
  decidedBy?: string;
  decidedAt?: string;
  decisionReason?: string;
}

/** Storage for approvals; `create` and `transition` are conditional. */
export interface ApprovalStore {
  /** @throws ConflictError when the approval id exists. */
  create(approval: Approval): Promise<void>;
  get(tenant: string, approvalId: string): Promise<Approval | undefined>;
  /** Writes `next` only if the stored status is still `pending`. @throws ConflictError otherwise. */
  decidePending(next: Approval): Promise<void>;
  /** The tenant's approvals in `status`, oldest request first, at most `limit`. */
  list(tenant: string, status: Approval['status'], limit: number): Promise<Approval[]>;
}

/** Resumes the waiting execution. */
export interface WorkflowCallbacks {
  succeed(taskToken: string, output: unknown): Promise<void>;
  fail(taskToken: string, error: string, cause: string): Promise<void>;
}

/** The error name the state machine's `Catch` matches when a person rejects. */
export const APPROVAL_REJECTED = 'ApprovalRejected';

/** Builds a pending approval from a gate request. */
export function openApproval(request: ApprovalRequest, approvalId: string, now: Date): Approval {
  return {
    tenant: request.tenant,
    approvalId,
    status: 'pending',
    taskToken: request.taskToken,
    executionArn: request.executionArn,
    action: request.action,
    risk: request.risk,
    requestedBy: request.requestedBy,
    reason: request.reason,
    requestedAt: now.toISOString(),
  };
}

/**
 * Applies a decision to a pending approval.
 * @throws NotFoundError when there is no such approval for the tenant.
 * @throws ConflictError when it was decided already.
 * @throws ForbiddenError when the requester tries to decide their own request (separation of duties).
 */
export function applyDecision(approval: Approval | undefined, decision: ApprovalDecision, now: Date): Approval {
  if (!approval) throw new NotFoundError(`Approval ${decision.approvalId} not found`);
  if (approval.status !== 'pending') throw new ConflictError(`Approval ${decision.approvalId} is already ${approval.status}`);
  if (approval.requestedBy === decision.actor) throw new ForbiddenError('The requester cannot decide their own request');
  return {
    ...approval,
    status: decision.decision === 'approve' ? 'approved' : 'rejected',
    decidedBy: decision.actor,
    decidedAt: now.toISOString(),
    decisionReason: decision.reason,
  };
}

/**
 * Records a decision and resumes the execution waiting on it: approval sends the decision as task
 * output; rejection fails the task with {@link APPROVAL_REJECTED}.
 */
export async function decide(
  decision: ApprovalDecision,
  deps: { store: ApprovalStore; workflow: WorkflowCallbacks; now: Date },
): Promise<Approval> {
  const current = await deps.store.get(decision.tenant, decision.approvalId);
  const next = applyDecision(current, decision, deps.now);
  await deps.store.decidePending(next);
  const outcome = { approvalId: next.approvalId, decision: next.status, decidedBy: next.decidedBy, reason: next.decisionReason };
  if (next.status === 'approved') await deps.workflow.succeed(next.taskToken, outcome);
  else await deps.workflow.fail(next.taskToken, APPROVAL_REJECTED, JSON.stringify(outcome));
  return next;
}
