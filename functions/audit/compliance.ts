/**
 * Scheduled: evaluates the compliance rules over every stream that grew since the last run,
 * stores each new finding once (GET /audit/findings) and publishes `audit.finding.raised` for it.
 * The stream of the Audit engine's own events is never evaluated, so findings cannot breed findings.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { auditLedger, auditPayloads, auditPublisher, auditState } from '../../lib/adapters/aws/audit-deps.ts';
import { evaluateStream } from '../../lib/audit/engine.ts';
import { mapLimit } from '../../lib/concurrency.ts';
import { logger, metrics } from '../../lib/observability.ts';
import { jobTime, scheduledJobSchema } from '../../lib/audit/jobs.ts';

export const handler = async (event: unknown): Promise<{ streams: number; raised: number; failed: number }> => {
  const job = scheduledJobSchema.parse(event ?? {});
  const state = auditState();
  const refs = (await state.registry.list()).filter((ref) => job.tenants === undefined || job.tenants.includes(ref.tenant));
  const now = jobTime(job);
  const deps = { ledger: auditLedger(), payloads: auditPayloads(), findings: state.findings, state: state.settings, publisher: auditPublisher(), now: () => now };
  let raised = 0;
  let failed = 0;
  await mapLimit(refs, 4, async (ref) => {
    try {
      raised += (await evaluateStream(deps, ref)).length;
    } catch (error) {
      failed += 1;
      logger.error('compliance evaluation failed', { tenant: ref.tenant, stream: ref.stream, error: error as Error });
    }
  });
  metrics.addMetric('AuditFindingsRaised', MetricUnit.Count, raised);
  metrics.publishStoredMetrics();
  return { streams: refs.length, raised, failed };
};
