/** POST /observation/ingest: one point or a batch; bad points come back by index, good ones are kept. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { observationDeps } from '../../lib/adapters/aws/observation-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { ingest } from '../../lib/observation/ingest.ts';
import { ingestRoute } from '../../lib/observation/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(ingestRoute, async (params, ctx) => {
    const report = await ingest(ctx.tenant, params.points ?? [params.point], observationDeps(ctx.log));
    if (report.rejected.length > 0) ctx.log(`${report.rejected.length} point(s) rejected; see result.rejected`);
    return { status: report.accepted > 0 ? 'success' : 'failure', result: report };
  }),
);
