/**
 * /promotion/promotions: start a promotion (POST; 202, it runs as statemachines/promotion.asl.json)
 * and abort one (DELETE; rolled back at once). The proposer is the caller's identity.
 */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { withdrawDeps } from '../../lib/adapters/aws/governance-deps.ts';
import { promotionDeps } from '../../lib/adapters/aws/promotion-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { ForbiddenError } from '../../lib/errors.ts';
import { proposerOf } from '../../lib/governance/proposer.ts';
import { abortPromotion, startPromotion } from '../../lib/promotion/engine.ts';
import { abortPromotionRoute, startPromotionRoute } from '../../lib/promotion/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(startPromotionRoute, async (params, ctx) => {
    if (!ctx.principal) throw new ForbiddenError('a promotion needs an authenticated caller');
    const { promotion, statusCode } = await startPromotion(ctx.tenant, params, proposerOf(ctx.principal), promotionDeps());
    ctx.log(
      `promotion ${promotion.promotionId}: ${promotion.component} ${promotion.release} → ${promotion.stage} (${promotion.status}, ${promotion.route})`,
    );
    return { result: promotion, statusCode };
  }),
  route(abortPromotionRoute, async (params, ctx) => {
    if (!ctx.principal) throw new ForbiddenError('an abort needs an authenticated caller');
    const promotion = await abortPromotion(
      ctx.tenant,
      params,
      { id: ctx.principal.subject, roles: ctx.principal.roles },
      { ...promotionDeps(), withdrawal: withdrawDeps(ctx.now()) },
    );
    ctx.log(`promotion ${promotion.promotionId} aborted: ${promotion.status}`);
    return { result: promotion };
  }),
);
