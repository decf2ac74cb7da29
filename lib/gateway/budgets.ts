/**
 * Per-tenant token and cost budgets, the pure part: units, windows, worst-case reservations,
 * settlement, the refusal a request gets, and the {@link BudgetStore} port the DynamoDB adapter
 * (lib/adapters/aws/gateway-budgets.ts) implements.
 *
 * Units. Tokens are integers. Every cost is an integer count of **picodollars** (pUSD, 10⁻¹² USD)
 * held as a `bigint`, so sums never round: a price per 1,000 tokens with up to 9 decimals
 * (0.000000001 USD per 1k tokens, i.e. 0.000001 USD per million) is an exact integer number of
 * pUSD per token (price × 10⁹), and tokens × that price is exact. A price with more decimals is a
 * configuration mistake and refused ({@link tokenPrices}). Budgets in USD are exact to the pUSD
 * ({@link parseUsd}); USD figures leave as numbers only for display ({@link usdNumber}).
 *
 * Windows. A budget counts in calendar windows of UTC time: an `hour`, a `day` or a `month`
 * ({@link windowOf}); spending starts from zero in each. A reservation counts in the window it
 * was made in, even when it settles after that window ended.
 *
 * Reservations. Before a model call the gateway reserves the worst case: the input tokens plus
 * `maxTokens`, and their cost at the model's prices ({@link worstCase}). The reservation succeeds
 * only when everything committed in the window (spent plus still reserved) plus this request stays
 * within both limits; after the call it settles to the actual usage ({@link settlement}), or is
 * released when the call failed before producing anything. Committed never exceeds the budget, so
 * neither does spent, whatever the concurrency, as long as a call's usage stays within its
 * reservation (the backend stops at `maxTokens`).
 *
 * The hard cap. Reservations are worst cases, so spending rarely lands exactly on a limit: the
 * tenant is paused when what is *spent* (settled, not merely reserved) leaves too little room,
 * which happens in one of two ways ({@link capReached}, {@link spendingBlocks}):
 * - the room left under a limit falls below its **pause floor** (`pauseBelowTokens`,
 *   `pauseBelowCostUsd`; default 1% of the limit, at least one token or picodollar, so spending
 *   exactly the limit always pauses): checked when a settlement, a sweep's charge or a budget
 *   change moves spending;
 * - a request is refused because spending alone leaves it no room (the reservations of running
 *   calls aside): spending only grows in a window, so neither it nor its retries could run before
 *   the window ends. A request larger than the whole budget does not pause (it never fits).
 * Exactly one writer claims a window's pause, and the route layer publishes it (the
 * `gateway.tenant.paused` event and its ledger entry). Every later reservation is refused as
 * paused until the window ends, or an admin raises the limit that paused it above what was spent
 * and its floor.
 */
import type { z } from 'zod';
import { budgetWindowSchema } from '../../events/gateway.ts';
import { ConflictError, ThrottledError, ValidationError } from '../errors.ts';
import type { ModelInfo, Usage } from './backend.ts';

/** Picodollars (10⁻¹² USD) in one US dollar: every cost is an integer count of these. */
export const PICO_USD_PER_USD = 1_000_000_000_000n;
/** Decimals of a USD amount that are exact in picodollars. */
export const USD_DECIMALS = 12;
/** Decimals of a price per 1,000 tokens that are exact in picodollars per token. */
export const PRICE_PER_1K_DECIMALS = 9;

/** A budget window: a calendar `hour`, `day` or `month` in UTC. */
export type BudgetWindow = z.infer<typeof budgetWindowSchema>;
/** The windows, for iteration. */
export const BUDGET_WINDOWS: readonly BudgetWindow[] = budgetWindowSchema.options;
/** The window usage is counted in for a tenant that set no budget. */
export const DEFAULT_USAGE_WINDOW: BudgetWindow = 'day';

/** A budget's two limits; the names are those of `PUT /gateway/budgets` and the `gateway.tenant.paused` event. */
export type BudgetName = 'tokens' | 'costUsd';

/** A tenant's budget in exact units: input plus output tokens, and picodollars, per window. */
export interface Budget {
  tokens: number;
  costPicoUsd: bigint;
  window: BudgetWindow;
  /** Pause floor of the token limit: less room than this left by spending pauses the tenant; default {@link pauseFloor}'s. */
  pauseBelowTokens?: number;
  /** Pause floor of the cost limit, in picodollars; default {@link pauseFloor}'s. */
  pauseBelowCostPicoUsd?: bigint;
}

/** A budget as stored: who set it and when, and its version (each write increments it). */
export interface TenantBudget extends Budget {
  tenant: string;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** Tokens and their cost: a reservation, a call's actual usage, a window's spending. */
export interface Amount {
  tokens: number;
  costPicoUsd: bigint;
}

/** A model's prices in exact units. */
export interface TokenPrices {
  inputPicoUsdPerToken: bigint;
  outputPicoUsdPerToken: bigint;
}

/** One calendar window of UTC time. */
export interface WindowSpan {
  kind: BudgetWindow;
  /** `2026-03-07T14` (hour), `2026-03-07` (day) or `2026-03` (month): sortable, unique per kind. */
  id: string;
  start: Date;
  /** The first instant of the next window. */
  end: Date;
}

const DECIMAL = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * A non-negative decimal (a number, or its text, exponent allowed) as an integer count of
 * 10^-`decimals` units, exactly; undefined when it is negative, not a decimal, or has more
 * decimals than that. Numbers are read through their shortest round-trip text (`String(0.1)` is
 * `0.1`), which is what a JSON body or a configuration file wrote.
 * @example scaledDecimal(0.00015, 9) // 150000n
 * @example scaledDecimal('1.5e-7', 9) // 150n
 * @example scaledDecimal(0.1 + 0.2, 12) // undefined (0.30000000000000004 has 17 decimals)
 */
export function scaledDecimal(value: number | string, decimals: number): bigint | undefined {
  if (typeof value === 'number' && (!Number.isFinite(value) || value < 0)) return undefined;
  const match = DECIMAL.exec(typeof value === 'number' ? String(value) : value.trim());
  if (!match) return undefined;
  const whole = match[1] ?? '';
  const fraction = match[2] ?? '';
  if (whole === '' && fraction === '') return undefined;
  const exponent = Number(match[3] ?? '0');
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 400) return undefined;
  const digits = BigInt(`${whole}${fraction}` || '0');
  const shift = decimals + exponent - fraction.length;
  if (shift >= 0) return digits * 10n ** BigInt(shift);
  const divisor = 10n ** BigInt(-shift);
  return digits % divisor === 0n ? digits / divisor : undefined;
}

/**
 * A USD amount (number or decimal text) in picodollars, exactly.
 * @throws RangeError when it is negative, not a decimal, or has more than 12 decimals.
 * @example parseUsd(12.5) // 12500000000000n
 */
export function parseUsd(value: number | string): bigint {
  const pico = scaledDecimal(value, USD_DECIMALS);
  if (pico === undefined) throw new RangeError(`${String(value)} is not a non-negative USD amount with at most ${USD_DECIMALS} decimals`);
  return pico;
}

/**
 * Picodollars as exact decimal USD text, without trailing zeros.
 * @example formatUsd(150000n) // '0.00000015'
 */
export function formatUsd(pico: bigint): string {
  const negative = pico < 0n;
  const magnitude = negative ? -pico : pico;
  const whole = magnitude / PICO_USD_PER_USD;
  const fraction = (magnitude % PICO_USD_PER_USD).toString().padStart(USD_DECIMALS, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** Picodollars as a USD number, for display and JSON (the nearest double to the exact amount). */
export function usdNumber(pico: bigint): number {
  return Number(formatUsd(pico));
}

/**
 * A model's prices per 1,000 tokens as exact picodollars per token.
 * @throws RangeError naming the model and the price when a price is negative or has more than 9 decimals.
 * @example tokenPrices({ name: 'm', priceInputPer1k: 0.00015, priceOutputPer1k: 0.0006 }) // { input 150000n, output 600000n } pUSD per token
 */
export function tokenPrices(model: Pick<ModelInfo, 'name' | 'priceInputPer1k' | 'priceOutputPer1k'>): TokenPrices {
  const exact = (price: number, field: string): bigint => {
    const pico = scaledDecimal(price, PRICE_PER_1K_DECIMALS);
    if (pico === undefined) {
      throw new RangeError(
        `Model ${model.name}: ${field} ${price} is not a non-negative USD price with at most ${PRICE_PER_1K_DECIMALS} decimals (prices are exact to 0.000001 USD per million tokens)`,
      );
    }
    return pico;
  };
  return {
    inputPicoUsdPerToken: exact(model.priceInputPer1k, 'priceInputPer1k'),
    outputPicoUsdPerToken: exact(model.priceOutputPer1k, 'priceOutputPer1k'),
  };
}

function checkTokenCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
}

/**
 * The worst case of one call, what is reserved before it: the input tokens plus `maxTokens`, and
 * their cost (input at the input price, `maxTokens` at the output price).
 * @throws RangeError when a count is not a non-negative integer.
 * @example worstCase(prices, 1200, 256) // { tokens: 1456, costPicoUsd: 1200n * input + 256n * output }
 */
export function worstCase(prices: TokenPrices, inputTokens: number, maxTokens: number): Amount {
  checkTokenCount(inputTokens, 'inputTokens');
  checkTokenCount(maxTokens, 'maxTokens');
  return {
    tokens: inputTokens + maxTokens,
    costPicoUsd: BigInt(inputTokens) * prices.inputPicoUsdPerToken + BigInt(maxTokens) * prices.outputPicoUsdPerToken,
  };
}

/**
 * What a call actually cost: its input plus output tokens, at the model's prices.
 * @throws RangeError when a count is not a non-negative integer.
 */
export function actualAmount(prices: TokenPrices, usage: Usage): Amount {
  checkTokenCount(usage.inputTokens, 'usage.inputTokens');
  checkTokenCount(usage.outputTokens, 'usage.outputTokens');
  return {
    tokens: usage.inputTokens + usage.outputTokens,
    costPicoUsd: BigInt(usage.inputTokens) * prices.inputPicoUsdPerToken + BigInt(usage.outputTokens) * prices.outputPicoUsdPerToken,
  };
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/**
 * The window of kind `kind` that `at` falls in (UTC).
 * @example windowOf('day', new Date('2026-03-07T14:05:00Z')).id // '2026-03-07'
 */
export function windowOf(kind: BudgetWindow, at: Date): WindowSpan {
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  const day = at.getUTCDate();
  const hour = at.getUTCHours();
  const yyyymm = `${pad(year, 4)}-${pad(month + 1)}`;
  switch (kind) {
    case 'hour':
      return {
        kind,
        id: `${yyyymm}-${pad(day)}T${pad(hour)}`,
        start: new Date(Date.UTC(year, month, day, hour)),
        end: new Date(Date.UTC(year, month, day, hour + 1)),
      };
    case 'day':
      return {
        kind,
        id: `${yyyymm}-${pad(day)}`,
        start: new Date(Date.UTC(year, month, day)),
        end: new Date(Date.UTC(year, month, day + 1)),
      };
    case 'month':
      return { kind, id: yyyymm, start: new Date(Date.UTC(year, month, 1)), end: new Date(Date.UTC(year, month + 1, 1)) };
  }
}

/** Every window of kind `kind` that overlaps [`from`, `to`], oldest first. */
export function windowsBetween(kind: BudgetWindow, from: Date, to: Date): WindowSpan[] {
  const windows: WindowSpan[] = [];
  for (let window = windowOf(kind, from); window.start.getTime() <= to.getTime(); window = windowOf(kind, window.end)) windows.push(window);
  return windows;
}

/**
 * A budget from `PUT /gateway/budgets`'s body (`costUsd` and `pauseBelowCostUsd` USD numbers), in exact units.
 * @throws ValidationError naming `costUsd` (or `pauseBelowCostUsd`) when it has more than 12 decimals (finer than a
 *   picodollar), `tokens` when it is not a count, or a pause floor larger than its limit.
 */
export function budgetFromInput(input: {
  tokens: number;
  costUsd: number;
  window: BudgetWindow;
  pauseBelowTokens?: number | undefined;
  pauseBelowCostUsd?: number | undefined;
}): Budget {
  if (!Number.isSafeInteger(input.tokens) || input.tokens < 0)
    throw new ValidationError([{ path: 'tokens', message: 'must be a non-negative integer' }]);
  const costPicoUsd = scaledDecimal(input.costUsd, USD_DECIMALS);
  if (costPicoUsd === undefined)
    throw new ValidationError([{ path: 'costUsd', message: `must be a non-negative USD amount with at most ${USD_DECIMALS} decimals` }]);
  const budget: Budget = { tokens: input.tokens, costPicoUsd, window: budgetWindowSchema.parse(input.window) };
  if (input.pauseBelowTokens !== undefined) {
    const floor = input.pauseBelowTokens;
    if (!Number.isSafeInteger(floor) || floor < 1 || floor > Math.max(1, input.tokens))
      throw new ValidationError([{ path: 'pauseBelowTokens', message: `must be an integer from 1 to the tokens limit (${input.tokens})` }]);
    budget.pauseBelowTokens = floor;
  }
  if (input.pauseBelowCostUsd !== undefined) {
    const floor = scaledDecimal(input.pauseBelowCostUsd, USD_DECIMALS);
    if (floor === undefined || floor < 1n || floor > (costPicoUsd > 1n ? costPicoUsd : 1n))
      throw new ValidationError([
        {
          path: 'pauseBelowCostUsd',
          message: `must be a positive USD amount with at most ${USD_DECIMALS} decimals, at most the costUsd limit (${formatUsd(costPicoUsd)})`,
        },
      ]);
    budget.pauseBelowCostPicoUsd = floor;
  }
  return budget;
}

/** A budget as `PUT /gateway/budgets` takes it and `GET /gateway/usage` shows it (pause floors only when set). */
export function budgetView(budget: Budget): {
  tokens: number;
  costUsd: number;
  window: BudgetWindow;
  pauseBelowTokens?: number;
  pauseBelowCostUsd?: number;
} {
  return {
    tokens: budget.tokens,
    costUsd: usdNumber(budget.costPicoUsd),
    window: budget.window,
    ...(budget.pauseBelowTokens === undefined ? {} : { pauseBelowTokens: budget.pauseBelowTokens }),
    ...(budget.pauseBelowCostPicoUsd === undefined ? {} : { pauseBelowCostUsd: usdNumber(budget.pauseBelowCostPicoUsd) }),
  };
}

/**
 * The limits the store's conditional write checks `committed` against so that `request` still fits:
 * each limit minus the request (DynamoDB conditions compare, they cannot add). A negative bound
 * means the request alone is larger than the budget.
 */
export function reservationBounds(budget: Budget, request: Amount): Amount {
  return { tokens: budget.tokens - request.tokens, costPicoUsd: budget.costPicoUsd - request.costPicoUsd };
}

/** The first limit `request` would pass if `committed` were already taken (tokens checked first), or undefined when it fits. */
export function exceededBudget(budget: Budget, committed: Amount, request: Amount): BudgetName | undefined {
  if (committed.tokens + request.tokens > budget.tokens) return 'tokens';
  if (committed.costPicoUsd + request.costPicoUsd > budget.costPicoUsd) return 'costUsd';
  return undefined;
}

/** The default pause floor, as a share of each limit: 1%. */
export const DEFAULT_PAUSE_FLOOR_SHARE = 0.01;

/**
 * The pause floor of each limit: the budget's `pauseBelowTokens` / `pauseBelowCostPicoUsd`, or by
 * default 1% of the limit rounded up, and at least one token or picodollar (so spending the whole
 * limit always pauses, and a zero budget is paused from the start).
 * @example pauseFloor({ tokens: 20_000, costPicoUsd: 150n, window: 'day' }) // { tokens: 200, costPicoUsd: 2n }
 */
export function pauseFloor(budget: Budget): Amount {
  return {
    tokens: budget.pauseBelowTokens ?? Math.max(1, Math.ceil(budget.tokens / 100)),
    costPicoUsd: budget.pauseBelowCostPicoUsd ?? (budget.costPicoUsd > 100n ? (budget.costPicoUsd + 99n) / 100n : 1n),
  };
}

/**
 * The most that may be spent with the tenant still running: each limit minus its pause floor
 * (what the store's conditional write checks spent against; negative for a zero budget).
 */
export function spendingBounds(budget: Budget): Amount {
  const floor = pauseFloor(budget);
  return { tokens: budget.tokens - floor.tokens, costPicoUsd: budget.costPicoUsd - floor.costPicoUsd };
}

/**
 * The limit whose room, left by `spent`, is below its pause floor (the hard cap: the tenant is
 * paused), tokens checked first; undefined while both limits have room.
 */
export function capReached(budget: Budget, spent: Amount): BudgetName | undefined {
  const bounds = spendingBounds(budget);
  if (spent.tokens > bounds.tokens) return 'tokens';
  if (spent.costPicoUsd > bounds.costPicoUsd) return 'costUsd';
  return undefined;
}

/**
 * The limit in which spending alone leaves no room for `request` (what running calls reserve
 * aside), tokens checked first: refusing it reaches the hard cap. Undefined when spending leaves
 * room, and for a request larger than the whole budget (it never fits; that pauses nothing).
 */
export function spendingBlocks(budget: Budget, spent: Amount, request: Amount): BudgetName | undefined {
  if (exceededBudget(budget, { tokens: 0, costPicoUsd: 0n }, request)) return undefined;
  return exceededBudget(budget, spent, request);
}

/**
 * Whether `budget`, set while the window is paused, lifts the pause: spending leaves room above its
 * floors, and the limit that paused the tenant was raised above the limit it paused at (set again
 * unchanged, or with only a floor lowered, the budget keeps the pause). A pause recorded without its
 * exact limit is lifted by room alone.
 */
export function liftsPause(budget: Budget, spent: Amount, pause: { budget: BudgetName; limitUnits?: bigint }): boolean {
  if (capReached(budget, spent) !== undefined) return false;
  if (pause.limitUnits === undefined) return true;
  return (pause.budget === 'tokens' ? BigInt(budget.tokens) : budget.costPicoUsd) > pause.limitUnits;
}

/** How one settlement moves a window's counters. */
export interface Settlement {
  /** Added to committed (spent + reserved): actual − reserved, zero or negative unless the call overran. */
  committed: Amount;
  /** Added to spent: the actual usage. */
  spent: Amount;
  /** The call used more than it reserved (its backend went past `maxTokens`, or the input was counted short): charged all the same. */
  overrun: boolean;
}

/** The counter movements of settling a reservation of `reserved` with `actual` usage (released: `actual` zero). */
export function settlement(reserved: Amount, actual: Amount): Settlement {
  return {
    committed: { tokens: actual.tokens - reserved.tokens, costPicoUsd: actual.costPicoUsd - reserved.costPicoUsd },
    spent: actual,
    overrun: actual.tokens > reserved.tokens || actual.costPicoUsd > reserved.costPicoUsd,
  };
}

/** Seconds a refused request is asked to wait when in-flight reservations, not spending, fill the budget. */
export const IN_FLIGHT_RETRY_AFTER_SECONDS = 2;

/**
 * The `Retry-After` of a refusal: when spending alone leaves no room, the end of the window (it
 * will not fit before); when reservations of calls still running fill it, a short wait (they
 * settle, usually below their worst case).
 */
export function budgetRetryAfterSeconds(window: WindowSpan, now: Date, blockedBySpending: boolean): number {
  if (!blockedBySpending) return IN_FLIGHT_RETRY_AFTER_SECONDS;
  return Math.max(1, Math.ceil((window.end.getTime() - now.getTime()) / 1000));
}

/** One limit in words: `12,000 tokens`, `2.5 USD`. */
function inUnit(budget: BudgetName, value: number | bigint): string {
  return budget === 'tokens' ? `${value.toLocaleString('en-US')} tokens` : `${formatUsd(BigInt(value))} USD`;
}

/** A window in words: `day 2026-03-07 (UTC)`. */
export function windowName(window: WindowSpan): string {
  return `${window.kind} ${window.id} (UTC)`;
}

/**
 * Why a reservation was refused:
 * - `paused`: the tenant is paused in this window (its hard cap was reached earlier);
 * - `spent`: spending alone leaves no room for the request, which pauses the tenant now;
 * - `reserved`: the reservations of running calls fill the room (retry when they settle);
 * - `too-large`: the request's worst case is larger than the whole budget.
 */
export type RefusalReason = 'paused' | 'spent' | 'reserved' | 'too-large';

/**
 * A request could not reserve its worst case within the tenant's budget (429 with `Retry-After`).
 * The message names the budget (`tokens` or `costUsd`) and the window, and states what was spent,
 * what was committed (spent plus reserved by running calls), what the request needs, and whether
 * the tenant is paused.
 */
export class BudgetExceededError extends ThrottledError {
  readonly tenant: string;
  readonly budget: BudgetName;
  readonly window: WindowSpan;
  /** The tenant is paused (it was, or this refusal reached the hard cap). */
  readonly paused: boolean;
  readonly reason: RefusalReason;
  /** Spent in the window when the request was refused. */
  readonly spent: Amount;
  /** Spent plus reserved by running calls. */
  readonly committed: Amount;
  /** The request's worst case: input plus `maxTokens`, and its cost. */
  readonly needed: Amount;
  /** Set by the store on the one refusal that claimed the window's pause: the route layer publishes it. */
  crossing?: CapCrossing;
  constructor(
    message: string,
    details: {
      tenant: string;
      budget: BudgetName;
      window: WindowSpan;
      reason: RefusalReason;
      spent: Amount;
      committed: Amount;
      needed: Amount;
      retryAfterSeconds: number;
    },
  ) {
    super(message, details.retryAfterSeconds);
    this.tenant = details.tenant;
    this.budget = details.budget;
    this.window = details.window;
    this.reason = details.reason;
    this.paused = details.reason === 'paused' || details.reason === 'spent';
    this.spent = details.spent;
    this.committed = details.committed;
    this.needed = details.needed;
  }
}

/** What a counter showed when a reservation was refused. */
export interface RefusalState {
  /** Spent plus reserved. */
  committed: Amount;
  spent: Amount;
  /** The limit of the window's pause, when one was claimed (the counter's flag). */
  paused?: BudgetName | undefined;
}

/**
 * The error for a reservation of `request` that did not fit, by `state`, with its reason (see
 * {@link RefusalReason}; checked in that order): paused when the window's pause was claimed or
 * spending is within a pause floor of a limit; else larger than the whole budget; else blocked by
 * spending alone (this pauses the tenant: the store claims the pause); else blocked by running
 * calls' reservations. `undefined` when, by `state`, it fits (the counter moved on between the
 * refused write and the read: the caller retries). `Retry-After`: 2 s when running calls hold the
 * room, else the end of the window.
 */
export function refusal(
  tenant: string,
  budget: Budget,
  window: WindowSpan,
  request: Amount,
  state: RefusalState,
  now: Date,
): BudgetExceededError | undefined {
  const units = (name: BudgetName, amount: Amount) => (name === 'tokens' ? BigInt(amount.tokens) : amount.costPicoUsd);
  const tooLarge = exceededBudget(budget, { tokens: 0, costPicoUsd: 0n }, request);
  const make = (name: BudgetName, reason: RefusalReason, message: string) =>
    new BudgetExceededError(message, {
      tenant,
      budget: name,
      window,
      reason,
      spent: state.spent,
      committed: state.committed,
      needed: request,
      retryAfterSeconds: budgetRetryAfterSeconds(window, now, reason !== 'reserved'),
    });
  /** The figures of one limit, in words. */
  const figures = (name: BudgetName) => {
    const limit = units(name, { tokens: budget.tokens, costPicoUsd: budget.costPicoUsd });
    const spent = units(name, state.spent);
    const committed = units(name, state.committed);
    return {
      limit: inUnit(name, limit),
      spent: inUnit(name, spent),
      committed: inUnit(name, committed),
      reserved: inUnit(name, committed - spent),
      left: inUnit(name, limit - spent),
      needed: inUnit(name, units(name, request)),
    };
  };
  const resume = `model calls resume when the window ends (${window.end.toISOString()}) or an admin raises the budget`;

  const floorCap = capReached(budget, state.spent);
  const cap = state.paused ?? floorCap;
  if (cap) {
    const f = figures(cap);
    const floor = inUnit(cap, units(cap, pauseFloor(budget)));
    const why = cap === floorCap ? `, ${f.left} left, below the pause floor of ${floor}` : '';
    const whole = tooLarge === cap ? ', more than the whole budget' : '';
    return make(
      cap,
      'paused',
      `Tenant ${tenant} is paused: its ${cap} budget for the ${windowName(window)} reached its hard cap (${f.spent} of ${f.limit} spent${why}; ${f.committed} committed with running calls); this request needs up to ${f.needed}${whole}; ${resume}`,
    );
  }
  if (tooLarge) {
    const f = figures(tooLarge);
    return make(
      tooLarge,
      'too-large',
      `Tenant ${tenant}'s ${tooLarge} budget for the ${windowName(window)} cannot cover this request: it needs up to ${f.needed} (input plus maxTokens), more than the whole budget of ${f.limit} (${f.spent} spent, ${f.committed} committed with running calls); lower maxTokens or shorten the input`,
    );
  }
  const bySpending = spendingBlocks(budget, state.spent, request);
  if (bySpending) {
    const f = figures(bySpending);
    return make(
      bySpending,
      'spent',
      `Tenant ${tenant}'s ${bySpending} budget for the ${windowName(window)} cannot cover this request: ${f.spent} of ${f.limit} spent leave ${f.left}, and the request needs up to ${f.needed} (input plus maxTokens; ${f.committed} committed with running calls). This reaches the hard cap: the tenant is paused, and ${resume}`,
    );
  }
  const name = exceededBudget(budget, state.committed, request);
  if (!name) return undefined;
  const f = figures(name);
  return make(
    name,
    'reserved',
    `Tenant ${tenant}'s ${name} budget for the ${windowName(window)} cannot cover this request now: ${f.committed} of ${f.limit} committed (${f.spent} spent, ${f.reserved} reserved by running calls), and the request needs up to ${f.needed} (input plus maxTokens); retry when running calls settle`,
  );
}

/** A settle or release of a reservation that was already settled or released. */
export class ReservationSettledError extends ConflictError {}

/** The longest a reservation is held before the sweep charges it (a function runs at most 15 minutes). */
export const DEFAULT_LEASE_SECONDS = 960;

/**
 * A reservation's id, which also records what it holds and until when, so the counter item it is
 * listed in says everything the sweep needs: `r.<expiresAtMs>.<tokens>.<costPicoUsd>.<nonce>`.
 */
export interface ReservationHold extends Amount {
  expiresAtMs: number;
  nonce: string;
}

const HOLD_PATTERN = /^r\.(\d{1,16})\.(\d{1,16})\.(\d{1,40})\.([a-z0-9]{1,32})$/;

/** The id of a hold. @throws RangeError when an amount is negative or the nonce is not lower-case alphanumeric. */
export function holdId(hold: ReservationHold): string {
  if (hold.costPicoUsd < 0n || !/^[a-z0-9]{1,32}$/.test(hold.nonce))
    throw new RangeError('a hold has non-negative amounts and an alphanumeric nonce');
  checkTokenCount(hold.tokens, 'tokens');
  checkTokenCount(hold.expiresAtMs, 'expiresAtMs');
  return `r.${hold.expiresAtMs}.${hold.tokens}.${hold.costPicoUsd}.${hold.nonce}`;
}

/** A hold's id read back, or undefined for anything that is not one. */
export function parseHoldId(id: string): ReservationHold | undefined {
  const match = HOLD_PATTERN.exec(id);
  if (!match) return undefined;
  const [, expires, tokens, cost, nonce] = match;
  return { expiresAtMs: Number(expires), tokens: Number(tokens), costPicoUsd: BigInt(cost ?? '0'), nonce: nonce ?? '' };
}

/** A reservation: what the gateway holds for one call until it settles or releases it. */
export interface Reservation {
  tenant: string;
  /** The caller's request id (named in the pause it may cause). */
  requestId: string;
  /** The hold's id (see {@link holdId}); empty for a tenant without a budget (nothing is held). */
  id: string;
  window: WindowSpan;
  amount: Amount;
  prices: TokenPrices;
  expiresAt: Date;
  /** The budget it was checked against; undefined when the tenant has none (usage is still counted). */
  budget?: Budget;
}

/** What to reserve for one call. */
export interface ReserveRequest {
  tenant: string;
  requestId: string;
  prices: TokenPrices;
  /** Input tokens as the gateway counted them. */
  inputTokens: number;
  /** The call's `maxTokens`. */
  maxTokens: number;
  /** Seconds before an unsettled reservation is charged by the sweep; default {@link DEFAULT_LEASE_SECONDS}. */
  leaseSeconds?: number;
}

/** The hard cap reached: the tenant is paused for the rest of the window (or until the budget is raised). What `gateway.tenant.paused` reports. */
export interface CapCrossing {
  tenant: string;
  budget: BudgetName;
  window: WindowSpan;
  /** The limit, in the budget's unit (tokens, or USD as a number). */
  limit: number;
  /** Spent in the window when the cap was reached, in the budget's unit. */
  spent: number;
  /** The request whose settlement (or expiry, or refusal) reached it; `budget-v<n>` for a budget change. */
  requestId: string;
  pausedAt: string;
}

/** The result of settling (or releasing) a reservation. */
export interface SettleOutcome {
  window: WindowSpan;
  /** What the call was charged. */
  charged: Amount;
  /** Spent in the window after it. */
  spent: Amount;
  overrun: boolean;
  /** True when the sweep had already charged it at its worst case (the call outlived its lease): this corrected it to the actual usage. */
  late: boolean;
  /** Set on the one settlement that reached the hard cap: the route layer publishes `gateway.tenant.paused` and writes the ledger entry. */
  paused?: CapCrossing;
}

/** A tenant's spending in its current window. */
export interface BudgetUsage {
  tenant: string;
  window: WindowSpan;
  /** Spent: input plus output tokens settled in the window, plus expired reservations charged at their worst case. */
  spent: Amount;
  inputTokens: number;
  outputTokens: number;
  /** Held by calls still running. */
  reserved: Amount;
  /** Settled calls. */
  requests: number;
  /** Reservations charged at their worst case by the sweep (calls that never settled), and what they were charged. */
  expired: { count: number } & Amount;
  /** The limit that paused the tenant in the window (calls refused): the window's claimed pause, or spending within a pause floor under the current budget. */
  capReached?: BudgetName;
  /** The window's pause as claimed by the settlement that reached the cap, and whether its event was recorded. */
  pause?: { budget: BudgetName; at: string; requestId: string; recorded: boolean };
  budget?: TenantBudget;
}

/** `GET /gateway/usage`'s reply for `usage` (the shape of lib/gateway/schemas.ts's usage view). */
export function usageView(usage: BudgetUsage): {
  window: { kind: BudgetWindow; start: string; end: string };
  tokens: number;
  costUsd: number;
  reserved: { tokens: number; costUsd: number };
  requests: number;
  budget: { tokens: number; costUsd: number; window: BudgetWindow } | null;
  paused: boolean;
} {
  return {
    window: { kind: usage.window.kind, start: usage.window.start.toISOString(), end: usage.window.end.toISOString() },
    tokens: usage.spent.tokens,
    costUsd: usdNumber(usage.spent.costPicoUsd),
    reserved: { tokens: usage.reserved.tokens, costUsd: usdNumber(usage.reserved.costPicoUsd) },
    requests: usage.requests,
    budget: usage.budget ? budgetView(usage.budget) : null,
    paused: usage.capReached !== undefined,
  };
}

/** One expired reservation the sweep charged. */
export interface ExpiredCharge {
  tenant: string;
  window: WindowSpan;
  id: string;
  amount: Amount;
}

/** What one sweep did. */
export interface SweepReport {
  tenants: number;
  /** Counter items read (windows with reservations). */
  windows: number;
  charged: ExpiredCharge[];
  /** Caps the charges reached. */
  paused: CapCrossing[];
  /** Pauses older than the grace whose event the route layer has not recorded ({@link BudgetStore.recordPause}): publish them again. */
  unrecordedPauses: CapCrossing[];
}

/**
 * Budgets and spending per tenant and window. Every method may throw a DependencyError (503)
 * when the store fails.
 */
export interface BudgetStore {
  /**
   * Sets a tenant's budget (its pause floors included: one left out is back to the default).
   * `resumed` when it lifted a pause of the current window ({@link liftsPause}); `paused` when
   * what was spent leaves less room than a floor of the new budget (the route layer publishes it
   * as a settlement's).
   */
  putBudget(
    tenant: string,
    budget: Budget,
    actor: string,
    now?: Date,
  ): Promise<{ budget: TenantBudget; resumed: boolean; paused?: CapCrossing }>;
  /** The tenant's budget, or undefined when it set none. */
  budget(tenant: string): Promise<TenantBudget | undefined>;
  /**
   * Reserves a call's worst case, atomically, in the tenant's current window.
   * @throws BudgetExceededError (429) naming the budget and the window when it does not fit, or when
   *   the tenant is paused; the one refusal that claimed the window's pause (spending alone left the
   *   request no room) carries it as `crossing`, for the route layer to publish.
   */
  reserve(request: ReserveRequest, now?: Date): Promise<Reservation>;
  /**
   * Settles a reservation to the call's actual usage (a cancelled stream: what it produced).
   * @throws ReservationSettledError when it was settled or released already.
   */
  settle(reservation: Reservation, usage: Usage, now?: Date): Promise<SettleOutcome>;
  /** Releases a reservation whose call produced nothing (it failed); false when there was nothing to release. */
  release(reservation: Reservation, now?: Date): Promise<boolean>;
  /** The tenant's spending in its current window (the budget's window kind, {@link DEFAULT_USAGE_WINDOW} without one). */
  usage(tenant: string, now?: Date): Promise<BudgetUsage>;
  /** Marks a window's pause as published (event and ledger entry written), so the sweep stops reporting it. */
  recordPause(tenant: string, window: WindowSpan): Promise<void>;
  /** Charges every expired reservation at its worst case; see {@link SweepReport}. */
  sweepExpired(options?: { now?: Date; tenants?: readonly string[]; lookbackMs?: number }): Promise<SweepReport>;
}
