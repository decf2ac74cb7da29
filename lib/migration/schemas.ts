/**
 * The Migration vocabulary, defined once: pools (where workloads can run, with capacities and
 * prices), workloads (what they need, where they run now, how their traffic moves), placements and
 * plans. Zod only (and the execution binding formats), so routes, events and the state machine's
 * steps share one shape. Every value is bounded (test/unit/schema-bounds.test.ts).
 */
import { z } from 'zod';
import { seriesNameSchema, tenantSchema } from '../../events/ids.ts';
import { bindingSchema, LAMBDA_ALIAS_ARN, SAGEMAKER_ENDPOINT_ARN } from '../execution/bindings.ts';
import { environmentSchema } from '../governance/model.ts';

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

/** Most steps in one plan (four per workload that moves): one plan record stays well inside an item. */
export const MAX_STEPS = 200;
/** Most workloads the exact solver places in a plan request (it is exponential). */
export const MAX_OPTIMAL_WORKLOADS = 12;

/** A plan's or run's id (a UUID). */
export const migrationIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, 'an id of letters, digits and dashes')
  .max(64);

const text = (max: number) => z.string().max(max);
const isoSchema = z.iso.datetime().max(64);

/** POST /migration/plans: the workloads to place on the tenant's pools, and how. */
export const planInputSchema = z
  .strictObject({
    workloads: z
      .array(workloadSchema)
      .min(1)
      .max(MAX_WORKLOADS)
      .superRefine((workloads, ctx) => {
        const seen = new Set<string>();
        workloads.forEach((w, index) => {
          if (seen.has(w.id)) ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate workload id '${w.id}'` });
          seen.add(w.id);
        });
      }),
    algorithm: z.enum(algorithms).default('bfd'),
    weights: weightsSchema.optional(),
    /** Share of traffic the canary shift sends to the target. */
    canaryWeight: z.number().min(0.01).max(0.5).default(0.1),
    /** Seconds between a traffic shift and its latency post-check (the newest points should be the new pool's). */
    postCheckDelaySeconds: z.number().int().min(0).max(600).default(0),
    environment: environmentSchema.default('prod'),
    reason: z.string().min(1).max(1000).optional(),
  })
  .superRefine((input, ctx) => {
    if (input.algorithm === 'optimal' && input.workloads.length > MAX_OPTIMAL_WORKLOADS)
      ctx.addIssue({
        code: 'custom',
        path: ['algorithm'],
        message: `the exact solver places at most ${MAX_OPTIMAL_WORKLOADS} workloads; use bfd or ffd`,
      });
  });
/** A plan request. */
export type PlanInput = z.infer<typeof planInputSchema>;

const preCheckSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('capacity'),
    pool: placementIdSchema,
    instance: z.number().int().min(0).max(1000),
    vcpu: z.number().min(0).max(1e6),
    memoryGiB: z.number().min(0).max(1e7),
    accelerators: z.number().int().min(0).max(1e4),
  }),
  z.strictObject({
    kind: z.literal('dependency'),
    workload: placementIdSchema,
    series: seriesNameSchema,
    boundMs: z.number().min(1).max(600_000),
  }),
]);
const postCheckSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('health') }),
  z.strictObject({ kind: z.literal('latency'), series: seriesNameSchema, boundMs: z.number().min(1).max(600_000) }),
]);

/** One stored plan step (lib/migration/plan.ts `PlanStep`). */
export const planStepSchema = z.strictObject({
  index: z.number().int().min(0).max(MAX_STEPS),
  workload: placementIdSchema,
  kind: z.enum(['provision', 'shift-traffic', 'drain', 'release']),
  from: placementIdSchema,
  to: placementIdSchema,
  description: text(500),
  binding: bindingSchema.optional(),
  preChecks: z.array(preCheckSchema).max(25),
  postChecks: z.array(postCheckSchema).max(5),
  undo: text(200),
});

const objectiveSchema = z.strictObject({
  cost: z.number().min(0).max(1e9),
  risk: z.number().min(0).max(1e9),
  total: z.number().min(0).max(1e9),
  instances: z.number().int().min(0),
  moves: z.number().int().min(0),
  zonePairs: z.number().int().min(0),
});

/** A tenant's pool catalogue as stored. */
export const catalogueRecordSchema = z.object({
  tenant: tenantSchema,
  pools: z.array(poolSchema).max(MAX_POOLS),
  updatedAt: isoSchema,
  updatedBy: text(256),
  version: z.number().int().min(0),
});
/** A stored pool catalogue. */
export type CatalogueRecord = z.infer<typeof catalogueRecordSchema>;

/** A stored plan: the placement, its ordered steps, the hash the governance proposal approves. */
export const planRecordSchema = z.object({
  tenant: tenantSchema,
  planId: migrationIdSchema,
  /** SHA-256 of the plan's canonical JSON (id, algorithm, slots, steps, delay): what the proposal approves. */
  planHash: z.string().regex(/^[0-9a-f]{64}$/).max(64),
  algorithm: z.enum(algorithms),
  environment: environmentSchema,
  canaryWeight: z.number().min(0).max(1),
  postCheckDelaySeconds: z.number().int().min(0).max(600),
  objective: objectiveSchema,
  slots: z.record(placementIdSchema, z.strictObject({ pool: placementIdSchema, instance: z.number().int().min(0) })),
  steps: z.array(planStepSchema).max(MAX_STEPS),
  proposalId: text(64).optional(),
  route: text(32).optional(),
  /** The run holding the plan (one at a time). */
  activeRunId: migrationIdSchema.optional(),
  createdAt: isoSchema,
  createdBy: text(256),
  version: z.number().int().min(0),
});
/** A stored plan. */
export type PlanRecord = z.infer<typeof planRecordSchema>;

/** What became of a run. `pending`: before its first step (pre-checks, the gate); `running`: stepping. */
export const runStatuses = [
  'pending',
  'running',
  'succeeded',
  'rolled-back',
  'halted',
  'pre-check-failed',
  'rejected',
  'refused',
  'timed-out',
  'cancelled',
  'failed',
] as const;
/** A run's status. */
export type RunStatus = (typeof runStatuses)[number];
/** Zod schema of a run's status. */
export const runStatusSchema = z.enum(runStatuses);
/** The statuses a run ends in. */
export type RunOutcome = Exclude<RunStatus, 'pending' | 'running'>;

const stateSchema = z.record(z.string().max(128), z.unknown());
/** One step's record (lib/migration/runner.ts `StepRecord`). */
export const stepRecordSchema = z.strictObject({
  index: z.number().int().min(0).max(MAX_STEPS),
  status: z.enum(['succeeded', 'failed']),
  before: stateSchema.optional(),
  after: stateSchema.optional(),
  observed: stateSchema.optional(),
  changes: z.array(text(1000)).max(20),
  reasons: z.array(text(1000)).max(20),
  startedAt: isoSchema,
  finishedAt: isoSchema,
  undo: z.strictObject({ status: z.enum(['succeeded', 'failed']), reasons: z.array(text(1000)).max(20), at: isoSchema }).optional(),
});

/** A rollback's account: which steps were undone, and whether a kill switch was on meanwhile. */
export const rollbackSchema = z.strictObject({
  /** True when a kill switch was on while undoing (undo toward the state before is allowed; recorded as such). */
  underKillSwitch: z.boolean(),
  /** 'rollback under kill switch' when it was, else 'rollback'. */
  note: z.enum(['rollback', 'rollback under kill switch']),
  trigger: text(1000),
  steps: z
    .array(
      z.strictObject({ index: z.number().int().min(0), status: z.enum(['succeeded', 'failed']), reasons: z.array(text(1000)).max(20) }),
    )
    .max(MAX_STEPS),
  succeeded: z.boolean(),
  at: isoSchema,
});
/** A rollback's account. */
export type Rollback = z.infer<typeof rollbackSchema>;

/** A stored run: one execution of a plan through the migration state machine. */
export const runRecordSchema = z.object({
  tenant: tenantSchema,
  runId: migrationIdSchema,
  planId: migrationIdSchema,
  planHash: z.string().regex(/^[0-9a-f]{64}$/).max(64),
  proposalId: text(64),
  status: runStatusSchema,
  reason: text(1000),
  executionArn: text(2048).optional(),
  records: z.array(stepRecordSchema).max(MAX_STEPS),
  rollback: rollbackSchema.optional(),
  requestedBy: text(256),
  timeline: z.strictObject({
    requested: isoSchema,
    started: isoSchema.optional(),
    approved: isoSchema.optional(),
    finished: isoSchema.optional(),
  }),
  /** Milliseconds from the first step to the end (the migration itself, without the wait for approval). */
  migrationMs: z.number().min(0).max(1e10).optional(),
  version: z.number().int().min(0),
});
/** A stored run. */
export type RunRecord = z.infer<typeof runRecordSchema>;

/** Where the migration state machine goes next (`$.run.state.next`). */
export const loopSteps = ['precheck', 'gate', 'check', 'execute', 'postcheck', 'record', 'rollback', 'end'] as const;

/** The state the migration machine carries between tasks: ids only (records live in the state table). */
export const loopStateSchema = z.object({
  tenant: tenantSchema,
  runId: migrationIdSchema,
  planId: migrationIdSchema,
  proposalId: text(64),
  /** The step to run next. */
  index: z.number().int().min(0).max(MAX_STEPS),
  steps: z.number().int().min(0).max(MAX_STEPS),
  next: z.enum(loopSteps),
  /** Set once the run's end is decided. */
  outcome: z.enum(runStatuses).exclude(['pending', 'running']).optional(),
  reason: text(1000),
  gateTimeoutSeconds: z.number().int().min(1).max(1_000_000),
  waitSeconds: z.number().int().min(0).max(600),
});
/** The migration machine's state. */
export type LoopState = z.infer<typeof loopStateSchema>;

/** GET /migration/status: everything, or one plan or run. */
export const statusInputSchema = z.strictObject({
  planId: migrationIdSchema.optional(),
  runId: migrationIdSchema.optional(),
});
/** POST /migration/runs. */
export const runInputSchema = z.strictObject({ planId: migrationIdSchema });
/** DELETE /migration/runs. */
export const cancelInputSchema = z.strictObject({ runId: migrationIdSchema });
