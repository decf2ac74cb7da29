/**
 * `knn`: a conformal k-nearest-neighbour detector over the shape of the recent values, after the
 * method of Burnaev and Ishimtsev's KNN-CAD ("Conformalized density- and distance-based anomaly
 * detection in time-series data", 2016), written from that description with a bounded state.
 *
 * Each point closes a vector of the last `dim` values. Its non-conformity is the mean Euclidean
 * distance to its `k` nearest neighbours among the earlier vectors in the ring of the last `window`
 * values (vectors that overlap the current one by more than half, the "exclusion zone", are not
 * candidates: a smooth series would otherwise always find itself). The score judges that
 * non-conformity against the last `calibration` non-conformities, robustly:
 * score = max(0, ncm − median) / scale, scale = 1.4826·MAD of the calibration set (falling back to
 * 1.2533·mean absolute deviation, then to a floor), so it is in the same "spreads" unit as the other
 * detectors and the incident tracker's `minScore` and `saturation` keep their meaning. Unlike the
 * control charts, a value is not judged against a level but against the shapes this series has made:
 * a pattern seen before (a daily ramp, a switch between two levels) scores low.
 * The evidence's `expected` is the mean last value of the `k` nearest shapes (chosen with the current
 * value in them, so it leans towards it) and `deviation` the value minus it; there is no band
 * (`lower`/`upper` null): the score is about the shape, not a distance from one expected value.
 *
 * State: a ring of `window` values and a ring of `calibration` scores, independent of series length
 * (with the defaults, 96 + 32 numbers: under 3 KB as JSON).
 */
import {
  type Detector,
  type DetectorStateBase,
  type DetectorUpdate,
  emptyStats,
  type ObservedPoint,
  parseConfig,
  scaleFloor,
  skippedEvidence,
  skipReason,
  statsAfterAccept,
  statsAfterSkip,
} from './detector-contract.ts';
import { type KnnConfig, knnConfigSchema } from './schemas.ts';
import { madSorted, medianSorted } from './window.ts';

/** State of the `knn` detector. */
export interface KnnState extends DetectorStateBase<'knn', KnnConfig> {
  /** Accepted points. */
  n: number;
  /** Ring of the last `window` values; `head` is the oldest once full. */
  ring: number[];
  head: number;
  /** Ring of the last `calibration` non-conformities; `calHead` is the oldest once full. */
  cal: number[];
  calHead: number;
}

/** Values of a ring in arrival order. */
function ordered(ring: readonly number[], head: number): number[] {
  return head === 0 ? ring.slice() : [...ring.slice(head), ...ring.slice(0, head)];
}

/** Vectors that overlap the scored one by more than half are not its neighbours. */
export function exclusionZone(dim: number): number {
  return Math.ceil(dim / 2);
}

/**
 * The non-conformity of the vector ending at the last entry of `values` (mean distance to its `k`
 * nearest earlier vectors outside the exclusion zone) and the neighbours' mean last value; null when
 * there are fewer than `k` candidates.
 */
export function nonConformity(values: readonly number[], dim: number, k: number): { ncm: number; expected: number } | null {
  const last = values.length - 1;
  const newestEnd = last - exclusionZone(dim);
  const candidates = newestEnd - (dim - 1) + 1;
  if (last < dim - 1 || candidates < k) return null;
  // The k smallest squared distances, kept in ascending order (k is small).
  const best: number[] = [];
  const bestEnd: number[] = [];
  for (let end = dim - 1; end <= newestEnd; end += 1) {
    let d2 = 0;
    for (let j = 0; j < dim; j += 1) {
      const diff = (values[last - j] as number) - (values[end - j] as number);
      d2 += diff * diff;
    }
    if (best.length === k && d2 >= (best[k - 1] as number)) continue;
    let at = best.length < k ? best.length : k - 1;
    while (at > 0 && (best[at - 1] as number) > d2) {
      if (at < k) {
        best[at] = best[at - 1] as number;
        bestEnd[at] = bestEnd[at - 1] as number;
      }
      at -= 1;
    }
    best[at] = d2;
    bestEnd[at] = end;
  }
  let ncm = 0;
  let expected = 0;
  for (let i = 0; i < k; i += 1) {
    ncm += Math.sqrt(best[i] as number);
    expected += values[bestEnd[i] as number] as number;
  }
  return { ncm: ncm / k, expected: expected / k };
}

/** Median and guarded scale of the calibration non-conformities (as `robust` guards its window's). */
export function calibrationScale(
  cal: readonly number[],
  minScale: number,
): { median: number; scale: number; source: 'mad' | 'mean-abs-dev' | 'floor' } {
  const sorted = [...cal].sort((a, b) => a - b);
  const center = medianSorted(sorted);
  const floor = scaleFloor(center, minScale);
  const madScale = 1.4826 * madSorted(sorted, center);
  if (madScale > floor) return { median: center, scale: madScale, source: 'mad' };
  let absSum = 0;
  for (const value of sorted) absSum += Math.abs(value - center);
  const meanAbsScale = (1.2533 * absSum) / sorted.length;
  if (meanAbsScale > floor) return { median: center, scale: meanAbsScale, source: 'mean-abs-dev' };
  return { median: center, scale: floor, source: 'floor' };
}

/** Calibration scores needed before a point is scored. */
const MIN_CALIBRATION = 8;

function update(state: KnnState, point: ObservedPoint): DetectorUpdate<KnnState> {
  const { config } = state;
  const reason = skipReason(state.stats, point);
  if (reason) {
    return {
      state: { ...state, version: state.version + 1, stats: statsAfterSkip(state.stats, reason) },
      score: 0,
      anomaly: false,
      evidence: skippedEvidence('knn', config, state.ring.length, config.threshold, reason),
    };
  }
  const values = ordered(state.ring, state.head);
  values.push(point.value);
  const neighbours = nonConformity(values, config.dim, config.k);
  const ready = state.cal.length >= Math.min(MIN_CALIBRATION, config.calibration);
  const warmingUp = state.n < config.warmup || !ready || neighbours === null;
  let score = 0;
  let median: number | null = null;
  let scale: number | null = null;
  let source: 'mad' | 'mean-abs-dev' | 'floor' | undefined;
  if (neighbours && ready) {
    ({ median, scale, source } = calibrationScale(state.cal, config.minScale));
    if (!warmingUp) score = Math.max(0, neighbours.ncm - median) / scale;
  }
  const anomaly = !warmingUp && score > config.threshold;

  const ring = state.ring.slice();
  let head = state.head;
  if (ring.length < config.window) ring.push(point.value);
  else {
    ring[head] = point.value;
    head = (head + 1) % config.window;
  }
  const cal = state.cal.slice();
  let calHead = state.calHead;
  if (neighbours) {
    if (cal.length < config.calibration) cal.push(neighbours.ncm);
    else {
      cal[calHead] = neighbours.ncm;
      calHead = (calHead + 1) % config.calibration;
    }
  }
  const expected = neighbours ? neighbours.expected : null;
  return {
    state: {
      ...state,
      version: state.version + 1,
      n: state.n + 1,
      ring,
      head,
      cal,
      calHead,
      stats: statsAfterAccept(state.stats, point, !warmingUp, anomaly),
    },
    score,
    anomaly,
    evidence: {
      detector: 'knn',
      config,
      n: state.ring.length,
      expected,
      scale,
      ...(source === undefined ? {} : { scaleSource: source }),
      deviation: expected === null ? null : point.value - expected,
      threshold: config.threshold,
      lower: null,
      upper: null,
      warmingUp,
    },
  };
}

/**
 * The `knn` detector (conformal k-nearest-neighbour distance of the recent shape).
 * @example
 * let state = knnDetector.init({ dim: 8, k: 3 });
 * const { score, state: next } = knnDetector.update(state, { timestamp: Date.now(), value: 42 });
 */
export const knnDetector: Detector<'knn', KnnConfig, KnnState> = {
  name: 'knn',
  defaults: knnConfigSchema.parse({}),
  configSchema: knnConfigSchema,
  init(config) {
    return {
      detector: 'knn',
      version: 0,
      config: parseConfig(knnConfigSchema, config),
      stats: emptyStats(),
      n: 0,
      ring: [],
      head: 0,
      cal: [],
      calHead: 0,
    };
  },
  update,
};
