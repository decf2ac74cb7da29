/**
 * Middleware overhead per invocation, in process: p50/p95/p99 of one API Gateway v2 event through
 *  1. a bare async handler (JSON.parse + JSON.stringify),
 *  2. plain middy + Powertools logger/metrics middleware + zod (the peer the issue names, ~7.6 µs p50),
 *  3. our engineHandler: the same plus correlation id, JWT verification (RS256, jose, key set
 *     cached as after the first request), the role check and the request/response envelopes.
 * No I/O happens in the timed region: the key set is local, the route does no work, and metrics are
 * counted but not flushed (POWERTOOLS_METRICS_DISABLED), for both stacks alike.
 * Run alone: `node bench/middleware.ts`.
 */
import './quiet-powertools.ts';
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createLocalJWKSet } from 'jose';
import { z } from 'zod';
import { engineHandler, route } from '../lib/api/engine-handler.ts';
import { defineRoute } from '../lib/api/route.ts';
import type { ApiKeyStore } from '../lib/auth/api-keys.ts';
import { JwtVerifier } from '../lib/auth/jwt.ts';
import { jwks, LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp } from 'node:fs/promises';


const parameters = z.object({ series: z.string().min(1), value: z.number() });
const body = JSON.stringify({ parameters: { series: 'cpu', value: 1.5 } });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function measure(name: string, invoke: () => Promise<unknown>, iterations = 20_000): Promise<number> {
  for (let i = 0; i < 2_000; i++) await invoke();
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await invoke();
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(sorted, p));
  console.log(`  ${name.padEnd(48)} p50 ${p50?.toFixed(1).padStart(6)} µs   p95 ${p95?.toFixed(1).padStart(6)} µs   p99 ${p99?.toFixed(1).padStart(6)} µs`);
  return p50 ?? Number.NaN;
}

/** Prints the figures; returns the p50s in µs. */
export async function benchMiddleware(): Promise<Record<string, number>> {
  const key = await loadOrCreateIdpKey(await mkdtemp(path.join(os.tmpdir(), 'autonomy-bench-idp-')));
  const token = await signLocalToken(key, { tenant: 'bench', roles: ['operator'] });
  const fresh = await Promise.all(Array.from({ length: 4_000 }, (_, i) => signLocalToken(key, { tenant: 'bench', roles: ['operator'], subject: `user-${i}` })));
  const context = { functionName: 'bench', awsRequestId: 'req', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
  const event = (authorization?: string): APIGatewayProxyEventV2 =>
    ({
      version: '2.0',
      routeKey: 'POST /bench/run',
      rawPath: '/bench/run',
      rawQueryString: '',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      requestContext: { requestId: 'req', http: { method: 'POST', path: '/bench/run' } },
      body,
      isBase64Encoded: false,
    }) as unknown as APIGatewayProxyEventV2;

  const bare = async (e: APIGatewayProxyEventV2) => ({ statusCode: 200, body: JSON.stringify({ ok: JSON.parse(e.body ?? '{}') }) });

  const logger = new Logger({ serviceName: 'bench' });
  const metrics = new Metrics({ namespace: 'Bench', serviceName: 'bench' });
  const peer = middy(async (e: APIGatewayProxyEventV2) => {
    const parsed = z.object({ parameters }).safeParse(JSON.parse(e.body ?? '{}'));
    // One metric per call, as our stack emits (an empty flush would time Powertools' warning instead).
    metrics.addMetric('RepliesOk', MetricUnit.Count, 1);
    return { statusCode: parsed.success ? 200 : 400, body: JSON.stringify(parsed.success ? parsed.data : parsed.error.issues) };
  })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));

  const noKeys: ApiKeyStore = { create: async () => {}, get: async () => undefined, list: async () => [], revoke: async () => Promise.reject(new Error('unused')) };
  const jwt = new JwtVerifier({ issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, keys: createLocalJWKSet(jwks(key)), tenantClaim: 'tenant', rolesClaim: 'roles' });
  const spec = defineRoute({ engine: 'bench', action: 'run', method: 'POST', permission: 'bench:write', summary: 'bench', parameters, result: z.object({ ok: z.boolean() }) });
  const ours = engineHandler({ auth: () => ({ jwt, apiKeys: noKeys }), version: 'bench' }, route(spec, async () => ({ result: { ok: true } })));
  const publicSpec = defineRoute({ ...spec, permission: 'public' });
  const oursPublic = engineHandler({ auth: () => ({ jwt, apiKeys: noKeys }), version: 'bench' }, route(publicSpec, async () => ({ result: { ok: true } })));
  const check = await ours(event(`Bearer ${token}`), context);
  if (check.statusCode !== 200) throw new Error(`engineHandler bench setup failed: ${check.statusCode} ${check.body}`);

  console.log('Middleware overhead per invocation (in process)');
  const figures: Record<string, number> = {
    bare: await measure('bare handler', () => bare(event())),
    peer: await measure('middy + Powertools logger/metrics + zod', () => peer(event(), context)),
    ours: await measure('engineHandler, JWT seen before (cached verify)', () => ours(event(`Bearer ${token}`), context)),
    oursPublic: await measure('engineHandler, public route (no auth)', () => oursPublic(event(), context)),
  };
  let next = 0;
  figures.oursFresh = await measure('engineHandler, new JWT each call (RS256 verify)', () => ours(event(`Bearer ${fresh[next++ % fresh.length]}`), context), 3_000);
  console.log(`  engineHandler (cached JWT) / peer p50: ${((figures.ours ?? 0) / (figures.peer ?? 1)).toFixed(1)}×; target for the whole stack incl. JWT: < 100 µs p50`);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchMiddleware();
