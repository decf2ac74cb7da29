/** Rule target of `governance.proposal.settled`: resumes the migration run waiting for that proposal, if one waits. */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { loopDeps } from '../../lib/adapters/aws/migration-deps.ts';
import { resumeGate } from '../../lib/migration/loop.ts';
import { logger } from '../../lib/observability.ts';
import { ruleHandler } from '../../lib/triggers/rule.ts';

/** The settled event as this target reads it: whose proposal (extra fields are ignored). */
const settledSchema = z.looseObject({ tenant: tenantSchema, proposalId: z.string().min(1).max(64), status: z.string().max(32) });

export const handler = ruleHandler(settledSchema, async (detail) => {
  const outcome = await resumeGate(detail, loopDeps());
  if (outcome !== 'none')
    logger.info('migration gate', { tenant: detail.tenant, proposalId: detail.proposalId, status: detail.status, outcome });
});
