/**
 * The Replication engine's shapes: a component's scaling configuration (metrics and targets,
 * min/max, the HPA behaviour, zones, predictive settings, the executor binding), an evaluation
 * request, a decision, and the record kept per component.
 */
import { z } from 'zod';
import { boundedNumberSchema, isoTimestampSchema } from '../../events/common.ts';
import { seriesNameSchema, tenantSchema } from '../../events/ids.ts';
import { lambdaConcurrencyBindingSchema, sageMakerEndpointBindingSchema } from '../execution/bindings.ts';
import { findActuation } from '../governance/actuations.ts';
import { environmentSchema } from '../governance/model.ts';
import { forecastModelNames } from '../observation/series-forecast.ts';
import { componentIdSchema } from '../reflex/schemas.ts';

/** Most metrics per component. */
export const MAX_METRICS = 10;
/** Decisions kept per component (the newest). */
export const MAX_DECISIONS = 20;
/** Recorded forecast periods kept for the forecast-only report. */
export const MAX_RECORDED_FORECASTS = 168;
/** The largest replica count the engine reads and records (Lambda accepts reserved concurrency up to 1000, SageMaker 1000 instances a variant). */
export const MAX_REPLICAS = 1000;

const scaleBound = findActuation('replication', 'scale')?.bounds?.replicas;
/**
 * The counts a `replication:scale` proposal may set: the actuation catalogue's bound
 * (lib/governance/actuations.ts), which L3 validation enforces. A component's `min` and `max` are
 * held to it, so the engine never decides a count its own proposal would be rejected for; raising
 * the catalogue's bound raises these with it.
 */
export const SCALE_MIN = scaleBound?.min ?? 1;
/** The largest count a `replication:scale` proposal may set (see {@link SCALE_MIN}). */
export const SCALE_MAX = scaleBound?.max ?? 50;

const count = z.number().int().min(0).max(MAX_REPLICAS);
const positive = z.number().positive().max(1e12);

/** One scaling policy (`Pods` or `Percent` per `periodSeconds`, at most 1800 as the HPA allows). */
export const scalingPolicySchema = z.strictObject({
  type: z.enum(['Pods', 'Percent']),
  value: z.number().int().min(1).max(100_000),
  periodSeconds: z.number().int().min(1).max(1800),
});

/** The rules of one direction; absent fields take the HPA's defaults. */
export const scalingRulesSchema = z.strictObject({
  stabilizationWindowSeconds: z.number().int().min(0).max(3600).optional(),
  selectPolicy: z.enum(['Max', 'Min', 'Disabled']).optional(),
  policies: z.array(scalingPolicySchema).min(1).max(10).optional(),
  tolerance: z.number().min(0).max(1).optional(),
});

/** A metric the component scales on: `average` per replica, or a `total` divided by the per-replica target. */
export const metricConfigSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.:/-]{1,64}$/, 'metric names are 1-64 of A-Z a-z 0-9 _ . : / -')
    .max(64),
  kind: z.enum(['average', 'total']).default('average'),
  /** The desired value (per replica). */
  target: positive,
  /** The Observation series whose newest point is the metric's value when an evaluation does not give it. */
  series: seriesNameSchema.optional(),
});

/** Predictive scaling: `off`, `forecast-only` (records what it would do) or `forecast-and-scale`. */
export const predictiveConfigSchema = z.strictObject({
  mode: z.enum(['off', 'forecast-only', 'forecast-and-scale']).default('forecast-only'),
  /** The load series (a total, e.g. requests per second). */
  series: seriesNameSchema,
  targetPerReplica: positive,
  bufferPercent: z.number().min(0).max(500).default(10),
  leadSeconds: z.number().int().min(0).max(86_400).default(600),
  horizon: z.number().int().min(1).max(168).default(24),
  model: z.enum(forecastModelNames).default('auto'),
  seasonLength: z.number().int().min(2).max(168).optional(),
});

/** The executor that sets the count: Lambda reserved concurrency, or a SageMaker variant's instance count. */
export const replicationBindingSchema = z.discriminatedUnion('kind', [
  lambdaConcurrencyBindingSchema.extend({ parameters: z.strictObject({}).default({}) }),
  sageMakerEndpointBindingSchema.extend({
    parameters: z.strictObject({
      variantName: z
        .string()
        .regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/)
        .max(63),
    }),
  }),
]);
/** A replication binding. */
export type ReplicationBinding = z.infer<typeof replicationBindingSchema>;

/** `PUT /replication/config`: one component's scaling configuration, replacing the previous one (its history stays). */
export const componentConfigSchema = z
  .strictObject({
    component: componentIdSchema,
    environment: environmentSchema.default('prod'),
    /** At least the catalogue's lower bound (1: Lambda concurrency 0 is a quarantine, not a scale). */
    min: z.number().int().min(SCALE_MIN).max(SCALE_MAX).default(SCALE_MIN),
    /** At most the catalogue's upper bound for `replication:scale` (50): beyond it L3 validation rejects the proposal. */
    max: z.number().int().min(SCALE_MIN).max(SCALE_MAX),
    metrics: z.array(metricConfigSchema).max(MAX_METRICS).default([]),
    behavior: z.strictObject({ scaleUp: scalingRulesSchema.optional(), scaleDown: scalingRulesSchema.optional() }).default({}),
    /** Availability zones the replicas spread over; two or more turn the N+1 check on. */
    zones: z
      .array(
        z
          .string()
          .regex(/^[a-z0-9-]{1,32}$/, 'zone names are 1-32 of a-z 0-9 -')
          .max(32),
      )
      .max(6)
      .default([]),
    /** `raise` the count to survive a zone's loss, or only `flag` the violation. */
    redundancy: z.enum(['raise', 'flag']).default('raise'),
    predictive: predictiveConfigSchema.optional(),
    /** Absent: the component's `scale-out` binding in the Reflex registry. */
    executor: replicationBindingSchema.optional(),
  })
  .refine((config) => config.min <= config.max, { path: ['min'], message: 'min must not exceed max' })
  .refine((config) => new Set(config.metrics.map((metric) => metric.name)).size === config.metrics.length, {
    path: ['metrics'],
    message: 'each metric name once',
  });
/** A component's configuration (defaults applied). */
export type ComponentConfig = z.infer<typeof componentConfigSchema>;

/** One replica's sample in an evaluation. */
const replicaSampleSchema = z.strictObject({ value: boundedNumberSchema.optional(), ready: z.boolean().optional() });

/** `POST /replication/evaluate`: metrics in (by configured name), a decision out. */
export const evaluateInputSchema = z.strictObject({
  component: componentIdSchema,
  /** The count now; absent, read through the executor. */
  current: count.optional(),
  metrics: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(64),
        value: boundedNumberSchema.optional(),
        replicas: z.array(replicaSampleSchema).max(MAX_REPLICAS).optional(),
      }),
    )
    .max(MAX_METRICS)
    .default([]),
  /** Compute and record the decision without proposing it. */
  dryRun: z.boolean().default(false),
});
/** An evaluation request. */
export type EvaluateInput = z.input<typeof evaluateInputSchema>;

/**
 * What became of a decision: `pending` its proposal waits at the gate; `blocked` an earlier
 * decision's proposal still waits there, so this one proposed nothing (one change in flight per component).
 */
export const decisionStatusSchema = z.enum(['no-change', 'recorded', 'pending', 'blocked', 'executed', 'failed', 'rejected', 'refused']);

/** What one metric recommended (the HPA's count and ratio), or why it could not. */
export const perMetricSchema = z.object({
  name: z.string().max(64),
  replicas: z.number().int().min(0).max(1e9).optional(),
  ratio: boundedNumberSchema.optional(),
  adjustedRatio: boundedNumberSchema.optional(),
  reason: z.string().max(200).optional(),
  error: z.string().max(200).optional(),
});

/** One scaling decision, as recorded and shown. */
export const decisionSchema = z.object({
  decisionId: z.string().max(64),
  at: isoTimestampSchema,
  /** Who asked: an API caller, the schedule, a promotion. */
  trigger: z.string().max(256),
  current: count,
  /** What the metrics ask for (the HPA's recommendation, with the predictive floor when it applies). */
  recommended: count,
  stabilized: count,
  /** What the HPA's policies and min/max allow. */
  reactive: count,
  /** The capacity the forecast asks for now (set only in forecast-and-scale mode; recorded in forecast-only). */
  predictive: count.nullable(),
  desired: count,
  limitedBy: z.string().max(64).optional(),
  redundancy: z
    .object({ ok: z.boolean(), afterZoneLoss: count, spread: z.record(z.string().max(32), count), reason: z.string().max(500) })
    .nullable(),
  perMetric: z.array(perMetricSchema).max(MAX_METRICS),
  reason: z.string().max(1000),
  status: decisionStatusSchema,
  proposalId: z.string().max(64).optional(),
  /** The gate's route for the proposal. */
  route: z.enum(['autonomous', 'l3-validation', 'human-approval']).optional(),
  /** A `blocked` decision: the proposal still waiting at the gate. */
  blockedBy: z.string().max(64).optional(),
  executionId: z.string().max(80).optional(),
  detail: z.string().max(2000).optional(),
  /** Milliseconds from the request to the decision (before any proposal), and to its end. */
  decisionMs: z.number().min(0).max(1e9),
  totalMs: z.number().min(0).max(1e9),
});
/** A decision. */
export type Decision = z.infer<typeof decisionSchema>;

const capacityPointSchema = z.object({ time: isoTimestampSchema, load: boundedNumberSchema, capacity: count });

/** The record kept per component: configuration, HPA history, decisions, forecasts. */
export const replicationRecordSchema = z.object({
  tenant: tenantSchema,
  component: componentIdSchema,
  config: componentConfigSchema,
  recommendations: z.array(z.object({ at: z.number().min(0).max(1e15), replicas: count })).max(2000),
  events: z.array(z.object({ at: z.number().min(0).max(1e15), change: z.number().int().min(-MAX_REPLICAS).max(MAX_REPLICAS) })).max(2000),
  decisions: z.array(decisionSchema).max(MAX_DECISIONS),
  /** The newest forecast's capacity plan. */
  forecast: z
    .object({
      at: isoTimestampSchema,
      model: z.string().max(16),
      intervalMs: z.number().min(1).max(1e12),
      plan: z.array(capacityPointSchema).max(168),
    })
    .nullable(),
  /** What the forecast said of each period when the period was next (for the forecast-only report). */
  recorded: z.array(capacityPointSchema).max(MAX_RECORDED_FORECASTS),
  updatedAt: isoTimestampSchema,
  updatedBy: z.string().max(256),
  version: z.number().int().min(0),
});
/** A component's replication record. */
export type ReplicationRecord = z.infer<typeof replicationRecordSchema>;

const nullableCount = count.nullable();

/** The forecast-only report: each past period's forecast and actual load, predictive and reactive capacity. */
export const forecastOnlyReportSchema = z.object({
  periods: z
    .array(
      z.object({
        time: isoTimestampSchema,
        forecastLoad: boundedNumberSchema,
        actualLoad: boundedNumberSchema.nullable(),
        predictiveCapacity: count,
        reactiveCapacity: nullableCount,
        neededCapacity: z.number().int().min(0).max(1e12).nullable(),
      }),
    )
    .max(MAX_RECORDED_FORECASTS),
  mape: z.number().min(0).max(1e12).nullable(),
  predictiveShort: z.number().int().min(0).max(MAX_RECORDED_FORECASTS),
  reactiveShort: z.number().int().min(0).max(MAX_RECORDED_FORECASTS),
});
