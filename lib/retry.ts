/**
 * The one retry helper: capped exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"), a bound on attempts, an optional deadline, and injectable
 * `sleep`, `random` and `now` so tests run deterministically and without waiting.
 */

/** A capped exponential backoff: retry `r` waits below `min(maxDelayMs, baseDelayMs · 2^(r−1))`. */
export interface Backoff {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * The wait before retry number `retry` (1 for the first retry): full jitter over the capped
 * exponential, `floor(random() · min(maxDelayMs, baseDelayMs · 2^(retry−1)))`, so concurrent
 * callers that failed together spread out instead of colliding again.
 * @example backoffDelay(3, { baseDelayMs: 100, maxDelayMs: 2000 }) // somewhere in 0..399
 */
export function backoffDelay(retry: number, backoff: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/** Options of {@link retry}. */
export interface RetryOptions extends Backoff {
  /** Calls of `run` in all, the first included (at least 1). */
  attempts: number;
  /** Whether an error is worth another attempt (default: every error); any other is thrown at once. */
  retryable?: (error: unknown) => boolean;
  /** Time (ms since the epoch, as `now` tells it) after which no retry starts: the last error is thrown instead. */
  deadline?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `run(attempt)` (attempt 1, 2, …) until it resolves, waiting {@link backoffDelay} between
 * calls. Gives up, throwing the last error unchanged (so callers still catch it by type), when the
 * error is not `retryable`, after `attempts` calls, or when the next wait would end past `deadline`.
 *
 * @throws the last error of `run`.
 * @example
 * const record = await retry(() => store.put(next, version), {
 *   attempts: 5, baseDelayMs: 20, maxDelayMs: 1000, retryable: (error) => error instanceof ConflictError,
 * });
 */
export async function retry<T>(run: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !(options.retryable?.(error) ?? true)) throw error;
      const delay = backoffDelay(attempt, options, random);
      if (options.deadline !== undefined && now() + delay > options.deadline) throw error;
      await sleep(delay);
    }
  }
}
