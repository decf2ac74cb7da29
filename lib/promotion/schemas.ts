/**
 * The Promotion engine's shapes: a promotion request, a promotion as stored and shown, posted
 * metric samples, an abort. Every string is bounded; numbers have finite ranges.
 */
import { z } from 'zod';
import { isoTimestampSchema, MAX_TEXT_LENGTH } from '../../events/common.ts';
import { actorSchema, tenantSchema } from '../../events/ids.ts';
import { lambdaAliasBindingSchema, sageMakerEndpointBindingSchema } from '../execution/bindings.ts';
import { judgeConfigSchema, metricRuleSchema, stepReportSchema } from './report-schemas.ts';

/** Stages a version moves through; a promotion targets the stage after the one the version is in. */
export const stageSchema = z.enum(['dev', 'staging', 'prod']);
/** A stage. */
export type Stage = z.infer<typeof stageSchema>;

const versionNumber = z
  .string()
  .regex(/^\d{1,10}$/, 'must be a published Lambda version number')
  .max(10);
const variantName = z
  .string()
  .regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'must be a SageMaker variant name')
  .max(63);

/**
 * Where traffic shifts. A Lambda alias routes to at most two versions: its version (the baseline,
 * see the README) and the canary's. A SageMaker endpoint holds three production variants: the
 * primary, a baseline deployed fresh with the primary's model, and the canary.
 */
export const trafficTargetSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('lambda-alias'),
    /** The alias ARN. */
    resource: lambdaAliasBindingSchema.shape.resource,
    /** The canary's published version. */
    canaryVersion: versionNumber,
    /** A version published fresh from the primary's code and configuration (absent: the primary version itself is the baseline). */
    baselineVersion: versionNumber.optional(),
  }),
  z.object({
    kind: z.literal('sagemaker-endpoint'),
    /** The endpoint ARN. */
    resource: sageMakerEndpointBindingSchema.shape.resource,
    primaryVariant: variantName,
    baselineVariant: variantName,
    canaryVariant: variantName,
  }),
]);
/** A traffic target. */
export type TrafficTarget = z.infer<typeof trafficTargetSchema>;

/** Default canary weights in percent. */
export const DEFAULT_STEPS = [5, 25, 50, 100] as const;

/** `POST /promotion/promotions`: promote a version of a component to a stage. */
export const promotionInputSchema = z.object({
  /** The component (the governance target is `component/<component>`). */
  component: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ -'),
  /** The version label promoted (an artifact's semver, or a Lambda version). */
  version: z.string().min(1).max(64),
  /** The stage promoted to (the version comes from the one before it: dev → staging → prod). */
  stage: z.enum(['staging', 'prod']),
  /** The versioned artifact, when the Versioning engine knows it: a breaking version needs approval. */
  artifact: z.object({ name: z.string().min(1).max(128), version: z.string().min(1).max(64) }).optional(),
  target: trafficTargetSchema,
  /** Canary weights in percent, increasing, ending at 100. */
  steps: z
    .array(z.number().int().min(1).max(100))
    .min(1)
    .max(10)
    .default([...DEFAULT_STEPS])
    .refine((steps) => steps.every((w, i) => i === 0 || w > (steps[i - 1] as number)), 'weights must increase')
    .refine((steps) => steps.at(-1) === 100, 'the last weight must be 100'),
  /** Seconds each step bakes before the judge looks (small in tests). */
  bakeSeconds: z.number().int().min(1).max(86_400).default(300),
  /**
   * Seconds a step may wait past its bake for every metric to reach `judge.minSamples` values on
   * each side (samples arrive late: a collector's batch, a quiet hour) before it is judged on what
   * it has (default: one more bake time). A step never waits longer than this for data.
   */
  dataWaitSeconds: z.number().int().min(0).max(86_400).optional(),
  metrics: z.array(metricRuleSchema).min(1).max(20),
  judge: judgeConfigSchema.default({ confidenceLevel: 0.95, passThreshold: 95, marginalThreshold: 75, outlierK: 1.5, minSamples: 5 }),
  /**
   * Where the judge reads each metric: `observation` — the Observation engine's series
   * `<series>.canary.<metric>` and `<series>.baseline.<metric>` (points inside the step's bake
   * window); `posted` — samples posted to `POST /promotion/metrics` for the step.
   */
  metricsSource: z.enum(['observation', 'posted']).default('posted'),
  /** The series prefix for the `observation` source (default: the component). */
  series: z.string().min(1).max(200).optional(),
  reason: z.string().min(1).max(MAX_TEXT_LENGTH).default('promotion requested'),
});
/** A promotion request (input form). */
export type PromotionInputRaw = z.input<typeof promotionInputSchema>;
/** A promotion request. */
export type PromotionInput = z.infer<typeof promotionInputSchema>;

/** Weights in percent of each side. */
export const weightsSchema = z.object({
  canary: z.number().min(0).max(100),
  baseline: z.number().min(0).max(100),
  primary: z.number().min(0).max(100),
});
/** Weights in percent. */
export type Weights = z.infer<typeof weightsSchema>;

/** Where a promotion stands. */
export const promotionStatusSchema = z.enum([
  'awaiting-approval',
  'running',
  'baking',
  'paused',
  'promoted',
  'rolled-back',
  'refused',
  'failed',
]);
/** A promotion status. */
export type PromotionStatus = z.infer<typeof promotionStatusSchema>;

/** What the state machine does next. */
export const promotionNextSchema = z.enum(['approval', 'shift', 'judge', 'pause', 'rollback', 'end']);
/** A next step. */
export type PromotionNext = z.infer<typeof promotionNextSchema>;

/** What the traffic looked like before the promotion (what a roll-back restores). */
export const originalTrafficSchema = z.object({
  /** A Lambda alias: its version and additional version weights. */
  functionVersion: z.string().max(16).optional(),
  additionalVersionWeights: z.record(z.string().max(16), z.number().min(0).max(1)).optional(),
  /** A SageMaker endpoint: each variant's weight and instance count. */
  variants: z
    .record(z.string().max(63), z.object({ weight: z.number().min(0).max(1000), instanceCount: z.number().int().min(0).max(1000) }))
    .optional(),
});
/** The traffic before a promotion. */
export type OriginalTraffic = z.infer<typeof originalTrafficSchema>;

/** A promotion as stored and shown. */
export const promotionSchema = z.object({
  tenant: tenantSchema,
  promotionId: z.string().min(1).max(64),
  component: z.string().max(128),
  /** The version promoted (the request's `version`; `version` here is the write version). */
  release: z.string().max(64),
  fromStage: stageSchema,
  stage: z.enum(['staging', 'prod']),
  artifact: z.object({ name: z.string().max(128), version: z.string().max(64) }).optional(),
  target: trafficTargetSchema,
  steps: z.array(z.number().int().min(1).max(100)).max(10),
  bakeSeconds: z.number().int().min(1).max(86_400),
  /** Seconds a step may wait past its bake for data (absent on promotions made before it: one bake time). */
  dataWaitSeconds: z.number().int().min(0).max(86_400).optional(),
  metrics: z.array(metricRuleSchema).max(20),
  judge: judgeConfigSchema,
  metricsSource: z.enum(['observation', 'posted']),
  series: z.string().max(200),
  requestedBy: actorSchema,
  reason: z.string().max(MAX_TEXT_LENGTH),
  status: promotionStatusSchema,
  next: promotionNextSchema,
  /** The step being rolled out or judged (index into `steps`); -1 before the first. */
  step: z.number().int().min(-1).max(10),
  weights: weightsSchema,
  /** The promotion's governance proposal (prod: decided by people). */
  proposalId: z.string().max(64).optional(),
  route: z.string().max(32).optional(),
  /** The proposal that asks a person about a marginal step. */
  pauseProposalId: z.string().max(64).optional(),
  /** The version gate's verdict (breaking versions need people). */
  versionCheck: z.object({ breaking: z.boolean(), detail: z.string().max(MAX_TEXT_LENGTH) }).optional(),
  original: originalTrafficSchema.optional(),
  reports: z.array(stepReportSchema).max(10),
  bake: z.object({ from: isoTimestampSchema, to: isoTimestampSchema }).optional(),
  /** Seconds the machine waits before the next step. */
  waitSeconds: z.number().int().min(0).max(86_400),
  abort: z.object({ by: actorSchema, reason: z.string().max(MAX_TEXT_LENGTH), at: isoTimestampSchema }).optional(),
  /** Time spent: baking and waiting for people are counted apart from the deployment itself. */
  timing: z.object({
    bakeMs: z.number().min(0).max(1e12),
    peopleMs: z.number().min(0).max(1e12),
    /** Since when the promotion waits for people (an approval or a paused step). */
    waitingSince: isoTimestampSchema.optional(),
    /** Total, bake and people excluded (set when it ends). */
    deploymentMs: z.number().min(0).max(1e12).optional(),
    totalMs: z.number().min(0).max(1e12).optional(),
  }),
  execution: z.string().max(80).optional(),
  outcomeReason: z.string().max(MAX_TEXT_LENGTH),
  createdAt: isoTimestampSchema,
  updatedAt: isoTimestampSchema,
  finishedAt: isoTimestampSchema.optional(),
  version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
/** A promotion. */
export type Promotion = z.infer<typeof promotionSchema>;

/** A promotion as the API shows it: without the write version. */
export const promotionViewSchema = promotionSchema.omit({ version: true });

/** `POST /promotion/metrics`: samples of metrics for one step, canary and baseline. */
export const metricsInputSchema = z.object({
  promotionId: z.string().min(1).max(64),
  /** The step (index into the promotion's steps) the samples were observed in. */
  step: z.number().int().min(0).max(9),
  metrics: z
    .record(
      z.string().min(1).max(128),
      z.object({
        canary: z.array(z.number().min(-1e100).max(1e100)).max(500).default([]),
        baseline: z.array(z.number().min(-1e100).max(1e100)).max(500).default([]),
      }),
    )
    .refine((metrics) => Object.keys(metrics).length >= 1 && Object.keys(metrics).length <= 20, 'give 1 to 20 metrics'),
});
/** Posted samples. */
export type MetricsInput = z.infer<typeof metricsInputSchema>;

/** Samples kept per side, metric and step (the newest win). */
export const MAX_SAMPLES_PER_SIDE = 1000;

/** `DELETE /promotion/promotions`: abort a promotion, which rolls it back. */
export const abortInputSchema = z.object({
  promotionId: z.string().min(1).max(64),
  reason: z.string().min(1).max(MAX_TEXT_LENGTH).default('aborted by request'),
});
/** An abort request. */
export type AbortInput = z.infer<typeof abortInputSchema>;

/** `GET /promotion/status`: one promotion or the newest ones. */
export const statusInputSchema = z.object({
  promotionId: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(50).default(20),
});
/** A status query. */
export type StatusInput = z.infer<typeof statusInputSchema>;
