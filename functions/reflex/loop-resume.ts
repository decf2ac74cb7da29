/**
 * Rule target of `governance.proposal.settled`: resumes the self-repair loop waiting for that
 * proposal, if one waits (lib/reflex/loop.ts resumeGate).
 */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { gateDeps } from '../../lib/adapters/aws/reflex-deps.ts';
import { logger } from '../../lib/observability.ts';
import { resumeGate } from '../../lib/reflex/loop.ts';
import { ruleHandler } from '../../lib/triggers/rule.ts';

/** The settled event as this target reads it: whose proposal (extra fields are ignored). */
const settledSchema = z.looseObject({ tenant: tenantSchema, proposalId: z.string().min(1).max(64), status: z.string().max(32) });

export const handler = ruleHandler(settledSchema, async (detail) => {
  const outcome = await resumeGate(detail, gateDeps(new Date()));
  if (outcome !== 'none')
    logger.info('loop gate', { tenant: detail.tenant, proposalId: detail.proposalId, status: detail.status, outcome });
});
