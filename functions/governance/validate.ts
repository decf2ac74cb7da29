/** Step Functions task: L3 validation of a proposal (bounds, policy at the time of the change, pre-conditions, dry run). */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { cedarPolicyPort, governanceStore } from '../../lib/adapters/aws/governance-deps.ts';
import { NotFoundError } from '../../lib/errors.ts';
import type { ActuationPolicyRequest } from '../../lib/governance/proposals.ts';
import { validateProposal } from '../../lib/governance/validation.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

const inputSchema = z.object({ tenant: tenantSchema, proposalId: z.string().min(1).max(64) });

export const handler = taskHandler(inputSchema, async ({ tenant, proposalId }) => {
  const store = governanceStore();
  const [proposal, settings, pending, approved] = await Promise.all([
    store.proposal(tenant, proposalId),
    store.settings(tenant),
    store.proposals(tenant, 'pending', 100),
    store.proposals(tenant, 'approved', 100),
  ]);
  if (!proposal) throw new NotFoundError(`Proposal ${proposalId} not found`);
  const policy = await cedarPolicyPort().evaluateActuation(tenant, settings.policyVersion, proposal.policyRequest as ActuationPolicyRequest);
  return validateProposal(proposal, { config: settings.config, policy, open: [...pending, ...approved], now: new Date() });
});
