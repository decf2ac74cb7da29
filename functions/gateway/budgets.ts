/** /gateway/budgets: the tenant's token and cost budget per window (admin). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { gatewayBudgets } from '../../lib/adapters/aws/gateway-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { budgetFromInput, usageView } from '../../lib/gateway/budgets.ts';
import { putBudgetRoute } from '../../lib/gateway/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(putBudgetRoute, async (params, ctx) => {
    const { resumed } = await gatewayBudgets().putBudget(ctx.tenant, budgetFromInput(params), ctx.principal?.subject ?? 'unknown');
    ctx.log(
      `budget: ${params.tokens} tokens, ${params.costUsd} USD per ${params.window}${resumed ? '; the pause of this window is lifted' : ''}`,
    );
    return { result: usageView(await gatewayBudgets().usage(ctx.tenant)) };
  }),
);
