/**
 * Rule target of `governance.proposal.settled`: publishes the capsule version a `capsules:publish`
 * proposal approved, or rejects it (lib/capsules/marketplace.ts settlePublication); other proposals
 * change nothing.
 */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { settleDeps } from '../../lib/adapters/aws/capsule-deps.ts';
import { settlePublication } from '../../lib/capsules/marketplace.ts';
import { logger } from '../../lib/observability.ts';
import { ruleHandler } from '../../lib/triggers/rule.ts';

/** The settled event as this target reads it: whose proposal (extra fields are ignored). */
const settledSchema = z.looseObject({ tenant: tenantSchema, proposalId: z.string().min(1).max(64) });

export const handler = ruleHandler(settledSchema, async (detail) => {
  const outcome = await settlePublication(detail.tenant, detail.proposalId, settleDeps(new Date()));
  if (outcome !== 'none') logger.info('capsule publication', { tenant: detail.tenant, proposalId: detail.proposalId, outcome });
});
