/** PUT /observation/config: a series' detector and its configuration. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { observationDeps } from '../../lib/adapters/aws/observation-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { configRoute } from '../../lib/observation/routes.ts';
import { configureSeries } from '../../lib/observation/series.ts';

export const handler = engineHandler(
  engineDeps(),
  route(configRoute, async (params, ctx) => ({
    result: await configureSeries(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', observationDeps(ctx.log)),
  })),
);
