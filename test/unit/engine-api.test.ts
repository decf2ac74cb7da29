/** The engine API wrapper, credentials and roles, in process (ports faked; no AWS client involved). */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createLocalJWKSet } from 'jose';
import { z } from 'zod';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { eventCatalog } from '../../events/catalog.ts';
import { openApiDocument } from '../../lib/api/openapi.ts';
import type { RateLimiter } from '../../lib/api/rate-limit.ts';
import { rateWindow } from '../../lib/api/rate-limit.ts';
import { defineRoute } from '../../lib/api/route.ts';
import { allRoutes } from '../../lib/api/routes.ts';
import { mintApiKey, verifyApiKey } from '../../lib/auth/api-keys.ts';
import { JwtVerifier } from '../../lib/auth/jwt.ts';
import { rolesAllow } from '../../lib/auth/roles.ts';
import { jwks, LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateIdpKey, signLocalToken } from '../../infra/local/idp.ts';
import { MemoryKeys } from '../helpers/api-keys.ts';

const context = { functionName: 'test', awsRequestId: 'req', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

function event(method: string, options: { body?: unknown; query?: Record<string, string>; headers?: Record<string, string> } = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} /demo/run`,
    rawPath: '/demo/run',
    rawQueryString: '',
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    queryStringParameters: options.query,
    requestContext: { requestId: 'r-1', http: { method, path: '/demo/run' } },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

const runSpec = defineRoute({
  engine: 'demo',
  action: 'run',
  method: 'POST',
  permission: 'demo:write',
  summary: 'run',
  parameters: z.object({ n: z.number().int() }),
  result: z.object({ doubled: z.number() }),
});
const statusSpec = defineRoute({ ...runSpec, method: 'GET', permission: 'demo:read', parameters: z.object({ n: z.coerce.number().int() }) });

async function setup(limiter?: RateLimiter) {
  const key = await loadOrCreateIdpKey(await mkdtemp(path.join(os.tmpdir(), 'engine-api-')));
  const keys = new MemoryKeys();
  const jwt = new JwtVerifier({ issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, keys: createLocalJWKSet(jwks(key)), tenantClaim: 'tenant', rolesClaim: 'roles' });
  /** How many times each route's implementation was entered (whatever its reply). */
  const calls = { run: 0, status: 0 };
  const handler = engineHandler(
    { auth: () => ({ jwt, apiKeys: keys }), version: 'test', rateLimiter: () => limiter },
    route(runSpec, async (params, ctx) => {
      calls.run++;
      ctx.log(`doubling ${params.n}`);
      return { result: { doubled: params.n * 2 } };
    }),
    route(statusSpec, async (params) => {
      calls.status++;
      return { status: 'pending', result: { doubled: params.n } };
    }),
  );
  const bearer = async (roles: string[], tenant = 'acme') => ({ authorization: `Bearer ${await signLocalToken(key, { tenant, roles })}` });
  return { handler, keys, bearer, calls };
}

describe('engineHandler', () => {
  it('runs a route for a permitted role and wraps the result in the envelope', async () => {
    const { handler, bearer } = await setup();
    const reply = await handler(event('POST', { body: { parameters: { n: 21 } }, headers: await bearer(['operator']) }), context);
    assert.equal(reply.statusCode, 200);
    const body = JSON.parse(reply.body ?? '');
    assert.deepEqual(body.result, { doubled: 42 });
    assert.deepEqual(body.logs, ['doubling 21']);
    assert.equal(body.provenance[0].tenant, 'acme');
    assert.equal(reply.headers?.['x-correlation-id'], 'r-1');
  });

  it('reads GET parameters from the query string and answers 202 for a pending outcome', async () => {
    const { handler, bearer } = await setup();
    const reply = await handler(event('GET', { query: { n: '7' }, headers: await bearer(['viewer']) }), context);
    assert.equal(reply.statusCode, 202);
    assert.equal(JSON.parse(reply.body ?? '').status, 'pending');
  });

  it('answers 403 to a viewer on a write route and 405 to a method the action does not serve', async () => {
    const { handler, bearer } = await setup();
    const forbidden = await handler(event('POST', { body: { parameters: { n: 1 } }, headers: await bearer(['viewer']) }), context);
    assert.equal(forbidden.statusCode, 403);
    const wrongMethod = await handler(event('PUT', { body: {}, headers: await bearer(['admin']) }), context);
    assert.equal(wrongMethod.statusCode, 405);
    assert.equal(wrongMethod.headers?.allow, 'POST, GET');
  });

  it('answers 429 with Retry-After when the tenant is over its budget, before running the route', async () => {
    const consumedBy: string[] = [];
    let overBudget = true;
    const limiter: RateLimiter = {
      consume: async (tenant) => {
        consumedBy.push(tenant);
        return { allowed: !overBudget, retryAfterSeconds: 17 };
      },
    };
    const { handler, bearer, calls } = await setup(limiter);
    const request = event('POST', { body: { parameters: { n: 1 } }, headers: await bearer(['operator']) });
    const refused = await handler(request, context);
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.headers?.['retry-after'], '17');
    assert.deepEqual(consumedBy, ['acme'], 'the budget of the credential\'s tenant was consulted');
    assert.equal(calls.run, 0, 'the route did not run');
    // The same request within budget does run: the counter sees the route when it runs.
    overBudget = false;
    assert.equal((await handler(request, context)).statusCode, 200);
    assert.equal(calls.run, 1);
  });

  it('authenticates API keys, and refuses tampered, unknown and revoked ones', async () => {
    const { handler, keys } = await setup();
    const { apiKey, stored } = mintApiKey({ tenant: 'acme', name: 'k', roles: ['operator'], createdBy: 'test', now: new Date() });
    await keys.create(stored);
    assert.equal((await verifyApiKey(apiKey, keys)).tenant, 'acme');
    const ok = await handler(event('POST', { body: { parameters: { n: 2 } }, headers: { 'x-api-key': apiKey } }), context);
    assert.equal(ok.statusCode, 200);
    const tampered = `${apiKey.slice(0, -1)}${apiKey.endsWith('A') ? 'B' : 'A'}`;
    assert.equal((await handler(event('POST', { body: { parameters: { n: 2 } }, headers: { 'x-api-key': tampered } }), context)).statusCode, 401);
    const otherTenant = apiKey.replace('apk_acme_', 'apk_evil_');
    assert.equal((await handler(event('POST', { body: { parameters: { n: 2 } }, headers: { 'x-api-key': otherTenant } }), context)).statusCode, 401);
    await keys.revoke('acme', stored.keyId, new Date().toISOString());
    assert.equal((await handler(event('POST', { body: { parameters: { n: 2 } }, headers: { 'x-api-key': apiKey } }), context)).statusCode, 401);
    assert.ok(!JSON.stringify(stored).includes(apiKey.split('_').at(-1) ?? '∅'), 'the stored record holds no secret');
  });

  it('refuses a token without a valid tenant claim, or naming the reserved system tenant', async () => {
    const { handler, bearer } = await setup();
    const reply = await handler(event('POST', { body: { parameters: { n: 1 } }, headers: await bearer(['admin'], 'Not A Tenant') }), context);
    assert.equal(reply.statusCode, 401);
    const system = await handler(event('POST', { body: { parameters: { n: 1 } }, headers: await bearer(['admin'], 'system') }), context);
    assert.equal(system.statusCode, 401);
  });
});

describe('roles', () => {
  it('grant verbs as documented', () => {
    assert.ok(rolesAllow(['viewer'], 'observation:read'));
    assert.ok(!rolesAllow(['viewer'], 'observation:write'));
    assert.ok(rolesAllow(['operator'], 'observation:configure'));
    assert.ok(!rolesAllow(['operator'], 'governance:approve'));
    assert.ok(rolesAllow(['approver'], 'governance:approve'));
    assert.ok(!rolesAllow(['approver'], 'audit:write'));
    assert.ok(rolesAllow(['admin'], 'identity:admin'));
    assert.ok(!rolesAllow([], 'observation:read'));
  });
});

describe('rate windows', () => {
  it('round the retry time up to whole seconds within the minute', () => {
    assert.deepEqual(rateWindow(new Date('2026-01-01T00:00:59.200Z')), { start: Date.parse('2026-01-01T00:00:00Z'), end: Date.parse('2026-01-01T00:01:00Z'), secondsLeft: 1 });
    assert.equal(rateWindow(new Date('2026-01-01T00:00:00.000Z')).secondsLeft, 60);
  });
});

describe('the OpenAPI document', () => {
  it('documents every registered route with its permission and the security it needs', () => {
    const doc = openApiDocument(allRoutes, { version: '1' }) as { openapi: string; paths: Record<string, Record<string, { security: unknown[]; 'x-permission': string }>> };
    assert.equal(doc.openapi, '3.1.0');
    for (const spec of allRoutes) {
      const operation = doc.paths[spec.path]?.[spec.method.toLowerCase()];
      assert.ok(operation, `${spec.method} ${spec.path}`);
      assert.equal(operation['x-permission'], spec.permission);
      assert.equal(operation.security.length, spec.permission === 'public' ? 0 : 2);
    }
  });

  it('carries every catalogued bus event as a JSON Schema of its detail', () => {
    const doc = openApiDocument(allRoutes, { version: '1', events: eventCatalog }) as { components: { schemas: Record<string, { properties?: Record<string, unknown>; 'x-event-source'?: string }> } };
    for (const event of eventCatalog) {
      const schema = doc.components.schemas[`event:${event.detailType}`];
      assert.ok(schema?.properties?.tenant && schema.properties.version, event.detailType);
      assert.equal(schema['x-event-source'], event.source);
    }
  });
});
