/** GET /versioning/promotable: whether a version may be promoted, and why not. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { versioningDeps } from '../../lib/adapters/aws/versioning-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { promotable } from '../../lib/versioning/engine.ts';
import { promotableRoute } from '../../lib/versioning/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(promotableRoute, async (params, ctx) => ({
    result: await promotable(ctx.tenant, params.artifact, params.version, versioningDeps(ctx.now())),
  })),
);
