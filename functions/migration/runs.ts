/** /migration/runs: run a stored plan through the migration state machine (POST, 202) and cancel a pending run, withdrawing its proposal (DELETE). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { gateWaitDeps } from '../../lib/adapters/aws/gate-waits.ts';
import { withdrawDeps } from '../../lib/adapters/aws/governance-deps.ts';
import { migrationDeps, runStarter } from '../../lib/adapters/aws/migration-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { cancelRun, startRun } from '../../lib/migration/engine.ts';
import { cancelRunRoute, startRunRoute } from '../../lib/migration/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(startRunRoute, async (params, ctx) => {
    const run = await startRun(ctx.tenant, params.planId, ctx.principal?.subject ?? 'unknown', {
      ...migrationDeps(),
      starter: runStarter(),
    });
    ctx.log(`run ${run.runId} of plan ${run.planId} started`);
    return { result: { run }, statusCode: 202 };
  }),
  route(cancelRunRoute, async (params, ctx) => {
    const canceller = { actor: ctx.principal?.subject ?? 'unknown', roles: ctx.principal?.roles ?? [] };
    const run = await cancelRun(ctx.tenant, params.runId, canceller, {
      ...migrationDeps(),
      gate: gateWaitDeps(ctx.now()),
      withdrawal: withdrawDeps(ctx.now()),
    });
    ctx.log(`run ${run.runId} cancelled`);
    return { result: { run } };
  }),
);
