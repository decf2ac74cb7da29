/** POST /encapsulation/analyse: analyse the tenant's components (registry and traces, or an explicit graph). */
import { encapsulationDeps } from '../../lib/adapters/aws/encapsulation-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { analyse } from '../../lib/encapsulation/engine.ts';
import { analyseRoute } from '../../lib/encapsulation/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(analyseRoute, async (params, ctx) => {
    const analysis = await analyse(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', encapsulationDeps(ctx.now()));
    ctx.log(
      `${analysis.nodes} nodes, ${analysis.edges} edges, ${analysis.cycles.length} cycle(s), ${analysis.modules.length} module(s), modularity ${analysis.modularity}, in ${analysis.analysisMs} ms`,
    );
    return { result: analysis };
  }),
);
