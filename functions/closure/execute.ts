/** Rule target of `governance.proposal.settled`: runs the approved termination of that proposal, if it is one (or ends it rejected). */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { closureDeps } from '../../lib/adapters/aws/closure-deps.ts';
import { executeTermination } from '../../lib/closure/engine.ts';
import { logger } from '../../lib/observability.ts';
import { ruleHandler } from '../../lib/triggers/rule.ts';

/** The settled event as this target reads it: whose proposal (extra fields are ignored). */
const settledSchema = z.looseObject({ tenant: tenantSchema, proposalId: z.string().min(1).max(64), status: z.string().max(32) });

export const handler = ruleHandler(settledSchema, async (detail) => {
  const termination = await executeTermination(detail.tenant, detail.proposalId, closureDeps(new Date()));
  if (termination)
    logger.info('closure termination', {
      tenant: detail.tenant,
      terminationId: termination.terminationId,
      status: termination.status,
      terminationMs: termination.terminationMs,
    });
});
