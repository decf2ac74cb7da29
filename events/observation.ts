/** Events of the Observation engine (`autonomy.observation`): series and their anomalies. */
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
