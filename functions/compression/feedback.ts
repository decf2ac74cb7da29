/** POST /compression/feedback: whether a later answer was found after a compression (Loop 3); the tuner steps the settings. */
import { compressionDeps } from '../../lib/adapters/aws/compression-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { recordFeedback } from '../../lib/compression/engine.ts';
import { feedbackRoute } from '../../lib/compression/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(feedbackRoute, async (params, ctx) => {
    const outcome = await recordFeedback(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', compressionDeps(ctx.now()));
    if (outcome.changes.length > 0) ctx.log(`compression tuned: ${outcome.changes.join('; ')}`);
    return { result: outcome };
  }),
);
