/** POST /compression/feedback: whether a later answer was found after a compression; every 20 reports start a run of Loop 3. */
import { compressionDeps } from '../../lib/adapters/aws/compression-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { recordFeedback } from '../../lib/compression/engine.ts';
import { feedbackRoute } from '../../lib/compression/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(feedbackRoute, async (params, ctx) => {
    const outcome = await recordFeedback(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', compressionDeps(ctx.now(), true));
    if (outcome.loop?.started) ctx.log(`compression loop ${outcome.loop.execution} started`);
    else if (outcome.loop)
      ctx.log(`compression loop ${outcome.loop.execution} not started (the schedule starts it): ${outcome.loop.error}`);
    return { result: outcome };
  }),
);
