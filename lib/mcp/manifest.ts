/**
 * The MCP engine: the engine actions as MCP tools for agents (lib/mcp/tools.ts), over the MCP
 * SDK's Streamable HTTP transport. `server` serves `/mcp`: it authenticates as every route does,
 * lists the caller's tools, and runs a `tools/call` by invoking the route's own function with the
 * caller's credentials (so every check of the HTTP path applies), recording each call in the
 * tenant's ledger (stream mcp.calls). `protected-resource` serves the RFC 9728 metadata.
 */
import { defineEngine, need } from '../engines/manifest.ts';
import { mcpRoute, mcpSessionRoute, mcpStreamRoute, protectedResourceRoute } from './routes.ts';

export const mcpEngine = defineEngine({
  name: 'mcp',
  description: 'The engine actions as MCP tools for agents, under the same identity, policies, approvals and audit as the HTTP API',
  actions: {
    server: {
      description:
        'POST /mcp: the MCP endpoint (stateless Streamable HTTP); tools/call invokes the route’s function with the caller’s credentials',
      routes: [mcpRoute, mcpStreamRoute, mcpSessionRoute],
      // A tools/call waits for the route it runs (most answer within the API's 10 s; a chat may take longer).
      timeout: 30,
      needs: [
        need.invokeRoutes(),
        // Each call in the ledger (the Audit engine's `record`): entries, the stream registry, payloads.
        need.table('ledger', ['PutItem', 'Query']),
        need.table('state', ['PutItem'], ['*#audit#streams']),
        need.objects('artifacts', ['PutObject', 'PutObjectTagging'], ['*/audit/payloads/*']),
      ],
    },
    'protected-resource': {
      description: 'GET /.well-known/oauth-protected-resource: where MCP clients learn how to get a token (RFC 9728)',
      routes: [protectedResourceRoute],
      memorySize: 256,
      needs: [],
    },
  },
});
