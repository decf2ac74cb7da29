/**
 * /gateway/chat: one request through the gateway's pipeline (POST; JSON, or server-sent events with
 * `stream: true`, buffered behind API Gateway; functions/gateway/chat-stream.ts streams them live from
 * its function URL) and the cancellation of a running one (DELETE).
 */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { gatewayDeps, gatewayRequests } from '../../lib/adapters/aws/gateway-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { type ChatCaller, chat } from '../../lib/gateway/engine.ts';
import { cancelChatRoute, chatRoute } from '../../lib/gateway/routes.ts';
import { EVENT_STREAM_CONTENT_TYPE, sseStream } from '../../lib/gateway/sse.ts';

/** Milliseconds kept back from the function's deadline to settle, bill and log after the model call stops. */
const SETTLE_MARGIN_MS = 4_000;

export const handler = engineHandler(
  engineDeps(),
  route(chatRoute, async (params, ctx) => {
    const remaining = ctx.remainingMs();
    const caller: ChatCaller = {
      tenant: ctx.tenant,
      actor: ctx.principal?.subject ?? 'unknown',
      correlationId: ctx.correlationId,
      ...(Number.isFinite(remaining) ? { deadline: new Date(Date.now() + Math.max(1_000, remaining - SETTLE_MARGIN_MS)) } : {}),
    };
    const { result, deltas } = await chat(params, caller, gatewayDeps());
    ctx.log(
      `${result.requestId}: ${result.model} ${result.finishReason}, ${result.usage.inputTokens}+${result.usage.outputTokens} tokens, ${result.costUsd} USD`,
    );
    if (params.stream)
      return {
        result,
        raw: { contentType: EVENT_STREAM_CONTENT_TYPE, body: sseStream(deltas, result) },
        headers: { 'cache-control': 'no-cache' },
      };
    return { result, ...(result.ledger ? { ledger: { tenant: ctx.tenant, ...result.ledger } } : {}) };
  }),
  route(cancelChatRoute, async (params, ctx) => {
    await gatewayRequests().cancel(ctx.tenant, params.requestId);
    ctx.log(`${params.requestId}: cancellation requested`);
    return { result: { requestId: params.requestId, cancelled: true as const } };
  }),
);
