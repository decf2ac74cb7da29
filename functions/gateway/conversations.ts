/**
 * /gateway/conversations: a dual-model exchange, every turn through the chat pipeline (POST), and a
 * conversation's log verified against the ledger (GET).
 */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { gatewayConversations, gatewayDeps, gatewayLedger } from '../../lib/adapters/aws/gateway-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { exchange, viewConversation } from '../../lib/gateway/engine.ts';
import { exchangeRoute, getConversationRoute } from '../../lib/gateway/routes.ts';

/** Milliseconds kept back from the function's deadline to settle and log the turn running when it passes. */
const SETTLE_MARGIN_MS = 4_000;

export const handler = engineHandler(
  engineDeps(),
  route(exchangeRoute, async (params, ctx) => {
    const remaining = ctx.remainingMs();
    const outcome = await exchange(
      params,
      {
        tenant: ctx.tenant,
        actor: ctx.principal?.subject ?? 'unknown',
        correlationId: ctx.correlationId,
        ...(Number.isFinite(remaining) ? { deadline: new Date(Date.now() + Math.max(1_000, remaining - SETTLE_MARGIN_MS)) } : {}),
      },
      gatewayDeps(),
    );
    ctx.log(
      `${outcome.conversationId}: ${outcome.transcript.length} turns, ${outcome.status}${outcome.stoppedBy ? ` (${outcome.stoppedBy})` : ''}`,
    );
    return { status: outcome.status === 'completed' ? 'success' : 'failure', result: outcome };
  }),
  route(getConversationRoute, async (params, ctx) => ({
    result: await viewConversation(ctx.tenant, params.conversationId, { conversations: gatewayConversations(), ledger: gatewayLedger() }),
  })),
);
