/** GET /audit/verify: walks a stored stream (chain, payloads, checkpoints) and reports intact or the first bad seq. */
import { readDeps } from '../../lib/adapters/aws/audit-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { verifyStored } from '../../lib/audit/engine.ts';
import { verifyRoute } from '../../lib/audit/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(verifyRoute, async (params, ctx) => {
    const result = await verifyStored(readDeps(), { tenant: ctx.tenant, stream: params.stream });
    ctx.log(result.intact ? `intact: ${result.entries} entries, ${result.checkpoints} checkpoints` : `broken at seq ${result.firstBadSeq}: ${result.reason}`);
    return { status: result.intact ? 'success' : 'failure', result };
  }),
);
