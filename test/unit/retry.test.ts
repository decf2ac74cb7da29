/** The shared retry helper (lib/retry.ts) and bounded-concurrency helpers (lib/concurrency.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapLimit, settleLimit } from '../../lib/concurrency.ts';
import { backoffDelay, retry } from '../../lib/retry.ts';

class Transient extends Error {}

/** Records waits instead of sleeping. */
function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('backoffDelay', () => {
  it('doubles from the base, is capped, and is jittered below the ceiling', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((retry) => backoffDelay(retry, policy, () => 0.9999999)),
      [99, 199, 399, 799, 999, 999],
    );
    assert.equal(
      backoffDelay(3, policy, () => 0),
      0,
    );
    for (let retry = 1; retry < 8; retry += 1) {
      const delay = backoffDelay(retry, policy);
      assert.ok(delay >= 0 && delay < Math.min(1000, 100 * 2 ** (retry - 1)));
    }
  });
});

describe('retry', () => {
  it('calls again after a retryable error, waiting the jittered backoff, and returns the first success', async () => {
    const { waits, sleep } = recorder();
    const seen: number[] = [];
    const value = await retry(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw new Transient('not yet');
        return 'done';
      },
      { attempts: 5, baseDelayMs: 10, maxDelayMs: 1000, sleep, random: () => 0.5 },
    );
    assert.equal(value, 'done');
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(waits, [5, 10]);
  });

  it('throws the last error unchanged after `attempts` calls', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const last = new Transient('third');
    await assert.rejects(
      retry(
        async () => {
          calls += 1;
          throw calls === 3 ? last : new Transient(`call ${calls}`);
        },
        { attempts: 3, baseDelayMs: 8, maxDelayMs: 250, sleep, random: () => 0.999 },
      ),
      (error: unknown) => error === last,
    );
    assert.equal(calls, 3);
    assert.deepEqual(waits, [7, 15]);
  });

  it('throws at once an error that is not retryable', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    await assert.rejects(
      retry(
        async () => {
          calls += 1;
          throw new TypeError('a bug');
        },
        { attempts: 10, baseDelayMs: 1, maxDelayMs: 1, retryable: (error) => error instanceof Transient, sleep },
      ),
      TypeError,
    );
    assert.equal(calls, 1);
    assert.deepEqual(waits, []);
  });

  it('starts no retry whose wait would end past the deadline', async () => {
    const { waits, sleep } = recorder();
    let clock = 1000;
    let calls = 0;
    await assert.rejects(
      retry(
        async () => {
          calls += 1;
          clock += 40;
          throw new Transient(`call ${calls}`);
        },
        // Waits of 0.5 * 100, then 0.5 * 200: the first ends at 1090 (before 1150), the second would end at 1180.
        { attempts: 10, baseDelayMs: 100, maxDelayMs: 10_000, deadline: 1150, sleep, random: () => 0.5, now: () => clock },
      ),
      /call 2/,
    );
    assert.equal(calls, 2);
    assert.deepEqual(waits, [50]);
  });
});

/** Work that resolves when told, counting how many run at once. */
function gate() {
  let running = 0;
  let peak = 0;
  const work = async (item: number) => {
    running += 1;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, (item % 3) * 2));
    running -= 1;
    if (item < 0) throw new Error(`item ${item}`);
    return item * 10;
  };
  return { work, peak: () => peak };
}

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and returns results in input order', async () => {
    const { work, peak } = gate();
    const items = Array.from({ length: 20 }, (_, index) => index);
    assert.deepEqual(
      await mapLimit(items, 4, work),
      items.map((item) => item * 10),
    );
    assert.equal(peak(), 4);
  });

  it('rejects with the first error and starts no further item', async () => {
    const started: number[] = [];
    const items = [0, -1, 2, 3, 4, 5, 6, 7];
    await assert.rejects(
      mapLimit(items, 2, async (item) => {
        started.push(item);
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (item < 0) throw new Error('bad item');
        return item;
      }),
      /bad item/,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(started.length < items.length, `started ${started.join(',')}`);
  });

  it('refuses a limit that is not a positive integer', async () => {
    await assert.rejects(
      mapLimit([1], 0, async (item) => item),
      RangeError,
    );
  });
});

describe('settleLimit', () => {
  it('settles every item, a failure not stopping the others, within the limit', async () => {
    const { work, peak } = gate();
    const outcomes = await settleLimit([1, -2, 3, -4, 5], 2, work);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(
      outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : [])),
      [10, 30, 50],
    );
    assert.equal(peak(), 2);
  });
});
