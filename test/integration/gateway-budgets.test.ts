/**
 * Gateway budgets and backpressure on the local cloud's DynamoDB Local (the state table), through
 * the real adapters: 200 concurrent clients (reserve → call → settle, retrying while running calls
 * hold the room) against a budget that fits a fraction of them (once bound by tokens, once by
 * cost) never spend past it, spend exactly the sum of the successful calls' usage, name the budget
 * in every refusal, leave nothing reserved, and reach the hard cap on their own: the tenant is
 * paused exactly once; a settlement leaving less than the pause floor pauses, a raise lifts it, a
 * budget set again does not; refusals state what was spent and committed; the sweep charges a
 * reservation whose function died, and a late settlement corrects it; a model's in-flight mark
 * holds under concurrency and crashed holders' slots are reclaimed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoClient } from '../../lib/adapters/aws/clients.ts';
import { dynamoInflightLimiter } from '../../lib/adapters/aws/gateway-backpressure.ts';
import { dynamoBudgetStore } from '../../lib/adapters/aws/gateway-budgets.ts';
import { BackpressureError } from '../../lib/gateway/backpressure.ts';
import {
  actualAmount,
  BudgetExceededError,
  type BudgetName,
  type CapCrossing,
  parseUsd,
  type Reservation,
  ReservationSettledError,
  tokenPrices,
  usageView,
  windowOf,
} from '../../lib/gateway/budgets.ts';
import { freshTenant, testCloud } from '../helpers/local-cloud.ts';

const table = testCloud().resources.tables.StateTable ?? '';
const store = dynamoBudgetStore(dynamoClient(), table);
const limiter = dynamoInflightLimiter(dynamoClient(), table);

/** A small deterministic generator (mulberry32), so a failing race replays with the same requests. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const between = (next: () => number, low: number, high: number) => low + Math.floor(next() * (high - low + 1));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The counter item of a tenant's window, as stored. */
async function counterItem(tenant: string, kind: 'hour' | 'day' | 'month', at = new Date()) {
  const window = windowOf(kind, at);
  return (
    await dynamoClient().send(
      new GetCommand({ TableName: table, Key: { pk: `${tenant}#gateway#usage`, sk: `${kind}#${window.id}` }, ConsistentRead: true }),
    )
  ).Item;
}

interface RaceResult {
  settled: Array<{ inputTokens: number; outputTokens: number; tokens: number; costPicoUsd: bigint }>;
  /** Each client's last refusal, when it gave up. */
  refused: BudgetExceededError[];
  released: number;
  /** Refusals because running calls held the room, each followed by a retry. */
  retried: number;
  /** Pause claims, and what claimed each: a refusal (spending alone left it no room) or a settlement (less than the floor left). */
  crossings: Array<{ crossing: CapCrossing; by: 'refusal' | 'settlement' }>;
}

/** Most attempts of one client; a client still refused for running calls' reservations after them fails the race. */
const RACE_ATTEMPTS = 60;

/**
 * `count` concurrent clients, each with one call: it reserves input + maxTokens (retrying after a
 * jittered wait while running calls' reservations fill the budget, as a client honouring a short
 * Retry-After does; giving up when spending or a pause refuses it), waits a few ms (the model),
 * then fails one time in ten (released) or settles with a random output within maxTokens.
 */
async function race(tenant: string, prices: ReturnType<typeof tokenPrices>, count: number, seed: number): Promise<RaceResult> {
  const next = random(seed);
  const plans = Array.from({ length: count }, (_, i) => ({
    requestId: `req-${i}`,
    inputTokens: between(next, 20, 220),
    maxTokens: between(next, 50, 350),
    modelMs: between(next, 0, 25),
    fails: next() < 0.1,
    outputShare: next(),
    jitter: next(),
  }));
  const result: RaceResult = { settled: [], refused: [], released: 0, retried: 0, crossings: [] };
  await Promise.all(
    plans.map(async (plan) => {
      let reservation: Reservation | undefined;
      for (let attempt = 1; !reservation; attempt += 1) {
        try {
          reservation = await store.reserve({
            tenant,
            requestId: plan.requestId,
            prices,
            inputTokens: plan.inputTokens,
            maxTokens: plan.maxTokens,
          });
        } catch (error) {
          if (!(error instanceof BudgetExceededError)) throw error;
          if (error.crossing) {
            // Claimed by a refusal: spending alone left it no room, or a settlement left spending within a
            // pause floor and this refusal read the counter before that settlement claimed the pause.
            assert.ok(error.reason === 'spent' || error.reason === 'paused', error.message);
            result.crossings.push({ crossing: error.crossing, by: 'refusal' });
          }
          if (error.reason !== 'reserved') {
            result.refused.push(error);
            return;
          }
          assert.ok(attempt < RACE_ATTEMPTS, `${plan.requestId} still refused for running calls after ${attempt} attempts`);
          result.retried += 1;
          await pause(Math.round(20 + (plan.jitter * 40 + attempt * 7) * Math.min(attempt, 5)));
        }
      }
      await pause(plan.modelMs);
      if (plan.fails) {
        assert.equal(await store.release(reservation), true);
        result.released += 1;
        return;
      }
      const usage = { inputTokens: plan.inputTokens, outputTokens: Math.floor(plan.outputShare * (plan.maxTokens + 1)) };
      const outcome = await store.settle(reservation, usage);
      if (outcome.paused) result.crossings.push({ crossing: outcome.paused, by: 'settlement' });
      result.settled.push({ ...usage, ...actualAmount(prices, usage) });
    }),
  );
  return result;
}

/**
 * Checks the end state of a race: within the budget, exactly the settled usage, nothing reserved,
 * every refusal naming `binding`, and the hard cap reached: one pause claim, the tenant paused.
 */
async function assertRaceHeld(tenant: string, result: RaceResult, limits: { tokens: number; costPicoUsd: bigint }, binding: BudgetName) {
  const usage = await store.usage(tenant);
  const sum = (pick: (s: RaceResult['settled'][number]) => number) => result.settled.reduce((total, s) => total + pick(s), 0);
  const costSum = result.settled.reduce((total, s) => total + s.costPicoUsd, 0n);
  assert.ok(
    result.settled.length > 10 && result.refused.length > 10 && result.retried > 10,
    `a race that fits a fraction: ${result.settled.length} settled, ${result.refused.length} refused, ${result.retried} retries`,
  );
  assert.ok(usage.spent.tokens <= limits.tokens, `spent ${usage.spent.tokens} tokens of a ${limits.tokens} budget`);
  assert.ok(usage.spent.costPicoUsd <= limits.costPicoUsd, `spent ${usage.spent.costPicoUsd} pUSD of a ${limits.costPicoUsd} budget`);
  assert.equal(
    usage.spent.tokens,
    sum((s) => s.tokens),
    'spent tokens = the settled calls’ input + output',
  );
  assert.equal(usage.spent.costPicoUsd, costSum, 'spent cost = the settled calls’ cost, to the picodollar');
  assert.equal(
    usage.inputTokens,
    sum((s) => s.inputTokens),
  );
  assert.equal(
    usage.outputTokens,
    sum((s) => s.outputTokens),
  );
  assert.equal(usage.requests, result.settled.length);
  assert.deepEqual(usage.reserved, { tokens: 0, costPicoUsd: 0n }, 'nothing left reserved');
  assert.equal((await counterItem(tenant, 'day'))?.holds, undefined, 'no hold left in the counter');
  for (const refusal of result.refused) {
    assert.equal(refusal.budget, binding, refusal.message);
    assert.match(refusal.message, new RegExp(`${binding} budget for the day ${usage.window.id} \\(UTC\\)`));
    assert.ok(refusal.retryAfterSeconds >= 1);
    assert.ok(refusal.paused && (refusal.reason === 'spent' || refusal.reason === 'paused'), `${refusal.reason}: ${refusal.message}`);
  }
  assert.equal(result.settled.length + result.refused.length + result.released, 200);
  // The hard cap, reached by the race itself: exactly one claim, the tenant paused for the rest of the window.
  assert.equal(result.crossings.length, 1, `pause claims: ${JSON.stringify(result.crossings.map((c) => [c.by, c.crossing.requestId]))}`);
  const [claim] = result.crossings;
  assert.equal(claim?.crossing.budget, binding);
  assert.equal(usage.capReached, binding);
  assert.equal(usage.pause?.requestId, claim?.crossing.requestId);
  assert.equal(usageView(usage).paused, true);
  return claim;
}

describe('gateway budgets on DynamoDB Local', () => {
  it('never spends past a token budget under 200 concurrent clients, spends exactly the settled usage, and pauses the tenant once at the cap', async (t) => {
    const tenant = freshTenant('budget');
    const prices = tokenPrices({ name: 'standin-chat', priceInputPer1k: 0.00015, priceOutputPer1k: 0.0006 });
    const limits = { tokens: 20_000, costPicoUsd: parseUsd(1000) };
    await store.putBudget(tenant, { ...limits, window: 'day' }, 'admin');
    const started = Date.now();
    const result = await race(tenant, prices, 200, 11);
    const claim = await assertRaceHeld(tenant, result, limits, 'tokens');
    const spent = (await store.usage(tenant)).spent.tokens;
    t.diagnostic(
      `${result.settled.length} settled, ${result.released} released, ${result.refused.length} refused, ${result.retried} retries; spent ${spent} of ${limits.tokens} tokens; paused by a ${claim?.by} (${claim?.crossing.requestId}); ${Date.now() - started} ms`,
    );
  });

  it('never spends past a cost budget under 200 concurrent clients, exact to the picodollar at prices with 9 decimals, and pauses once', async (t) => {
    const tenant = freshTenant('budget');
    const prices = tokenPrices({ name: 'standin-odd', priceInputPer1k: 0.003000017, priceOutputPer1k: 0.015000003 });
    const limits = { tokens: 10_000_000, costPicoUsd: parseUsd('0.2') };
    await store.putBudget(tenant, { ...limits, window: 'day' }, 'admin');
    const started = Date.now();
    const result = await race(tenant, prices, 200, 23);
    const claim = await assertRaceHeld(tenant, result, limits, 'costUsd');
    const spent = (await store.usage(tenant)).spent.costPicoUsd;
    t.diagnostic(
      `${result.settled.length} settled, ${result.released} released, ${result.refused.length} refused, ${result.retried} retries; spent ${spent} of ${limits.costPicoUsd} pUSD; paused by a ${claim?.by} (${claim?.crossing.requestId}); ${Date.now() - started} ms`,
    );
  });

  it('pauses the tenant when a settlement leaves less than the pause floor, says so, keeps the pause when set again, lifts it on a raise', async () => {
    const tenant = freshTenant('budget');
    const prices = tokenPrices({ name: 'standin-chat', priceInputPer1k: 0.001, priceOutputPer1k: 0.002 });
    await store.putBudget(tenant, { tokens: 1000, costPicoUsd: parseUsd(10), window: 'hour', pauseBelowTokens: 100 }, 'admin');
    assert.equal((await store.budget(tenant))?.pauseBelowTokens, 100, 'the floor is stored');
    const first = await store.reserve({ tenant, requestId: 'big', prices, inputTokens: 300, maxTokens: 400 });
    assert.equal((await store.settle(first, { inputTokens: 300, outputTokens: 350 })).paused, undefined, '350 tokens left');
    const second = await store.reserve({ tenant, requestId: 'second', prices, inputTokens: 100, maxTokens: 200 });
    const outcome = await store.settle(second, { inputTokens: 100, outputTokens: 170 });
    assert.deepEqual(
      {
        budget: outcome.paused?.budget,
        limit: outcome.paused?.limit,
        spent: outcome.paused?.spent,
        requestId: outcome.paused?.requestId,
        tenant: outcome.paused?.tenant,
        window: outcome.paused?.window.kind,
      },
      { budget: 'tokens', limit: 1000, spent: 920, requestId: 'second', tenant, window: 'hour' },
      '80 tokens left, under the floor of 100: paused without spending the exact limit',
    );

    const now = new Date();
    for (const [requestId, inputTokens] of [
      ['after', 1],
      ['after-huge', 2000],
    ] as const) {
      const paused = await store.reserve({ tenant, requestId, prices, inputTokens, maxTokens: 1 }, now).then(
        () => assert.fail('a paused tenant reserved'),
        (error: unknown) => error,
      );
      assert.ok(paused instanceof BudgetExceededError);
      assert.deepEqual([paused.paused, paused.reason, paused.budget, paused.crossing], [true, 'paused', 'tokens', undefined]);
      assert.match(
        paused.message,
        /is paused: its tokens budget for the hour .* reached its hard cap \(920 tokens of 1,000 tokens spent, 80 tokens left, below the pause floor of 100 tokens; 920 tokens committed with running calls\)/,
      );
      const secondsLeft = Math.ceil((windowOf('hour', now).end.getTime() - now.getTime()) / 1000);
      assert.equal(paused.retryAfterSeconds, Math.max(1, secondsLeft), 'Retry-After: the end of the window');
    }

    const usage = await store.usage(tenant);
    assert.equal(usage.capReached, 'tokens');
    assert.equal(usage.pause?.recorded, false);
    assert.deepEqual(usageView(usage).paused, true);
    await store.recordPause(tenant, usage.window);
    assert.equal((await store.usage(tenant)).pause?.recorded, true);

    const same = await store.putBudget(tenant, { tokens: 1000, costPicoUsd: parseUsd(10), window: 'hour' }, 'admin');
    assert.deepEqual([same.resumed, same.paused], [false, undefined], 'set again (floor back to 1%): still paused, not claimed twice');
    assert.equal((await store.budget(tenant))?.pauseBelowTokens, undefined, 'a floor left out is removed');
    assert.equal(usageView(await store.usage(tenant)).paused, true);

    const raised = await store.putBudget(tenant, { tokens: 2000, costPicoUsd: parseUsd(10), window: 'hour' }, 'admin');
    assert.equal(raised.resumed, true);
    assert.equal(raised.budget.version, 3);
    const again = await store.reserve({ tenant, requestId: 'resumed', prices, inputTokens: 10, maxTokens: 10 });
    assert.equal((await store.settle(again, { inputTokens: 10, outputTokens: 5 })).spent.tokens, 935);
    assert.equal(usageView(await store.usage(tenant)).paused, false);

    // Lowered to leave less than its floor: paused at once, by the budget change.
    const lowered = await store.putBudget(tenant, { tokens: 940, costPicoUsd: parseUsd(10), window: 'hour' }, 'admin');
    assert.deepEqual(
      { budget: lowered.paused?.budget, limit: lowered.paused?.limit, spent: lowered.paused?.spent, requestId: lowered.paused?.requestId },
      { budget: 'tokens', limit: 940, spent: 935, requestId: 'budget-v4' },
    );
    assert.equal(usageView(await store.usage(tenant)).paused, true);
  });

  it('pauses the tenant on the refusal that spending alone causes, once, and never for a request larger than the whole budget', async () => {
    const tenant = freshTenant('budget');
    const prices = tokenPrices({ name: 'standin-chat', priceInputPer1k: 0.001, priceOutputPer1k: 0.002 });
    await store.putBudget(tenant, { tokens: 1000, costPicoUsd: parseUsd(10), window: 'day' }, 'admin');
    const first = await store.reserve({ tenant, requestId: 'first', prices, inputTokens: 300, maxTokens: 400 });
    await store.settle(first, { inputTokens: 300, outputTokens: 300 });
    const running = await store.reserve({ tenant, requestId: 'running', prices, inputTokens: 50, maxTokens: 50 });

    const huge = await store.reserve({ tenant, requestId: 'huge', prices, inputTokens: 900, maxTokens: 200 }).catch((e: unknown) => e);
    assert.ok(huge instanceof BudgetExceededError);
    assert.deepEqual([huge.reason, huge.paused, huge.crossing], ['too-large', false, undefined]);
    assert.match(
      huge.message,
      /needs up to 1,100 tokens \(input plus maxTokens\), more than the whole budget of 1,000 tokens \(600 tokens spent, 700 tokens committed with running calls\)/,
      'the counter as it is, not zeros',
    );

    const held = await store.reserve({ tenant, requestId: 'held', prices, inputTokens: 100, maxTokens: 250 }).catch((e: unknown) => e);
    assert.ok(held instanceof BudgetExceededError);
    assert.deepEqual([held.reason, held.paused], ['reserved', false], '600 spent + 350 fits; the running call holds the room');
    assert.match(
      held.message,
      /cannot cover this request now: 700 tokens of 1,000 tokens committed \(600 tokens spent, 100 tokens reserved/,
    );

    const outcomes = await Promise.allSettled(
      ['a', 'b', 'c'].map((id) => store.reserve({ tenant, requestId: `blocked-${id}`, prices, inputTokens: 200, maxTokens: 250 })),
    );
    const refusals = outcomes.map((o) => (o.status === 'rejected' ? o.reason : o.value));
    assert.ok(refusals.every((r) => r instanceof BudgetExceededError && r.paused));
    const claims = refusals.filter((r) => r instanceof BudgetExceededError && r.crossing);
    assert.equal(claims.length, 1, 'one of the concurrent refusals claims the pause');
    const claim = claims[0] as BudgetExceededError;
    assert.equal(claim.reason, 'spent');
    assert.match(
      claim.message,
      /600 tokens of 1,000 tokens spent leave 400 tokens, and the request needs up to 450 tokens .* the tenant is paused/,
    );
    assert.deepEqual([claim.crossing?.spent, claim.crossing?.limit, claim.crossing?.budget], [600, 1000, 'tokens']);
    const usage = await store.usage(tenant);
    assert.deepEqual([usage.capReached, usage.pause?.requestId], ['tokens', claim.crossing?.requestId]);

    assert.equal((await store.settle(running, { inputTokens: 50, outputTokens: 10 })).paused, undefined, 'already paused: no second claim');
    const small = await store.reserve({ tenant, requestId: 'small', prices, inputTokens: 1, maxTokens: 1 }).catch((e: unknown) => e);
    assert.ok(small instanceof BudgetExceededError && small.reason === 'paused', String(small));
    assert.match(small.message, /is paused: .* \(660 tokens of 1,000 tokens spent; 660 tokens committed with running calls\)/);
    assert.equal((await store.putBudget(tenant, { tokens: 1000, costPicoUsd: parseUsd(10), window: 'day' }, 'admin')).resumed, false);
    assert.equal((await store.putBudget(tenant, { tokens: 1500, costPicoUsd: parseUsd(10), window: 'day' }, 'admin')).resumed, true);
    const resumed = await store.reserve({ tenant, requestId: 'resumed', prices, inputTokens: 200, maxTokens: 250 });
    assert.equal(await store.release(resumed), true);
  });

  it('counts an unbudgeted tenant’s usage without holding anything', async () => {
    const prices = tokenPrices({ name: 'standin-chat', priceInputPer1k: 0.001, priceOutputPer1k: 0.002 });
    const free = freshTenant('budget');
    const reservation = await store.reserve({ tenant: free, requestId: 'r', prices, inputTokens: 100, maxTokens: 50 });
    assert.equal(reservation.id, '');
    await store.settle(reservation, { inputTokens: 100, outputTokens: 20 });
    const usage = await store.usage(free);
    assert.deepEqual([usage.window.kind, usage.spent.tokens, usage.spent.costPicoUsd, usage.budget], ['day', 120, 140_000_000n, undefined]);
    assert.deepEqual(usageView(usage), {
      window: { kind: 'day', start: usage.window.start.toISOString(), end: usage.window.end.toISOString() },
      tokens: 120,
      costUsd: 0.00014,
      reserved: { tokens: 0, costUsd: 0 },
      requests: 1,
      budget: null,
      paused: false,
    });
  });

  it('settles a reservation once: a second settle is refused and a release after it releases nothing', async () => {
    const tenant = freshTenant('budget');
    const prices = tokenPrices({ name: 'standin-chat', priceInputPer1k: 0.001, priceOutputPer1k: 0.002 });
    await store.putBudget(tenant, { tokens: 10_000, costPicoUsd: parseUsd(1), window: 'day' }, 'admin');
    const reservation = await store.reserve({ tenant, requestId: 'r', prices, inputTokens: 10, maxTokens: 10 });
    await store.settle(reservation, { inputTokens: 10, outputTokens: 3 });
    await assert.rejects(store.settle(reservation, { inputTokens: 10, outputTokens: 3 }), ReservationSettledError);
    assert.equal(await store.release(reservation), false);
    assert.equal((await store.usage(tenant)).spent.tokens, 13);
  });

  it('charges a reservation whose function died at its worst case once its lease ends, and corrects it when a late settlement arrives', async () => {
    const tenant = freshTenant('budget');
    const prices = tokenPrices({ name: 'standin-chat', priceInputPer1k: 0.001, priceOutputPer1k: 0.002 });
    await store.putBudget(tenant, { tokens: 10_000, costPicoUsd: parseUsd(1), window: 'day' }, 'admin');
    const t0 = new Date();
    const lost = await store.reserve({ tenant, requestId: 'lost', prices, inputTokens: 100, maxTokens: 400, leaseSeconds: 1 }, t0);
    const failed = await store.reserve({ tenant, requestId: 'failed', prices, inputTokens: 50, maxTokens: 50, leaseSeconds: 1 }, t0);
    const alive = await store.reserve({ tenant, requestId: 'alive', prices, inputTokens: 10, maxTokens: 10 }, t0);

    const before = await store.sweepExpired({ now: t0, tenants: [tenant] });
    assert.deepEqual(before.charged, [], 'nothing expires before its lease ends');

    // Found through the budgets index (no tenant list): the sweep a schedule runs.
    const later = new Date(t0.getTime() + 5_000);
    const sweep = await store.sweepExpired({ now: later });
    const mine = sweep.charged.filter((charge) => charge.tenant === tenant);
    assert.deepEqual(mine.map((charge) => charge.id).sort(), [lost.id, failed.id].sort());
    let usage = await store.usage(tenant);
    assert.deepEqual(usage.spent, { tokens: 500 + 100, costPicoUsd: lost.amount.costPicoUsd + failed.amount.costPicoUsd });
    assert.deepEqual(usage.reserved, alive.amount, 'only the live reservation is still held');
    assert.deepEqual(usage.expired, { count: 2, tokens: 600, costPicoUsd: lost.amount.costPicoUsd + failed.amount.costPicoUsd });
    assert.deepEqual((await store.sweepExpired({ now: later, tenants: [tenant] })).charged, [], 'a second sweep charges nothing');

    const late = await store.settle(lost, { inputTokens: 100, outputTokens: 40 });
    assert.equal(late.late, true);
    assert.equal(await store.release(failed), true, 'a release after the charge undoes it');
    await store.settle(alive, { inputTokens: 10, outputTokens: 10 });
    usage = await store.usage(tenant);
    assert.deepEqual(usage.spent, {
      tokens: 140 + 20,
      costPicoUsd: actualAmount(prices, { inputTokens: 110, outputTokens: 50 }).costPicoUsd,
    });
    assert.deepEqual(usage.reserved, { tokens: 0, costPicoUsd: 0n });
    assert.deepEqual(usage.expired, { count: 0, tokens: 0, costPicoUsd: 0n });
    const item = await counterItem(tenant, 'day');
    assert.deepEqual([item?.holds, item?.expiredHolds], [undefined, undefined], 'no hold and no expired hold left');
  });
});

describe('model backpressure on DynamoDB Local', () => {
  it('never lets more than the mark hold slots of a model under 60 concurrent callers, and frees every slot', async () => {
    const model = `standin-${freshTenant('bp')}`;
    const mark = 5;
    const next = random(5);
    let holding = 0;
    let most = 0;
    let granted = 0;
    const refused: BackpressureError[] = [];
    await Promise.all(
      Array.from({ length: 60 }, async () => {
        await pause(between(next, 0, 30));
        let slot: Awaited<ReturnType<typeof limiter.acquire>>;
        try {
          slot = await limiter.acquire(model, mark);
        } catch (error) {
          if (error instanceof BackpressureError) {
            refused.push(error);
            return;
          }
          throw error;
        }
        granted += 1;
        holding += 1;
        most = Math.max(most, holding);
        await pause(between(next, 5, 40));
        holding -= 1;
        assert.equal(await limiter.release(slot), true);
      }),
    );
    assert.ok(most <= mark, `${most} slots held at once, mark ${mark}`);
    assert.ok(most >= 2 && refused.length > 0, `contention happened: ${most} at once, ${refused.length} refused`);
    assert.equal(granted + refused.length, 60);
    for (const error of refused) {
      assert.equal(error.model, model);
      assert.ok(error.retryAfterSeconds >= 1 && error.retryAfterSeconds <= 60);
      assert.match(error.message, /requests in flight, its mark is 5/);
    }
    assert.equal(await limiter.inFlight(model), 0);
  });

  it('reclaims the slot of a holder that died once its lease ends', async () => {
    const model = `standin-${freshTenant('bp')}`;
    const t0 = new Date();
    const dead = await limiter.acquire(model, 1, { now: t0, leaseSeconds: 1 });
    await assert.rejects(
      limiter.acquire(model, 1, { now: t0 }),
      (error: unknown) => error instanceof BackpressureError && error.retryAfterSeconds === 1,
    );
    const next = await limiter.acquire(model, 1, { now: new Date(t0.getTime() + 2_000) });
    assert.equal(await limiter.release(dead), false, 'the dead holder’s slot was reclaimed');
    assert.equal(await limiter.release(next), true);
    assert.equal(await limiter.inFlight(model), 0);
  });
});
