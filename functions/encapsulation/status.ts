/** GET /encapsulation/status: the tenant's latest analysis. */
import { encapsulationStore } from '../../lib/adapters/aws/encapsulation-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { latestAnalysis } from '../../lib/encapsulation/engine.ts';
import { statusRoute } from '../../lib/encapsulation/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(statusRoute, async (_params, ctx) => ({ result: await latestAnalysis(ctx.tenant, encapsulationStore()) })),
);
