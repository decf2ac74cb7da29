/** GET /migration/status: the tenant's pools, plans and runs with each step's state, or one plan or run. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { migrationStore } from '../../lib/adapters/aws/migration-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { migrationStatus } from '../../lib/migration/engine.ts';
import { statusRoute } from '../../lib/migration/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(statusRoute, async (params, ctx) => ({ result: await migrationStatus(ctx.tenant, params, { store: migrationStore() }) })),
);
