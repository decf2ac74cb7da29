/** POST /evolution/decide: the bounded Thompson split for a service, proposed to governance and recorded in the ledger. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { evolutionDeps } from '../../lib/adapters/aws/evolution-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { makeDecision } from '../../lib/evolution/engine.ts';
import { decideRoute } from '../../lib/evolution/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(decideRoute, async (params, ctx) => {
    const started = performance.now();
    const { decision, ledger } = await makeDecision(ctx.tenant, params, evolutionDeps(ctx.now()));
    ctx.log(
      `decision ${decision.seq}: primary ${decision.primary}, ${decision.change}${decision.proposalId ? ` (proposal ${decision.proposalId}, ${decision.proposalStatus})` : ''}; sampling ${decision.decisionMs} ms, whole decision ${Math.round(performance.now() - started)} ms`,
    );
    const { tenant: _tenant, ...view } = decision;
    return { result: view, ...(ledger ? { ledger } : {}) };
  }),
);
