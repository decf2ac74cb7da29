/** /reflex/components: the tenant's component registry (GET), replaced whole (PUT, operators and admins). */

import { dynamoClient } from '../../lib/adapters/aws/clients.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { dynamoRegistryStore } from '../../lib/adapters/aws/reflex-store.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { config } from '../../lib/config.ts';
import { findCycles, replaceRegistry } from '../../lib/reflex/registry.ts';
import { getComponentsRoute, putComponentsRoute } from '../../lib/reflex/routes.ts';

// Built once per container; this function needs no governance (and so no Cedar).
const store = dynamoRegistryStore(dynamoClient(), config().STATE_TABLE);

export const handler = engineHandler(
  engineDeps(),
  route(getComponentsRoute, async (_params, ctx) => {
    const { tenant: _tenant, ...registry } = await store.registry(ctx.tenant);
    return { result: { ...registry, cycles: findCycles(registry.components) } };
  }),
  route(putComponentsRoute, async (params, ctx) => {
    const replaced = await replaceRegistry(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', {
      store,
      now: ctx.now(),
    });
    ctx.log(
      `registry generation ${replaced.generation}: ${replaced.count} components, ${replaced.removed.length} removed, ${replaced.cycles.length} cycles`,
    );
    return { result: replaced };
  }),
);
