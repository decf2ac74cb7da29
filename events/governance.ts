/**
 * Events of the Governance engine (`autonomy.governance`): proposals, approval gates, the kill
 * switch, policies, autonomy levels, configuration and constitutions. Every one is saved with the
 * state change it reports (an outbox) and published after it, so each is published at least once
 * (events/delivery.ts), and each is recorded in the ledger.
 *
 * The shapes of assessments, decisions and votes come from lib/governance/model.ts (zod and
 * events/ids.ts only), so the catalog and the engine cannot drift apart.
 */
import { z } from 'zod';
import {
  approverGroupSchema,
  autonomyLevelSchema,
  environmentSchema,
  policyDecisionSchema,
  proposalStateSchema,
  riskAssessmentSchema,
  riskLevelSchema,
  routeSchema,
  voteSchema,
} from '../lib/governance/model.ts';
import { defineEvent, detailSchema, isoTimestampSchema, MAX_TEXT_LENGTH } from './common.ts';
import { actionNameSchema, actorSchema, engineNameSchema } from './ids.ts';

/** A proposal id (a UUID in practice). */
const proposalIdSchema = z.string().min(1).max(64);

/** An approval id (`approval-<proposalId>`, also the waiting execution's name). */
const approvalIdSchema = z.string().min(1).max(80);

/** A Step Functions execution ARN (at most 2048 characters, AWS's own bound). */
const executionArnSchema = z.string().min(1).max(2048);

/** Reasons a decision gives (L3 validation's findings, the gate's outcome, the executor's report). */
const reasonsSchema = z.array(z.string().max(1000)).max(50);

/**
 * The parameters of a gated action: JSON values as the requesting engine gave them. Bounded by
 * the 256 KB event limit and by the actuation's own bounds, not here: the catalog cannot know
 * every engine's parameters (test/unit/schema-bounds.test.ts allows this one).
 */
const actionParametersSchema = z.record(z.string().min(1).max(128), z.unknown());

/** Risk class of a gated action (the level of its assessment). */
export const riskClassSchema = riskLevelSchema;

/** The action waiting behind a gate. */
export const gatedActionSchema = z.strictObject({
  engine: engineNameSchema,
  name: actionNameSchema,
  target: z.string().min(1).max(1024),
  parameters: actionParametersSchema,
});

/**
 * The Cedar request a proposal was judged by, as recorded (principal, action, resource, context),
 * so `POST /governance/policies/simulate` can replay it against a candidate policy set. Its shape
 * is lib/governance/proposals.ts's `ActuationPolicyRequest`; bounded by the event size.
 */
const policyRequestSchema = z.record(z.string().min(1).max(64), z.unknown());

/** `governance.proposal.evaluated` v1: a proposal was assessed, checked by policy and routed (or refused). */
export const proposalEvaluated = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.proposal.evaluated',
  version: '1',
  description: 'A proposed actuation was scored for risk, checked by Cedar policy and routed: approved, pending at a gate, or refused.',
  schema: detailSchema('1', {
    proposalId: proposalIdSchema,
    engine: engineNameSchema,
    action: actionNameSchema,
    target: z.string().min(1).max(1024),
    environment: environmentSchema,
    actor: actorSchema,
    status: proposalStateSchema,
    route: routeSchema,
    assessment: riskAssessmentSchema,
    policy: policyDecisionSchema,
    constitutionHash: z.string().max(64),
    policyRequest: policyRequestSchema,
    reasons: reasonsSchema,
    evaluatedAt: isoTimestampSchema,
  }),
});

/** `governance.proposal.settled` v1: a proposal reached a later state (gate outcome, execution report). */
export const proposalSettled = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.proposal.settled',
  version: '1',
  description: 'A proposal left its gate (approved, rejected, timed out, refused) or its engine reported it executed or failed.',
  schema: detailSchema('1', {
    proposalId: proposalIdSchema,
    status: proposalStateSchema,
    actor: actorSchema,
    reasons: reasonsSchema,
    settledAt: isoTimestampSchema,
  }),
});

/**
 * `governance.approval.requested` v2: a proposal waits for people (a quorum of `required`
 * approvers other than the requester). Never carries the task token (the strict schema rejects it).
 */
export const approvalRequested = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.approval.requested',
  version: '2',
  description: 'A proposal waits at an approval gate until a quorum of people other than the requester approves, or one rejects.',
  schema: detailSchema('2', {
    approvalId: approvalIdSchema,
    proposalId: proposalIdSchema,
    executionArn: executionArnSchema,
    action: gatedActionSchema,
    environment: environmentSchema,
    risk: riskClassSchema,
    required: z.number().int().min(1).max(10),
    group: approverGroupSchema,
    requestedBy: actorSchema,
    reason: z.string().max(MAX_TEXT_LENGTH),
    requestedAt: isoTimestampSchema,
    deadline: isoTimestampSchema,
  }),
});
/** The detail of `governance.approval.requested`. */
export type ApprovalRequested = z.infer<typeof approvalRequested.schema>;

/** `governance.approval.decided` v2: one person voted; `decision` is the gate's state after the vote. */
export const approvalDecided = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.approval.decided',
  version: '2',
  description: 'A person voted on a pending approval; when the vote completes the quorum or rejects, the waiting execution resumes or fails.',
  schema: detailSchema('2', {
    approvalId: approvalIdSchema,
    proposalId: proposalIdSchema,
    decision: z.enum(['approved', 'rejected', 'pending']),
    vote: voteSchema,
    approvals: z.number().int().min(0).max(20),
    required: z.number().int().min(1).max(10),
    decidedBy: actorSchema,
    decidedAt: isoTimestampSchema,
  }),
});
/** The detail of `governance.approval.decided`. */
export type ApprovalDecided = z.infer<typeof approvalDecided.schema>;

/** `governance.approval.escalated` v1: nobody decided in time; admins decide now. */
export const approvalEscalated = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.approval.escalated',
  version: '1',
  description: 'An approval timed out with its approvers and was escalated once, to admins; the gate fails closed if they do not decide either.',
  schema: detailSchema('1', {
    approvalId: approvalIdSchema,
    proposalId: proposalIdSchema,
    group: approverGroupSchema,
    deadline: isoTimestampSchema,
    escalatedAt: isoTimestampSchema,
  }),
});

/** `governance.killswitch.changed` v1: a tenant's (or, in tenant `system`, the global) kill switch. */
export const killSwitchChanged = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.killswitch.changed',
  version: '1',
  description: 'A kill switch was turned on or off; while on, every actuation path answers 423.',
  schema: detailSchema('1', {
    scope: z.enum(['tenant', 'global']),
    enabled: z.boolean(),
    reason: z.string().max(2000),
    actor: actorSchema,
    changedAt: isoTimestampSchema,
  }),
});

/** `governance.policy.published` v1: a tenant's Cedar policy set got a new version. */
export const policyPublished = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.policy.published',
  version: '1',
  description: "A new version of a tenant's Cedar policy set was validated against the schema and stored; its hash is recorded.",
  schema: detailSchema('1', {
    policyVersion: z.number().int().min(1),
    hash: z.string().regex(/^[0-9a-f]{64}$/).max(64),
    policyIds: z.array(z.string().max(256)).max(1000),
    actor: actorSchema,
    breakGlass: z.boolean(),
    publishedAt: isoTimestampSchema,
  }),
});

/**
 * `governance.breakglass.used` v1: an admin ran a governance repair route (lib/governance/policy.ts,
 * `BREAK_GLASS_ROUTES`) that the tenant's own policies forbid. Published before the route runs;
 * the audit appender records it in the ledger, its correlation id linking the entry to the request.
 */
export const breakGlassUsed = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.breakglass.used',
  version: '1',
  description: "An admin used break-glass: a governance repair route ran although the tenant's own Cedar policies forbid it.",
  schema: detailSchema('1', {
    actor: actorSchema,
    method: z.enum(['GET', 'POST', 'PUT', 'DELETE']),
    path: z.string().min(1).max(256),
    /** The policies that would have denied it. */
    policies: z.array(z.string().max(256)).max(100),
    policyVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    correlationId: z.string().min(1).max(256),
    usedAt: isoTimestampSchema,
  }),
});

/** `governance.autonomy.changed` v1: a tenant's autonomy level changed. */
export const autonomyChanged = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.autonomy.changed',
  version: '1',
  description: "A tenant's autonomy level changed (1 supervised … 4 fully autonomous within policy).",
  schema: detailSchema('1', { from: autonomyLevelSchema, to: autonomyLevelSchema, actor: actorSchema, changedAt: isoTimestampSchema }),
});

/** `governance.config.changed` v1: quorum, timeouts, freeze windows or the constitution quorum changed. */
export const configChanged = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.config.changed',
  version: '1',
  description: "A tenant's governance configuration changed (quorum per risk level, gate timeouts, change freezes, constitution quorum).",
  schema: detailSchema('1', { config: z.record(z.string().min(1).max(64), z.unknown()), actor: actorSchema, changedAt: isoTimestampSchema }),
});

/** `governance.constitution.changed` v1: a constitution was proposed (waits for its quorum) or ratified. */
export const constitutionChanged = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.constitution.changed',
  version: '1',
  description: "A tenant's constitution was changed (actuation waits for an admin quorum) or ratified (actuation resumes); its SHA-256 is recorded.",
  schema: detailSchema('1', {
    constitutionVersion: z.number().int().min(1),
    hash: z.string().regex(/^[0-9a-f]{64}$/).max(64),
    state: z.enum(['proposed', 'ratified']),
    actor: actorSchema,
    changedAt: isoTimestampSchema,
  }),
});
