/** Events of the Observation engine (`autonomy.observation`): series and their anomalies. */
import { z } from 'zod';
import { defineEvent, detailSchema, isoTimestampSchema } from './common.ts';
import { seriesNameSchema } from './ids.ts';

const nullableNumber = z.number().nullable();

/**
 * Why a detector decided as it did: the window statistics and the band. Mirrors `Evidence` in
 * lib/observation/detector-contract.ts field for field (the unit test feeds a real detector's evidence
 * through it), but strict, so a new field there is a visible catalog change.
 */
export const evidenceSchema = z.strictObject({
  detector: z.string().min(1),
  config: z.record(z.string(), z.unknown()),
  n: z.int().nonnegative(),
  expected: nullableNumber,
  median: z.number().optional(),
  mad: z.number().optional(),
  mean: z.number().optional(),
  sd: z.number().optional(),
  scale: nullableNumber,
  scaleSource: z.enum(['mad', 'mean-abs-dev', 'sd', 'tau-scale', 'floor']).optional(),
  deviation: nullableNumber,
  threshold: z.number(),
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
    value: z.number(),
    score: z.number().nonnegative(),
    detector: z.string().min(1),
    anomaly: z.literal(true),
    labels: z.record(z.string(), z.string()).optional(),
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
    detector: z.string().min(1),
    /** The full configuration after defaults, as the detector will use it. */
    config: z.record(z.string(), z.unknown()),
    configuredBy: z.string().min(1),
    configuredAt: isoTimestampSchema,
  }),
});
/** The detail of `observation.series.configured`. */
export type SeriesConfigured = z.infer<typeof seriesConfigured.schema>;
