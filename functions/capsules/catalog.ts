/** GET /capsules/catalog: search the marketplace, list a capsule's versions, read one with its review record; each capsule with its success record. */
import { capsuleStore } from '../../lib/adapters/aws/capsule-deps.ts';
import { runStore } from '../../lib/adapters/aws/capsule-run-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { readCatalog } from '../../lib/capsules/marketplace.ts';
import { catalogRoute } from '../../lib/capsules/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(catalogRoute, async (params, ctx) => ({
    result: await readCatalog(ctx.tenant, params, capsuleStore(), (name) => runStore().record(name)),
  })),
);
