/** POST /migration/plans: a placement planned as ordered steps, stored with its hash and proposed to governance by the caller. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { proposalDeps } from '../../lib/adapters/aws/governance-deps.ts';
import { migrationDeps } from '../../lib/adapters/aws/migration-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { ForbiddenError } from '../../lib/errors.ts';
import { proposerOf } from '../../lib/governance/proposer.ts';
import { createPlan } from '../../lib/migration/engine.ts';
import { createPlanRoute } from '../../lib/migration/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(createPlanRoute, async (params, ctx) => {
    if (!ctx.principal) throw new ForbiddenError('a plan needs an authenticated caller');
    const { now: _now, newId: _newId, ...governance } = proposalDeps(new Date());
    const plan = await createPlan(ctx.tenant, params, proposerOf(ctx.principal), { ...migrationDeps(), governance });
    ctx.log(`plan ${plan.planId}: ${plan.objective.moves} moves, ${plan.steps.length} steps, proposal ${plan.proposalId ?? 'none'}`);
    return { result: { plan } };
  }),
);
