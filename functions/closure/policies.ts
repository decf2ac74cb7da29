/** PUT /closure/policies: the tenant's lifecycle policy (admins). */
import { closureDeps } from '../../lib/adapters/aws/closure-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { putPolicy } from '../../lib/closure/engine.ts';
import { policiesRoute } from '../../lib/closure/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(policiesRoute, async (params, ctx) => ({
    result: await putPolicy(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', closureDeps(ctx.now())),
  })),
);
