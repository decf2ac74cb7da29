/** POST /closure/terminations: validate, plan and propose the termination of a component or capsule (202). */
import { closureDeps } from '../../lib/adapters/aws/closure-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { requestTermination } from '../../lib/closure/engine.ts';
import { terminationsRoute } from '../../lib/closure/routes.ts';
import { ForbiddenError } from '../../lib/errors.ts';
import { proposerOf } from '../../lib/governance/proposer.ts';

export const handler = engineHandler(
  engineDeps(),
  route(terminationsRoute, async (params, ctx) => {
    if (!ctx.principal) throw new ForbiddenError('A termination needs an authenticated caller');
    const reply = await requestTermination(ctx.tenant, params, proposerOf(ctx.principal), closureDeps(ctx.now()));
    ctx.log(
      `${params.target}: ${reply.termination.plan.order.length} component(s), ${reply.termination.plan.steps.length} steps, proposal ${reply.proposal.proposalId} ${reply.proposal.status}`,
    );
    return { statusCode: 202, result: reply };
  }),
);
