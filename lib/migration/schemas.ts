/**
 * The Migration vocabulary, defined once: pools (where workloads can run, with capacities and
 * prices), workloads (what they need, where they run now, how their traffic moves), placements and
 * plans. Zod only (and the execution binding formats), so routes, events and the state machine's
 * steps share one shape. Every value is bounded (test/unit/schema-bounds.test.ts).
 */
import { z } from 'zod';
import { seriesNameSchema } from '../../events/ids.ts';
import { LAMBDA_ALIAS_ARN, SAGEMAKER_ENDPOINT_ARN } from '../execution/bindings.ts';

/** Most pools in a tenant's catalogue. */
export const MAX_POOLS = 200;
/** Most workloads in one plan request. */
export const MAX_WORKLOADS = 200;

/** A pool or workload id: `sagemaker/us-east-1a/ml.g5.xlarge`, `svc/checkout`. */
export const placementIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:/-]{1,128}$/, 'ids are 1-128 of A-Z a-z 0-9 . _ : / -')
  .max(128);
/** An AWS region name (`eu-west-1`). */
export const regionSchema = z
  .string()
  .regex(/^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d$/, 'an AWS region such as eu-west-1')
  .max(32);
/** An accelerator type (`a10g`, `t4`, `inferentia2`). */
export const acceleratorTypeSchema = z
  .string()
  .regex(/^[a-z0-9-]{1,32}$/, 'lower-case letters, digits and dashes')
  .max(32);

/**
 * Latency classes, strictest first: `interactive` (a person waits: no cold starts), `standard`
 * (an API), `batch` (minutes are fine).
 */
export const latencyClasses = ['interactive', 'standard', 'batch'] as const;
/** A latency class. */
export type LatencyClass = (typeof latencyClasses)[number];
/** Zod schema of a latency class. */
export const latencyClassSchema = z.enum(latencyClasses);

/**
 * One pool: identical instances of one type in one zone, `maxInstances` of them available. A
 * workload runs on one instance; several share an instance while its capacity lasts. Opening an
 * instance costs `pricePerHour` (US dollars).
 */
export const poolSchema = z.strictObject({
  id: placementIdSchema,
  /** What runs there: SageMaker endpoint instances or Lambda functions of one memory size. */
  platform: z.enum(['sagemaker', 'lambda']),
  /** The instance type (`ml.g5.xlarge`) or the Lambda memory size (`lambda-2048`). */
  instanceType: z.string().min(1).max(64),
  region: regionSchema,
  /** The availability zone (`eu-west-1a`); spreading a group across zones lowers its blast radius. */
  zone: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/, 'an availability zone such as eu-west-1a')
    .max(32),
  /** Capacity of one instance. */
  vcpu: z.number().min(0.05).max(1024),
  memoryGiB: z.number().min(0.125).max(16_384),
  accelerators: z.number().int().min(0).max(64).default(0),
  acceleratorType: acceleratorTypeSchema.optional(),
  /** Latency classes the pool serves. */
  latencyClasses: z.array(latencyClassSchema).min(1).max(3),
  pricePerHour: z.number().min(0).max(10_000),
  maxInstances: z.number().int().min(1).max(1000),
});
/** A pool. */
export type Pool = z.infer<typeof poolSchema>;

/** A tenant's pool catalogue (PUT /migration/pools). */
export const poolsInputSchema = z.strictObject({
  pools: z
    .array(poolSchema)
    .min(1)
    .max(MAX_POOLS)
    .superRefine((pools, ctx) => {
      const seen = new Set<string>();
      pools.forEach((pool, index) => {
        if (seen.has(pool.id)) ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate pool id '${pool.id}'` });
        seen.add(pool.id);
      });
    }),
});
/** A pool catalogue. */
export type PoolsInput = z.infer<typeof poolsInputSchema>;

/** What a workload needs from an instance. */
export const needsSchema = z.strictObject({
  vcpu: z.number().min(0).max(1024),
  memoryGiB: z.number().min(0).max(16_384),
  accelerators: z.number().int().min(0).max(64).default(0),
  /** Absent: any accelerator type. */
  acceleratorType: acceleratorTypeSchema.optional(),
  latencyClass: latencyClassSchema.default('standard'),
  /** Regions its data may live in (residency); absent: anywhere. */
  regions: z.array(regionSchema).min(1).max(32).optional(),
});
/** A workload's needs. */
export type Needs = z.infer<typeof needsSchema>;

/**
 * How a workload's traffic moves between pools, one executor per platform:
 * - `lambda-alias`: an alias whose versions are the pools (one published version per memory size);
 *   traffic shifts by the alias's weights, then its version.
 * - `sagemaker-endpoint`: an endpoint whose production variants are the pools; the target variant is
 *   provisioned (instance count), traffic shifts by the variants' weights, the source is scaled in.
 */
export const trafficSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('lambda-alias'),
    resource: z
      .string()
      .max(256)
      .regex(LAMBDA_ALIAS_ARN, 'must be a Lambda alias ARN (arn:aws:lambda:<region>:<account>:function:<name>:<alias>)'),
    /** The published version that runs in each pool. */
    versions: z
      .record(
        placementIdSchema,
        z
          .string()
          .regex(/^\d{1,10}$/, 'a published version number')
          .max(10),
      )
      .refine((v) => Object.keys(v).length <= 50, 'at most 50 pools'),
  }),
  z.strictObject({
    kind: z.literal('sagemaker-endpoint'),
    resource: z
      .string()
      .max(256)
      .regex(SAGEMAKER_ENDPOINT_ARN, 'must be a SageMaker endpoint ARN (arn:aws:sagemaker:<region>:<account>:endpoint/<name>)'),
    /** The production variant that runs in each pool. */
    variants: z
      .record(
        placementIdSchema,
        z
          .string()
          .regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'a variant name')
          .max(63),
      )
      .refine((v) => Object.keys(v).length <= 50, 'at most 50 pools'),
    /** Instances the target variant gets. */
    instanceCount: z.number().int().min(1).max(100).default(1),
  }),
]);
/** How a workload's traffic moves. */
export type Traffic = z.infer<typeof trafficSchema>;

/** One workload to place. */
export const workloadSchema = z.strictObject({
  id: placementIdSchema,
  needs: needsSchema,
  /** The pool it runs in now (absent: a new workload; placing it is no move). */
  current: placementIdSchema.optional(),
  /** Workloads of one group (replicas of a service) are spread across zones (a soft cost). */
  group: z.string().min(1).max(64).optional(),
  /** Workloads that must run in the same pool as this one (they talk a lot). */
  affinity: z.array(placementIdSchema).max(20).default([]),
  /** Workloads that must not share an instance with this one. */
  antiAffinity: z.array(placementIdSchema).max(20).default([]),
  /** Workloads it calls: they move before it, and must be healthy before it moves. */
  dependsOn: z.array(placementIdSchema).max(20).default([]),
  /** How its traffic moves (absent: the plan places it, nothing can move it). */
  traffic: trafficSchema.optional(),
  /** Observation series of its latency (ms), read by the post-check. */
  latencySeries: seriesNameSchema.optional(),
  /** The post-check's bound on the newest latency points after a shift (ms). */
  latencyBoundMs: z.number().min(1).max(600_000).default(1000),
});
/** A workload. */
export type Workload = z.infer<typeof workloadSchema>;

/**
 * Weights of the objective, in the price's unit (US dollars per hour): total = Σ opened instances'
 * prices + `move` × workloads that change pool + `zonePair` × pairs of one group in one zone.
 * Defaults: moving one workload is worth $0.05/h (one migration's risk spread over a day of its
 * price gap: a move that saves less than that is not worth it), two replicas in one zone $0.10/h
 * (an outage of that zone takes both).
 */
export const weightsSchema = z.strictObject({
  move: z.number().min(0).max(1000).default(0.05),
  zonePair: z.number().min(0).max(1000).default(0.1),
});
/** The objective's weights. */
export type Weights = z.infer<typeof weightsSchema>;
/** The default weights. */
export const DEFAULT_WEIGHTS: Weights = { move: 0.05, zonePair: 0.1 };

/** Placement algorithms: first-fit decreasing, best-fit decreasing, exact branch and bound. */
export const algorithms = ['ffd', 'bfd', 'optimal'] as const;
/** A placement algorithm. */
export type Algorithm = (typeof algorithms)[number];
