/**
 * Scheduled: deletes payloads older than each tenant's retention window (the stage default when
 * the tenant set none). Entries, checkpoints and the chain are untouched: verification reports
 * those payloads as expired, never as a break.
 */
import { auditLedger, auditPayloads, auditState } from '../../lib/adapters/aws/audit-deps.ts';
import { applyRetention, byTenant } from '../../lib/audit/engine.ts';
import { config } from '../../lib/config.ts';
import { scheduledJob } from '../../lib/triggers/schedule.ts';

export const handler = scheduledJob({
  name: 'AuditRetention',
  concurrency: 2,
  targets: async ({ tenants }) => [...byTenant((await auditState().registry.list()).filter((ref) => tenants === undefined || tenants.includes(ref.tenant)))],
  describe: ([tenant]) => ({ tenant }),
  run: async ([tenant, streams], { now }, log) => {
    const deps = { ledger: auditLedger(), payloads: auditPayloads(), state: auditState().settings, defaultRetentionDays: config().RETENTION_DAYS };
    const outcome = await applyRetention(deps, tenant, streams, now);
    if (outcome.deleted > 0) log.info('payloads expired', { ...outcome });
    return outcome.deleted;
  },
  summarize: (deleted) => ({ deleted: deleted.reduce((sum, count) => sum + count, 0) }),
});
