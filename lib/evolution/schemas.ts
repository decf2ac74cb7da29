/**
 * The Evolution vocabulary, defined once: a managed service's declared arms (candidate
 * configurations), the tenant's reward weights and governance bounds, observations, arm statistics,
 * posterior summaries and decisions. Zod only, so the event catalog takes its shapes from here and
 * every value is bounded (test/unit/schema-bounds.test.ts walks the routes and events built from these).
 */
import { z } from 'zod';
import { boundedNumberSchema, isoTimestampSchema } from '../../events/common.ts';
import { tenantSchema } from '../../events/ids.ts';
import { environmentSchema } from '../governance/model.ts';

/** Most arms a service declares (the split, the stats item and the decision event stay small). */
export const MAX_ARMS = 32;
/** Most parameters an arm carries. */
export const MAX_ARM_PARAMETERS = 32;
/** Most observations one `POST /evolution/observations` takes. */
export const MAX_OBSERVATIONS = 1000;

/** A managed service's id: what proposals name as their target (`svc/chat`, `endpoint/summarise`). */
export const serviceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:/-]{1,200}$/, 'service ids are 1-200 of A-Z a-z 0-9 . _ : / -')
  .max(200);

/** An arm's id within its service: names exactly one configuration (new parameters need a new id). */
export const armIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'arm ids are 1-64 of A-Z a-z 0-9 . _ -')
  .max(64);

/** Parameter names an arm may not use: the `evolution:tune` proposal carries these itself. */
export const RESERVED_PARAMETERS = ['arm', 'service', 'split', 'trafficShare'] as const;

/** A configuration's parameters, flat (model route, prompt template id, batch size, cache TTL, concurrency…). */
export const armParametersSchema = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'parameter names are 1-64 of A-Z a-z 0-9 _, starting with a letter')
      .max(64),
    z.union([z.string().max(200), boundedNumberSchema, z.boolean()]),
  )
  .refine((parameters) => Object.keys(parameters).length <= MAX_ARM_PARAMETERS, `at most ${MAX_ARM_PARAMETERS} parameters`)
  .refine((parameters) => RESERVED_PARAMETERS.every((name) => !(name in parameters)), `${RESERVED_PARAMETERS.join(', ')} are reserved`);

/** One arm: a candidate configuration of the service. */
export const armSchema = z.strictObject({
  id: armIdSchema,
  parameters: armParametersSchema,
  /**
   * The components the configuration runs on (its topology). Moving to an arm whose components
   * differ from the current arm's is a structural change: it goes to people.
   */
  components: z.array(z.string().min(1).max(200)).max(32).default([]),
  description: z.string().max(500).default(''),
});
/** An arm. */
export type Arm = z.infer<typeof armSchema>;

/** Reward weights: how much each normalised metric counts (see lib/evolution/reward.ts). */
export const rewardWeightsSchema = z.strictObject({
  /** Weight of the success (quality) rate. */
  success: z.number().min(0).max(100).default(1),
  /** Weight of the mean latency in units of `scales.latencyMs` (subtracted). */
  latency: z.number().min(0).max(100).default(0),
  /** Weight of the mean cost in units of `scales.cost` (subtracted). */
  cost: z.number().min(0).max(100).default(0),
});
/** Reward weights. */
export type RewardWeights = z.infer<typeof rewardWeightsSchema>;

/** What a service's decisions may do: recommend only, propose to governance, or propose and ask people. */
export const autonomySchema = z.enum(['recommend', 'propose', 'ask-people']);
/** An autonomy setting. */
export type Autonomy = z.infer<typeof autonomySchema>;

/** `PUT /evolution/config`: a service's declared arms, reward, exploration bounds and autonomy. */
export const serviceConfigSchema = z
  .strictObject({
    service: serviceIdSchema,
    environment: environmentSchema.default('dev'),
    arms: z.array(armSchema).min(1).max(MAX_ARMS),
    /** The arm serving the service now (the incumbent). */
    current: armIdSchema,
    weights: rewardWeightsSchema.default({ success: 1, latency: 0, cost: 0 }),
    /** Typical values, the unit of the normalised metrics (e.g. the latency objective, the cost per request budget). */
    scales: z
      .strictObject({ latencyMs: z.number().min(1e-6).max(1e7).default(1000), cost: z.number().min(1e-9).max(1e9).default(1) })
      .default({ latencyMs: 1000, cost: 1 }),
    /** Largest share of traffic all untested arms together may get. */
    explorationShare: z.number().min(0).max(0.5).default(0.1),
    /** Observations below which an arm is untested. */
    minObservations: z.number().int().min(1).max(100_000).default(30),
    autonomy: autonomySchema.default('propose'),
    /** The total variation between the new split and the last proposed one below which nothing is proposed. */
    splitTolerance: z.number().min(0).max(1).default(0.05),
  })
  .superRefine((config, ctx) => {
    const ids = new Set<string>();
    config.arms.forEach((arm, index) => {
      if (ids.has(arm.id)) ctx.addIssue({ code: 'custom', path: ['arms', index, 'id'], message: `arm ${arm.id} is declared twice` });
      ids.add(arm.id);
    });
    if (!ids.has(config.current)) ctx.addIssue({ code: 'custom', path: ['current'], message: `${config.current} is not a declared arm` });
    if (config.weights.success + config.weights.latency + config.weights.cost <= 0)
      ctx.addIssue({ code: 'custom', path: ['weights'], message: 'at least one weight must be positive' });
  });
/** A service's configuration (defaults applied). */
export type ServiceConfig = z.infer<typeof serviceConfigSchema>;
/** A service's configuration as a caller gives it (defaults not yet applied). */
export type ServiceConfigInput = z.input<typeof serviceConfigSchema>;

/** A service's configuration as stored, with its write version. */
export const storedServiceSchema = z.object({
  tenant: tenantSchema,
  config: serviceConfigSchema,
  version: z.number().int().min(1).max(1e9),
  updatedAt: isoTimestampSchema,
  updatedBy: z.string().max(256),
});
/** A stored service configuration. */
export type StoredService = z.infer<typeof storedServiceSchema>;

/** One outcome of one request served by an arm. */
export const observationSchema = z
  .strictObject({
    arm: armIdSchema,
    success: z.boolean().optional(),
    latencyMs: z.number().min(0).max(1e7).optional(),
    cost: z.number().min(0).max(1e9).optional(),
  })
  .refine((o) => o.success !== undefined || o.latencyMs !== undefined || o.cost !== undefined, 'give success, latencyMs or cost');
/** An observation. */
export type Observation = z.infer<typeof observationSchema>;

/** Sufficient statistics of one continuous metric: count, sum, sum of squares. */
export const momentsSchema = z.object({
  n: z.number().int().min(0).max(1e15),
  sum: z.number().min(0).max(1e300),
  sumSq: z.number().min(0).max(1e300),
});
/** Moments. */
export type Moments = z.infer<typeof momentsSchema>;

/** Sufficient statistics of one arm (added to atomically). */
export const armStatsSchema = z.object({
  /** Observations of any kind. */
  count: z.number().int().min(0).max(1e15),
  successes: z.number().int().min(0).max(1e15),
  failures: z.number().int().min(0).max(1e15),
  latency: momentsSchema,
  cost: momentsSchema,
});
/** Arm statistics. */
export type ArmStats = z.infer<typeof armStatsSchema>;

/** A posterior summary: mean, 95% credible interval and the observations behind it. */
export const intervalSchema = z.object({
  mean: boundedNumberSchema,
  lower: boundedNumberSchema,
  upper: boundedNumberSchema,
  n: z.number().int().min(0).max(1e15),
});
/** An interval summary. */
export type Interval = z.infer<typeof intervalSchema>;

/** One arm's posteriors, its chance of being best and its share of the split. */
export const armSummarySchema = z.object({
  arm: armIdSchema,
  tested: z.boolean(),
  /** Success rate: Beta(1 + successes, 1 + failures). */
  success: intervalSchema,
  /** Mean latency (ms): Normal–Gamma, marginal Student-t. */
  latencyMs: intervalSchema,
  /** Mean cost: Normal–Gamma, marginal Student-t. */
  cost: intervalSchema,
  /** The composed reward of the posterior draws (2.5% and 97.5% of the draws). */
  reward: intervalSchema,
  /** Share of posterior draws in which this arm had the highest reward. */
  pBest: z.number().min(0).max(1),
  share: z.number().min(0).max(1),
});
/** An arm summary. */
export type ArmSummary = z.infer<typeof armSummarySchema>;

/** Regret estimates from the posterior draws, in reward units per request. */
export const regretSchema = z.object({
  /** E[max_a θ_a − Σ_a share_a θ_a]: what the split is expected to lose per request against the best arm. */
  split: z.number().min(0).max(1e100),
  /** E[max_a θ_a − θ_primary]: what sending everything to the primary would lose. */
  primary: z.number().min(0).max(1e100),
});
/** Regret estimates. */
export type Regret = z.infer<typeof regretSchema>;

/** What a decision changes: nothing, a tune within the declared set, or a structural change for people. */
export const changeKindSchema = z.enum(['none', 'tune', 'restructure']);

/** A decision as stored, shown and recorded in the ledger. */
export const decisionSchema = z.object({
  tenant: tenantSchema,
  service: serviceIdSchema,
  decisionId: z.string().max(64),
  /** 1 for the service's first decision, +1 after each. */
  seq: z.number().int().min(1).max(1e12),
  configVersion: z.number().int().min(1).max(1e9),
  seed: z.string().max(300),
  draws: z.number().int().min(1).max(100_000),
  /** The recommended arm: the one given most traffic. */
  primary: armIdSchema,
  current: armIdSchema,
  split: z.record(armIdSchema, z.number().min(0).max(1)),
  /** The split last proposed before this decision (what `splitTolerance` compares with). */
  baseline: z.record(armIdSchema, z.number().min(0).max(1)),
  arms: z.array(armSummarySchema).max(MAX_ARMS),
  regret: regretSchema,
  change: changeKindSchema,
  /** Why the decision changes what it changes (or nothing). */
  reasons: z.array(z.string().max(500)).max(10),
  proposalId: z.string().max(64).optional(),
  route: z.enum(['autonomous', 'l3-validation', 'human-approval']).optional(),
  proposalStatus: z.string().max(32).optional(),
  refused: z.string().max(1000).optional(),
  /** Milliseconds the pure decision took. */
  decisionMs: z.number().min(0).max(1e7),
  decidedAt: isoTimestampSchema,
});
/** A decision. */
export type Decision = z.infer<typeof decisionSchema>;

/** A configuration suggested from outside the declared set (by a person, an agent): a structural change. */
export const candidateSchema = z.strictObject({
  id: armIdSchema,
  parameters: armParametersSchema,
  components: z.array(z.string().min(1).max(200)).max(32).default([]),
  description: z.string().max(500).default(''),
});
/** A candidate outside the declared set. */
export type Candidate = z.infer<typeof candidateSchema>;
