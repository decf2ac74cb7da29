/**
 * The governance vocabulary, defined once: environments, operation classes and their boundaries
 * (from the seed), autonomy levels, routes, risk assessments, policy decisions, proposals and the
 * states they go through. Pure data and zod schemas; the engines that actuate and the routes, the
 * gate's tasks, the approvals page and the events all take their shapes from here.
 */
import { z } from 'zod';
import { actionNameSchema, actorSchema, engineNameSchema } from '../../events/ids.ts';

/** Where a target runs. `prod` raises risk; the others are ordered by how close they are to it. */
export const environments = ['dev', 'test', 'staging', 'prod'] as const;
/** An environment name. */
export type Environment = (typeof environments)[number];
/** Zod schema of an environment. */
export const environmentSchema = z.enum(environments);

/**
 * Operation classes, from the seed's boundaries. Each class has a boundary that no autonomy level
 * can lower: `human` always waits for people, `l3` always passes L3 validation (at least),
 * `autonomous` never actuates anything (observation, audit), and `risk` is routed by the score
 * and the tenant's autonomy level.
 */
export const operationBoundaries = {
  observation: 'autonomous',
  audit: 'autonomous',
  optimisation: 'risk',
  repair: 'risk',
  scaling: 'l3',
  'version-promotion': 'l3',
  migration: 'l3',
  'interface-exposure': 'l3',
  'structural-change': 'human',
  termination: 'human',
  'production-promotion': 'human',
  'critical-context-deletion': 'human',
} as const satisfies Record<string, 'autonomous' | 'risk' | 'l3' | 'human'>;
/** An operation class. */
export type OperationClass = keyof typeof operationBoundaries;
/** Zod schema of an operation class. */
export const operationClassSchema = z.enum(Object.keys(operationBoundaries) as [OperationClass, ...OperationClass[]]);
/** The boundary of an operation class. */
export type Boundary = (typeof operationBoundaries)[OperationClass];

/**
 * A tenant's autonomy level: 1 supervised (every actuation waits for a person), 2 semi-autonomous
 * (high risk to people, medium to L3 validation), 3 autonomous (people only for high risk in prod),
 * 4 fully autonomous within policy. The `human` boundary holds at every level.
 */
export const autonomyLevelSchema = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]);
/** An autonomy level. */
export type AutonomyLevel = z.infer<typeof autonomyLevelSchema>;
/** The level a new tenant starts at. */
export const DEFAULT_AUTONOMY_LEVEL: AutonomyLevel = 2;

/** Where a proposal goes after assessment. */
export const routes = ['autonomous', 'l3-validation', 'human-approval'] as const;
/** A route. */
export type ProposalRoute = (typeof routes)[number];
/** Zod schema of a route. */
export const routeSchema = z.enum(routes);

/** Risk levels, from the score: low < 0.4 ≤ medium < 0.7 ≤ high. */
export const riskLevelSchema = z.enum(['low', 'medium', 'high']);
/** A risk level. */
export type RiskLevel = z.infer<typeof riskLevelSchema>;

/** One factor of a risk score and what it added. */
export const riskFactorSchema = z.object({
  name: z.enum(['operation', 'environment', 'blast-radius', 'reversibility', 'failure-rate', 'autonomy-level']),
  /** The input as assessed (class name, environment, number of dependents, rate …). */
  value: z.union([z.string().max(64), z.number().min(0).max(1e9), z.boolean()]),
  /** What the factor added to the score (0 for the autonomy level, which routes but does not score). */
  contribution: z.number().min(0).max(1),
  note: z.string().max(500),
});
/** A risk factor. */
export type RiskFactor = z.infer<typeof riskFactorSchema>;

/** A deterministic risk assessment: the score in [0, 1], each factor's contribution, and the route. */
export const riskAssessmentSchema = z.object({
  score: z.number().min(0).max(1),
  level: riskLevelSchema,
  operation: operationClassSchema,
  boundary: z.enum(['autonomous', 'risk', 'l3', 'human']),
  autonomyLevel: autonomyLevelSchema,
  factors: z.array(riskFactorSchema).max(6),
  route: routeSchema,
  /** Why this route, in one sentence a person can check. */
  reason: z.string().max(500),
});
/** A risk assessment. */
export type RiskAssessment = z.infer<typeof riskAssessmentSchema>;

/** What Cedar decided, with the ids of the policies that decided it. */
export const policyDecisionSchema = z.object({
  decision: z.enum(['allow', 'deny']),
  /** Ids of the determining policies (`forbid`s when denied by one, `permit`s when allowed); empty when nothing permits. */
  policies: z.array(z.string().max(256)).max(100),
  /** Evaluation errors Cedar reported (a policy that errors is skipped, as Cedar does). */
  errors: z.array(z.string().max(1000)).max(100),
  /** Version of the tenant's policy set that decided (0: the base profile alone). */
  version: z.number().int().min(0),
  /** True when an admin's governance repair route ran although the tenant's policies would deny it. */
  breakGlass: z.boolean().default(false),
});
/** A policy decision. */
export type PolicyDecision = z.infer<typeof policyDecisionSchema>;

/** Evidence a proposer attaches: JSON values (bounded by the request's size limit). */
export const evidenceSchema = z.record(z.string().min(1).max(128), z.unknown());

/** `POST /governance/proposals` and the in-process call: one actuation, proposed. */
export const proposalInputSchema = z.object({
  engine: engineNameSchema,
  action: actionNameSchema,
  target: z.string().min(1).max(1024),
  environment: environmentSchema,
  parameters: z.record(z.string().min(1).max(128), z.unknown()).default({}),
  reason: z.string().min(1).max(2000),
  evidence: evidenceSchema.optional(),
  /**
   * Why the proposer asks for people whatever the risk (an engine escalating after repeated failures
   * or with low confidence): the route becomes human-approval; policy and the kill switch still apply.
   */
  escalate: z.string().min(1).max(300).optional(),
});
/** A proposal as asked. */
export type ProposalInput = z.infer<typeof proposalInputSchema>;

/**
 * Proposal states. `pending` waits at a gate (L3 validation or people); `approved` may run (its
 * engine reports `executed` or `failed`); `rejected` (people or L3 validation said no),
 * `timed-out` (nobody decided, even after escalation) and `refused` (policy, kill switch,
 * constitution) are final.
 */
export const proposalStates = ['pending', 'approved', 'rejected', 'timed-out', 'executed', 'failed', 'refused'] as const;
/** A proposal state. */
export type ProposalState = (typeof proposalStates)[number];
/** Zod schema of a proposal state. */
export const proposalStateSchema = z.enum(proposalStates);

/** Who may decide at a gate: approvers first, admins after an escalation. */
export const approverGroupSchema = z.enum(['approver', 'admin']);
/** An approver group. */
export type ApproverGroup = z.infer<typeof approverGroupSchema>;

/** One person's vote at a gate. */
export const voteSchema = z.object({
  actor: actorSchema,
  decision: z.enum(['approve', 'reject']),
  reason: z.string().min(1).max(2000),
  at: z.iso.datetime().max(64),
});
/** A vote. */
export type Vote = z.infer<typeof voteSchema>;
