/**
 * /capsules/authors: the tenant's author keys (GET), and an admin registering or revoking one (PUT),
 * each change recorded in the ledger.
 */
import { callerOf, capsuleStore, marketplaceDeps } from '../../lib/adapters/aws/capsule-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { changeAuthorKey } from '../../lib/capsules/marketplace.ts';
import { getAuthorsRoute, putAuthorRoute } from '../../lib/capsules/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(getAuthorsRoute, async (params, ctx) => ({
    result: { keys: (await capsuleStore().authorKeys(ctx.tenant, params.subject)).map(({ tenant: _tenant, ...key }) => key) },
  })),
  route(putAuthorRoute, async (params, ctx) => {
    const { key, ledger } = await changeAuthorKey(ctx.tenant, params, callerOf(ctx.principal), marketplaceDeps(ctx.now()));
    ctx.log(`author ${key.subject}: key ${key.keyId.slice(0, 12)}… ${key.status}`);
    return { result: key, ...(ledger ? { ledger } : {}) };
  }),
);
