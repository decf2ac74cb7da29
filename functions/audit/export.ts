/** GET /audit/export: a stream range as JSON Lines (entries, payloads, checkpoints, proofs). */
import { readDeps } from '../../lib/adapters/aws/audit-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { exportStored } from '../../lib/audit/engine.ts';
import { exportRoute } from '../../lib/audit/routes.ts';

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
);
