import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ThrottledError } from '../../lib/errors.ts';
import {
  BackpressureError,
  backpressureRetryAfterSeconds,
  expiredSlots,
  nextMeanHoldMs,
  parseSlotId,
  slotId,
} from '../../lib/gateway/backpressure.ts';

describe('model backpressure', () => {
  it('suggests the mean hold time as Retry-After, in whole seconds within 1-60', () => {
    assert.equal(backpressureRetryAfterSeconds(undefined), 1);
    assert.equal(backpressureRetryAfterSeconds(0), 1);
    assert.equal(backpressureRetryAfterSeconds(480), 1);
    assert.equal(backpressureRetryAfterSeconds(2300), 3);
    assert.equal(backpressureRetryAfterSeconds(10 * 60_000), 60);
    assert.equal(backpressureRetryAfterSeconds(Number.NaN), 1);
  });

  it('keeps a running mean of hold times that starts at the first sample and moves a fifth of the way to each new one', () => {
    assert.equal(nextMeanHoldMs(undefined, 1200), 1200);
    assert.equal(nextMeanHoldMs(1000, 2000), 1200);
    assert.equal(nextMeanHoldMs(1000, -5), 800, 'a clock step back counts as zero');
  });

  it('is a 429 with Retry-After naming the model and its mark', () => {
    const error = new BackpressureError('standin-chat', 8, 8, 3);
    assert.ok(error instanceof ThrottledError);
    assert.equal(error.name, 'BackpressureError');
    assert.equal(error.retryAfterSeconds, 3);
    assert.equal(error.message, 'Model standin-chat has 8 requests in flight, its mark is 8: retry in 3 s');
  });

  it('round-trips slot ids and finds the expired ones (malformed ids count as expired, so they never block a model)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 52 }),
        fc.integer({ min: 0, max: 2 ** 52 }),
        fc.stringMatching(/^[a-z0-9]{1,32}$/),
        (acquiredAtMs, expiresAtMs, nonce) => {
          assert.deepEqual(parseSlotId(slotId({ acquiredAtMs, expiresAtMs, nonce })), { acquiredAtMs, expiresAtMs, nonce });
        },
      ),
    );
    const live = slotId({ acquiredAtMs: 1000, expiresAtMs: 5000, nonce: 'a1' });
    const dead = slotId({ acquiredAtMs: 1000, expiresAtMs: 2000, nonce: 'b2' });
    assert.deepEqual(expiredSlots([live, dead, 'junk'], new Date(2000)), [dead, 'junk']);
    assert.throws(() => slotId({ acquiredAtMs: 1.5, expiresAtMs: 2, nonce: 'a' }), RangeError);
    assert.throws(() => slotId({ acquiredAtMs: 1, expiresAtMs: 2, nonce: 'A' }), RangeError);
  });
});
