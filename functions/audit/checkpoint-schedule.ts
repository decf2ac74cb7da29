/**
 * Scheduled: signs a checkpoint of every stream that grew since its last one. A stream whose
 * stored chain is broken is reported (error log, metric) and left unsigned; the others go on.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { auditState, checkpointDeps } from '../../lib/adapters/aws/audit-deps.ts';
import { checkpointStream } from '../../lib/audit/engine.ts';
import { mapLimit } from '../../lib/concurrency.ts';
import { logger, metrics } from '../../lib/observability.ts';
import { scheduledJobSchema } from '../../lib/audit/jobs.ts';

export const handler = async (event: unknown): Promise<{ streams: number; signed: number; failed: number }> => {
  const job = scheduledJobSchema.parse(event ?? {});
  const refs = (await auditState().registry.list()).filter((ref) => job.tenants === undefined || job.tenants.includes(ref.tenant));
  const deps = checkpointDeps();
  let signed = 0;
  let failed = 0;
  await mapLimit(refs, 4, async (ref) => {
    try {
      if ((await checkpointStream(deps, ref)).created) signed += 1;
    } catch (error) {
      failed += 1;
      logger.error('checkpoint not signed', { tenant: ref.tenant, stream: ref.stream, error: error as Error });
    }
  });
  metrics.addMetric('AuditCheckpointsSigned', MetricUnit.Count, signed);
  if (failed > 0) metrics.addMetric('AuditCheckpointFailures', MetricUnit.Count, failed);
  metrics.publishStoredMetrics();
  return { streams: refs.length, signed, failed };
};
