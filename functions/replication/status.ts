/** GET /replication/status: a component's counts, stabilisation window, decisions and forecasts. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { proposalsOf, replicationStore, seriesPoints } from '../../lib/adapters/aws/replication-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { replicationStatus } from '../../lib/replication/engine.ts';
import { statusRoute } from '../../lib/replication/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(statusRoute, async (params, ctx) => {
    const status = await replicationStatus(ctx.tenant, params.component, {
      store: replicationStore(),
      series: seriesPoints(),
      proposals: proposalsOf(),
      now: () => ctx.now(),
    });
    return { result: status };
  }),
);
