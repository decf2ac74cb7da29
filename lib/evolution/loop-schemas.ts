/**
 * Loop 1's vocabulary (issue 13): a run of the improvement loop — Observation → Evolution → Versioning
 * → Promotion → Replication → Observation — as requested (`POST /evolution/loops`), stored, shown and
 * carried by its state machine (statemachines/improvement-loop.asl.json). Zod only, every value bounded,
 * so the event catalog takes `evolution.loop.stepped` from here.
 */
import { z } from 'zod';
import { isoTimestampSchema, MAX_TEXT_LENGTH } from '../../events/common.ts';
import { tenantSchema } from '../../events/ids.ts';
import { promotionInputSchema, promotionStatusSchema } from '../promotion/schemas.ts';
import { artifactIdSchema, semverSchema } from '../versioning/schemas.ts';
import { armIdSchema, serviceIdSchema } from './schemas.ts';

/** Most steps a run keeps (decide, version, approval looks, promote, watch looks…: the newest win). */
export const MAX_LOOP_STEPS = 40;

/** How a run ends (or stands). */
export const loopStatusSchema = z.enum([
  'running',
  'waiting-approval',
  'promoted',
  'rolled-back',
  'no-improvement',
  'blocked',
  'halted',
  'refused',
  'failed',
]);
/** A run's status. */
export type LoopStatus = z.infer<typeof loopStatusSchema>;

/** The machine's next task. */
export const loopNextSchema = z.enum(['decide', 'version', 'approval', 'promote', 'watch', 'replicate', 'finish']);
/** A next task. */
export type LoopNext = z.infer<typeof loopNextSchema>;

/** The steps a run records, in the order they happen. */
export const loopStepNameSchema = z.enum([
  'requested',
  'observed',
  'decided',
  'versioned',
  'approval',
  'promoting',
  'promotion',
  'replicated',
  'recorded',
  'finished',
]);
/** A step name. */
export type LoopStepName = z.infer<typeof loopStepNameSchema>;

const lambdaVersion = z
  .string()
  .regex(/^\d{1,10}$/, 'must be a published Lambda version number')
  .max(10);

/** How the chosen configuration is canaried: everything of a promotion request but its version and target. */
export const loopPromotionSchema = promotionInputSchema.pick({
  stage: true,
  steps: true,
  bakeSeconds: true,
  dataWaitSeconds: true,
  metrics: true,
  judge: true,
  metricsSource: true,
  series: true,
});
/** Promotion settings of a run. */
export type LoopPromotion = z.infer<typeof loopPromotionSchema>;

/** `POST /evolution/loops`: run the improvement loop once for a service. */
export const loopInputSchema = z.strictObject({
  service: serviceIdSchema,
  /** The promoted (and then scaled) component: the Promotion and Replication engines' name for the service. */
  component: promotionInputSchema.shape.component,
  /** The Lambda alias that serves the service; its version now is the current arm's deployment (the baseline). */
  target: z.strictObject({
    kind: z.literal('lambda-alias'),
    resource: z
      .string()
      .max(256)
      .regex(/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}:[A-Za-z0-9_-]{1,128}$/, 'a Lambda alias ARN'),
    /** A version published fresh from the current arm's code (absent: the alias's version is the baseline). */
    baselineVersion: lambdaVersion.optional(),
  }),
  /** Each arm's deployment: the published Lambda version that runs its configuration. */
  deployments: z
    .record(armIdSchema, lambdaVersion)
    .refine((d) => Object.keys(d).length >= 1 && Object.keys(d).length <= 32, 'give 1 to 32 deployments'),
  promotion: loopPromotionSchema,
  /** Canary this declared arm instead of Evolution's choice (a person's or an agent's request; the posteriors are still recorded). */
  arm: armIdSchema.optional(),
  /** The versioned artifact (default `evolution/<service>`). */
  artifact: artifactIdSchema.optional(),
  /** Seconds a breaking version may wait for its approval before the run ends `blocked` (0: end at once). */
  approvalWaitSeconds: z.number().int().min(0).max(86_400).default(0),
  reason: z.string().min(1).max(500).default('improvement loop'),
});
/** A run request (defaults applied). */
export type LoopInput = z.infer<typeof loopInputSchema>;

/** One step of a run: when, how long, what came of it. */
export const loopStepSchema = z.object({
  step: loopStepNameSchema,
  at: isoTimestampSchema,
  /** Milliseconds the step's task took (for `promotion`, since the promotion started). */
  ms: z.number().min(0).max(1e10),
  detail: z.string().max(2000),
});
/** A step. */
export type LoopStep = z.infer<typeof loopStepSchema>;

/** A run as stored and shown. */
export const loopRunSchema = z.object({
  tenant: tenantSchema,
  loopId: z.string().min(1).max(64),
  service: serviceIdSchema,
  component: z.string().max(128),
  artifact: artifactIdSchema,
  target: loopInputSchema.shape.target,
  deployments: z.record(armIdSchema, z.string().max(10)),
  promotion: loopPromotionSchema,
  requestedArm: armIdSchema.optional(),
  approvalWaitSeconds: z.number().int().min(0).max(86_400),
  reason: z.string().max(500),
  requestedBy: z.string().max(256),
  status: loopStatusSchema,
  next: loopNextSchema,
  /** Seconds the machine waits before the next task. */
  waitSeconds: z.number().int().min(0).max(86_400),
  /** The arm the run promotes, and the one serving before it. */
  chosen: armIdSchema.optional(),
  incumbent: armIdSchema.optional(),
  decision: z
    .object({
      decisionId: z.string().max(64),
      seq: z.number().int().min(1).max(1e12),
      primary: armIdSchema,
      change: z.enum(['none', 'tune', 'restructure']),
      pBest: z.number().min(0).max(1),
      proposalId: z.string().max(64).optional(),
      proposalStatus: z.string().max(32).optional(),
      decisionMs: z.number().min(0).max(1e7),
    })
    .optional(),
  version: z
    .object({
      artifact: artifactIdSchema,
      version: semverSchema,
      previous: semverSchema.optional(),
      bump: z.enum(['major', 'minor', 'patch', 'initial']),
      breaking: z.boolean(),
      approvalProposalId: z.string().max(64).optional(),
      tagMs: z.number().min(0).max(1e7),
    })
    .optional(),
  promotionId: z.string().max(64).optional(),
  promotionStatus: promotionStatusSchema.optional(),
  replication: z
    .object({
      decisionId: z.string().max(64).optional(),
      status: z.string().max(32),
      current: z.number().int().min(0).max(1e6).nullable(),
      desired: z.number().int().min(0).max(1e6).nullable(),
      detail: z.string().max(1000),
    })
    .optional(),
  steps: z.array(loopStepSchema).max(MAX_LOOP_STEPS),
  outcomeReason: z.string().max(MAX_TEXT_LENGTH),
  /** Since when the run waits for a breaking version's approval. */
  waitingSince: isoTimestampSchema.optional(),
  execution: z.string().max(80),
  createdAt: isoTimestampSchema,
  updatedAt: isoTimestampSchema,
  finishedAt: isoTimestampSchema.optional(),
  totalMs: z.number().min(0).max(1e12).optional(),
  /** The record's write version. */
  rev: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
/** A run. */
export type LoopRun = z.infer<typeof loopRunSchema>;

/** A run as the API shows it. */
export const loopViewSchema = loopRunSchema.omit({ tenant: true, rev: true });
/** A shown run. */
export type LoopView = z.infer<typeof loopViewSchema>;

/** What the machine carries between tasks: ids and the next task only. */
export const loopStateSchema = z.object({
  tenant: tenantSchema,
  loopId: z.string().min(1).max(64),
  next: loopNextSchema,
  waitSeconds: z.number().int().min(0).max(86_400),
  status: loopStatusSchema,
});
/** The machine's state. */
export type LoopState = z.infer<typeof loopStateSchema>;

/** `GET /evolution/loops`: one run, or the newest. */
export const loopStatusInputSchema = z.object({
  loopId: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(50).default(20),
});
/** A status query. */
export type LoopStatusInput = z.infer<typeof loopStatusInputSchema>;

/** The detail of `evolution.loop.stepped` (the tenant and version added by the catalog). */
export const loopSteppedSchema = z.object({
  loopId: z.string().max(64),
  service: serviceIdSchema,
  component: z.string().max(128),
  step: loopStepNameSchema,
  status: loopStatusSchema,
  ms: z.number().min(0).max(1e10),
  detail: z.string().max(2000),
  chosen: armIdSchema.nullable(),
  decisionId: z.string().max(64).nullable(),
  artifactVersion: semverSchema.nullable(),
  promotionId: z.string().max(64).nullable(),
  at: isoTimestampSchema,
});
