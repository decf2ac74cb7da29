/** /reflex/components: the tenant's component registry (GET), replaced whole (PUT, operators and admins). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { registryStore } from '../../lib/adapters/aws/reflex-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { findCycles, replaceRegistry } from '../../lib/reflex/registry.ts';
import { getComponentsRoute, putComponentsRoute } from '../../lib/reflex/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(getComponentsRoute, async (_params, ctx) => {
    const { tenant: _tenant, ...registry } = await registryStore().registry(ctx.tenant);
    return { result: { ...registry, cycles: findCycles(registry.components) } };
  }),
  route(putComponentsRoute, async (params, ctx) => {
    const replaced = await replaceRegistry(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', {
      store: registryStore(),
      now: ctx.now(),
    });
    ctx.log(
      `registry generation ${replaced.generation}: ${replaced.count} components, ${replaced.removed.length} removed, ${replaced.cycles.length} cycles`,
    );
    return { result: replaced };
  }),
);
