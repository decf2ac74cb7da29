/** /reflex/config: the tenant's self-repair settings (GET), changed field by field (PUT, operators and admins). */
import { dynamoClient } from '../../lib/adapters/aws/clients.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { dynamoLoopConfigStore } from '../../lib/adapters/aws/reflex-loop.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { config } from '../../lib/config.ts';
import { getConfigRoute, putConfigRoute } from '../../lib/reflex/routes.ts';
import { updateLoopConfig } from '../../lib/reflex/settings.ts';

const store = dynamoLoopConfigStore(dynamoClient(), config().STATE_TABLE);

export const handler = engineHandler(
  engineDeps(),
  route(getConfigRoute, async (_params, ctx) => ({ result: await store.loopConfig(ctx.tenant) })),
  route(putConfigRoute, async (params, ctx) => {
    const next = await updateLoopConfig(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', { store, now: ctx.now() });
    ctx.log(`self-repair settings v${next.version}: ${Object.keys(params).join(', ') || 'nothing'} changed`);
    return { result: next };
  }),
);
