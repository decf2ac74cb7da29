/** POST /promotion/metrics: samples of a promotion's metrics for one step, canary and baseline. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { postedSamples, promotionStore } from '../../lib/adapters/aws/promotion-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { postMetrics } from '../../lib/promotion/engine.ts';
import { postMetricsRoute } from '../../lib/promotion/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(postMetricsRoute, async (params, ctx) => ({
    result: await postMetrics(ctx.tenant, params, { promotions: promotionStore(), posted: postedSamples() }),
  })),
);
