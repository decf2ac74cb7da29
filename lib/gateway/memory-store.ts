/**
 * The Gateway engine's ports in memory, for unit tests and benches: conversation logs with leases,
 * running requests, settings, tenants' templates, a ledger over the audit engine's in-memory stores, budgets and
 * in-flight slots.
 */
import { randomUUID } from 'node:crypto';
import { record } from '../audit/engine.ts';
import { MemoryLedgerStore, MemoryPayloadStore, MemoryStreamRegistry } from '../audit/memory-store.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { OutboxEntry } from '../governance/proposals.ts';
import type { Usage } from './backend.ts';
import { BackpressureError, type InflightLimiter, type InflightSlot } from './backpressure.ts';
import {
  type Amount,
  actualAmount,
  type Budget,
  type BudgetName,
  type BudgetStore,
  type BudgetUsage,
  type CapCrossing,
  capReached,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_USAGE_WINDOW,
  holdId,
  liftsPause,
  type Reservation,
  ReservationSettledError,
  type ReserveRequest,
  refusal,
  type SettleOutcome,
  type SweepReport,
  settlement,
  type TenantBudget,
  usdNumber,
  type WindowSpan,
  windowOf,
  worstCase,
} from './budgets.ts';
import { newConversationLog } from './conversation-log.ts';
import { type DocumentIndex, type DocumentStore, documentIndexSchema } from './documents.ts';
import type { ConversationStore, GatewayLedger, RequestRegistry, RunningRequest, SettingsStore } from './ports.ts';
import { type ConversationLog, conversationLogSchema, DEFAULT_GATEWAY_SETTINGS, type GatewaySettings } from './schemas.ts';
import {
  type StoredTemplate,
  type TemplateRevision,
  type TemplateStore,
  type TemplateSummary,
  type TemplateWrite,
  TemplateWriteConflictError,
} from './tenant-templates.ts';

const key = (tenant: string, id: string) => `${tenant}#${id}`;

/** {@link ConversationStore} in memory; `logs` is what an S3 bucket would hold (JSON text), for tampering in tests. */
export class MemoryConversationStore implements ConversationStore {
  readonly logs = new Map<string, string>();
  readonly expiries = new Map<string, { tenant: string; conversationId: string; at: Date }>();
  readonly #leases = new Map<string, { requestId: string; until: number }>();

  async begin(
    tenant: string,
    conversationId: string,
    requestId: string,
    now: Date,
    leaseUntil: Date,
  ): Promise<{ log: ConversationLog; created: boolean }> {
    const k = key(tenant, conversationId);
    const lease = this.#leases.get(k);
    if (lease && lease.requestId !== requestId && lease.until > now.getTime())
      throw new ConflictError(`Conversation ${conversationId} has a turn in progress (request ${lease.requestId}); retry when it ends`);
    this.#leases.set(k, { requestId, until: leaseUntil.getTime() });
    const stored = await this.get(tenant, conversationId);
    return stored ? { log: stored, created: false } : { log: newConversationLog(tenant, conversationId, now), created: true };
  }

  async commit(log: ConversationLog, requestId: string, expiresAt: Date | undefined): Promise<void> {
    const k = key(log.tenant, log.conversationId);
    if (this.#leases.get(k)?.requestId !== requestId)
      throw new ConflictError(`The lease on conversation ${log.conversationId} expired and was taken`);
    this.logs.set(k, JSON.stringify(conversationLogSchema.parse(log)));
    if (expiresAt) this.expiries.set(k, { tenant: log.tenant, conversationId: log.conversationId, at: expiresAt });
    else this.expiries.delete(k);
    this.#leases.delete(k);
  }

  async expiring(now: Date, limit: number): Promise<Array<{ tenant: string; conversationId: string }>> {
    return [...this.expiries.values()]
      .filter((entry) => entry.at.getTime() <= now.getTime())
      .sort((a, b) => a.at.getTime() - b.at.getTime())
      .slice(0, limit)
      .map(({ tenant, conversationId }) => ({ tenant, conversationId }));
  }

  async abandon(tenant: string, conversationId: string, requestId: string): Promise<void> {
    const k = key(tenant, conversationId);
    if (this.#leases.get(k)?.requestId === requestId) this.#leases.delete(k);
  }

  async get(tenant: string, conversationId: string): Promise<ConversationLog | undefined> {
    const text = this.logs.get(key(tenant, conversationId));
    return text === undefined ? undefined : conversationLogSchema.parse(JSON.parse(text));
  }
}

/** {@link RequestRegistry} in memory. */
export class MemoryRequestRegistry implements RequestRegistry {
  readonly requests = new Map<string, RunningRequest & { outcome?: string }>();

  async start(request: Omit<RunningRequest, 'cancelled'>): Promise<void> {
    const k = key(request.tenant, request.requestId);
    if (this.requests.has(k)) throw new ConflictError(`Request id ${request.requestId} was already used`);
    this.requests.set(k, { ...request, cancelled: false });
  }

  async cancel(tenant: string, requestId: string): Promise<void> {
    const found = this.requests.get(key(tenant, requestId));
    if (!found) throw new NotFoundError(`No request ${requestId}`);
    found.cancelled = true;
  }

  async cancelled(tenant: string, requestId: string): Promise<boolean> {
    return this.requests.get(key(tenant, requestId))?.cancelled ?? false;
  }

  async finish(tenant: string, requestId: string, outcome: string): Promise<void> {
    const found = this.requests.get(key(tenant, requestId));
    if (found) found.outcome = outcome;
  }
}

/** {@link SettingsStore} in memory. */
export class MemorySettingsStore implements SettingsStore {
  readonly #settings = new Map<string, GatewaySettings>();
  async get(tenant: string): Promise<GatewaySettings> {
    return this.#settings.get(tenant) ?? DEFAULT_GATEWAY_SETTINGS;
  }
  async put(tenant: string, settings: GatewaySettings): Promise<void> {
    this.#settings.set(tenant, settings);
  }
}

/**
 * {@link TemplateStore} in memory with the DynamoDB store's semantics (lib/adapters/aws/gateway-store.ts):
 * each write checks the revision, the template's version and the cap and applies in one synchronous
 * step, as one transaction does; the outbox entries it saves are kept in `outbox`.
 */
export class MemoryTemplateStore implements TemplateStore {
  readonly #templates = new Map<string, Map<string, StoredTemplate>>();
  readonly #revisions = new Map<string, number>();
  /** Outbox entries written with the changes, in order. */
  readonly outbox: OutboxEntry[] = [];

  async get(tenant: string, name: string): Promise<StoredTemplate | undefined> {
    return this.#templates.get(tenant)?.get(name);
  }

  async list(tenant: string): Promise<TemplateSummary[]> {
    return [...(this.#templates.get(tenant)?.entries() ?? [])]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, { template, ...rest }]) => ({ name, description: template.description, ...rest }));
  }

  async revision(tenant: string): Promise<TemplateRevision> {
    return { revision: this.#revisions.get(tenant) ?? 0, count: this.#templates.get(tenant)?.size ?? 0 };
  }

  async write(change: TemplateWrite, maxTemplates: number): Promise<OutboxEntry[]> {
    const templates = this.#templates.get(change.tenant) ?? new Map<string, StoredTemplate>();
    const current = templates.get(change.name);
    const adds = change.next !== undefined && current === undefined;
    if ((this.#revisions.get(change.tenant) ?? 0) !== change.revision || (adds && templates.size >= maxTemplates))
      throw new TemplateWriteConflictError('revision', `The templates of ${change.tenant} changed meanwhile`);
    if ((current?.version ?? 0) !== change.expectedVersion)
      throw new TemplateWriteConflictError('version', `Template ${change.name} changed meanwhile`);
    if (change.next) templates.set(change.name, change.next);
    else templates.delete(change.name);
    this.#templates.set(change.tenant, templates);
    this.#revisions.set(change.tenant, change.revision + 1);
    const at = new Date().toISOString();
    const entries = change.events.map((event, index) => ({ tenant: change.tenant, id: `${at}#${index}#${randomUUID()}`, event }));
    this.outbox.push(...entries);
    return entries;
  }
}

/** A {@link GatewayLedger} over the audit engine's in-memory stores (`record` as deployed). */
export function memoryGatewayLedger(): GatewayLedger & { ledger: MemoryLedgerStore; payloads: MemoryPayloadStore } {
  const ledger = new MemoryLedgerStore();
  const payloads = new MemoryPayloadStore();
  const registry = new MemoryStreamRegistry();
  return {
    ledger,
    payloads,
    record: (input) => record({ ledger, payloads, registry }, input),
    read: (tenant, stream, fromSeq, toSeq) => ledger.read(tenant, stream, fromSeq, toSeq),
    payload: (tenant, hash) => payloads.get(tenant, hash),
  };
}

/** One window's counters, as the DynamoDB store keeps them on its counter item. */
interface MemoryCounter {
  committed: Amount;
  spent: Amount;
  inputTokens: number;
  outputTokens: number;
  requests: number;
  holds: Set<string>;
  pause?: { budget: BudgetName; at: string; requestId: string; recorded: boolean; limitUnits: bigint };
}

const add = (a: Amount, b: Amount): Amount => ({ tokens: a.tokens + b.tokens, costPicoUsd: a.costPicoUsd + b.costPicoUsd });
const ZERO: Amount = { tokens: 0, costPicoUsd: 0n };

/**
 * {@link BudgetStore} in memory with the DynamoDB store's semantics (lib/adapters/aws/gateway-budgets.ts):
 * reservations checked against committed, settlement moving committed to spent, the one settlement,
 * refusal or budget change reaching the hard cap reporting the pause. Each method's check and write happen in one synchronous step,
 * as one conditional write does. The sweep of expired reservations is not modelled (`sweepExpired` reports nothing).
 */
export class MemoryBudgetStore implements BudgetStore {
  readonly #budgets = new Map<string, TenantBudget>();
  readonly #counters = new Map<string, MemoryCounter>();
  #nonce = 0;

  #counter(tenant: string, window: WindowSpan): MemoryCounter {
    const k = `${tenant}#${window.kind}#${window.id}`;
    let counter = this.#counters.get(k);
    if (!counter) {
      counter = { committed: ZERO, spent: ZERO, inputTokens: 0, outputTokens: 0, requests: 0, holds: new Set() };
      this.#counters.set(k, counter);
    }
    return counter;
  }

  /** Claims the window's pause for `name` (or the cap `budget` shows reached) unless one was claimed: the crossing to publish. */
  #claimPause(
    tenant: string,
    window: WindowSpan,
    counter: MemoryCounter,
    budget: Budget,
    requestId: string,
    now: Date,
    name = capReached(budget, counter.spent),
  ): CapCrossing | undefined {
    if (!name || counter.pause || budget.window !== window.kind) return undefined;
    const pausedAt = now.toISOString();
    counter.pause = {
      budget: name,
      at: pausedAt,
      requestId,
      recorded: false,
      limitUnits: name === 'tokens' ? BigInt(budget.tokens) : budget.costPicoUsd,
    };
    return {
      tenant,
      budget: name,
      window,
      limit: name === 'tokens' ? budget.tokens : usdNumber(budget.costPicoUsd),
      spent: name === 'tokens' ? counter.spent.tokens : usdNumber(counter.spent.costPicoUsd),
      requestId,
      pausedAt,
    };
  }

  async putBudget(
    tenant: string,
    budget: Budget,
    actor: string,
    now = new Date(),
  ): Promise<{ budget: TenantBudget; resumed: boolean; paused?: CapCrossing }> {
    const previous = this.#budgets.get(tenant);
    const stored: TenantBudget = {
      ...budget,
      tenant,
      version: (previous?.version ?? 0) + 1,
      updatedAt: now.toISOString(),
      updatedBy: actor,
    };
    this.#budgets.set(tenant, stored);
    const window = windowOf(budget.window, now);
    const counter = this.#counter(tenant, window);
    const paused = this.#claimPause(tenant, window, counter, budget, `budget-v${stored.version}`, now);
    if (paused) return { budget: stored, resumed: false, paused };
    const resumed = counter.pause !== undefined && liftsPause(budget, counter.spent, counter.pause);
    if (resumed) counter.pause = undefined;
    return { budget: stored, resumed };
  }

  async budget(tenant: string): Promise<TenantBudget | undefined> {
    return this.#budgets.get(tenant);
  }

  async reserve(request: ReserveRequest, now = new Date()): Promise<Reservation> {
    await Promise.resolve();
    const amount = worstCase(request.prices, request.inputTokens, request.maxTokens);
    const budget = this.#budgets.get(request.tenant);
    const window = windowOf(budget?.window ?? DEFAULT_USAGE_WINDOW, now);
    const expiresAt = new Date(now.getTime() + (request.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000);
    const base = { tenant: request.tenant, requestId: request.requestId, window, amount, prices: request.prices, expiresAt };
    if (!budget) return { ...base, id: '' };
    const counter = this.#counter(request.tenant, window);
    const refused = refusal(
      request.tenant,
      budget,
      window,
      amount,
      { committed: counter.committed, spent: counter.spent, paused: counter.pause?.budget },
      now,
    );
    if (refused) {
      if (refused.paused) {
        const crossing = this.#claimPause(request.tenant, window, counter, budget, request.requestId, now, refused.budget);
        if (crossing) refused.crossing = crossing;
      }
      throw refused;
    }
    this.#nonce += 1;
    const id = holdId({ ...amount, expiresAtMs: expiresAt.getTime(), nonce: this.#nonce.toString(36) });
    counter.committed = add(counter.committed, amount);
    counter.holds.add(id);
    return { ...base, id, budget };
  }

  async settle(reservation: Reservation, usage: Usage, now = new Date()): Promise<SettleOutcome> {
    await Promise.resolve();
    const actual = actualAmount(reservation.prices, usage);
    const counter = this.#counter(reservation.tenant, reservation.window);
    let overrun = false;
    if (reservation.id === '') counter.committed = add(counter.committed, actual);
    else {
      if (!counter.holds.delete(reservation.id))
        throw new ReservationSettledError(`Reservation ${reservation.id} was settled or released already`);
      const moves = settlement(reservation.amount, actual);
      counter.committed = add(counter.committed, moves.committed);
      overrun = moves.overrun;
    }
    counter.spent = add(counter.spent, actual);
    counter.inputTokens += usage.inputTokens;
    counter.outputTokens += usage.outputTokens;
    counter.requests += 1;
    const budget = this.#budgets.get(reservation.tenant);
    const paused = budget
      ? this.#claimPause(reservation.tenant, reservation.window, counter, budget, reservation.requestId, now)
      : undefined;
    return { window: reservation.window, charged: actual, spent: counter.spent, overrun, late: false, ...(paused ? { paused } : {}) };
  }

  async release(reservation: Reservation): Promise<boolean> {
    if (reservation.id === '') return false;
    const counter = this.#counter(reservation.tenant, reservation.window);
    if (!counter.holds.delete(reservation.id)) return false;
    counter.committed = add(counter.committed, { tokens: -reservation.amount.tokens, costPicoUsd: -reservation.amount.costPicoUsd });
    return true;
  }

  async usage(tenant: string, now = new Date()): Promise<BudgetUsage> {
    const budget = this.#budgets.get(tenant);
    const window = windowOf(budget?.window ?? DEFAULT_USAGE_WINDOW, now);
    const counter = this.#counter(tenant, window);
    const reserved = add(counter.committed, { tokens: -counter.spent.tokens, costPicoUsd: -counter.spent.costPicoUsd });
    const cap = budget && budget.window === window.kind ? (counter.pause?.budget ?? capReached(budget, counter.spent)) : undefined;
    return {
      tenant,
      window,
      spent: counter.spent,
      inputTokens: counter.inputTokens,
      outputTokens: counter.outputTokens,
      reserved,
      requests: counter.requests,
      expired: { count: 0, ...ZERO },
      ...(cap ? { capReached: cap } : {}),
      ...(counter.pause
        ? {
            pause: {
              budget: counter.pause.budget,
              at: counter.pause.at,
              requestId: counter.pause.requestId,
              recorded: counter.pause.recorded,
            },
          }
        : {}),
      ...(budget ? { budget } : {}),
    };
  }

  async recordPause(tenant: string, window: WindowSpan): Promise<void> {
    const counter = this.#counter(tenant, window);
    if (counter.pause) counter.pause.recorded = true;
  }

  async sweepExpired(): Promise<SweepReport> {
    return { tenants: 0, windows: 0, charged: [], paused: [], unrecordedPauses: [] };
  }
}

/** {@link InflightLimiter} in memory: slots per model, refused past the mark. */
export class MemoryInflightLimiter implements InflightLimiter {
  readonly #held = new Map<string, Set<string>>();
  #next = 0;

  async acquire(model: string, mark: number, options: { now?: Date } = {}): Promise<InflightSlot> {
    const held = this.#held.get(model) ?? new Set<string>();
    this.#held.set(model, held);
    if (held.size >= mark) throw new BackpressureError(model, held.size, mark, 1);
    this.#next += 1;
    const id = `slot-${this.#next}`;
    held.add(id);
    return { model, id, acquiredAt: options.now ?? new Date() };
  }

  async release(slot: InflightSlot): Promise<boolean> {
    return this.#held.get(slot.model)?.delete(slot.id) ?? false;
  }

  async inFlight(model: string): Promise<number> {
    return this.#held.get(model)?.size ?? 0;
  }
}

/** {@link DocumentStore} in memory: versions by tenant, compare-and-swap like the DynamoDB pointer. */
export class MemoryDocumentStore implements DocumentStore {
  readonly #indexes = new Map<string, { version: number; text: string }>();

  async current(tenant: string): Promise<{ version: number; index: DocumentIndex } | undefined> {
    const stored = this.#indexes.get(tenant);
    return stored ? { version: stored.version, index: documentIndexSchema.parse(JSON.parse(stored.text)) } : undefined;
  }

  async save(index: DocumentIndex, expected: number): Promise<number> {
    const version = this.#indexes.get(index.tenant)?.version ?? 0;
    if (version !== expected) throw new ConflictError('Another ingest changed the documents meanwhile; retry');
    this.#indexes.set(index.tenant, { version: expected + 1, text: JSON.stringify(index) });
    return expected + 1;
  }
}
