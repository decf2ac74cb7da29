/**
 * The Gateway's budgets and spending ({@link BudgetStore}) in the state table:
 *   <tenant>#gateway#budget / settings             the tenant's budget (gsi1: gateway#budgets / <tenant>, for the sweep)
 *   <tenant>#gateway#usage  / <kind>#<windowId>    one counter item per window (TTL 400 days after the window)
 *
 * A counter item holds, in picodollars for costs (lib/gateway/budgets.ts):
 *   committedTokens, committedCost   spent plus reserved: what every reservation is checked against
 *   spentTokens, spentCost           settled usage, plus expired reservations charged at their worst case
 *   inputTokens, outputTokens, requests, expiredTokens, expiredCost, expiredCount
 *   holds                            string set: one id per reservation still running, each naming its
 *                                    amounts and lease end (`r.<expiresAtMs>.<tokens>.<cost>.<nonce>`)
 *   expiredHolds                     reservations the sweep charged, until a late settlement corrects them
 *   pausedAt, pausedBudget, …        the hard cap's flag: claimed by exactly one writer per window
 *                                    (pauseLimitUnits: the limit it paused at, exactly, to tell a raise)
 *
 * Every reservation, settlement and release is ONE conditional UpdateItem on the counter item, with
 * no transaction: a reservation adds its worst case to committed and its id to `holds` on condition
 * that committed ≤ limit − request (DynamoDB conditions cannot add: the bound is computed here) and
 * that spent leaves each limit's pause floor and no pause is claimed; a settlement moves committed by actual − reserved and spent by
 * actual, on condition that its id is still in `holds` (so it counts once). Concurrent writers are
 * serialised by DynamoDB on the item, so committed never passes the budget.
 *
 * A reservation whose function died is never settled: once its lease ends, {@link sweepExpired}
 * charges it at its worst case (committed unchanged, spent += reserved) and moves its id to
 * `expiredHolds`; a settlement that arrives after that (a call that outlived its lease) corrects the
 * charge down to the actual usage. Charging rather than releasing keeps the invariant: the call may
 * well have run and been billed, and a late settlement can only lower the counters.
 *
 * The hard cap (lib/gateway/budgets.ts): a settlement or a sweep's charge that leaves less room than
 * a pause floor claims the window's pause; so does a reservation refused because spending alone
 * leaves it no room (the refusal carries the crossing for the route layer to publish). A budget
 * change that raises the limit that paused the tenant, leaving room above its floor, lifts the pause.
 *
 * SDK failures map through lib/adapters/aws/errors.ts.
 */
import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { budgetWindowSchema } from '../../../events/gateway.ts';
import { mapLimit } from '../../concurrency.ts';
import { ConflictError } from '../../errors.ts';
import type { Usage } from '../../gateway/backend.ts';
import {
  type Amount,
  actualAmount,
  BUDGET_WINDOWS,
  type Budget,
  type BudgetName,
  type BudgetStore,
  type BudgetUsage,
  type CapCrossing,
  capReached,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_USAGE_WINDOW,
  type ExpiredCharge,
  holdId,
  liftsPause,
  parseHoldId,
  type Reservation,
  ReservationSettledError,
  type ReserveRequest,
  refusal,
  reservationBounds,
  type SettleOutcome,
  type SweepReport,
  settlement,
  spendingBounds,
  type TenantBudget,
  usdNumber,
  type WindowSpan,
  windowOf,
  windowsBetween,
  worstCase,
} from '../../gateway/budgets.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';

type Send = DynamoDBDocumentClient['send'];
type Item = Record<string, unknown>;

/** gsi1 partition listing every tenant that set a budget (the sweep's tenants). */
export const BUDGETS_INDEX_PK = 'gateway#budgets';
/** Seconds a window's counter is kept after the window ends. */
export const USAGE_RETENTION_SECONDS = 400 * 86_400;
/** How far back the sweep looks for windows with reservations, by default: two leases. */
export const DEFAULT_SWEEP_LOOKBACK_MS = 2 * DEFAULT_LEASE_SECONDS * 1000;
/** A pause whose event was not recorded this long after it was claimed is reported by the sweep again. */
export const PAUSE_RECORD_GRACE_MS = 60_000;
/** Attempts of a reservation whose refusal the counter no longer explains (it moved on between the write and the read). */
const RESERVE_ATTEMPTS = 3;

const budgetKey = (tenant: string) => ({ pk: `${tenant}#gateway#budget`, sk: 'settings' });
const counterKey = (tenant: string, window: WindowSpan) => ({ pk: `${tenant}#gateway#usage`, sk: `${window.kind}#${window.id}` });
const counterTtl = (window: WindowSpan) => Math.ceil(window.end.getTime() / 1000) + USAGE_RETENTION_SECONDS;

/** An integer DynamoDB number as the document client returns it (a number, or a bigint past 2⁵³). */
const integerSchema = z.union([z.number().int(), z.bigint()]);
const storedBudgetSchema = z.object({
  tenant: z.string().min(1),
  tokens: integerSchema.transform(Number),
  costPicoUsd: integerSchema.transform(BigInt),
  window: budgetWindowSchema,
  pauseBelowTokens: integerSchema.transform(Number).optional(),
  pauseBelowCost: integerSchema.transform(BigInt).optional(),
  version: z.number().int().min(1),
  updatedAt: z.string(),
  updatedBy: z.string(),
});

/** A stored budget in the port's shape. */
function tenantBudget(item: unknown): TenantBudget {
  const { pauseBelowTokens, pauseBelowCost, ...stored } = storedBudgetSchema.parse(item);
  return {
    ...stored,
    ...(pauseBelowTokens === undefined ? {} : { pauseBelowTokens }),
    ...(pauseBelowCost === undefined ? {} : { pauseBelowCostPicoUsd: pauseBelowCost }),
  };
}

const big = (value: unknown): bigint =>
  typeof value === 'bigint' ? value : typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : 0n;
const int = (value: unknown): number => (typeof value === 'bigint' ? Number(value) : typeof value === 'number' ? value : 0);
const strings = (value: unknown): string[] =>
  value instanceof Set ? [...value].map(String) : Array.isArray(value) ? value.map(String) : [];

/** A counter item, read. */
interface CounterState {
  committed: Amount;
  spent: Amount;
  inputTokens: number;
  outputTokens: number;
  requests: number;
  expired: { count: number } & Amount;
  holds: string[];
  expiredHolds: string[];
  pause?: {
    budget: BudgetName;
    at: string;
    requestId: string;
    limit: number;
    /** The limit it paused at, in tokens or picodollars (absent on pauses claimed before it was recorded). */
    limitUnits?: bigint;
    spent: number;
    recorded: boolean;
  };
}

function counterState(item: Item | undefined): CounterState {
  const i = item ?? {};
  const pausedBudget = i.pausedBudget === 'tokens' || i.pausedBudget === 'costUsd' ? i.pausedBudget : undefined;
  return {
    committed: { tokens: int(i.committedTokens), costPicoUsd: big(i.committedCost) },
    spent: { tokens: int(i.spentTokens), costPicoUsd: big(i.spentCost) },
    inputTokens: int(i.inputTokens),
    outputTokens: int(i.outputTokens),
    requests: int(i.requests),
    expired: { count: int(i.expiredCount), tokens: int(i.expiredTokens), costPicoUsd: big(i.expiredCost) },
    holds: strings(i.holds),
    expiredHolds: strings(i.expiredHolds),
    ...(typeof i.pausedAt === 'string' && pausedBudget
      ? {
          pause: {
            budget: pausedBudget,
            at: i.pausedAt,
            requestId: String(i.pauseRequestId ?? ''),
            limit: typeof i.pauseLimit === 'number' ? i.pauseLimit : int(i.pauseLimit),
            ...(i.pauseLimitUnits === undefined ? {} : { limitUnits: big(i.pauseLimitUnits) }),
            spent: typeof i.pauseSpent === 'number' ? i.pauseSpent : int(i.pauseSpent),
            recorded: typeof i.pauseRecordedAt === 'string',
          },
        }
      : {}),
  };
}

/**
 * The item a failed conditional write returned (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), in
 * the wire format (the document client does not convert an error's item): numbers, strings and string sets.
 */
export function itemOfFailedCondition(error: ConditionFailedError): Item | undefined {
  const raw = (error.cause as { Item?: Record<string, Record<string, unknown>> } | undefined)?.Item;
  if (!raw) return undefined;
  const item: Item = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value.N === 'string') item[name] = /^-?\d+$/.test(value.N) ? BigInt(value.N) : Number(value.N);
    else if (typeof value.S === 'string') item[name] = value.S;
    else if (Array.isArray(value.SS)) item[name] = value.SS.map(String);
  }
  return item;
}

function nonce(): string {
  return randomBytes(8).toString('hex');
}

/** Budgets and spending on the state table. */
export function dynamoBudgetStore(client: DynamoDBDocumentClient, table: string): BudgetStore {
  const send: Send = mappedSend(client, 'DynamoDB');

  const readBudget = async (tenant: string): Promise<TenantBudget | undefined> => {
    const output = await send(new GetCommand({ TableName: table, Key: budgetKey(tenant), ConsistentRead: true }));
    return output.Item ? tenantBudget(output.Item) : undefined;
  };

  const readCounter = async (tenant: string, window: WindowSpan): Promise<CounterState> => {
    const output = await send(new GetCommand({ TableName: table, Key: counterKey(tenant, window), ConsistentRead: true }));
    return counterState(output.Item);
  };

  /**
   * Claims the window's pause when `state` shows `budget` (the tenant's budget now) reached, or for
   * `refused` (the limit in which spending alone left a refused request no room): a conditional
   * write only the first claimant wins, so exactly one writer reports the crossing.
   */
  const claimPause = async (
    tenant: string,
    window: WindowSpan,
    state: CounterState,
    requestId: string,
    now: Date,
    budget: Budget | undefined,
    refused?: BudgetName,
  ): Promise<CapCrossing | undefined> => {
    if (state.pause || !budget || budget.window !== window.kind) return undefined;
    const name = refused ?? capReached(budget, state.spent);
    if (!name) return undefined;
    const limit = name === 'tokens' ? budget.tokens : usdNumber(budget.costPicoUsd);
    const limitUnits = name === 'tokens' ? BigInt(budget.tokens) : budget.costPicoUsd;
    const spent = name === 'tokens' ? state.spent.tokens : usdNumber(state.spent.costPicoUsd);
    const pausedAt = now.toISOString();
    try {
      await send(
        new UpdateCommand({
          TableName: table,
          Key: counterKey(tenant, window),
          UpdateExpression:
            'SET pausedAt = :at, pausedBudget = :budget, pauseRequestId = :request, pauseLimit = :limit, pauseLimitUnits = :units, pauseSpent = :spent',
          ConditionExpression: 'attribute_not_exists(pausedAt)',
          ExpressionAttributeValues: {
            ':at': pausedAt,
            ':budget': name,
            ':request': requestId,
            ':limit': limit,
            ':units': limitUnits,
            ':spent': spent,
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionFailedError) return undefined;
      throw error;
    }
    return { tenant, budget: name, window, limit, spent, requestId, pausedAt };
  };

  /** The sweep's charge of one expired hold; undefined when it was settled meanwhile. */
  const chargeExpired = async (tenant: string, window: WindowSpan, id: string): Promise<CounterState | undefined> => {
    const hold = parseHoldId(id);
    const amount: Amount = hold ?? { tokens: 0, costPicoUsd: 0n };
    try {
      const output = await send(
        new UpdateCommand({
          TableName: table,
          Key: counterKey(tenant, window),
          UpdateExpression:
            'ADD spentTokens :tokens, spentCost :cost, expiredTokens :tokens, expiredCost :cost, expiredCount :one, expiredHolds :hold DELETE holds :hold',
          ConditionExpression: 'contains(holds, :id)',
          ExpressionAttributeValues: {
            ':tokens': amount.tokens,
            ':cost': amount.costPicoUsd,
            ':one': 1,
            ':hold': new Set([id]),
            ':id': id,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return counterState(output.Attributes);
    } catch (error) {
      if (error instanceof ConditionFailedError) return undefined;
      throw error;
    }
  };

  return {
    async putBudget(tenant, budget: Budget, actor, now = new Date()) {
      // A budget replaces the previous one whole: a floor it does not name goes back to the default.
      const floors: string[] = [];
      const removed: string[] = [];
      const floorValues: Record<string, unknown> = {};
      if (budget.pauseBelowTokens === undefined) removed.push('pauseBelowTokens');
      else {
        floors.push('pauseBelowTokens = :floorTokens');
        floorValues[':floorTokens'] = budget.pauseBelowTokens;
      }
      if (budget.pauseBelowCostPicoUsd === undefined) removed.push('pauseBelowCost');
      else {
        floors.push('pauseBelowCost = :floorCost');
        floorValues[':floorCost'] = budget.pauseBelowCostPicoUsd;
      }
      const output = await send(
        new UpdateCommand({
          TableName: table,
          Key: budgetKey(tenant),
          UpdateExpression:
            `SET ${['tenant = :tenant, tokens = :tokens, costPicoUsd = :cost, #window = :window, updatedAt = :at, updatedBy = :by, gsi1pk = :index, gsi1sk = :tenant', ...floors].join(', ')} ADD version :one` +
            (removed.length > 0 ? ` REMOVE ${removed.join(', ')}` : ''),
          ExpressionAttributeNames: { '#window': 'window' },
          ExpressionAttributeValues: {
            ':tenant': tenant,
            ':tokens': budget.tokens,
            ':cost': budget.costPicoUsd,
            ':window': budget.window,
            ':at': now.toISOString(),
            ':by': actor,
            ':index': BUDGETS_INDEX_PK,
            ':one': 1,
            ...floorValues,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const stored = tenantBudget(output.Attributes);
      const window = windowOf(budget.window, now);
      const state = await readCounter(tenant, window);
      // A budget lowered to what was spent pauses the tenant now (no settlement would report it: every reservation is refused).
      const paused = await claimPause(tenant, window, state, `budget-v${stored.version}`, now, budget);
      if (paused) return { budget: stored, resumed: false, paused };
      // A raised budget lifts the window's pause, so a later crossing of the new cap is reported again.
      let resumed = false;
      if (state.pause && liftsPause(budget, state.spent, state.pause)) {
        try {
          await send(
            new UpdateCommand({
              TableName: table,
              Key: counterKey(tenant, window),
              UpdateExpression: 'REMOVE pausedAt, pausedBudget, pauseRequestId, pauseLimit, pauseLimitUnits, pauseSpent, pauseRecordedAt',
              ConditionExpression: 'pausedAt = :seen',
              ExpressionAttributeValues: { ':seen': state.pause.at },
            }),
          );
          resumed = true;
        } catch (error) {
          if (!(error instanceof ConditionFailedError)) throw error;
        }
      }
      return { budget: stored, resumed };
    },

    budget: readBudget,

    async reserve(request: ReserveRequest, now = new Date()): Promise<Reservation> {
      const amount = worstCase(request.prices, request.inputTokens, request.maxTokens);
      const leaseSeconds = request.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
      const expiresAt = new Date(now.getTime() + Math.ceil(leaseSeconds * 1000));
      const budget = await readBudget(request.tenant);
      const window = windowOf(budget?.window ?? DEFAULT_USAGE_WINDOW, now);
      const base = { tenant: request.tenant, requestId: request.requestId, window, amount, prices: request.prices, expiresAt };
      // Without a budget nothing is held: the settlement only counts the usage.
      if (!budget) return { ...base, id: '' };
      /** The refusal `state` explains, with the pause it reaches claimed; undefined when by `state` the request fits. */
      const refuse = async (state: CounterState) => {
        const refused = refusal(request.tenant, budget, window, amount, { ...state, paused: state.pause?.budget }, now);
        if (refused?.paused && !state.pause) {
          const crossing = await claimPause(request.tenant, window, state, request.requestId, now, budget, refused.budget);
          if (crossing) refused.crossing = crossing;
        }
        return refused;
      };
      const bounds = reservationBounds(budget, amount);
      if (bounds.tokens < 0 || bounds.costPicoUsd < 0n) {
        // Larger than the whole budget: never fits; the refusal states what the window holds (and a pause).
        throw (await refuse(await readCounter(request.tenant, window))) ?? new RangeError('unreachable: a request larger than its budget');
      }
      const spendable = spendingBounds(budget);
      const id = holdId({ ...amount, expiresAtMs: expiresAt.getTime(), nonce: nonce() });
      for (let attempt = 1; ; attempt += 1) {
        try {
          await send(
            new UpdateCommand({
              TableName: table,
              Key: counterKey(request.tenant, window),
              UpdateExpression:
                'ADD committedTokens :tokens, committedCost :cost, holds :hold SET expiresAt = if_not_exists(expiresAt, :ttl)',
              ConditionExpression:
                '(attribute_not_exists(committedTokens) OR committedTokens <= :maxTokens) AND (attribute_not_exists(committedCost) OR committedCost <= :maxCost)' +
                ' AND (attribute_not_exists(spentTokens) OR spentTokens <= :spendTokens) AND (attribute_not_exists(spentCost) OR spentCost <= :spendCost)' +
                ' AND attribute_not_exists(pausedAt)',
              ExpressionAttributeValues: {
                ':tokens': amount.tokens,
                ':cost': amount.costPicoUsd,
                ':hold': new Set([id]),
                ':ttl': counterTtl(window),
                ':maxTokens': bounds.tokens,
                ':maxCost': bounds.costPicoUsd,
                ':spendTokens': spendable.tokens,
                ':spendCost': spendable.costPicoUsd,
              },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
          return { ...base, id, budget };
        } catch (error) {
          if (!(error instanceof ConditionFailedError)) throw error;
          // The item as the failed condition saw it names the limit; read it when the service did not return it.
          const seen = itemOfFailedCondition(error);
          const refused = await refuse(seen ? counterState(seen) : await readCounter(request.tenant, window));
          if (refused) throw refused;
          if (attempt >= RESERVE_ATTEMPTS)
            throw new ConflictError(`The budget counter of ${request.tenant} kept changing under the reservation; retry`);
        }
      }
    },

    async settle(reservation: Reservation, usage: Usage, now = new Date()): Promise<SettleOutcome> {
      const actual = actualAmount(reservation.prices, usage);
      const key = counterKey(reservation.tenant, reservation.window);
      const counts = { ':in': usage.inputTokens, ':out': usage.outputTokens, ':one': 1 };
      if (reservation.id === '') {
        const output = await send(
          new UpdateCommand({
            TableName: table,
            Key: key,
            UpdateExpression:
              'ADD committedTokens :tokens, committedCost :cost, spentTokens :tokens, spentCost :cost, inputTokens :in, outputTokens :out, requests :one SET expiresAt = if_not_exists(expiresAt, :ttl)',
            ExpressionAttributeValues: {
              ':tokens': actual.tokens,
              ':cost': actual.costPicoUsd,
              ...counts,
              ':ttl': counterTtl(reservation.window),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return { window: reservation.window, charged: actual, spent: counterState(output.Attributes).spent, overrun: false, late: false };
      }
      const moves = settlement(reservation.amount, actual);
      let state: CounterState;
      let late = false;
      try {
        const output = await send(
          new UpdateCommand({
            TableName: table,
            Key: key,
            UpdateExpression:
              'ADD committedTokens :dTokens, committedCost :dCost, spentTokens :tokens, spentCost :cost, inputTokens :in, outputTokens :out, requests :one DELETE holds :hold',
            ConditionExpression: 'contains(holds, :id)',
            ExpressionAttributeValues: {
              ':dTokens': moves.committed.tokens,
              ':dCost': moves.committed.costPicoUsd,
              ':tokens': actual.tokens,
              ':cost': actual.costPicoUsd,
              ...counts,
              ':hold': new Set([reservation.id]),
              ':id': reservation.id,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        state = counterState(output.Attributes);
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
        // Not held any more: the sweep charged it at its worst case (correct that to the actual usage), or it was settled.
        try {
          const output = await send(
            new UpdateCommand({
              TableName: table,
              Key: key,
              UpdateExpression:
                'ADD committedTokens :dTokens, committedCost :dCost, spentTokens :dTokens, spentCost :dCost, expiredTokens :undoTokens, expiredCost :undoCost, expiredCount :undo, inputTokens :in, outputTokens :out, requests :one DELETE expiredHolds :hold',
              ConditionExpression: 'contains(expiredHolds, :id)',
              ExpressionAttributeValues: {
                ':dTokens': moves.committed.tokens,
                ':dCost': moves.committed.costPicoUsd,
                ':undoTokens': -reservation.amount.tokens,
                ':undoCost': -reservation.amount.costPicoUsd,
                ':undo': -1,
                ...counts,
                ':hold': new Set([reservation.id]),
                ':id': reservation.id,
              },
              ReturnValues: 'ALL_NEW',
            }),
          );
          state = counterState(output.Attributes);
          late = true;
        } catch (lateError) {
          if (lateError instanceof ConditionFailedError) {
            throw new ReservationSettledError(`Reservation ${reservation.id} of ${reservation.tenant} was settled or released already`);
          }
          throw lateError;
        }
      }
      // Only a settlement that reached the cap it reserved against re-reads the budget (an admin may have raised it since).
      const reached = reservation.budget && !state.pause && capReached(reservation.budget, state.spent) !== undefined;
      const paused = reached
        ? await claimPause(reservation.tenant, reservation.window, state, reservation.requestId, now, await readBudget(reservation.tenant))
        : undefined;
      return {
        window: reservation.window,
        charged: actual,
        spent: state.spent,
        overrun: moves.overrun,
        late,
        ...(paused ? { paused } : {}),
      };
    },

    async release(reservation: Reservation): Promise<boolean> {
      if (reservation.id === '') return false;
      const key = counterKey(reservation.tenant, reservation.window);
      const values = {
        ':tokens': -reservation.amount.tokens,
        ':cost': -reservation.amount.costPicoUsd,
        ':hold': new Set([reservation.id]),
        ':id': reservation.id,
      };
      try {
        await send(
          new UpdateCommand({
            TableName: table,
            Key: key,
            UpdateExpression: 'ADD committedTokens :tokens, committedCost :cost DELETE holds :hold',
            ConditionExpression: 'contains(holds, :id)',
            ExpressionAttributeValues: values,
          }),
        );
        return true;
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
      }
      // Charged by the sweep meanwhile: the call produced nothing, so the charge is undone.
      try {
        await send(
          new UpdateCommand({
            TableName: table,
            Key: key,
            UpdateExpression:
              'ADD committedTokens :tokens, committedCost :cost, spentTokens :tokens, spentCost :cost, expiredTokens :tokens, expiredCost :cost, expiredCount :undo DELETE expiredHolds :hold',
            ConditionExpression: 'contains(expiredHolds, :id)',
            ExpressionAttributeValues: { ...values, ':undo': -1 },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionFailedError) return false;
        throw error;
      }
    },

    async usage(tenant, now = new Date()): Promise<BudgetUsage> {
      const budget = await readBudget(tenant);
      const window = windowOf(budget?.window ?? DEFAULT_USAGE_WINDOW, now);
      const state = await readCounter(tenant, window);
      return {
        tenant,
        window,
        spent: state.spent,
        inputTokens: state.inputTokens,
        outputTokens: state.outputTokens,
        reserved: {
          tokens: state.committed.tokens - state.spent.tokens,
          costPicoUsd: state.committed.costPicoUsd - state.spent.costPicoUsd,
        },
        requests: state.requests,
        expired: state.expired,
        ...(state.pause
          ? { pause: { budget: state.pause.budget, at: state.pause.at, requestId: state.pause.requestId, recorded: state.pause.recorded } }
          : {}),
        ...(budget ? { budget } : {}),
        ...(budget && (state.pause || capReached(budget, state.spent))
          ? { capReached: state.pause?.budget ?? capReached(budget, state.spent) }
          : {}),
      };
    },

    async recordPause(tenant, window) {
      try {
        await send(
          new UpdateCommand({
            TableName: table,
            Key: counterKey(tenant, window),
            UpdateExpression: 'SET pauseRecordedAt = :at',
            ConditionExpression: 'attribute_exists(pausedAt)',
            ExpressionAttributeValues: { ':at': new Date().toISOString() },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`No pause to record for ${tenant} in the ${window.kind} ${window.id}`);
        throw error;
      }
    },

    async sweepExpired(options = {}): Promise<SweepReport> {
      const now = options.now ?? new Date();
      const from = new Date(now.getTime() - (options.lookbackMs ?? DEFAULT_SWEEP_LOOKBACK_MS));
      const tenants = options.tenants ?? (await budgetTenants(send, table));
      const report: SweepReport = { tenants: tenants.length, windows: 0, charged: [], paused: [], unrecordedPauses: [] };
      await mapLimit(tenants, 8, async (tenant) => {
        const current = await readBudget(tenant);
        // Every window kind: the budget's kind may have changed while reservations of the old one ran.
        for (const kind of BUDGET_WINDOWS) {
          const windows = windowsBetween(kind, from, now);
          const first = windows[0];
          const last = windows.at(-1);
          if (!first || !last) continue;
          const items = await queryAll(send, {
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            FilterExpression: 'attribute_exists(holds) OR (attribute_exists(pausedAt) AND attribute_not_exists(pauseRecordedAt))',
            ExpressionAttributeValues: { ':pk': `${tenant}#gateway#usage`, ':from': `${kind}#${first.id}`, ':to': `${kind}#${last.id}` },
            ConsistentRead: true,
          });
          for (const item of items) {
            const window = windows.find((candidate) => `${kind}#${candidate.id}` === item.sk);
            if (!window) continue;
            report.windows += 1;
            let state = counterState(item);
            for (const id of state.holds) {
              const hold = parseHoldId(id);
              if (hold && hold.expiresAtMs > now.getTime()) continue;
              const after = await chargeExpired(tenant, window, id);
              if (!after) continue;
              state = after;
              const charge: ExpiredCharge = { tenant, window, id, amount: hold ?? { tokens: 0, costPicoUsd: 0n } };
              report.charged.push(charge);
              const crossing = await claimPause(tenant, window, state, `expired-reservation:${hold?.nonce ?? 'unknown'}`, now, current);
              if (crossing) report.paused.push(crossing);
            }
            const pause = state.pause;
            if (
              pause &&
              !pause.recorded &&
              !report.paused.some((p) => p.tenant === tenant && p.window.id === window.id && p.window.kind === kind)
            ) {
              if (now.getTime() - Date.parse(pause.at) >= PAUSE_RECORD_GRACE_MS) {
                report.unrecordedPauses.push({
                  tenant,
                  budget: pause.budget,
                  window,
                  limit: pause.limit,
                  spent: pause.spent,
                  requestId: pause.requestId,
                  pausedAt: pause.at,
                });
              }
            }
          }
        }
      });
      return report;
    },
  };
}

/** Every item a query returns, across pages. */
async function queryAll(send: Send, input: ConstructorParameters<typeof QueryCommand>[0]): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const output = await send(new QueryCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(output.Items ?? []));
    start = output.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every tenant that set a budget (gsi1 `gateway#budgets`). */
async function budgetTenants(send: Send, table: string): Promise<string[]> {
  const items = await queryAll(send, {
    TableName: table,
    IndexName: 'gsi1',
    KeyConditionExpression: 'gsi1pk = :pk',
    ExpressionAttributeValues: { ':pk': BUDGETS_INDEX_PK },
    ProjectionExpression: 'gsi1sk',
  });
  return items.map((item) => String(item.gsi1sk));
}
