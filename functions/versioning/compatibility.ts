/** GET /versioning/compatibility: which consumer versions of an artifact accept which producer versions. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { versioningStore } from '../../lib/adapters/aws/versioning-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { artifactCompatibility } from '../../lib/versioning/engine.ts';
import { compatibilityRoute } from '../../lib/versioning/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(compatibilityRoute, async (params, ctx) => ({
    result: await artifactCompatibility(ctx.tenant, params.artifact, { store: versioningStore() }),
  })),
);
