/** /audit/keys: the published checkpoint keys (GET) and key rotation (POST, admins). */
import { auditKeyRing, auditState } from '../../lib/adapters/aws/audit-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { publishedKeys, publishKeyRing, rotateSigningKey } from '../../lib/audit/keys.ts';
import { keysRoute, rotateKeysRoute } from '../../lib/audit/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(keysRoute, async () => ({ result: (await auditState().publishedKeys.get())?.keys ?? { keys: [] } })),
  route(rotateKeysRoute, async (_params, ctx) => {
    const { key, ring, retired } = await rotateSigningKey(auditKeyRing(), { now: () => ctx.now() });
    await publishKeyRing(ring, auditState().publishedKeys);
    ctx.log(retired === undefined ? `first signing key ${key.keyId} created` : `key ${retired} retired; ${key.keyId} signs from now on`);
    return { result: { activeKeyId: key.keyId, ...(retired === undefined ? {} : { retiredKeyId: retired }), keys: publishedKeys(ring).keys } };
  }),
);
