/** /evolution/config: a service's declared arms, reward, bounds and autonomy (GET), declared or replaced (PUT, operators and admins). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { evolutionStore } from '../../lib/adapters/aws/evolution-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { NotFoundError } from '../../lib/errors.ts';
import { putServiceConfig } from '../../lib/evolution/engine.ts';
import { getConfigRoute, putConfigRoute } from '../../lib/evolution/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(getConfigRoute, async (params, ctx) => {
    const stored = await evolutionStore().service(ctx.tenant, params.service);
    if (!stored) throw new NotFoundError(`Service ${params.service} has no Evolution configuration`);
    const { tenant: _tenant, ...view } = stored;
    return { result: view };
  }),
  route(putConfigRoute, async (params, ctx) => {
    const { tenant: _tenant, ...view } = await putServiceConfig(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', {
      store: evolutionStore(),
      now: () => ctx.now(),
    });
    ctx.log(`${params.service} v${view.version}: ${params.arms.length} arms, current ${params.current}, autonomy ${params.autonomy}`);
    return { result: view };
  }),
);
