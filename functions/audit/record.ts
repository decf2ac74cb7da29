/** POST /audit/record: appends a record from an outside system to one of the tenant's streams. */
import { recordDeps } from '../../lib/adapters/aws/audit-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { record } from '../../lib/audit/engine.ts';
import { recordRoute } from '../../lib/audit/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(recordRoute, async (params, ctx) => {
    const entry = await record(recordDeps(), {
      tenant: ctx.tenant,
      stream: params.stream,
      timestamp: ctx.now().toISOString(),
      actor: ctx.principal?.subject ?? '',
      correlationId: ctx.correlationId,
      payload: params.payload,
    });
    ctx.log(`appended ${entry.stream}#${entry.seq}`);
    return {
      statusCode: 201,
      ledger: { tenant: entry.tenant, stream: entry.stream, seq: entry.seq },
      result: { stream: entry.stream, seq: entry.seq, hash: entry.hash, payloadHash: entry.payloadHash, timestamp: entry.timestamp },
    };
  }),
);
