/**
 * The engine API's streamed replies: a route served through a Lambda function URL in
 * `RESPONSE_STREAM` mode answers with server-sent events written as the route produces them. The
 * request is checked exactly as the engine API checks it (lib/api/engine-handler.ts `prepareRequest`:
 * credentials, permission, rate limit, Cedar, envelope); a failure before the first event is the
 * engine API's JSON error reply with its status, one after it an `error` event (same body) ending
 * the stream. When the client disconnects, the route's `signal` aborts (where the runtime reports it:
 * the local cloud does; AWS's Node.js runtime does not yet, see the README).
 */
import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import { httpResponseStream, type ResponseStream, type StreamingHandler, streamifyResponse } from '../adapters/aws/response-stream.ts';
import type { Principal } from '../auth/principal.ts';
import { ValidationError } from '../errors.ts';
import { EVENT_STREAM_CONTENT_TYPE, sseEvent } from '../gateway/sse.ts';
import type { PolicyDecision } from '../governance/model.ts';
import { errorReply, lowerCaseHeaders } from '../http/handler.ts';
import { logger, metrics } from '../observability.ts';
import { type EngineHandlerDeps, MethodNotAllowedError, policyGated, prepareRequest } from './engine-handler.ts';
import type { RouteSpec } from './route.ts';

/** What a streamed route sees besides its parameters. */
export interface StreamContext {
  /** From the verified credentials. */
  tenant: string;
  principal: Principal | undefined;
  correlationId: string;
  /** Milliseconds left before the function is stopped. */
  remainingMs(): number;
  contextReferences: string[];
  metadata: Record<string, unknown>;
  policy?: PolicyDecision;
  /** Aborts when the client has gone (nothing sent after it arrives). */
  signal: AbortSignal;
  /** Sends one event (`event: <name>`, `data: <JSON>`); the first one commits the reply to 200. */
  send(event: string, data: unknown): void;
}

/**
 * A function URL handler streaming `spec`'s replies as server-sent events (see the module comment).
 * `Idempotency-Key` is refused (a stream cannot be replayed).
 * @example
 * export const handler = streamedRoute(engineDeps(), chatRoute, async (params, ctx) => { ctx.send('done', await work(params)); });
 */
export function streamedRoute<P extends z.ZodType, R extends z.ZodType>(
  deps: EngineHandlerDeps,
  spec: RouteSpec<P, R>,
  run: (params: z.infer<P>, ctx: StreamContext) => Promise<void>,
): StreamingHandler<APIGatewayProxyEventV2> {
  // Load the policy gate during init, as engineHandler does.
  if (policyGated(spec)) deps.policyGate?.();
  return streamifyResponse<APIGatewayProxyEventV2>(async (event, responseStream, context: Context) => {
    const headers = lowerCaseHeaders(event.headers);
    const correlationId = headers['x-correlation-id'] ?? event.requestContext?.requestId ?? randomUUID();
    logger.addContext(context);
    logger.appendKeys({ correlationId });
    const gone = new AbortController();
    const leave = () => {
      if (!responseStream.writableFinished) gone.abort();
    };
    responseStream.on('close', leave);
    responseStream.on('error', leave);
    let body: ResponseStream | undefined;
    let wrote = false;
    const write = (chunk: string) => {
      if (gone.signal.aborted || !body) return;
      body.write(chunk);
      wrote = true;
    };
    const send = (name: string, data: unknown) => {
      body ??= httpResponseStream(responseStream, {
        statusCode: 200,
        headers: { 'content-type': EVENT_STREAM_CONTENT_TYPE, 'cache-control': 'no-cache', 'x-correlation-id': correlationId },
      });
      write(sseEvent(name, data));
    };
    let status = 200;
    try {
      const prepared = await prepareRequest(event, [spec], deps, correlationId);
      if (headers['idempotency-key'] !== undefined)
        throw new ValidationError([{ path: 'headers.idempotency-key', message: 'not supported on a streamed reply' }]);
      await run(prepared.params as z.infer<P>, {
        tenant: prepared.principal?.tenant ?? 'public',
        principal: prepared.principal,
        correlationId,
        remainingMs: () =>
          typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY,
        contextReferences: prepared.contextReferences,
        metadata: prepared.metadata,
        ...(prepared.policy ? { policy: prepared.policy } : {}),
        signal: gone.signal,
        send,
      });
    } catch (error) {
      if (gone.signal.aborted) logger.info('The client left before the reply ended', { error: error as Error });
      else {
        const reply =
          error instanceof MethodNotAllowedError
            ? {
                statusCode: 405,
                headers: { 'content-type': 'application/json', 'x-correlation-id': correlationId, allow: spec.method },
                body: JSON.stringify({ error: error.name, message: error.message, correlationId }),
              }
            : errorReply(error, correlationId);
        status = reply.statusCode ?? 500;
        if (body) send('error', JSON.parse(reply.body ?? '{}'));
        else {
          const replyHeaders = Object.fromEntries(Object.entries(reply.headers ?? {}).map(([name, value]) => [name, String(value)]));
          body = httpResponseStream(responseStream, { statusCode: status, headers: replyHeaders });
          write(reply.body ?? '');
        }
      }
    } finally {
      if (!gone.signal.aborted) {
        // Never end a stream unwritten: its status and headers go out with the first write, and a function URL waits for them.
        if (!wrote) send('end', {});
        const stream = body as ResponseStream;
        await new Promise<void>((resolve) => stream.end(() => resolve()));
      }
      const outcome = gone.signal.aborted
        ? 'RepliesCancelled'
        : status < 400
          ? 'RepliesOk'
          : status < 500
            ? 'RepliesRejected'
            : 'RepliesFailed';
      metrics.addMetric(outcome, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      logger.removeKeys(['correlationId']);
    }
  });
}
