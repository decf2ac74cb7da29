/**
 * The streamed chat: POST with the body of /gateway/chat, to the function URL in RESPONSE_STREAM mode
 * (lib/gateway/manifest.ts), answered with server-sent events as the model writes: `request`
 * (`{ requestId, conversationId }`, with the first text), `delta` events `{ text }`, then `done` with
 * the same result as POST /gateway/chat, or `error`. A client that disconnects stops the model call;
 * the partial reply is logged and charged (finishReason `cancelled`).
 */
import { randomUUID } from 'node:crypto';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { gatewayDeps } from '../../lib/adapters/aws/gateway-deps.ts';
import { streamedRoute } from '../../lib/api/stream-handler.ts';
import { type ChatCaller, chat } from '../../lib/gateway/engine.ts';
import { chatRoute } from '../../lib/gateway/routes.ts';
import { logger } from '../../lib/observability.ts';

/** Milliseconds kept back from the function's deadline to settle, bill and log after the model call stops. */
const SETTLE_MARGIN_MS = 4_000;

export const handler = streamedRoute(engineDeps(), chatRoute, async (params, ctx) => {
  const remaining = ctx.remainingMs();
  const caller: ChatCaller = {
    tenant: ctx.tenant,
    actor: ctx.principal?.subject ?? 'unknown',
    correlationId: ctx.correlationId,
    ...(Number.isFinite(remaining) ? { deadline: new Date(Date.now() + Math.max(1_000, remaining - SETTLE_MARGIN_MS)) } : {}),
  };
  const requestId = params.requestId ?? `req-${randomUUID()}`;
  const conversationId = params.conversationId ?? `c-${randomUUID()}`;
  let announced = false;
  const announce = () => {
    if (!announced) ctx.send('request', { requestId, conversationId });
    announced = true;
  };
  const { result } = await chat({ ...params, requestId, conversationId, stream: true }, caller, gatewayDeps(), {
    signal: ctx.signal,
    onDelta: (text) => {
      announce();
      ctx.send('delta', { text });
    },
  });
  logger.info('Streamed chat', {
    requestId,
    model: result.model,
    finishReason: result.finishReason,
    usage: result.usage,
    costUsd: result.costUsd,
  });
  announce();
  ctx.send('done', result);
});
