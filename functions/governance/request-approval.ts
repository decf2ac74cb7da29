/**
 * Step Functions task (`.waitForTaskToken`): opens the approval of a proposal (round 1, approvers)
 * or escalates it (round 2, admins). Retries of the same round reuse the approval: its id comes
 * from the proposal, so a retry can never open a second one. A withdrawn proposal opens nothing: the
 * task fails with `ProposalWithdrawn` and the gate ends.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { approvalStore, governanceOutbox, governanceStore } from '../../lib/adapters/aws/governance-deps.ts';
import { NotFoundError } from '../../lib/errors.ts';
import { approvalRequestSchema, openOrEscalate } from '../../lib/governance/approvals.ts';
import { approvalSubjectOf, isWithdrawn, ProposalWithdrawn, quorumOf } from '../../lib/governance/proposals.ts';
import { metrics } from '../../lib/observability.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(approvalRequestSchema, async (request) => {
  const store = governanceStore();
  const [proposal, settings] = await Promise.all([store.proposal(request.tenant, request.proposalId), store.settings(request.tenant)]);
  if (!proposal) throw new NotFoundError(`Proposal ${request.proposalId} not found`);
  if (isWithdrawn(proposal)) throw new ProposalWithdrawn(`Proposal ${request.proposalId} was withdrawn; no approval is opened`);
  const subject = approvalSubjectOf(proposal, quorumOf(proposal, settings));

  const { approval, opened, escalated } = await openOrEscalate(request, subject, { store: approvalStore(), outbox: governanceOutbox(), now: new Date() });
  // With ApprovalsDecided, the approval backlog the stage's alarm watches.
  if (opened) metrics.addMetric('ApprovalsRequested', MetricUnit.Count, 1);
  if (escalated) metrics.addMetric('ApprovalsEscalated', MetricUnit.Count, 1);
  return { approvalId: approval.approvalId, round: approval.round, group: approval.group };
});
