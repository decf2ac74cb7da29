/** /execution/webhook-key: the tenant's webhook signing key, for the receivers that verify its webhooks (admin). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { webhookKeys } from '../../lib/adapters/aws/execution-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { webhookKeyRoute } from '../../lib/execution/routes.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../lib/execution/webhook.ts';

export const handler = engineHandler(
  engineDeps(),
  route(webhookKeyRoute, async (_params, ctx) => ({
    result: { key: await webhookKeys().signingKey(ctx.tenant), algorithm: 'HMAC-SHA256' as const, signatureHeader: SIGNATURE_HEADER, timestampHeader: TIMESTAMP_HEADER },
  })),
);
