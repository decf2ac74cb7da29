/** /gateway/budgets: the tenant's token and cost budget per window (admin). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { gatewayBudgets, pausePublisher } from '../../lib/adapters/aws/gateway-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { budgetFromInput, usageView } from '../../lib/gateway/budgets.ts';
import { putBudgetRoute } from '../../lib/gateway/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(putBudgetRoute, async (params, ctx) => {
    const actor = ctx.principal?.subject ?? 'unknown';
    const { resumed, paused } = await gatewayBudgets().putBudget(ctx.tenant, budgetFromInput(params), actor);
    // Lowered to (or under) what was spent: the pause is published now, not left to the sweep's grace period.
    if (paused) await pausePublisher()(paused, actor, ctx.correlationId);
    ctx.log(
      `budget: ${params.tokens} tokens, ${params.costUsd} USD per ${params.window}${resumed ? '; the pause of this window is lifted' : ''}${paused ? '; spending already reaches it: the tenant is paused' : ''}`,
    );
    return { result: usageView(await gatewayBudgets().usage(ctx.tenant)) };
  }),
);
