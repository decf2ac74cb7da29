/**
 * Load on loopback: autocannon drives routes of a local cloud it boots, with 1, 4, 16 and 64
 * connections in turn, and prints per step the throughput, latency p50/p95/p99, non-2xx and 5xx
 * counts, and where each route saturates (throughput stops growing, or errors appear). Every step
 * is bounded in time (`LOAD_SECONDS`, default 5) and in requests (`LOAD_MAX_REQUESTS`, default
 * 20,000), and only 127.0.0.1 is targeted.
 *
 * Each connection has its own series or stream, and rotates over its own few tenants, so the
 * per-tenant request budget (6,000 a minute) never shapes the figures. A 5xx below saturation
 * fails the run (exit code 1): "zero 5xx below saturation" is the property this bench holds.
 *
 * Routes that land later (the gateway, MCP) are one more entry in `targets`.
 * Run alone: `node bench/load.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startLocalCloud } from '../infra/local/cloud.ts';
import { loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';
import { freePorts } from '../infra/local/ports.ts';
import type { Role } from '../lib/auth/roles.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STEPS = [1, 4, 16, 64];
const SECONDS = Number(process.env.LOAD_SECONDS ?? 5);
const MAX_REQUESTS = Number(process.env.LOAD_MAX_REQUESTS ?? 20_000);
/** Tenants each connection rotates over. */
const TENANTS_PER_CONNECTION = 4;
/** A step whose throughput grew less than this over the previous one (4× the connections) is saturated. */
const GROWTH_FLOOR = 1.1;

/** One route under load: its method and path, the role it needs, and the body of a connection's n-th request. */
interface Target {
  name: string;
  method: 'POST' | 'PUT';
  path: string;
  role: Role;
  body: (connection: number, n: number) => unknown;
}

const T0 = Date.UTC(2026, 0, 1);
const targets: Target[] = [
  {
    name: 'POST /observation/ingest (one point, a series per connection)',
    method: 'POST',
    path: '/observation/ingest',
    role: 'operator',
    body: (connection, n) => ({
      parameters: { point: { series: `load.c${connection}`, timestamp: new Date(T0 + n * 1000).toISOString(), value: 100 + (n % 7) } },
    }),
  },
  {
    name: 'POST /audit/record (a stream per connection)',
    method: 'POST',
    path: '/audit/record',
    role: 'operator',
    body: (connection, n) => ({ parameters: { stream: `load-c${connection}`, payload: { kind: 'load', n } } }),
  },
  {
    name: 'POST /audit/record (one stream per tenant, all connections racing for its head)',
    method: 'POST',
    path: '/audit/record',
    role: 'operator',
    body: (_connection, n) => ({ parameters: { stream: 'load-shared', payload: { kind: 'load', n } } }),
  },
];

/** What one step measured. */
interface StepResult {
  connections: number;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  non2xx: number;
  status5xx: number;
  errors: number;
  codes: Record<string, number>;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function step(
  apiUrl: string,
  target: Target,
  connections: number,
  tokens: (connection: number, n: number) => string,
  counters: number[],
  seconds: number,
): Promise<StepResult> {
  let nextConnection = 0;
  const latencies: number[] = [];
  const codes: Record<string, number> = {};
  let finished: (result: autocannon.Result) => void = () => {};
  let failed: (error: Error) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finished = resolve;
    failed = reject;
  });
  const instance = autocannon(
    {
      url: `${apiUrl}${target.path}`,
      connections,
      duration: seconds,
      maxOverallRequests: MAX_REQUESTS,
      timeout: 30,
      // Each client is one connection with its own series or stream; its request counter carries over
      // from step to step, so timestamps keep increasing.
      setupClient: (client) => {
        const connection = nextConnection++;
        client.setRequests([
          {
            method: target.method,
            setupRequest: (request) => {
              const n = nextRequest(counters, connection);
              return {
                ...request,
                headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens(connection, n)}` },
                body: JSON.stringify(target.body(connection, n)),
              };
            },
          },
        ]);
      },
    },
    (error, result) => (error ? failed(error) : finished(result)),
  );
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
    codes[statusCode] = (codes[statusCode] ?? 0) + 1;
  });
  const result = await done;
  latencies.sort((a, b) => a - b);
  const status5xx = Object.entries(codes).reduce((sum, [code, count]) => sum + (Number(code) >= 500 ? count : 0), 0);
  const non2xx = Object.entries(codes).reduce((sum, [code, count]) => sum + (Number(code) < 200 || Number(code) >= 300 ? count : 0), 0);
  return {
    connections,
    requests: latencies.length,
    rps: latencies.length / (result.duration || seconds),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    non2xx,
    status5xx,
    errors: result.errors,
    codes,
  };
}

/** The next request number of a connection (its series' timestamps keep increasing across steps). */
function nextRequest(counters: number[], connection: number): number {
  const n = (counters[connection] ?? 0) + 1;
  counters[connection] = n;
  return n;
}

/** One request on connection 0's series or stream, awaited (at most 60 s). */
async function settle(
  apiUrl: string,
  target: Target,
  tokens: (connection: number, n: number) => string,
  counters: number[],
): Promise<void> {
  const n = nextRequest(counters, 0);
  const reply = await fetch(`${apiUrl}${target.path}`, {
    method: target.method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens(0, n)}` },
    body: JSON.stringify(target.body(0, n)),
    signal: AbortSignal.timeout(60_000),
  });
  await reply.arrayBuffer();
}

/** The first step that is saturated: errors appear, or throughput grows < 10 % over the previous step. */
function saturation(results: readonly StepResult[]): { index: number; why: string } | undefined {
  for (const [index, result] of results.entries()) {
    if (result.status5xx > 0 || result.errors > 0 || result.non2xx > 0)
      return { index, why: `${result.non2xx} non-2xx, ${result.errors} connection errors` };
    const previous = results[index - 1];
    if (previous && result.rps < previous.rps * GROWTH_FLOOR)
      return { index, why: `throughput ${result.rps.toFixed(0)}/s vs ${previous.rps.toFixed(0)}/s at ${previous.connections}` };
  }
  return undefined;
}

/** Boots a local cloud, loads each target in steps, prints the table; exit code 1 on a 5xx below saturation. */
export async function benchLoad(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-load-bench-'));
  const cloud = await startLocalCloud({ root, dataDir, ports: await freePorts(), stage: 'local', functionOutput: 'silent', log: () => {} });
  try {
    if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(cloud.apiUrl))
      throw new Error(`refusing to load ${cloud.apiUrl}: loopback only`);
    const key = await loadOrCreateIdpKey(dataDir);
    console.log(
      `# Load on loopback (autocannon; ${STEPS.join(', ')} connections, ${SECONDS} s or ${MAX_REQUESTS.toLocaleString('en-US')} requests per step)\n`,
    );
    for (const [targetIndex, target] of targets.entries()) {
      const signed = new Map<string, string>();
      for (let connection = 0; connection < Math.max(...STEPS); connection += 1) {
        for (let t = 0; t < TENANTS_PER_CONNECTION; t += 1) {
          const tenant = `load-${targetIndex}-${connection}-${t}`;
          signed.set(`${connection}/${t}`, await signLocalToken(key, { tenant, roles: [target.role] }));
        }
      }
      const tokens = (connection: number, n: number) => signed.get(`${connection}/${n % TENANTS_PER_CONNECTION}`) ?? '';
      // Warm every environment the steps will use (not measured; its requests come first in each series).
      const counters: number[] = [];
      await step(cloud.apiUrl, target, 16, tokens, counters, 2);
      const results: StepResult[] = [];
      for (const connections of STEPS) {
        // Requests a step left in flight are still served after it ends: one awaited request first,
        // queued behind them, so a step starts on an idle route.
        await settle(cloud.apiUrl, target, tokens, counters);
        results.push(await step(cloud.apiUrl, target, connections, tokens, counters, SECONDS));
      }
      const saturated = saturation(results);
      console.log(`## ${target.name}\n`);
      console.log('| connections | requests | req/s | p50 ms | p95 ms | p99 ms | non-2xx | 5xx | status codes |');
      console.log('|---|---|---|---|---|---|---|---|---|');
      for (const r of results) {
        const codes = Object.entries(r.codes)
          .map(([code, count]) => `${code}×${count}`)
          .join(' ');
        console.log(
          `| ${r.connections} | ${r.requests} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.non2xx} | ${r.status5xx} | ${codes} |`,
        );
      }
      const best = results.reduce((a, b) => (b.rps > a.rps ? b : a));
      console.log(
        saturated
          ? `\nsaturates at ${results[saturated.index]?.connections} connections (${saturated.why}); peak ${best.rps.toFixed(0)} req/s at ${best.connections}`
          : `\nnot saturated at ${STEPS.at(-1)} connections; peak ${best.rps.toFixed(0)} req/s`,
      );
      const below = results.slice(0, saturated?.index ?? results.length);
      const early5xx = below.reduce((sum, r) => sum + r.status5xx, 0);
      if (early5xx > 0) {
        console.log(`FAIL: ${early5xx} 5xx below saturation`);
        process.exitCode = 1;
      }
      console.log('');
    }
  } finally {
    await cloud.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchLoad();
