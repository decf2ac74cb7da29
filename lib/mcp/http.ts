/**
 * The MCP endpoint as a Lambda function behind the HTTP API: the Streamable HTTP transport of the
 * MCP SDK (its Web-standard `Request`/`Response` transport, stateless, JSON replies) adapted to API
 * Gateway payload v2 events. Per request, in this order:
 *
 * 1. `Host` in the allowlist when one is set, and `Origin` absent, the API's own, or in the
 *    stage's allowlist; any other is 403 (DNS rebinding).
 * 2. Credentials, as on every engine route (bearer JWT or API key): without them 401 with
 *    `WWW-Authenticate: Bearer resource_metadata="<base>/.well-known/oauth-protected-resource"`,
 *    so an MCP client can discover where to sign in (RFC 9728).
 * 3. The `mcp:read` permission (every role holds it; a credential without a role does not).
 * 4. `POST` only: a stateless server offers no SSE stream (`GET`) and no session to end (`DELETE`): 405.
 * 5. The MCP-Protocol-Version header, when given, names a revision this server speaks (else 400).
 * 6. JSON-RPC framing (lib/mcp/jsonrpc.ts): parse errors, invalid messages and batches get their
 *    JSON-RPC error with HTTP 400 before the SDK sees anything.
 * 7. The rate limit counts every request but `tools/call`, which the route it runs counts.
 * 8. The message goes to a fresh SDK server and transport (lib/mcp/server.ts); their reply is returned.
 */
import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { RateLimiter } from '../api/rate-limit.ts';
import { type Authenticators, authenticate } from '../auth/authenticate.ts';
import type { Principal } from '../auth/principal.ts';
import { rolesAllow } from '../auth/roles.ts';
import { ForbiddenError, UnauthorizedError } from '../errors.ts';
import { countReplies, errorReply, lowerCaseHeaders, MAX_BODY_BYTES, reply } from '../http/handler.ts';
import { isJsonMediaType } from '../http/media-type.ts';
import { logger, metrics, tracer } from '../observability.ts';
import type { CallOrigin } from './calls.ts';
import { frameJsonRpc, JSONRPC_ERROR, type JsonRpcErrorResponse, type JsonRpcId, jsonRpcError } from './jsonrpc.ts';
import { MCP_PATH, MCP_PERMISSION, PROTECTED_RESOURCE_PATH } from './routes.ts';
import { invalidParams, type McpServerDeps, mcpServer, SUPPORTED_REVISIONS } from './server.ts';

/** Server errors of the MCP transport (JSON-RPC's implementation-defined range), as the SDK uses it. */
const TRANSPORT_ERROR = -32000;

/** What the MCP endpoint needs; built once per container by the function. */
export interface McpHandlerDeps {
  auth: () => Authenticators;
  /** The server's dependencies (tools, invoker, recorder, policy gate), built on first use. */
  server: () => McpServerDeps;
  /** Per-tenant request budget; absent means unlimited. */
  rateLimiter?: () => RateLimiter | undefined;
  /** Origins (`scheme://host[:port]`) allowed besides the API's own; requests without `Origin` are allowed. */
  allowedOrigins: readonly string[];
  /**
   * `Host` values (`host[:port]`) served; any other is 403 before anything else. Behind API Gateway
   * the Host is always the API's own domain, so the stage leaves it unset; a server on a loopback
   * address sets it, since a DNS-rebinding page sends its own Host and a matching Origin.
   */
  allowedHosts?: readonly string[];
}

/** The API's base URL as the caller reached it: scheme, host and, off the default stage, the stage path. */
export function baseUrlOf(event: APIGatewayProxyEventV2): string {
  const headers = lowerCaseHeaders(event.headers);
  const host = headers.host ?? event.requestContext?.domainName ?? 'localhost';
  // API Gateway always terminates TLS and says so; a loopback host is the local cloud, plain HTTP.
  const proto = headers['x-forwarded-proto'] ?? (/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host) ? 'http' : 'https');
  const stage = event.requestContext?.stage;
  return `${proto}://${host}${stage && stage !== '$default' ? `/${stage}` : ''}`;
}

/** The `WWW-Authenticate` challenge of a 401 (RFC 6750 §3 with RFC 9728's `resource_metadata`). */
export function bearerChallenge(baseUrl: string, credentialSent: boolean): string {
  return `Bearer resource_metadata="${baseUrl}${PROTECTED_RESOURCE_PATH}"${credentialSent ? ', error="invalid_token"' : ''}`;
}

function rpcReply(
  statusCode: number,
  body: JsonRpcErrorResponse,
  correlationId: string,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return reply(statusCode, body, correlationId, headers);
}

function transportError(
  statusCode: number,
  message: string,
  correlationId: string,
  id: JsonRpcId | null = null,
  data?: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  const body = jsonRpcError(id, TRANSPORT_ERROR, undefined, message);
  if (data) body.error.data = data;
  return rpcReply(statusCode, body, correlationId, headers);
}

function originAllowed(origin: string | undefined, baseUrl: string, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  const own = new URL(baseUrl).origin;
  return origin === own || allowed.includes(origin);
}

/** Whether the client takes a JSON reply (`application/json`, a wildcard, or no Accept at all). */
function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((range) => /^(application\/json|application\/\*|\*\/\*)$/i.test(range.split(';', 1)[0]?.trim() ?? ''));
}

function credentialsOf(headers: Record<string, string>): Record<string, string> {
  if (headers.authorization !== undefined) return { authorization: headers.authorization };
  if (headers['x-api-key'] !== undefined) return { 'x-api-key': headers['x-api-key'] };
  return {};
}

/** The SDK's reply (a Web `Response`) as the API Gateway result. */
async function fromResponse(response: Response, correlationId: string): Promise<APIGatewayProxyStructuredResultV2> {
  const body = await response.text();
  const headers: Record<string, string> = { 'x-correlation-id': correlationId };
  response.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  if (body.length === 0) delete headers['content-type'];
  return { statusCode: response.status, headers, body };
}

async function serve(
  event: APIGatewayProxyEventV2,
  deps: McpHandlerDeps,
  correlationId: string,
): Promise<APIGatewayProxyStructuredResultV2> {
  const headers = lowerCaseHeaders(event.headers);
  const baseUrl = baseUrlOf(event);
  if (deps.allowedHosts && !deps.allowedHosts.includes((headers.host ?? '').toLowerCase())) {
    logger.warn('MCP request for a foreign host refused', { host: headers.host?.slice(0, 200) });
    return transportError(403, `Forbidden: Host ${headers.host?.slice(0, 200)} is not served here`, correlationId);
  }
  if (!originAllowed(headers.origin, baseUrl, deps.allowedOrigins)) {
    logger.warn('MCP request from a foreign origin refused', { origin: headers.origin?.slice(0, 200) });
    return transportError(403, `Forbidden: Origin ${headers.origin?.slice(0, 200)} is not allowed`, correlationId);
  }
  let principal: Principal;
  try {
    principal = await authenticate(headers, deps.auth());
  } catch (error) {
    const answer = errorReply(error, correlationId);
    if (error instanceof UnauthorizedError) {
      const sent = headers.authorization !== undefined || headers['x-api-key'] !== undefined;
      answer.headers = { ...answer.headers, 'www-authenticate': bearerChallenge(baseUrl, sent) };
    }
    return answer;
  }
  // Every role reads; a credential with no role of the product's is refused here as on every route.
  if (!rolesAllow(principal.roles, MCP_PERMISSION)) {
    return errorReply(
      new ForbiddenError(`This needs the '${MCP_PERMISSION}' permission, which roles [${principal.roles.join(', ')}] do not grant`),
      correlationId,
    );
  }
  const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
  if (method !== 'POST') {
    const message = `${method} is not supported: this MCP server is stateless, so it offers no SSE stream (GET) and no session to end (DELETE); POST JSON-RPC messages to ${MCP_PATH}`;
    return reply(405, { error: 'MethodNotAllowedError', message, correlationId }, correlationId, { allow: 'POST' });
  }
  if (!acceptsJson(headers.accept)) return transportError(406, 'Not Acceptable: this server replies with application/json', correlationId);
  if (!isJsonMediaType(headers['content-type']))
    return transportError(415, 'Unsupported Media Type: Content-Type must be application/json', correlationId);
  const raw = event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES)
    return transportError(413, `Payload Too Large: a request body is at most ${MAX_BODY_BYTES} bytes`, correlationId);
  const version = headers['mcp-protocol-version'];
  if (version !== undefined && !(SUPPORTED_REVISIONS as readonly string[]).includes(version)) {
    return transportError(400, `Bad Request: unsupported MCP-Protocol-Version ${version.slice(0, 40)}`, correlationId, null, {
      supported: [...SUPPORTED_REVISIONS],
      requested: version.slice(0, 40),
    });
  }
  const framed = frameJsonRpc(raw, { batches: false, mcp: true });
  if (framed.kind === 'refused') return rpcReply(400, framed.response, correlationId);
  const [message] = framed.messages;
  if (!message) return rpcReply(400, jsonRpcError(null, JSONRPC_ERROR.invalidRequest), correlationId);
  // No MCP notification takes positional params: such a notification is dropped, as an unknown one is.
  if ('method' in message && !('id' in message) && Array.isArray(message.params))
    return { statusCode: 202, headers: { 'x-correlation-id': correlationId }, body: '' };
  const id = 'id' in message ? message.id : null;
  if ('method' in message && 'id' in message && message.method !== 'tools/call') {
    const decision = await deps.rateLimiter?.()?.consume(principal.tenant, new Date());
    if (decision && !decision.allowed) {
      return transportError(429, `Tenant ${principal.tenant} is over its request budget for this minute`, correlationId, id, undefined, {
        'retry-after': String(decision.retryAfterSeconds),
      });
    }
  }
  if ('method' in message && 'id' in message && message.id !== null) {
    const invalid = invalidParams(message);
    if (invalid)
      return reply(
        200,
        { jsonrpc: '2.0', id: message.id, error: { code: invalid.code, message: invalid.message, data: invalid.data } },
        correlationId,
      );
  }
  const origin: CallOrigin = {
    principal,
    credentials: credentialsOf(headers),
    correlationId,
    ...(headers['idempotency-key'] !== undefined ? { idempotencyKey: headers['idempotency-key'] } : {}),
    requestContext: {
      accountId: event.requestContext?.accountId ?? '',
      apiId: event.requestContext?.apiId ?? '',
      domainName: event.requestContext?.domainName ?? new URL(baseUrl).host,
      sourceIp: event.requestContext?.http?.sourceIp ?? '',
      userAgent: headers['user-agent'] ?? '',
    },
    now: new Date(),
  };
  const server = mcpServer(deps.server(), origin, version);
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  try {
    await server.connect(transport);
    // The SDK checks Accept for both types even when it replies with JSON; the check above is ours.
    const request = new Request(`${baseUrl}${MCP_PATH}`, {
      method: 'POST',
      headers: {
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
        ...(version ? { 'mcp-protocol-version': version } : {}),
      },
    });
    const response = await transport.handleRequest(request, { parsedBody: message });
    return await fromResponse(response, correlationId);
  } finally {
    await server.close();
  }
}

/**
 * The Lambda handler of `POST /mcp` (and the 405 of `GET` and `DELETE`).
 * @example export const handler = mcpHandler(mcpDeps());
 */
export function mcpHandler(
  deps: McpHandlerDeps,
): middy.MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  const base = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const headers = lowerCaseHeaders(event.headers);
    const correlationId = headers['x-correlation-id'] ?? event.requestContext?.requestId ?? randomUUID();
    logger.appendKeys({ correlationId });
    try {
      return await serve(event, deps, correlationId);
    } catch (error) {
      logger.error('MCP request failed', { error: error as Error, correlationId });
      return transportError(500, 'Internal error; quote the correlation id when reporting it', correlationId, null, { correlationId });
    } finally {
      logger.removeKeys(['correlationId']);
    }
  };
  return middy(base).use(injectLambdaContext(logger)).use(captureLambdaHandler(tracer)).use(logMetrics(metrics)).use(countReplies());
}

/** Settings of the protected-resource metadata. */
export interface ProtectedResourceSettings {
  /** The authorization server (the stage's JWT issuer); absent on a stage with API keys only. */
  issuer?: string;
  scopes: readonly string[];
}

/**
 * The OAuth 2.0 protected-resource metadata (RFC 9728) of the MCP endpoint at `baseUrl`: the
 * resource, its authorization server (the stage's issuer), that tokens go in the Authorization
 * header, and the scopes to ask for.
 */
export function protectedResourceMetadata(baseUrl: string, settings: ProtectedResourceSettings): Record<string, unknown> {
  return {
    resource: `${baseUrl}${MCP_PATH}`,
    ...(settings.issuer ? { authorization_servers: [settings.issuer] } : {}),
    bearer_methods_supported: ['header'],
    scopes_supported: [...settings.scopes],
    resource_name: 'Autonomy Plane MCP server',
    resource_documentation: `${baseUrl}/openapi.json`,
  };
}

/**
 * The Lambda handler of `GET /.well-known/oauth-protected-resource` (public): the metadata for the
 * base URL the caller reached.
 * @example export const handler = protectedResourceHandler({ issuer: cfg.AUTH_ISSUER, scopes: ['openid'] });
 */
export function protectedResourceHandler(
  settings: ProtectedResourceSettings,
): middy.MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  const base = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const correlationId = lowerCaseHeaders(event.headers)['x-correlation-id'] ?? event.requestContext?.requestId ?? randomUUID();
    return reply(200, protectedResourceMetadata(baseUrlOf(event), settings), correlationId, { 'cache-control': 'max-age=3600' });
  };
  return middy(base).use(injectLambdaContext(logger)).use(logMetrics(metrics)).use(countReplies());
}
