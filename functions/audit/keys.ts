/** /audit/keys: the caller tenant's published checkpoint keys (GET) and rotation of its own key (POST, its admins). */
import { auditKeyStores, auditState, settleLegacyKeys } from '../../lib/adapters/aws/audit-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { rotateTenantKey, tenantKeySet } from '../../lib/audit/keys.ts';
import { keysRoute, rotateKeysRoute } from '../../lib/audit/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(keysRoute, async (_params, ctx) => ({ result: await tenantKeySet(auditState().publishedKeys, ctx.tenant) })),
  route(rotateKeysRoute, async (_params, ctx) => {
    await settleLegacyKeys(ctx.now());
    const stores = auditKeyStores();
    const { key, retired } = await rotateTenantKey(stores, ctx.tenant, { now: () => ctx.now() });
    ctx.log(retired === undefined ? `first signing key ${key.keyId} created` : `key ${retired} retired; ${key.keyId} signs from now on`);
    const { keys } = await tenantKeySet(stores.published, ctx.tenant);
    return { result: { activeKeyId: key.keyId, ...(retired === undefined ? {} : { retiredKeyId: retired }), keys } };
  }),
);
