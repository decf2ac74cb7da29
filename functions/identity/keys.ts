/** /identity/keys: create (POST), list (GET) and revoke (DELETE) the tenant's API keys. */
import { describeApiKey, mintApiKey } from '../../lib/auth/api-keys.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { engineDeps, stageAuthenticators } from '../../lib/adapters/aws/engine-deps.ts';
import { createKeyRoute, listKeysRoute, revokeKeyRoute } from '../../lib/identity/routes.ts';

const keys = () => stageAuthenticators().apiKeys;

export const handler = engineHandler(
  engineDeps(),
  route(createKeyRoute, async (params, ctx) => {
    const { apiKey, stored } = mintApiKey({ tenant: ctx.tenant, name: params.name, roles: params.roles, createdBy: ctx.principal?.subject ?? 'unknown', now: ctx.now() });
    await keys().create(stored);
    ctx.log(`API key ${stored.keyId} created with roles ${stored.roles.join(', ')}`);
    return { statusCode: 201, result: { ...describeApiKey(stored), apiKey } };
  }),
  route(listKeysRoute, async (_params, ctx) => ({ result: { keys: (await keys().list(ctx.tenant)).map(describeApiKey) } })),
  route(revokeKeyRoute, async (params, ctx) => ({ result: describeApiKey(await keys().revoke(ctx.tenant, params.keyId, ctx.now().toISOString())) })),
);
