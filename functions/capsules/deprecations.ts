/** PUT /capsules/deprecations: the owning tenant's admin deprecates a published version. */
import { callerOf, marketplaceDeps } from '../../lib/adapters/aws/capsule-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { deprecateVersion } from '../../lib/capsules/marketplace.ts';
import { deprecateRoute } from '../../lib/capsules/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(deprecateRoute, async (params, ctx) => {
    const { version, ledger } = await deprecateVersion(ctx.tenant, params, callerOf(ctx.principal), marketplaceDeps(ctx.now()));
    ctx.log(`${version.name} ${version.version} deprecated`);
    return { result: version, ...(ledger ? { ledger } : {}) };
  }),
);
