/**
 * Scheduled: signs a checkpoint of every stream that grew since its last one. A stream whose
 * stored chain is broken is reported (error log, metric) and left unsigned; the others go on.
 */
import { auditState, checkpointDeps } from '../../lib/adapters/aws/audit-deps.ts';
import { checkpointStream } from '../../lib/audit/engine.ts';
import { scheduledJob } from '../../lib/triggers/schedule.ts';

export const handler = scheduledJob({
  name: 'AuditCheckpoint',
  concurrency: 4,
  targets: async ({ tenants }) => (await auditState().registry.list()).filter((ref) => tenants === undefined || tenants.includes(ref.tenant)),
  describe: (ref) => ({ tenant: ref.tenant, stream: ref.stream }),
  run: async (ref) => (await checkpointStream(checkpointDeps(), ref)).created,
  summarize: (created) => ({ signed: created.filter(Boolean).length }),
});
