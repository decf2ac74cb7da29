/** /execution/undo: restore what a succeeded run changed (once), then read it back. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { executionDeps } from '../../lib/adapters/aws/execution-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { undo } from '../../lib/execution/engine.ts';
import { undoRunRoute } from '../../lib/execution/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(undoRunRoute, async (params, ctx) => {
    const { version: _version, ...shown } = await undo(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', executionDeps());
    ctx.log(`undo of ${shown.executionId}: ${shown.undo?.status ?? 'not run'}`);
    return { status: shown.undo?.status === 'succeeded' ? 'success' : 'failure', result: shown };
  }),
);
