/**
 * Series operations besides ingest: status (summary and detector statistics), listing, detector
 * configuration, forecasts and deletion. Each reads or writes one record through the
 * {@link SeriesStore} port; writes use the same optimistic-concurrency cycle as ingest.
 */
import { saturateNumbers } from '../../events/common.ts';
import type { DetectorSettings } from '../../events/observation.ts';
import { ConflictError, DependencyError, NotFoundError, ValidationError } from '../errors.ts';
import { busEvent } from '../events/publisher.ts';
import type { SeriesStats } from './detector-contract.ts';
import { initSeriesState, type SeriesState, updateSeriesState } from './detector-registry.ts';
import { type ForecastModelName, type ForecastReport, forecastPoints } from './series-forecast.ts';
import { closingOf, type IncidentState, initIncidents, learnIncidents, type ScoredPoint } from './incidents.ts';
import {
  appendOutbox,
  flushOutboxes,
  incidentClosedEvent,
  newSeriesRecord,
  type ObservationDeps,
  outboxBusEvent,
  withSeries,
} from './ingest.ts';
import type { OutboxEvent, SeriesPage, SeriesRecord } from './ports.ts';
import { headState } from './reorder-window.ts';
import { isScoredDecision } from './series-replay.ts';
import { type SeriesSummary, summariseSeries } from './summary.ts';

/**
 * Most values a seasonal detector buffers during warm-up (`seasonLength × warmupSeasons`), so a
 * stored record stays below DynamoDB's 400 KB item limit: three weekly seasons of 5-minute points
 * (3 × 2016), or three days of minutely ones (3 × 1440), or four weeks of hourly ones (4 × 168); see
 * the size test in test/unit/observation-ingest.test.ts.
 */
export const MAX_SEASONAL_WARMUP_POINTS = 6048;

/** The status of one series. */
export interface SeriesStatus {
  series: string;
  labels: Record<string, string>;
  detector: { name: string; config: DetectorSettings };
  /** The incident tracker: the open incident (if any) and how many opened and closed so far. */
  incidents: {
    open: {
      start: string;
      peak: { timestamp: string; value: number; score: number };
      points: number;
      logLikelihood: number;
      maxLogLikelihood: number;
    } | null;
    opened: number;
    closed: number;
  };
  summary: SeriesSummary;
  stats: SeriesStats;
  storage: {
    version: number;
    recentPoints: number;
    /** Events saved but not yet confirmed on the bus (they go out with the next write). */
    pendingEvents: number;
    droppedEvents: number;
    createdAt: string;
    updatedAt: string;
  };
}

async function mustGet(tenant: string, series: string, deps: Pick<ObservationDeps, 'store'>): Promise<SeriesRecord> {
  const record = await deps.store.get(tenant, series);
  if (!record) throw new NotFoundError(`Series ${series} not found`);
  return record;
}

/**
 * The summary, detector and storage facts of a series. Figures derived from the points (the sum of
 * squares `m2`, a slope between close points) can exceed ±1e100 and are answered saturated there.
 * @throws {NotFoundError} when the tenant has no such series.
 */
export async function seriesStatus(tenant: string, series: string, deps: Pick<ObservationDeps, 'store'>): Promise<SeriesStatus> {
  const record = await mustGet(tenant, series, deps);
  const recent = record.recent.map(([timestamp, value]) => ({ timestamp, value }));
  const state = headState(record);
  return {
    series,
    labels: record.labels,
    detector: { name: state.detector, config: state.config as DetectorSettings },
    incidents: incidentStatus(record.incidents),
    summary: saturateNumbers(summariseSeries(state, recent)),
    stats: saturateNumbers(state.stats),
    storage: {
      version: record.version,
      recentPoints: record.recent.length,
      pendingEvents: record.outbox.length,
      droppedEvents: record.droppedEvents,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    },
  };
}

/** The part of {@link SeriesStatus} about incidents. */
function incidentStatus(incidents: IncidentState): SeriesStatus['incidents'] {
  const { open } = incidents;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    open: open
      ? saturateNumbers({
          start: iso(open.start),
          peak: { timestamp: iso(open.peak.timestamp), value: open.peak.value, score: open.peak.score },
          points: open.points,
          logLikelihood: open.logLikelihood,
          maxLogLikelihood: open.maxLogLikelihood,
        })
      : null,
    opened: incidents.opened,
    closed: incidents.closed,
  };
}

/** One page of the tenant's series. */
export async function listSeries(
  tenant: string,
  page: { limit: number; cursor?: string },
  deps: Pick<ObservationDeps, 'store'>,
): Promise<SeriesPage> {
  return deps.store.list(tenant, page);
}

/** A configuration request. */
export interface ConfigureRequest {
  series: string;
  detector: string;
  config: Record<string, unknown>;
  /** When given, the write happens only if the series is at this storage version (0: must not exist). */
  ifVersion?: number;
}

/** The outcome of {@link configureSeries}. */
export interface ConfigureReport {
  series: string;
  detector: string;
  /** The full configuration after defaults. */
  config: DetectorSettings;
  version: number;
  /** False when the series already had exactly this detector and configuration (nothing written). */
  changed: boolean;
  created: boolean;
  /** Recent points replayed through the new detector to warm it up. */
  replayed: number;
  /** Events still waiting for the bus (published with the next write to the series). */
  pendingEvents: number;
}

/**
 * A fresh detector state for `detector` and `config`, with the engine's own size bound.
 * @throws {ValidationError} on an unknown detector, an invalid configuration (paths `config.<field>`),
 *   or a seasonal warm-up larger than {@link MAX_SEASONAL_WARMUP_POINTS}.
 */
export function configuredState(detector: string, config: Record<string, unknown>): SeriesState {
  const state = initSeriesState(detector, config);
  if (state.detector === 'seasonal') {
    const points = state.config.seasonLength * state.config.warmupSeasons;
    if (points > MAX_SEASONAL_WARMUP_POINTS) {
      throw new ValidationError([
        {
          path: 'config.seasonLength',
          message: `seasonLength × warmupSeasons is ${points}; at most ${MAX_SEASONAL_WARMUP_POINTS} keeps the series state bounded`,
        },
      ]);
    }
  }
  return state;
}

/**
 * Replays points through a state without emitting anything (warm-up after a configuration change):
 * the new detector's state, and an incident tracker (with the series' incident settings) that has
 * learned the replayed scores.
 */
function replay(state: SeriesState, record: SeriesRecord | undefined): { state: SeriesState; incidents: IncidentState } {
  let next = state;
  const scored: ScoredPoint[] = [];
  for (const [timestamp, value] of record?.recent ?? []) {
    const decision = updateSeriesState(next, { timestamp, value });
    next = decision.state;
    if (isScoredDecision(decision)) scored.push({ timestamp, value, score: decision.score });
  }
  return { state: next, incidents: learnIncidents(initIncidents(record?.incidents.config), scored) };
}

/**
 * Sets a series' detector and configuration. A new detector or configuration starts a fresh
 * detector state, warmed up by replaying the series' recent points (up to 512, `RECENT_POINTS`;
 * the counters then restart from those points), and closes the reorder window: every point so far
 * is settled, so a later point older than the newest one is out of order. The incident tracker starts
 * afresh too, having learned the replayed scores; an incident open under the old detector is closed
 * (`observation.incident.closed`, reason `reconfigured`). An identical configuration writes nothing.
 * Publishes `observation.series.configured` through the record's outbox; when the bus is
 * unreachable the configuration is still saved and the event follows the next write.
 * @throws {ValidationError} on an unknown detector or invalid configuration.
 * @throws {ConflictError} when `ifVersion` does not match, or the series kept changing.
 * @example
 * await configureSeries('acme', { series: 'api.rps', detector: 'seasonal', config: { seasonLength: 24 } }, 'alice', deps);
 */
export async function configureSeries(
  tenant: string,
  request: ConfigureRequest,
  actor: string,
  deps: ObservationDeps,
): Promise<ConfigureReport> {
  const fresh = configuredState(request.detector, request.config);
  const { record, value } = await withSeries(tenant, request.series, deps, (current) => {
    const version = current?.version ?? 0;
    if (request.ifVersion !== undefined && request.ifVersion !== version) {
      throw new ConflictError(`Series ${request.series} is at version ${version}, not ${request.ifVersion}`);
    }
    if (current && current.state.detector === fresh.detector && JSON.stringify(current.state.config) === JSON.stringify(fresh.config)) {
      return { value: { changed: false, created: false, replayed: 0 } };
    }
    const now = deps.now();
    const base = current ?? newSeriesRecord(tenant, request.series, fresh, now);
    const event = busEvent('observation.series.configured', {
      tenant,
      series: request.series,
      detector: fresh.detector,
      config: fresh.config as DetectorSettings,
      configuredBy: actor,
      configuredAt: now.toISOString(),
    });
    const events: OutboxEvent[] = [];
    if (current?.incidents.open) {
      events.push(incidentClosedEvent(current, current.state.detector, closingOf(current.incidents.open), 'reconfigured'));
    }
    events.push({ detailType: 'observation.series.configured', detail: event.detail });
    const { outbox, dropped } = appendOutbox(base.outbox, events);
    const warmed = replay(fresh, current);
    const next: SeriesRecord = {
      ...base,
      version: version + 1,
      state: warmed.state,
      incidents: warmed.incidents,
      window: [],
      outbox,
      droppedEvents: base.droppedEvents + dropped,
      updatedAt: now.toISOString(),
    };
    return { record: next, value: { changed: true, created: current === undefined, replayed: current?.recent.length ?? 0 } };
  });
  let stored = record as SeriesRecord;
  try {
    stored = (await flushOutboxes([stored], deps)).records[0] ?? stored;
  } catch (error) {
    deps.log?.(`series ${request.series}: ${stored.outbox.length} event(s) wait for the bus (${(error as Error).message})`);
  }
  return {
    series: request.series,
    detector: stored.state.detector,
    config: stored.state.config as DetectorSettings,
    version: stored.version,
    changed: value.changed,
    created: value.created,
    replayed: value.replayed,
    pendingEvents: stored.outbox.length,
  };
}

/** A forecast request for a stored series. */
export interface SeriesForecastRequest {
  series: string;
  horizon: number;
  model: ForecastModelName;
  seasonLength?: number;
}

/**
 * Forecasts a series from its recent points. The season length defaults to the seasonal
 * detector's, and the step to its `intervalMs` (else the median spacing of the points).
 * @throws {NotFoundError} when the tenant has no such series.
 * @throws {ValidationError} when the model cannot be fitted (see `forecastPoints`).
 */
export async function forecastSeries(
  tenant: string,
  request: SeriesForecastRequest,
  deps: Pick<ObservationDeps, 'store'>,
): Promise<ForecastReport & { series: string }> {
  const record = await mustGet(tenant, request.series, deps);
  const seasonal = record.state.detector === 'seasonal' ? record.state.config : undefined;
  const seasonLength = request.seasonLength ?? seasonal?.seasonLength;
  const intervalMs = seasonal?.intervalMs;
  const report = forecastPoints(record.recent, {
    horizon: request.horizon,
    model: request.model,
    ...(seasonLength !== undefined ? { seasonLength } : {}),
    ...(intervalMs !== undefined ? { intervalMs } : {}),
  });
  // An extrapolated trend can leave ±1e100 (see seriesStatus).
  return saturateNumbers({ series: request.series, ...report });
}

/**
 * Deletes a series' state. Events still in its outbox are published first, so deleting a series
 * never swallows a detected anomaly.
 * @throws {NotFoundError} when the tenant has no such series.
 * @throws {DependencyError} when pending events cannot be published (nothing is deleted).
 */
export async function deleteSeries(
  tenant: string,
  series: string,
  deps: ObservationDeps,
): Promise<{ series: string; deleted: true; publishedEvents: number }> {
  const record = await mustGet(tenant, series, deps);
  if (record.outbox.length > 0) {
    try {
      await deps.publisher.publish(record.outbox.map(outboxBusEvent));
    } catch (error) {
      throw new DependencyError(
        `Series ${series} has ${record.outbox.length} unpublished event(s) and the bus refused them; retry later (${(error as Error).message})`,
      );
    }
  }
  if (!(await deps.store.delete(tenant, series))) throw new NotFoundError(`Series ${series} not found`);
  return { series, deleted: true, publishedEvents: record.outbox.length };
}
