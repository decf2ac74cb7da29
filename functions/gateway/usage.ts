/** /gateway/usage: the tenant's spending in its current window against its budget. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { gatewayBudgets } from '../../lib/adapters/aws/gateway-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { usageView } from '../../lib/gateway/budgets.ts';
import { usageRoute } from '../../lib/gateway/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(usageRoute, async (_params, ctx) => ({ result: usageView(await gatewayBudgets().usage(ctx.tenant)) })),
);
