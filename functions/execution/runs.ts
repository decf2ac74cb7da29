/**
 * /execution/runs: run an approved proposal through an executor binding (POST; `dryRun` plans only)
 * and read a run (GET). The actor is the caller's identity from its credentials.
 */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { executionDeps } from '../../lib/adapters/aws/execution-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { NotFoundError } from '../../lib/errors.ts';
import { planRun, run } from '../../lib/execution/engine.ts';
import { getRunRoute, startRunRoute } from '../../lib/execution/routes.ts';
import type { Run } from '../../lib/execution/schemas.ts';

const view = ({ version: _version, ...shown }: Run) => shown;

export const handler = engineHandler(
  engineDeps(),
  route(startRunRoute, async (params, ctx) => {
    const tenant = ctx.tenant;
    if (params.dryRun) {
      const planned = await planRun(tenant, params, executionDeps());
      ctx.log(`dry run of ${planned.executionId}: ${planned.plan.changes.join('; ') || 'no change'}`);
      return { result: { ...planned, dryRun: true as const } };
    }
    const { run: done, replayed } = await run(tenant, params, ctx.principal?.subject ?? 'unknown', executionDeps());
    ctx.log(`${done.executionId}: ${done.status}${replayed ? ' (ran before; nothing acted now)' : ''}`);
    return { status: done.status === 'succeeded' ? 'success' : 'failure', result: { ...view(done), replayed }, ...(done.ledger ? { ledger: done.ledger } : {}) };
  }),
  route(getRunRoute, async (params, ctx) => {
    const found = await executionDeps().runs.get(ctx.tenant, params.executionId);
    if (!found) throw new NotFoundError(`Execution ${params.executionId} not found`);
    return { result: view(found) };
  }),
);
