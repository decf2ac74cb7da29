/** POST /mcp: the MCP endpoint (GET and DELETE: 405). Tools are the engine routes; a call runs the route's own function. */
import { mcpDeps } from '../../lib/adapters/aws/mcp-deps.ts';
import { mcpHandler } from '../../lib/mcp/http.ts';

export const handler = mcpHandler(mcpDeps());
