/**
 * The engine API takes JSON bodies only: a POST or PUT whose body comes as `text/plain`,
 * `application/octet-stream` or with no content type is a 415 (UnsupportedMediaTypeError) before
 * the route runs; `application/json` in any case and with a charset, and `application/<name>+json`,
 * are taken; GET and DELETE without a body need no content type. In process, ports faked.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createLocalJWKSet } from 'jose';
import { z } from 'zod';
import { jwks, LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateIdpKey, signLocalToken } from '../../infra/local/idp.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { openApiDocument } from '../../lib/api/openapi.ts';
import { defineRoute } from '../../lib/api/route.ts';
import { allRoutes } from '../../lib/api/routes.ts';
import { JwtVerifier } from '../../lib/auth/jwt.ts';
import { isJsonMediaType } from '../../lib/http/media-type.ts';

const context = { functionName: 'test', awsRequestId: 'req', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

const spec = defineRoute({
  engine: 'demo',
  action: 'run',
  method: 'POST',
  permission: 'demo:write',
  summary: 'run',
  parameters: z.object({ n: z.number().int() }),
  result: z.object({ n: z.number() }),
});
const specs = {
  POST: spec,
  PUT: defineRoute({ ...spec, method: 'PUT', permission: 'demo:configure' }),
  GET: defineRoute({ ...spec, method: 'GET', permission: 'demo:read', parameters: z.object({ n: z.coerce.number().int() }) }),
  DELETE: defineRoute({ ...spec, method: 'DELETE', permission: 'demo:write', parameters: z.object({ n: z.coerce.number().int() }) }),
};

async function setup() {
  const key = await loadOrCreateIdpKey(await mkdtemp(path.join(os.tmpdir(), 'content-type-')));
  const jwt = new JwtVerifier({ issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, keys: createLocalJWKSet(jwks(key)), tenantClaim: 'tenant', rolesClaim: 'roles' });
  let runs = 0;
  const run = async (params: { n: number }) => {
    runs += 1;
    return { result: { n: params.n } };
  };
  const handler = engineHandler(
    { auth: () => ({ jwt, apiKeys: { create: async () => {}, get: async () => undefined, list: async () => [], revoke: async () => { throw new Error('unused'); } } }), version: 'test' },
    ...Object.values(specs).map((each) => route(each, run)),
  );
  const authorization = `Bearer ${await signLocalToken(key, { tenant: 'acme', roles: ['admin'] })}`;
  /** One request; `body` as the HTTP API passes it (base64 for a binary content type, as API Gateway does). */
  const call = (method: string, options: { contentType?: string; body?: string; base64?: boolean; query?: Record<string, string> } = {}) =>
    handler(
      {
        version: '2.0',
        routeKey: `${method} /demo/run`,
        rawPath: '/demo/run',
        rawQueryString: '',
        headers: { authorization, ...(options.contentType === undefined ? {} : { 'Content-Type': options.contentType }) },
        queryStringParameters: options.query,
        requestContext: { requestId: 'r-1', http: { method, path: '/demo/run' } },
        body: options.body === undefined ? undefined : options.base64 ? Buffer.from(options.body).toString('base64') : options.body,
        isBase64Encoded: options.base64 ?? false,
      } as unknown as APIGatewayProxyEventV2,
      context,
    );
  return { call, runs: () => runs };
}

const body = JSON.stringify({ parameters: { n: 3 } });

describe('isJsonMediaType', () => {
  it('takes application/json in any case, with parameters, and application/<name>+json', () => {
    for (const value of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'APPLICATION/JSON;CHARSET=UTF-8', ' application/json ', 'application/vnd.api+json', 'application/problem+json; charset=utf-8', 'application/merge-patch+json']) {
      assert.equal(isJsonMediaType(value), true, value);
    }
  });

  it('refuses every other type, a missing one, and look-alikes', () => {
    for (const value of [undefined, '', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json', 'application/jsonx', 'application/json-seq', 'application/+json', 'application/x+json+xml', 'json', 'application/ json']) {
      assert.equal(isJsonMediaType(value), false, String(value));
    }
  });
});

describe('engine API request bodies by content type', () => {
  for (const method of ['POST', 'PUT']) {
    it(`answers ${method} with a text/plain, octet-stream or untyped body with 415, without running the route`, async () => {
      const { call, runs } = await setup();
      for (const [contentType, base64] of [['text/plain', false], ['text/plain; charset=utf-8', false], ['application/octet-stream', true], [undefined, false], ['application/x-www-form-urlencoded', false]] as const) {
        const reply = await call(method, { contentType, body, base64 });
        assert.equal(reply.statusCode, 415, `${contentType}: ${reply.body}`);
        const parsed = JSON.parse(String(reply.body));
        assert.equal(parsed.error, 'UnsupportedMediaTypeError');
        assert.match(parsed.message, /application\/json/);
        assert.equal(parsed.correlationId, 'r-1');
      }
      assert.equal(runs(), 0);
    });

    it(`runs ${method} with application/json in any case and charset, and with application/<name>+json`, async () => {
      const { call, runs } = await setup();
      for (const contentType of ['application/json', 'Application/JSON; charset=UTF-8', 'application/vnd.autonomy+json']) {
        const reply = await call(method, { contentType, body });
        assert.equal(reply.statusCode, 200, `${contentType}: ${reply.body}`);
        assert.deepEqual(JSON.parse(String(reply.body)).result, { n: 3 });
      }
      assert.equal(runs(), 3);
    });
  }

  it('leaves a POST without a body to the envelope check (400), whatever its content type', async () => {
    const { call } = await setup();
    assert.equal((await call('POST')).statusCode, 400);
    assert.equal((await call('POST', { contentType: 'text/plain', body: '' })).statusCode, 400);
  });

  it('serves GET and DELETE without a body and without a content type', async () => {
    const { call, runs } = await setup();
    assert.equal((await call('GET', { query: { n: '4' } })).statusCode, 200);
    assert.equal((await call('DELETE', { query: { n: '4' } })).statusCode, 200);
    assert.equal(runs(), 2);
  });

  it('documents the 415 on every operation that takes a body, and only there', () => {
    const document = openApiDocument(allRoutes, { version: 'test' }) as { paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>> };
    const operations = Object.values(document.paths).flatMap((byMethod) => Object.values(byMethod));
    assert.ok(operations.some((operation) => operation.requestBody));
    for (const operation of operations) assert.equal('415' in operation.responses, operation.requestBody !== undefined);
  });
});
