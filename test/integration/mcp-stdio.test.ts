/**
 * The stdio bridge (`autonomy-mcp`, bin/autonomy-mcp.mjs) on the local cloud, as Claude Desktop runs
 * it: a child process spawned by the SDK's own Client over its StdioClientTransport, with the API
 * key in the environment or a token on the command line. Initialize, tools by the key's roles (the
 * same list the HTTP transport gets), a call that acts and is recorded in the ledger, and a bad key
 * the client sees as a clear auth error.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { DynamoLedgerStore } from '../../lib/adapters/aws/audit-ledger.ts';
import { S3PayloadStore } from '../../lib/adapters/aws/audit-objects.ts';
import { canonicalHash } from '../../lib/audit/digest.ts';
import { verifyStream } from '../../lib/audit/verify.ts';
import type { Role } from '../../lib/auth/roles.ts';
import { MCP_CALLS_STREAM } from '../../lib/mcp/calls.ts';
import { api, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const cloud = testCloud();
const endpoint = `${cloud.apiUrl}/mcp`;
const BRIDGE = fileURLToPath(new URL('../../bin/autonomy-mcp.mjs', import.meta.url));
const ledger = new DynamoLedgerStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), {
  ledgerTable: cloud.resources.tables.LedgerTable ?? '',
  stateTable: cloud.resources.tables.StateTable ?? '',
});
const payloads = new S3PayloadStore(new S3Client({ forcePathStyle: true }), cloud.resources.buckets.ArtifactsBucket ?? '');

const clients: Client[] = [];
after(async () => {
  for (const client of clients) await client.close();
});

/** An API key of `tenant` with `roles`, minted by the tenant's admin. */
async function mintKey(tenant: string, roles: Role[]): Promise<{ apiKey: string; keyId: string }> {
  const minted = await api('POST', '/identity/keys', { tenant, roles: ['admin'], body: { parameters: { name: 'desktop', roles } } });
  assert.equal(minted.status, 201, JSON.stringify(minted.body));
  return minted.body.result;
}

/**
 * The SDK's client on the bridge, spawned as a desktop client spawns it (node, the bin, args, env),
 * and what the bridge logged on stderr.
 */
function bridged(args: string[], env: Record<string, string>) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BRIDGE, '--endpoint', endpoint, ...args],
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  (transport.stderr as PassThrough | null)?.on('data', (chunk) => {
    stderr += chunk;
  });
  const client = new Client({ name: 'claude-desktop-like', version: '1.0.0' });
  clients.push(client);
  return { client, transport, stderr: () => stderr };
}

describe('autonomy-mcp stdio bridge on the local cloud', () => {
  it("initializes and lists exactly the tools the key's roles allow, the same list as over HTTP", async () => {
    const tenant = freshTenant('mcpio');
    const viewer = await mintKey(tenant, ['viewer']);
    const { client, transport } = bridged([], { AUTONOMY_API_KEY: viewer.apiKey });
    await client.connect(transport);
    assert.equal(client.getServerVersion()?.name, 'autonomy-plane');
    assert.deepEqual(client.getServerCapabilities()?.tools, { listChanged: false });
    const tools = (await client.listTools()).tools;
    const names = tools.map((tool) => tool.name);
    assert.ok(names.includes('audit_verify_get') && names.includes('governance_proposals_get'), names.join(', '));
    assert.ok(!names.includes('audit_record_create') && !names.includes('identity_keys_create'), 'a viewer does not write');
    // The bridge changes nothing: the HTTP transport with the same key lists the same tools.
    const direct = new Client({ name: 'direct', version: '1.0.0' });
    clients.push(direct);
    await direct.connect(
      new StreamableHTTPClientTransport(new URL(endpoint), { requestInit: { headers: { 'x-api-key': viewer.apiKey } } }),
    );
    assert.deepEqual(tools, (await direct.listTools()).tools);
    // What the bridge adds to a call: alternating calls of the same read tool, medians logged.
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
    const timings = { bridged: [] as number[], direct: [] as number[] };
    for (let i = 0; i < 15; i++) {
      for (const [name, via] of [
        ['bridged', client],
        ['direct', direct],
      ] as const) {
        const started = performance.now();
        const result = await via.callTool({ name: 'audit_verify_get', arguments: { stream: 'timing' } });
        timings[name].push(performance.now() - started);
        assert.equal(result.isError, undefined, JSON.stringify(result));
      }
    }
    const [viaBridge, viaHttp] = [median(timings.bridged), median(timings.direct)];
    console.log(
      `[mcp-stdio] audit_verify_get medians over 15 alternating calls: bridged ${viaBridge.toFixed(1)} ms, direct HTTP ${viaHttp.toFixed(1)} ms, added ${(viaBridge - viaHttp).toFixed(1)} ms`,
    );
    // An operator's key sees the write tools too.
    const operator = bridged([], { AUTONOMY_API_KEY: (await mintKey(tenant, ['operator'])).apiKey });
    await operator.client.connect(operator.transport);
    const operatorNames = (await operator.client.listTools()).tools.map((tool) => tool.name);
    assert.ok(operatorNames.includes('audit_record_create') && !operatorNames.includes('governance_approvals_create'));
    assert.ok(operatorNames.length > names.length);
  });

  it('calls a tool that acts, and the call is in the ledger under the key with the hashes of what crossed the bridge', async () => {
    const tenant = freshTenant('mcpio');
    const { apiKey, keyId } = await mintKey(tenant, ['operator']);
    const { client, transport } = bridged([], { AUTONOMY_API_KEY: apiKey });
    await client.connect(transport);
    const args = { stream: 'desktop-decisions', payload: { decision: 'rotate logs', n: randomUUID() } };
    const result = await client.callTool({ name: 'audit_record_create', arguments: args });
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.deepEqual((result.structuredContent as { stream: string; seq: number }).seq, 0);
    const verify = await api('GET', '/audit/verify?stream=desktop-decisions', { tenant, roles: ['viewer'] });
    assert.equal(verify.body.result.intact, true);
    assert.equal(verify.body.result.entries, 1);
    const entries = await ledger.read(tenant, MCP_CALLS_STREAM, 0, 1000);
    assert.equal(entries.length, 1);
    const call = (await payloads.get(tenant, entries[0]?.payloadHash ?? '')) as Record<string, unknown>;
    assert.equal(call.tool, 'audit_record_create');
    assert.equal(call.outcome, 'success');
    assert.deepEqual(call.caller, { tenant, subject: `api-key:${keyId}`, via: 'api-key' });
    assert.equal(call.argumentsSha256, canonicalHash(args));
    const { _meta: meta, ...hashed } = result;
    assert.equal(call.resultSha256, canonicalHash(hashed), 'the result reached the client unchanged');
    assert.deepEqual((meta as Record<string, unknown>)['autonomy/record'], { tenant, stream: MCP_CALLS_STREAM, seq: 0 });
    assert.equal(verifyStream({ entries, checkpoints: [], keys: { keys: [] } }).intact, true);
    // A refused call stays a tool result through the bridge.
    const refused = await client.callTool({ name: 'identity_keys_create', arguments: { name: 'x', roles: ['admin'] } });
    assert.equal(refused.isError, true);
  });

  it('takes a JWT with --token', async () => {
    const tenant = freshTenant('mcpio');
    const token = await tokenFor({ tenant, roles: ['viewer'] });
    const { client, transport } = bridged(['--token', token], {});
    await client.connect(transport);
    const result = await client.callTool({ name: 'audit_verify_get', arguments: { stream: 'empty' } });
    assert.equal((result.structuredContent as { intact: boolean }).intact, true);
    const [entry] = await ledger.read(tenant, MCP_CALLS_STREAM, 0, 10);
    const call = (await payloads.get(tenant, entry?.payloadHash ?? '')) as Record<string, unknown>;
    assert.deepEqual(call.caller, { tenant, subject: `local:${tenant}`, via: 'jwt' });
  });

  it('shows the client a bad key as a clear auth error on initialize, with no stack anywhere', async () => {
    const badKey = `apk_${freshTenant('mcpio')}_0123456789abcdef_${'x'.repeat(43)}`;
    const { client, transport, stderr } = bridged([], { AUTONOMY_API_KEY: badKey });
    const refused = await client.connect(transport).then(
      () => undefined,
      (error: unknown) => error as Error & { code?: number; data?: Record<string, unknown> },
    );
    assert.ok(refused, 'initialize is refused');
    assert.equal(refused.code, -32000);
    assert.match(refused.message, /HTTP 401 Unauthorized: UnauthorizedError: .+\(check the API key or token/);
    assert.equal(refused.data?.httpStatus, 401);
    assert.match(
      String(refused.data?.wwwAuthenticate),
      /^Bearer resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource", error="invalid_token"$/,
    );
    assert.doesNotMatch(refused.message, /\bat \S+\.(ts|js|mjs):\d+/);
    assert.match(stderr(), /HTTP 401/);
    assert.doesNotMatch(stderr(), /\bat \S+\.(ts|js|mjs):\d+/, 'no stack on stderr');
    assert.ok(!stderr().includes(badKey), 'the key is never logged');
  });
});
