/**
 * The one HTTP wrapper (engineHandler) on a public route: body parsing, validation and the error
 * table, driven in process with API Gateway v2 events.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { z } from 'zod';
import { engineHandler, route, type EngineOutcome } from '../../lib/api/engine-handler.ts';
import { defineRoute, responseEnvelopeSchema } from '../../lib/api/route.ts';
import type { Authenticators } from '../../lib/auth/authenticate.ts';
import { ConflictError, ThrottledError } from '../../lib/errors.ts';

const context = {
  functionName: 'test',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test',
  memoryLimitInMB: '128',
  getRemainingTimeInMillis: () => 1000,
} as unknown as Context;

function event(body: unknown, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /things',
    rawPath: '/things',
    rawQueryString: '',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    requestContext: { requestId: 'rid-1', http: { method: 'POST', path: '/things' } },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

const parameters = z.object({ name: z.string().min(1), size: z.number().int() });
const thingsRoute = defineRoute({ engine: 'things', action: 'make', path: '/things', method: 'POST', permission: 'public', summary: 'Makes a thing', parameters, result: z.unknown() });
// A public route never authenticates: an authenticator that is called fails the test.
const deps = { auth: (): Authenticators => assert.fail('a public route authenticated'), version: 'test' };
const handlerFor = (run: (params: z.infer<typeof parameters>) => Promise<EngineOutcome<unknown>>) => engineHandler(deps, route(thingsRoute, run));
const request = (params: unknown, headers?: Record<string, string>) => event({ parameters: params }, headers);

describe('engineHandler on a public route', () => {
  it('passes the parsed parameters to the route and echoes the correlation id', async () => {
    const handler = handlerFor(async (params) => ({ statusCode: 201, result: { got: params.name } }));
    const reply = await handler(request({ name: 'a', size: 1 }, { 'X-Correlation-Id': 'corr-9' }), context);
    assert.equal(reply.statusCode, 201);
    assert.equal(reply.headers?.['x-correlation-id'], 'corr-9');
    const body = JSON.parse(String(reply.body));
    assert.deepEqual(body.result, { got: 'a' });
    assert.equal(body.provenance[0].via, 'public');
  });

  it('serves a raw reply (not the envelope) with its own status and content type', async () => {
    const handler = handlerFor(async () => ({ statusCode: 503, result: null, raw: { contentType: 'application/json', body: '{"status":"degraded"}' } }));
    const reply = await handler(request({ name: 'a', size: 1 }), context);
    assert.equal(reply.statusCode, 503);
    assert.equal(reply.headers?.['content-type'], 'application/json');
    assert.equal(reply.body, '{"status":"degraded"}');
  });

  it('returns 400 naming body.parameters.name and body.parameters.size when both are invalid', async () => {
    const handler = handlerFor(async () => assert.fail('the route ran on an invalid request'));
    const reply = await handler(request({ name: '', size: 1.5 }), context);
    assert.equal(reply.statusCode, 400);
    const body = JSON.parse(String(reply.body));
    assert.deepEqual(body.issues.map((issue: { path: string }) => issue.path).sort(), ['body.parameters.name', 'body.parameters.size']);
  });

  it('returns 400 naming body when the body is not JSON', async () => {
    const handler = handlerFor(async () => assert.fail('the route ran on an invalid request'));
    const reply = await handler(event('{oops'), context);
    assert.equal(reply.statusCode, 400);
    assert.equal(JSON.parse(String(reply.body)).issues[0].path, 'body');
  });

  it('returns 400 naming the field when a body holds a lone surrogate, a number JSON.parse turns into Infinity, or nests past 64 levels; the route never runs', async () => {
    const handler = handlerFor(async () => assert.fail('the route ran on an invalid request'));
    const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const cases: Array<[string, string, RegExp]> = [
      ['{"parameters":{"name":"a","size":1},"metadata":{"note":"x\\ud800"}}', 'body.metadata.note', /lone surrogate/],
      ['{"parameters":{"name":"a","size":1},"metadata":{"\\udfffkey":1}}', 'body.metadata.\udfffkey', /lone surrogate/],
      ['{"parameters":{"name":"a","size":1e400}}', 'body.parameters.size', /Infinity is not a JSON number/],
      [`{"parameters":{"name":"a","size":1},"metadata":${nested(150_000)}}`, `body.metadata${'.a'.repeat(63)}`, /deeper than 64 levels/],
    ];
    for (const [text, path, message] of cases) {
      const reply = await handler(event(text), context);
      assert.equal(reply.statusCode, 400, path);
      const issues: Array<{ path: string; message: string }> = JSON.parse(String(reply.body)).issues;
      assert.ok(
        issues.some((issue) => issue.path === path && message.test(issue.message)),
        `${path}: ${JSON.stringify(issues).slice(0, 300)}`,
      );
    }
    const deepButAllowed = await handlerFor(async () => ({ result: 'ran' }))(event(`{"parameters":{"name":"a","size":1},"metadata":${nested(62)}}`), context);
    assert.equal(deepButAllowed.statusCode, 200, String(deepButAllowed.body).slice(0, 300));
  });

  it('maps a ConflictError to 409 and a ThrottledError to 429 with Retry-After', async () => {
    const conflict = await handlerFor(async () => {
      throw new ConflictError('taken');
    })(request({ name: 'a', size: 1 }), context);
    assert.equal(conflict.statusCode, 409);
    const throttled = await handlerFor(async () => {
      throw new ThrottledError('slow down', 7);
    })(request({ name: 'a', size: 1 }), context);
    assert.equal(throttled.statusCode, 429);
    assert.equal(throttled.headers?.['retry-after'], '7');
  });

  it('hides an unexpected error behind a 500 with the correlation id and no message or stack', async () => {
    const handler = handlerFor(async () => {
      throw new Error('secret connection string db://admin:pw@host');
    });
    const reply = await handler(request({ name: 'a', size: 1 }, { 'x-correlation-id': 'corr-500' }), context);
    assert.equal(reply.statusCode, 500);
    assert.ok(!String(reply.body).includes('secret'));
    assert.ok(!String(reply.body).includes('at '));
    assert.equal(JSON.parse(String(reply.body)).correlationId, 'corr-500');
  });

  it('returns 413 when the body is over the limit', async () => {
    const handler = handlerFor(async () => assert.fail('the route ran on an oversized request'));
    const reply = await handler(event('x'.repeat(1024 * 1024 + 1)), context);
    assert.equal(reply.statusCode, 413);
  });
});

describe('the provenance list', () => {
  const sent = { parameters: { name: 'a', size: 1 }, context_references: ['ticket-7'], metadata: { origin: 'test' } };

  it("starts with the route's own step, carrying its ledger entry when the route names one", async () => {
    const handler = handlerFor(async () => ({ statusCode: 201, result: null, ledger: { tenant: 'public', stream: 'things', seq: 4 } }));
    const body = JSON.parse(String((await handler(event(sent, { 'x-correlation-id': 'corr-p' }), context)).body));
    assert.deepEqual(body.provenance, [
      {
        engine: 'things',
        action: 'make',
        tenant: 'public',
        actor: 'anonymous',
        via: 'public',
        correlationId: 'corr-p',
        version: 'test',
        contextReferences: ['ticket-7'],
        metadata: { origin: 'test' },
        ledger: { tenant: 'public', stream: 'things', seq: 4 },
      },
    ]);
    assert.ok(responseEnvelopeSchema(z.null()).safeParse(body).success);
  });

  it("appends a route's further steps after its own, filling what they leave out from the route's step but not its ledger entry", async () => {
    const handler = handlerFor(async () => ({
      result: null,
      ledger: { tenant: 'public', stream: 'things', seq: 4 },
      provenance: [
        { engine: 'governance', action: 'proposals', via: 'engine', ledger: { tenant: 'public', stream: 'governance.decisions', seq: 9 }, at: '2026-01-01T00:00:00.000Z' },
        { engine: 'audit', action: 'append' },
      ],
    }));
    const body = JSON.parse(String((await handler(event(sent, { 'x-correlation-id': 'corr-q' }), context)).body));
    assert.deepEqual(
      body.provenance.map((step: { engine: string; via: string; correlationId: string; ledger?: { seq: number } }) => [step.engine, step.via, step.correlationId, step.ledger?.seq]),
      [
        ['things', 'public', 'corr-q', 4],
        ['governance', 'engine', 'corr-q', 9],
        ['audit', 'public', 'corr-q', undefined],
      ],
    );
    assert.deepEqual(body.provenance[2].contextReferences, ['ticket-7']);
    assert.ok(responseEnvelopeSchema(z.null()).safeParse(body).success);
  });

  it('keeps at most 32 steps, so the reply still matches its schema when a route adds too many', async () => {
    const handler = handlerFor(async () => ({ result: null, provenance: Array.from({ length: 40 }, (_, n) => ({ engine: 'audit', action: `step-${n}` })) }));
    const body = JSON.parse(String((await handler(event(sent), context)).body));
    assert.equal(body.provenance.length, 32);
    assert.deepEqual([body.provenance[0].engine, body.provenance[31].action], ['things', 'step-30']);
    assert.ok(responseEnvelopeSchema(z.null()).safeParse(body).success);
  });

  it('refuses a reply whose provenance is not a list of 1 to 32 steps', () => {
    const valid = { status: 'success', result: null, logs: [], timestamp: '2026-01-01T00:00:00.000Z' };
    const step = { engine: 'a', action: 'b', tenant: 't', actor: 'x', via: 'jwt', correlationId: 'c', version: '1', contextReferences: [], metadata: {} };
    const schema = responseEnvelopeSchema(z.null());
    assert.equal(schema.safeParse({ ...valid, provenance: [step] }).success, true);
    assert.equal(schema.safeParse({ ...valid, provenance: step }).success, false, 'a single object');
    assert.equal(schema.safeParse({ ...valid, provenance: [] }).success, false, 'no step');
    assert.equal(schema.safeParse({ ...valid, provenance: Array.from({ length: 33 }, () => step) }).success, false, '33 steps');
    assert.equal(schema.safeParse({ ...valid, provenance: [{ ...step, ledger: { tenant: 't', stream: 's', seq: -1 } }] }).success, false, 'a negative seq');
  });
});
