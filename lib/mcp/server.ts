/**
 * The MCP server of one request, on the official SDK's low-level `Server`: `initialize` negotiates
 * one of {@link SUPPORTED_REVISIONS}, `tools/list` shows the caller's tools (its roles, then the
 * tenant's Cedar policies on state-changing routes), `tools/call` runs the route as the HTTP API
 * would (lib/mcp/calls.ts) and records the call in the ledger, `resources/*` read `GET` routes the
 * same way (lib/mcp/resources.ts), `prompts/*` are the gateway's templates (lib/mcp/prompts.ts),
 * `ping` answers. Stateless: a server
 * is built per request (lib/mcp/http.ts), so nothing of one caller is ever seen by the next.
 *
 * Tool errors are tool results with `isError`; protocol errors are JSON-RPC errors (an unknown tool
 * is `-32602`, as the specification's example); anything unexpected is `-32603 Internal error`
 * with the correlation id and never the error's message.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  GetPromptRequestSchema,
  type GetPromptResult,
  InitializeRequestSchema,
  type InitializeResult,
  ListPromptsRequestSchema,
  type ListPromptsResult,
  ListResourcesRequestSchema,
  type ListResourcesResult,
  ListResourceTemplatesRequestSchema,
  type ListResourceTemplatesResult,
  ListToolsRequestSchema,
  type ListToolsResult,
  PingRequestSchema,
  type Prompt,
  ReadResourceRequestSchema,
  type ReadResourceResult,
  type Resource,
  type ServerCapabilities,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import type { RoutePolicyGate } from '../api/engine-handler.ts';
import { DependencyError } from '../errors.ts';
import { logger } from '../observability.ts';
import {
  type CallConclusion,
  type CallOrigin,
  callRecord,
  failedResult,
  type McpCallRecorder,
  RESULT_META,
  RouteFailedError,
  type RouteInvoker,
  routeEvent,
  toolResult,
} from './calls.ts';
import { getPrompt, listPrompts, PromptArgumentsError, templatesTool } from './prompts.ts';
import {
  listedResources,
  listedTemplates,
  RESOURCE_NOT_FOUND,
  RESOURCE_SPECS,
  ResourceReadError,
  type ResourceSpec,
  readableSpecs,
  readResource,
  resolveResource,
} from './resources.ts';
import { type RouteTool, toolPolicyGated, toolsForRoles } from './tools.ts';

/** The MCP revisions this server speaks, newest first: both have the initialize handshake and no batches. */
export const SUPPORTED_REVISIONS = ['2025-11-25', '2025-06-18'] as const;
/** An MCP revision this server speaks. */
export type McpRevision = (typeof SUPPORTED_REVISIONS)[number];

/**
 * The revision answered to a client asking for `requested`: the same when supported, else the newest
 * (the client then decides whether it can speak it, as the specification's lifecycle says).
 */
export function negotiateRevision(requested: string): McpRevision {
  return (SUPPORTED_REVISIONS as readonly string[]).includes(requested) ? (requested as McpRevision) : SUPPORTED_REVISIONS[0];
}

/**
 * Test-only fixtures added to a server: what the conformance profile (scripts/mcp-conformance-profile.ts)
 * serves besides the routes (content the routes cannot produce: images, audio, embedded resources,
 * binary resources; logging and completion). A stage never sets them (lib/adapters/aws/mcp-deps.ts).
 */
export interface McpFixtures {
  capabilities: ServerCapabilities;
  tools?: ReadonlyArray<{
    tool: Tool;
    /** `extra`: the SDK's per-request context (notifications and requests to the client, `_meta`). */
    call(args: Record<string, unknown>, extra: FixtureExtra): Promise<CallToolResult>;
  }>;
  resources?: ReadonlyArray<{ resource: Resource; read(uri: string): Promise<ReadResourceResult> }>;
  prompts?: ReadonlyArray<{ prompt: Prompt; get(args: Record<string, string>): Promise<GetPromptResult> }>;
  /** More request handlers (e.g. `logging/setLevel`), registered after the server's own. */
  register?(server: Server): void;
}

/** The SDK's per-request context of a fixture tool call. */
export type FixtureExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What the server of a request needs; built once per container but for the call's origin. */
export interface McpServerDeps {
  tools: readonly RouteTool[];
  invoker: RouteInvoker;
  recorder: McpCallRecorder;
  /** The tenant's Cedar policies, to leave out of `tools/list` the state-changing tools they deny; absent: roles only. */
  policyGate?: RoutePolicyGate;
  serverInfo: { name: string; version: string };
  /** The resources served (lib/mcp/resources.ts); default {@link RESOURCE_SPECS}. */
  resources?: readonly ResourceSpec[];
  /** Test-only: see {@link McpFixtures}. */
  fixtures?: McpFixtures;
  /** One validator for every server of the container (the SDK builds an Ajv per server otherwise). */
  jsonSchemaValidator?: jsonSchemaValidator;
  now: () => Date;
}

/** The request schemas of the methods served, to check params before the SDK sees them. */
const REQUEST_SCHEMAS = new Map<
  string,
  { safeParse(value: unknown): { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } }
>([
  ['initialize', InitializeRequestSchema],
  ['ping', PingRequestSchema],
  ['tools/list', ListToolsRequestSchema],
  ['tools/call', CallToolRequestSchema],
  ['resources/list', ListResourcesRequestSchema],
  ['resources/templates/list', ListResourceTemplatesRequestSchema],
  ['resources/read', ReadResourceRequestSchema],
  ['prompts/list', ListPromptsRequestSchema],
  ['prompts/get', GetPromptRequestSchema],
]);

/**
 * The `-32602 Invalid params` error of a request whose params do not fit its method, naming each
 * field (`params.name: Invalid input…`); undefined when they fit or the method is not served here
 * (the SDK answers those with -32601). Without it the SDK would answer -32603 with zod's dump.
 */
export function invalidParams(message: { method: string; params?: unknown }): ProtocolError | undefined {
  const schema = REQUEST_SCHEMAS.get(message.method);
  const parsed = schema?.safeParse(message);
  if (!parsed || parsed.success) return undefined;
  const issues = (parsed.error?.issues ?? []).map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  return new ProtocolError(
    ErrorCode.InvalidParams,
    `Invalid params: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`.slice(0, 500),
    { issues },
  );
}

/** Told to the client in `initialize`: how to use these tools. */
export const SERVER_INSTRUCTIONS =
  'Autonomy Plane engine actions as tools, one per API route (name: <engine>_<action>_<get|create|update|delete>). ' +
  'Each call runs with your credentials under the same roles, Cedar policies, approvals, kill switch, rate limit and budgets as the HTTP API, and is recorded in your ledger (stream mcp.calls). ' +
  'A state-changing call that needs a person returns a pending result with the approval id: do not repeat it, wait for the decision. ' +
  'Errors come back as tool results with isError and the reason; a 400 names each bad argument. ' +
  'Resources (autonomy://…) read the ledger, approvals, series and incidents; prompts are the gateway’s templates.';

/**
 * The tools `origin.principal` may see: its roles allow the route's permission and, for
 * state-changing routes, the tenant's Cedar policies do not deny it (break-glass counts as allowed).
 */
export async function visibleTools(
  deps: Pick<McpServerDeps, 'tools' | 'policyGate'>,
  principal: CallOrigin['principal'],
): Promise<RouteTool[]> {
  const allowed = toolsForRoles(deps.tools, principal.roles);
  const gate = deps.policyGate;
  if (!gate) return allowed;
  const gated = allowed.filter(toolPolicyGated);
  if (gated.length === 0) return allowed;
  const decide = (tool: RouteTool) =>
    gate.check(principal, tool.route.method, tool.route.path).then((decision) => decision.decision === 'allow');
  // The first check reads the tenant's policy version; the rest find it cached.
  const [first, ...rest] = gated;
  const verdicts = new Map<RouteTool, boolean>();
  if (first) verdicts.set(first, await decide(first));
  await Promise.all(rest.map(async (tool) => verdicts.set(tool, await decide(tool))));
  return allowed.filter((tool) => verdicts.get(tool) ?? true);
}

function listed(tool: RouteTool): ListToolsResult['tools'][number] {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: tool.inputSchema,
    annotations: tool.annotations,
  };
}

/**
 * A JSON-RPC error a handler throws: the SDK replies with its `code`, `message` and `data` as they
 * are (its own McpError would prefix the message with "MCP error <code>: ").
 */
export class ProtocolError extends Error {
  readonly code: number;
  readonly data?: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

/**
 * The JSON-RPC error of a resource read its route refused: 400 is `-32602` with the route's
 * issues, 403 and 404 `-32002 Resource not found` (another tenant's thing is not found either),
 * anything else the transport's `-32000` with the route's message and status.
 */
export function readError(error: ResourceReadError, uri: string): ProtocolError {
  if (error.statusCode === 400) return new ProtocolError(ErrorCode.InvalidParams, error.message, { uri, issues: error.issues });
  if (error.statusCode === 403 || error.statusCode === 404)
    return new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${error.message}`, { uri });
  return new ProtocolError(-32000, error.message, { uri, httpStatus: error.statusCode });
}

function internalError(correlationId: string): ProtocolError {
  return new ProtocolError(ErrorCode.InternalError, 'Internal error', { correlationId });
}

/**
 * Runs one tool call: the route through the invoker, its reply as a tool result, the call in the ledger.
 * A ledger that cannot be written does not undo what the route did: the result goes back, and the
 * failure is logged as an error for the operators.
 */
export async function callTool(
  deps: McpServerDeps,
  tool: RouteTool,
  args: Record<string, unknown>,
  origin: CallOrigin,
  protocolVersion?: string,
): Promise<CallToolResult> {
  let conclusion: CallConclusion;
  try {
    const reply = await deps.invoker.invoke(tool.functionName, routeEvent(tool, args, origin));
    conclusion = toolResult(tool, reply, origin.correlationId);
  } catch (error) {
    if (error instanceof DependencyError) conclusion = failedResult(origin.correlationId, error.retryAfterSeconds);
    else if (error instanceof RouteFailedError) {
      logger.error('Tool route failed without a reply', { tool: tool.name, correlationId: origin.correlationId, error });
      conclusion = failedResult(origin.correlationId);
    } else throw error;
  }
  try {
    const location = await deps.recorder.record(
      origin.principal.tenant,
      deps.now(),
      callRecord(tool, args, origin, conclusion, protocolVersion),
    );
    return { ...conclusion.result, _meta: { ...conclusion.result._meta, [RESULT_META.record]: location } };
  } catch (error) {
    logger.error('Tool call not recorded in the ledger', { tool: tool.name, correlationId: origin.correlationId, error });
    return conclusion.result;
  }
}

/**
 * The SDK server for one request from `origin`.
 * @example
 * const server = mcpServer(deps, origin);
 * await server.connect(transport);
 */
export function mcpServer(deps: McpServerDeps, origin: CallOrigin, protocolVersion?: string): Server {
  const fixtures = deps.fixtures;
  const capabilities: ServerCapabilities = {
    ...fixtures?.capabilities,
    tools: { listChanged: false },
    resources: { listChanged: false, subscribe: false },
    prompts: { listChanged: false },
  };
  const server = new Server(deps.serverInfo, {
    capabilities,
    instructions: SERVER_INSTRUCTIONS,
    ...(deps.jsonSchemaValidator ? { jsonSchemaValidator: deps.jsonSchemaValidator } : {}),
  });
  const guarded =
    <T>(work: () => Promise<T>) =>
    async (): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        if (error instanceof ProtocolError) throw error;
        logger.error('MCP request failed', { correlationId: origin.correlationId, error });
        throw internalError(origin.correlationId);
      }
    };
  server.setRequestHandler(
    InitializeRequestSchema,
    async (request): Promise<InitializeResult> => ({
      protocolVersion: negotiateRevision(request.params.protocolVersion),
      capabilities,
      serverInfo: deps.serverInfo,
      instructions: SERVER_INSTRUCTIONS,
    }),
  );
  server.setRequestHandler(ListToolsRequestSchema, (_request) =>
    guarded(
      async (): Promise<ListToolsResult> => ({
        tools: [...(await visibleTools(deps, origin.principal)).map(listed), ...(fixtures?.tools ?? []).map((fixture) => fixture.tool)],
      }),
    )(),
  );
  const byName = new Map(deps.tools.map((tool) => [tool.name, tool]));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    guarded(async (): Promise<CallToolResult> => {
      const fixture = fixtures?.tools?.find((candidate) => candidate.tool.name === request.params.name);
      if (fixture) return fixture.call(request.params.arguments ?? {}, extra);
      const tool = byName.get(request.params.name);
      if (!tool) throw new ProtocolError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
      const meta = request.params._meta as Record<string, unknown> | undefined;
      const key = typeof meta?.idempotencyKey === 'string' ? meta.idempotencyKey : origin.idempotencyKey;
      return callTool(
        deps,
        tool,
        request.params.arguments ?? {},
        { ...origin, ...(key !== undefined ? { idempotencyKey: key } : {}) },
        protocolVersion,
      );
    })(),
  );
  const toolsByName: ReadonlyMap<string, RouteTool> = byName;
  const readable = () => readableSpecs(deps.resources ?? RESOURCE_SPECS, toolsByName, origin.principal.roles);
  server.setRequestHandler(ListResourcesRequestSchema, (_request) =>
    guarded(
      async (): Promise<ListResourcesResult> => ({
        resources: [...listedResources(readable()), ...(fixtures?.resources ?? []).map((fixture) => fixture.resource)],
      }),
    )(),
  );
  server.setRequestHandler(ListResourceTemplatesRequestSchema, (_request) =>
    guarded(async (): Promise<ListResourceTemplatesResult> => ({ resourceTemplates: listedTemplates(readable()) }))(),
  );
  server.setRequestHandler(ReadResourceRequestSchema, (request) =>
    guarded(async (): Promise<ReadResourceResult> => {
      const { uri } = request.params;
      const fixture = fixtures?.resources?.find((candidate) => candidate.resource.uri === uri);
      if (fixture) return fixture.read(uri);
      const resolved = resolveResource(readable(), uri);
      if (!resolved) throw new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${uri.slice(0, 300)}`, { uri: uri.slice(0, 300) });
      try {
        return await readResource(deps.invoker, resolved, uri, origin);
      } catch (error) {
        if (error instanceof ResourceReadError) throw readError(error, uri);
        throw error;
      }
    })(),
  );
  server.setRequestHandler(ListPromptsRequestSchema, (_request) =>
    guarded(
      async (): Promise<ListPromptsResult> => ({
        prompts: [
          ...(await listPrompts(deps.invoker, templatesTool(toolsByName, origin.principal.roles), origin)),
          ...(fixtures?.prompts ?? []).map((fixture) => fixture.prompt),
        ],
      }),
    )(),
  );
  server.setRequestHandler(GetPromptRequestSchema, (request) =>
    guarded(async (): Promise<GetPromptResult> => {
      const fixture = fixtures?.prompts?.find((candidate) => candidate.prompt.name === request.params.name);
      if (fixture) return fixture.get(request.params.arguments ?? {});
      try {
        return await getPrompt(
          deps.invoker,
          templatesTool(toolsByName, origin.principal.roles),
          origin,
          request.params.name,
          request.params.arguments ?? {},
        );
      } catch (error) {
        if (error instanceof PromptArgumentsError)
          throw new ProtocolError(ErrorCode.InvalidParams, error.message, { issues: error.issues });
        if (error instanceof ResourceReadError) throw readError(error, `prompt:${request.params.name}`);
        throw error;
      }
    })(),
  );
  fixtures?.register?.(server);
  return server;
}
