/**
 * /capsules/plans: start a KAMACHIQ plan (POST), list the tenant's plans or read one (GET), cancel
 * one (DELETE). The plan runs as statemachines/capsule-plan.asl.json.
 */
import { callerOf } from '../../lib/adapters/aws/capsule-deps.ts';
import { planDeps, planStore } from '../../lib/adapters/aws/capsule-plan-store.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { cancelPlan, readPlans, submitPlan } from '../../lib/capsules/plan-steps.ts';
import { cancelPlanRoute, getPlansRoute, submitPlanRoute } from '../../lib/capsules/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(submitPlanRoute, async (params, ctx) => {
    const plan = await submitPlan(callerOf(ctx.principal), params, planDeps());
    ctx.log(`plan ${plan.planId}: ${plan.nodes.length} nodes in ${plan.layers.length} layers`);
    return { result: plan, statusCode: 202 };
  }),
  route(getPlansRoute, async (params, ctx) => ({ result: await readPlans(ctx.tenant, params, planStore()) })),
  route(cancelPlanRoute, async (params, ctx) => ({ result: await cancelPlan(callerOf(ctx.principal), params, planDeps()) })),
);
