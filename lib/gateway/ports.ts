/**
 * Ports of the Gateway engine that are its own: conversation logs and their leases, running
 * requests (for cancellation), tenant settings and the ledger it chains turns and billing into.
 * `lib/adapters/aws/gateway-store.ts` implements them on S3 and DynamoDB; `memory-store.ts` in memory.
 */
import type { AppendInput, LedgerEntry, Payload } from '../audit/schemas.ts';
import type { ConversationLog, GatewaySettings } from './schemas.ts';

/**
 * Conversation logs: the content in one object per conversation, and a lease that serialises the
 * turns of one conversation (a second request on a conversation whose turn is running is refused),
 * so no turn is lost between reading and writing the log.
 */
export interface ConversationStore {
  /**
   * Claims the conversation for `requestId` until `leaseUntil` and returns its log: a new, empty
   * log when `conversationId` is new to the tenant (`created`), the stored one otherwise.
   * @throws ConflictError when another request holds the conversation's lease.
   */
  begin(
    tenant: string,
    conversationId: string,
    requestId: string,
    now: Date,
    leaseUntil: Date,
  ): Promise<{ log: ConversationLog; created: boolean }>;
  /**
   * Stores the log and releases the lease; `expiresAt` is when retention removes its content
   * (undefined: nothing left to remove, the log leaves retention's index).
   * @throws ConflictError when the lease is no longer `requestId`'s (it expired and was taken).
   */
  commit(log: ConversationLog, requestId: string, expiresAt: Date | undefined): Promise<void>;
  /** Conversations whose content is due for removal at `now`, oldest first, at most `limit`. */
  expiring(now: Date, limit: number): Promise<Array<{ tenant: string; conversationId: string }>>;
  /** Releases the lease without writing (the request failed before any turn was logged). */
  abandon(tenant: string, conversationId: string, requestId: string): Promise<void>;
  /** The stored log, or undefined. */
  get(tenant: string, conversationId: string): Promise<ConversationLog | undefined>;
}

/** A running request as {@link RequestRegistry} keeps it. */
export interface RunningRequest {
  tenant: string;
  requestId: string;
  model: string;
  startedAt: string;
  cancelled: boolean;
}

/** The tenant's running requests, so `DELETE /gateway/chat` can cancel one. */
export interface RequestRegistry {
  /**
   * Registers a request as running (kept a day after, so an id is not reused).
   * @throws ConflictError when the tenant already used `requestId`.
   */
  start(request: Omit<RunningRequest, 'cancelled'>, expiresAt: Date): Promise<void>;
  /**
   * Marks it cancelled.
   * @throws NotFoundError when the tenant has no such request.
   */
  cancel(tenant: string, requestId: string): Promise<void>;
  /** Whether it was cancelled (a strongly consistent read). */
  cancelled(tenant: string, requestId: string): Promise<boolean>;
  /** Marks it finished (`cancel` on it is then a no-op that still answers). */
  finish(tenant: string, requestId: string, outcome: string): Promise<void>;
}

/** Tenant settings of the gateway. */
export interface SettingsStore {
  get(tenant: string): Promise<GatewaySettings>;
  put(tenant: string, settings: GatewaySettings): Promise<void>;
}

/** Where the gateway records turns and billing: the tenant's ledger (the audit engine's `record`). */
export interface GatewayLedger {
  record(input: AppendInput): Promise<LedgerEntry>;
  /** Entries `fromSeq ≤ seq < toSeq` of a stream. */
  read(tenant: string, stream: string, fromSeq: number, toSeq: number): Promise<LedgerEntry[]>;
  /** A stored payload by hash, or undefined when retention deleted it. */
  payload(tenant: string, hash: string): Promise<Payload | undefined>;
}
