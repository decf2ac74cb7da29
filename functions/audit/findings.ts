/** GET /audit/findings: the tenant's compliance findings. */
import { auditState } from '../../lib/adapters/aws/audit-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { findingsRoute } from '../../lib/audit/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(findingsRoute, async (params, ctx) => {
    const findings = await auditState().findings.list(ctx.tenant, params.stream, params.limit);
    return { result: { findings: findings.map(({ tenant: _tenant, ...finding }) => finding) } };
  }),
);
