/** /audit/retention: the tenant's payload retention window (GET), set by admins (PUT). */
import { auditState } from '../../lib/adapters/aws/audit-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { getRetentionRoute, setRetentionRoute } from '../../lib/audit/routes.ts';
import { config } from '../../lib/config.ts';

export const handler = engineHandler(
  engineDeps(),
  route(getRetentionRoute, async (_params, ctx) => {
    const days = await auditState().settings.retentionDays(ctx.tenant);
    return { result: days === undefined ? { retentionDays: config().RETENTION_DAYS, source: 'stage-default' as const } : { retentionDays: days, source: 'tenant' as const } };
  }),
  route(setRetentionRoute, async (params, ctx) => {
    await auditState().settings.setRetentionDays(ctx.tenant, params.days);
    ctx.log(`payloads older than ${params.days} days will be deleted at the next retention run`);
    return { result: { retentionDays: params.days, source: 'tenant' as const } };
  }),
);
