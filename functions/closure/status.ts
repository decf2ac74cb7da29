/** GET /closure/status: the tenant's terminations, or one. */
import { closureStore } from '../../lib/adapters/aws/closure-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { terminationStatus } from '../../lib/closure/engine.ts';
import { statusRoute } from '../../lib/closure/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(statusRoute, async (params, ctx) => ({ result: await terminationStatus(ctx.tenant, params, closureStore()) })),
);
