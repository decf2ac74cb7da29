/**
 * The MCP endpoint in process: the real handler (lib/mcp/http.ts) in front of real engine handlers
 * (lib/api/engine-handler.ts) of a test engine, called through an in-process route invoker; real
 * JWT verification against a local key set, the real ledger code on the in-memory audit stores.
 * Ports faked: API keys, the Cedar gate (a table of denials). Every reply is checked against the
 * official MCP JSON Schemas of the revision in use.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import fc from 'fast-check';
import { createLocalJWKSet } from 'jose';
import { z } from 'zod';
import { jwks, LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateIdpKey, signLocalToken } from '../../infra/local/idp.ts';
import { engineHandler, type RoutePolicyGate, route } from '../../lib/api/engine-handler.ts';
import { defineRoute } from '../../lib/api/route.ts';
import { canonicalHash } from '../../lib/audit/digest.ts';
import { MemoryLedgerStore, MemoryPayloadStore, MemoryStreamRegistry } from '../../lib/audit/memory-store.ts';
import { JwtVerifier } from '../../lib/auth/jwt.ts';
import type { Role } from '../../lib/auth/roles.ts';
import { defineEngine, need } from '../../lib/engines/manifest.ts';
import { NotFoundError } from '../../lib/errors.ts';
import { getTemplatesInputSchema, getTemplatesResultSchema } from '../../lib/gateway/schemas.ts';
import { BUILT_IN_TEMPLATES, type PromptTemplate, templateVariables } from '../../lib/gateway/templates.ts';
import { ledgerCallRecorder, MCP_CALLS_STREAM, RouteFailedError, type RouteInvoker } from '../../lib/mcp/calls.ts';
import { mcpHandler, protectedResourceHandler } from '../../lib/mcp/http.ts';
import type { ResourceSpec } from '../../lib/mcp/resources.ts';
import type { McpServerDeps } from '../../lib/mcp/server.ts';
import { routeTools } from '../../lib/mcp/tools.ts';
import { MemoryKeys } from '../helpers/api-keys.ts';
import { conformancePath } from '../helpers/conformance.ts';
import { type McpRevision, validateMcp } from '../helpers/mcp-schema.ts';

const context = { functionName: 'mcp', awsRequestId: 'req', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

const createThing = defineRoute({
  engine: 'lab',
  action: 'things',
  method: 'POST',
  permission: 'lab:write',
  summary: 'Create a thing',
  parameters: z.object({ name: z.string().min(1).max(20), size: z.number().int().min(1) }),
  result: z.object({ thingId: z.string(), name: z.string(), size: z.number() }),
});
const readThing = defineRoute({
  ...createThing,
  method: 'GET',
  permission: 'lab:read',
  summary: 'Read a thing',
  parameters: z.object({ thingId: z.string(), limit: z.coerce.number().int().optional() }),
});
const deleteThing = defineRoute({
  ...createThing,
  method: 'DELETE',
  permission: 'lab:configure',
  summary: 'Delete a thing',
  parameters: z.object({ thingId: z.string() }),
});
const propose = defineRoute({
  engine: 'lab',
  action: 'proposals',
  method: 'POST',
  permission: 'lab:write',
  summary: 'Propose something risky',
  parameters: z.object({ what: z.string() }),
  result: z.object({ proposalId: z.string(), approvalId: z.string(), status: z.string() }),
});
const boom = defineRoute({
  engine: 'lab',
  action: 'boom',
  method: 'POST',
  permission: 'lab:write',
  summary: 'Fail',
  parameters: z.object({}),
  result: z.object({}),
});
const labEngine = defineEngine({
  name: 'lab',
  description: 'test engine',
  actions: {
    things: { description: 'things', routes: [createThing, readThing, deleteThing], needs: [need.publish()] },
    proposals: { description: 'proposals', routes: [propose], needs: [] },
    boom: { description: 'boom', routes: [boom], needs: [] },
  },
});

/** Denials of the fake Cedar gate: `<tenant> <METHOD> <path>`. */
const denied = new Set<string>();
const gate: RoutePolicyGate = {
  check: async (principal, method, routePath) => ({
    decision: denied.has(`${principal.tenant} ${method} ${routePath}`) ? 'deny' : 'allow',
    policies: denied.has(`${principal.tenant} ${method} ${routePath}`) ? ['forbid-test'] : ['permit-test'],
    errors: [],
    version: 1,
    breakGlass: false,
  }),
  breakGlassUsed: async () => {},
};

const ledger = new MemoryLedgerStore();
const recordDeps = { ledger, payloads: new MemoryPayloadStore(), registry: new MemoryStreamRegistry() };
const invoked: string[] = [];
let handlers: Record<string, (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>> = {};
const invoker: RouteInvoker = {
  async invoke(functionName, event) {
    invoked.push(`${functionName} ${event.requestContext.http.method}`);
    const handler = handlers[functionName];
    if (!handler) throw new RouteFailedError(`no function ${functionName}`);
    const result = await handler(event, context);
    return { statusCode: result.statusCode ?? 200, headers: (result.headers ?? {}) as Record<string, string>, body: result.body ?? '' };
  },
};

let key: Awaited<ReturnType<typeof loadOrCreateIdpKey>>;
let handler: ReturnType<typeof mcpHandler>;
/** The same server bound to a loopback Host, as a local server is against DNS rebinding. */
let hostBound: ReturnType<typeof mcpHandler>;

before(async () => {
  key = await loadOrCreateIdpKey(await mkdtemp(path.join(os.tmpdir(), 'mcp-server-')));
  const jwt = new JwtVerifier({
    issuer: LOCAL_ISSUER,
    audience: LOCAL_AUDIENCE,
    keys: createLocalJWKSet(jwks(key)),
    tenantClaim: 'tenant',
    rolesClaim: 'roles',
  });
  const auth = () => ({ jwt, apiKeys: new MemoryKeys() });
  const engineDeps = { auth, version: 'test', policyGate: () => gate };
  handlers = {
    labThings: engineHandler(
      engineDeps,
      route(createThing, async (params, ctx) => ({
        result: { thingId: `thing-${ctx.tenant}`, ...params },
        ledger: { tenant: ctx.tenant, stream: 'lab', seq: 3 },
      })),
      route(readThing, async (params) => {
        if (params.thingId !== 'known')
          return Promise.reject(
            Object.assign(new (await import('../../lib/errors.ts')).NotFoundError(`Thing ${params.thingId} not found`)),
          );
        return { result: { thingId: 'known', name: 'a', size: params.limit ?? 1 } };
      }),
      route(deleteThing, async (params) => ({ result: { thingId: params.thingId, name: 'gone', size: 0 } })),
    ),
    labProposals: engineHandler(
      engineDeps,
      route(propose, async () => ({
        status: 'pending',
        statusCode: 202,
        result: { proposalId: 'p-1', approvalId: 'approval-p-1', status: 'pending' },
      })),
    ),
    labBoom: engineHandler(
      engineDeps,
      route(boom, async () => {
        throw new Error('secret detail from deep inside');
      }),
    ),
  };
  const server: McpServerDeps = {
    tools: routeTools([labEngine]),
    invoker,
    recorder: ledgerCallRecorder(recordDeps),
    policyGate: gate,
    serverInfo: { name: 'autonomy-test', version: '0.0.0' },
    now: () => new Date(),
  };
  handler = mcpHandler({ auth, server: () => server, allowedOrigins: ['https://console.example.com'] });
  hostBound = mcpHandler({ auth, server: () => server, allowedOrigins: [], allowedHosts: ['127.0.0.1:8080'] });
});

async function token(tenant: string, roles: Role[]): Promise<string> {
  return signLocalToken(key, { tenant, roles });
}

function mcpEvent(body: string | undefined, headers: Record<string, string> = {}, method = 'POST'): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} /mcp`,
    rawPath: '/mcp',
    rawQueryString: '',
    headers: { host: 'api.example.com', 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    requestContext: {
      accountId: '1',
      apiId: 'api',
      domainName: 'api.example.com',
      requestId: 'r-1',
      stage: '$default',
      http: { method, path: '/mcp', sourceIp: '10.0.0.1', userAgent: 'test' },
    },
    body,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

async function post(
  message: unknown,
  options: { tenant?: string; roles?: Role[]; headers?: Record<string, string>; raw?: string; target?: typeof handler } = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON-RPC replies
): Promise<{ status: number; headers: Record<string, string>; body: any }> {
  const authorization = `Bearer ${await token(options.tenant ?? 'acme', options.roles ?? ['operator'])}`;
  const result = await (options.target ?? handler)(
    mcpEvent(options.raw ?? JSON.stringify(message), { authorization, 'mcp-protocol-version': '2025-11-25', ...options.headers }),
    context,
  );
  const text = result.body ?? '';
  return {
    status: result.statusCode ?? 0,
    headers: (result.headers ?? {}) as Record<string, string>,
    body: text ? JSON.parse(text) : undefined,
  };
}

let nextId = 1;
const request = (method: string, params?: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id: nextId++,
  method,
  ...(params ? { params } : {}),
});

/**
 * The reply fits the official schema of the revision: a result response of `resultType`, or an
 * error response. An error whose request id could not be read carries `id: null`, as JSON-RPC 2.0
 * requires (and the SDK sends); MCP's schemas type an id as a string or an integer (2025-11-25
 * lets it be left out, 2025-06-18 cannot express the case), so that one member is checked against
 * JSON-RPC and the rest against the schema.
 */
function assertFits(revision: McpRevision, reply: unknown, resultType?: string): void {
  const isError = typeof reply === 'object' && reply !== null && 'error' in reply;
  let body = reply;
  if (isError && (reply as { id?: unknown }).id === null) {
    const { id: _null, ...rest } = reply as Record<string, unknown>;
    body = revision === '2025-06-18' ? { ...rest, id: 'unreadable' } : rest;
  }
  const envelope =
    revision === '2025-06-18' ? (isError ? 'JSONRPCError' : 'JSONRPCResponse') : isError ? 'JSONRPCErrorResponse' : 'JSONRPCResultResponse';
  assert.deepEqual(validateMcp(revision, envelope, body), [], `${revision}: ${JSON.stringify(body).slice(0, 300)}`);
  if (resultType && !isError)
    assert.deepEqual(validateMcp(revision, resultType, (body as { result: unknown }).result), [], `${revision} ${resultType}`);
}

describe('MCP endpoint: lifecycle', () => {
  for (const revision of ['2025-06-18', '2025-11-25'] as const) {
    it(`negotiates ${revision} in initialize and answers with its InitializeResult`, async () => {
      const reply = await post(
        request('initialize', { protocolVersion: revision, capabilities: {}, clientInfo: { name: 'test', version: '1' } }),
        { headers: { 'mcp-protocol-version': revision } },
      );
      assert.equal(reply.status, 200);
      assert.equal(reply.body.result.protocolVersion, revision);
      assert.deepEqual(reply.body.result.capabilities, {
        tools: { listChanged: false },
        resources: { listChanged: false, subscribe: false },
        prompts: { listChanged: false },
      });
      assert.equal(reply.headers['mcp-session-id'], undefined, 'stateless: no session');
      assertFits(revision, reply.body, 'InitializeResult');
    });
  }
  it('answers a client asking for another revision with the newest it speaks', async () => {
    const reply = await post(
      request('initialize', { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'old', version: '1' } }),
    );
    assert.equal(reply.body.result.protocolVersion, '2025-11-25');
  });
  it('refuses an MCP-Protocol-Version header it does not speak with 400', async () => {
    const reply = await post(request('ping'), { headers: { 'mcp-protocol-version': '2025-03-26' } });
    assert.equal(reply.status, 400);
    assert.deepEqual(reply.body.error.data.supported, ['2025-11-25', '2025-06-18']);
  });
  it('answers ping, and a notification with 202 and no body', async () => {
    const ping = await post(request('ping'));
    assert.deepEqual(ping.body.result, {});
    assertFits('2025-11-25', ping.body);
    const notified = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal(notified.status, 202);
    assert.equal(notified.body, undefined);
  });
});

describe('MCP endpoint: tools', () => {
  it('lists what the roles allow: a viewer reads, an operator also writes, a configure tool needs more', async () => {
    const names = async (roles: Role[], tenant = 'acme') =>
      ((await post(request('tools/list'), { roles, tenant })).body.result.tools as Array<{ name: string }>).map((tool) => tool.name).sort();
    assert.deepEqual(await names(['viewer']), ['lab_things_get']);
    assert.deepEqual(await names(['operator']), [
      'lab_boom_create',
      'lab_proposals_create',
      'lab_things_create',
      'lab_things_delete',
      'lab_things_get',
    ]);
    denied.add('locked DELETE /lab/things');
    assert.deepEqual(
      await names(['operator'], 'locked'),
      ['lab_boom_create', 'lab_proposals_create', 'lab_things_create', 'lab_things_get'],
      'Cedar denies the delete',
    );
    const listed = await post(request('tools/list'), { roles: ['operator'] });
    for (const revision of ['2025-06-18', '2025-11-25'] as const) assertFits(revision, listed.body, 'ListToolsResult');
  });

  it('runs a call through the route, returns its result and records it with the hashes of arguments and result', async () => {
    const args = { name: 'widget', size: 3 };
    const reply = await post(request('tools/call', { name: 'lab_things_create', arguments: args }), {
      tenant: 'rec',
      headers: { 'x-correlation-id': 'corr-rec-1' },
    });
    assert.equal(reply.status, 200);
    const result = reply.body.result;
    assert.equal(result.isError, undefined);
    assert.deepEqual(result.structuredContent, { thingId: 'thing-rec', name: 'widget', size: 3 });
    assert.deepEqual(JSON.parse(result.content[0].text), { thingId: 'thing-rec', name: 'widget', size: 3 });
    assert.deepEqual(result._meta['autonomy/ledger'], { tenant: 'rec', stream: 'lab', seq: 3 });
    for (const revision of ['2025-06-18', '2025-11-25'] as const) assertFits(revision, reply.body, 'CallToolResult');
    const entries = await ledger.read('rec', MCP_CALLS_STREAM, 0, 10);
    assert.equal(entries.length, 1);
    assert.deepEqual(result._meta['autonomy/record'], { tenant: 'rec', stream: MCP_CALLS_STREAM, seq: 0 });
    const payload = (await recordDeps.payloads.get('rec', entries[0]?.payloadHash ?? '')) as Record<string, unknown>;
    const { _meta: _ignored, ...hashed } = result;
    assert.equal(payload.tool, 'lab_things_create');
    assert.equal(payload.argumentsSha256, canonicalHash(args));
    assert.equal(payload.resultSha256, canonicalHash(hashed));
    assert.equal(payload.outcome, 'success');
    assert.equal(payload.correlationId, 'corr-rec-1');
    assert.deepEqual(payload.caller, { tenant: 'rec', subject: 'local:rec', via: 'jwt' });
    assert.equal(entries[0]?.actor, 'local:rec');
  });

  it('sends GET arguments as the query string, and a 404 comes back as isError with its message', async () => {
    const found = await post(request('tools/call', { name: 'lab_things_get', arguments: { thingId: 'known', limit: 7 } }));
    assert.equal(found.body.result.structuredContent.size, 7);
    const missing = await post(request('tools/call', { name: 'lab_things_get', arguments: { thingId: 'nope' } }));
    assert.equal(missing.body.result.isError, true);
    assert.match(missing.body.result.content[0].text, /^NotFoundError \(404\): Thing nope not found/);
  });

  it('turns a 202 into a pending result naming the approval id, not an error', async () => {
    const reply = await post(request('tools/call', { name: 'lab_proposals_create', arguments: { what: 'restart' } }));
    const result = reply.body.result;
    assert.equal(result.isError, undefined);
    assert.match(result.content[0].text, /^Pending approval: approval id approval-p-1 \(proposal p-1\)/);
    assert.equal(result._meta['autonomy/status'], 'pending');
    assert.equal(result.structuredContent.approvalId, 'approval-p-1');
  });

  it('refuses what the role does not allow as a tool error (the route answers 403), recorded as an error', async () => {
    const reply = await post(request('tools/call', { name: 'lab_things_create', arguments: { name: 'x', size: 1 } }), {
      roles: ['viewer'],
      tenant: 'viewer-t',
    });
    assert.equal(reply.body.result.isError, true);
    assert.match(reply.body.result.content[0].text, /^ForbiddenError \(403\): This needs the 'lab:write' permission/);
    const [entry] = await ledger.read('viewer-t', MCP_CALLS_STREAM, 0, 10);
    assert.ok(entry);
    const payload = (await recordDeps.payloads.get('viewer-t', entry.payloadHash)) as Record<string, unknown>;
    assert.deepEqual([payload.outcome, payload.statusCode], ['error', 403]);
  });

  it('names each bad argument of a 400 as arguments.<field>', async () => {
    const reply = await post(request('tools/call', { name: 'lab_things_create', arguments: { name: '', size: 'big' } }));
    assert.equal(reply.body.result.isError, true);
    const text = reply.body.result.content[0].text as string;
    assert.match(text, /^ValidationError \(400\)/);
    assert.match(text, /- arguments\.name: /);
    assert.match(text, /- arguments\.size: /);
  });

  it('answers a route that crashed with isError, the correlation id and nothing of the error', async () => {
    const reply = await post(request('tools/call', { name: 'lab_boom_create', arguments: {} }));
    assert.equal(reply.body.result.isError, true);
    assert.doesNotMatch(JSON.stringify(reply.body), /secret detail|at .*\.ts/);
    assert.match(reply.body.result.content[0].text, /InternalError \(500\)/);
  });

  it('answers an unknown tool with the JSON-RPC error -32602', async () => {
    const reply = await post(request('tools/call', { name: 'nope_get', arguments: {} }));
    assert.equal(reply.body.error.code, -32602);
    assert.equal(reply.body.error.message, 'Unknown tool: nope_get');
    assertFits('2025-11-25', reply.body);
  });

  it('answers an unknown method with -32601', async () => {
    const reply = await post(request('completion/complete'));
    assert.equal(reply.body.error.code, -32601);
  });
});

describe('MCP endpoint: resources and prompts', () => {
  /** A GET route only admins read, to see a resource left out of a viewer's list. */
  const secrets = defineRoute({
    engine: 'lab',
    action: 'secrets',
    method: 'GET',
    permission: 'lab:admin',
    summary: 'Read the secrets',
    parameters: z.object({}),
    result: z.object({ secret: z.string() }),
  });
  /** GET /gateway/templates with the gateway's own schemas: the built-ins and, for tenant acme, its own `incident_brief`. */
  const templates = defineRoute({
    engine: 'gateway',
    action: 'templates',
    method: 'GET',
    permission: 'gateway:read',
    summary: 'Templates',
    parameters: getTemplatesInputSchema,
    result: getTemplatesResultSchema,
  });
  const tenantTemplate: PromptTemplate = {
    name: 'incident_brief',
    description: 'Brief an on-call engineer',
    messages: [
      { role: 'system', content: 'You brief {{audience}} on incidents.' },
      { role: 'user', content: 'Summarise incident {{incident}} in {{length}} lines.' },
    ],
    defaults: { length: '3' },
  };
  const view = (template: PromptTemplate, source: 'tenant' | 'built-in', withMessages: boolean) => ({
    name: template.name,
    source,
    description: template.description ?? '',
    version: source === 'tenant' ? 1 : 0,
    hash: canonicalHash(template),
    variables: templateVariables(template),
    inForce: true,
    ...(withMessages ? { messages: template.messages, defaults: template.defaults ?? {} } : {}),
  });
  const labResources: ResourceSpec[] = [
    {
      uri: 'autonomy://lab/things/known',
      name: 'known-thing',
      title: 'The known thing',
      description: 'The thing every tenant knows',
      mimeType: 'application/json',
      tool: 'lab_things_get',
      args: () => ({ thingId: 'known' }),
    },
    {
      uri: 'autonomy://lab/secrets',
      name: 'secrets',
      title: 'Secrets',
      description: 'Admins only',
      mimeType: 'application/json',
      tool: 'lab_secrets_get',
      args: () => ({}),
    },
    {
      uri: 'autonomy://lab/things/{thingId}/sized/{limit}',
      name: 'thing',
      title: 'A thing',
      description: 'One thing, sized',
      mimeType: 'application/json',
      tool: 'lab_things_get',
      args: ({ thingId, limit }) => ({ thingId, limit }),
    },
  ];
  let target: typeof handler;

  before(async () => {
    const jwt = new JwtVerifier({
      issuer: LOCAL_ISSUER,
      audience: LOCAL_AUDIENCE,
      keys: createLocalJWKSet(jwks(key)),
      tenantClaim: 'tenant',
      rolesClaim: 'roles',
    });
    const auth = () => ({ jwt, apiKeys: new MemoryKeys() });
    const engineDeps = { auth, version: 'test', policyGate: () => gate };
    handlers.labSecrets = engineHandler(
      engineDeps,
      route(secrets, async () => ({ result: { secret: 's3cret' } })),
    );
    handlers.gatewayTemplates = engineHandler(
      engineDeps,
      route(templates, async (params, ctx) => {
        const own = ctx.tenant === 'acme' ? [tenantTemplate] : [];
        const all = [
          ...own.map((t) => ({ t, source: 'tenant' as const })),
          ...[...BUILT_IN_TEMPLATES.values()].map((t) => ({ t, source: 'built-in' as const })),
        ];
        if (params.name === undefined) return { result: { templates: all.map(({ t, source }) => view(t, source, false)) } };
        const found = all.find(({ t }) => t.name === params.name);
        if (!found) throw new NotFoundError(`Template ${params.name} not found`);
        return { result: { templates: [view(found.t, found.source, true)] } };
      }),
    );
    const engine = defineEngine({
      name: 'lab',
      description: 'test engine',
      actions: {
        things: { description: 'things', routes: [readThing], needs: [] },
        secrets: { description: 'secrets', routes: [secrets], needs: [] },
      },
    });
    const gatewayEngine = defineEngine({
      name: 'gateway',
      description: 'test gateway',
      actions: { templates: { description: 'templates', routes: [templates], needs: [] } },
    });
    const server: McpServerDeps = {
      tools: routeTools([engine, gatewayEngine]),
      invoker,
      recorder: ledgerCallRecorder(recordDeps),
      policyGate: gate,
      resources: labResources,
      serverInfo: { name: 'autonomy-test', version: '0.0.0' },
      now: () => new Date(),
    };
    target = mcpHandler({ auth, server: () => server, allowedOrigins: [] });
  });

  it('lists the fixed resources and the templates the roles may read', async () => {
    const viewer = await post(request('resources/list'), { roles: ['viewer'], target });
    assert.deepEqual(
      viewer.body.result.resources.map((resource: { uri: string }) => resource.uri),
      ['autonomy://lab/things/known'],
      'a viewer does not see the admin-only resource',
    );
    const admin = await post(request('resources/list'), { roles: ['admin'], target });
    assert.deepEqual(
      admin.body.result.resources.map((resource: { uri: string }) => resource.uri),
      ['autonomy://lab/things/known', 'autonomy://lab/secrets'],
    );
    const listedTemplates = await post(request('resources/templates/list'), { roles: ['viewer'], target });
    assert.deepEqual(listedTemplates.body.result.resourceTemplates, [
      {
        uriTemplate: 'autonomy://lab/things/{thingId}/sized/{limit}',
        name: 'thing',
        title: 'A thing',
        description: 'One thing, sized',
        mimeType: 'application/json',
      },
    ]);
    for (const revision of ['2025-06-18', '2025-11-25'] as const) {
      assertFits(revision, admin.body, 'ListResourcesResult');
      assertFits(revision, listedTemplates.body, 'ListResourceTemplatesResult');
    }
  });

  it('reads a resource through its GET route with the caller’s credentials, template variables as the query', async () => {
    const before = invoked.length;
    const fixed = await post(request('resources/read', { uri: 'autonomy://lab/things/known' }), { target });
    assert.deepEqual(fixed.body.result.contents, [
      { uri: 'autonomy://lab/things/known', mimeType: 'application/json', text: JSON.stringify({ thingId: 'known', name: 'a', size: 1 }) },
    ]);
    const templated = await post(request('resources/read', { uri: 'autonomy://lab/things/known/sized/9' }), { target });
    assert.equal(JSON.parse(templated.body.result.contents[0].text).size, 9);
    assert.deepEqual(invoked.slice(before), ['labThings GET', 'labThings GET']);
    for (const revision of ['2025-06-18', '2025-11-25'] as const) assertFits(revision, templated.body, 'ReadResourceResult');
  });

  it('answers an unknown URI, a resource the roles may not read and a route’s 404 with -32002, a 400 with -32602 naming the field', async () => {
    const unknown = await post(request('resources/read', { uri: 'autonomy://lab/nothing' }), { target });
    assert.equal(unknown.body.error.code, -32002);
    const hidden = await post(request('resources/read', { uri: 'autonomy://lab/secrets' }), { roles: ['viewer'], target });
    assert.equal(hidden.body.error.code, -32002);
    const admin = await post(request('resources/read', { uri: 'autonomy://lab/secrets' }), { roles: ['admin'], target });
    assert.deepEqual(JSON.parse(admin.body.result.contents[0].text), { secret: 's3cret' });
    const missing = await post(request('resources/read', { uri: 'autonomy://lab/things/nope/sized/1' }), { target });
    assert.equal(missing.body.error.code, -32002);
    assert.match(missing.body.error.message, /Thing nope not found/);
    const bad = await post(request('resources/read', { uri: 'autonomy://lab/things/known/sized/big' }), { target });
    assert.equal(bad.body.error.code, -32602);
    assert.match(bad.body.error.message, /query\.limit/);
    const noUri = await post(request('resources/read', {}), { target });
    assert.equal(noUri.body.error.code, -32602);
    assert.match(noUri.body.error.message, /params\.uri/);
    for (const reply of [unknown, hidden, missing, bad, noUri]) assertFits('2025-11-25', reply.body);
  });

  it('lists the templates in force as prompts, their variables as arguments, the tenant’s among the built-ins', async () => {
    const acme = await post(request('prompts/list'), { tenant: 'acme', roles: ['viewer'], target });
    const prompts = acme.body.result.prompts as Array<{ name: string; arguments: Array<{ name: string; required: boolean }> }>;
    assert.deepEqual(
      prompts.map((prompt) => prompt.name),
      ['incident_brief', ...[...BUILT_IN_TEMPLATES.keys()]].sort(),
    );
    assert.deepEqual(
      prompts.find((prompt) => prompt.name === 'incident_brief')?.arguments.map((a) => [a.name, a.required]),
      [
        ['audience', true],
        ['incident', true],
        ['length', false],
      ],
    );
    const other = await post(request('prompts/list'), { tenant: 'other', target });
    assert.deepEqual(
      other.body.result.prompts.map((prompt: { name: string }) => prompt.name),
      [...BUILT_IN_TEMPLATES.keys()].sort(),
    );
    for (const revision of ['2025-06-18', '2025-11-25'] as const) assertFits(revision, acme.body, 'ListPromptsResult');
  });

  it('renders a prompt with its arguments (system as user), and names a missing or unused argument with -32602', async () => {
    const got = await post(request('prompts/get', { name: 'incident_brief', arguments: { audience: 'the on-call', incident: 'inc-7' } }), {
      tenant: 'acme',
      target,
    });
    assert.deepEqual(got.body.result.messages, [
      { role: 'user', content: { type: 'text', text: 'You brief the on-call on incidents.' } },
      { role: 'user', content: { type: 'text', text: 'Summarise incident inc-7 in 3 lines.' } },
    ]);
    for (const revision of ['2025-06-18', '2025-11-25'] as const) assertFits(revision, got.body, 'GetPromptResult');
    const missing = await post(request('prompts/get', { name: 'incident_brief', arguments: { audience: 'x' } }), {
      tenant: 'acme',
      target,
    });
    assert.equal(missing.body.error.code, -32602);
    assert.match(missing.body.error.message, /arguments\.incident: required by template "incident_brief"/);
    assert.deepEqual(
      missing.body.error.data.issues.map((issue: { path: string }) => issue.path),
      ['arguments.incident'],
    );
    const unused = await post(
      request('prompts/get', { name: 'incident_brief', arguments: { audience: 'x', incident: 'y', tone: 'dry' } }),
      { tenant: 'acme', target },
    );
    assert.match(unused.body.error.message, /arguments\.tone: not used/);
    const elsewhere = await post(request('prompts/get', { name: 'incident_brief', arguments: {} }), { tenant: 'other', target });
    assert.equal(elsewhere.body.error.code, -32602);
    assert.match(elsewhere.body.error.message, /name: unknown prompt "incident_brief"/);
    for (const reply of [missing, unused, elsewhere]) assertFits('2025-11-25', reply.body);
  });
});

describe('MCP endpoint: HTTP', () => {
  it('answers no credentials with 401 and a WWW-Authenticate pointing at the protected-resource metadata', async () => {
    const result = await handler(mcpEvent(JSON.stringify(request('ping'))), context);
    assert.equal(result.statusCode, 401);
    const headers = result.headers as Record<string, string>;
    assert.equal(headers['www-authenticate'], 'Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"');
    assert.equal(JSON.parse(result.body ?? '{}').error, 'UnauthorizedError');
    const bad = await handler(mcpEvent(JSON.stringify(request('ping')), { authorization: 'Bearer not-a-jwt' }), context);
    assert.equal(bad.statusCode, 401);
    assert.match((bad.headers as Record<string, string>)['www-authenticate'] ?? '', /error="invalid_token"$/);
  });

  it('refuses a credential with no role of the product with 403, as every route does', async () => {
    const reply = await post(request('ping'), { roles: [] });
    assert.equal(reply.status, 403);
    assert.equal(reply.body.error, 'ForbiddenError');
  });

  it('serves the protected-resource metadata for the base URL reached', async () => {
    const metadata = protectedResourceHandler({ issuer: 'https://issuer.example.com', scopes: ['openid'] });
    const result = await metadata({ ...mcpEvent(undefined, {}, 'GET'), rawPath: '/.well-known/oauth-protected-resource' }, context);
    const body = JSON.parse(result.body ?? '{}');
    assert.deepEqual(
      {
        resource: body.resource,
        authorization_servers: body.authorization_servers,
        bearer_methods_supported: body.bearer_methods_supported,
        scopes_supported: body.scopes_supported,
      },
      {
        resource: 'https://api.example.com/mcp',
        authorization_servers: ['https://issuer.example.com'],
        bearer_methods_supported: ['header'],
        scopes_supported: ['openid'],
      },
    );
  });

  it('refuses a foreign Origin with 403 and accepts its own and the allowlisted', async () => {
    assert.equal((await post(request('ping'), { headers: { origin: 'https://evil.example.net' } })).status, 403);
    assert.equal((await post(request('ping'), { headers: { origin: 'https://api.example.com' } })).status, 200);
    assert.equal((await post(request('ping'), { headers: { origin: 'https://console.example.com' } })).status, 200);
  });

  it('refuses a Host outside the allowlist with 403 even with a matching Origin (DNS rebinding), before authentication', async () => {
    const rebound = await post(request('ping'), {
      target: hostBound,
      headers: { host: 'evil.example.com', origin: 'http://evil.example.com' },
    });
    assert.equal(rebound.status, 403);
    assert.match(rebound.body.error.message, /Host evil\.example\.com is not served here/);
    const unauthenticated = await hostBound(mcpEvent(JSON.stringify(request('ping')), { host: 'evil.example.com' }), context);
    assert.equal(unauthenticated.statusCode, 403);
    const own = await post(request('ping'), { target: hostBound, headers: { host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' } });
    assert.equal(own.status, 200);
    assert.deepEqual(own.body.result, {});
  });

  it('answers GET and DELETE with 405 and Allow: POST (stateless), after authentication', async () => {
    const authorization = `Bearer ${await token('acme', ['viewer'])}`;
    for (const method of ['GET', 'DELETE']) {
      const result = await handler(mcpEvent(undefined, { authorization, accept: 'text/event-stream' }, method), context);
      assert.equal(result.statusCode, 405, method);
      assert.equal((result.headers as Record<string, string>).allow, 'POST');
      assert.equal((await handler(mcpEvent(undefined, {}, method), context)).statusCode, 401, `${method} without credentials`);
    }
  });

  it('refuses a body that is not JSON (415), an Accept without JSON (406)', async () => {
    assert.equal((await post(request('ping'), { headers: { 'content-type': 'text/plain' } })).status, 415);
    assert.equal((await post(request('ping'), { headers: { accept: 'text/html' } })).status, 406);
    assert.equal((await post(request('ping'), { headers: { accept: '*/*' } })).status, 200);
  });
});

describe('MCP endpoint: the JSON-RPC specification examples', () => {
  const spec = JSON.parse(readFileSync(conformancePath('jsonrpc-mcp', 'jsonrpc2_spec_examples.json'), 'utf8')) as {
    cases: Array<{ name: string; request: string; response: string | null; response_parsed?: unknown }>;
  };
  /**
   * What MCP changes about the examples: batches are refused as a whole with one -32600 (MCP
   * 2025-06-18 removed them), the example server's methods (subtract, sum, get_data) do not exist
   * (-32601), and positional params are not MCP (params are an object).
   */
  function expected(example: (typeof spec.cases)[number]): { status: number; body: unknown } {
    const trimmed = example.request.trim();
    if (trimmed.startsWith('[')) {
      try {
        JSON.parse(trimmed);
      } catch {
        return { status: 400, body: { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } } };
      }
      return { status: 400, body: { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } } };
    }
    if (example.response === null) return { status: 202, body: undefined };
    const reply = example.response_parsed as { id: unknown; error?: { code: number } };
    if (reply.error) return { status: reply.error.code === -32601 ? 200 : 400, body: reply };
    const message = JSON.parse(trimmed) as { id: unknown; params?: unknown };
    // A positional-params call is an invalid MCP request; a named one reaches the SDK, which knows no `subtract`.
    if (Array.isArray(message.params))
      return { status: 400, body: { jsonrpc: '2.0', id: message.id, error: { code: -32600, message: 'Invalid Request' } } };
    return { status: 200, body: { jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } } };
  }

  for (const example of spec.cases) {
    it(`answers "${example.name}" as JSON-RPC, within MCP`, async () => {
      const reply = await post(undefined, { raw: example.request });
      const want = expected(example);
      assert.equal(reply.status, want.status, JSON.stringify(reply.body));
      const withoutData =
        reply.body === undefined
          ? undefined
          : JSON.parse(JSON.stringify(reply.body), (name, value) => (name === 'data' ? undefined : value));
      assert.deepEqual(withoutData, want.body);
      if (reply.body !== undefined) assertFits('2025-11-25', reply.body);
    });
  }
});

describe('MCP endpoint: invalid params', () => {
  it('answers tools/call without a tool name, or with arguments that are not an object, with -32602', async () => {
    for (const params of [{}, { name: 'lab_things_get', arguments: 'thingId=known' }, { name: 7 }]) {
      const reply = await post(request('tools/call', params));
      assert.equal(reply.status, 200);
      assert.equal(reply.body.error?.code, -32602, JSON.stringify(reply.body));
      assert.doesNotMatch(reply.body.error.message, /ZodError|at .*\.js/);
    }
  });
});

describe('MCP endpoint: fuzz', () => {
  const methods = ['initialize', 'ping', 'tools/list', 'tools/call', 'notifications/initialized', 'resources/list', '', 'x'.repeat(300)];
  const hostile = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.constantFrom(null, -1, 1.5, 2 ** 53, '', '\u0000', '\ud800', [], {}, { __proto__: { polluted: true } }),
  );
  const message = fc.record(
    {
      jsonrpc: fc.oneof(fc.constant('2.0'), hostile),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), hostile),
      method: fc.oneof(fc.constantFrom(...methods), hostile),
      params: fc.oneof(
        fc.record(
          { name: fc.oneof(fc.constantFrom('lab_things_create', 'lab_things_get', 'nope'), hostile), arguments: hostile },
          { requiredKeys: [] },
        ),
        fc.record(
          { protocolVersion: fc.oneof(fc.constantFrom('2025-06-18', '2025-11-25'), hostile), capabilities: hostile, clientInfo: hostile },
          { requiredKeys: [] },
        ),
        hostile,
      ),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    message.map((value) => JSON.stringify(value)),
    fc.array(message, { maxLength: 3 }).map((value) => JSON.stringify(value)),
    fc.string({ maxLength: 200 }),
  );

  it('never answers 5xx, answers every refusal with a JSON-RPC error and never with a stack or an internal message', async () => {
    const authorization = `Bearer ${await token('fuzz', ['operator'])}`;
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        const result = await handler(mcpEvent(raw, { authorization }), context);
        const status = result.statusCode ?? 0;
        const text = result.body ?? '';
        assert.ok(status < 500, `${status} for ${raw.slice(0, 200)}: ${text.slice(0, 200)}`);
        assert.doesNotMatch(text, /\bat \S+\.(ts|js):\d+|ZodError|TypeError|secret detail/, raw.slice(0, 200));
        if (status === 202) {
          assert.equal(text, '');
          return;
        }
        const reply = JSON.parse(text) as { jsonrpc?: string; id?: unknown; error?: { code: unknown; message: unknown }; result?: unknown };
        assert.equal(reply.jsonrpc, '2.0');
        assert.ok('result' in reply !== 'error' in reply, text.slice(0, 200));
        if (reply.error) {
          assert.ok(Number.isInteger(reply.error.code) && typeof reply.error.message === 'string', text.slice(0, 200));
          if (status !== 200) assert.ok(status >= 400, `${status}`);
        } else assert.equal(status, 200);
      }),
      { numRuns: 300 },
    );
  });
});
