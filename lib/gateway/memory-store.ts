/**
 * The Gateway engine's own ports in memory, for unit tests and benches: conversation logs with
 * leases, running requests, settings, and a ledger over the audit engine's in-memory stores.
 */
import { record } from '../audit/engine.ts';
import { MemoryLedgerStore, MemoryPayloadStore, MemoryStreamRegistry } from '../audit/memory-store.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { newConversationLog } from './conversation-log.ts';
import type { ConversationStore, GatewayLedger, RequestRegistry, RunningRequest, SettingsStore } from './ports.ts';
import { type ConversationLog, conversationLogSchema, DEFAULT_GATEWAY_SETTINGS, type GatewaySettings } from './schemas.ts';

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
