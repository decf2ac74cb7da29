/**
 * /capsules/runs: run an installed capsule to its end (POST), list the tenant's runs or read one (GET).
 */
import { callerOf } from '../../lib/adapters/aws/capsule-deps.ts';
import { runDeps, runStore } from '../../lib/adapters/aws/capsule-run-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { listRunsRoute, startRunRoute } from '../../lib/capsules/routes.ts';
import { readRuns, startRun } from '../../lib/capsules/runs.ts';

export const handler = engineHandler(
  engineDeps(),
  route(startRunRoute, async (params, ctx) => {
    const caller = callerOf(ctx.principal);
    const deps = await runDeps(caller, ctx.now());
    try {
      const run = await startRun(ctx.tenant, caller.subject, params, deps);
      ctx.log(`${run.name} ${run.version} run ${run.runId}: ${run.outcome}`);
      return {
        result: run,
        ...(run.outcome === 'completed' ? {} : { status: run.outcome === 'pending-approval' ? 'pending' : 'failure' }),
      };
    } finally {
      await deps.close();
    }
  }),
  route(listRunsRoute, async (params, ctx) => {
    const { runs } = await readRuns(ctx.tenant, params, runStore());
    return { result: { runs, ...(params.name ? { record: await runStore().record(params.name) } : {}) } };
  }),
);
