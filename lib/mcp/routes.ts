/**
 * The MCP engine's routes: the protocol endpoint (`POST /mcp`; `GET` and `DELETE` answer 405, a
 * stateless server has no stream to offer and no session to end) and its OAuth protected-resource
 * metadata (public). Their bodies are JSON-RPC messages and JSON documents, not the API's envelopes.
 */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';

/** Where the MCP endpoint is served. */
export const MCP_PATH = '/mcp';
/** Where the protected-resource metadata is served (RFC 9728 §3, at the host's root). */
export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';
/** What calling the MCP endpoint needs: every role reads; what a caller may do is each tool's route's permission. */
export const MCP_PERMISSION = 'mcp:read';

/** A JSON-RPC 2.0 message as MCP sends it (one per request: MCP 2025-06-18 and later have no batches). */
export const jsonRpcMessageSchema = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: z
      .union([z.string().max(256), z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER)])
      .optional()
      .describe('Absent on notifications'),
    method: z.string().max(256).optional().describe('initialize, ping, tools/list, tools/call, notifications/…'),
    params: z.record(z.string().max(256), z.unknown()).optional(),
    result: z.record(z.string().max(256), z.unknown()).optional().describe('A reply of the client to a request of the server'),
    error: z
      .object({
        code: z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
        message: z.string().max(2000),
        data: z.unknown().optional(),
      })
      .optional(),
  })
  .describe('One JSON-RPC 2.0 message');

/** POST /mcp: one MCP message, answered with one JSON-RPC reply (202 and no body for notifications). */
export const mcpRoute = defineRoute({
  engine: 'mcp',
  action: 'server',
  path: MCP_PATH,
  method: 'POST',
  permission: MCP_PERMISSION,
  summary:
    'The MCP endpoint (Streamable HTTP, stateless, JSON replies; revisions 2025-06-18 and 2025-11-25): initialize, ping, tools/list (your tools), tools/call (a route, as over HTTP)',
  parameters: jsonRpcMessageSchema,
  result: jsonRpcMessageSchema,
  rawContentType: 'application/json',
  rawRequestContentType: 'application/json',
});

/** GET /mcp: 405 (no SSE stream on a stateless server). */
export const mcpStreamRoute = defineRoute({
  engine: 'mcp',
  action: 'server',
  path: MCP_PATH,
  method: 'GET',
  permission: MCP_PERMISSION,
  summary: 'Answers 405: a stateless MCP server offers no SSE stream',
  parameters: z.object({}),
  result: z.object({}),
});

/** DELETE /mcp: 405 (no session to end on a stateless server). */
export const mcpSessionRoute = defineRoute({
  engine: 'mcp',
  action: 'server',
  path: MCP_PATH,
  method: 'DELETE',
  permission: MCP_PERMISSION,
  summary: 'Answers 405: a stateless MCP server has no session to end',
  parameters: z.object({}),
  result: z.object({}),
});

/** GET /.well-known/oauth-protected-resource: RFC 9728 metadata of the MCP endpoint. */
export const protectedResourceRoute = defineRoute({
  engine: 'mcp',
  action: 'protected-resource',
  path: PROTECTED_RESOURCE_PATH,
  method: 'GET',
  permission: 'public',
  summary:
    'OAuth 2.0 protected-resource metadata (RFC 9728) of the MCP endpoint: the resource, its authorization server, bearer methods and scopes',
  parameters: z.object({}),
  result: z.object({
    resource: z.string().max(2048),
    authorization_servers: z.array(z.string().max(2048)).max(8).optional(),
    bearer_methods_supported: z.array(z.string().max(32)).max(4),
    scopes_supported: z.array(z.string().max(256)).max(64),
    resource_name: z.string().max(256),
    resource_documentation: z.string().max(2048),
  }),
  rawContentType: 'application/json',
});
