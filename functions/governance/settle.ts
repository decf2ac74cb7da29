/**
 * Step Functions task: ends a proposal (and its approval) in the state its gate ended in. An
 * approved proposal is refused instead while a kill switch is on (waiting gates fail closed). A
 * proposal withdrawn meanwhile stays refused: the task fails with `ProposalWithdrawn` (the gate ends).
 */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { approvalStore, governanceOutbox, governanceStore } from '../../lib/adapters/aws/governance-deps.ts';
import { ConflictError, LockedError } from '../../lib/errors.ts';
import { settleApproval } from '../../lib/governance/approvals.ts';
import { isWithdrawn, ProposalWithdrawn, type Proposal, transition } from '../../lib/governance/proposals.ts';
import { assertActuationAllowed } from '../../lib/governance/settings.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

const inputSchema = z.object({
  tenant: tenantSchema,
  proposalId: z.string().min(1).max(64),
  approvalId: z.string().max(80).optional(),
  outcome: z.enum(['approved', 'rejected', 'timed-out', 'refused']),
  /** L3 validation's verdict, when it decided. */
  validation: z.object({ passed: z.boolean(), failures: z.array(z.string()), notes: z.array(z.string()) }).nullish(),
  /** The error the gate caught (a rejection's cause, a timeout, a task failure). */
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).nullish(),
});

export const handler = taskHandler(inputSchema, async (input) => {
  const store = governanceStore();
  const deps = { store, outbox: governanceOutbox(), now: new Date() };
  let outcome = input.outcome;
  const reasons: string[] = [];
  if (input.validation) reasons.push(...input.validation.failures.map((failure) => `L3 validation: ${failure}`), ...input.validation.notes.map((note) => `L3 note: ${note}`));
  if (input.error?.Error) reasons.push(`gate: ${input.error.Error}${input.error.Cause && input.error.Error !== 'ApprovalRejected' ? ` (${input.error.Cause.slice(0, 300)})` : ''}`);
  if (outcome === 'approved') {
    const [settings, global] = await Promise.all([store.settings(input.tenant), store.globalKillSwitch()]);
    try {
      assertActuationAllowed(settings, global);
    } catch (error) {
      if (!(error instanceof LockedError)) throw error;
      outcome = 'refused';
      reasons.push(error.message);
    }
  }
  if (outcome === 'timed-out') reasons.push('gate: no decision before the timeout, after escalation to admins; failed closed');
  let proposal: Proposal;
  try {
    proposal = await transition(input.tenant, input.proposalId, outcome, { reasons, actor: 'system:governance-gate', from: ['pending'] }, deps);
  } catch (error) {
    if (error instanceof ConflictError && isWithdrawn(await store.proposal(input.tenant, input.proposalId))) {
      throw new ProposalWithdrawn(`Proposal ${input.proposalId} was withdrawn before its gate settled; it stays refused`);
    }
    throw error;
  }
  if (input.approvalId) await settleApproval(input.tenant, input.approvalId, outcome, { store: approvalStore(), outbox: governanceOutbox(), now: deps.now });
  return { status: proposal.status };
});
