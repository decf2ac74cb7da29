/**
 * Events of the model Gateway engine (`autonomy.gateway`). A tenant paused at its budget's hard cap
 * is saved with the budget state that paused it (an outbox), recorded in the tenant's ledger (stream
 * `events.gateway`) and published after it, so it is published at least once (events/delivery.ts).
 */
import { z } from 'zod';
import { defineEvent, detailSchema, isoTimestampSchema } from './common.ts';

/** The budget windows a tenant may set (`PUT /gateway/budgets`): a calendar hour, day or month in UTC. */
export const budgetWindowSchema = z.enum(['hour', 'day', 'month']);

/** `gateway.tenant.paused` v1: a tenant's spending reached its token or cost budget; model calls are refused until the window ends or an admin raises the budget. */
export const tenantPaused = defineEvent({
  source: 'autonomy.gateway',
  detailType: 'gateway.tenant.paused',
  version: '1',
  description:
    "A tenant's model spending reached the hard cap of its token or cost budget in the current window: the gateway refuses its model calls (429 naming the budget) until the window ends or an admin raises the budget.",
  schema: detailSchema('1', {
    /** Which limit was reached: input plus output tokens, or USD. */
    budget: z.enum(['tokens', 'costUsd']),
    window: budgetWindowSchema,
    /** The window's first instant (UTC). */
    windowStart: isoTimestampSchema,
    /** When the window ends and spending starts from zero again. */
    pausedUntil: isoTimestampSchema,
    /** The budget's limit, in its unit. */
    limit: z.number().min(0).max(1e15),
    /** What was spent in the window when the cap was reached, in the budget's unit. */
    spent: z.number().min(0).max(1e15),
    /** The request whose settlement reached the cap. */
    requestId: z.string().min(1).max(128),
    pausedAt: isoTimestampSchema,
  }),
});
/** The detail of `gateway.tenant.paused`. */
export type TenantPaused = z.infer<typeof tenantPaused.schema>;
