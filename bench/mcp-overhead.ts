/**
 * MCP tool-call overhead per call, in process: a `tools/call` through the whole MCP endpoint
 * (lib/mcp/http.ts: Origin check, JWT authentication, JSON-RPC framing, params check, a fresh SDK
 * server and Streamable HTTP transport, the route's API Gateway event, the reply as a tool result,
 * the call recorded through the Audit engine's `record` on its in-memory ledger) against the same
 * action called directly as HTTP (lib/api/engine-handler.ts with the same event an HTTP client
 * sends). Both run the same engine handler for a trivial route, alternating in one loop so load
 * hits both alike; the difference is what MCP adds. The issue's target: under 5 ms in process.
 *
 * Not included: the network, Lambda's Invoke of the route's function (a deployed call pays one
 * synchronous invocation, ~10-30 ms warm on AWS), and the ledger's round trips to DynamoDB and S3
 * (the README gives the local cloud's end-to-end figures from test/integration/mcp.test.ts).
 *
 * Run: `npm run bench:mcp-overhead [-- --iterations 2000 --warm-up 300]`.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createLocalJWKSet } from 'jose';
import { z } from 'zod';
import { jwks, LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';
import { engineHandler, route } from '../lib/api/engine-handler.ts';
import { defineRoute } from '../lib/api/route.ts';
import { MemoryLedgerStore, MemoryPayloadStore, MemoryStreamRegistry } from '../lib/audit/memory-store.ts';
import type { ApiKeyStore, StoredApiKey } from '../lib/auth/api-keys.ts';
import { JwtVerifier } from '../lib/auth/jwt.ts';
import { defineEngine } from '../lib/engines/manifest.ts';
import { ledgerCallRecorder, type RouteInvoker } from '../lib/mcp/calls.ts';
import { mcpHandler } from '../lib/mcp/http.ts';
import { routeTools } from '../lib/mcp/tools.ts';

const noKeys: ApiKeyStore = {
  create: async (_key: StoredApiKey) => {},
  get: async () => undefined,
  list: async () => [],
  revoke: async () => Promise.reject(new Error('no keys')),
};

const recordSpec = defineRoute({
  engine: 'bench',
  action: 'notes',
  method: 'POST',
  permission: 'bench:write',
  summary: 'Keep a note',
  parameters: z.object({ text: z.string().max(200), n: z.number().int() }),
  result: z.object({ kept: z.boolean(), n: z.number() }),
});
const benchEngine = defineEngine({
  name: 'bench',
  description: 'bench',
  actions: { notes: { description: 'notes', routes: [recordSpec], needs: [] } },
});

const context = { functionName: 'bench', awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

function event(method: string, routePath: string, headers: Record<string, string>, body: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} ${routePath}`,
    rawPath: routePath,
    rawQueryString: '',
    headers: { host: 'api.example.com', 'content-type': 'application/json', ...headers },
    requestContext: {
      accountId: '1',
      apiId: 'api',
      domainName: 'api.example.com',
      requestId: 'r',
      stage: '$default',
      http: { method, path: routePath, sourceIp: '10.0.0.1', userAgent: 'bench' },
    },
    body,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Prints p50/p95/p99 of a direct call, a call through MCP and their difference; returns the overhead's p50 and p95 (ms). */
export async function benchMcpOverhead(options: { iterations: number; warmUp: number }): Promise<{ p50: number; p95: number }> {
  const key = await loadOrCreateIdpKey(await mkdtemp(path.join(os.tmpdir(), 'bench-mcp-')));
  const jwt = new JwtVerifier({
    issuer: LOCAL_ISSUER,
    audience: LOCAL_AUDIENCE,
    keys: createLocalJWKSet(jwks(key)),
    tenantClaim: 'tenant',
    rolesClaim: 'roles',
  });
  const auth = () => ({ jwt, apiKeys: noKeys });
  const route_ = engineHandler(
    { auth, version: 'bench' },
    route(recordSpec, async (params) => ({ result: { kept: true, n: params.n } })),
  );
  const invoker: RouteInvoker = {
    async invoke(_functionName, routeEvent) {
      const reply = await route_(routeEvent, context);
      return { statusCode: reply.statusCode ?? 200, headers: (reply.headers ?? {}) as Record<string, string>, body: reply.body ?? '' };
    },
  };
  const ledger = { ledger: new MemoryLedgerStore(), payloads: new MemoryPayloadStore(), registry: new MemoryStreamRegistry() };
  const server = {
    tools: routeTools([benchEngine]),
    invoker,
    recorder: ledgerCallRecorder(ledger),
    serverInfo: { name: 'bench', version: '0' },
    now: () => new Date(),
  };
  const mcp = mcpHandler({ auth, server: () => server, allowedOrigins: [] });
  const authorization = `Bearer ${await signLocalToken(key, { tenant: 'bench', roles: ['operator'] })}`;
  const headers = { authorization, accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
  let id = 0;
  const direct = async (n: number) => {
    const started = performance.now();
    const reply = await route_(
      event('POST', '/bench/notes', { authorization }, JSON.stringify({ parameters: { text: 'a note', n } })),
      context,
    );
    if (reply.statusCode !== 200) throw new Error(`direct call: ${reply.statusCode} ${reply.body}`);
    return performance.now() - started;
  };
  const viaMcp = async (n: number) => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: ++id,
      method: 'tools/call',
      params: { name: 'bench_notes_create', arguments: { text: 'a note', n } },
    });
    const started = performance.now();
    const reply = await mcp(event('POST', '/mcp', headers, body), context);
    const elapsed = performance.now() - started;
    const result = JSON.parse(reply.body ?? '{}').result;
    if (reply.statusCode !== 200 || !result || result.isError) throw new Error(`MCP call: ${reply.statusCode} ${reply.body}`);
    return elapsed;
  };
  for (let i = 0; i < options.warmUp; i++) {
    await direct(i);
    await viaMcp(i);
  }
  const directs: number[] = [];
  const mcps: number[] = [];
  for (let i = 0; i < options.iterations; i++) {
    directs.push(await direct(i));
    mcps.push(await viaMcp(i));
  }
  const overheads = mcps.map((value, index) => value - (directs[index] ?? 0)).sort((a, b) => a - b);
  directs.sort((a, b) => a - b);
  mcps.sort((a, b) => a - b);
  const row = (name: string, values: number[]) =>
    `| ${name} | ${percentile(values, 50).toFixed(3)} | ${percentile(values, 95).toFixed(3)} | ${percentile(values, 99).toFixed(3)} |`;
  console.log(
    `MCP tool-call overhead in process: ${options.iterations} calls each (after ${options.warmUp} warm-up), alternating; load average ${os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
  console.log('');
  console.log('| path | p50 ms | p95 ms | p99 ms |');
  console.log('|---|---|---|---|');
  console.log(row('direct (engine handler, HTTP event)', directs));
  console.log(row('through MCP (tools/call, ledger record)', mcps));
  console.log(row('overhead (pairwise difference)', overheads));
  return { p50: percentile(overheads, 50), p95: percentile(overheads, 95) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { iterations: { type: 'string', default: '2000' }, 'warm-up': { type: 'string', default: '300' } },
  });
  const number = (name: string, value: string | undefined, min: number) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return parsed;
  };
  await benchMcpOverhead({ iterations: number('iterations', values.iterations, 1), warmUp: number('warm-up', values['warm-up'], 0) });
}
