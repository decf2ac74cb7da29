/**
 * Conversation logs and their ledger records. A conversation's content lives in one S3 object
 * (`<tenant>/conversations/<id>.json`, {@link ConversationLog}); each turn (one request through the
 * chat pipeline) is chained in the tenant's ledger, stream {@link CONVERSATIONS_STREAM}, as a record
 * holding everything about the turn but its content: the request and correlation ids, the models
 * tried and the one that answered, the template, token counts, cost, decisions and, per message,
 * the SHA-256 of its content ({@link messageHash}).
 *
 * The log keeps exactly what is needed to rebuild that record ({@link turnRecord}), so a log proves
 * itself against the ledger: rebuilt from the log, the record must hash to the entry's
 * `payloadHash` ({@link verifyConversation}). That holds without the stored payload (which the audit
 * engine's retention may delete) and after the gateway's retention removed the content, because
 * the log keeps each message's hash. Plain data in and out; no storage here.
 */
import { entryHash, payloadHash } from '../audit/chain.ts';
import { canonicalHash, ZERO_HASH } from '../audit/digest.ts';
import type { LedgerEntry, Payload } from '../audit/schemas.ts';
import type { GatewayLedger } from './ports.ts';
import { CONVERSATION_LOG_FORMAT, type ConversationLog, type ConversationView, type LoggedMessage, type LoggedTurn } from './schemas.ts';

/** The ledger stream of conversation turns (one per tenant). */
export const CONVERSATIONS_STREAM = 'gateway.conversations';
/** The ledger stream of billing entries: one per request that called a model. */
export const BILLING_STREAM = 'gateway.billing';

/** The S3 key of a conversation's log. */
export function conversationKey(tenant: string, conversationId: string): string {
  return `${tenant}/conversations/${conversationId}.json`;
}

/**
 * The content hash the ledger keeps for a message: SHA-256 (hex) of the RFC 8785 canonical JSON of
 * `{ content, role }`, so a message moved to another role does not keep its hash.
 * @example messageHash({ role: 'user', content: 'hi' }) // 64 hex characters
 */
export function messageHash(message: { role: string; content: string }): string {
  return canonicalHash({ content: message.content, role: message.role });
}

/** A message as the log keeps it: content, its hash and its token count. */
export function loggedMessage(role: LoggedMessage['role'], content: string, tokens: number): LoggedMessage {
  return { role, content, contentHash: messageHash({ role, content }), tokens };
}

/**
 * The ledger record of a turn (the entry's payload): everything about it but the content. The
 * entry's own fields carry the time (`at`), the actor and the correlation id.
 */
export function turnRecord(conversationId: string, turn: Omit<LoggedTurn, 'ledger' | 'at' | 'actor' | 'correlationId'>): Payload {
  return {
    kind: 'gateway.turn',
    conversationId,
    turn: turn.turn,
    requestId: turn.requestId,
    model: turn.model,
    models: turn.models,
    template: turn.template,
    usage: turn.usage,
    costUsd: turn.costUsd,
    finishReason: turn.finishReason,
    decisions: turn.decisions,
    messages: turn.messages.map((message) => ({ role: message.role, contentHash: message.contentHash, tokens: message.tokens })),
  };
}

/** A new, empty log. */
export function newConversationLog(tenant: string, conversationId: string, now: Date): ConversationLog {
  const at = now.toISOString();
  return { format: CONVERSATION_LOG_FORMAT, tenant, conversationId, createdAt: at, updatedAt: at, turns: [] };
}

/** The log with `turn` appended (a copy). */
export function withTurn(log: ConversationLog, turn: LoggedTurn, now: Date): ConversationLog {
  return { ...log, updatedAt: now.toISOString(), turns: [...log.turns, turn] };
}

/**
 * The log with every message's content removed (null) and the hashes kept: what retention leaves.
 * A copy; a log already stripped comes back as it was.
 */
export function withoutContent(log: ConversationLog, now: Date): ConversationLog {
  if (log.contentRemovedAt !== undefined && log.turns.every((turn) => turn.messages.every((message) => message.content === null)))
    return log;
  return {
    ...log,
    contentRemovedAt: log.contentRemovedAt ?? now.toISOString(),
    turns: log.turns.map((turn) => ({ ...turn, messages: turn.messages.map((message) => ({ ...message, content: null })) })),
  };
}

/** Whether the log's last update is older than `retentionDays` at `now`. */
export function expiredLog(log: ConversationLog, retentionDays: number, now: Date): boolean {
  const updated = Date.parse(log.updatedAt);
  return !Number.isNaN(updated) && updated < now.getTime() - retentionDays * 86_400_000;
}

/** The ledger entries verification reads: each turn's entry and the one before it (its link), by seq. */
export function seqsToRead(log: ConversationLog): number[] {
  const seqs = new Set<number>();
  for (const turn of log.turns) {
    if (turn.ledger === undefined) continue;
    seqs.add(turn.ledger.seq);
    if (turn.ledger.seq > 0) seqs.add(turn.ledger.seq - 1);
  }
  return [...seqs].sort((a, b) => a - b);
}

/**
 * Compares a log with the ledger: for each turn, whether its entry is intact (its hash recomputes,
 * its `prevHash` is the previous entry's hash, tenant and stream are the log's), whether the turn
 * rebuilt from the log hashes to the entry's `payloadHash`, and per message:
 * `verified` (the content kept hashes to what was recorded), `content-removed` (retention removed
 * it; its recorded hash still chains), `altered` (the content or the turn's metadata differs from
 * the record), `unrecorded` (the turn has no ledger entry) or `ledger-broken` (the entry itself
 * does not verify). When the rebuilt record differs, `recorded` (the stored payload, where
 * retention kept it) tells which messages differ; without it every message of the turn counts as altered.
 *
 * @param entries the tenant's entries of the turns' stream by seq (see {@link seqsToRead})
 * @param recorded the stored payloads by payload hash, where still kept
 * @example verifyConversation(log, new Map(entries.map((e) => [e.seq, e])), new Map()).intact // true
 */
export function verifyConversation(
  log: ConversationLog,
  entries: ReadonlyMap<number, LedgerEntry>,
  recorded: ReadonlyMap<string, Payload> = new Map(),
): ConversationView['verification'] {
  const turns = log.turns.map((turn) => {
    const ledger = turn.ledger ?? null;
    if (ledger === null) {
      return {
        turn: turn.turn,
        ledger,
        entryIntact: false,
        payloadMatches: false,
        messages: turn.messages.map(() => 'unrecorded' as const),
        problem: 'the turn was not recorded in the ledger',
      };
    }
    const entry = entries.get(ledger.seq);
    if (entry === undefined) {
      return {
        turn: turn.turn,
        ledger,
        entryIntact: false,
        payloadMatches: false,
        messages: turn.messages.map(() => 'ledger-broken' as const),
        problem: `no ledger entry at ${ledger.stream}#${ledger.seq}`,
      };
    }
    const problems: string[] = [];
    const { hash, ...unhashed } = entry;
    let entryIntact =
      entry.tenant === log.tenant && entry.stream === ledger.stream && entry.seq === ledger.seq && entryHash(unhashed) === hash;
    if (!entryIntact) problems.push('the ledger entry does not verify');
    const previous = ledger.seq === 0 ? undefined : entries.get(ledger.seq - 1);
    const expectedPrev = ledger.seq === 0 ? ZERO_HASH : previous?.hash;
    if (expectedPrev === undefined || entry.prevHash !== expectedPrev) {
      entryIntact = false;
      problems.push(`the entry does not link to seq ${ledger.seq - 1}`);
    }
    if (entry.correlationId !== turn.correlationId || entry.actor !== turn.actor || entry.timestamp !== turn.at) {
      problems.push("the log's time, actor or correlation id differ from the entry's");
    }
    const rebuilt = turnRecord(log.conversationId, {
      ...turn,
      messages: turn.messages.map((message) =>
        message.content === null ? message : { ...message, contentHash: messageHash({ role: message.role, content: message.content }) },
      ),
    });
    const payloadMatches = payloadHash(rebuilt) === entry.payloadHash && problems.length === 0;
    let messages: Array<'verified' | 'content-removed' | 'altered' | 'ledger-broken'>;
    if (!entryIntact) messages = turn.messages.map(() => 'ledger-broken');
    else if (payloadMatches) messages = turn.messages.map((message) => (message.content === null ? 'content-removed' : 'verified'));
    else {
      const stored = recorded.get(entry.payloadHash);
      const storedMessages = Array.isArray(stored?.messages)
        ? (stored.messages as Array<{ contentHash?: unknown; role?: unknown }>)
        : undefined;
      messages = turn.messages.map((message, index) => {
        const record = storedMessages?.[index];
        if (record === undefined) return 'altered';
        const hashNow = message.content === null ? message.contentHash : messageHash({ role: message.role, content: message.content });
        if (record.contentHash !== hashNow || record.role !== message.role) return 'altered';
        return message.content === null ? 'content-removed' : 'verified';
      });
      problems.push('the turn rebuilt from the log does not hash to the recorded payload');
    }
    return {
      turn: turn.turn,
      ledger,
      entryIntact,
      payloadMatches,
      messages,
      ...(problems.length > 0 ? { problem: problems.join('; ').slice(0, 500) } : {}),
    };
  });
  const intact = turns.every((turn) => turn.entryIntact && turn.payloadMatches);
  return { intact, turns };
}

/** A turn before it is recorded: everything but its ledger location. */
export type UnrecordedTurn = Omit<LoggedTurn, 'ledger'>;

/**
 * Chains a turn in the tenant's ledger ({@link CONVERSATIONS_STREAM}: its {@link turnRecord}, at the
 * turn's time, as its actor, under its correlation id) and returns the turn with its ledger location.
 *
 * @throws ChainConflictError when the append kept losing the race; ValidationError when the turn has no canonical form.
 * @example const logged = await recordTurn(ledger, 'acme', 'c-1', turn);
 */
export async function recordTurn(ledger: GatewayLedger, tenant: string, conversationId: string, turn: UnrecordedTurn): Promise<LoggedTurn> {
  const entry = await ledger.record({
    tenant,
    stream: CONVERSATIONS_STREAM,
    timestamp: turn.at,
    actor: turn.actor,
    correlationId: turn.correlationId,
    payload: turnRecord(conversationId, turn),
  });
  return { ...turn, ledger: { stream: entry.stream, seq: entry.seq } };
}

/** What a billing entry records: one model call's exact usage and cost. */
export interface BillingRecord {
  requestId: string;
  /** The conversation the call served; absent for a call outside any (a document ingest's embeddings). */
  conversationId?: string;
  /** `embed` for an embedding call (output tokens 0); absent: a generation. */
  operation?: 'embed';
  /** What an embedding call was for (`documents`, `retrieval`, `arbitration`), and how many texts it embedded. */
  purpose?: string;
  texts?: number;
  model: string;
  tokenizer: string;
  inputTokens: number;
  outputTokens: number;
  priceInputPer1k: number;
  priceOutputPer1k: number;
  /** The exact cost in picodollars (10⁻¹² USD), as decimal text. */
  costPicoUsd: string;
  /** The same in USD (a number, for reading). */
  costUsd: number;
  finishReason: string;
}

/**
 * Appends one billing entry ({@link BILLING_STREAM}) for one model call (a generation or an embedding).
 * @throws ChainConflictError, ValidationError as {@link recordTurn}.
 */
export function recordBilling(
  ledger: GatewayLedger,
  tenant: string,
  at: string,
  actor: string,
  correlationId: string,
  billing: BillingRecord,
): Promise<LedgerEntry> {
  return ledger.record({
    tenant,
    stream: BILLING_STREAM,
    timestamp: at,
    actor,
    correlationId,
    payload: { kind: 'gateway.billing', ...billing },
  });
}
