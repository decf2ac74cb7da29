/** PUT /compression/config: change some of the tenant's compression settings, recorded in the ledger. */
import { compressionDeps } from '../../lib/adapters/aws/compression-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { updateSettings } from '../../lib/compression/engine.ts';
import { configRoute } from '../../lib/compression/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(configRoute, async (params, ctx) => {
    const next = await updateSettings(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', 'operator', compressionDeps(ctx.now()));
    ctx.log(`compression settings v${next.version}: ${Object.keys(params).join(', ') || 'nothing'} changed`);
    return { result: next };
  }),
);
