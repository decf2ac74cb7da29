/** DELETE /observation/series: removes a series' state (its pending events are published first). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { observationDeps } from '../../lib/adapters/aws/observation-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { deleteSeriesRoute } from '../../lib/observation/routes.ts';
import { deleteSeries } from '../../lib/observation/series.ts';

export const handler = engineHandler(
  engineDeps(),
  route(deleteSeriesRoute, async (params, ctx) => ({ result: await deleteSeries(ctx.tenant, params.series, observationDeps(ctx.log)) })),
);
