/**
 * Rule target of `governance.proposal.settled`: a step of Loop 3 that waited for people starts its
 * resumed run (lib/compression/loop.ts resumeOnSettled), which applies it when approved and records
 * the refusal otherwise; other proposals start nothing.
 */
import { compressionLoopStarter, loopResumeDeps } from '../../lib/adapters/aws/compression-deps.ts';
import { resumeOnSettled, settledDetailSchema } from '../../lib/compression/loop.ts';
import { logger } from '../../lib/observability.ts';
import { ruleHandler } from '../../lib/triggers/rule.ts';

export const handler = ruleHandler(settledDetailSchema, async (detail) => {
  const execution = await resumeOnSettled(detail, { ...loopResumeDeps(), loops: compressionLoopStarter() });
  if (execution) logger.info('compression loop resumed', { tenant: detail.tenant, proposalId: detail.proposalId, execution });
});
