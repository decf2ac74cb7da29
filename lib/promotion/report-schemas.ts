/**
 * The judge's shapes, zod only (the event catalog imports them): metric rules, the judge's
 * settings, and the per-metric and per-step reports as the ledger and `GET /promotion/status` show them.
 */
import { z } from 'zod';
import { isoTimestampSchema, MAX_TEXT_LENGTH } from '../../events/common.ts';

/** Which change of a metric hurts. */
export const metricDirectionSchema = z.enum(['increase-is-bad', 'decrease-is-bad', 'either']);
/** A metric direction. */
export type MetricDirection = z.infer<typeof metricDirectionSchema>;

/** How one metric is judged. */
export const metricRuleSchema = z.object({
  /** The metric's name (the series name under the canary's and the baseline's component). */
  name: z.string().min(1).max(128),
  direction: metricDirectionSchema.default('increase-is-bad'),
  /** A critical metric that fails fails the whole judgement, whatever the score. */
  critical: z.boolean().default(false),
  weight: z.number().positive().max(1000).default(1),
  /** The allowed effect in units of the baseline's robust spread (see the module doc); 0 = any significant change in the bad direction fails. */
  allowedEffect: z.number().min(0).max(100).default(1),
});
/** A metric rule (input form: defaults may be omitted). */
export type MetricRuleInput = z.input<typeof metricRuleSchema>;
/** A metric rule. */
export type MetricRule = z.infer<typeof metricRuleSchema>;

/** The judge's settings. */
export const judgeConfigSchema = z
  .object({
    /** Confidence level of the test and of the interval. */
    confidenceLevel: z.number().min(0.5).max(0.999).default(0.95),
    passThreshold: z.number().min(0).max(100).default(95),
    marginalThreshold: z.number().min(0).max(100).default(75),
    /** Tukey's k for outlier removal. */
    outlierK: z.number().min(0.5).max(10).default(1.5),
    /** Values each side needs after outlier removal. */
    minSamples: z.number().int().min(3).max(1000).default(5),
  })
  .refine((config) => config.marginalThreshold <= config.passThreshold, {
    message: 'marginalThreshold must not exceed passThreshold',
    path: ['marginalThreshold'],
  });
/** The judge's settings (input form). */
export type JudgeConfigInput = z.input<typeof judgeConfigSchema>;
/** The judge's settings. */
export type JudgeConfig = z.infer<typeof judgeConfigSchema>;

const boundedNumber = z.number().min(-1e100).max(1e100);
const nullableNumber = boundedNumber.nullable();

/** One metric's report as stored (lib/promotion/judge.ts MetricReport). */
export const metricReportSchema = z.object({
  name: z.string().max(128),
  direction: z.enum(['increase-is-bad', 'decrease-is-bad', 'either']),
  critical: z.boolean(),
  weight: z.number().min(0).max(1000),
  canary: z.object({ n: z.number().int().min(0).max(1e9), removed: z.number().int().min(0).max(1e9), median: nullableNumber }),
  baseline: z.object({ n: z.number().int().min(0).max(1e9), removed: z.number().int().min(0).max(1e9), median: nullableNumber }),
  u: nullableNumber,
  p: z.number().min(0).max(1).nullable(),
  method: z.enum(['exact', 'asymptotic']).nullable(),
  shift: z
    .object({ estimate: boundedNumber, lower: boundedNumber, upper: boundedNumber, confidenceLevel: z.number().min(0).max(1) })
    .nullable(),
  baselineScale: nullableNumber,
  allowedEffect: nullableNumber,
  significant: z.boolean(),
  classification: z.enum(['high', 'low', 'same', 'nodata']),
  verdict: z.enum(['pass', 'fail', 'nodata']),
  reason: z.string().max(MAX_TEXT_LENGTH),
});

/** One step's judgement as stored and shown. */
export const stepReportSchema = z.object({
  step: z.number().int().min(0).max(9),
  weight: z.number().min(0).max(100),
  score: z.number().min(0).max(100),
  decision: z.enum(['pass', 'marginal', 'fail']),
  criticalFailures: z.array(z.string().max(128)).max(20),
  reason: z.string().max(MAX_TEXT_LENGTH),
  metrics: z.array(metricReportSchema).max(20),
  window: z.object({ from: isoTimestampSchema, to: isoTimestampSchema }),
  judgedAt: isoTimestampSchema,
});
/** A step's judgement. */
export type StepReport = z.infer<typeof stepReportSchema>;
