/**
 * Observation engine schemas: metric points as they arrive, ingest batches, and the per-detector
 * configuration that a series selects by name. Timestamps are normalised to epoch milliseconds
 * here, once, so detectors only ever compare numbers.
 */
import { z } from 'zod';
import { MAX_NUMBER_MAGNITUDE, MAX_TIMESTAMP_LENGTH } from '../../events/common.ts';
import { seriesNameSchema } from '../../events/ids.ts';
import { ValidationError } from '../errors.ts';

/** Largest number of points one ingest batch may carry. */
export const MAX_BATCH_POINTS = 500;
/** Largest number of labels on one point: bounds the item size the lead stores per point. */
export const MAX_LABELS = 20;

/** A validated series name (`seriesNameSchema`, defined in events/ids.ts). */
export type SeriesName = z.infer<typeof seriesNameSchema>;

/**
 * An ISO 8601 date-time with an explicit offset (`Z` or `±hh:mm`), parsed to epoch milliseconds.
 * A local time without offset is rejected: its instant would depend on the server's zone.
 */
export const timestampSchema = z.iso
  .datetime({ offset: true, message: 'timestamp must be an ISO 8601 date-time with Z or an offset' })
  .max(MAX_TIMESTAMP_LENGTH)
  .transform((text) => Date.parse(text))
  .pipe(z.number().int().min(0, 'timestamp must not be before 1970-01-01'));

const labelKeySchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_.:-]*$/, 'label keys start with a letter or _ and use letters, digits, _ . : -');
const labelValueSchema = z.string().max(256);

/** Labels on a point: at most {@link MAX_LABELS} entries, keys ≤ 64 and values ≤ 256 characters. */
export const labelsSchema = z
  .record(labelKeySchema, labelValueSchema)
  .refine((labels) => Object.keys(labels).length <= MAX_LABELS, { message: `at most ${MAX_LABELS} labels` });

/**
 * The largest magnitude a point may have: the product-wide bound (events/common.ts). Squares of
 * larger values overflow the running variance (a series would be stuck with a state it cannot
 * store); no real metric comes near it.
 */
export const MAX_ABS_VALUE = MAX_NUMBER_MAGNITUDE;

/** Most issues reported per rejected point (a point with many bad labels has one per label). */
export const MAX_ISSUES_PER_POINT = 20;

/**
 * Largest residual clip (`huberK`, `clip`) in scales: beyond the largest threshold (1000) a clip
 * clips nothing a detector would not already flag.
 */
export const MAX_CLIP_SCALES = 1000;

/** Largest sampling interval of a seasonal series: 366 days (yearly data has no useful season below that). */
export const MAX_INTERVAL_MS = 366 * 24 * 3600 * 1000;

/**
 * One metric point. Input `timestamp` is an ISO string; the parsed point carries epoch ms.
 * `value` must be finite and within ±{@link MAX_ABS_VALUE} (NaN and ±Infinity poison every window statistic).
 */
export const metricPointSchema = z.object({
  series: seriesNameSchema,
  timestamp: timestampSchema,
  value: z.number().finite().min(-MAX_ABS_VALUE).max(MAX_ABS_VALUE),
  labels: labelsSchema.default({}),
});
/** A validated metric point (timestamp in epoch ms). */
export type MetricPoint = z.infer<typeof metricPointSchema>;
/** A metric point as a client sends it (timestamp as ISO string). */
export type MetricPointInput = z.input<typeof metricPointSchema>;

/** An ingest batch: 1..{@link MAX_BATCH_POINTS} points, all valid (strict form; see {@link validateBatch}). */
export const metricBatchSchema = z.array(metricPointSchema).min(1).max(MAX_BATCH_POINTS);
/** A validated ingest batch. */
export type MetricBatch = z.infer<typeof metricBatchSchema>;

/** One rejected point of a batch: its index in the input, the first problem and its field path. */
export interface RejectedPoint {
  index: number;
  /** Human-readable reason of the first issue (all issues are in `issues`). */
  reason: string;
  /** Dotted path of the first issue inside the point (`''` when the point itself is not an object). */
  path: string;
  issues: { path: string; message: string }[];
}

/** The outcome of {@link validateBatch}: good points kept in input order, bad ones listed. */
export interface BatchValidation {
  accepted: MetricPoint[];
  rejected: RejectedPoint[];
}

/**
 * Validates a batch point by point, so one bad point does not sink the others.
 *
 * Constraints: the batch itself must hold 1..500 entries; each entry is parsed with
 * {@link metricPointSchema}.
 * @throws {ValidationError} when `raw` is not an array or its length is outside 1..500 (path `points`).
 * @example
 * const { accepted, rejected } = validateBatch([
 *   { series: 'api.latency', timestamp: '2026-01-01T00:00:00Z', value: 12 },
 *   { series: 'api.latency', timestamp: 'yesterday', value: 13 },
 * ]);
 * // accepted.length === 1; rejected[0] → { index: 1, path: 'timestamp', reason: '…' }
 */
export function validateBatch(raw: unknown[]): BatchValidation {
  if (!Array.isArray(raw)) throw new ValidationError([{ path: 'points', message: 'points must be an array' }]);
  if (raw.length < 1 || raw.length > MAX_BATCH_POINTS) {
    throw new ValidationError([{ path: 'points', message: `a batch holds 1 to ${MAX_BATCH_POINTS} points (got ${raw.length})` }]);
  }
  const accepted: MetricPoint[] = [];
  const rejected: RejectedPoint[] = [];
  raw.forEach((entry, index) => {
    const parsed = metricPointSchema.safeParse(entry);
    if (parsed.success) {
      accepted.push(parsed.data);
      return;
    }
    const issues = parsed.error.issues
      .slice(0, MAX_ISSUES_PER_POINT)
      .map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
    const first = issues[0] ?? { path: '', message: 'invalid point' };
    rejected.push({ index, reason: first.message, path: first.path, issues });
  });
  return { accepted, rejected };
}

/** Which side of the expected value counts as anomalous. */
export const directionSchema = z.enum(['both', 'up', 'down']);
/** Which side of the expected value counts as anomalous. */
export type Direction = z.infer<typeof directionSchema>;

/** Configuration of the `robust` (rolling median/MAD) detector. */
export const robustConfigSchema = z
  .object({
    windowSize: z.number().int().min(8).max(1024).default(64),
    warmup: z.number().int().min(3).max(1024).default(32),
    threshold: z.number().positive().max(1000).default(4),
    direction: directionSchema.default('both'),
    /** Absolute lower bound on the scale, in the series' units (at most a value's bound); 0 means "derive a floor from the median". */
    minScale: z.number().min(0).max(MAX_ABS_VALUE).default(0),
  })
  .refine((config) => config.warmup <= config.windowSize, { message: 'warmup must not exceed windowSize', path: ['warmup'] });
/** Configuration of the `robust` detector. */
export type RobustConfig = z.infer<typeof robustConfigSchema>;

/** Configuration of the `seasonal` (robust additive Holt-Winters) detector. */
export const seasonalConfigSchema = z.object({
  /** Points per season (e.g. 24 for hourly data with a daily cycle). Bounds the state: m numbers. */
  seasonLength: z.number().int().min(2).max(2016).default(24),
  /**
   * Sampling interval in ms. When set, the seasonal phase comes from the timestamp (gaps keep the
   * phase right); when absent, from the count of accepted points (assumes regular sampling).
   */
  intervalMs: z.number().int().positive().max(MAX_INTERVAL_MS).optional(),
  alpha: z.number().min(0).max(1).default(0.1),
  /** Trend smoothing; 0 (default) disables the trend: most operational metrics are level + season. */
  beta: z.number().min(0).max(1).default(0),
  gamma: z.number().min(0).max(1).default(0.1),
  /** Smoothing of the residual scale (Gelper–Fried–Croux τ-scale recursion). */
  lambda: z.number().min(0.001).max(1).default(0.05),
  /** Residuals beyond `huberK` scales are clipped before they update level and season. */
  huberK: z.number().positive().max(MAX_CLIP_SCALES).default(2),
  threshold: z.number().positive().max(1000).default(4),
  direction: directionSchema.default('both'),
  minScale: z.number().min(0).max(MAX_ABS_VALUE).default(0),
  /**
   * Seasons of data collected before the first score; at least 2. The default 3 lets the per-phase
   * median of the warm-up ignore one anomalous season.
   */
  warmupSeasons: z.number().int().min(2).max(10).default(3),
});
/** Configuration of the `seasonal` detector. */
export type SeasonalConfig = z.infer<typeof seasonalConfigSchema>;

/** Configuration of the `ewma` (exponentially weighted mean/variance control chart) detector. */
export const ewmaConfigSchema = z.object({
  lambda: z.number().min(0.001).max(1).default(0.05),
  warmup: z.number().int().min(3).max(100000).default(30),
  threshold: z.number().positive().max(1000).default(4),
  direction: directionSchema.default('both'),
  /** Values beyond `clip` standard deviations update the chart as if they sat at the limit. */
  clip: z.number().positive().max(MAX_CLIP_SCALES).default(3),
  minScale: z.number().min(0).max(MAX_ABS_VALUE).default(0),
});
/** Configuration of the `ewma` detector. */
export type EwmaConfig = z.infer<typeof ewmaConfigSchema>;

/**
 * Configuration of the `knn` (conformal k-nearest-neighbour) detector. The state holds `window` values
 * and `calibration` scores, so both are bounded; the window must hold at least `k` candidate vectors
 * outside the scored vector's exclusion zone (`dim + ceil(dim / 2) + k − 1` values).
 */
export const knnConfigSchema = z
  .object({
    /** Values per vector (the shape compared). */
    dim: z.number().int().min(1).max(64).default(8),
    /** Neighbours averaged into the non-conformity. */
    k: z.number().int().min(1).max(32).default(3),
    /** Values kept to find neighbours in. */
    window: z.number().int().min(8).max(512).default(96),
    /** Past non-conformities the score is judged against. */
    calibration: z.number().int().min(8).max(512).default(32),
    /** Accepted points before the first score (the window and calibration set must fill first anyway). */
    warmup: z.number().int().min(3).max(100000).default(60),
    threshold: z.number().positive().max(1000).default(4),
    minScale: z.number().min(0).max(MAX_ABS_VALUE).default(0),
  })
  .refine((config) => config.window >= config.dim + Math.ceil(config.dim / 2) + config.k - 1, {
    message: 'window must hold at least dim + ceil(dim / 2) + k - 1 values',
    path: ['window'],
  });
/** Configuration of the `knn` detector. */
export type KnnConfig = z.infer<typeof knnConfigSchema>;

/** The detector names a series may select. */
export const detectorNameSchema = z.enum(['robust', 'seasonal', 'ewma', 'knn']);
/** A detector name. */
export type DetectorName = z.infer<typeof detectorNameSchema>;

/** A series' detector choice as the lead stores it: a name plus a (partial) configuration. */
export const seriesDetectorSchema = z.object({
  detector: detectorNameSchema.default('robust'),
  config: z.record(z.string(), z.unknown()).default({}),
});
/** A series' detector choice. */
export type SeriesDetector = z.infer<typeof seriesDetectorSchema>;
