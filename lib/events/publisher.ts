/**
 * Publishing bus events: the port engines use ({@link EventPublisher}), the narrower port the AWS
 * adapter implements ({@link PutEventsPort}), and the one path between them,
 * {@link validatingPublisher}: every event is checked against the catalog (events/catalog.ts)
 * before anything is sent, entries go out in PutEvents-sized batches, and entries the bus refuses
 * are resent alone with capped, jittered exponential backoff.
 */
import { type CatalogDetailType, catalogEntry, type DetailOf, findCatalogEntry } from '../../events/catalog.ts';
import { DependencyError, DomainError, type FieldIssue } from '../errors.ts';
import { jsonDataIssues } from '../json-data.ts';
import { type Backoff, retry } from '../retry.ts';

/** One event for the bus: `source` is `autonomy.<engine>`, `detailType` `<engine>.<noun>.<past-verb>`. */
export interface BusEvent {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  /** Resources the event concerns (ARNs or ids), as EventBridge carries them. */
  resources?: string[];
  time?: Date;
}

/** Publishes events; resolves once every event is accepted by the bus. */
export interface EventPublisher {
  /**
   * @throws InvalidEventError when an event is not catalogued or its detail fails its schema (nothing is sent).
   * @throws DependencyError when some events are still refused after the retries.
   */
  publish(events: BusEvent[]): Promise<void>;
}

/**
 * Builds a catalogued event: the source and `detail.version` come from the catalog, so callers
 * cannot get them wrong, and the detail is type-checked against the schema's input type.
 * @example
 * await publisher.publish([busEvent('governance.approval.decided', { tenant, approvalId, decision: 'approved', decidedBy, decidedAt })]);
 */
export function busEvent<T extends CatalogDetailType>(
  detailType: T,
  detail: Omit<DetailOf<T>, 'version'>,
  options: { resources?: string[]; time?: Date } = {},
): BusEvent {
  const entry = catalogEntry(detailType);
  return { source: entry.source, detailType, detail: { version: entry.version, ...detail }, ...options };
}

/**
 * An event refused before sending: not in the catalog, a detail that fails its schema, or too large.
 * Events are built by our code, so this is our bug, not the caller's: it is not a ValidationError
 * (which would answer 400 and blame the request) but a plain domain error, a 500 to HTTP callers.
 */
export class InvalidEventError extends DomainError {
  readonly issues: FieldIssue[];
  constructor(issues: FieldIssue[]) {
    super(`Invalid event: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/** One PutEvents entry, ready to send (the adapter adds the bus name). */
export interface OutgoingEntry {
  source: string;
  detailType: string;
  /** The detail as JSON text. */
  detail: string;
  resources?: string[];
  time?: Date;
}

/** The bus's answer for one entry: an event id, or an error code. */
export interface EntryResult {
  eventId?: string;
  errorCode?: string;
  errorMessage?: string;
}

/** The PutEvents call: one request of at most 10 entries and 256 KB; results in entry order. */
export interface PutEventsPort {
  /**
   * @throws DependencyError when the bus throttles, fails or cannot be reached (after the client's own
   *   retries); a call no retry can fix (access denied) fails with the adapter's own error.
   */
  putEvents(entries: readonly OutgoingEntry[]): Promise<EntryResult[]>;
}

/** PutEvents accepts at most this many entries per request. */
export const MAX_ENTRIES_PER_REQUEST = 10;
/** PutEvents accepts at most this many bytes per request (and so per entry), as {@link entrySize} counts them. */
export const MAX_REQUEST_BYTES = 256 * 1024;

/**
 * The size EventBridge counts for an entry: 14 bytes for a `Time`, plus the UTF-8 bytes of the
 * source, detail-type, detail and each resource (AWS "Calculating PutEvents event entry size").
 */
export function entrySize(entry: OutgoingEntry): number {
  let size = entry.time === undefined ? 0 : 14;
  size += Buffer.byteLength(entry.source) + Buffer.byteLength(entry.detailType) + Buffer.byteLength(entry.detail);
  for (const resource of entry.resources ?? []) size += Buffer.byteLength(resource);
  return size;
}

/**
 * How deep a detail may nest. Consumers keep details as they are (the observation outbox in a
 * DynamoDB item, whose maps nest at most 32 levels; the audit ledger canonicalises them), so a
 * cycle or a 100,000-level value is refused here rather than overflowing a stack downstream.
 */
export const MAX_DETAIL_DEPTH = 32;

/**
 * Checks every event against the catalog and its size, and returns the entries to send (details
 * as parsed by their schema, serialised). A detail must also be plain JSON data within
 * {@link MAX_DETAIL_DEPTH} levels (`jsonDataIssues`, lib/json-data.ts): fields typed `unknown` take
 * anything, and what is sent must be exactly what was validated and what every consumer can hold.
 * @throws InvalidEventError listing every problem of every event, paths as `events.<i>.detail.<field>`.
 */
export function validateEvents(events: readonly BusEvent[]): OutgoingEntry[] {
  const issues: FieldIssue[] = [];
  const entries: OutgoingEntry[] = [];
  events.forEach((event, index) => {
    const at = `events.${index}`;
    const definition = findCatalogEntry(event.source, event.detailType);
    if (!definition) {
      issues.push({ path: `${at}.detailType`, message: `${event.source} / ${event.detailType} is not in the event catalog` });
      return;
    }
    const parsed = definition.schema.safeParse(event.detail);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        issues.push({ path: [at, 'detail', ...issue.path.map(String)].join('.'), message: `${event.detailType}: ${issue.message}` });
      }
      return;
    }
    const notJson = jsonDataIssues(parsed.data, { maxDepth: MAX_DETAIL_DEPTH });
    if (notJson.length > 0) {
      for (const issue of notJson) issues.push({ path: [at, 'detail', ...issue.path].join('.'), message: `${event.detailType}: ${issue.message}` });
      return;
    }
    if (event.time !== undefined && Number.isNaN(event.time.getTime())) {
      issues.push({ path: `${at}.time`, message: 'not a valid date' });
      return;
    }
    const entry: OutgoingEntry = { source: event.source, detailType: event.detailType, detail: JSON.stringify(parsed.data) };
    if (event.resources !== undefined) entry.resources = event.resources;
    if (event.time !== undefined) entry.time = event.time;
    const size = entrySize(entry);
    if (size > MAX_REQUEST_BYTES) {
      issues.push({ path: at, message: `${event.detailType} entry is ${size} bytes, over the ${MAX_REQUEST_BYTES}-byte PutEvents limit` });
      return;
    }
    entries.push(entry);
  });
  if (issues.length > 0) throw new InvalidEventError(issues);
  return entries;
}

/**
 * Splits entries into PutEvents requests, in order: at most {@link MAX_ENTRIES_PER_REQUEST} entries
 * and {@link MAX_REQUEST_BYTES} bytes each. Returns the entries' indices per request.
 * Every entry must fit alone (as {@link validateEvents} guarantees).
 */
export function planBatches(entries: readonly OutgoingEntry[]): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  entries.forEach((entry, index) => {
    const size = entrySize(entry);
    if (current.length === MAX_ENTRIES_PER_REQUEST || (current.length > 0 && bytes + size > MAX_REQUEST_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(index);
    bytes += size;
  });
  if (current.length > 0) batches.push(current);
  return batches;
}

/** How refused entries are retried: sends per entry (the first included) and the backoff between them. */
export interface RetryPolicy extends Backoff {
  attempts: number;
}

/** Four sends, waits of up to 100, 200, 400 ms (full jitter, `backoffDelay` in lib/retry.ts), never more than 2 s. */
export const defaultRetryPolicy: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 2000 };

/**
 * Entry error codes that no retry can fix (a malformed entry, a missing bus, a denied source);
 * others (`ThrottlingException`, `InternalFailure`, unknown codes) are retried.
 */
export const PERMANENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'InvalidArgument',
  'MalformedDetail',
  'ValidationException',
  'NotAuthorizedForSourceException',
  'AccessDeniedException',
  'ResourceNotFoundException',
]);

/** Options for {@link validatingPublisher}; `sleep` and `random` are for tests. */
export interface ValidatingPublisherOptions {
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Thrown inside a send to ask the retry helper for another one; never leaves this module. */
class EntriesRefused extends Error {}

interface Refusal {
  index: number;
  errorCode: string;
  errorMessage: string;
}

function summarise(refusals: readonly Refusal[], entries: readonly OutgoingEntry[], attempts: number): string {
  const counts = new Map<string, number>();
  for (const refusal of refusals) counts.set(refusal.errorCode, (counts.get(refusal.errorCode) ?? 0) + 1);
  const codes = [...counts].map(([code, count]) => `${code} ×${count}`).join(', ');
  const first = refusals[0];
  const example = first ? ` (first: ${entries[first.index]?.detailType} — ${first.errorMessage})` : '';
  return `EventBridge refused ${refusals.length} of ${entries.length} event(s) after up to ${attempts} attempt(s): ${codes}${example}`;
}

/**
 * The one way events reach the bus. `publish` (1) validates every event against the catalog and
 * throws {@link InvalidEventError} before sending anything, (2) sends requests of at most 10
 * entries and 256 KB, in order, (3) resends only the refused entries of a request, with the
 * shared `retry` helper's jittered backoff (lib/retry.ts) between sends, up to `attempts` sends;
 * entries refused with a {@link PERMANENT_ERROR_CODES permanent code} are not resent. Later requests are still sent
 * after one fails, so as many events as possible get through; then it throws.
 * @throws InvalidEventError (nothing sent) or DependencyError naming the count of refused events and their error codes.
 * @example
 * const publisher = validatingPublisher(eventBridgePutEvents(client, busName));
 * await publisher.publish([busEvent('audit.finding.raised', { tenant, stream, ruleId, severity: 'high', seq: 7, message })]);
 */
export function validatingPublisher(port: PutEventsPort, options: ValidatingPublisherOptions = {}): EventPublisher {
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...options.retry };

  /** Sends one batch; resends only the refused, retryable entries; returns what stayed refused. */
  async function sendBatch(entries: readonly OutgoingEntry[], batch: readonly number[]): Promise<Refusal[]> {
    const refused: Refusal[] = [];
    let pending: Refusal[] = batch.map((index) => ({ index, errorCode: 'NotSent', errorMessage: 'not sent' }));
    try {
      await retry(
        async () => {
          const results = await port.putEvents(pending.map(({ index }) => entries[index] as OutgoingEntry));
          const again: Refusal[] = [];
          pending.forEach(({ index }, position) => {
            const result = results[position];
            if (result?.eventId !== undefined && result.errorCode === undefined) return;
            const refusal = { index, errorCode: result?.errorCode ?? 'MissingResult', errorMessage: result?.errorMessage ?? 'no result for the entry' };
            (PERMANENT_ERROR_CODES.has(refusal.errorCode) ? refused : again).push(refusal);
          });
          pending = again;
          if (again.length > 0) throw new EntriesRefused();
        },
        { ...policy, retryable: (error) => error instanceof EntriesRefused, sleep: options.sleep, random: options.random },
      );
    } catch (error) {
      if (!(error instanceof EntriesRefused)) throw error;
      refused.push(...pending);
    }
    return refused;
  }

  return {
    async publish(events) {
      const entries = validateEvents(events);
      const refused: Refusal[] = [];
      for (const batch of planBatches(entries)) refused.push(...(await sendBatch(entries, batch)));
      if (refused.length > 0) {
        refused.sort((a, b) => a.index - b.index);
        throw new DependencyError(summarise(refused, entries, policy.attempts));
      }
    },
  };
}
