import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../../lib/errors.ts';
import {
  type Amount,
  actualAmount,
  type Budget,
  BudgetExceededError,
  budgetFromInput,
  budgetRetryAfterSeconds,
  capReached,
  exceededBudget,
  formatUsd,
  holdId,
  IN_FLIGHT_RETRY_AFTER_SECONDS,
  parseHoldId,
  parseUsd,
  refusal,
  reservationBounds,
  scaledDecimal,
  settlement,
  tokenPrices,
  usageView,
  usdNumber,
  windowOf,
  windowsBetween,
  worstCase,
} from '../../lib/gateway/budgets.ts';

const amountArb = fc.record({ tokens: fc.integer({ min: 0, max: 10_000_000 }), costPicoUsd: fc.bigInt({ min: 0n, max: 10n ** 18n }) });

describe('exact USD amounts in picodollars', () => {
  it('reads numbers and decimal text exactly, exponents included', () => {
    assert.equal(parseUsd(0.1), 100_000_000_000n);
    assert.equal(parseUsd('12.50'), 12_500_000_000_000n);
    assert.equal(parseUsd(1e-12), 1n);
    assert.equal(parseUsd('1.5E-7'), 150_000n);
    assert.equal(parseUsd(1e21), 10n ** 33n);
    assert.equal(parseUsd('.5'), 500_000_000_000n);
    assert.equal(parseUsd(0), 0n);
    assert.equal(scaledDecimal(0.00015, 9), 150_000n);
  });

  it('refuses negative, non-finite, malformed amounts and amounts finer than a picodollar', () => {
    for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY, '', '.', 'abc', '1,5', '1e-13', 0.1 + 0.2, '-0.5', '0x10']) {
      assert.throws(() => parseUsd(value), RangeError, String(value));
    }
  });

  it('formats picodollars as exact decimal text without trailing zeros', () => {
    assert.equal(formatUsd(0n), '0');
    assert.equal(formatUsd(1n), '0.000000000001');
    assert.equal(formatUsd(12_500_000_000_000n), '12.5');
    assert.equal(formatUsd(-150_000n), '-0.00000015');
    assert.equal(usdNumber(140_000_000n), 0.00014);
  });

  it('round-trips every picodollar amount through its text', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), (pico) => parseUsd(formatUsd(pico)) === pico));
  });

  it('reads any USD number of up to 15 significant digits (at most 12 decimals) exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), fc.bigInt({ min: 0n, max: 10n ** 12n - 1n }), (whole, fraction) => {
        const text = `${whole}.${fraction.toString().padStart(12, '0')}`;
        return parseUsd(Number(text)) === BigInt(whole) * 10n ** 12n + fraction;
      }),
    );
  });
});

describe('model prices and the cost of a call', () => {
  it('turns prices per 1,000 tokens into exact picodollars per token', () => {
    assert.deepEqual(tokenPrices({ name: 'm', priceInputPer1k: 0.00015, priceOutputPer1k: 0.0006 }), {
      inputPicoUsdPerToken: 150_000n,
      outputPicoUsdPerToken: 600_000n,
    });
    assert.deepEqual(tokenPrices({ name: 'm', priceInputPer1k: 0.00001875, priceOutputPer1k: 0 }), {
      inputPicoUsdPerToken: 18_750n,
      outputPicoUsdPerToken: 0n,
    });
    assert.deepEqual(tokenPrices({ name: 'm', priceInputPer1k: 1e-9, priceOutputPer1k: 60 }), {
      inputPicoUsdPerToken: 1n,
      outputPicoUsdPerToken: 60_000_000_000n,
    });
  });

  it('refuses a price with more than 9 decimals, naming the model and the field', () => {
    assert.throws(
      () => tokenPrices({ name: 'odd-model', priceInputPer1k: 0.001, priceOutputPer1k: 1e-10 }),
      /odd-model: priceOutputPer1k 1e-10 .* at most 9 decimals/,
    );
    assert.throws(() => tokenPrices({ name: 'neg', priceInputPer1k: -0.001, priceOutputPer1k: 0 }), /neg: priceInputPer1k/);
  });

  it('reserves input + maxTokens at the input and output prices, and charges the actual usage', () => {
    const prices = tokenPrices({ name: 'm', priceInputPer1k: 0.003, priceOutputPer1k: 0.015 });
    assert.deepEqual(worstCase(prices, 1200, 256), { tokens: 1456, costPicoUsd: 1200n * 3_000_000n + 256n * 15_000_000n });
    assert.deepEqual(actualAmount(prices, { inputTokens: 1200, outputTokens: 17 }), {
      tokens: 1217,
      costPicoUsd: 1200n * 3_000_000n + 17n * 15_000_000n,
    });
    assert.throws(() => worstCase(prices, 1.5, 10), /inputTokens must be a non-negative integer/);
    assert.throws(() => actualAmount(prices, { inputTokens: 1, outputTokens: -1 }), /usage.outputTokens/);
  });

  it('is exact where floating point drifts: a million calls of 7 tokens at 0.00015 USD per 1k cost exactly 1.05 USD', () => {
    const prices = tokenPrices({ name: 'm', priceInputPer1k: 0.00015, priceOutputPer1k: 0 });
    let exact = 0n;
    let float = 0;
    for (let i = 0; i < 1_000_000; i += 1) {
      exact += actualAmount(prices, { inputTokens: 7, outputTokens: 0 }).costPicoUsd;
      float += (7 * 0.00015) / 1000;
    }
    assert.equal(formatUsd(exact), '1.05');
    assert.notEqual(float, 1.05, 'summed as doubles, the same charges miss 1.05');
  });

  it('charges tokens × price exactly for any 9-decimal price', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999_999 }), fc.integer({ min: 0, max: 1_000_000 }), (nanoPer1k, tokens) => {
        const price = Number(`${Math.floor(nanoPer1k / 1e9)}.${String(nanoPer1k % 1e9).padStart(9, '0')}`);
        const prices = tokenPrices({ name: 'm', priceInputPer1k: price, priceOutputPer1k: price });
        // USD = tokens × price / 1000 = tokens × nanoPer1k × 10⁻¹²: exactly tokens × nanoPer1k picodollars.
        return actualAmount(prices, { inputTokens: tokens, outputTokens: 0 }).costPicoUsd === BigInt(tokens) * BigInt(nanoPer1k);
      }),
    );
  });
});

describe('budget windows (UTC)', () => {
  it('names the hour, day and month an instant falls in, with their bounds', () => {
    const at = new Date('2026-03-07T14:05:09.123Z');
    assert.deepEqual(windowOf('hour', at), {
      kind: 'hour',
      id: '2026-03-07T14',
      start: new Date('2026-03-07T14:00:00Z'),
      end: new Date('2026-03-07T15:00:00Z'),
    });
    assert.deepEqual(windowOf('day', at), {
      kind: 'day',
      id: '2026-03-07',
      start: new Date('2026-03-07T00:00:00Z'),
      end: new Date('2026-03-08T00:00:00Z'),
    });
    assert.deepEqual(windowOf('month', at), {
      kind: 'month',
      id: '2026-03',
      start: new Date('2026-03-01T00:00:00Z'),
      end: new Date('2026-04-01T00:00:00Z'),
    });
  });

  it('starts a window at its first instant and rolls over years, month ends and leap days', () => {
    assert.equal(windowOf('day', new Date('2026-03-08T00:00:00.000Z')).id, '2026-03-08');
    assert.equal(windowOf('day', new Date('2026-03-07T23:59:59.999Z')).id, '2026-03-07');
    assert.deepEqual(windowOf('month', new Date('2026-12-31T23:59:59Z')).end, new Date('2027-01-01T00:00:00Z'));
    assert.deepEqual(windowOf('day', new Date('2028-02-29T12:00:00Z')).end, new Date('2028-03-01T00:00:00Z'));
    assert.deepEqual(windowOf('hour', new Date('2026-12-31T23:30:00Z')).end, new Date('2027-01-01T00:00:00Z'));
  });

  it('lists the windows overlapping a span, oldest first, ids sorting as time does', () => {
    assert.deepEqual(
      windowsBetween('hour', new Date('2026-03-07T22:30:00Z'), new Date('2026-03-08T00:10:00Z')).map((w) => w.id),
      ['2026-03-07T22', '2026-03-07T23', '2026-03-08T00'],
    );
    assert.deepEqual(
      windowsBetween('month', new Date('2026-01-31T12:00:00Z'), new Date('2026-03-01T00:00:00Z')).map((w) => w.id),
      ['2026-01', '2026-02', '2026-03'],
    );
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 1e9 }),
        (from, spanMs) => {
          for (const kind of ['hour', 'day', 'month'] as const) {
            const windows = windowsBetween(kind, from, new Date(from.getTime() + spanMs));
            for (let i = 1; i < windows.length; i += 1) {
              const previous = windows[i - 1];
              const current = windows[i];
              if (!previous || !current || previous.end.getTime() !== current.start.getTime() || !(previous.id < current.id)) return false;
            }
          }
          return true;
        },
      ),
    );
  });
});

describe('budget input', () => {
  it('keeps the cost exact and names the field it cannot take', () => {
    assert.deepEqual(budgetFromInput({ tokens: 50_000, costUsd: 2.35, window: 'day' }), {
      tokens: 50_000,
      costPicoUsd: 2_350_000_000_000n,
      window: 'day',
    });
    assert.throws(
      () => budgetFromInput({ tokens: 10, costUsd: 1e-13, window: 'day' }),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'costUsd',
    );
    assert.throws(
      () => budgetFromInput({ tokens: 1.5, costUsd: 1, window: 'day' }),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'tokens',
    );
  });
});

describe('reservation decisions', () => {
  const budget: Budget = { tokens: 1000, costPicoUsd: 5_000_000n, window: 'day' };

  it('lets a request fit exactly up to each limit, and names the limit it would pass', () => {
    assert.equal(exceededBudget(budget, { tokens: 900, costPicoUsd: 0n }, { tokens: 100, costPicoUsd: 5_000_000n }), undefined);
    assert.equal(exceededBudget(budget, { tokens: 901, costPicoUsd: 0n }, { tokens: 100, costPicoUsd: 0n }), 'tokens');
    assert.equal(exceededBudget(budget, { tokens: 0, costPicoUsd: 1n }, { tokens: 100, costPicoUsd: 5_000_000n }), 'costUsd');
    assert.equal(
      exceededBudget(budget, { tokens: 1000, costPicoUsd: 5_000_001n }, { tokens: 1, costPicoUsd: 0n }),
      'tokens',
      'tokens named first',
    );
  });

  it('computes bounds whose comparison (the conditional write) is exactly the fit decision', () => {
    fc.assert(
      fc.property(amountArb, amountArb, amountArb, (limits, committed, request) => {
        const b: Budget = { ...limits, window: 'hour' };
        const bounds = reservationBounds(b, request);
        const conditionHolds = committed.tokens <= bounds.tokens && committed.costPicoUsd <= bounds.costPicoUsd;
        return conditionHolds === (exceededBudget(b, committed, request) === undefined);
      }),
    );
  });

  it('reaches the cap when spent reaches a limit', () => {
    assert.equal(capReached(budget, { tokens: 999, costPicoUsd: 4_999_999n }), undefined);
    assert.equal(capReached(budget, { tokens: 1000, costPicoUsd: 0n }), 'tokens');
    assert.equal(capReached(budget, { tokens: 0, costPicoUsd: 5_000_000n }), 'costUsd');
  });

  it('settles by moving committed by actual − reserved and spent by actual, flagging an overrun', () => {
    const reserved: Amount = { tokens: 500, costPicoUsd: 900n };
    assert.deepEqual(settlement(reserved, { tokens: 320, costPicoUsd: 400n }), {
      committed: { tokens: -180, costPicoUsd: -500n },
      spent: { tokens: 320, costPicoUsd: 400n },
      overrun: false,
    });
    assert.equal(settlement(reserved, { tokens: 501, costPicoUsd: 10n }).overrun, true);
    assert.deepEqual(settlement(reserved, { tokens: 0, costPicoUsd: 0n }).committed, { tokens: -500, costPicoUsd: -900n }, 'a release');
  });

  it('keeps spent within the budget through any interleaving of reservations, settlements and releases within their worst case', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('reserve' as const),
        tokens: fc.integer({ min: 1, max: 400 }),
        cost: fc.bigInt({ min: 0n, max: 2_000_000n }),
      }),
      fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const committed: Amount = { tokens: 0, costPicoUsd: 0n };
        const spent: Amount = { tokens: 0, costPicoUsd: 0n };
        const held: Amount[] = [];
        const apply = (moves: Amount, into: Amount) => {
          into.tokens += moves.tokens;
          into.costPicoUsd += moves.costPicoUsd;
        };
        for (const o of ops) {
          if (o.kind === 'reserve') {
            const request = { tokens: o.tokens, costPicoUsd: o.cost };
            const bounds = reservationBounds(budget, request);
            const fits = committed.tokens <= bounds.tokens && committed.costPicoUsd <= bounds.costPicoUsd && !capReached(budget, spent);
            if (fits) {
              apply(request, committed);
              held.push(request);
            }
          } else if (held.length > 0) {
            const [reserved] = held.splice(o.pick % held.length, 1);
            if (!reserved) continue;
            const share = o.kind === 'settle' ? o.share : 0;
            const actual = {
              tokens: Math.floor(reserved.tokens * share),
              costPicoUsd: (reserved.costPicoUsd * BigInt(Math.floor(share * 1000))) / 1000n,
            };
            const moves = settlement(reserved, actual);
            apply(moves.committed, committed);
            apply(moves.spent, spent);
          }
          if (committed.tokens > budget.tokens || committed.costPicoUsd > budget.costPicoUsd) return false;
          if (spent.tokens > committed.tokens || spent.costPicoUsd > committed.costPicoUsd) return false;
        }
        return true;
      }),
    );
  });
});

describe('refusals', () => {
  const budget: Budget = { tokens: 1000, costPicoUsd: parseUsd('0.5'), window: 'day' };
  const now = new Date('2026-03-07T18:00:00Z');
  const window = windowOf('day', now);

  it('names the tokens budget and the window, with a short Retry-After while running calls hold the room', () => {
    const error = refusal(
      'acme',
      budget,
      window,
      { tokens: 300, costPicoUsd: 0n },
      { committed: { tokens: 800, costPicoUsd: 0n }, spent: { tokens: 100, costPicoUsd: 0n } },
      now,
    );
    assert.ok(error instanceof BudgetExceededError);
    assert.equal(error.name, 'BudgetExceededError');
    assert.deepEqual([error.budget, error.paused, error.retryAfterSeconds], ['tokens', false, IN_FLIGHT_RETRY_AFTER_SECONDS]);
    assert.equal(
      error.message,
      "Tenant acme's tokens budget for the day 2026-03-07 (UTC) cannot cover this request: 800 tokens of 1,000 tokens committed (spent or reserved by running calls), and the request needs up to 300 tokens (input plus maxTokens)",
    );
  });

  it('asks to wait until the window ends when spending alone leaves no room', () => {
    const error = refusal(
      'acme',
      budget,
      window,
      { tokens: 300, costPicoUsd: 0n },
      { committed: { tokens: 800, costPicoUsd: 0n }, spent: { tokens: 800, costPicoUsd: 0n } },
      now,
    );
    assert.equal(error?.retryAfterSeconds, 6 * 3600);
    assert.equal(budgetRetryAfterSeconds(window, new Date(window.end.getTime() - 10), true), 1, 'never less than a second');
  });

  it('names the cost budget in USD', () => {
    const error = refusal(
      'acme',
      budget,
      window,
      { tokens: 1, costPicoUsd: parseUsd('0.2') },
      { committed: { tokens: 0, costPicoUsd: parseUsd('0.4') }, spent: { tokens: 0, costPicoUsd: 0n } },
      now,
    );
    assert.equal(error?.budget, 'costUsd');
    assert.match(
      error?.message ?? '',
      /costUsd budget for the day 2026-03-07 \(UTC\) cannot cover this request: 0.4 USD of 0.5 USD committed .* needs up to 0.2 USD/,
    );
  });

  it('says the tenant is paused once spending reached a limit, and when it resumes', () => {
    const error = refusal(
      'acme',
      budget,
      window,
      { tokens: 1, costPicoUsd: 0n },
      { committed: { tokens: 10, costPicoUsd: parseUsd('0.5') }, spent: { tokens: 10, costPicoUsd: parseUsd('0.5') } },
      now,
    );
    assert.deepEqual([error?.budget, error?.paused], ['costUsd', true]);
    assert.match(
      error?.message ?? '',
      /Tenant acme is paused: its costUsd budget for the day 2026-03-07 \(UTC\) is spent \(0.5 USD of 0.5 USD\); .* \(2026-03-08T00:00:00.000Z\)/,
    );
  });

  it('says when the request is larger than the whole budget, and refuses nothing that fits', () => {
    const zero = { tokens: 0, costPicoUsd: 0n };
    assert.match(
      refusal('acme', budget, window, { tokens: 1001, costPicoUsd: 0n }, { committed: zero, spent: zero }, now)?.message ?? '',
      /more than the whole budget/,
    );
    assert.equal(refusal('acme', budget, window, { tokens: 1000, costPicoUsd: 0n }, { committed: zero, spent: zero }, now), undefined);
  });
});

describe('hold ids', () => {
  it('round-trip the amounts and lease end they name', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 52 }),
        fc.integer({ min: 0, max: 2 ** 52 }),
        fc.bigInt({ min: 0n, max: 10n ** 39n }),
        fc.stringMatching(/^[a-z0-9]{1,32}$/),
        (expiresAtMs, tokens, costPicoUsd, nonce) => {
          const hold = { expiresAtMs, tokens, costPicoUsd, nonce };
          assert.deepEqual(parseHoldId(holdId(hold)), hold);
        },
      ),
    );
  });

  it('refuses what is not a hold', () => {
    for (const id of ['', 'r.1.2.3', 'r.1.2.3.ABC', 's.1.2.abc', 'r.-1.2.3.a', 'r.1.2.3.a.b']) assert.equal(parseHoldId(id), undefined, id);
    assert.throws(() => holdId({ expiresAtMs: 1, tokens: 1, costPicoUsd: -1n, nonce: 'a' }), RangeError);
    assert.throws(() => holdId({ expiresAtMs: 1, tokens: 1, costPicoUsd: 1n, nonce: 'A.b' }), RangeError);
  });
});

describe('the usage view', () => {
  it('shows spending and reservations in tokens and USD, the budget as it was set, and the pause from the counters', () => {
    const window = windowOf('month', new Date('2026-03-07T18:00:00Z'));
    const view = usageView({
      tenant: 'acme',
      window,
      spent: { tokens: 1200, costPicoUsd: parseUsd('0.0042') },
      inputTokens: 1000,
      outputTokens: 200,
      reserved: { tokens: 300, costPicoUsd: parseUsd('0.001') },
      requests: 3,
      expired: { count: 0, tokens: 0, costPicoUsd: 0n },
      capReached: 'tokens',
      budget: {
        tenant: 'acme',
        tokens: 1200,
        costPicoUsd: parseUsd(1),
        window: 'month',
        version: 1,
        updatedAt: '2026-03-01T00:00:00Z',
        updatedBy: 'root',
      },
    });
    assert.deepEqual(view, {
      window: { kind: 'month', start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
      tokens: 1200,
      costUsd: 0.0042,
      reserved: { tokens: 300, costUsd: 0.001 },
      requests: 3,
      budget: { tokens: 1200, costUsd: 1, window: 'month' },
      paused: true,
    });
  });
});
