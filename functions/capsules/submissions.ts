/**
 * POST /capsules/submissions: a signed bundle through the automated review; a bundle that passes is
 * stored by content hash and waits for a reviewer's approval (202), a refused one answers with the
 * exact reason and nothing is stored or published.
 */
import { callerOf, submitDeps } from '../../lib/adapters/aws/capsule-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { submitCapsule } from '../../lib/capsules/marketplace.ts';
import { submitRoute } from '../../lib/capsules/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(submitRoute, async (params, ctx) => {
    const { version, ledger } = await submitCapsule(ctx.tenant, params, callerOf(ctx.principal), submitDeps(ctx.now()));
    ctx.log(
      `${version.name} ${version.version}: review passed, ${version.status}${version.approvalId ? ` (approval ${version.approvalId})` : ''}`,
    );
    const pending = version.status === 'in-review';
    return { status: pending ? 'pending' : 'success', statusCode: pending ? 202 : 200, result: version, ...(ledger ? { ledger } : {}) };
  }),
);
