/**
 * Scoring of detections with the rules of the Numenta Anomaly Benchmark (NAB), standard profile.
 * Pure: labels and detections in, scores out. Written from NAB's own scorer (`nab/labeler.py`
 * `applyWindows`/`checkWindows`, `nab/sweeper.py`, `nab/runner.py` `normalize`, `config/profiles.json`)
 * so that a score here is a score there:
 *
 * - **Windows**: each labelled anomaly gets a window centred on it, all of one length:
 *   `trunc(0.10 × rows / anomalies)` rows, from `label − ⌊length/2⌋` to `label + ⌊length/2⌋`, clipped
 *   to the series (NAB's labels were made with Python 2's integer division, which is `⌊⌋` here). Then
 *   the first window is deleted when it starts inside the probationary period, and overlapping windows
 *   are merged, pairwise left to right as NAB does (after a merge the next comparison starts one further on).
 * - **Probationary period**: the first `min(⌊0.15 × rows⌋, 750)` rows; detections there count for nothing.
 * - **A window**: scores `−A_FN` (−1) when nothing is detected in it; else its best detection's
 *   `scaledSigmoid(−(right − i + 1) / width) × A_TP / scaledSigmoid(−1)`: 1 for a detection on its first
 *   row, falling towards 0 at its last (so only the earliest detection matters).
 * - **A detection outside every window**: `A_FP × scaledSigmoid(|i − previous right| / (previous width − 1))`
 *   after a window (close behind a window it costs little), `−A_FP` before the first window. Every such
 *   detection counts, with A_FP = 0.11.
 * - **Normalised**: `100 × (S − S_null) / (S_perfect − S_null)`, summed over a corpus: S_null is the
 *   score of no detection at all (−1 per window), S_perfect one per window (a detection on every
 *   window's first row). 0 is no better than silence, 100 is perfect, and below 0 is worse than silence.
 *
 * NAB also sweeps a threshold over real-valued scores; the detections here are already binary (a
 * row is a detection or not), which is what NAB scores at the chosen threshold.
 */

/** The weights of a NAB application profile. */
export interface NabProfile {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

/** NAB's `standard` profile (`config/profiles.json`). */
export const STANDARD_PROFILE: NabProfile = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 };
/** Share of each series that is probationary (NAB's `probationaryPercent`). */
export const PROBATIONARY_PERCENT = 0.15;
/** Share of each series covered by anomaly windows (NAB's `windowSize`). */
export const WINDOW_SIZE = 0.1;

/** An anomaly window: first and last row index, inclusive. */
export type NabWindow = [start: number, end: number];

/**
 * The probationary length of a series of `rows` rows: `min(⌊p × rows⌋, p × 5000)` (NAB's
 * `getProbationPeriod`); rows with an index below it are not scored.
 * @example probationaryLength(1000) // 150
 */
export function probationaryLength(rows: number, percent = PROBATIONARY_PERCENT): number {
  return Math.min(Math.floor(percent * rows), percent * 5000);
}

/**
 * NAB's scaled sigmoid of a relative position: `2·sigmoid(−5x) − 1`, and −1 beyond 3.
 * @example scaledSigmoid(-1) // 0.98661…
 */
export function scaledSigmoid(position: number): number {
  if (position > 3) return -1;
  return 2 / (1 + Math.exp(5 * position)) - 1;
}

/**
 * The anomaly labels of a row-wise 0/1 labelling: the first row of each run of labelled rows (its onset).
 * @example labelOnsets([0, 1, 1, 0, 1]) // [1, 4]
 */
export function labelOnsets(labels: readonly (number | boolean)[]): number[] {
  const onsets: number[] = [];
  labels.forEach((label, i) => {
    if (label && !labels[i - 1]) onsets.push(i);
  });
  return onsets;
}

/**
 * The anomaly windows of a series of `rows` rows with anomalies labelled at row indexes `labels`
 * (ascending), as NAB's labeller makes them (`applyWindows` then `checkWindows`).
 * @example anomalyWindows(1000, [500]) // [[450, 550]]
 */
export function anomalyWindows(
  rows: number,
  labels: readonly number[],
  options: { windowSize?: number; probationaryPercent?: number } = {},
): NabWindow[] {
  if (labels.length === 0 || rows === 0) return [];
  const windowSize = options.windowSize ?? WINDOW_SIZE;
  const length = Math.trunc((windowSize * rows) / labels.length);
  const half = Math.floor(length / 2);
  const windows: NabWindow[] = labels.map((label) => [Math.max(label - half, 0), Math.min(label + half, rows - 1)]);
  const probation = Math.min(
    Math.floor((options.probationaryPercent ?? PROBATIONARY_PERCENT) * rows),
    (options.probationaryPercent ?? PROBATIONARY_PERCENT) * 5000,
  );
  // NAB compares the window's start time with the time of row `probation` (an index; 750.0 is row 750).
  if (windows.length > 0 && (windows[0] as NabWindow)[0] < probation) windows.shift();
  let i = 0;
  while (windows.length - 1 > i) {
    const current = windows[i] as NabWindow;
    const next = windows[i + 1] as NabWindow;
    if (next[0] <= current[1]) {
      windows[i] = [current[0], next[1]];
      windows.splice(i + 1, 1);
    }
    i += 1;
  }
  return windows;
}

/** The NAB score of one series. */
export interface NabSeriesScore {
  /** The raw score S (sum of window and false-positive terms). */
  score: number;
  /** S of a detector that never detects (−A_FN per scored window). */
  nullScore: number;
  /** S of a perfect detector (A_TP per window). */
  perfectScore: number;
  windows: number;
  /** Windows with at least one scored detection. */
  detectedWindows: number;
  /** Scored detections outside every window. */
  falsePositives: number;
  /** Detections in the probationary period (not scored). */
  probationary: number;
}

/**
 * Scores binary detections (`detections[i]` true when row i is a detection) against anomaly windows,
 * row for row as NAB's `Sweeper.calcSweepScore` and `calcScoreByThreshold` do.
 * @throws {RangeError} when a window lies outside the rows.
 * @example
 * const windows = anomalyWindows(1000, [500]);
 * scoreDetections(1000, windows, rows.map((_, i) => i === 450)).score // 1
 */
export function scoreDetections(
  rows: number,
  windows: readonly NabWindow[],
  detections: readonly boolean[],
  profile: NabProfile = STANDARD_PROFILE,
  probationaryPercent = PROBATIONARY_PERCENT,
): NabSeriesScore {
  for (const [start, end] of windows) {
    if (!(start >= 0 && end < rows && start <= end)) throw new RangeError(`window [${start}, ${end}] is outside rows 0..${rows - 1}`);
  }
  const maxTp = scaledSigmoid(-1);
  const probation = probationaryLength(rows, probationaryPercent);
  const pending = windows.slice();
  // Each window's best term (only windows with a scored row are terms, as in NAB).
  const windowTerms = new Map<number, number>();
  let falsePositiveTerm = 0;
  let falsePositives = 0;
  let probationary = 0;
  let current: { id: number; end: number; width: number } | undefined;
  let previous: { end: number; width: number } | undefined;
  let nextId = 0;
  for (let i = 0; i < rows; i += 1) {
    const head = pending[0];
    if (head && i === head[0]) {
      pending.shift();
      current = { id: nextId, end: head[1], width: head[1] - head[0] + 1 };
      nextId += 1;
    }
    let weighted: number;
    if (current) {
      weighted = (scaledSigmoid(-(current.end - i + 1) / current.width) * profile.tpWeight) / maxTp;
    } else if (!previous) {
      weighted = -1 * profile.fpWeight;
    } else {
      // A one-row window leaves NAB dividing by zero; the detection is then "far" behind it.
      const position = previous.width > 1 ? Math.abs(previous.end - i) / (previous.width - 1) : Number.POSITIVE_INFINITY;
      weighted = scaledSigmoid(position) * profile.fpWeight;
    }
    const scored = i >= probation;
    if (scored && current && !windowTerms.has(current.id)) windowTerms.set(current.id, -profile.fnWeight);
    if (detections[i]) {
      if (!scored) probationary += 1;
      else if (current) windowTerms.set(current.id, Math.max(windowTerms.get(current.id) ?? -profile.fnWeight, weighted));
      else {
        falsePositiveTerm += weighted;
        falsePositives += 1;
      }
    }
    if (current && i === current.end) {
      previous = { end: i, width: current.width };
      current = undefined;
    }
  }
  let score = falsePositiveTerm;
  let detectedWindows = 0;
  for (const term of windowTerms.values()) {
    score += term;
    if (term > -profile.fnWeight) detectedWindows += 1;
  }
  return {
    score,
    nullScore: -profile.fnWeight * windowTerms.size,
    perfectScore: profile.tpWeight * windows.length,
    windows: windows.length,
    detectedWindows,
    falsePositives,
    probationary,
  };
}

/**
 * NAB's normalised score of a corpus: `100 × (S − S_null) / (S_perfect − S_null)` over the summed
 * series scores. A corpus without any window has no scale (S_perfect = S_null), so this returns
 * `null` there.
 * @example normalisedScore([scoreDetections(1000, [[450, 550]], detections)])
 */
export function normalisedScore(series: readonly Pick<NabSeriesScore, 'score' | 'nullScore' | 'perfectScore'>[]): number | null {
  let score = 0;
  let nullScore = 0;
  let perfect = 0;
  for (const entry of series) {
    score += entry.score;
    nullScore += entry.nullScore;
    perfect += entry.perfectScore;
  }
  if (perfect - nullScore === 0) return null;
  return (100 * (score - nullScore)) / (perfect - nullScore);
}
