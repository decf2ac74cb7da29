/** PUT /migration/pools: the tenant's pool catalogue (operators, admins). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { migrationDeps } from '../../lib/adapters/aws/migration-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { putPools } from '../../lib/migration/engine.ts';
import { putPoolsRoute } from '../../lib/migration/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(putPoolsRoute, async (params, ctx) => {
    const catalogue = await putPools(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', migrationDeps());
    ctx.log(`pool catalogue v${catalogue.version}: ${catalogue.pools.length} pools`);
    return { result: { pools: catalogue.pools.length, version: catalogue.version } };
  }),
);
