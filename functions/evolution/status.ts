/** GET /evolution/status: a service's arms, posteriors, current split and regret estimate. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { evolutionStore } from '../../lib/adapters/aws/evolution-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { serviceStatus } from '../../lib/evolution/engine.ts';
import { statusRoute } from '../../lib/evolution/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(statusRoute, async (params, ctx) => ({ result: await serviceStatus(ctx.tenant, params.service, { store: evolutionStore() }) })),
);
