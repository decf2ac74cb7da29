/**
 * Rule target of `governance.proposal.settled`: sends the task token back to whichever state
 * machine waits at a gate for that proposal (self-repair loops, KAMACHIQ plan reviews, migration
 * runs; lib/governance/gate-wait.ts resumeSettled). The one function that resumes gates on the event.
 */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { gateWaitDeps } from '../../lib/adapters/aws/gate-waits.ts';
import { resumeSettled } from '../../lib/governance/gate-wait.ts';
import { proposalStateSchema } from '../../lib/governance/model.ts';
import { logger } from '../../lib/observability.ts';
import { ruleHandler } from '../../lib/triggers/rule.ts';

/** The settled event as this target reads it: whose proposal and its state (extra fields are ignored). */
const settledSchema = z.looseObject({ tenant: tenantSchema, proposalId: z.string().min(1).max(64), status: proposalStateSchema });

export const handler = ruleHandler(settledSchema, async (detail) => {
  const outcome = await resumeSettled(detail, gateWaitDeps(new Date()));
  if (outcome !== 'none')
    logger.info('gate resumed', { tenant: detail.tenant, proposalId: detail.proposalId, status: detail.status, outcome });
});
