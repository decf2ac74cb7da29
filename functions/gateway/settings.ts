/** /gateway/settings: the tenant's PII modes, context limit and conversation-log retention. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { gatewaySettings } from '../../lib/adapters/aws/gateway-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { getSettingsRoute, putSettingsRoute } from '../../lib/gateway/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(getSettingsRoute, async (_params, ctx) => ({ result: await gatewaySettings().get(ctx.tenant) })),
  route(putSettingsRoute, async (params, ctx) => {
    await gatewaySettings().put(ctx.tenant, params);
    ctx.log(
      `settings: PII input ${params.piiInput}, output ${params.piiOutput}, logs ${params.piiLog}; context ${params.contextTokens} tokens; logs kept ${params.retentionDays} days`,
    );
    return { result: params };
  }),
);
