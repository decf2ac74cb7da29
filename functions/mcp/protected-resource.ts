/** GET /.well-known/oauth-protected-resource: the MCP endpoint's RFC 9728 metadata (public, not enveloped). */
import { config } from '../../lib/config.ts';
import { protectedResourceHandler } from '../../lib/mcp/http.ts';

const cfg = config();

export const handler = protectedResourceHandler({
  ...(cfg.AUTH_ISSUER ? { issuer: cfg.AUTH_ISSUER } : {}),
  scopes: cfg.MCP_SCOPES.split(/[\s,]+/).filter(Boolean),
});
