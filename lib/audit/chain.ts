/**
 * The hash chain: append-only streams of ledger entries per tenant and stream name.
 *
 * Entry `seq` carries `prevHash` = hash of entry `seq - 1` (64 zeros for seq 0) and
 * `payloadHash` = SHA-256 of the RFC 8785 canonical JSON of its payload; `hash` = SHA-256 of the
 * canonical JSON of the entry without `hash`. Payloads live apart (content-addressed), so
 * retention can delete a payload while the chain still verifies.
 */
import { ValidationError } from '../errors.ts';
import { type Backoff, retry } from '../retry.ts';
import { canonicalHash, canonicalJson, sha256Hex, ZERO_HASH } from './digest.ts';
import { ChainConflictError } from './errors.ts';
import type { LedgerStore, PayloadStore } from './ports.ts';
import { type AppendInput, appendInputSchema, type LedgerEntry, type Payload, type UnhashedEntry } from './schemas.ts';

/**
 * The `payloadHash` of a payload: hex SHA-256 of its RFC 8785 canonical JSON.
 *
 * @throws ValidationError when the payload has no canonical JSON form (NaN, a cycle, …).
 * @example payloadHash({ kind: 'promotion', environment: 'prod' }) // 64 hex characters
 */
export function payloadHash(payload: Payload): string {
  return canonicalHash(payload);
}

/**
 * The `hash` of an entry: hex SHA-256 of the canonical JSON of every field but `hash`.
 *
 * The canonical JSON is written by hand for the nine known fields in RFC 8785 key order
 * (code-unit order of the key names), which is what `canonicalize` would produce for them but
 * several times cheaper; verification runs this once per entry. Extra fields, which a mutated
 * entry may carry, take the general path so they are hashed too.
 *
 * @throws ValidationError when a field has no canonical JSON form.
 * @example entryHash({ tenant: 'acme', stream: 'ops', seq: 0, … }) // 64 hex characters
 */
export function entryHash(entry: UnhashedEntry): string {
  return sha256Hex(canonicalEntryJson(entry));
}

const SURROGATE = /[\uD800-\uDFFF]/;
const ENTRY_KEYS = new Set(['actor', 'correlationId', 'payloadHash', 'prevHash', 'seq', 'stream', 'tenant', 'timestamp', 'hash']);

/**
 * The RFC 8785 canonical JSON of an entry without its `hash` field.
 *
 * @throws ValidationError when a field has no canonical JSON form.
 */
export function canonicalEntryJson(entry: UnhashedEntry): string {
  const { actor, correlationId, payloadHash: payload, prevHash, seq, stream, tenant, timestamp } = entry;
  const plain =
    typeof actor === 'string' &&
    (correlationId === null || typeof correlationId === 'string') &&
    typeof payload === 'string' &&
    typeof prevHash === 'string' &&
    Number.isSafeInteger(seq) &&
    typeof stream === 'string' &&
    typeof tenant === 'string' &&
    typeof timestamp === 'string' &&
    Object.keys(entry).every((key) => ENTRY_KEYS.has(key));
  const strings = [actor, correlationId ?? '', payload, prevHash, stream, tenant, timestamp];
  // Surrogates (a lone one has no RFC 8785 form) take the general path, which checks them.
  if (!plain || strings.some((text) => SURROGATE.test(text))) {
    const { hash: _ignored, ...rest } = entry as LedgerEntry;
    return canonicalJson(rest);
  }
  const s = JSON.stringify;
  return `{"actor":${s(actor)},"correlationId":${s(correlationId)},"payloadHash":${s(payload)},"prevHash":${s(prevHash)},"seq":${s(seq)},"stream":${s(stream)},"tenant":${s(tenant)},"timestamp":${s(timestamp)}}`;
}

/**
 * Builds the entry that follows `prev` (or the first entry of a stream when `prev` is undefined).
 * Pure: the caller supplies the timestamp.
 *
 * @throws ValidationError when the input is malformed (each bad field path is named) or `prev`
 * belongs to another tenant or stream.
 * @example
 * const first = buildEntry(undefined, { tenant: 'acme', stream: 'ops', timestamp: '2025-01-01T00:00:00.000Z',
 *   actor: 'alice', correlationId: 'req-1', payload: { kind: 'note' } });
 * const second = buildEntry(first, { ...sameInput, payload: { kind: 'note', n: 2 } });
 */
export function buildEntry(prev: LedgerEntry | undefined, input: AppendInput): LedgerEntry {
  const parsed = appendInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })));
  }
  const { tenant, stream, timestamp, actor, correlationId, payload } = parsed.data;
  if (prev !== undefined && (prev.tenant !== tenant || prev.stream !== stream)) {
    throw new ValidationError([
      { path: 'prev', message: `previous entry belongs to ${prev.tenant}/${prev.stream}, not ${tenant}/${stream}` },
    ]);
  }
  const unhashed: UnhashedEntry = {
    tenant,
    stream,
    seq: prev === undefined ? 0 : prev.seq + 1,
    timestamp,
    prevHash: prev === undefined ? ZERO_HASH : prev.hash,
    payloadHash: payloadHash(payload),
    actor,
    correlationId: correlationId ?? null,
  };
  return { ...unhashed, hash: entryHash(unhashed) };
}

/** The wait between append attempts after a lost race: below 8, 16, 32 … ms (full jitter), never more than 250 ms. */
export const APPEND_BACKOFF: Backoff = { baseDelayMs: 8, maxDelayMs: 250 };

/** Options of `appendRecord`. */
export interface AppendOptions {
  /** Re-reads of the head after a conflict before giving up (default 16). */
  maxRetries?: number;
  /** Where the payload goes; written before the entry so no entry references a payload never stored. */
  payloads?: PayloadStore;
  /** The wait between attempts ({@link APPEND_BACKOFF}; a real timer by default) and its jitter source; for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * Appends a record to its stream: reads the head, builds the next entry and stores it with a
 * condition on its seq. On a conflict (another writer took that seq) it waits a jittered backoff,
 * re-reads the head and tries again, so concurrent appenders serialise into one chain and never
 * fork it.
 *
 * @throws ChainConflictError when every attempt (1 + maxRetries) lost the race.
 * @throws ValidationError when the input is malformed.
 * @example
 * const entry = await appendRecord(store, { tenant: 'acme', stream: 'ops', timestamp: clock.now(),
 *   actor: 'alice', correlationId: 'req-1', payload: { kind: 'promotion', id: 'p-1' } }, { payloads });
 */
export async function appendRecord(store: LedgerStore, input: AppendInput, options: AppendOptions = {}): Promise<LedgerEntry> {
  const maxRetries = options.maxRetries ?? 16;
  // Validate and store the payload once, before racing for a seq.
  const probe = buildEntry(undefined, input);
  await options.payloads?.put(input.tenant, probe.payloadHash, input.payload);
  let lastSeq = 0;
  const attempt = async () => {
    const entry = buildEntry(await store.latest(input.tenant, input.stream), input);
    lastSeq = entry.seq;
    await store.append(entry);
    return entry;
  };
  try {
    return await retry(attempt, {
      attempts: maxRetries + 1,
      ...APPEND_BACKOFF,
      retryable: (error) => error instanceof ChainConflictError,
      sleep: options.sleep,
      random: options.random,
    });
  } catch (error) {
    if (!(error instanceof ChainConflictError)) throw error;
    throw new ChainConflictError(
      `append to ${input.tenant}/${input.stream} lost the race ${maxRetries + 1} times (last seq tried: ${lastSeq})`,
      lastSeq,
    );
  }
}
