/** Events of the Observation engine (`autonomy.observation`): series, their anomalous points and their incidents. */
import { z } from 'zod';
import { boundedNumberSchema, defineEvent, detailSchema, isoTimestampSchema, MAX_NUMBER_MAGNITUDE } from './common.ts';
import { actorSchema, seriesNameSchema } from './ids.ts';

/**
 * Every number an observation event carries is within ±1e100: point values are accepted only
 * there, and the engine saturates the figures it derives (a score against a zero spread can reach
 * ~1e109) before publishing, so the audit ledger and every consumer can store them.
 */
const nullableNumber = boundedNumberSchema.nullable();

/** A detector's name (`robust`, `seasonal`, `ewma`; the catalog takes no list from lib/). */
const detectorNameText = z.string().min(1).max(32);

/** Most settings a detector configuration holds (the largest, `seasonal`, has 12). */
export const MAX_DETECTOR_SETTINGS = 32;

/**
 * A detector's settings as published: names ≤ 64 characters, values a number within ±1e100, a
 * short word (`direction`) or a boolean, at most {@link MAX_DETECTOR_SETTINGS} of them. Each
 * detector's own schema (lib/observation/schemas.ts) bounds each setting more tightly.
 */
export const detectorSettingsSchema = z
  .record(z.string().min(1).max(64), z.union([boundedNumberSchema, z.string().max(64), z.boolean()]))
  .refine((settings) => Object.keys(settings).length <= MAX_DETECTOR_SETTINGS, { message: `at most ${MAX_DETECTOR_SETTINGS} settings` });

/** A detector's settings as published. */
export type DetectorSettings = z.infer<typeof detectorSettingsSchema>;

/** Labels of a point, as lib/observation/schemas.ts accepts them: keys ≤ 64, values ≤ 256 characters, at most 20. */
const labelsSchema = z
  .record(z.string().min(1).max(64), z.string().max(256))
  .refine((labels) => Object.keys(labels).length <= 20, { message: 'at most 20 labels' });

/**
 * Why a detector decided as it did: the window statistics and the band. Mirrors `Evidence` in
 * lib/observation/detector-contract.ts field for field (the unit test feeds a real detector's evidence
 * through it), but strict, so a new field there is a visible catalog change.
 */
export const evidenceSchema = z.strictObject({
  detector: detectorNameText,
  config: detectorSettingsSchema,
  n: z.int().nonnegative(),
  expected: nullableNumber,
  median: boundedNumberSchema.optional(),
  mad: boundedNumberSchema.optional(),
  mean: boundedNumberSchema.optional(),
  sd: boundedNumberSchema.optional(),
  scale: nullableNumber,
  scaleSource: z.enum(['mad', 'mean-abs-dev', 'sd', 'tau-scale', 'floor']).optional(),
  deviation: nullableNumber,
  threshold: boundedNumberSchema,
  lower: nullableNumber,
  upper: nullableNumber,
  warmingUp: z.boolean(),
  phase: z.int().nonnegative().optional(),
  skipped: z.enum(['out-of-order', 'duplicate']).optional(),
});
/** The evidence of a detector decision, as carried on the bus. */
export type EventEvidence = z.infer<typeof evidenceSchema>;

/** `observation.anomaly.detected` v1: a scored point fell outside its detector's band. */
export const anomalyDetected = defineEvent({
  source: 'autonomy.observation',
  detailType: 'observation.anomaly.detected',
  version: '1',
  description: "A metric point fell outside its detector's band; starts the self-repair loop (reflex diagnoses it).",
  schema: detailSchema('1', {
    series: seriesNameSchema,
    /** The point's time (ISO); with tenant and series, the natural key for idempotent consumers. */
    timestamp: isoTimestampSchema,
    value: boundedNumberSchema,
    score: z.number().nonnegative().max(MAX_NUMBER_MAGNITUDE),
    detector: detectorNameText,
    anomaly: z.literal(true),
    labels: labelsSchema.optional(),
    evidence: evidenceSchema,
  }).superRefine((detail, ctx) => {
    if (detail.evidence.detector !== detail.detector) {
      ctx.addIssue({ code: 'custom', path: ['evidence', 'detector'], message: `must equal detector (${detail.detector})` });
    }
    if (detail.evidence.warmingUp || detail.evidence.skipped !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['evidence'], message: 'an anomaly comes from a scored point (not warming up, not skipped)' });
    }
  }),
});
/** The detail of `observation.anomaly.detected`. */
export type AnomalyDetected = z.infer<typeof anomalyDetected.schema>;

/** `observation.series.configured` v1: a series got (or changed) its detector. */
export const seriesConfigured = defineEvent({
  source: 'autonomy.observation',
  detailType: 'observation.series.configured',
  version: '1',
  description: 'A series was given a detector and configuration (new, or changed); its window starts afresh.',
  schema: detailSchema('1', {
    series: seriesNameSchema,
    detector: detectorNameText,
    /** The full configuration after defaults, as the detector will use it. */
    config: detectorSettingsSchema,
    configuredBy: actorSchema,
    configuredAt: isoTimestampSchema,
  }),
});
/** The detail of `observation.series.configured`. */
export type SeriesConfigured = z.infer<typeof seriesConfigured.schema>;

/** A point of an incident: its time, value and detector score. */
const incidentPointSchema = z.strictObject({
  timestamp: isoTimestampSchema,
  value: boundedNumberSchema,
  score: z.number().nonnegative().max(MAX_NUMBER_MAGNITUDE),
});

/** A summary of an incident's detector scores: points so far (the opening one included), their mean and maximum. */
const incidentScoresSchema = z.strictObject({
  points: z.int().positive(),
  mean: z.number().nonnegative().max(MAX_NUMBER_MAGNITUDE),
  max: z.number().nonnegative().max(MAX_NUMBER_MAGNITUDE),
});

/** A probability or Numenta log-likelihood, in [0, 1]. */
const unitSchema = z.number().min(0).max(1);

/**
 * The anomaly likelihood behind an opening (lib/observation/incidents.ts): the likelihood
 * `Φ((m − μ)/σ)` and Numenta's log form of it (0.5 ≈ 0.99999), from the short-term mean `m` of
 * squashed scores and the series' long-term Gaussian (μ, σ).
 */
const openingLikelihoodSchema = z.strictObject({
  likelihood: unitSchema,
  logLikelihood: unitSchema,
  shortMean: unitSchema,
  longMean: unitSchema,
  longSd: z.number().positive().max(1),
});

/**
 * `observation.incident.opened` v1: a series' recent scores became unlikely enough to open an
 * incident. (tenant, series, start) is its natural key: consumers deduplicate on it, and the
 * `.closed` event of the same incident carries the same start.
 */
export const incidentOpened = defineEvent({
  source: 'autonomy.observation',
  detailType: 'observation.incident.opened',
  version: '1',
  description:
    "A series' anomaly likelihood crossed its opening level: one incident opens (no other on the series until it closes); starts the self-repair loop.",
  schema: detailSchema('1', {
    series: seriesNameSchema,
    detector: detectorNameText,
    /** The opening point's time (ISO). */
    start: isoTimestampSchema,
    /** The point with the highest detector score so far (at opening: the opening point). */
    peak: incidentPointSchema,
    likelihood: openingLikelihoodSchema,
    scores: incidentScoresSchema,
    labels: labelsSchema.optional(),
    /** The detector's evidence for the opening point (expected value, band, scale). */
    evidence: evidenceSchema,
  }).superRefine((detail, ctx) => {
    if (detail.evidence.detector !== detail.detector) {
      ctx.addIssue({ code: 'custom', path: ['evidence', 'detector'], message: `must equal detector (${detail.detector})` });
    }
    if (detail.scores.max !== detail.peak.score) {
      ctx.addIssue({ code: 'custom', path: ['scores', 'max'], message: 'must equal the peak score' });
    }
    if (Date.parse(detail.peak.timestamp) < Date.parse(detail.start)) {
      ctx.addIssue({ code: 'custom', path: ['peak', 'timestamp'], message: 'the peak cannot precede the start' });
    }
  }),
});
/** The detail of `observation.incident.opened`. */
export type IncidentOpened = z.infer<typeof incidentOpened.schema>;

/** `observation.incident.closed` v1: an open incident ended (its series calmed down, or got another detector). */
export const incidentClosed = defineEvent({
  source: 'autonomy.observation',
  detailType: 'observation.incident.closed',
  version: '1',
  description:
    'An open incident ended: its log-likelihood stayed below the closing level for the set number of points (recovered), or its series got a new detector (reconfigured).',
  schema: detailSchema('1', {
    series: seriesNameSchema,
    detector: detectorNameText,
    /** The incident's start, as in its `observation.incident.opened`. */
    start: isoTimestampSchema,
    /** The time of the point that closed it (the last calm one), or of the newest point seen on a reconfiguration. */
    end: isoTimestampSchema,
    durationMs: z.int().nonnegative(),
    reason: z.enum(['recovered', 'reconfigured']),
    peak: incidentPointSchema,
    /** The likelihood and log-likelihood when it opened, and the highest log-likelihood while it was open. */
    likelihood: z.strictObject({ likelihood: unitSchema, logLikelihood: unitSchema, maxLogLikelihood: unitSchema }),
    scores: incidentScoresSchema,
  }).superRefine((detail, ctx) => {
    const start = Date.parse(detail.start);
    const end = Date.parse(detail.end);
    if (end < start) ctx.addIssue({ code: 'custom', path: ['end'], message: 'must not precede start' });
    else if (detail.durationMs !== end - start) ctx.addIssue({ code: 'custom', path: ['durationMs'], message: 'must equal end − start' });
    if (detail.scores.max !== detail.peak.score) {
      ctx.addIssue({ code: 'custom', path: ['scores', 'max'], message: 'must equal the peak score' });
    }
    if (detail.likelihood.maxLogLikelihood < detail.likelihood.logLikelihood) {
      ctx.addIssue({ code: 'custom', path: ['likelihood', 'maxLogLikelihood'], message: 'cannot be below the opening log-likelihood' });
    }
  }),
});
/** The detail of `observation.incident.closed`. */
export type IncidentClosed = z.infer<typeof incidentClosed.schema>;
