/**
 * The detector registry: series select a detector by name, and a stored state names its own
 * detector, so the lead's handler needs only {@link initSeriesState} and {@link updateSeriesState}.
 */
import { saturateNumbers } from '../../events/common.ts';
import { ValidationError } from '../errors.ts';
import type { DetectorUpdate, ObservedPoint } from './detector-contract.ts';
import { type EwmaState, ewmaDetector } from './ewma.ts';
import { type KnnState, knnDetector } from './knn.ts';
import { type RobustState, robustDetector } from './robust.ts';
import type { DetectorName } from './schemas.ts';
import { type SeasonalState, seasonalDetector } from './seasonal.ts';

/** The state of any registered detector, discriminated by `detector`. */
export type SeriesState = RobustState | SeasonalState | EwmaState | KnnState;

/** The registered detectors by name. */
export const detectors = {
  robust: robustDetector,
  seasonal: seasonalDetector,
  ewma: ewmaDetector,
  knn: knnDetector,
} as const;

/**
 * The detector every new series starts with, until configured, and its settings: an EWMA control
 * chart that learns slowly (λ 0.02, so a level shift stays visible for dozens of points), clips
 * outliers at 6σ in its updates and warms up over 60 points. Chosen by measurement, without labels
 * per series: the best of the detectors under the incident tracker on the tune split of two unlike
 * public corpora (cloud-monitoring metrics and spacecraft telemetry; see bench/incidents.ts).
 */
export const DEFAULT_DETECTOR = 'ewma' satisfies DetectorName;
/** The settings of {@link DEFAULT_DETECTOR} for new series (the rest are the detector's defaults). */
export const DEFAULT_DETECTOR_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({ lambda: 0.02, clip: 6, warmup: 60 });

/** The names of the registered detectors. */
export const detectorNames = Object.keys(detectors) as DetectorName[];

/** A detector name that is not registered (a 400 at the HTTP edge: path `detector`). */
export class UnknownDetectorError extends ValidationError {
  readonly detectorName: string;
  constructor(name: string) {
    super([{ path: 'detector', message: `unknown detector '${name}' (known: ${detectorNames.join(', ')})` }]);
    this.detectorName = name;
  }
}

/** True when `name` is a registered detector. */
export function isDetectorName(name: string): name is DetectorName {
  return Object.hasOwn(detectors, name);
}

/**
 * A fresh state for a series using detector `name`.
 * @throws {UnknownDetectorError} when `name` is not registered.
 * @throws {ValidationError} when `config` is invalid for that detector.
 * @example
 * const state = initSeriesState('seasonal', { seasonLength: 24 });
 */
export function initSeriesState(name: string, config: Record<string, unknown> = {}): SeriesState {
  switch (name) {
    case 'robust':
      return robustDetector.init(config);
    case 'seasonal':
      return seasonalDetector.init(config);
    case 'ewma':
      return ewmaDetector.init(config);
    case 'knn':
      return knnDetector.init(config);
    default:
      throw new UnknownDetectorError(name);
  }
}

/**
 * Feeds one point to whatever detector the state belongs to. Pure: the input state is untouched.
 * The decision's score and evidence come back saturated at ±1e100 (`saturateNumbers`): they are
 * published and answered, and a point at the value bound against a zero spread scores ~1e109
 * (the decision itself is taken on the exact score; the state keeps exact figures).
 * @throws {UnknownDetectorError} when the state names an unregistered detector (corrupt item).
 * @example
 * const { state: next, anomaly, evidence } = updateSeriesState(stored, { timestamp: Date.parse(t), value: 3 });
 */
export function updateSeriesState(state: SeriesState, point: ObservedPoint): DetectorUpdate<SeriesState> {
  const update = detectorUpdate(state, point);
  return { ...update, score: saturateNumbers(update.score), evidence: saturateNumbers(update.evidence) };
}

function detectorUpdate(state: SeriesState, point: ObservedPoint): DetectorUpdate<SeriesState> {
  switch (state.detector) {
    case 'robust':
      return robustDetector.update(state, point);
    case 'seasonal':
      return seasonalDetector.update(state, point);
    case 'ewma':
      return ewmaDetector.update(state, point);
    case 'knn':
      return knnDetector.update(state, point);
    default:
      throw new UnknownDetectorError(String((state as { detector: unknown }).detector));
  }
}
