/**
 * The conformance profile of the MCP server: test-only, never part of a stage. It serves the real
 * endpoint (lib/mcp/http.ts: Host and Origin checks, bearer authentication, JSON-RPC framing,
 * revision negotiation) and the real server (lib/mcp/server.ts) over node:http on a loopback
 * address, with the fixture tools, resources and prompts the official suite's scenarios call
 * (`@modelcontextprotocol/conformance`, its `examples/servers/typescript/everything-server.ts`
 * names them).
 *
 * What the routes can express goes the way of a stage: `test_simple_text`, `test_error_handling`
 * and `json_schema_2020_12_tool` are routes of a fixture engine, run by their own engine handlers
 * (lib/api/engine-handler.ts) through an in-process route invoker with the caller's bearer token
 * and recorded in the ledger (the Audit engine's code on in-memory stores); `test://static-text` and
 * `test://template/{id}/data` are resources read through `GET` routes; `test_simple_prompt` and
 * `test_prompt_with_arguments` are the tenant's gateway templates served by a fixture
 * `GET /gateway/templates`. What routes cannot produce (image, audio, embedded-resource and binary
 * content; logging and completion) are {@link McpFixtures}.
 *
 * The suite's client sends no credentials: the profile adds a bearer token of the local identity
 * provider (infra/local/idp.ts) for tenant `conformance` to each request that has none, as an MCP
 * client would after signing in.
 */

import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type CallToolResult, CreateMessageResultSchema, ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createLocalJWKSet } from 'jose';
import { z } from 'zod';
import { jwks, LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';
import { engineHandler, route } from '../lib/api/engine-handler.ts';
import { defineRoute } from '../lib/api/route.ts';
import { canonicalHash } from '../lib/audit/digest.ts';
import { MemoryLedgerStore, MemoryPayloadStore, MemoryStreamRegistry } from '../lib/audit/memory-store.ts';
import { JwtVerifier } from '../lib/auth/jwt.ts';
import { defineEngine } from '../lib/engines/manifest.ts';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { getTemplatesInputSchema, getTemplatesResultSchema } from '../lib/gateway/schemas.ts';
import { type PromptTemplate, templateVariables } from '../lib/gateway/templates.ts';
import { ledgerCallRecorder, RouteFailedError, type RouteInvoker } from '../lib/mcp/calls.ts';
import { mcpHandler } from '../lib/mcp/http.ts';
import type { ResourceSpec } from '../lib/mcp/resources.ts';
import type { FixtureExtra, McpFixtures, McpServerDeps } from '../lib/mcp/server.ts';
import { type RouteTool, routeTools } from '../lib/mcp/tools.ts';
import { MemoryKeys } from '../test/helpers/api-keys.ts';

/** The tenant the profile's calls run as. */
export const CONFORMANCE_TENANT = 'conformance';

/** A 1x1 red PNG and a minimal WAV, the suite's own sample content. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';

const simpleText = defineRoute({
  engine: 'conformance',
  action: 'simple-text',
  method: 'GET',
  permission: 'conformance:read',
  summary: 'Tests simple text content response',
  parameters: z.strictObject({}),
  result: z.string(),
  rawContentType: 'text/plain',
});
const errorHandling = defineRoute({
  engine: 'conformance',
  action: 'error-handling',
  method: 'GET',
  permission: 'conformance:read',
  summary: 'Tests error response handling',
  parameters: z.strictObject({}),
  result: z.strictObject({}),
});
const address = z.strictObject({ street: z.string().optional(), city: z.string().optional() }).meta({ id: 'address' });
const jsonSchemaTool = defineRoute({
  engine: 'conformance',
  action: 'json-schema',
  method: 'POST',
  permission: 'conformance:write',
  summary: 'Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)',
  parameters: z.strictObject({ name: z.string().optional(), address: address.optional() }),
  result: z.strictObject({ echoed: z.unknown() }),
});
const staticText = defineRoute({
  engine: 'conformance',
  action: 'static-text',
  method: 'GET',
  permission: 'conformance:read',
  summary: 'A static text resource for testing',
  parameters: z.strictObject({}),
  result: z.string(),
  rawContentType: 'text/plain',
});
const templateData = defineRoute({
  engine: 'conformance',
  action: 'template-data',
  method: 'GET',
  permission: 'conformance:read',
  summary: 'A resource template with parameter substitution',
  parameters: z.strictObject({ id: z.string().min(1).max(64) }),
  result: z.strictObject({ id: z.string(), templateTest: z.literal(true), data: z.string() }),
});
const templates = defineRoute({
  engine: 'gateway',
  action: 'templates',
  method: 'GET',
  permission: 'gateway:read',
  summary: 'The tenant’s prompt templates (fixture of GET /gateway/templates)',
  parameters: getTemplatesInputSchema,
  result: getTemplatesResultSchema,
});

/** The tenant's templates: the two prompts of the suite a gateway template can be. */
const TENANT_TEMPLATES: readonly PromptTemplate[] = [
  {
    name: 'test_simple_prompt',
    description: 'A simple prompt without arguments',
    messages: [{ role: 'user', content: 'This is a simple prompt for testing.' }],
  },
  {
    name: 'test_prompt_with_arguments',
    description: 'A prompt with required arguments',
    messages: [{ role: 'user', content: "Prompt with arguments: arg1='{{arg1}}', arg2='{{arg2}}'" }],
  },
];

const conformanceEngine = defineEngine({
  name: 'conformance',
  description: 'Fixture routes of the MCP conformance profile',
  actions: {
    'simple-text': { description: 'text', routes: [simpleText], needs: [] },
    'error-handling': { description: 'error', routes: [errorHandling], needs: [] },
    'json-schema': { description: 'schema', routes: [jsonSchemaTool], needs: [] },
    'static-text': { description: 'resource', routes: [staticText], needs: [] },
    'template-data': { description: 'template', routes: [templateData], needs: [] },
  },
});
const gatewayEngine = defineEngine({
  name: 'gateway',
  description: 'Fixture of the gateway’s templates route',
  actions: { templates: { description: 'templates', routes: [templates], needs: [] } },
});

/** The suite's tool names for the fixture routes' tools. */
const TOOL_NAMES: Readonly<Record<string, string>> = {
  conformance_simple_text_get: 'test_simple_text',
  conformance_error_handling_get: 'test_error_handling',
  conformance_json_schema_create: 'json_schema_2020_12_tool',
};

const RESOURCES: readonly ResourceSpec[] = [
  {
    uri: 'test://static-text',
    name: 'static-text',
    title: 'Static Text Resource',
    description: 'A static text resource for testing',
    mimeType: 'text/plain',
    tool: 'conformance_static_text_get',
    args: () => ({}),
  },
  {
    uri: 'test://template/{id}/data',
    name: 'template',
    title: 'Resource Template',
    description: 'A resource template with parameter substitution',
    mimeType: 'application/json',
    tool: 'conformance_template_data_get',
    args: ({ id }) => ({ id }),
  },
];

/** What the routes cannot produce. */
const FIXTURES: McpFixtures = {
  capabilities: { logging: {}, completions: {} },
  tools: [
    {
      tool: { name: 'test_image_content', description: 'Tests image content response', inputSchema: { type: 'object', properties: {} } },
      call: async () => ({ content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] }),
    },
    {
      tool: { name: 'test_audio_content', description: 'Tests audio content response', inputSchema: { type: 'object', properties: {} } },
      call: async () => ({ content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] }),
    },
    {
      tool: {
        name: 'test_embedded_resource',
        description: 'Tests embedded resource content response',
        inputSchema: { type: 'object', properties: {} },
      },
      call: async () => ({
        content: [
          {
            type: 'resource',
            resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' },
          },
        ],
      }),
    },
    {
      tool: {
        name: 'test_multiple_content_types',
        description: 'Tests response with multiple content types (text, image, resource)',
        inputSchema: { type: 'object', properties: {} },
      },
      call: async () => ({
        content: [
          { type: 'text', text: 'Multiple content types test:' },
          { type: 'image', data: PNG, mimeType: 'image/png' },
          {
            type: 'resource',
            resource: {
              uri: 'test://mixed-content-resource',
              mimeType: 'application/json',
              text: JSON.stringify({ test: 'data', value: 123 }),
            },
          },
        ],
      }),
    },
    // These need the server to speak to the client during the call: notifications on a streamed
    // reply (logging, progress) or a request the client answers (sampling, elicitation). The
    // stateless endpoint replies with one JSON body, so what they send is not delivered.
    {
      tool: {
        name: 'test_tool_with_logging',
        description: 'Tests tool that emits log messages during execution',
        inputSchema: { type: 'object', properties: {} },
      },
      call: async (_args, extra) => {
        for (const data of ['Tool execution started', 'Tool processing data', 'Tool execution completed'])
          await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data } });
        return { content: [{ type: 'text', text: 'Tool with logging executed successfully' }] };
      },
    },
    {
      tool: {
        name: 'test_tool_with_progress',
        description: 'Tests tool that reports progress notifications',
        inputSchema: { type: 'object', properties: {} },
      },
      call: async (_args, extra) => {
        const progressToken = extra._meta?.progressToken ?? 0;
        for (const progress of [0, 50, 100])
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` },
          });
        return { content: [{ type: 'text', text: String(progressToken) }] };
      },
    },
    ...(['test_sampling', 'test_elicitation', 'test_elicitation_sep1034_defaults', 'test_elicitation_sep1330_enums'] as const).map(
      (name) => ({
        tool: {
          name,
          description: `Asks the client (${name.startsWith('test_sampling') ? 'sampling/createMessage' : 'elicitation/create'}) during the call`,
          inputSchema: { type: 'object' as const, properties: {} },
        },
        call: async (args: Record<string, unknown>, extra: FixtureExtra): Promise<CallToolResult> => {
          try {
            const asked =
              name === 'test_sampling'
                ? await extra.sendRequest(
                    {
                      method: 'sampling/createMessage',
                      params: { messages: [{ role: 'user', content: { type: 'text', text: String(args.prompt ?? '') } }], maxTokens: 100 },
                    },
                    CreateMessageResultSchema,
                    { timeout: 300 },
                  )
                : await extra.sendRequest(
                    {
                      method: 'elicitation/create',
                      params: {
                        mode: 'form',
                        message: String(args.message ?? 'Please answer'),
                        requestedSchema: { type: 'object', properties: { response: { type: 'string' } }, required: [] },
                      },
                    },
                    ElicitResultSchema,
                    { timeout: 300 },
                  );
            return { content: [{ type: 'text', text: `Client answered: ${JSON.stringify(asked)}` }] };
          } catch (error) {
            return { content: [{ type: 'text', text: `Could not ask the client: ${(error as Error).message}` }], isError: true };
          }
        },
      }),
    ),
  ],
  resources: [
    {
      resource: {
        uri: 'test://static-binary',
        name: 'static-binary',
        title: 'Static Binary Resource',
        description: 'A static binary resource (image) for testing',
        mimeType: 'image/png',
      },
      read: async (uri) => ({ contents: [{ uri, mimeType: 'image/png', blob: PNG }] }),
    },
  ],
  prompts: [
    {
      prompt: {
        name: 'test_prompt_with_embedded_resource',
        title: 'Prompt With Embedded Resource',
        description: 'A prompt that includes an embedded resource',
        arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }],
      },
      get: async (args) => ({
        messages: [
          {
            role: 'user',
            content: {
              type: 'resource',
              resource: {
                uri: args.resourceUri ?? 'test://example-resource',
                mimeType: 'text/plain',
                text: 'Embedded resource content for testing.',
              },
            },
          },
          { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
        ],
      }),
    },
    {
      prompt: { name: 'test_prompt_with_image', title: 'Prompt With Image', description: 'A prompt that includes image content' },
      get: async () => ({
        messages: [
          { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
          { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
        ],
      }),
    },
  ],
  register(server) {
    // A stateless server keeps no level between requests and sends no log notifications: it accepts the setting.
    server.setRequestHandler(
      z.object({ method: z.literal('logging/setLevel'), params: z.object({ level: z.string() }).passthrough() }).passthrough(),
      async () => ({}),
    );
    server.setRequestHandler(z.object({ method: z.literal('completion/complete') }).passthrough(), async () => ({
      completion: { values: [], total: 0, hasMore: false },
    }));
  },
};

const lambdaContext = { functionName: 'mcp', awsRequestId: 'conformance', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

function templateView(template: PromptTemplate, withMessages: boolean) {
  return {
    name: template.name,
    source: 'tenant' as const,
    description: template.description ?? '',
    version: 1,
    hash: canonicalHash(template),
    variables: templateVariables(template),
    inForce: true,
    ...(withMessages ? { messages: template.messages, defaults: template.defaults ?? {} } : {}),
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A running profile: its endpoint URL and how to stop it. */
export interface ConformanceProfile {
  url: string;
  /** Tool calls recorded in the profile's ledger (stream mcp.calls of tenant `conformance`). */
  recorded(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts the profile on 127.0.0.1 (port 0: any free one).
 * @example const profile = await startConformanceProfile(); console.log(profile.url); await profile.close();
 */
export async function startConformanceProfile(port = 0): Promise<ConformanceProfile> {
  const key = await loadOrCreateIdpKey(await mkdtemp(path.join(os.tmpdir(), 'mcp-conformance-')));
  const jwt = new JwtVerifier({
    issuer: LOCAL_ISSUER,
    audience: LOCAL_AUDIENCE,
    keys: createLocalJWKSet(jwks(key)),
    tenantClaim: 'tenant',
    rolesClaim: 'roles',
  });
  const auth = () => ({ jwt, apiKeys: new MemoryKeys() });
  const engineDeps = { auth, version: 'conformance' };
  const handlers: Record<string, ReturnType<typeof engineHandler>> = {
    conformanceSimpleText: engineHandler(
      engineDeps,
      route(simpleText, async () => {
        const body = 'This is a simple text response for testing.';
        return { result: body, raw: { contentType: 'text/plain', body } };
      }),
    ),
    conformanceErrorHandling: engineHandler(
      engineDeps,
      route(errorHandling, async () => {
        throw new ConflictError('This tool intentionally returns an error for testing');
      }),
    ),
    conformanceJsonSchema: engineHandler(
      engineDeps,
      route(jsonSchemaTool, async (params) => ({ result: { echoed: params } })),
    ),
    conformanceStaticText: engineHandler(
      engineDeps,
      route(staticText, async () => {
        const body = 'This is the content of the static text resource.';
        return { result: body, raw: { contentType: 'text/plain', body } };
      }),
    ),
    conformanceTemplateData: engineHandler(
      engineDeps,
      route(templateData, async ({ id }) => ({ result: { id, templateTest: true as const, data: `Data for ID: ${id}` } })),
    ),
    gatewayTemplates: engineHandler(
      engineDeps,
      route(templates, async (params) => {
        if (params.name === undefined) return { result: { templates: TENANT_TEMPLATES.map((t) => templateView(t, false)) } };
        const found = TENANT_TEMPLATES.find((t) => t.name === params.name);
        if (!found) throw new NotFoundError(`Template ${params.name} not found`);
        return { result: { templates: [templateView(found, true)] } };
      }),
    ),
  };
  const invoker: RouteInvoker = {
    async invoke(functionName, event) {
      const handler = handlers[functionName];
      if (!handler) throw new RouteFailedError(`no function ${functionName}`);
      const result = (await handler(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
      return { statusCode: result.statusCode ?? 200, headers: (result.headers ?? {}) as Record<string, string>, body: result.body ?? '' };
    },
  };
  const ledger = new MemoryLedgerStore();
  const tools: RouteTool[] = routeTools([conformanceEngine, gatewayEngine]).map((tool) => ({
    ...tool,
    name: TOOL_NAMES[tool.name] ?? tool.name,
  }));
  const server: McpServerDeps = {
    tools,
    invoker,
    recorder: ledgerCallRecorder({ ledger, payloads: new MemoryPayloadStore(), registry: new MemoryStreamRegistry() }),
    resources: RESOURCES,
    fixtures: FIXTURES,
    serverInfo: { name: 'autonomy-mcp-conformance', version: '0.0.0' },
    now: () => new Date(),
  };
  const token = await signLocalToken(key, { tenant: CONFORMANCE_TENANT, roles: ['operator'] });
  let mcp: ReturnType<typeof mcpHandler> | undefined;
  const http: HttpServer = createServer((request, response) => {
    void (async () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers))
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      if (headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
      const url = new URL(request.url ?? '/', 'http://localhost');
      const body = await readBody(request);
      const event = {
        version: '2.0',
        routeKey: `${request.method} ${url.pathname}`,
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        requestContext: {
          accountId: 'local',
          apiId: 'conformance',
          domainName: headers.host ?? '127.0.0.1',
          requestId: crypto.randomUUID(),
          stage: '$default',
          http: {
            method: request.method ?? 'GET',
            path: url.pathname,
            protocol: 'HTTP/1.1',
            sourceIp: request.socket.remoteAddress ?? '',
            userAgent: headers['user-agent'] ?? '',
          },
        },
        ...(body ? { body } : {}),
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2;
      const reply =
        url.pathname === '/mcp' && mcp
          ? ((await mcp(event, lambdaContext)) as APIGatewayProxyStructuredResultV2)
          : { statusCode: 404, headers: { 'content-type': 'application/json' }, body: '{"error":"NotFound"}' };
      response.writeHead(reply.statusCode ?? 200, reply.headers as Record<string, string>);
      response.end(reply.body ?? '');
    })().catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'InternalError', message: String(error).slice(0, 200) }));
    });
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  const bound = (http.address() as AddressInfo).port;
  mcp = mcpHandler({
    auth,
    server: () => server,
    allowedOrigins: [],
    allowedHosts: [`127.0.0.1:${bound}`, `localhost:${bound}`, `[::1]:${bound}`],
  });
  return {
    url: `http://127.0.0.1:${bound}/mcp`,
    recorded: async () => (await ledger.read(CONFORMANCE_TENANT, 'mcp.calls', 0, 10_000)).length,
    close: () => new Promise<void>((resolve, reject) => http.close((error) => (error ? reject(error) : resolve()))),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const profile = await startConformanceProfile(Number(process.env.PORT ?? 0));
  console.log(`MCP conformance profile at ${profile.url} (Ctrl-C to stop)`);
}
