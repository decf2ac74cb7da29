/**
 * Incidents: a series' point scores turned into alerts a team can live with. Pure: a state and one
 * scored point in, the next state and at most one opened or closed incident out.
 *
 * **Anomaly likelihood** (the method of Numenta's `anomaly_likelihood.py`): each detector score `s`
 * is squashed to `u = s / (s + saturation)` in [0, 1) (detector scores are unbounded, Numenta's are
 * in [0, 1]); the short-term mean `m` of the last `shortWindow` values of `u` is compared with the
 * long-term Gaussian of those means, `N(μ, σ²)`, and the likelihood is `L = Φ((m − μ) / σ)`: how
 * unusual the recent stretch of scores is against what this series usually scores. It is reported
 * as Numenta's log-likelihood, `ln(1 − L + 1e-10) / ln(1e-10)` (0.5 ≈ L = 0.99999, 1 ≈ L = 1).
 * As in Numenta, nothing is reported for the first `learningPeriod` scores, the Gaussian is first
 * estimated from the next `estimationSamples` means, the mean and variance have floors (`meanFloor`,
 * `varianceFloor`: a series that always scores ~0 would otherwise alarm on the slightest blip), each
 * mean is judged against the Gaussian before it joins it, and a value beyond the range seen so far by
 * more than `rangeTolerance` of that range is as unlikely as can be (Numenta's NAB detector's
 * "spatial anomaly", 5 % there).
 *
 * Differences from Numenta, each measured on the tune split of the corpora (bench/incidents.ts):
 * - the long-term Gaussian is a pair of running moments (exponentially weighted, `α = 1/min(n, longWindow)`),
 *   not a re-estimate over a window of 8,640 raw scores, so the state stays a few dozen numbers;
 * - an empirical tail beside the Gaussian: a decayed histogram of past means in `tailBins` bins, and
 *   the tail is the larger of the Gaussian one and the share of past means in the current mean's bin or
 *   above (a score this series reaches every hundred points is not a one-in-a-million event, however
 *   thin the Gaussian's tail; quantised telemetry that steps between a few levels needs this);
 * - an incident opens only at a point whose detector score is at least `minScore` (or out of range):
 *   on a very quiet series the Gaussian is narrow, and a blip of 2σ in the detector's own terms is not
 *   an incident;
 * - while an incident is open the Gaussian and the histogram do not learn (an incident's own scores
 *   would teach the series that incidents are normal);
 * - the likelihood is one-sided (a stretch calmer than usual is not an incident; Numenta's tail is
 *   two-sided) and not filtered (Numenta's red-zone filter is replaced by the hysteresis below);
 * - the measured best short window is 1 point (the likelihood of the point's own score), not 10:
 *   averaging delays the alert past the start of short anomalies, which the NAB scoring punishes;
 * - **familiar transitions**: the tracker remembers the last `familiarTransitions` distinct steps
 *   between exact values (previous value → this value) with a count that decays by e every
 *   `familiarMemory` points; a step made at least `familiarVisits` times (decayed) before is
 *   familiar, and its score counts as at most `familiarScore` (below `minScore`, so it opens
 *   nothing, and the likelihood learns it as ordinary). Quantised telemetry that switches between a
 *   few levels (a mode flag, a counter that drops to a set value every hundred points) scores huge
 *   against a control chart whose spread is ~0 on each level; this is the pattern a person would call
 *   normal after seeing it twice (in the spirit of CAD OSE's contexts). On continuous values a step
 *   between the same two exact values is rare, so the rule seldom acts there.
 *
 * **Hysteresis and suppression**: an incident opens when the log-likelihood reaches `openLevel`;
 * while it is open no other incident opens (one alert per incident, not one per point); it closes
 * after `closeAfter` consecutive points below `closeLevel` (< `openLevel`). An incident records its
 * start, its peak (the point with the highest detector score), the points' scores and, on close, its end.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.ts';

/** Settings of the incident tracker (see the module comment); the defaults are what every series gets. */
export const incidentConfigSchema = z.strictObject({
  /** Scores ignored at the start of a series (after the detector's own warm-up). */
  learningPeriod: z.int().min(0).max(10_000).default(0),
  /** Short-term means that estimate the first Gaussian before any likelihood is reported. */
  estimationSamples: z.int().min(2).max(10_000).default(64),
  /** Scores averaged into the short-term mean (Numenta: 10). */
  shortWindow: z.int().min(1).max(100).default(1),
  /** Effective memory of the long-term Gaussian and the histogram, in points. */
  longWindow: z.int().min(10).max(1_000_000).default(500),
  /** Detector score mapped to 0.5 by the squash `s / (s + saturation)`. */
  saturation: z.number().positive().max(1000).default(8),
  /** Floors of the long-term Gaussian's mean and variance (Numenta's: 0.03 and 0.0003). */
  meanFloor: z.number().min(0).max(1).default(0.03),
  varianceFloor: z.number().positive().max(1).default(0.0003),
  /** Bins of the histogram of past means (0: Gaussian tail only). */
  tailBins: z.int().min(0).max(100).default(10),
  /** Log-likelihood at which an incident opens (0.5 ≈ likelihood 0.99999). */
  openLevel: z.number().gt(0).max(1).default(0.5),
  /** Log-likelihood below which a point counts towards closing. */
  closeLevel: z.number().min(0).lt(1).default(0.2),
  /** Consecutive points below `closeLevel` that close an incident. */
  closeAfter: z.int().min(1).max(10_000).default(3),
  /** Detector score an opening point needs (a value out of range needs none). */
  minScore: z.number().min(0).max(1000).default(3),
  /** Share of the range seen so far beyond which a value is out of range (0: rule off). */
  rangeTolerance: z.number().min(0).max(10).default(0.05),
  /** Distinct steps between exact values remembered for the familiar-transition rule (0: rule off). */
  familiarTransitions: z.int().min(0).max(64).default(16),
  /** Decayed count at which a remembered step is familiar. */
  familiarVisits: z.number().positive().max(10_000).default(2),
  /** Points over which a step's count decays by a factor e. */
  familiarMemory: z.int().min(1).max(1_000_000).default(2000),
  /** The highest score a familiar step counts with (below `minScore`: it cannot open an incident). */
  familiarScore: z.number().min(0).max(1000).default(2),
});
/** Settings of the incident tracker. */
export type IncidentConfig = z.infer<typeof incidentConfigSchema>;

/** The default settings: what every new series gets. */
export const DEFAULT_INCIDENT_CONFIG: IncidentConfig = incidentConfigSchema.parse({});

/** One scored point as the tracker sees it. */
export interface ScoredPoint {
  /** Epoch milliseconds. */
  timestamp: number;
  value: number;
  /** The detector's score (non-negative). */
  score: number;
}

/** The point of an incident with the highest detector score. */
export interface IncidentPeak {
  timestamp: number;
  value: number;
  score: number;
}

/** An incident while it is open. Plain JSON data. */
export interface OpenIncident {
  /** Epoch ms of the point that opened it. */
  start: number;
  peak: IncidentPeak;
  /** Likelihood and log-likelihood when it opened. */
  likelihood: number;
  logLikelihood: number;
  /** Highest log-likelihood while open. */
  maxLogLikelihood: number;
  /** Points since it opened (the opening point included), their detector scores' sum and the newest time. */
  points: number;
  scoreSum: number;
  last: number;
}

/**
 * A remembered step between exact values: `[from, to, count, at]`, the count as of the tracker's
 * `seen` index `at` (it decays by e every `familiarMemory` points after).
 */
export type Transition = [from: number, to: number, count: number, at: number];

/** The long-term Gaussian of short-term means, as running moments. */
export interface ScoreMoments {
  n: number;
  mean: number;
  variance: number;
}

/** The tracker's state per series: O(`shortWindow`) numbers, JSON-serialisable. */
export interface IncidentState {
  config: IncidentConfig;
  /** Scores seen (learning period included). */
  seen: number;
  /** The last `shortWindow` squashed scores (a ring; `head` is the oldest once full). */
  recent: number[];
  head: number;
  moments: ScoreMoments;
  /** The lowest and highest value seen (null before the first). */
  min: number | null;
  max: number | null;
  /** The decayed histogram of past means (`tailBins` counts). */
  bins: number[];
  open: OpenIncident | null;
  /** The previous value (the familiar-transition rule; absent in states stored before it). */
  previous?: number | null;
  /** The remembered steps, at most `familiarTransitions` (absent in states stored before the rule). */
  transitions?: Transition[];
  /** Consecutive points below `closeLevel` while open. */
  calm: number;
  /** Incidents opened and closed so far. */
  opened: number;
  closed: number;
}

/** The figures behind one point's likelihood. */
export interface LikelihoodFigures {
  /** Φ((m − μ)/σ), 0.5 while learning. */
  likelihood: number;
  /** Numenta's log-likelihood of `likelihood`. */
  logLikelihood: number;
  /** The short-term mean `m` of squashed scores (null while learning). */
  shortMean: number | null;
  /** μ and σ used (after the floors; null while learning). */
  longMean: number | null;
  longSd: number | null;
}

/** A summary of an incident's detector scores. */
export interface IncidentScores {
  points: number;
  mean: number;
  max: number;
}

/** An incident that just opened. */
export interface IncidentOpening extends LikelihoodFigures {
  start: number;
  peak: IncidentPeak;
  scores: IncidentScores;
}

/** An incident that just closed. */
export interface IncidentClosing {
  start: number;
  /** Epoch ms of the point that closed it (the last of `closeAfter` calm points). */
  end: number;
  durationMs: number;
  peak: IncidentPeak;
  /** Likelihood and log-likelihood when it opened, and the highest log-likelihood while open. */
  likelihood: number;
  logLikelihood: number;
  maxLogLikelihood: number;
  scores: IncidentScores;
}

/** The result of {@link updateIncidents}: the new state (the input is never mutated) and what happened. */
export interface IncidentUpdate extends LikelihoodFigures {
  state: IncidentState;
  opened?: IncidentOpening;
  closed?: IncidentClosing;
}

/** ln(1e-10): Numenta's log-likelihood denominator. */
const LOG_FLOOR = Math.log(1e-10);

/**
 * A fresh tracker; `config` is merged over {@link DEFAULT_INCIDENT_CONFIG} and validated.
 * @throws {ValidationError} naming each bad setting as `incidents.<field>`, or `incidents.closeLevel`
 *   when it is not below `openLevel`.
 * @example
 * const state = initIncidents({ closeAfter: 5 });
 */
export function initIncidents(config: Partial<IncidentConfig> = {}): IncidentState {
  const parsed = incidentConfigSchema.safeParse(config);
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.map((issue) => ({ path: ['incidents', ...issue.path.map(String)].join('.'), message: issue.message })),
    );
  }
  if (parsed.data.closeLevel >= parsed.data.openLevel) {
    throw new ValidationError([{ path: 'incidents.closeLevel', message: 'closeLevel must be below openLevel' }]);
  }
  return {
    config: parsed.data,
    seen: 0,
    recent: [],
    head: 0,
    moments: { n: 0, mean: 0, variance: 0 },
    min: null,
    max: null,
    bins: Array.from({ length: parsed.data.tailBins }, () => 0),
    open: null,
    previous: null,
    transitions: [],
    calm: 0,
    opened: 0,
    closed: 0,
  };
}

/**
 * The familiar-transition rule for one point (see the module comment): whether the step from the
 * previous value to `value` is familiar, and the remembered steps after counting it.
 * `seen` is the tracker's index of this point. States stored before the rule (no `transitions`, or a
 * config without `familiarTransitions`) keep it off.
 */
export function familiarStep(state: IncidentState, value: number, seen: number): { familiar: boolean; transitions: Transition[] } {
  const { config } = state;
  const capacity = config.familiarTransitions ?? 0;
  const previous = state.previous ?? null;
  const remembered = state.transitions ?? [];
  if (capacity <= 0 || previous === null) return { familiar: false, transitions: remembered };
  const decayed = ([, , count, at]: Transition) => count * Math.exp(-(seen - at) / config.familiarMemory);
  const transitions = remembered.slice();
  const k = transitions.findIndex(([from, to]) => from === previous && to === value);
  if (k >= 0) {
    const count = decayed(transitions[k] as Transition);
    transitions[k] = [previous, value, count + 1, seen];
    return { familiar: count >= config.familiarVisits, transitions };
  }
  if (transitions.length >= capacity) {
    // Forget the step with the lowest decayed count.
    let weakest = 0;
    let weakestCount = Number.POSITIVE_INFINITY;
    transitions.forEach((transition, i) => {
      const count = decayed(transition);
      if (count < weakestCount) {
        weakestCount = count;
        weakest = i;
      }
    });
    transitions.splice(weakest, 1);
  }
  transitions.push([previous, value, 1, seen]);
  return { familiar: false, transitions };
}

/**
 * The complementary error function, erfc(x), with a relative error below 1.2e-7 everywhere
 * (the Chebyshev fit of Numerical Recipes' `erfcc`), so tail probabilities down to 1e-300 keep their digits.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * Numenta's log-likelihood of an upper-tail probability `tail` = 1 − L: `ln(tail + 1e-10) / ln(1e-10)`,
 * 0 for an ordinary point, 1 for one as unlikely as can be told.
 * @example logLikelihood(1e-5) // ≈ 0.5
 */
export function logLikelihood(tail: number): number {
  return Math.max(0, Math.log(tail + 1e-10) / LOG_FLOOR);
}

/** The squash of a detector score into [0, 1). */
export function squash(score: number, saturation: number): number {
  const s = Number.isFinite(score) ? Math.max(0, score) : 1e100;
  return s / (s + saturation);
}

/** The moments after adding `x` with weight `1/min(n + 1, longWindow)`. */
function addMoment(moments: ScoreMoments, x: number, longWindow: number): ScoreMoments {
  const n = moments.n + 1;
  const alpha = 1 / Math.min(n, longWindow);
  const delta = x - moments.mean;
  const mean = moments.mean + alpha * delta;
  // West's weighted update: with α = 1/n this is the exact population variance (Welford).
  const variance = (1 - alpha) * (moments.variance + alpha * delta * delta);
  return { n, mean, variance };
}

/** The Gaussian's moments and the histogram after learning the mean `m` (in bin `bin`). */
function learn(state: IncidentState, m: number, bin: number): Pick<IncidentState, 'moments' | 'bins'> {
  const moments = addMoment(state.moments, m, state.config.longWindow);
  const decay = 1 - 1 / Math.min(moments.n, state.config.longWindow);
  return { moments, bins: state.bins.map((count, i) => count * decay + (i === bin ? 1 : 0)) };
}

const LEARNING: LikelihoodFigures = { likelihood: 0.5, logLikelihood: logLikelihood(0.5), shortMean: null, longMean: null, longSd: null };

/**
 * Feeds one scored point to a series' tracker. Pure: same state and point, same result.
 * @example
 * let state = initIncidents();
 * const update = updateIncidents(state, { timestamp: Date.now(), value: 42, score: 0.7 });
 * state = update.state; // update.opened / update.closed when an incident opened or closed here
 */
export function updateIncidents(state: IncidentState, scoredPoint: ScoredPoint): IncidentUpdate {
  const { config } = state;
  const seen = state.seen + 1;
  const step = familiarStep(state, scoredPoint.value, seen);
  // A familiar step counts with at most `familiarScore`, everywhere below (likelihood, opening, peak).
  const point = step.familiar ? { ...scoredPoint, score: Math.min(scoredPoint.score, config.familiarScore) } : scoredPoint;
  const u = squash(point.score, config.saturation);
  const recent = state.recent.slice();
  let head = state.head;
  if (recent.length < config.shortWindow) recent.push(u);
  else {
    recent[head] = u;
    head = (head + 1) % config.shortWindow;
  }
  const min = state.min === null ? point.value : Math.min(state.min, point.value);
  const max = state.max === null ? point.value : Math.max(state.max, point.value);
  const base = { ...state, seen, recent, head, min, max, previous: point.value, transitions: step.transitions };
  if (seen <= config.learningPeriod) return { state: base, ...LEARNING };

  let shortMean = 0;
  for (const value of recent) shortMean += value;
  shortMean /= recent.length;

  const bin = Math.min(config.tailBins - 1, Math.floor(shortMean * config.tailBins));
  if (state.moments.n < config.estimationSamples) {
    // The histogram counts judged means only: the scores of a detector just out of its warm-up run
    // high, and counting them would make the first real anomalies look common.
    return { state: { ...base, moments: addMoment(state.moments, shortMean, config.longWindow) }, ...LEARNING };
  }
  const longMean = Math.max(state.moments.mean, config.meanFloor);
  const longSd = Math.sqrt(Math.max(state.moments.variance, config.varianceFloor));
  const z = (shortMean - longMean) / longSd;
  let tail = 0.5 * erfc(z / Math.SQRT2);
  if (config.tailBins > 0) {
    let above = 0;
    let total = 0;
    state.bins.forEach((count, i) => {
      total += count;
      if (i >= bin) above += count;
    });
    if (total > 0) tail = Math.max(tail, above / total);
  }
  let outOfRange = false;
  if (config.rangeTolerance > 0 && state.min !== null && state.max !== null && state.max > state.min) {
    const tolerance = (state.max - state.min) * config.rangeTolerance;
    outOfRange = point.value > state.max + tolerance || point.value < state.min - tolerance;
    if (outOfRange) tail = 0;
  }
  const figures: LikelihoodFigures = { likelihood: 1 - tail, logLikelihood: logLikelihood(tail), shortMean, longMean, longSd };

  const open = state.open;
  if (open === null) {
    if (figures.logLikelihood < config.openLevel || (point.score < config.minScore && !outOfRange)) {
      return { state: { ...base, ...learn(state, shortMean, bin) }, ...figures };
    }
    const peak = { timestamp: point.timestamp, value: point.value, score: point.score };
    const incident: OpenIncident = {
      start: point.timestamp,
      peak,
      likelihood: figures.likelihood,
      logLikelihood: figures.logLikelihood,
      maxLogLikelihood: figures.logLikelihood,
      points: 1,
      scoreSum: point.score,
      last: point.timestamp,
    };
    return {
      // The opening mean is the first of the incident: it does not join the Gaussian either.
      state: { ...base, open: incident, calm: 0, opened: state.opened + 1 },
      ...figures,
      opened: { ...figures, start: incident.start, peak, scores: { points: 1, mean: point.score, max: point.score } },
    };
  }

  // The incident's evidence keeps the detector's own scores (a familiar step's too).
  const raw = scoredPoint.score;
  const peak = raw > open.peak.score ? { timestamp: point.timestamp, value: point.value, score: raw } : open.peak;
  const incident: OpenIncident = {
    ...open,
    peak,
    maxLogLikelihood: Math.max(open.maxLogLikelihood, figures.logLikelihood),
    points: open.points + 1,
    scoreSum: open.scoreSum + raw,
    last: Math.max(open.last, point.timestamp),
  };
  const calm = figures.logLikelihood < config.closeLevel ? state.calm + 1 : 0;
  if (calm < config.closeAfter) return { state: { ...base, open: incident, calm }, ...figures };
  return { state: { ...base, open: null, calm: 0, closed: state.closed + 1 }, ...figures, closed: closingOf(incident) };
}

/**
 * The closing of an open incident, ended at its newest point (the last calm one when it recovered).
 * @example const closing = state.open ? closingOf(state.open) : undefined; // a series reconfigured mid-incident
 */
export function closingOf(incident: OpenIncident): IncidentClosing {
  const end = Math.max(incident.last, incident.start);
  return {
    start: incident.start,
    end,
    durationMs: end - incident.start,
    peak: incident.peak,
    likelihood: incident.likelihood,
    logLikelihood: incident.logLikelihood,
    maxLogLikelihood: incident.maxLogLikelihood,
    scores: incidentScores(incident),
  };
}

/** The score summary of an open incident. */
export function incidentScores(incident: OpenIncident): IncidentScores {
  return { points: incident.points, mean: incident.scoreSum / incident.points, max: incident.peak.score };
}

/**
 * Feeds scores to a tracker so that it learns them without opening anything (the warm-up after a
 * detector change replays recent points this way): the Gaussian learns as usual, and no incident is open after.
 * @example
 * const warmed = learnIncidents(initIncidents(), replayedScores);
 */
export function learnIncidents(state: IncidentState, points: readonly ScoredPoint[]): IncidentState {
  let next: IncidentState = { ...state, open: null, calm: 0 };
  for (const point of points) {
    const update = updateIncidents(next, point);
    if (update.opened && update.shortMean !== null) {
      // An opening during the warm-up is not an incident: its mean is learned like any other.
      const bin = Math.min(next.config.tailBins - 1, Math.floor(update.shortMean * next.config.tailBins));
      next = { ...update.state, ...learn(next, update.shortMean, bin), open: null, calm: 0, opened: next.opened };
    } else {
      next = update.state;
    }
  }
  return next;
}
