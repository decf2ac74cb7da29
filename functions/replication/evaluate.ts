/** POST /replication/evaluate: metrics in, a scaling decision out (proposed, and run once approved). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { replicationDeps } from '../../lib/adapters/aws/replication-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { evaluateComponent } from '../../lib/replication/engine.ts';
import { evaluateRoute } from '../../lib/replication/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(evaluateRoute, async (params, ctx) => {
    // The gate's L3 validation is awaited while the function has time for it (the rest is left pending).
    const deps = { ...replicationDeps(), gateWaitMs: Math.max(0, Math.min(20_000, ctx.remainingMs() - 6_000)) };
    const outcome = await evaluateComponent(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', deps);
    const { decision } = outcome;
    ctx.log(`${outcome.component}: ${decision.current} → ${decision.desired} (${decision.status}) in ${decision.decisionMs} ms`);
    return {
      result: {
        component: outcome.component,
        decision,
        ...(outcome.settled && outcome.settled.decisionId !== decision.decisionId ? { settled: outcome.settled } : {}),
      },
    };
  }),
);
