/**
 * The shared HTTP wrapper, driven in process with API Gateway v2 events.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { z } from 'zod';
import { ConflictError, ThrottledError } from '../../lib/errors.ts';
import { httpHandler } from '../../lib/http/handler.ts';

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
    headers,
    requestContext: { requestId: 'rid-1', http: { method: 'POST', path: '/things' } },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

const schema = z.object({ body: z.object({ name: z.string().min(1), size: z.number().int() }) });

describe('httpHandler', () => {
  it('passes the parsed body to the route and echoes the correlation id', async () => {
    const handler = httpHandler(schema, async (input) => ({ statusCode: 201, body: { got: input.body.name } }));
    const reply = await handler(event({ name: 'a', size: 1 }, { 'X-Correlation-Id': 'corr-9' }), context);
    assert.equal(reply.statusCode, 201);
    assert.equal(reply.headers?.['x-correlation-id'], 'corr-9');
    assert.deepEqual(JSON.parse(String(reply.body)), { got: 'a' });
  });

  it('returns 400 naming body.name and body.size when both are invalid', async () => {
    const handler = httpHandler(schema, async () => ({ statusCode: 200, body: {} }));
    const reply = await handler(event({ name: '', size: 1.5 }), context);
    assert.equal(reply.statusCode, 400);
    const body = JSON.parse(String(reply.body));
    assert.deepEqual(body.issues.map((issue: { path: string }) => issue.path).sort(), ['body.name', 'body.size']);
  });

  it('returns 400 naming body when the body is not JSON', async () => {
    const handler = httpHandler(schema, async () => ({ statusCode: 200, body: {} }));
    const reply = await handler(event('{oops'), context);
    assert.equal(reply.statusCode, 400);
    assert.equal(JSON.parse(String(reply.body)).issues[0].path, 'body');
  });

  it('maps a ConflictError to 409 and a ThrottledError to 429 with Retry-After', async () => {
    const conflict = await httpHandler(schema, async () => {
      throw new ConflictError('taken');
    })(event({ name: 'a', size: 1 }), context);
    assert.equal(conflict.statusCode, 409);
    const throttled = await httpHandler(schema, async () => {
      throw new ThrottledError('slow down', 7);
    })(event({ name: 'a', size: 1 }), context);
    assert.equal(throttled.statusCode, 429);
    assert.equal(throttled.headers?.['retry-after'], '7');
  });

  it('hides an unexpected error behind a 500 with the correlation id and no message or stack', async () => {
    const handler = httpHandler(schema, async () => {
      throw new Error('secret connection string db://admin:pw@host');
    });
    const reply = await handler(event({ name: 'a', size: 1 }, { 'x-correlation-id': 'corr-500' }), context);
    assert.equal(reply.statusCode, 500);
    assert.ok(!String(reply.body).includes('secret'));
    assert.ok(!String(reply.body).includes('at '));
    assert.equal(JSON.parse(String(reply.body)).correlationId, 'corr-500');
  });

  it('returns 413 when the body is over the limit', async () => {
    const handler = httpHandler(schema, async () => ({ statusCode: 200, body: {} }));
    const reply = await handler(event('x'.repeat(1024 * 1024 + 1)), context);
    assert.equal(reply.statusCode, 413);
  });
});
