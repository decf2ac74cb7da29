/** GET /audit/proof: inclusion proof of one entry against the latest signed checkpoint. */
import { auditCheckpoints, auditLedger } from '../../lib/adapters/aws/audit-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { proveInclusion } from '../../lib/audit/engine.ts';
import { proofRoute } from '../../lib/audit/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(proofRoute, async (params, ctx) => ({
    result: await proveInclusion({ ledger: auditLedger(), checkpoints: auditCheckpoints() }, { tenant: ctx.tenant, stream: params.stream }, params.seq),
  })),
);
