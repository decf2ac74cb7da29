/**
 * The one bounded-concurrency helper: run async work over a list with at most `limit` calls in
 * flight, on `p-limit` (a fresh limiter per call, so unrelated callers never share a queue).
 */
import pLimit from 'p-limit';

/**
 * Runs `work` over `items` with at most `limit` in flight; results in the order of `items`.
 * Fails fast: the first rejection rejects the whole call and no further item is started (items
 * already running finish on their own).
 *
 * @throws the first error `work` throws.
 * @throws RangeError when `limit` is not a positive integer.
 * @example
 * const checkpoints = await mapLimit(keys, 16, (key) => store.read(key));
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const limiter = pLimit(checkedLimit(limit));
  try {
    return await limiter.map(items, work);
  } catch (error) {
    limiter.clearQueue();
    throw error;
  }
}

/**
 * Runs `work` over every item with at most `limit` in flight and settles each one: a failure
 * never stops the others. Results in the order of `items`, as `Promise.allSettled` gives them.
 *
 * @throws RangeError when `limit` is not a positive integer.
 * @example
 * const outcomes = await settleLimit(seriesNames, 8, (name) => writeSeries(name));
 * const failed = outcomes.filter((outcome) => outcome.status === 'rejected');
 */
export async function settleLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const limiter = pLimit(checkedLimit(limit));
  return Promise.allSettled(items.map((item, index) => limiter(work, item, index)));
}

function checkedLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
  return limit;
}
