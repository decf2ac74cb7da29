/** GET /promotion/status: the tenant's promotions (or one) with their steps, weights, judge reports and timings. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { promotionStore } from '../../lib/adapters/aws/promotion-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { promotionStatus } from '../../lib/promotion/engine.ts';
import { promotionStatusRoute } from '../../lib/promotion/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(promotionStatusRoute, async (params, ctx) => ({
    result: await promotionStatus(ctx.tenant, params, { promotions: promotionStore() }),
  })),
);
