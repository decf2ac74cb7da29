/**
 * Rule target of `governance.proposal.settled`: resumes the KAMACHIQ plan waiting at the review gate
 * for that proposal, if one waits (lib/capsules/plan-steps.ts resumeReview).
 */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { reviewDeps } from '../../lib/adapters/aws/capsule-plan-store.ts';
import { resumeReview } from '../../lib/capsules/plan-steps.ts';
import { logger } from '../../lib/observability.ts';
import { ruleHandler } from '../../lib/triggers/rule.ts';

/** The settled event as this target reads it: whose proposal (extra fields are ignored). */
const settledSchema = z.looseObject({ tenant: tenantSchema, proposalId: z.string().min(1).max(64), status: z.string().max(32) });

export const handler = ruleHandler(settledSchema, async (detail) => {
  const outcome = await resumeReview(detail, reviewDeps(new Date()));
  if (outcome !== 'none')
    logger.info('plan review gate', { tenant: detail.tenant, proposalId: detail.proposalId, status: detail.status, outcome });
});
