/**
 * Ingest: a batch of metric points in, detector decisions and bus events out.
 *
 * Per batch: points are validated one by one (bad ones reported by index, good ones kept), grouped
 * by series and applied in timestamp order. Per series, the read-apply-write cycle runs under
 * optimistic concurrency: the record is read with its version, the points go through the series'
 * detector, and the new record is written only if the version is unchanged; on a conflict the whole
 * cycle runs again (up to `maxAttempts`), so concurrent ingests to one series never lose a point.
 *
 * Events: each anomaly becomes an `observation.anomaly.detected` event, saved in the record's
 * outbox by the same conditional write as the state, then published; once the bus accepts them,
 * the outbox is cleared. If publishing fails the events stay in the outbox and go out with the next
 * write to the series (a retried request or message is such a write: its points are duplicates,
 * which the detector ignores). Delivery is therefore at least once: consumers deduplicate on
 * (tenant, series, timestamp).
 *
 * Read-only by design: the engine observes and emits; it never acts on what it observes.
 */
import { catalogEntry } from '../../events/catalog.ts';
import { settleLimit } from '../concurrency.ts';
import { ConflictError, DependencyError } from '../errors.ts';
import { type BusEvent, busEvent, type EventPublisher, validateEvents } from '../events/publisher.ts';
import { initSeriesState, type SeriesState, updateSeriesState } from './detector-registry.ts';
import {
  MAX_OUTBOX,
  MAX_OUTBOX_BYTES,
  type OutboxEvent,
  RECENT_POINTS,
  type RecentPoint,
  type SeriesRecord,
  type SeriesStore,
} from './ports.ts';
import { type Backoff, retry } from '../retry.ts';
import { type DetectorName, type MetricPoint, type RejectedPoint, validateBatch } from './schemas.ts';

/** The detector a series gets when its first point arrives before any configuration. */
export const DEFAULT_DETECTOR: DetectorName = 'robust';
/** Read-apply-write attempts per series before a conflict is reported. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** Series of one batch processed at once. */
export const DEFAULT_SERIES_CONCURRENCY = 8;

/** What {@link ingest} and the other series operations need. */
export interface ObservationDeps {
  store: SeriesStore;
  publisher: EventPublisher;
  now: () => Date;
  /** Operational log lines (dropped events, conflicts). */
  log?: (message: string) => void;
  maxAttempts?: number;
  concurrency?: number;
  /** For tests: the wait between attempts. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** An anomaly found in a batch; `index` is the point's position in the request. */
export interface DetectedAnomaly {
  index: number;
  series: string;
  /** ISO 8601. */
  timestamp: string;
  value: number;
  score: number;
  detector: string;
}

/** The outcome of {@link ingest}. */
export interface IngestReport {
  /** Points that passed validation. */
  accepted: number;
  /** Points that did not, with their index and reason. */
  rejected: RejectedPoint[];
  /** Accepted points the detectors scored (accepted minus ignored). */
  applied: number;
  /** Accepted points the ordering policy ignored (already seen, or older than the series' last point). */
  ignored: { duplicates: number; outOfOrder: number };
  /** Series the batch touched. */
  series: number;
  anomalies: DetectedAnomaly[];
  /** Events the bus accepted during this call (including earlier ones a previous call left in an outbox). */
  published: number;
}

/** A point with its position in the request. */
interface IndexedPoint {
  index: number;
  point: MetricPoint;
}

/** The result of applying points to one series' record (pure). */
export interface AppliedPoints {
  record: SeriesRecord;
  anomalies: DetectedAnomaly[];
  /** Anomaly events to publish, one per anomaly, in point order. */
  events: OutboxEvent[];
  applied: number;
  duplicates: number;
  outOfOrder: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A new, never-written record for a series (version 0) with a fresh detector state. */
export function newSeriesRecord(tenant: string, series: string, state: SeriesState, now: Date): SeriesRecord {
  const at = now.toISOString();
  return { tenant, series, version: 0, state, recent: [], labels: {}, outbox: [], droppedEvents: 0, createdAt: at, updatedAt: at };
}

/**
 * Appends events to an outbox, keeping the newest that fit {@link MAX_OUTBOX} and {@link MAX_OUTBOX_BYTES}.
 * @returns the new outbox and how many events were dropped to make room.
 */
export function appendOutbox(outbox: readonly OutboxEvent[], events: readonly OutboxEvent[]): { outbox: OutboxEvent[]; dropped: number } {
  const all = [...outbox, ...events];
  let keep = 0;
  let bytes = 0;
  for (let i = all.length - 1; i >= 0 && keep < MAX_OUTBOX; i -= 1) {
    bytes += Buffer.byteLength(JSON.stringify(all[i]));
    if (bytes > MAX_OUTBOX_BYTES) break;
    keep += 1;
  }
  return { outbox: all.slice(all.length - keep), dropped: all.length - keep };
}

/** The bus event of an outbox entry (the source comes from the catalog). */
export function outboxBusEvent(entry: OutboxEvent): BusEvent {
  return { source: catalogEntry(entry.detailType).source, detailType: entry.detailType, detail: entry.detail };
}

/**
 * Keeps the events that pass the catalog's validation and reports the others: an event that cannot
 * be published must not sit in an outbox and block the ones behind it.
 */
export function publishableEvents(events: readonly OutboxEvent[], log: (message: string) => void = () => {}): OutboxEvent[] {
  return events.filter((entry) => {
    try {
      validateEvents([outboxBusEvent(entry)]);
      return true;
    } catch (error) {
      log(`dropped an unpublishable ${entry.detailType} event: ${(error as Error).message}`);
      return false;
    }
  });
}

/**
 * Applies points (already sorted by timestamp) to a series record; pure. The result's version is
 * the input's + 1, the recent ring keeps the last {@link RECENT_POINTS} scored points, and each
 * anomaly yields an `observation.anomaly.detected` event for the outbox.
 * @example
 * const { record: next, anomalies } = applyPoints(stored, points, new Date());
 */
export function applyPoints(record: SeriesRecord, points: readonly IndexedPoint[], now: Date): AppliedPoints {
  let state = record.state;
  const added: RecentPoint[] = [];
  const anomalies: DetectedAnomaly[] = [];
  const events: OutboxEvent[] = [];
  let labels = record.labels;
  let duplicates = 0;
  let outOfOrder = 0;
  for (const { index, point } of points) {
    const update = updateSeriesState(state, { timestamp: point.timestamp, value: point.value });
    state = update.state;
    if (update.evidence.skipped === 'duplicate') {
      duplicates += 1;
      continue;
    }
    if (update.evidence.skipped === 'out-of-order') {
      outOfOrder += 1;
      continue;
    }
    added.push([point.timestamp, point.value]);
    labels = point.labels;
    if (!update.anomaly) continue;
    const anomaly = {
      index,
      series: record.series,
      timestamp: iso(point.timestamp),
      value: point.value,
      score: update.score,
      detector: state.detector,
    };
    anomalies.push(anomaly);
    const event = busEvent('observation.anomaly.detected', {
      tenant: record.tenant,
      series: record.series,
      timestamp: anomaly.timestamp,
      value: point.value,
      score: update.score,
      detector: state.detector,
      anomaly: true,
      ...(Object.keys(point.labels).length > 0 ? { labels: point.labels } : {}),
      evidence: update.evidence,
    });
    events.push({ detailType: 'observation.anomaly.detected', detail: event.detail });
  }
  const recent = added.length === 0 ? record.recent : [...record.recent, ...added].slice(-RECENT_POINTS);
  return {
    record: { ...record, version: record.version + 1, state, recent, labels, updatedAt: now.toISOString() },
    anomalies,
    events,
    applied: added.length,
    duplicates,
    outOfOrder,
  };
}

/** The wait between read-apply-write attempts of one series: below 20, 40, 80 … ms (full jitter), at most 1 s. */
export const SERIES_RETRY_BACKOFF: Backoff = { baseDelayMs: 20, maxDelayMs: 1000 };

/**
 * Runs a read-modify-write of one series under optimistic concurrency, retrying the whole cycle on
 * a conflict with jittered exponential backoff.
 * @param modify returns the record to write (version already bumped) plus any value to pass back,
 *   or `undefined` to write nothing.
 * @throws {ConflictError} when every attempt met a concurrent write.
 */
export async function withSeries<T>(
  tenant: string,
  series: string,
  deps: ObservationDeps,
  modify: (current: SeriesRecord | undefined) => { record: SeriesRecord; value: T } | { record?: undefined; value: T },
): Promise<{ record: SeriesRecord | undefined; value: T }> {
  const attempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  // Only a write that lost the race is retried; a ConflictError from `modify` (a stale `ifVersion`) is final.
  let lostRace = false;
  const cycle = async () => {
    lostRace = false;
    const current = await deps.store.get(tenant, series);
    const outcome = modify(current);
    if (!outcome.record) return { record: current, value: outcome.value };
    try {
      await deps.store.put(outcome.record, current?.version);
    } catch (error) {
      lostRace = error instanceof ConflictError;
      throw error;
    }
    return { record: outcome.record, value: outcome.value };
  };
  try {
    return await retry(cycle, { attempts, ...SERIES_RETRY_BACKOFF, retryable: () => lostRace, sleep: deps.sleep, random: deps.random });
  } catch (error) {
    if (lostRace) deps.log?.(`series ${series}: still conflicting after ${attempts} attempts`);
    throw error;
  }
}

/**
 * Publishes the outboxes of freshly written records, then clears each one with a conditional write
 * (a record written again meanwhile keeps its outbox: the next writer publishes it, so an event may
 * go out twice but is never lost). Clearing is best effort: a failure there only means the events
 * may be published again.
 * @returns the number of events published, and the records as they now stand (cleared ones with
 *   their new version).
 * @throws {DependencyError} when the bus refused events (they stay in their outboxes).
 */
export async function flushOutboxes(
  records: readonly SeriesRecord[],
  deps: ObservationDeps,
): Promise<{ published: number; records: SeriesRecord[] }> {
  const events = records.flatMap((record) => record.outbox.map(outboxBusEvent));
  if (events.length === 0) return { published: 0, records: [...records] };
  await deps.publisher.publish(events);
  const latest = await Promise.all(
    records.map(async (record) => {
      if (record.outbox.length === 0) return record;
      const cleared = { ...record, version: record.version + 1, outbox: [], updatedAt: deps.now().toISOString() };
      try {
        await deps.store.put(cleared, record.version);
        return cleared;
      } catch (error) {
        // A record left with its outbox republishes it on its next write.
        if (!(error instanceof ConflictError)) deps.log?.(`series ${record.series}: outbox not cleared (${(error as Error).message})`);
        return record;
      }
    }),
  );
  return { published: events.length, records: latest };
}

/**
 * Ingests a batch of points for `tenant` (from the caller's credentials, never from the points).
 *
 * Constraints: 1..500 entries (see `validateBatch`). Invalid points are reported, not thrown.
 * Series without a record start with the {@link DEFAULT_DETECTOR}. When some series cannot be
 * written (conflicts after every attempt, the store down) the others are still written and the first
 * error is thrown after all series settled; retrying the same batch is safe, since points already
 * applied are ignored as duplicates.
 * @throws {ValidationError} when `raw` is not a 1..500 array.
 * @throws {ConflictError} when a series kept conflicting.
 * @throws {DependencyError} when the store or the bus failed (bus events stay in the outbox).
 * @example
 * const report = await ingest('acme', [{ series: 'api.p99', timestamp: '2026-01-01T00:00:00Z', value: 120 }], deps);
 * // { accepted: 1, rejected: [], applied: 1, anomalies: [], ... }
 */
export async function ingest(tenant: string, raw: unknown[], deps: ObservationDeps): Promise<IngestReport> {
  const { accepted, rejected } = validateBatch(raw);
  const rejectedIndexes = new Set(rejected.map((entry) => entry.index));
  const groups = new Map<string, IndexedPoint[]>();
  let position = 0;
  raw.forEach((_, index) => {
    if (rejectedIndexes.has(index)) return;
    const point = accepted[position] as MetricPoint;
    position += 1;
    const group = groups.get(point.series) ?? [];
    group.push({ index, point });
    groups.set(point.series, group);
  });
  for (const group of groups.values()) group.sort((a, b) => a.point.timestamp - b.point.timestamp || a.index - b.index);

  const report: IngestReport = {
    accepted: accepted.length,
    rejected,
    applied: 0,
    ignored: { duplicates: 0, outOfOrder: 0 },
    series: groups.size,
    anomalies: [],
    published: 0,
  };
  const now = deps.now();
  const settled = await settleLimit([...groups], deps.concurrency ?? DEFAULT_SERIES_CONCURRENCY, ([series, points]) =>
    withSeries(tenant, series, deps, (current) => {
      const base = current ?? newSeriesRecord(tenant, series, initSeriesState(DEFAULT_DETECTOR), now);
      const result = applyPoints(base, points, now);
      const { outbox, dropped } = appendOutbox(base.outbox, publishableEvents(result.events, deps.log));
      if (dropped > 0) deps.log?.(`series ${series}: outbox full, dropped ${dropped} unpublished event(s)`);
      return { record: { ...result.record, outbox, droppedEvents: base.droppedEvents + dropped }, value: result };
    }),
  );

  const written: SeriesRecord[] = [];
  let failure: unknown;
  for (const outcome of settled) {
    if (outcome.status === 'rejected') {
      failure ??= outcome.reason;
      continue;
    }
    const { record, value } = outcome.value;
    if (record) written.push(record);
    report.applied += value.applied;
    report.ignored.duplicates += value.duplicates;
    report.ignored.outOfOrder += value.outOfOrder;
    report.anomalies.push(...value.anomalies);
  }
  report.anomalies.sort((a, b) => a.index - b.index);
  try {
    report.published = (await flushOutboxes(written, deps)).published;
  } catch (error) {
    failure ??= error instanceof DependencyError ? error : new DependencyError(`Publishing events failed: ${(error as Error).message}`);
  }
  if (failure !== undefined) throw failure;
  return report;
}
