/**
 * Per-tenant request budgets: a fixed one-minute window per tenant, counted in a shared store so
 * every container sees the same count. Over the budget, a request gets 429 with `Retry-After`.
 */

/** The outcome of asking for one request's worth of budget. */
export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window resets (only meaningful when not allowed). */
  retryAfterSeconds: number;
}

/** Counts requests per tenant and window. */
export interface RateLimiter {
  consume(tenant: string, now: Date): Promise<RateDecision>;
}

/** The window a moment falls in: its start (epoch ms) and the seconds left in it, rounded up. */
export function rateWindow(now: Date, windowMs = 60_000): { start: number; end: number; secondsLeft: number } {
  const start = Math.floor(now.getTime() / windowMs) * windowMs;
  const end = start + windowMs;
  return { start, end, secondsLeft: Math.max(1, Math.ceil((end - now.getTime()) / 1000)) };
}
