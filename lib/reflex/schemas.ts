/**
 * The Reflex vocabulary, defined once: components and their executor bindings (the registry),
 * the Observation incidents Reflex consumes, diagnoses (root-cause rankings), incident signatures,
 * cases and the incident record. Zod and events/ only, so the event catalog can take its shapes
 * from here (as it does from lib/governance/model.ts) and the engine and the catalog cannot drift.
 *
 * Every value is bounded (test/unit/schema-bounds.test.ts walks the routes and events built from
 * these): a component item stays far below DynamoDB's 400 KB (≈ 80 KB at every maximum).
 */
import { z } from 'zod';
import { boundedNumberSchema, isoTimestampSchema, MAX_TEXT_LENGTH } from '../../events/common.ts';
import { actorSchema, seriesNameSchema, tenantSchema } from '../../events/ids.ts';
import { bindingSchema as executionBindingSchema, executorKindSchema } from '../execution/bindings.ts';
import { environmentSchema } from '../governance/model.ts';

/** A component id: what proposals name as their target (`endpoint/chat`, `db:orders`). */
export const COMPONENT_ID_PATTERN = /^[A-Za-z0-9._:/-]{1,200}$/;
/** Zod schema of a component id. */
export const componentIdSchema = z.string().regex(COMPONENT_ID_PATTERN, 'component ids are 1-200 of A-Z a-z 0-9 . _ : / -').max(200);

/** A kebab-case word (a component kind, an executor kind). */
const kebabSchema = z
  .string()
  .regex(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/, 'kebab-case: lower-case letters, digits and dashes')
  .max(64);

/**
 * The recovery steps Reflex may propose, one governed actuation each (lib/governance/actuations.ts,
 * engine `reflex`), in the order of preference when nothing else tells them apart: the least
 * invasive first.
 */
export const playbooks = ['restart', 'roll-back', 'scale-out', 'fail-over', 'throttle', 'quarantine'] as const;
/** A playbook (a Reflex actuation). */
export type Playbook = (typeof playbooks)[number];
/** Zod schema of a playbook. */
export const playbookSchema = z.enum(playbooks);

/** Most parameters one binding carries. */
export const MAX_BINDING_PARAMETERS = 32;

/**
 * The smallest magnitude of a non-zero number in a binding: its parameters become a proposal's, which
 * DynamoDB stores as numbers (magnitudes below 1e-130 are refused there).
 */
export const MIN_PARAMETER_MAGNITUDE = 1e-100;

/** A binding's parameter value: a short text, a bounded number (0, or at least 1e-100 in magnitude) or a flag. */
export const bindingValueSchema = z.union([
  z.string().max(256),
  boundedNumberSchema.refine((value) => value === 0 || Math.abs(value) >= MIN_PARAMETER_MAGNITUDE, {
    message: `a non-zero number must be at least ${MIN_PARAMETER_MAGNITUDE} in magnitude`,
  }),
  z.boolean(),
]);

/**
 * What one recovery step means for one component: the executor kind, the resource it acts on and
 * the parameters it takes by default (`{ kind: 'lambda-concurrency', resource: <function ARN>,
 * parameters: { concurrency: 5 } }`). The L3 Execution engine's binding (lib/execution/bindings.ts:
 * each kind's resource format is checked with its schema), with bounded parameters; a proposal
 * carries the parameters, and the incident's attempt the whole binding, for the run.
 */
export const bindingSchema = z
  .strictObject({
    kind: executorKindSchema,
    /** What it acts on: an ARN or a URL, in the kind's format. */
    resource: z.string().min(1).max(2048),
    parameters: z
      .record(z.string().min(1).max(128), bindingValueSchema)
      .default({})
      .refine((parameters) => Object.keys(parameters).length <= MAX_BINDING_PARAMETERS, {
        message: `at most ${MAX_BINDING_PARAMETERS} parameters`,
      }),
  })
  .superRefine((binding, ctx) => {
    const checked = executionBindingSchema.safeParse(binding);
    if (!checked.success)
      for (const issue of checked.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });
/** An executor binding. */
export type Binding = z.infer<typeof bindingSchema>;

/** A component's bindings, one per playbook it supports. */
export const bindingsSchema = z.strictObject(
  Object.fromEntries(playbooks.map((name) => [name, bindingSchema.optional()])) as Record<Playbook, z.ZodOptional<typeof bindingSchema>>,
);

/** Most dependencies of one component. */
export const MAX_DEPENDENCIES = 50;
/** Most series describing one component. */
export const MAX_COMPONENT_SERIES = 20;
/** Most components a tenant registers. */
export const MAX_COMPONENTS = 500;

/** One component of a tenant's service graph. */
export const componentSchema = z.strictObject({
  id: componentIdSchema,
  /** What it is (`lambda`, `endpoint`, `queue`, `database`, `service` …): part of an incident's signature. */
  kind: kebabSchema,
  /** Where it runs; proposals for it carry this environment (prod, the default, raises their risk). */
  environment: environmentSchema.default('prod'),
  /** Components it calls or needs: when they fail, it may fail too. */
  dependsOn: z.array(componentIdSchema).max(MAX_DEPENDENCIES).default([]),
  /** Observation series that describe it; an incident on one of them is an incident of this component. */
  series: z.array(seriesNameSchema).max(MAX_COMPONENT_SERIES).default([]),
  bindings: bindingsSchema.default({}),
  description: z.string().max(500).optional(),
});
/** A component as registered (defaults applied). */
export type Component = z.infer<typeof componentSchema>;
/** A component as given to `PUT /reflex/components`. */
export type ComponentInput = z.input<typeof componentSchema>;

/** `PUT /reflex/components`: the whole registry, replacing the current one (`ifGeneration`: only if still at it). */
export const putComponentsSchema = z.object({
  components: z.array(componentSchema).max(MAX_COMPONENTS),
  ifGeneration: z.number().int().min(0).max(1e9).optional(),
});

/** A tenant's registry: one generation of its components. */
export const registrySchema = z.object({
  tenant: z.string().max(63),
  /** 1 for the first registration, +1 on each replacement; 0 when nothing is registered. */
  generation: z.number().int().min(0).max(1e9),
  components: z.array(componentSchema).max(MAX_COMPONENTS),
  updatedAt: isoTimestampSchema.optional(),
  updatedBy: actorSchema.optional(),
});
/** A registry. */
export type Registry = z.infer<typeof registrySchema>;

/** A cycle of dependencies, as reported: the ids of one strongly connected group, in declaration order. */
export const cycleSchema = z.array(componentIdSchema).min(1).max(MAX_COMPONENTS);

/** Longest incident id: `<series>@<start>` (a series name is at most 200 characters, a timestamp 64). */
export const MAX_INCIDENT_ID_LENGTH = 300;
/** Zod schema of an incident id. */
export const incidentIdSchema = z.string().min(1).max(MAX_INCIDENT_ID_LENGTH);

/**
 * The id of an Observation incident: its series and start (the event's natural key, with the tenant),
 * the start normalised to UTC milliseconds, so `.opened` and `.closed` name the same incident.
 * @example incidentIdOf('db.latency', '2026-12-01T10:00:00Z') // 'db.latency@2026-12-01T10:00:00.000Z'
 */
export function incidentIdOf(series: string, start: string): string {
  return `${series}@${new Date(start).toISOString()}`;
}

/**
 * `observation.incident.opened` as Reflex reads it: the series, when the incident started, its peak
 * and likelihood. Reflex's own reading of the catalogued event (extra fields are ignored, and the
 * likelihood is taken as a number or as Observation's `{ likelihood, … }`), so Reflex keeps working
 * when Observation adds a field.
 */
export const incidentOpenedSchema = z.looseObject({
  tenant: tenantSchema,
  series: seriesNameSchema,
  detector: z.string().min(1).max(32).optional(),
  /** When the incident started (its opening point). */
  start: isoTimestampSchema,
  peak: z.looseObject({ timestamp: isoTimestampSchema, value: boundedNumberSchema }).optional(),
  likelihood: z.union([z.number().min(0).max(1), z.looseObject({ likelihood: z.number().min(0).max(1) })]).optional(),
});
/** An opened incident as Reflex reads it. */
export type IncidentOpened = z.infer<typeof incidentOpenedSchema>;

/** `observation.incident.closed` as Reflex reads it: the series and start name the incident, `end` when it ended. */
export const incidentClosedSchema = z.looseObject({
  tenant: tenantSchema,
  series: seriesNameSchema,
  start: isoTimestampSchema,
  end: isoTimestampSchema.optional(),
  reason: z.string().max(32).optional(),
});
/** A closed incident as Reflex reads it. */
export type IncidentClosed = z.infer<typeof incidentClosedSchema>;

/**
 * Observation's close of an incident Reflex had no record of yet (the close came first): kept until
 * the record is made, which is then made closed. Removed by the state table's TTL at `expiresAt`.
 */
export const closedMarkerSchema = z.object({
  tenant: tenantSchema,
  incidentId: incidentIdSchema,
  closedAt: isoTimestampSchema,
  reason: z.string().max(32).optional(),
  /** Epoch seconds after which the marker may go (TTL). */
  expiresAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
/** A close kept for an incident's record to come. */
export type ClosedMarker = z.infer<typeof closedMarkerSchema>;

/** How a correlation with another incident component came out. */
export const correlationSchema = z.object({
  with: componentIdSchema,
  /** Spearman's rho of the aligned deviations, this component leading by `lagSteps` steps. */
  rho: z.number().min(-1).max(1),
  lagSteps: z.number().int().min(0).max(100),
  /** Aligned pairs it was computed on. */
  n: z.number().int().min(0).max(100_000),
});

/** Most ids one evidence list of a cause carries (a diagnosis stays well below the 256 KB event limit). */
export const MAX_EVIDENCE_IDS = 20;

/** One probable cause of a diagnosis. */
export const rankedCauseSchema = z.object({
  component: componentIdSchema,
  /** Weighted sum of the factors, in [0, 1]. */
  score: z.number().min(0).max(1),
  /** Probability-like confidence that this is the cause, in [0, 1] (lib/reflex/rca.ts). */
  confidence: z.number().min(0).max(1),
  factors: z.object({
    upstream: z.number().min(0).max(1),
    onset: z.number().min(0).max(1),
    /** null when no deviations could be aligned with another incident's. */
    correlation: z.number().min(0).max(1).nullable(),
  }),
  evidence: z.object({
    /** Incident components that depend on it, directly or not (the first {@link MAX_EVIDENCE_IDS}). */
    explains: z.array(componentIdSchema).max(MAX_EVIDENCE_IDS),
    /** Incident components it depends on, directly or not (the first {@link MAX_EVIDENCE_IDS}). */
    explainedBy: z.array(componentIdSchema).max(MAX_EVIDENCE_IDS),
    onset: isoTimestampSchema,
    /** Milliseconds after the earliest onset among the candidates. */
    lagMs: z.number().min(0).max(1e15),
    correlations: z.array(correlationSchema).max(10),
    /** Its dependencies without an open incident and without series: a cause there would not be seen. */
    unobservedUpstream: z.array(componentIdSchema).max(MAX_EVIDENCE_IDS),
  }),
  reasons: z.array(z.string().max(500)).max(10),
});
/** A ranked probable cause. */
export type RankedCause = z.infer<typeof rankedCauseSchema>;

/** A diagnosis: the ranking (best first, at most 5 kept) and the rule's weights. */
export const diagnosisSchema = z.object({
  causes: z.array(rankedCauseSchema).max(5),
  /** Open incidents considered (components). */
  candidates: z.number().int().min(0).max(MAX_COMPONENTS),
  weights: z.object({ upstream: z.number().min(0).max(1), onset: z.number().min(0).max(1), correlation: z.number().min(0).max(1) }),
  /** Dependency cycles through the candidates (reported, not refused): at most 10, each cut to {@link MAX_EVIDENCE_IDS} ids. */
  cycles: z.array(z.array(componentIdSchema).min(1).max(MAX_EVIDENCE_IDS)).max(10),
});
/** A diagnosis. */
export type Diagnosis = z.infer<typeof diagnosisSchema>;

/** Shapes of an incident's deviation (lib/reflex/cases.ts). */
export const shapes = ['spike', 'level-shift', 'trend', 'oscillation'] as const;
/** A shape. */
export type Shape = (typeof shapes)[number];

/** An incident's signature: what kind of thing went how wrong. */
export const signatureSchema = z.object({
  kind: kebabSchema,
  /** Metric names involved, sorted (lib/reflex/cases.ts `metricName`). */
  metrics: z.array(z.string().min(1).max(200)).max(20),
  direction: z.enum(['up', 'down']),
  shape: z.enum(shapes),
});
/** An incident signature. */
export type Signature = z.infer<typeof signatureSchema>;

/** A past case: a signature, the playbook tried and whether the incident recovered. */
export const caseSchema = z.object({
  caseId: z
    .string()
    .min(1)
    .max(MAX_INCIDENT_ID_LENGTH + 10),
  incidentId: incidentIdSchema,
  component: componentIdSchema,
  signature: signatureSchema,
  cluster: z.string().max(300),
  playbook: playbookSchema,
  outcome: z.enum(['recovered', 'not-recovered']),
  at: isoTimestampSchema,
});
/** A case. */
export type Case = z.infer<typeof caseSchema>;

/** One playbook's Beta posterior of success for a case cluster. */
export const posteriorSchema = z.object({
  playbook: playbookSchema,
  alpha: z.number().min(0).max(1e9),
  beta: z.number().min(0).max(1e9),
  mean: z.number().min(0).max(1),
  /** The Thompson draw that ranked it (deterministic given the seed). */
  draw: z.number().min(0).max(1),
});

/** How the playbook was chosen: the cluster, the nearest cases and each playbook's posterior. */
export const caseMatchSchema = z.object({
  signature: signatureSchema,
  cluster: z.string().max(300),
  nearest: z
    .array(
      z.object({
        caseId: z.string().max(200),
        distance: z.number().min(0).max(1),
        playbook: playbookSchema,
        outcome: z.enum(['recovered', 'not-recovered']),
      }),
    )
    .max(10),
  posteriors: z.array(posteriorSchema).max(playbooks.length),
  playbook: playbookSchema.nullable(),
  /** Posterior mean of the chosen playbook (0 when none). */
  confidence: z.number().min(0).max(1),
  escalate: z.boolean(),
  reasons: z.array(z.string().max(500)).max(10),
});
/** A case match. */
export type CaseMatch = z.infer<typeof caseMatchSchema>;

/** One recovery attempt of an incident: a playbook proposed to governance, and what came of it. */
export const attemptSchema = z.object({
  round: z.number().int().min(1).max(20),
  playbook: playbookSchema,
  target: componentIdSchema,
  /** The target's binding for the playbook: what the run acts on. */
  binding: bindingSchema,
  proposalId: z.string().max(64).optional(),
  /** Governance's route and status when proposed (the proposal itself is the source of truth). */
  route: z.enum(['autonomous', 'l3-validation', 'human-approval']).optional(),
  proposalStatus: z.string().max(32).optional(),
  escalated: z.boolean(),
  reason: z.string().max(MAX_TEXT_LENGTH),
  outcome: z.enum(['recovered', 'not-recovered']).optional(),
  at: isoTimestampSchema,
});
/** An attempt. */
export type Attempt = z.infer<typeof attemptSchema>;

/** Whether a playbook recovered its incident. */
export const recoveryOutcomeSchema = z.enum(['recovered', 'not-recovered']);
/** A recovery outcome. */
export type RecoveryOutcome = z.infer<typeof recoveryOutcomeSchema>;

/**
 * How an outcome was established: `observed` (the self-repair loop watched the series after the
 * action, lib/reflex/loop.ts), `incident-closed` (Observation closed the incident after an executed
 * playbook), `executor-failed` (the run failed, so nothing changed), `reported` (someone said so:
 * `PUT /reflex/incidents`).
 */
export const recoveryMethods = ['observed', 'incident-closed', 'executor-failed', 'reported'] as const;

/** The evidence of an outcome: what was watched, for how long, and what it showed. */
export const recoveryEvidenceSchema = z.strictObject({
  method: z.enum(recoveryMethods),
  /** The Execution engine's run of the playbook (`exec-<proposalId>`). */
  executionId: z.string().min(1).max(80).optional(),
  run: z.enum(['succeeded', 'failed']).optional(),
  /** The recovery window, and how long after the action the verdict came. */
  windowSeconds: z.number().int().min(0).max(86_400).optional(),
  waitedMs: z.number().int().min(0).max(1e12).optional(),
  /** Whether Observation's incident tracker still had the incident open at the verdict. */
  trackerOpen: z.boolean().optional(),
  /** Points the series received after the action, and how many of the newest of them were within the detector's band in a row. */
  pointsSince: z.number().int().min(0).max(1e12).optional(),
  calmPoints: z.number().int().min(0).max(1e12).optional(),
  reasons: z.array(z.string().max(1000)).max(20),
});
/** The evidence of an outcome. */
export type RecoveryEvidence = z.infer<typeof recoveryEvidenceSchema>;

/**
 * How a self-repair loop ended (statemachines/self-repair.asl.json): `recovered`, `closed` (the
 * incident ended before anything acted), `unassigned` (no component), `escalated` (people asked with
 * nothing left to run), `rejected` (people or L3 validation said no), `timed-out` (no decision before
 * the gate's timeouts, after its escalation to admins), `halted` (a kill switch), `refused`
 * (governance's policy), `failed` (a step failed after its retries).
 */
export const loopOutcomes = [
  'recovered',
  'closed',
  'unassigned',
  'escalated',
  'rejected',
  'timed-out',
  'halted',
  'refused',
  'failed',
] as const;
/** A loop outcome. */
export type LoopOutcome = (typeof loopOutcomes)[number];
/** Zod schema of a loop outcome. */
export const loopOutcomeSchema = z.enum(loopOutcomes);

/** Longest Step Functions execution name (the self-repair loop's is derived from tenant and incident). */
export const MAX_EXECUTION_NAME_LENGTH = 80;

/** When a loop started, and when its (last) round was diagnosed, decided at the gate, run and judged. */
export const loopTimelineSchema = z.object({
  started: isoTimestampSchema,
  diagnosed: isoTimestampSchema.optional(),
  decided: isoTimestampSchema.optional(),
  executed: isoTimestampSchema.optional(),
  verified: isoTimestampSchema.optional(),
});

/** How the incident's self-repair loop ended, as kept on the incident. */
export const loopSummarySchema = z.object({
  /** The loop's execution name (lib/reflex/loop.ts `loopExecutionName`). */
  execution: z.string().min(1).max(MAX_EXECUTION_NAME_LENGTH),
  outcome: loopOutcomeSchema,
  /** Playbooks it ran. */
  rounds: z.number().int().min(0).max(20),
  reason: z.string().max(MAX_TEXT_LENGTH),
  timeline: loopTimelineSchema.optional(),
  completedAt: isoTimestampSchema,
});
/** A loop's summary. */
export type LoopSummary = z.infer<typeof loopSummarySchema>;

/**
 * Where Reflex stands with an incident: `unassigned` (its series belongs to no component),
 * `proposed` (a playbook waits at or passed governance), `escalated` (people were asked: repeated
 * failure or low confidence, or nothing left to try), `refused` (governance refused: kill switch,
 * policy), `recovered` (closed after an executed playbook), `closed` (closed without one).
 */
export const reflexStates = ['unassigned', 'diagnosed', 'proposed', 'escalated', 'refused', 'recovered', 'closed'] as const;
/** A Reflex incident state. */
export type ReflexState = (typeof reflexStates)[number];

/** An incident as Reflex keeps it. */
export const incidentSchema = z.object({
  tenant: z.string().max(63),
  incidentId: incidentIdSchema,
  series: seriesNameSchema,
  component: componentIdSchema.optional(),
  open: z.boolean(),
  state: z.enum(reflexStates),
  startedAt: isoTimestampSchema,
  peak: z.object({ timestamp: isoTimestampSchema, value: boundedNumberSchema }).optional(),
  likelihood: z.number().min(0).max(1).optional(),
  closedAt: isoTimestampSchema.optional(),
  diagnosis: diagnosisSchema.optional(),
  match: caseMatchSchema.optional(),
  attempts: z.array(attemptSchema).max(20),
  reasons: z.array(z.string().max(MAX_TEXT_LENGTH)).max(20),
  /** How its self-repair loop ended, once it has. */
  loop: loopSummarySchema.optional(),
  createdAt: isoTimestampSchema,
  updatedAt: isoTimestampSchema,
  version: z.number().int().min(0).max(1e9),
});
/** A Reflex incident. */
export type Incident = z.infer<typeof incidentSchema>;
