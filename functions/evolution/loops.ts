/** /evolution/loops: start a run of the improvement loop (POST, 202) and read runs (GET). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { loopDeps } from '../../lib/adapters/aws/evolution-loop-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { loopStatus, startLoop } from '../../lib/evolution/loop.ts';
import { loopStatusRoute, startLoopRoute } from '../../lib/evolution/loop-routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(startLoopRoute, async (params, ctx) => {
    const { loop, statusCode } = await startLoop(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', loopDeps());
    ctx.log(`loop ${loop.loopId} of ${loop.service} started`);
    return { result: loop, statusCode };
  }),
  route(loopStatusRoute, async (params, ctx) => ({ result: await loopStatus(ctx.tenant, params, loopDeps()) })),
);
