/** GET /compression/status: the tenant's compression settings and recent effectiveness. */
import { compressionStore } from '../../lib/adapters/aws/compression-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { compressionStatus } from '../../lib/compression/engine.ts';
import { statusRoute } from '../../lib/compression/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(statusRoute, async (_params, ctx) => ({ result: await compressionStatus(ctx.tenant, compressionStore()) })),
);
