/**
 * Scheduled: deletes payloads older than each tenant's retention window (the stage default when
 * the tenant set none). Entries, checkpoints and the chain are untouched: verification reports
 * those payloads as expired, never as a break.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { auditLedger, auditPayloads, auditState } from '../../lib/adapters/aws/audit-deps.ts';
import { applyRetention, byTenant } from '../../lib/audit/engine.ts';
import { config } from '../../lib/config.ts';
import { logger, metrics } from '../../lib/observability.ts';
import { jobTime, scheduledJobSchema } from '../../lib/audit/jobs.ts';

export const handler = async (event: unknown): Promise<{ tenants: number; deleted: number; failed: number }> => {
  const job = scheduledJobSchema.parse(event ?? {});
  const state = auditState();
  const refs = (await state.registry.list()).filter((ref) => job.tenants === undefined || job.tenants.includes(ref.tenant));
  const deps = { ledger: auditLedger(), payloads: auditPayloads(), state: state.settings, defaultRetentionDays: config().RETENTION_DAYS };
  const now = jobTime(job);
  let deleted = 0;
  let failed = 0;
  for (const [tenant, streams] of byTenant(refs)) {
    try {
      const outcome = await applyRetention(deps, tenant, streams, now);
      deleted += outcome.deleted;
      if (outcome.deleted > 0) logger.info('payloads expired', { ...outcome });
    } catch (error) {
      failed += 1;
      logger.error('retention failed', { tenant, error: error as Error });
    }
  }
  metrics.addMetric('AuditPayloadsExpired', MetricUnit.Count, deleted);
  metrics.publishStoredMetrics();
  return { tenants: byTenant(refs).size, deleted, failed };
};
