/**
 * The reorder window: how a streaming detector takes points that arrive late, honestly.
 *
 * Concurrent writers to one series commit in whatever order they win their races, so a point can
 * reach the series after newer ones. A series therefore keeps its detector state in two parts: the
 * settled state, after every point up to the window, and the window itself, the newest
 * {@link REORDER_WINDOW} applied points in timestamp order, each with the decision it got. The
 * current state is the settled one with the window replayed ({@link headState}).
 *
 * A point newer than every applied one is scored against the current state, as before. A late
 * point newer than the settled state is scored against exactly what an in-order stream would have
 * shown it: the settled state plus the window points before it. It is then inserted, and the state
 * after it is rebuilt by replaying the later window points in timestamp order. Decisions are taken
 * once: replaying does not revisit the decisions (and events) of points already scored, and the
 * anomaly counters keep the decisions as they were taken. When the window overflows, its oldest
 * points settle into the settled state.
 *
 * A point whose timestamp was already applied (within the last {@link RECENT_POINTS} points) is a
 * duplicate; one older than the settled state is out of order. Both are ignored and counted, so a
 * retried request never applies a point twice.
 */
import { type SkipReason, statsAfterSkip } from './detector-contract.ts';
import { type SeriesState, updateSeriesState } from './detector-registry.ts';
import type { DetectorUpdate, ObservedPoint } from './detector-contract.ts';
import { RECENT_POINTS, type RecentPoint, REORDER_WINDOW, type SeriesRecord, type WindowPoint } from './ports.ts';

/**
 * Replays window points through a state in order. The detector's own state follows the values; the
 * anomaly counters follow the decisions recorded in the points (taken when each point was applied).
 */
export function replayWindow(state: SeriesState, points: readonly WindowPoint[]): SeriesState {
  let next = state;
  for (const [timestamp, value, flagged] of points) {
    const before = next.stats;
    const update = updateSeriesState(next, { timestamp, value });
    next = update.state;
    if (update.anomaly !== (flagged === 1)) {
      const stats = {
        ...next.stats,
        anomalies: before.anomalies + flagged,
        lastAnomalyTimestamp: flagged === 1 ? timestamp : before.lastAnomalyTimestamp,
      };
      next = { ...next, stats } as SeriesState;
    }
  }
  return next;
}

/**
 * The series' current detector state: the settled state with the window replayed.
 * @example
 * const stats = headState(record).stats; // counts every applied point, the window's included
 */
export function headState(record: Pick<SeriesRecord, 'state' | 'window'>): SeriesState {
  return replayWindow(record.state, record.window);
}

/** What happened to one point given to {@link placePoints}, in the order given. */
export type PlacedPoint = { skipped: SkipReason } | { update: DetectorUpdate<SeriesState>; newest: boolean };

/** The result of {@link placePoints}: the record's new detector parts and each point's outcome. */
export interface Placement {
  state: SeriesState;
  window: WindowPoint[];
  recent: RecentPoint[];
  outcomes: PlacedPoint[];
}

/** Index of the first window point newer than `timestamp` (where a point at `timestamp` goes). */
function slotOf(window: readonly WindowPoint[], timestamp: number): number {
  let index = window.length;
  while (index > 0 && (window[index - 1] as WindowPoint)[0] > timestamp) index -= 1;
  return index;
}

function insertRecent(recent: RecentPoint[], point: RecentPoint): void {
  let index = recent.length;
  while (index > 0 && (recent[index - 1] as RecentPoint)[0] > point[0]) index -= 1;
  recent.splice(index, 0, point);
  if (recent.length > RECENT_POINTS) recent.splice(0, recent.length - RECENT_POINTS);
}

/**
 * Places points, sorted by timestamp, into a series: each one is scored, inserted into the window
 * and the recent ring, or skipped as a duplicate or out of order (counted in the settled state).
 * Pure: the record is not modified.
 * @example
 * const { state, window, recent, outcomes } = placePoints(record, [{ timestamp: t, value: 3 }]);
 */
export function placePoints(record: Pick<SeriesRecord, 'state' | 'window' | 'recent'>, points: readonly ObservedPoint[]): Placement {
  let settled = record.state;
  const window = record.window.slice();
  const recent = record.recent.slice();
  const seen = new Set<number>(recent.map((point) => point[0]));
  for (const point of window) seen.add(point[0]);
  if (settled.stats.lastTimestamp !== null) seen.add(settled.stats.lastTimestamp);
  const skips: SkipReason[] = [];
  const outcomes: PlacedPoint[] = [];
  // The current state, kept while points arrive in order; rebuilt lazily after a late insert.
  let head: SeriesState | undefined;
  for (const point of points) {
    const floor = settled.stats.lastTimestamp;
    const skipped: SkipReason | undefined = seen.has(point.timestamp)
      ? 'duplicate'
      : floor !== null && point.timestamp < floor
        ? 'out-of-order'
        : undefined;
    if (skipped) {
      skips.push(skipped);
      outcomes.push({ skipped });
      continue;
    }
    const slot = slotOf(window, point.timestamp);
    const newest = slot === window.length;
    let update: DetectorUpdate<SeriesState>;
    if (newest) {
      head ??= replayWindow(settled, window);
      update = updateSeriesState(head, point);
      head = update.state;
    } else {
      update = updateSeriesState(replayWindow(settled, window.slice(0, slot)), point);
      head = undefined;
    }
    window.splice(slot, 0, [point.timestamp, point.value, update.anomaly ? 1 : 0]);
    insertRecent(recent, [point.timestamp, point.value]);
    seen.add(point.timestamp);
    // Settling the oldest point changes how the current state is split, not what it is.
    while (window.length > REORDER_WINDOW) settled = replayWindow(settled, window.splice(0, 1));
    outcomes.push({ update, newest });
  }
  for (const reason of skips)
    settled = { ...settled, version: settled.version + 1, stats: statsAfterSkip(settled.stats, reason) } as SeriesState;
  return { state: settled, window, recent, outcomes };
}
