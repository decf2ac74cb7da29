/**
 * /audit/export: GET a stream range as JSON Lines (entries, payloads, checkpoints, proofs) in the
 * reply; POST a whole stream to the artifacts bucket in pages, a step per call (202 while running).
 */
import { exportDeps, readDeps } from '../../lib/adapters/aws/audit-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { exportStored } from '../../lib/audit/engine.ts';
import { runExport } from '../../lib/audit/export-job.ts';
import { exportRoute, exportToS3Route } from '../../lib/audit/routes.ts';
import { config } from '../../lib/config.ts';

export const handler = engineHandler(
  engineDeps(),
  route(exportRoute, async (params, ctx) => {
    const body = await exportStored(readDeps(), { tenant: ctx.tenant, stream: params.stream }, { from: params.from, to: params.to, now: ctx.now() });
    return {
      result: body,
      raw: { contentType: 'application/x-ndjson', body },
      headers: { 'content-disposition': `attachment; filename="${ctx.tenant}-${params.stream}.jsonl"` },
    };
  }),
  route(exportToS3Route, async (params, ctx) => {
    const status = await runExport(exportDeps(() => ctx.now()), { tenant: ctx.tenant, stream: params.stream }, params);
    ctx.log(`export ${status.exportId}: ${status.pagesWritten} of ${status.pages} pages written, ${status.status}`);
    return { status: status.status === 'running' ? 'pending' : 'success', result: { ...status, bucket: config().ARTIFACTS_BUCKET } };
  }),
);
