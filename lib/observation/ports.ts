/**
 * Ports of the Observation engine: where series live ({@link SeriesStore}) and what a stored series
 * holds ({@link SeriesRecord}). Every record is bounded: the detector state (bounded by its
 * configuration), the incident tracker (O(its short window) numbers), the reorder window of the last {@link REORDER_WINDOW} applied points, a ring of the
 * last {@link RECENT_POINTS} applied points for forecasts and the summary, and an outbox of at most
 * {@link MAX_OUTBOX} events ({@link MAX_OUTBOX_BYTES}) not yet confirmed on the bus. None of it grows
 * with the length of the series.
 */
import type { SeriesState } from './detector-registry.ts';
import type { IncidentState } from './incidents.ts';
import { MAX_SUMMARY_WINDOW } from './summary.ts';

/** Points kept per series for forecasting and the summary (the summary's own window bound). */
export const RECENT_POINTS = MAX_SUMMARY_WINDOW;
/**
 * The reorder window: the newest applied points of a series (by timestamp) that a late point may
 * still be inserted among. A point older than all of them is ignored as out of order.
 */
export const REORDER_WINDOW = 256;
/** Events kept per series while the bus is unreachable; older ones are dropped and counted. */
export const MAX_OUTBOX = 100;
/** Bytes (JSON) the outbox may hold: an event with 20 long labels is ~7 KB, a typical one ~0.7 KB. */
export const MAX_OUTBOX_BYTES = 64 * 1024;

/** One recent point, `[epoch ms, value]` (a pair, so 512 of them stay small). */
export type RecentPoint = [timestamp: number, value: number];
/** One point of the reorder window, `[epoch ms, value, 1 when it was flagged anomalous else 0]`. */
export type WindowPoint = [timestamp: number, value: number, anomaly: 0 | 1];

/** The detail-types the engine publishes. */
export type ObservationDetailType =
  | 'observation.anomaly.detected'
  | 'observation.incident.opened'
  | 'observation.incident.closed'
  | 'observation.series.configured';

/** An event saved with the state it came from, published after the write (a transactional outbox). */
export interface OutboxEvent {
  detailType: ObservationDetailType;
  /** The full detail, already validated against the event catalog before it was saved. */
  detail: Record<string, unknown>;
}

/** One series as stored. Plain JSON data. */
export interface SeriesRecord {
  tenant: string;
  series: string;
  /** Storage version: 1 after the first write, +1 on every write (the optimistic-concurrency token). */
  version: number;
  /**
   * The detector state after every applied point up to the reorder window (the settled state); the
   * series' current state is this one with {@link window} replayed (`headState` in reorder-window.ts).
   * Its counters of ignored points (duplicates, out of order) are always current.
   */
  state: SeriesState;
  /**
   * The newest applied points, oldest first, with the decision each one got when it was applied; at
   * most {@link REORDER_WINDOW}, every one newer than `state`'s last point.
   */
  window: WindowPoint[];
  /**
   * The incident tracker (lib/observation/incidents.ts): the anomaly likelihood's running figures and
   * the open incident, if any; a few hundred bytes. It has seen every scored point, in the order applied.
   */
  incidents: IncidentState;
  /** Last applied points, oldest first (in timestamp order), at most {@link RECENT_POINTS}. */
  recent: RecentPoint[];
  /** Labels of the newest applied point. */
  labels: Record<string, string>;
  /** Events saved but not yet confirmed published; at most {@link MAX_OUTBOX} and {@link MAX_OUTBOX_BYTES}. */
  outbox: OutboxEvent[];
  /** Events dropped from a full outbox since the series was created. */
  droppedEvents: number;
  createdAt: string;
  updatedAt: string;
}

/** The current facts of a series (its settled state plus its window), without replaying the window. */
export function seriesFacts(record: Pick<SeriesRecord, 'state' | 'window'>): {
  count: number;
  anomalies: number;
  lastTimestamp: number | null;
} {
  const { stats } = record.state;
  return {
    count: stats.count + record.window.length,
    anomalies: stats.anomalies + record.window.reduce((sum, point) => sum + point[2], 0),
    lastTimestamp: record.window.at(-1)?.[0] ?? stats.lastTimestamp,
  };
}

/** A series in a listing: the record's small top-level facts, without state. */
export interface SeriesListing {
  series: string;
  detector: string;
  version: number;
  count: number;
  anomalies: number;
  /** ISO time of the last accepted point, or null before the first. */
  lastTime: string | null;
  updatedAt: string;
}

/** One page of a listing; `cursor` is absent on the last page. */
export interface SeriesPage {
  items: SeriesListing[];
  cursor?: string;
}

/** Per-call options of a {@link SeriesStore}: `signal` abandons the call (it then rejects, and a write may or may not have landed). */
export interface StoreCallOptions {
  signal?: AbortSignal;
}

/**
 * Storage of series records, keyed by tenant and series. Implementations keep every key under the
 * tenant, so a tenant can only ever reach its own series.
 */
export interface SeriesStore {
  /**
   * The record, read consistently, or undefined when the series does not exist.
   * @throws {DependencyError} when the store is unreachable.
   */
  get(tenant: string, series: string, options?: StoreCallOptions): Promise<SeriesRecord | undefined>;
  /**
   * Several records of one tenant, read consistently and in as few requests as the store allows
   * (DynamoDB: BatchGetItem, 100 keys a request); series without a record are absent from the map.
   * @throws {DependencyError} when the store is unreachable or keeps refusing part of the batch.
   */
  getMany(tenant: string, series: readonly string[], options?: StoreCallOptions): Promise<Map<string, SeriesRecord>>;
  /**
   * Writes `record` if the stored version is still `expectedVersion` (`undefined`: the series must
   * not exist yet). `record.version` must be `expectedVersion + 1` (or 1 for a new series).
   * @throws {ConflictError} when someone else wrote (or created, or deleted) the series meanwhile.
   * @throws {DependencyError} when the store is unreachable.
   */
  put(record: SeriesRecord, expectedVersion: number | undefined, options?: StoreCallOptions): Promise<void>;
  /**
   * Deletes the series; resolves false when there was nothing to delete.
   * @throws {DependencyError} when the store is unreachable.
   */
  delete(tenant: string, series: string): Promise<boolean>;
  /**
   * One page of the tenant's series in name order. `cursor` comes from the previous page.
   * @throws {ValidationError} on a cursor this store did not issue (path `cursor`).
   * @throws {DependencyError} when the store is unreachable.
   */
  list(tenant: string, page: { limit: number; cursor?: string }): Promise<SeriesPage>;
}
