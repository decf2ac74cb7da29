/**
 * POST /observation/ingest: one point or a batch; bad points come back by index, good ones are kept.
 * The work runs against the function's remaining time: what could not be applied in time comes back
 * as a 503 with Retry-After and the result so far (`unprocessed`), never as a timeout.
 */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { observationDeps } from '../../lib/adapters/aws/observation-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { DEFAULT_DEPENDENCY_RETRY_AFTER_SECONDS } from '../../lib/errors.ts';
import { ingest } from '../../lib/observation/ingest.ts';
import { ingestRoute } from '../../lib/observation/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(ingestRoute, async (params, ctx) => {
    const report = await ingest(ctx.tenant, params.points ?? [params.point], { ...observationDeps(ctx.log), remainingMs: ctx.remainingMs });
    if (report.rejected.length > 0) ctx.log(`${report.rejected.length} point(s) rejected; see result.rejected`);
    if (report.unprocessed.length > 0) {
      ctx.log(
        `${report.unprocessed.length} point(s) not applied yet (result.unprocessed); retry the request, applied points come back as duplicates`,
      );
      return {
        status: 'failure',
        statusCode: 503,
        headers: { 'retry-after': String(DEFAULT_DEPENDENCY_RETRY_AFTER_SECONDS) },
        result: report,
      };
    }
    return { status: report.accepted > 0 ? 'success' : 'failure', result: report };
  }),
);
