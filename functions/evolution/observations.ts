/** POST /evolution/observations: request outcomes added to the service's arms' statistics, atomically. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { evolutionStore } from '../../lib/adapters/aws/evolution-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { recordObservations } from '../../lib/evolution/engine.ts';
import { postObservationsRoute } from '../../lib/evolution/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(postObservationsRoute, async (params, ctx) => ({
    result: await recordObservations(ctx.tenant, params, { store: evolutionStore() }),
  })),
);
