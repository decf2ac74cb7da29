/** GET /observation/status: one series' summary and detector statistics, or a page of the tenant's series. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { observationDeps } from '../../lib/adapters/aws/observation-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { statusRoute } from '../../lib/observation/routes.ts';
import { listSeries, seriesStatus } from '../../lib/observation/series.ts';

export const handler = engineHandler(
  engineDeps(),
  route(statusRoute, async (params, ctx) => {
    const deps = observationDeps(ctx.log);
    if (params.series !== undefined) return { result: await seriesStatus(ctx.tenant, params.series, deps) };
    return { result: await listSeries(ctx.tenant, { limit: params.limit, ...(params.cursor ? { cursor: params.cursor } : {}) }, deps) };
  }),
);
