/** POST /versioning/gate: a version's regression test-suite result, recorded in the ledger. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { versioningDeps } from '../../lib/adapters/aws/versioning-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { recordGate } from '../../lib/versioning/engine.ts';
import { gateRoute } from '../../lib/versioning/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(gateRoute, async (params, ctx) => {
    const { view, ledger } = await recordGate(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', versioningDeps(ctx.now()));
    return { result: view, ...(ledger ? { ledger } : {}) };
  }),
);
