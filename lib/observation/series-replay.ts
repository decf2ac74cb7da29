/**
 * Replays points through a detector and the incident tracker, the way ingest applies points that
 * arrive in order: each point is scored by the series' detector, and every scored point (not
 * warming up, not skipped) goes on to the incident tracker. Pure; used by `npm run replay` and the
 * scoring of the defaults, so both see exactly what a series sees.
 */
import type { DetectorUpdate, ObservedPoint } from './detector-contract.ts';
import { initSeriesState, type SeriesState, updateSeriesState } from './detector-registry.ts';
import {
  DEFAULT_INCIDENT_CONFIG,
  type IncidentConfig,
  type IncidentState,
  type IncidentUpdate,
  initIncidents,
  updateIncidents,
} from './incidents.ts';

/**
 * True when a detector decision is a scored point, the only kind the incident tracker learns from
 * (a warming-up detector's score means nothing yet; a skipped point was not applied).
 */
export function isScoredDecision(update: Pick<DetectorUpdate<SeriesState>, 'evidence'>): boolean {
  return !update.evidence.warmingUp && update.evidence.skipped === undefined;
}

/**
 * Feeds one detector decision to a series' incident tracker; a decision that is not scored leaves
 * the tracker as it is (and yields `undefined`).
 * @example
 * const decision = updateSeriesState(state, point);
 * const incident = trackIncident(incidents, decision, point); // incident?.opened when one opened
 */
export function trackIncident(
  incidents: IncidentState,
  decision: Pick<DetectorUpdate<SeriesState>, 'evidence' | 'score'>,
  point: ObservedPoint,
): IncidentUpdate | undefined {
  if (!isScoredDecision(decision)) return undefined;
  return updateIncidents(incidents, { timestamp: point.timestamp, value: point.value, score: decision.score });
}

/** One replayed point. */
export interface ReplayedPoint {
  timestamp: number;
  value: number;
  /** The detector's score; null when the point was skipped (duplicate or out of order). */
  score: number | null;
  /** The detector's per-point decision (what `observation.anomaly.detected` reports). */
  anomaly: boolean;
  /** The incident tracker's log-likelihood (null when the point was not scored). */
  logLikelihood: number | null;
  /** True where an incident opened (`observation.incident.opened`). */
  alert: boolean;
  /** True where an incident closed (`observation.incident.closed`). */
  closed: boolean;
}

/** What a replay starts from: a detector (name and settings) and the incident settings. */
export interface ReplaySetup {
  detector: string;
  config?: Record<string, unknown>;
  incidents?: Partial<IncidentConfig>;
}

/**
 * Replays points (in the order given) through a fresh detector state and incident tracker.
 * @throws {UnknownDetectorError} / {ValidationError} on a bad detector or settings.
 * @example
 * const rows = replayPoints(points, { detector: 'robust' });
 * const alerts = rows.filter((row) => row.alert).length;
 */
export function replayPoints(points: readonly ObservedPoint[], setup: ReplaySetup): ReplayedPoint[] {
  let state = initSeriesState(setup.detector, setup.config ?? {});
  let incidents = initIncidents(setup.incidents ?? DEFAULT_INCIDENT_CONFIG);
  return points.map((point) => {
    const decision = updateSeriesState(state, point);
    state = decision.state;
    const incident = trackIncident(incidents, decision, point);
    if (incident) incidents = incident.state;
    return {
      timestamp: point.timestamp,
      value: point.value,
      score: decision.evidence.skipped ? null : decision.score,
      anomaly: decision.anomaly,
      logLikelihood: incident ? incident.logLikelihood : null,
      alert: incident?.opened !== undefined,
      closed: incident?.closed !== undefined,
    };
  });
}
