/**
 * A `tools/call` runs its route exactly as the HTTP API would: the call becomes the API Gateway
 * event an HTTP client's request would have produced (the caller's own credentials, the route's
 * method and path, the arguments as the request's `parameters` or query string), the route's
 * function runs it (lib/adapters/aws/mcp-deps.ts invokes it through the Lambda API), so
 * authentication, role, Cedar, rate limit, idempotency, risk routing, kill switch and budgets all
 * apply as they do on HTTP. The reply becomes a tool result: 2xx its result, 202 a pending result
 * naming the approval, 4xx/5xx `isError` with the error's message (never a stack). Each call is
 * recorded in the tenant's ledger, stream {@link MCP_CALLS_STREAM}, with the SHA-256 of its
 * arguments and of its result.
 */

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type LedgerLocation, ledgerLocationSchema } from '../api/route.ts';
import { canonicalHash } from '../audit/digest.ts';
import { type RecordDeps, record } from '../audit/engine.ts';
import type { Principal } from '../auth/principal.ts';
import type { RouteTool } from './tools.ts';

/** The ledger stream recording every tool call of a tenant. */
export const MCP_CALLS_STREAM = 'mcp.calls';

/** The `_meta` keys a tool result carries (the `autonomy/` prefix keeps them apart from MCP's). */
export const RESULT_META = {
  status: 'autonomy/status',
  /** The route's HTTP status, as an HTTP client would have seen it. */
  httpStatus: 'autonomy/httpStatus',
  correlationId: 'autonomy/correlationId',
  ledger: 'autonomy/ledger',
  record: 'autonomy/record',
} as const;

/** What the route's function replied: the API Gateway payload v2 result. */
export interface RouteReply {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Runs a route's function with an event, as API Gateway would (the port; lib/adapters/aws/mcp-deps.ts invokes Lambda). */
export interface RouteInvoker {
  /**
   * @throws RouteFailedError when the function itself failed (crashed, timed out): no reply.
   * @throws DependencyError when the function could not be reached (throttled, unavailable).
   */
  invoke(functionName: string, event: APIGatewayProxyEventV2): Promise<RouteReply>;
}

/** The route's function failed without replying (an unhandled error, a timeout): API Gateway would answer 500. */
export class RouteFailedError extends Error {
  override name = 'RouteFailedError';
}

/** The request the tool call came in with: who, with which credentials, from where. */
export interface CallOrigin {
  principal: Principal;
  /** The caller's credential headers, exactly as sent (`authorization` or `x-api-key`), lower-case names. */
  credentials: Record<string, string>;
  correlationId: string;
  /** `Idempotency-Key` for POST routes: the MCP request's header, or the call's `_meta.idempotencyKey`. */
  idempotencyKey?: string;
  /** From the MCP request's event, so the route sees the same API. */
  requestContext: { accountId: string; apiId: string; domainName: string; sourceIp: string; userAgent: string };
  now: Date;
}

/** How the call ended, as recorded. */
export type CallOutcome = 'success' | 'pending' | 'error';

/** A tool call's ledger record (its payload in {@link MCP_CALLS_STREAM}). */
export interface McpCallRecord {
  kind: 'mcp.call';
  tool: string;
  method: string;
  path: string;
  caller: { tenant: string; subject: string; via: Principal['via'] };
  /** SHA-256 of the RFC 8785 canonical JSON of the arguments. */
  argumentsSha256: string;
  /** SHA-256 of the canonical JSON of the result as returned, but for its `_meta`. */
  resultSha256: string;
  outcome: CallOutcome;
  /** The route's HTTP status (0 when its function failed without a reply). */
  statusCode: number;
  correlationId: string;
  protocolVersion?: string;
  /** The route's own ledger entry, where its reply named one. */
  routeLedger?: LedgerLocation;
}

/** Records tool calls in the tenant's ledger (the port; {@link ledgerCallRecorder} over the Audit engine's stores). */
export interface McpCallRecorder {
  record(tenant: string, at: Date, call: McpCallRecord): Promise<LedgerLocation>;
}

/**
 * Records each call as one entry of the tenant's {@link MCP_CALLS_STREAM}, as the caller, under the
 * call's correlation id (the Audit engine's `record`: chained, payload stored by content hash).
 * @example const recorder = ledgerCallRecorder(recordDeps());
 */
export function ledgerCallRecorder(deps: RecordDeps): McpCallRecorder {
  return {
    async record(tenant, at, call) {
      const entry = await record(deps, {
        tenant,
        stream: MCP_CALLS_STREAM,
        timestamp: at.toISOString(),
        actor: call.caller.subject,
        correlationId: call.correlationId,
        payload: { ...call },
      });
      return { tenant: entry.tenant, stream: entry.stream, seq: entry.seq };
    },
  };
}

function queryValue(value: unknown): string {
  return typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : JSON.stringify(value);
}

/**
 * The API Gateway event an HTTP client's request for this call would have produced: `parameters`
 * in the request envelope (POST, PUT) or the query string (GET, DELETE), the caller's credential
 * headers, the call's correlation id, the MCP tool in the envelope's metadata (echoed in provenance).
 */
export function routeEvent(tool: RouteTool, args: Record<string, unknown>, origin: CallOrigin): APIGatewayProxyEventV2 {
  const { method, path } = tool.route;
  const withBody = method === 'POST' || method === 'PUT';
  const query: Record<string, string> = {};
  if (!withBody)
    for (const [name, value] of Object.entries(args)) if (value !== undefined && value !== null) query[name] = queryValue(value);
  const headers: Record<string, string> = {
    ...origin.credentials,
    'x-correlation-id': origin.correlationId,
    'user-agent': `autonomy-mcp (${origin.requestContext.userAgent})`.slice(0, 512),
    ...(withBody ? { 'content-type': 'application/json' } : {}),
    ...(method === 'POST' && origin.idempotencyKey !== undefined ? { 'idempotency-key': origin.idempotencyKey } : {}),
  };
  const rawQueryString = new URLSearchParams(query).toString();
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString,
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: origin.requestContext.accountId,
      apiId: origin.requestContext.apiId,
      domainName: origin.requestContext.domainName,
      domainPrefix: origin.requestContext.domainName.split('.')[0] ?? '',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: origin.requestContext.sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId: origin.correlationId,
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: origin.now.toUTCString(),
      timeEpoch: origin.now.getTime(),
    },
    ...(withBody ? { body: JSON.stringify({ parameters: args, metadata: { mcpTool: tool.name } }) } : {}),
    isBase64Encoded: false,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A 400's field paths as the tool's caller knows them: `body.parameters.x` and `query.x` are `arguments.x`. */
function argumentPath(path: string): string {
  return path.replace(/^body\.parameters(?=\.|$)/, 'arguments').replace(/^query(?=\.|$)/, 'arguments');
}

function errorText(statusCode: number, body: unknown, retryAfter: string | undefined): string {
  const error = isRecord(body) ? body : {};
  const name = typeof error.error === 'string' ? error.error : `HTTP ${statusCode}`;
  const message = typeof error.message === 'string' ? error.message : 'The route failed without a message';
  const lines = [`${name} (${statusCode}): ${message}`];
  if (Array.isArray(error.issues)) {
    for (const issue of error.issues) {
      if (isRecord(issue) && typeof issue.path === 'string' && typeof issue.message === 'string')
        lines.push(`- ${argumentPath(issue.path)}: ${issue.message}`);
    }
  }
  if (retryAfter !== undefined) lines.push(`Retry after ${retryAfter} s.`);
  if (typeof error.correlationId === 'string') lines.push(`Correlation id: ${error.correlationId}.`);
  return lines.join('\n');
}

function pendingText(result: unknown): string {
  const view = isRecord(result) ? result : {};
  const approvalId = typeof view.approvalId === 'string' ? view.approvalId : undefined;
  const proposalId = typeof view.proposalId === 'string' ? view.proposalId : undefined;
  const head = approvalId
    ? `Pending approval: approval id ${approvalId}${proposalId ? ` (proposal ${proposalId})` : ''}. Nothing was done yet: people decide with governance_approvals_create; read the state with governance_proposals_get.`
    : `Pending: accepted and waiting${proposalId ? ` (proposal ${proposalId})` : ''}; nothing was done yet. Read the state with governance_proposals_get.`;
  return `${head}\n${JSON.stringify(result)}`;
}

/** What a call produced: the tool result, how it ended, the route's status and its own ledger entry. */
export interface CallConclusion {
  result: CallToolResult;
  outcome: CallOutcome;
  statusCode: number;
  routeLedger?: LedgerLocation;
}

/**
 * The tool result of a route's reply.
 * @example toolResult(tool, { statusCode: 202, headers: {}, body: '{"status":"pending","result":{"approvalId":"approval-p1"}}' }, 'c-1')
 */
export function toolResult(tool: RouteTool, reply: RouteReply, correlationId: string): CallConclusion {
  const headers = Object.fromEntries(Object.entries(reply.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  const body = parseJson(reply.body ?? '');
  const meta = { [RESULT_META.correlationId]: correlationId, [RESULT_META.httpStatus]: reply.statusCode };
  if (reply.statusCode >= 400) {
    return {
      result: {
        content: [{ type: 'text', text: errorText(reply.statusCode, body, headers['retry-after']) }],
        isError: true,
        _meta: { ...meta, [RESULT_META.status]: 'error' },
      },
      outcome: 'error',
      statusCode: reply.statusCode,
    };
  }
  if (tool.route.rawContentType) {
    return {
      result: { content: [{ type: 'text', text: reply.body ?? '' }], _meta: { ...meta, [RESULT_META.status]: 'success' } },
      outcome: 'success',
      statusCode: reply.statusCode,
    };
  }
  const envelope = isRecord(body) ? body : {};
  const status =
    envelope.status === 'pending' || reply.statusCode === 202 ? 'pending' : envelope.status === 'failure' ? 'failure' : 'success';
  const provenance = Array.isArray(envelope.provenance) && isRecord(envelope.provenance[0]) ? envelope.provenance[0] : {};
  const located = ledgerLocationSchema.safeParse(provenance.ledger);
  const routeLedger = located.success ? located.data : undefined;
  const result = envelope.result;
  const text = status === 'pending' ? pendingText(result) : JSON.stringify(result ?? null);
  return {
    result: {
      content: [{ type: 'text', text }],
      ...(isRecord(result) ? { structuredContent: result } : {}),
      // A `failure` envelope (e.g. every ingested point rejected) is the route's own verdict: an error to act on.
      ...(status === 'failure' ? { isError: true } : {}),
      _meta: { ...meta, [RESULT_META.status]: status, ...(routeLedger ? { [RESULT_META.ledger]: routeLedger } : {}) },
    },
    outcome: status === 'pending' ? 'pending' : status === 'failure' ? 'error' : 'success',
    statusCode: reply.statusCode,
    ...(routeLedger ? { routeLedger } : {}),
  };
}

/** The tool result when the route's function failed without a reply, or could not be reached. */
export function failedResult(correlationId: string, retryAfterSeconds?: number): CallConclusion {
  const retry =
    retryAfterSeconds === undefined ? 'Report it with the correlation id.' : `It is safe to retry after ${retryAfterSeconds} s.`;
  return {
    result: {
      content: [{ type: 'text', text: `The route failed without a reply (correlation id ${correlationId}). ${retry}` }],
      isError: true,
      _meta: {
        [RESULT_META.correlationId]: correlationId,
        [RESULT_META.status]: 'error',
        [RESULT_META.httpStatus]: retryAfterSeconds === undefined ? 500 : 503,
      },
    },
    outcome: 'error',
    statusCode: retryAfterSeconds === undefined ? 500 : 503,
  };
}

/** The record of a call: who called which tool with what (hashed), and how it ended. */
export function callRecord(
  tool: RouteTool,
  args: Record<string, unknown>,
  origin: CallOrigin,
  conclusion: CallConclusion,
  protocolVersion?: string,
): McpCallRecord {
  const { _meta: _ignored, ...hashed } = conclusion.result;
  return {
    kind: 'mcp.call',
    tool: tool.name,
    method: tool.route.method,
    path: tool.route.path,
    caller: { tenant: origin.principal.tenant, subject: origin.principal.subject, via: origin.principal.via },
    argumentsSha256: canonicalHash(args),
    resultSha256: canonicalHash(hashed),
    outcome: conclusion.outcome,
    statusCode: conclusion.statusCode,
    correlationId: origin.correlationId,
    ...(protocolVersion ? { protocolVersion } : {}),
    ...(conclusion.routeLedger ? { routeLedger: conclusion.routeLedger } : {}),
  };
}
