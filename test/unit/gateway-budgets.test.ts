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
  budgetView,
  capReached,
  exceededBudget,
  formatUsd,
  holdId,
  IN_FLIGHT_RETRY_AFTER_SECONDS,
  liftsPause,
  parseHoldId,
  parseUsd,
  pauseFloor,
  refusal,
  reservationBounds,
  scaledDecimal,
  settlement,
  spendingBlocks,
  spendingBounds,
  tokenPrices,
  usageView,
  usdNumber,
  windowOf,
  windowsBetween,
  worstCase,
} from '../../lib/gateway/budgets.ts';
import { MemoryBudgetStore } from '../../lib/gateway/memory-store.ts';

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
  it('takes pause floors (tokens, USD exact) and shows only those set', () => {
    const budget = budgetFromInput({ tokens: 50_000, costUsd: 2, window: 'day', pauseBelowTokens: 4096, pauseBelowCostUsd: 0.05 });
    assert.deepEqual([budget.pauseBelowTokens, budget.pauseBelowCostPicoUsd], [4096, 50_000_000_000n]);
    assert.deepEqual(budgetView(budget), { tokens: 50_000, costUsd: 2, window: 'day', pauseBelowTokens: 4096, pauseBelowCostUsd: 0.05 });
    assert.deepEqual(budgetView(budgetFromInput({ tokens: 10, costUsd: 1, window: 'hour' })), { tokens: 10, costUsd: 1, window: 'hour' });
  });

  it('refuses a pause floor above its limit or below one unit, naming the field', () => {
    const field = (input: Parameters<typeof budgetFromInput>[0]) => {
      try {
        budgetFromInput(input);
      } catch (error) {
        return error instanceof ValidationError ? error.issues[0]?.path : String(error);
      }
      return 'accepted';
    };
    assert.equal(field({ tokens: 100, costUsd: 1, window: 'day', pauseBelowTokens: 101 }), 'pauseBelowTokens');
    assert.equal(field({ tokens: 100, costUsd: 1, window: 'day', pauseBelowTokens: 0 }), 'pauseBelowTokens');
    assert.equal(field({ tokens: 100, costUsd: 1, window: 'day', pauseBelowCostUsd: 1.5 }), 'pauseBelowCostUsd');
    assert.equal(field({ tokens: 100, costUsd: 1, window: 'day', pauseBelowCostUsd: 1e-13 }), 'pauseBelowCostUsd');
    assert.equal(field({ tokens: 100, costUsd: 1, window: 'day', pauseBelowTokens: 100, pauseBelowCostUsd: 1 }), 'accepted');
    assert.equal(field({ tokens: 0, costUsd: 0, window: 'day', pauseBelowTokens: 1 }), 'accepted', 'a zero budget is paused anyway');
  });

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

  it('puts the pause floor at 1% of each limit by default, rounded up, at least one unit', () => {
    assert.deepEqual(pauseFloor(budget), { tokens: 10, costPicoUsd: 50_000n });
    assert.deepEqual(pauseFloor({ tokens: 20_001, costPicoUsd: 101n, window: 'day' }), { tokens: 201, costPicoUsd: 2n });
    assert.deepEqual(pauseFloor({ tokens: 7, costPicoUsd: 0n, window: 'day' }), { tokens: 1, costPicoUsd: 1n });
    assert.deepEqual(pauseFloor({ ...budget, pauseBelowTokens: 300, pauseBelowCostPicoUsd: 7n }), { tokens: 300, costPicoUsd: 7n });
    assert.deepEqual(spendingBounds(budget), { tokens: 990, costPicoUsd: 4_950_000n });
  });

  it('reaches the cap when spending leaves less room than the floor, not only at the exact limit', () => {
    assert.equal(capReached(budget, { tokens: 990, costPicoUsd: 4_950_000n }), undefined, 'exactly the floor left: running');
    assert.equal(capReached(budget, { tokens: 991, costPicoUsd: 0n }), 'tokens');
    assert.equal(capReached(budget, { tokens: 1000, costPicoUsd: 0n }), 'tokens');
    assert.equal(capReached(budget, { tokens: 0, costPicoUsd: 4_950_001n }), 'costUsd');
    assert.equal(capReached({ ...budget, pauseBelowTokens: 300 }, { tokens: 701, costPicoUsd: 0n }), 'tokens');
    assert.equal(capReached({ tokens: 0, costPicoUsd: 0n, window: 'day' }, { tokens: 0, costPicoUsd: 0n }), 'tokens', 'a zero budget');
  });

  it('says when spending alone blocks a request, but never for a request larger than the whole budget', () => {
    const spent = { tokens: 800, costPicoUsd: 0n };
    assert.equal(spendingBlocks(budget, spent, { tokens: 200, costPicoUsd: 0n }), undefined, 'fits exactly');
    assert.equal(spendingBlocks(budget, spent, { tokens: 201, costPicoUsd: 0n }), 'tokens');
    assert.equal(spendingBlocks(budget, spent, { tokens: 1, costPicoUsd: 5_000_001n }), undefined, 'larger than the whole cost budget');
    assert.equal(spendingBlocks(budget, { tokens: 0, costPicoUsd: 4_000_000n }, { tokens: 1, costPicoUsd: 1_000_001n }), 'costUsd');
  });

  it('lifts a pause only when the limit that paused is raised and spending leaves room above the floors', () => {
    const spent = { tokens: 995, costPicoUsd: 0n };
    const pause = { budget: 'tokens' as const, limitUnits: 1000n };
    assert.equal(liftsPause({ ...budget, tokens: 2000 }, spent, pause), true);
    assert.equal(liftsPause({ ...budget, tokens: 1004 }, spent, pause), false, 'raised, but less room than the new floor (11)');
    assert.equal(liftsPause({ ...budget, pauseBelowTokens: 1 }, spent, pause), false, 'only the floor lowered');
    assert.equal(liftsPause(budget, { tokens: 600, costPicoUsd: 0n }, pause), false, 'set again unchanged after a refusal paused it');
    assert.equal(liftsPause({ ...budget, costPicoUsd: 10_000_000n }, spent, pause), false, 'the other limit raised');
    assert.equal(liftsPause({ ...budget, tokens: 2000 }, spent, { budget: 'tokens' }), true, 'no exact limit recorded: room decides');
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
  const tokens = (n: number): Amount => ({ tokens: n, costPicoUsd: 0n });
  const end = 'model calls resume when the window ends (2026-03-08T00:00:00.000Z) or an admin raises the budget';

  it('names the budget and the window, with committed, spent, reserved and needed, and a short Retry-After while running calls hold the room', () => {
    const error = refusal('acme', budget, window, tokens(300), { committed: tokens(800), spent: tokens(100) }, now);
    assert.ok(error instanceof BudgetExceededError);
    assert.equal(error.name, 'BudgetExceededError');
    assert.deepEqual(
      [error.budget, error.reason, error.paused, error.retryAfterSeconds],
      ['tokens', 'reserved', false, IN_FLIGHT_RETRY_AFTER_SECONDS],
    );
    assert.deepEqual([error.spent, error.committed, error.needed], [tokens(100), tokens(800), tokens(300)]);
    assert.equal(
      error.message,
      "Tenant acme's tokens budget for the day 2026-03-07 (UTC) cannot cover this request now: 800 tokens of 1,000 tokens committed (100 tokens spent, 700 tokens reserved by running calls), and the request needs up to 300 tokens (input plus maxTokens); retry when running calls settle",
    );
  });

  it('pauses the tenant when spending alone leaves no room, and asks to wait until the window ends', () => {
    const error = refusal('acme', budget, window, tokens(300), { committed: tokens(850), spent: tokens(800) }, now);
    assert.deepEqual([error?.reason, error?.paused, error?.retryAfterSeconds], ['spent', true, 6 * 3600]);
    assert.equal(
      error?.message,
      `Tenant acme's tokens budget for the day 2026-03-07 (UTC) cannot cover this request: 800 tokens of 1,000 tokens spent leave 200 tokens, and the request needs up to 300 tokens (input plus maxTokens; 850 tokens committed with running calls). This reaches the hard cap: the tenant is paused, and ${end}`,
    );
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
      /costUsd budget for the day 2026-03-07 \(UTC\) cannot cover this request now: 0.4 USD of 0.5 USD committed \(0 USD spent, 0.4 USD reserved by running calls\), and the request needs up to 0.2 USD/,
    );
  });

  it('says the tenant is paused once spending is within the pause floor, with the floor, and when it resumes', () => {
    const error = refusal(
      'acme',
      budget,
      window,
      { tokens: 1, costPicoUsd: 0n },
      { committed: { tokens: 10, costPicoUsd: parseUsd('0.499') }, spent: { tokens: 10, costPicoUsd: parseUsd('0.497') } },
      now,
    );
    assert.deepEqual([error?.budget, error?.reason, error?.paused], ['costUsd', 'paused', true]);
    assert.equal(
      error?.message,
      `Tenant acme is paused: its costUsd budget for the day 2026-03-07 (UTC) reached its hard cap (0.497 USD of 0.5 USD spent, 0.003 USD left, below the pause floor of 0.005 USD; 0.499 USD committed with running calls); this request needs up to 0 USD; ${end}`,
    );
  });

  it('says a tenant is paused when the window’s pause was claimed, even with room left and a request that would fit', () => {
    const error = refusal('acme', budget, window, tokens(5), { committed: tokens(400), spent: tokens(400), paused: 'tokens' }, now);
    assert.deepEqual([error?.reason, error?.paused, error?.retryAfterSeconds], ['paused', true, 6 * 3600]);
    assert.match(
      error?.message ?? '',
      /^Tenant acme is paused: .* \(400 tokens of 1,000 tokens spent; 400 tokens committed with running calls\)/,
    );
  });

  it('states what was spent and committed when the request is larger than the whole budget, and pauses nothing', () => {
    const error = refusal('acme', budget, window, tokens(1001), { committed: tokens(650), spent: tokens(400) }, now);
    assert.deepEqual([error?.budget, error?.reason, error?.paused], ['tokens', 'too-large', false]);
    assert.equal(
      error?.message,
      "Tenant acme's tokens budget for the day 2026-03-07 (UTC) cannot cover this request: it needs up to 1,001 tokens (input plus maxTokens), more than the whole budget of 1,000 tokens (400 tokens spent, 650 tokens committed with running calls); lower maxTokens or shorten the input",
    );
    const zero = tokens(0);
    assert.equal(refusal('acme', budget, window, tokens(1000), { committed: zero, spent: zero }, now), undefined, 'the whole budget fits');
  });

  it('says paused, not “cannot cover”, to a paused tenant whose request is also larger than the whole budget', () => {
    for (const state of [
      { committed: tokens(650), spent: tokens(400), paused: 'tokens' as const },
      { committed: tokens(995), spent: tokens(995) },
    ]) {
      const error = refusal('acme', budget, window, tokens(1001), state, now);
      assert.deepEqual([error?.reason, error?.paused], ['paused', true]);
      assert.match(error?.message ?? '', /^Tenant acme is paused: .* this request needs up to 1,001 tokens, more than the whole budget;/);
    }
  });

  it('refuses exactly when the store’s conditional write does (committed within bounds, spent within floors, no pause)', () => {
    fc.assert(
      fc.property(amountArb, amountArb, amountArb, amountArb, fc.boolean(), (limits, spent, reserved, request, flagged) => {
        const budgetUnderTest: Budget = { ...limits, window: 'hour' };
        const committed = { tokens: spent.tokens + reserved.tokens, costPicoUsd: spent.costPicoUsd + reserved.costPicoUsd };
        const bounds = reservationBounds(budgetUnderTest, request);
        const spendable = spendingBounds(budgetUnderTest);
        const writes =
          committed.tokens <= bounds.tokens &&
          committed.costPicoUsd <= bounds.costPicoUsd &&
          spent.tokens <= spendable.tokens &&
          spent.costPicoUsd <= spendable.costPicoUsd &&
          !flagged;
        const refused = refusal(
          't',
          budgetUnderTest,
          windowOf('hour', now),
          request,
          { committed, spent, ...(flagged ? { paused: 'tokens' } : {}) },
          now,
        );
        return writes === (refused === undefined);
      }),
    );
  });
});

describe('the hard cap in the memory store (the DynamoDB store’s semantics)', () => {
  const prices = tokenPrices({ name: 'm', priceInputPer1k: 0.001, priceOutputPer1k: 0.002 });
  const at = new Date('2026-03-07T18:00:00Z');

  it('claims the pause once, only when justified, and refuses every reservation as paused after it, through any sequence', async () => {
    let runs = 0;
    let paused = 0;
    const op = fc.oneof(
      {
        arbitrary: fc.record({
          kind: fc.constant('reserve' as const),
          input: fc.integer({ min: 1, max: 300 }),
          max: fc.integer({ min: 0, max: 400 }),
        }),
        weight: 3,
      },
      {
        arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), percent: fc.integer({ min: 0, max: 100 }) }),
        weight: 3,
      },
      { arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }), weight: 1 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 20, maxLength: 120, size: 'max' }),
        fc.integer({ min: 1, max: 3000 }),
        async (ops, limit) => {
          const store = new MemoryBudgetStore();
          const budget: Budget = { tokens: limit, costPicoUsd: parseUsd(1000), window: 'day' };
          await store.putBudget('t', budget, 'admin', at);
          const held: Awaited<ReturnType<typeof store.reserve>>[] = [];
          let claims = 0;
          let n = 0;
          runs += 1;
          for (const o of ops) {
            n += 1;
            if (o.kind === 'reserve') {
              const before = await store.usage('t', at);
              try {
                held.push(await store.reserve({ tenant: 't', requestId: `r${n}`, prices, inputTokens: o.input, maxTokens: o.max }, at));
                assert.equal(claims, 0, 'nothing reserves once paused');
              } catch (error) {
                assert.ok(error instanceof BudgetExceededError);
                if (claims > 0) assert.equal(error.reason, 'paused');
                if (error.crossing) {
                  claims += 1;
                  // Justified: spending alone left this request (within the whole budget) no room.
                  assert.equal(error.reason, 'spent');
                  assert.ok(before.spent.tokens + o.input + o.max > limit && o.input + o.max <= limit);
                }
              }
            } else if (held.length > 0) {
              const [reservation] = held.splice(o.pick % held.length, 1);
              if (!reservation) continue;
              if (o.kind === 'release') await store.release(reservation);
              else {
                const usage = { inputTokens: Math.floor((o.percent * reservation.amount.tokens) / 100), outputTokens: 0 };
                const outcome = await store.settle(reservation, usage, at);
                if (outcome.paused) {
                  claims += 1;
                  assert.ok(outcome.spent.tokens > spendingBounds(budget).tokens, 'a settlement pauses only past the floor');
                }
              }
            }
            const usage = await store.usage('t', at);
            assert.ok(claims <= 1, `${claims} pause claims`);
            assert.ok(usage.spent.tokens <= limit, `spent ${usage.spent.tokens} of ${limit}`);
            assert.equal(usage.capReached !== undefined, claims === 1 || capReached(budget, usage.spent) !== undefined);
          }
          if (claims > 0) paused += 1;
        },
      ),
      { numRuns: 200 },
    );
    assert.ok(paused >= runs / 10, `the sequences reached the cap in ${paused} of ${runs} runs`);
  });

  it('pauses on the refusal spending alone causes, lifts the pause on a raise only, and pauses when lowered', async () => {
    const store = new MemoryBudgetStore();
    await store.putBudget('t', { tokens: 1000, costPicoUsd: parseUsd(10), window: 'day' }, 'admin', at);
    const first = await store.reserve({ tenant: 't', requestId: 'a', prices, inputTokens: 300, maxTokens: 400 }, at);
    assert.equal((await store.settle(first, { inputTokens: 300, outputTokens: 350 }, at)).paused, undefined, '350 tokens left');
    const refused = await store
      .reserve({ tenant: 't', requestId: 'b', prices, inputTokens: 100, maxTokens: 300 }, at)
      .catch((error: unknown) => error);
    assert.ok(refused instanceof BudgetExceededError);
    assert.deepEqual(
      [refused.reason, refused.crossing?.requestId, refused.crossing?.spent, refused.crossing?.limit],
      ['spent', 'b', 650, 1000],
    );
    const small = await store.reserve({ tenant: 't', requestId: 'c', prices, inputTokens: 5, maxTokens: 5 }, at).catch((e: unknown) => e);
    assert.ok(small instanceof BudgetExceededError && small.reason === 'paused' && small.crossing === undefined, String(small));
    assert.equal((await store.putBudget('t', { tokens: 1000, costPicoUsd: parseUsd(10), window: 'day' }, 'admin', at)).resumed, false);
    assert.equal((await store.putBudget('t', { tokens: 1200, costPicoUsd: parseUsd(10), window: 'day' }, 'admin', at)).resumed, true);
    assert.equal((await store.usage('t', at)).capReached, undefined);
    const lowered = await store.putBudget('t', { tokens: 655, costPicoUsd: parseUsd(10), window: 'day' }, 'admin', at);
    assert.deepEqual([lowered.paused?.requestId, lowered.paused?.spent], ['budget-v4', 650], '5 tokens left, under the floor of 7');
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
