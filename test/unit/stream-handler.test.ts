/**
 * A route streamed through a function URL (lib/api/stream-handler.ts), in process: the response
 * stream is a port (the runtime's `awslambda` helpers and its writable), faked here as the Node.js
 * runtime behaves; credentials and roles are the engine API's. Events and their status, the engine
 * API's errors before the first event, an `error` event after it, refusals, and a client that leaves.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createLocalJWKSet } from 'jose';
import { z } from 'zod';
import { jwks, LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateIdpKey, signLocalToken } from '../../infra/local/idp.ts';
import type { ResponseStream } from '../../lib/adapters/aws/response-stream.ts';
import { defineRoute } from '../../lib/api/route.ts';
import { streamedRoute } from '../../lib/api/stream-handler.ts';
import { JwtVerifier } from '../../lib/auth/jwt.ts';
import { ConflictError } from '../../lib/errors.ts';
import { parseSse } from '../../lib/gateway/sse.ts';

/** The runtime's writable, as the handler sees it: what was written, the metadata `HttpResponseStream.from` gave. */
class FakeResponseStream extends Writable {
  readonly chunks: Buffer[] = [];
  metadata: { statusCode: number; headers?: Record<string, string> } | undefined;
  setContentType(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk);
    callback();
  }
  get body(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

(globalThis as unknown as { awslambda: unknown }).awslambda = {
  streamifyResponse: (handler: unknown) => handler,
  HttpResponseStream: {
    from: (stream: FakeResponseStream, metadata: FakeResponseStream['metadata']) => {
      stream.metadata = metadata;
      return stream;
    },
  },
};

const spec = defineRoute({
  engine: 'demo',
  action: 'talk',
  method: 'POST',
  permission: 'demo:write',
  summary: 'talk',
  parameters: z.object({ words: z.number().int().min(1), failAfter: z.number().int().optional(), failFirst: z.boolean().optional() }),
  result: z.object({}),
});

const context = { functionName: 'test', awsRequestId: 'req', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

async function setup() {
  const key = await loadOrCreateIdpKey(await mkdtemp(path.join(os.tmpdir(), 'stream-handler-')));
  const jwt = new JwtVerifier({
    issuer: LOCAL_ISSUER,
    audience: LOCAL_AUDIENCE,
    keys: createLocalJWKSet(jwks(key)),
    tenantClaim: 'tenant',
    rolesClaim: 'roles',
  });
  const seen: { signal?: AbortSignal; tenant?: string; sentAfterAbort: number } = { sentAfterAbort: 0 };
  let gone: () => void = () => {};
  const handler = streamedRoute(
    { auth: () => ({ jwt, apiKeys: { get: async () => undefined } as never }), version: 'test' },
    spec,
    async (params, ctx) => {
      seen.signal = ctx.signal;
      seen.tenant = ctx.tenant;
      if (params.failFirst) throw new ConflictError('busy');
      for (let i = 0; i < params.words; i += 1) {
        if (params.failAfter === i) throw new ConflictError(`stopped at word ${i}`);
        if (ctx.signal.aborted) seen.sentAfterAbort += 1;
        ctx.send('word', { i });
        if (i === 1) gone();
        await new Promise((resolve) => setImmediate(resolve));
      }
      ctx.send('done', { words: params.words });
    },
  );
  const call = async (
    options: { body?: unknown; roles?: string[]; headers?: Record<string, string>; method?: string; leaveAfterTwo?: boolean } = {},
  ) => {
    const stream = new FakeResponseStream();
    gone = options.leaveAfterTwo ? () => stream.destroy() : () => {};
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (options.roles) headers.authorization = `Bearer ${await signLocalToken(key, { tenant: 'acme', roles: options.roles as never })}`;
    const event = {
      version: '2.0',
      rawPath: '/',
      headers,
      requestContext: { requestId: 'r-1', http: { method: options.method ?? 'POST', path: '/' } },
      body: JSON.stringify(options.body ?? { parameters: { words: 3 } }),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    await handler(event, stream as unknown as ResponseStream, context);
    return stream;
  };
  return { call, seen };
}

describe('a streamed route', () => {
  it('sends its events with 200 and text/event-stream, then ends the stream', async () => {
    const { call, seen } = await setup();
    const stream = await call({ roles: ['operator'] });
    assert.equal(stream.metadata?.statusCode, 200);
    assert.match(stream.metadata?.headers?.['content-type'] ?? '', /^text\/event-stream/);
    assert.equal(stream.metadata?.headers?.['x-correlation-id'], 'r-1');
    assert.deepEqual(
      parseSse(stream.body).map((event) => [event.event, JSON.parse(event.data)]),
      [
        ['word', { i: 0 }],
        ['word', { i: 1 }],
        ['word', { i: 2 }],
        ['done', { words: 3 }],
      ],
    );
    assert.equal(stream.writableFinished, true);
    assert.equal(seen.tenant, 'acme');
  });

  it("answers the engine API's errors with their status before the first event: 401, 403, 400 naming the field, 405", async () => {
    const { call } = await setup();
    const anonymous = await call();
    assert.equal(anonymous.metadata?.statusCode, 401);
    assert.equal(JSON.parse(anonymous.body).error, 'UnauthorizedError');
    const viewer = await call({ roles: ['viewer'] });
    assert.equal(viewer.metadata?.statusCode, 403);
    const invalid = await call({ roles: ['operator'], body: { parameters: { words: 0 } } });
    assert.equal(invalid.metadata?.statusCode, 400);
    assert.deepEqual(
      JSON.parse(invalid.body).issues.map((issue: { path: string }) => issue.path),
      ['body.parameters.words'],
    );
    const get = await call({ roles: ['operator'], method: 'GET' });
    assert.equal(get.metadata?.statusCode, 405);
    assert.equal(get.metadata?.headers?.allow, 'POST');
    const conflict = await call({ roles: ['operator'], body: { parameters: { words: 2, failFirst: true } } });
    assert.equal(conflict.metadata?.statusCode, 409);
    assert.equal(conflict.writableFinished, true);
  });

  it('refuses an Idempotency-Key: a stream is not replayed', async () => {
    const { call } = await setup();
    const stream = await call({ roles: ['operator'], headers: { 'idempotency-key': 'k-1' } });
    assert.equal(stream.metadata?.statusCode, 400);
    assert.equal(JSON.parse(stream.body).issues[0].path, 'headers.idempotency-key');
  });

  it('ends a stream that already began with an error event carrying the error body', async () => {
    const { call } = await setup();
    const stream = await call({ roles: ['operator'], body: { parameters: { words: 5, failAfter: 2 } } });
    assert.equal(stream.metadata?.statusCode, 200);
    const events = parseSse(stream.body);
    assert.deepEqual(
      events.map((event) => event.event),
      ['word', 'word', 'error'],
    );
    const error = JSON.parse(events[2]?.data ?? '{}');
    assert.equal(error.error, 'ConflictError');
    assert.equal(error.message, 'stopped at word 2');
    assert.equal(error.correlationId, 'r-1');
  });

  it('aborts the route’s signal when the client leaves, and sends nothing more', async () => {
    const { call, seen } = await setup();
    const stream = await call({ roles: ['operator'], body: { parameters: { words: 6 } }, leaveAfterTwo: true });
    assert.equal(seen.signal?.aborted, true);
    assert.deepEqual(
      parseSse(stream.body).map((event) => event.event),
      ['word', 'word'],
    );
    assert.equal(stream.destroyed, true);
  });
});
