/** POST /audit/checkpoint: signs a checkpoint of a stream now, when it grew since the last one. */
import { checkpointDeps } from '../../lib/adapters/aws/audit-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { checkpointStream } from '../../lib/audit/engine.ts';
import { checkpointRoute } from '../../lib/audit/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(checkpointRoute, async (params, ctx) => {
    const outcome = await checkpointStream(checkpointDeps(() => ctx.now()), { tenant: ctx.tenant, stream: params.stream });
    ctx.log(outcome.created ? `signed at tree size ${outcome.checkpoint?.treeSize}` : 'nothing new to sign');
    return {
      statusCode: outcome.created ? 201 : 200,
      result: { created: outcome.created, size: outcome.size, checkpoint: outcome.checkpoint ?? null, key: outcome.key ?? null },
    };
  }),
);
