/**
 * The MCP server on the local cloud, through the HTTP API: the SDK's own Client over its
 * StreamableHTTPClientTransport and a raw fetch JSON-RPC client. Tools by role, calls that act and
 * are recorded in the ledger (read back from DynamoDB and S3 as an auditor would), a governance
 * proposal that waits for people, refusals as tool errors, resources and prompts read through their
 * routes, the 401 challenge and the Origin check.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { DynamoLedgerStore } from '../../lib/adapters/aws/audit-ledger.ts';
import { S3PayloadStore } from '../../lib/adapters/aws/audit-objects.ts';
import { canonicalHash } from '../../lib/audit/digest.ts';
import { verifyStream } from '../../lib/audit/verify.ts';
import type { Role } from '../../lib/auth/roles.ts';
import { BUILT_IN_TEMPLATES, renderTemplate, templateVariables } from '../../lib/gateway/templates.ts';
import { MCP_CALLS_STREAM } from '../../lib/mcp/calls.ts';
import { api, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';
import { validateMcp } from '../helpers/mcp-schema.ts';

const cloud = testCloud();
const endpoint = new URL(`${cloud.apiUrl}/mcp`);
const ledger = new DynamoLedgerStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), {
  ledgerTable: cloud.resources.tables.LedgerTable ?? '',
  stateTable: cloud.resources.tables.StateTable ?? '',
});
const payloads = new S3PayloadStore(new S3Client({ forcePathStyle: true }), cloud.resources.buckets.ArtifactsBucket ?? '');

const clients: Client[] = [];
after(async () => {
  for (const client of clients) await client.close();
});

/** The SDK's client, connected (initialize, initialized) as `tenant` with `roles`. */
async function sdkClient(tenant: string, roles: Role[]): Promise<Client> {
  const token = await tokenFor({ tenant, roles });
  const client = new Client({ name: 'autonomy-integration', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(endpoint, { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  clients.push(client);
  return client;
}

/** One JSON-RPC message by fetch, as any HTTP client would send it. */
async function rpc(message: unknown, headers: Record<string, string>) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      ...headers,
    },
    body: JSON.stringify(message),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON-RPC replies
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as any };
}

/** The tenant's mcp.calls entries with their payloads, read from the ledger table and the bucket. */
async function recordedCalls(tenant: string): Promise<Array<Record<string, unknown>>> {
  const entries = await ledger.read(tenant, MCP_CALLS_STREAM, 0, 1000);
  return Promise.all(
    entries.map(async (entry) => ({
      seq: entry.seq,
      actor: entry.actor,
      ...((await payloads.get(tenant, entry.payloadHash)) as Record<string, unknown>),
    })),
  );
}

describe('MCP server with the SDK client', () => {
  it('initializes (2025-11-25), and lists a viewer its read tools and an operator its write tools too', async () => {
    const tenant = freshTenant('mcp');
    const viewer = await sdkClient(tenant, ['viewer']);
    assert.equal(viewer.getServerVersion()?.name, 'autonomy-plane');
    assert.deepEqual(viewer.getServerCapabilities()?.tools, { listChanged: false });
    const viewerTools = (await viewer.listTools()).tools.map((tool) => tool.name);
    assert.ok(viewerTools.includes('audit_verify_get') && viewerTools.includes('governance_proposals_get'));
    assert.ok(!viewerTools.includes('audit_record_create'), 'a viewer does not write');
    assert.ok(
      viewerTools.every((name) => name.endsWith('_get') || name === 'audit_export_create'),
      viewerTools.join(', '),
    );
    const operatorTools = (await (await sdkClient(tenant, ['operator'])).listTools()).tools;
    const names = operatorTools.map((tool) => tool.name);
    assert.ok(
      names.includes('audit_record_create') && names.includes('governance_proposals_create') && names.includes('observation_ingest_create'),
    );
    assert.ok(
      !names.includes('governance_approvals_create') && !names.includes('identity_keys_create'),
      'nor approvals nor keys for an operator',
    );
    assert.ok(
      !names.some((name) => name.startsWith('mcp_') || name.startsWith('platform_')),
      'the MCP endpoint and public routes are no tools',
    );
    for (const tool of operatorTools) assert.deepEqual(validateMcp('2025-11-25', 'Tool', tool), [], tool.name);
  });

  it('calls an audit action that appends to the ledger, and records the call with the hashes of its arguments and result', async () => {
    const tenant = freshTenant('mcp');
    const client = await sdkClient(tenant, ['operator']);
    const args = { stream: 'mcp-decisions', payload: { decision: 'scale up', by: 'agent', n: randomUUID() } };
    const result = await client.callTool({ name: 'audit_record_create', arguments: args });
    assert.equal(result.isError, undefined, JSON.stringify(result));
    const recorded = result.structuredContent as { seq: number; hash: string; stream: string };
    assert.equal(recorded.stream, 'mcp-decisions');
    assert.equal(recorded.seq, 0);
    // The route acted: its record is in the tenant's stream, and the chain verifies.
    const verify = await api('GET', '/audit/verify?stream=mcp-decisions', { tenant, roles: ['viewer'] });
    assert.equal(verify.body.result.intact, true);
    assert.equal(verify.body.result.entries, 1);
    // The call is in mcp.calls, with the hashes of exactly what was sent and returned.
    const [call] = await recordedCalls(tenant);
    assert.ok(call, 'the call is recorded');
    assert.equal(call.tool, 'audit_record_create');
    assert.equal(call.outcome, 'success');
    assert.equal(call.statusCode, 201);
    assert.equal(call.argumentsSha256, canonicalHash(args));
    const { _meta: meta, ...hashed } = result;
    assert.equal(call.resultSha256, canonicalHash(hashed));
    assert.deepEqual((meta as Record<string, unknown>)['autonomy/record'], { tenant, stream: MCP_CALLS_STREAM, seq: call.seq });
    assert.deepEqual(call.caller, { tenant, subject: `local:${tenant}`, via: 'jwt' });
    assert.deepEqual(call.routeLedger, { tenant, stream: 'mcp-decisions', seq: 0 });
    const chain = await ledger.read(tenant, MCP_CALLS_STREAM, 0, 1000);
    assert.equal(verifyStream({ entries: chain, checkpoints: [], keys: { keys: [] } }).intact, true);
  });

  it('returns a governance proposal that needs people as pending, with its approval id, and acts on nothing', async () => {
    const tenant = freshTenant('mcp');
    const client = await sdkClient(tenant, ['operator']);
    const result = await client.callTool({
      name: 'governance_proposals_create',
      arguments: { engine: 'closure', action: 'terminate', target: 'agent/mcp', environment: 'prod', reason: 'an agent asks through MCP' },
    });
    assert.equal(result.isError, undefined);
    const proposal = result.structuredContent as { proposalId: string; approvalId: string; status: string };
    assert.equal(proposal.status, 'pending');
    assert.match(proposal.approvalId, /^approval-/);
    const text = (result.content as Array<{ text: string }>)[0]?.text ?? '';
    assert.ok(text.startsWith(`Pending approval: approval id ${proposal.approvalId} (proposal ${proposal.proposalId})`), text);
    assert.equal((result._meta as Record<string, unknown>)['autonomy/status'], 'pending');
    const [call] = await recordedCalls(tenant);
    assert.deepEqual([call?.tool, call?.outcome, call?.statusCode], ['governance_proposals_create', 'pending', 202]);
    const stored = await api('GET', `/governance/proposals?proposalId=${proposal.proposalId}`, { tenant, roles: ['viewer'] });
    assert.equal(stored.body.result.proposals[0].status, 'pending');
  });

  it("refuses a call the role does not allow as a tool error with the route's 403, recorded as an error", async () => {
    const tenant = freshTenant('mcp');
    const client = await sdkClient(tenant, ['viewer']);
    const result = await client.callTool({ name: 'audit_record_create', arguments: { stream: 'nope', payload: {} } });
    assert.equal(result.isError, true);
    const text = (result.content as Array<{ text: string }>)[0]?.text ?? '';
    assert.match(text, /^ForbiddenError \(403\): This needs the 'audit:write' permission/);
    assert.doesNotMatch(text, /\bat \S+\.(ts|js):\d+/, 'no stack');
    const verify = await api('GET', '/audit/verify?stream=nope', { tenant, roles: ['viewer'] });
    assert.equal(verify.body.result.entries ?? 0, 0, 'nothing was appended');
    const [call] = await recordedCalls(tenant);
    assert.deepEqual([call?.outcome, call?.statusCode], ['error', 403]);
  });

  it('names a bad argument of a 400 as arguments.<field>, and answers an unknown tool with a JSON-RPC error', async () => {
    const client = await sdkClient(freshTenant('mcp'), ['operator']);
    const result = await client.callTool({ name: 'audit_record_create', arguments: { stream: 'Not A Stream', payload: {} } });
    assert.equal(result.isError, true);
    assert.match((result.content as Array<{ text: string }>)[0]?.text ?? '', /- arguments\.stream: /);
    await assert.rejects(client.callTool({ name: 'no_such_tool_get', arguments: {} }), /Unknown tool: no_such_tool_get/);
  });
});

describe('MCP resources and prompts', () => {
  it('reads a ledger stream’s newest entries and the pending approvals through their routes, as the caller', async () => {
    const tenant = freshTenant('mcp');
    const client = await sdkClient(tenant, ['operator']);
    for (const n of [1, 2]) {
      const recorded = await client.callTool({ name: 'audit_record_create', arguments: { stream: 'mcp-resources', payload: { n } } });
      assert.equal(recorded.isError, undefined, JSON.stringify(recorded));
    }
    const listed = (await client.listResources()).resources.map((resource) => resource.uri);
    assert.ok(listed.includes('autonomy://governance/approvals/pending'), listed.join(', '));
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((template) => template.uriTemplate);
    assert.ok(templates.includes('autonomy://ledger/{stream}'), templates.join(', '));
    const read = await client.readResource({ uri: 'autonomy://ledger/mcp-resources' });
    const [content] = read.contents;
    assert.equal(content?.mimeType, 'application/x-ndjson');
    const lines = String((content as { text: string }).text)
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; entry?: { seq: number }; payload?: unknown });
    assert.equal(lines[0]?.type, 'header');
    assert.deepEqual(
      lines.slice(1).map((line) => [line.entry?.seq, line.payload]),
      [
        [0, { n: 1 }],
        [1, { n: 2 }],
      ],
    );
    const approvals = await client.readResource({ uri: 'autonomy://governance/approvals/pending' });
    assert.equal(approvals.contents[0]?.mimeType, 'application/json');
    assert.equal(typeof JSON.parse(String((approvals.contents[0] as { text: string }).text)), 'object');
    await assert.rejects(client.readResource({ uri: 'autonomy://nothing/here' }), (error: { code?: number }) => error.code === -32002);
  });

  it('lists the gateway’s templates as prompts and renders one, a missing argument a -32602 naming it', async () => {
    const tenant = freshTenant('mcp');
    const client = await sdkClient(tenant, ['viewer']);
    const prompts = (await client.listPrompts()).prompts;
    for (const name of BUILT_IN_TEMPLATES.keys())
      assert.ok(
        prompts.some((prompt) => prompt.name === name),
        name,
      );
    const template = BUILT_IN_TEMPLATES.get('developer_mode');
    assert.ok(template);
    const required = templateVariables(template).filter((variable) => variable.required);
    assert.ok(required.length > 0);
    const args = Object.fromEntries(required.map((variable) => [variable.name, `value-of-${variable.name}`]));
    const got = await client.getPrompt({ name: 'developer_mode', arguments: args });
    assert.deepEqual(
      got.messages.map((message) => (message.content as { text: string }).text),
      renderTemplate(template, args).messages.map((message) => message.content),
    );
    const [first] = required;
    const { [first?.name ?? '']: _missing, ...partial } = args;
    await assert.rejects(
      client.getPrompt({ name: 'developer_mode', arguments: partial }),
      (error: { code?: number; message?: string }) => error.code === -32602 && String(error.message).includes(`arguments.${first?.name}`),
    );
  });
});

describe('MCP server with a raw JSON-RPC client', () => {
  it('initializes, lists and calls over plain POSTs with an API key', async () => {
    const tenant = freshTenant('mcp');
    const minted = await api('POST', '/identity/keys', {
      tenant,
      roles: ['admin'],
      body: { parameters: { name: 'mcp-agent', roles: ['operator'] } },
    });
    const headers = { 'x-api-key': minted.body.result.apiKey as string };
    const init = await rpc(
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '0' } },
      },
      headers,
    );
    assert.equal(init.status, 200);
    assert.equal(init.body.result.protocolVersion, '2025-06-18');
    assert.deepEqual(validateMcp('2025-06-18', 'InitializeResult', init.body.result), []);
    assert.equal(init.headers.get('mcp-session-id'), null);
    assert.equal((await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status, 202);
    const listed = await rpc({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, headers);
    assert.deepEqual(validateMcp('2025-06-18', 'ListToolsResult', listed.body.result), []);
    const called = await rpc(
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'audit_verify_get', arguments: { stream: 'empty' } } },
      headers,
    );
    assert.equal(called.body.id, 3);
    assert.deepEqual(validateMcp('2025-06-18', 'CallToolResult', called.body.result), []);
    assert.equal(called.body.result.structuredContent.intact, true);
    const [call] = await recordedCalls(tenant);
    assert.deepEqual(call?.caller, { tenant, subject: `api-key:${minted.body.result.keyId}`, via: 'api-key' });
  });

  it('answers no credentials with 401 and a WWW-Authenticate naming the protected-resource metadata, which is served', async () => {
    const reply = await rpc({ jsonrpc: '2.0', id: 1, method: 'ping' }, {});
    assert.equal(reply.status, 401);
    assert.equal(reply.headers.get('www-authenticate'), `Bearer resource_metadata="${cloud.apiUrl}/.well-known/oauth-protected-resource"`);
    const metadata = await fetch(`${cloud.apiUrl}/.well-known/oauth-protected-resource`);
    assert.equal(metadata.status, 200);
    const body = (await metadata.json()) as Record<string, unknown>;
    assert.equal(body.resource, `${cloud.apiUrl}/mcp`);
    assert.deepEqual(body.authorization_servers, ['urn:autonomy:local-idp']);
    assert.deepEqual(body.bearer_methods_supported, ['header']);
  });

  it('refuses a foreign Origin with 403 before anything else, and GET with 405', async () => {
    const token = await tokenFor({ tenant: freshTenant('mcp'), roles: ['admin'] });
    const foreign = await rpc(
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      { authorization: `Bearer ${token}`, origin: 'https://attacker.example' },
    );
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.error.code, -32000);
    assert.equal(
      (await rpc({ jsonrpc: '2.0', id: 1, method: 'ping' }, { authorization: `Bearer ${token}`, origin: cloud.apiUrl })).status,
      200,
    );
    const stream = await fetch(endpoint, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
    assert.equal(stream.status, 405);
    assert.equal(stream.headers.get('allow'), 'POST');
  });

  // The seeds' target (< 200 ms added) is measured by `npm run bench:mcp-overhead`; on a shared 2-core CI machine a
  // timed assertion at the target flakes, so this case bounds the overhead relative to the direct call in the same run.
  it('adds little to a call on the local cloud, measured against the same route over HTTP in the same run', async (t) => {
    const tenant = freshTenant('mcp');
    const token = await tokenFor({ tenant, roles: ['viewer'] });
    const headers = { authorization: `Bearer ${token}` };
    const direct = async () => {
      const started = performance.now();
      const reply = await fetch(`${cloud.apiUrl}/audit/verify?stream=timing`, { headers });
      assert.equal(reply.status, 200);
      await reply.text();
      return performance.now() - started;
    };
    let id = 100;
    const viaMcp = async () => {
      const started = performance.now();
      const reply = await rpc(
        { jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'audit_verify_get', arguments: { stream: 'timing' } } },
        headers,
      );
      assert.equal(reply.body.result.isError, undefined);
      return performance.now() - started;
    };
    // Warm both paths' functions, then alternate.
    await direct();
    await viaMcp();
    const directs: number[] = [];
    const mcps: number[] = [];
    for (let i = 0; i < 15; i++) {
      directs.push(await direct());
      mcps.push(await viaMcp());
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
    const added = median(mcps) - median(directs);
    t.diagnostic(
      `local cloud, 15 calls each: direct HTTP median ${median(directs).toFixed(1)} ms, through MCP ${median(mcps).toFixed(1)} ms, added ${added.toFixed(1)} ms`,
    );
    // Warm, the MCP path is one more function in front of the same route: a cold start per call or a second
    // route invocation would add at least a direct call's time again.
    assert.ok(added < Math.max(200, median(directs)), `MCP adds ${added.toFixed(1)} ms to a ${median(directs).toFixed(1)} ms call`);
  });
});
