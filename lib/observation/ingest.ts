/**
 * Ingest: a batch of metric points in, detector decisions and bus events out.
 *
 * Per batch: points are validated one by one (bad ones reported by index, good ones kept), grouped
 * by series and applied in timestamp order. Per series, the read-apply-write cycle runs under
 * optimistic concurrency: the record is read with its version, the points go through the series'
 * detector, and the new record is written only if the version is unchanged; on a conflict the whole
 * cycle runs again. A point that lost its race to newer points is still applied: it lands in the
 * series' reorder window (reorder-window.ts), so concurrent ingests to one series lose no point,
 * whatever order they commit in.
 *
 * Time: the records of a batch are read 100 at a time (one batched read each), and the batch works
 * against the caller's remaining time (`remainingMs`): no series is started, and no conflict
 * retried, once less than `reserveMs` is left. Points not applied then are listed in
 * `unprocessed`; retrying the whole request applies just those (the others come back as duplicates).
 *
 * Incidents: every scored point also goes to the series' incident tracker (incidents.ts), which
 * opens an incident when the series' anomaly likelihood crosses its opening level and closes it once
 * the series is calm again: `observation.incident.opened` / `.closed`, one pair per incident however
 * many points it flags.
 *
 * Events: each anomaly becomes an `observation.anomaly.detected` event, and each incident opening or
 * closing its event; they are saved in the record's outbox by the same conditional write as the state, then published; once the bus accepts them,
 * the outbox is cleared. If publishing fails the events stay in the outbox and go out with the next
 * write to the series (a retried request or message is such a write: its points are duplicates,
 * which the detector ignores). Delivery is therefore at least once: consumers deduplicate on
 * (tenant, series, timestamp).
 *
 * Read-only by design: the engine observes and emits; it never acts on what it observes.
 */
import { catalogEntry } from '../../events/catalog.ts';
import { saturateNumbers } from '../../events/common.ts';
import { settleLimit } from '../concurrency.ts';
import { ConflictError, DependencyError } from '../errors.ts';
import { type BusEvent, busEvent, type EventPublisher, validateEvents } from '../events/publisher.ts';
import type { Evidence } from './detector-contract.ts';
import { DEFAULT_DETECTOR, DEFAULT_DETECTOR_CONFIG, initSeriesState, type SeriesState } from './detector-registry.ts';
import { type IncidentClosing, type IncidentOpening, type IncidentState, initIncidents } from './incidents.ts';
import { MAX_OUTBOX, MAX_OUTBOX_BYTES, type OutboxEvent, type SeriesRecord, type SeriesStore } from './ports.ts';
import { placePoints } from './reorder-window.ts';
import { type Backoff, retry } from '../retry.ts';
import { type MetricPoint, type RejectedPoint, validateBatch } from './schemas.ts';
import { trackIncident } from './series-replay.ts';

/** Read-apply-write attempts per series before a conflict is reported (the time budget may stop them sooner). */
export const DEFAULT_MAX_ATTEMPTS = 12;
/** Series of one batch processed at once. */
export const DEFAULT_SERIES_CONCURRENCY = 16;
/** Series read per batched read (DynamoDB BatchGetItem takes at most 100 keys). */
export const READ_BATCH = 100;
/**
 * Milliseconds of the caller's remaining time kept for what follows the last series started: the
 * series still in flight, publishing their events and the reply.
 */
export const DEFAULT_RESERVE_MS = 2500;
/**
 * Milliseconds before the end of the caller's time at which store calls still in flight are
 * abandoned (their series are reported unprocessed: a write may or may not have landed, which the
 * retry sorts out as duplicates), so the reply always goes out in time.
 */
export const DEFAULT_ABANDON_MS = 1000;

/** What {@link ingest} and the other series operations need. */
export interface ObservationDeps {
  store: SeriesStore;
  publisher: EventPublisher;
  now: () => Date;
  /** Operational log lines (dropped events, conflicts). */
  log?: (message: string) => void;
  maxAttempts?: number;
  concurrency?: number;
  /** Milliseconds left before the caller must have answered (a Lambda's remaining time); absent: no limit. */
  remainingMs?: () => number;
  /** Time kept back from `remainingMs` (default {@link DEFAULT_RESERVE_MS}). */
  reserveMs?: number;
  /** When in-flight store calls are abandoned, in ms before the end of `remainingMs` (default {@link DEFAULT_ABANDON_MS}). */
  abandonMs?: number;
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

/** An incident that opened or closed in a batch; `index` is the position in the request of the point that did it. */
export interface IncidentNotice {
  index: number;
  series: string;
  status: 'opened' | 'closed';
  /** ISO 8601 start of the incident (its natural key with the series). */
  start: string;
  /** ISO 8601 time of the point that opened or closed it. */
  timestamp: string;
}

/** The outcome of {@link ingest}. */
export interface IngestReport {
  /** Points that passed validation. */
  accepted: number;
  /** Points that did not, with their index and reason. */
  rejected: RejectedPoint[];
  /** Accepted points the detectors scored in this call (late ones included). */
  applied: number;
  /** Accepted points the ordering policy ignored (already applied, or older than the series' reorder window). */
  ignored: { duplicates: number; outOfOrder: number };
  /**
   * Indexes of accepted points not confirmed applied in this call, because time ran short (a write
   * abandoned at the deadline may still have landed), their series kept conflicting, or the store
   * failed; empty when the call finished. Retry the request for them: landed ones come back as duplicates.
   */
  unprocessed: number[];
  /** Series the batch touched. */
  series: number;
  anomalies: DetectedAnomaly[];
  /** Incidents opened or closed by this call's points (each also published as `observation.incident.*`). */
  incidents: IncidentNotice[];
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
  incidents: IncidentNotice[];
  /** Events to publish (anomalies, incident openings and closings), in point order. */
  events: OutboxEvent[];
  applied: number;
  duplicates: number;
  outOfOrder: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A new, never-written record for a series (version 0) with a fresh detector state and incident tracker. */
export function newSeriesRecord(
  tenant: string,
  series: string,
  state: SeriesState,
  now: Date,
  incidents: IncidentState = initIncidents(),
): SeriesRecord {
  const at = now.toISOString();
  return {
    tenant,
    series,
    version: 0,
    state,
    window: [],
    incidents,
    recent: [],
    labels: {},
    outbox: [],
    droppedEvents: 0,
    createdAt: at,
    updatedAt: at,
  };
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
 * Applies points (already sorted by timestamp) to a series record; pure. Points newer than the
 * series' reorder window are placed in it, late ones included (see reorder-window.ts), and every
 * scored point goes on to the incident tracker in the order applied; the result's version is the
 * input's + 1, and each anomaly, incident opening and incident closing yields its event for the outbox.
 * @example
 * const { record: next, anomalies, incidents } = applyPoints(stored, points, new Date());
 */
export function applyPoints(record: SeriesRecord, points: readonly IndexedPoint[], now: Date): AppliedPoints {
  const placement = placePoints(
    record,
    points.map(({ point }) => ({ timestamp: point.timestamp, value: point.value })),
  );
  const anomalies: DetectedAnomaly[] = [];
  const incidents: IncidentNotice[] = [];
  const events: OutboxEvent[] = [];
  let tracker = record.incidents;
  let labels = record.labels;
  let applied = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  placement.outcomes.forEach((outcome, position) => {
    const { index, point } = points[position] as IndexedPoint;
    if ('skipped' in outcome) {
      if (outcome.skipped === 'duplicate') duplicates += 1;
      else outOfOrder += 1;
      return;
    }
    applied += 1;
    if (outcome.newest) labels = point.labels;
    const { update } = outcome;
    const detector = update.state.detector;
    const pointLabels = Object.keys(point.labels).length > 0 ? { labels: point.labels } : {};
    if (update.anomaly) {
      const anomaly = { index, series: record.series, timestamp: iso(point.timestamp), value: point.value, score: update.score, detector };
      anomalies.push(anomaly);
      const event = busEvent('observation.anomaly.detected', {
        tenant: record.tenant,
        series: record.series,
        timestamp: anomaly.timestamp,
        value: point.value,
        score: update.score,
        detector,
        anomaly: true,
        ...pointLabels,
        evidence: update.evidence,
      });
      events.push({ detailType: 'observation.anomaly.detected', detail: event.detail });
    }
    const incident = trackIncident(tracker, update, point);
    if (!incident) return;
    tracker = incident.state;
    if (incident.opened) {
      incidents.push({
        index,
        series: record.series,
        status: 'opened',
        start: iso(incident.opened.start),
        timestamp: iso(point.timestamp),
      });
      events.push(incidentOpenedEvent(record, detector, incident.opened, update.evidence, point.labels));
    }
    if (incident.closed) {
      incidents.push({
        index,
        series: record.series,
        status: 'closed',
        start: iso(incident.closed.start),
        timestamp: iso(point.timestamp),
      });
      events.push(incidentClosedEvent(record, detector, incident.closed, 'recovered'));
    }
  });
  return {
    record: {
      ...record,
      version: record.version + 1,
      state: placement.state,
      window: placement.window,
      incidents: tracker,
      recent: placement.recent,
      labels,
      updatedAt: now.toISOString(),
    },
    anomalies,
    incidents,
    events,
    applied,
    duplicates,
    outOfOrder,
  };
}

const peakOf = (peak: IncidentOpening['peak']) => ({ timestamp: iso(peak.timestamp), value: peak.value, score: peak.score });

/** The `observation.incident.opened` outbox event of an opening (figures saturated at ±1e100, as every observation event). */
export function incidentOpenedEvent(
  record: Pick<SeriesRecord, 'tenant' | 'series'>,
  detector: string,
  opening: IncidentOpening,
  evidence: Evidence,
  labels: Record<string, string>,
): OutboxEvent {
  const event = busEvent('observation.incident.opened', {
    tenant: record.tenant,
    series: record.series,
    detector,
    start: iso(opening.start),
    peak: peakOf(opening.peak),
    likelihood: {
      likelihood: opening.likelihood,
      logLikelihood: opening.logLikelihood,
      shortMean: opening.shortMean ?? 0,
      longMean: opening.longMean ?? 0,
      longSd: opening.longSd ?? 1,
    },
    scores: opening.scores,
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    evidence,
  });
  return { detailType: 'observation.incident.opened', detail: saturateNumbers(event.detail) };
}

/** The `observation.incident.closed` outbox event of a closing. */
export function incidentClosedEvent(
  record: Pick<SeriesRecord, 'tenant' | 'series'>,
  detector: string,
  closing: IncidentClosing,
  reason: 'recovered' | 'reconfigured',
): OutboxEvent {
  const event = busEvent('observation.incident.closed', {
    tenant: record.tenant,
    series: record.series,
    detector,
    start: iso(closing.start),
    end: iso(closing.end),
    durationMs: closing.durationMs,
    reason,
    peak: peakOf(closing.peak),
    likelihood: { likelihood: closing.likelihood, logLikelihood: closing.logLikelihood, maxLogLikelihood: closing.maxLogLikelihood },
    scores: closing.scores,
  });
  return { detailType: 'observation.incident.closed', detail: saturateNumbers(event.detail) };
}

/** The wait between read-apply-write attempts of one series: below 20, 40, 80 … ms (full jitter), at most 1 s. */
export const SERIES_RETRY_BACKOFF: Backoff = { baseDelayMs: 20, maxDelayMs: 1000 };

/** Options of {@link withSeries}. */
export interface SeriesCycleOptions {
  /** The record as a batched read just returned it (`undefined` inside: no such series), used by the first attempt. */
  prefetched?: { record: SeriesRecord | undefined };
  /** Checked before each retry: true stops retrying (the caller's time is running short). */
  outOfTime?: () => boolean;
  /** Passed to every store call: abandons the cycle. */
  signal?: AbortSignal;
}

/**
 * Runs a read-modify-write of one series under optimistic concurrency, retrying the whole cycle on
 * a conflict with jittered exponential backoff.
 * @param modify returns the record to write (version already bumped) plus any value to pass back,
 *   or `undefined` to write nothing.
 * @throws {ConflictError} when every attempt met a concurrent write, or time ran short first.
 */
export async function withSeries<T>(
  tenant: string,
  series: string,
  deps: ObservationDeps,
  modify: (current: SeriesRecord | undefined) => { record: SeriesRecord; value: T } | { record?: undefined; value: T },
  options: SeriesCycleOptions = {},
): Promise<{ record: SeriesRecord | undefined; value: T }> {
  const attempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  // Only a write that lost the race is retried; a ConflictError from `modify` (a stale `ifVersion`) is final.
  let lostRace = false;
  let made = 0;
  const cycle = async (attempt: number) => {
    lostRace = false;
    made = attempt;
    const call = options.signal ? { signal: options.signal } : undefined;
    const current = attempt === 1 && options.prefetched ? options.prefetched.record : await deps.store.get(tenant, series, call);
    const outcome = modify(current);
    if (!outcome.record) return { record: current, value: outcome.value };
    try {
      await deps.store.put(outcome.record, current?.version, call);
    } catch (error) {
      lostRace = error instanceof ConflictError;
      throw error;
    }
    return { record: outcome.record, value: outcome.value };
  };
  try {
    return await retry(cycle, {
      attempts,
      ...SERIES_RETRY_BACKOFF,
      retryable: () => lostRace && !(options.outOfTime?.() ?? false),
      sleep: deps.sleep,
      random: deps.random,
    });
  } catch (error) {
    if (lostRace) deps.log?.(`series ${series}: still conflicting after ${made} attempt(s)`);
    throw error;
  }
}

/**
 * Publishes the outboxes of records as they stand after a write (or a read), then clears each one with a conditional write
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

/** A series of a batch, with its points in timestamp order. */
type SeriesGroup = [series: string, points: IndexedPoint[]];
/** How one series of a batch ended: written (or nothing to write), or left for a retry and why. */
type SeriesOutcome =
  | { status: 'done'; record: SeriesRecord | undefined; value: AppliedPoints }
  | { status: 'left'; reason: unknown }
  | { status: 'failed'; reason: unknown };

/**
 * Ingests a batch of points for `tenant` (from the caller's credentials, never from the points).
 *
 * Constraints: 1..500 entries (see `validateBatch`). Invalid points are reported, not thrown.
 * Series without a record start with the `DEFAULT_DETECTOR` (detector-registry.ts) and the default incident settings. Series are read 100 at a time
 * with one batched read, and written one conditional write each, {@link DEFAULT_SERIES_CONCURRENCY}
 * at once, in an order of their own (random), so concurrent batches over the same series rarely
 * collide. A series none of whose points is new (all duplicates or out of order) is not written: a
 * retried request costs reads only, and its ignored points are reported here but not added to the
 * series' counters. A series that cannot be written now (time short, still conflicting, the store
 * unavailable) does not stop the others: its points are listed in `unprocessed`, and retrying the
 * same request applies them (points already applied come back as duplicates).
 * @throws {ValidationError} when `raw` is not a 1..500 array.
 * @throws {DependencyError} when the bus refused the events (they stay in the outbox; a retry sends them).
 * @throws any other error a series met (after every series settled).
 * @example
 * const report = await ingest('acme', [{ series: 'api.p99', timestamp: '2026-01-01T00:00:00Z', value: 120 }], deps);
 * // { accepted: 1, rejected: [], applied: 1, unprocessed: [], anomalies: [], ... }
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
    unprocessed: [],
    series: groups.size,
    anomalies: [],
    incidents: [],
    published: 0,
  };
  const now = deps.now();
  const reserve = deps.reserveMs ?? DEFAULT_RESERVE_MS;
  const outOfTime = () => deps.remainingMs !== undefined && deps.remainingMs() < reserve;
  const abandon = new AbortController();
  const abandonIn = deps.remainingMs === undefined ? Number.POSITIVE_INFINITY : deps.remainingMs() - (deps.abandonMs ?? DEFAULT_ABANDON_MS);
  // setTimeout takes at most 2^31 - 1 ms; anything longer is no deadline at all.
  const timer = abandonIn < 2 ** 31 - 1 ? setTimeout(() => abandon.abort(), Math.max(0, abandonIn)) : undefined;
  try {
    return await ingestGroups(tenant, groups, report, deps, { now, outOfTime, signal: abandon.signal });
  } finally {
    clearTimeout(timer);
  }
}

/** The series part of {@link ingest}: reads, writes and the outbox flush, against the time budget. */
async function ingestGroups(
  tenant: string,
  groups: Map<string, IndexedPoint[]>,
  report: IngestReport,
  deps: ObservationDeps,
  budget: { now: Date; outOfTime: () => boolean; signal: AbortSignal },
): Promise<IngestReport> {
  const { now, outOfTime, signal } = budget;
  const write =
    (records: Map<string, SeriesRecord>) =>
    async ([series, points]: SeriesGroup): Promise<SeriesOutcome> => {
      if (outOfTime() || signal.aborted) return { status: 'left', reason: 'time' };
      try {
        const written = await withSeries(
          tenant,
          series,
          deps,
          (current) => {
            const base = current ?? newSeriesRecord(tenant, series, initSeriesState(DEFAULT_DETECTOR, { ...DEFAULT_DETECTOR_CONFIG }), now);
            const result = applyPoints(base, points, now);
            // Nothing new (a retry of points already applied): no write, so a retried request costs reads only.
            if (result.applied === 0) return { value: result };
            const { outbox, dropped } = appendOutbox(base.outbox, publishableEvents(result.events, deps.log));
            if (dropped > 0) deps.log?.(`series ${series}: outbox full, dropped ${dropped} unpublished event(s)`);
            return { record: { ...result.record, outbox, droppedEvents: base.droppedEvents + dropped }, value: result };
          },
          { prefetched: { record: records.get(series) }, outOfTime, signal },
        );
        return { status: 'done', ...written };
      } catch (error) {
        // A retry of the request can apply these: time ran out, the series was busy, or the store was unavailable.
        if (signal.aborted) return { status: 'left', reason: 'time' };
        if (error instanceof ConflictError || error instanceof DependencyError) return { status: 'left', reason: error };
        return { status: 'failed', reason: error };
      }
    };

  // Each call takes its series in its own random order: concurrent batches over the same series
  // (agents posting the same metrics) then rarely meet on one series at the same moment.
  const entries = shuffle([...groups], deps.random ?? Math.random);
  const outcomes: SeriesOutcome[] = [];
  for (let start = 0; start < entries.length; start += READ_BATCH) {
    const chunk = entries.slice(start, start + READ_BATCH);
    if (outOfTime() || signal.aborted) {
      outcomes.push(...chunk.map((): SeriesOutcome => ({ status: 'left', reason: 'time' })));
      continue;
    }
    let records: Map<string, SeriesRecord>;
    try {
      records = await deps.store.getMany(
        tenant,
        chunk.map(([series]) => series),
        { signal },
      );
    } catch (error) {
      if (!signal.aborted && !(error instanceof DependencyError)) throw error;
      const reason = signal.aborted ? 'time' : error;
      outcomes.push(...chunk.map((): SeriesOutcome => ({ status: 'left', reason })));
      continue;
    }
    outcomes.push(...(await settleLimit(chunk, deps.concurrency ?? DEFAULT_SERIES_CONCURRENCY, write(records))).map(settledOutcome));
  }

  // Nothing done and a dependency failed: the same 503 as on every route (there is nothing to report).
  const unavailable = outcomes.find((outcome) => outcome.status === 'left' && outcome.reason instanceof DependencyError);
  if (unavailable && outcomes.every((outcome) => outcome.status === 'left')) throw (unavailable as { reason: DependencyError }).reason;

  // Every record as it now stands (written, or read and left as it was), for the outbox flush.
  const stored: SeriesRecord[] = [];
  let failure: unknown;
  let left = 0;
  outcomes.forEach((outcome, position) => {
    const points = (entries[position] as SeriesGroup)[1];
    if (outcome.status !== 'done') {
      report.unprocessed.push(...points.map((point) => point.index));
      if (outcome.status === 'failed') failure ??= outcome.reason;
      else left += 1;
      return;
    }
    const { record, value } = outcome;
    if (record) stored.push(record);
    report.applied += value.applied;
    report.ignored.duplicates += value.duplicates;
    report.ignored.outOfOrder += value.outOfOrder;
    report.anomalies.push(...value.anomalies);
    report.incidents.push(...value.incidents);
  });
  report.unprocessed.sort((a, b) => a - b);
  report.anomalies.sort((a, b) => a.index - b.index);
  report.incidents.sort((a, b) => a.index - b.index);
  if (left > 0) deps.log?.(`${left} of ${entries.length} series not written in this call; retry the request for their points`);
  if (signal.aborted) {
    // No time left to publish: the events wait in their outboxes and go out with the retry's writes.
    if (stored.some((record) => record.outbox.length > 0)) deps.log?.('out of time: events stay in their outboxes until the retry');
  } else {
    try {
      report.published = (await flushOutboxes(stored, deps)).published;
    } catch (error) {
      failure ??= error instanceof DependencyError ? error : new DependencyError(`Publishing events failed: ${(error as Error).message}`);
    }
  }
  if (failure !== undefined) throw failure;
  return report;
}

/** A Fisher-Yates shuffle of `items` (in place), returned. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** A settled series write as a {@link SeriesOutcome} (the writer itself never rejects; this is a guard). */
function settledOutcome(settled: PromiseSettledResult<SeriesOutcome>): SeriesOutcome {
  return settled.status === 'fulfilled' ? settled.value : { status: 'failed', reason: settled.reason };
}
