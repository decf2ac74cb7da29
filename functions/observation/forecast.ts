/** GET /observation/forecast: Holt linear / Holt-Winters forecasts fitted to a series' recent points. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { observationDeps } from '../../lib/adapters/aws/observation-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { forecastRoute } from '../../lib/observation/routes.ts';
import { forecastSeries } from '../../lib/observation/series.ts';

export const handler = engineHandler(
  engineDeps(),
  route(forecastRoute, async (params, ctx) => ({ result: await forecastSeries(ctx.tenant, params, observationDeps(ctx.log)) })),
);
