/**
 * Events of the Capsules engine (`autonomy.capsules`): the governed lifecycle of a capsule, each
 * step saved with the state it reports (an outbox), recorded in the ledger of the tenant it
 * concerns (stream `events.capsules`) and published after it, so each is published at least once
 * (events/delivery.ts). An author's tenant records its keys, each automated review (passed or
 * refused, with the reason), the submission, the reviewers' outcome (published or rejected) and
 * deprecations; an installing tenant records its installs and uninstalls. The bundle never reaches
 * the bus: its SHA-256 does.
 */
import { z } from 'zod';
import { defineEvent, detailSchema, isoTimestampSchema, MAX_TEXT_LENGTH, sha256HexSchema } from './common.ts';
import { actorSchema, capsuleNameSchema, semverSchema, tenantSchema } from './ids.ts';

/** An author's key id: the SHA-256 (hex) of its public key's DER (SubjectPublicKeyInfo). */
const keyIdSchema = sha256HexSchema;
/** A governance proposal id (lib/governance/proposals.ts). */
const proposalIdSchema = z.string().min(1).max(64);
/** A submission's id. */
const submissionIdSchema = z.string().min(1).max(64);

/** The automated review's checks, in the order they run (lib/capsules/review.ts). */
export const reviewCheckNames = ['size', 'signature', 'bundle', 'manifest', 'rights', 'version'] as const;

/** One check of an automated review: passed, failed (with why), or skipped after an earlier failure. */
export const reviewCheckSchema = z.strictObject({
  check: z.enum(reviewCheckNames),
  outcome: z.enum(['passed', 'failed', 'skipped']),
  detail: z.string().max(MAX_TEXT_LENGTH),
});
/** One check of a review. */
export type ReviewCheck = z.infer<typeof reviewCheckSchema>;

/** `capsules.author-key.changed` v1: an admin registered or revoked an author's Ed25519 public key. */
export const authorKeyChanged = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.author-key.changed',
  version: '1',
  description:
    "An admin registered or revoked an author's Ed25519 public key in the tenant (PUT /capsules/authors): the author's subject, the key id (SHA-256 of the public key), who changed it.",
  schema: detailSchema('1', {
    subject: actorSchema,
    keyId: keyIdSchema,
    change: z.enum(['registered', 'revoked']),
    changedBy: actorSchema,
    changedAt: isoTimestampSchema,
  }),
});

/**
 * `capsules.review.completed` v1: the automated review of a submitted bundle, passed or refused.
 * A refused bundle is stored nowhere and published nowhere: this record and the reply are all that
 * is left of it.
 */
export const reviewCompleted = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.review.completed',
  version: '1',
  description:
    'The automated review of a submitted capsule bundle: each check (size, signature, bundle, manifest, rights, version) and the outcome; a refusal gives the failing check, the reply status and the exact reason, and nothing is stored or published.',
  schema: detailSchema('1', {
    submissionId: submissionIdSchema,
    outcome: z.enum(['passed', 'refused']),
    /** The manifest's name and version when the review got that far. */
    name: capsuleNameSchema.nullable(),
    capsuleVersion: semverSchema.nullable(),
    /** SHA-256 of the bundle's bytes when they could be decoded. */
    bundleSha256: sha256HexSchema.nullable(),
    bundleBytes: z.number().int().min(0).max(1e9),
    author: actorSchema,
    keyId: keyIdSchema.nullable(),
    checks: z.array(reviewCheckSchema).max(reviewCheckNames.length),
    /** The failing check's reason (refused), else null. */
    reason: z.string().max(MAX_TEXT_LENGTH).nullable(),
    /** The HTTP status the submission was refused with (400, 403, 409, 413), else null. */
    status: z.number().int().min(400).max(499).nullable(),
    reviewedAt: isoTimestampSchema,
  }),
});

/** `capsules.version.submitted` v1: a version passed the automated review and waits for a reviewer's approval. */
export const versionSubmitted = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.version.submitted',
  version: '1',
  description:
    "A capsule version passed the automated review, its bundle stored by content hash: it waits at the governance gate (proposal capsules:publish, an approval by the tenant's reviewers).",
  schema: detailSchema('1', {
    name: capsuleNameSchema,
    capsuleVersion: semverSchema,
    bundleSha256: sha256HexSchema,
    author: actorSchema,
    keyId: keyIdSchema,
    proposalId: proposalIdSchema,
    approvalId: z.string().min(1).max(80).nullable(),
    submittedAt: isoTimestampSchema,
  }),
});

/** `capsules.version.published` v1: reviewers approved a version; it is in the marketplace, immutable. */
export const versionPublished = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.version.published',
  version: '1',
  description:
    "A capsule version was approved through the governance gate and published to the stage's marketplace: immutable from now on, installable by every tenant.",
  schema: detailSchema('1', {
    name: capsuleNameSchema,
    capsuleVersion: semverSchema,
    bundleSha256: sha256HexSchema,
    author: actorSchema,
    proposalId: proposalIdSchema,
    publishedAt: isoTimestampSchema,
  }),
});

/** `capsules.version.rejected` v1: the gate ended without an approval (rejected, timed out, refused or withdrawn). */
export const versionRejected = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.version.rejected',
  version: '1',
  description:
    'A submitted capsule version was not published: its proposal was rejected by reviewers, timed out, or refused; the version number may be submitted again.',
  schema: detailSchema('1', {
    name: capsuleNameSchema,
    capsuleVersion: semverSchema,
    bundleSha256: sha256HexSchema,
    /** Null when the proposal itself was refused before it was made (a kill switch, the tenant's policies). */
    proposalId: proposalIdSchema.nullable(),
    proposalStatus: z.enum(['rejected', 'timed-out', 'refused']),
    reasons: z.array(z.string().max(MAX_TEXT_LENGTH)).max(50),
    rejectedAt: isoTimestampSchema,
  }),
});

/** `capsules.version.deprecated` v1: the owner deprecated a published version; installs keep it, new installs are refused. */
export const versionDeprecated = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.version.deprecated',
  version: '1',
  description:
    'The owning tenant deprecated a published capsule version: tenants that installed it keep it, new installs of it are refused.',
  schema: detailSchema('1', {
    name: capsuleNameSchema,
    capsuleVersion: semverSchema,
    reason: z.string().min(1).max(MAX_TEXT_LENGTH),
    deprecatedBy: actorSchema,
    deprecatedAt: isoTimestampSchema,
  }),
});

/** A capsule's budget per run, as installed. */
const budgetSchema = z.strictObject({ tokens: z.number().int().min(0).max(1e12), costUsd: z.number().min(0).max(1e9) });

/** `capsules.capsule.installed` v1: a tenant installed a published version: its guardrails in force, its budget recorded. */
export const capsuleInstalled = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.capsule.installed',
  version: '1',
  description:
    "A tenant installed (or moved to) a published capsule version: its guardrails became the capsule's layer of the tenant's Cedar policy set (the version that applied them), and its per-run budget was recorded.",
  schema: detailSchema('1', {
    name: capsuleNameSchema,
    capsuleVersion: semverSchema,
    previousVersion: semverSchema.nullable(),
    bundleSha256: sha256HexSchema,
    /** The tenant that published the capsule. */
    ownerTenant: tenantSchema,
    /** The tenant's policy set version that holds the capsule's layer. */
    policyVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    budget: budgetSchema,
    installedBy: actorSchema,
    installedAt: isoTimestampSchema,
  }),
});

/** `capsules.capsule.uninstalled` v1: a tenant removed a capsule: its layer left the tenant's policy set. */
export const capsuleUninstalled = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.capsule.uninstalled',
  version: '1',
  description:
    "A tenant uninstalled a capsule: its guardrails' layer left the tenant's Cedar policy set (the version without it) and its budget is no longer reserved.",
  schema: detailSchema('1', {
    name: capsuleNameSchema,
    capsuleVersion: semverSchema,
    policyVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    uninstalledBy: actorSchema,
    uninstalledAt: isoTimestampSchema,
  }),
});

/** A capsule run's id. */
const runIdSchema = z
  .string()
  .max(36)
  .regex(/^run-[0-9a-f]{32}$/, 'run-<32 hex>');
/** What a run spent so far: tokens and USD (gateway calls), tool calls. */
const runUsageSchema = z.strictObject({
  tokens: z.number().int().min(0).max(1e12),
  costUsd: z.number().min(0).max(1e9),
  toolCalls: z.number().int().min(0).max(1e6),
});

/** `capsules.run.started` v1: a tenant started a run of an installed capsule (its input checked against the capsule's schema). */
export const runStarted = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.run.started',
  version: '1',
  description:
    "A run of an installed capsule started: an ephemeral session of its code (or one gateway chat with its persona) that may call only the capsule's declared tools, within its per-run budget. The input is recorded by its SHA-256.",
  schema: detailSchema('1', {
    runId: runIdSchema,
    name: capsuleNameSchema,
    capsuleVersion: semverSchema,
    bundleSha256: sha256HexSchema,
    inputSha256: sha256HexSchema,
    budget: budgetSchema,
    startedBy: actorSchema,
    startedAt: isoTimestampSchema,
  }),
});

/** `capsules.run-tool.called` v1: one tool call of a run, through the MCP path, as the run's principal. */
export const runToolCalled = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.run-tool.called',
  version: '1',
  description:
    "One tool call of a capsule run: the tool, its arguments' and result's SHA-256, how it ended (success, pending approval, error, or refused before it was made: undeclared or over budget) and the run's usage after it.",
  schema: detailSchema('1', {
    runId: runIdSchema,
    name: capsuleNameSchema,
    step: z.number().int().min(1).max(1e6),
    tool: z.string().min(1).max(64),
    outcome: z.enum(['success', 'pending', 'error', 'refused']),
    argumentsSha256: sha256HexSchema,
    resultSha256: sha256HexSchema.nullable(),
    /** The route's HTTP status (0: refused or failed without a reply). */
    statusCode: z.number().int().min(0).max(599),
    reason: z.string().max(MAX_TEXT_LENGTH).nullable(),
    usage: runUsageSchema,
    calledAt: isoTimestampSchema,
  }),
});

/** `capsules.run.ended` v1: a capsule run ended: completed, failed, stopped over budget, or waiting for an approval. */
export const runEnded = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.run.ended',
  version: '1',
  description:
    "A capsule run ended with its outcome (completed, failed, over-budget, pending-approval, refused), its summary's SHA-256, its usage and the reason when it did not complete; the outcome counts in the capsule's record.",
  schema: detailSchema('1', {
    runId: runIdSchema,
    name: capsuleNameSchema,
    capsuleVersion: semverSchema,
    outcome: z.enum(['completed', 'failed', 'over-budget', 'pending-approval', 'refused']),
    summarySha256: sha256HexSchema.nullable(),
    usage: runUsageSchema,
    reason: z.string().max(MAX_TEXT_LENGTH).nullable(),
    endedAt: isoTimestampSchema,
  }),
});

/** A KAMACHIQ plan's id. */
const planIdSchema = z
  .string()
  .max(37)
  .regex(/^plan-[0-9a-f]{32}$/, 'plan-<32 hex>');
/** A node's id within its plan. */
const planNodeIdSchema = z
  .string()
  .max(32)
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a node id');
/** How a node of a plan ended: its run's outcome, or skipped (never started). */
const planNodeOutcomeSchema = z.enum(['completed', 'failed', 'over-budget', 'pending-approval', 'refused', 'skipped']);

/** `capsules.plan.started` v1: a tenant started a KAMACHIQ plan: a goal, a DAG of capsule runs, a plan budget. */
export const planStarted = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.plan.started',
  version: '1',
  description:
    'A KAMACHIQ plan started (POST /capsules/plans): its goal, each node (installed capsule, the nodes it depends on, its run budget, its layer) and the plan budget; its layers run one after the other, the nodes of a layer in parallel.',
  schema: detailSchema('1', {
    planId: planIdSchema,
    goal: z.string().max(MAX_TEXT_LENGTH),
    budget: budgetSchema,
    nodes: z
      .array(
        z.strictObject({
          id: planNodeIdSchema,
          capsule: capsuleNameSchema,
          dependsOn: z.array(planNodeIdSchema).max(20),
          budget: budgetSchema,
          layer: z.number().int().min(0).max(20),
          inputSha256: sha256HexSchema,
        }),
      )
      .min(1)
      .max(20),
    startedBy: actorSchema,
    startedAt: isoTimestampSchema,
  }),
});

/** `capsules.plan-node.ended` v1: one node of a plan ended: its run's outcome, or skipped and why. */
export const planNodeEnded = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.plan-node.ended',
  version: '1',
  description:
    "A node of a KAMACHIQ plan ended: its capsule run's outcome, run id, usage and duration, or skipped before it started (a dependency did not complete, its run budget did not fit the plan's remaining budget, a kill switch, the plan cancelled) with the reason.",
  schema: detailSchema('1', {
    planId: planIdSchema,
    nodeId: planNodeIdSchema,
    capsule: capsuleNameSchema,
    runId: runIdSchema.nullable(),
    outcome: planNodeOutcomeSchema,
    usage: runUsageSchema,
    durationMs: z.number().int().min(0).max(1e9).nullable(),
    reason: z.string().max(MAX_TEXT_LENGTH).nullable(),
    endedAt: isoTimestampSchema,
  }),
});

/** `capsules.plan.reviewed` v1: a plan's review gate was decided. */
export const planReviewed = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.plan.reviewed',
  version: '1',
  description:
    "A KAMACHIQ plan's review gate was decided: its capsules:plan proposal (before the first layer, or before a layer holding a node flagged for review), where governance routed it by risk and the tenant's autonomy level, why people were asked whatever the level (the budget above the threshold, flagged nodes), and the decision: approved (the plan goes on), or rejected, timed out or refused (the plan ends rejected).",
  schema: detailSchema('1', {
    planId: planIdSchema,
    layer: z.number().int().min(0).max(20),
    proposalId: proposalIdSchema,
    route: z.enum(['autonomous', 'l3-validation', 'human-approval']),
    escalated: z.string().max(300).nullable(),
    decision: z.enum(['approved', 'rejected', 'timed-out', 'refused']),
    reason: z.string().max(MAX_TEXT_LENGTH),
    decidedAt: isoTimestampSchema,
  }),
});

/** `capsules.plan.completed` v1: a plan's final summary. */
export const planCompleted = defineEvent({
  source: 'autonomy.capsules',
  detailType: 'capsules.plan.completed',
  version: '1',
  description:
    "A KAMACHIQ plan ended with its summary: completed (every run completed), failed (naming what did not), halted (a kill switch), cancelled or rejected; each node's outcome, cost and duration, and what the plan spent of its budget.",
  schema: detailSchema('1', {
    planId: planIdSchema,
    outcome: z.enum(['completed', 'failed', 'halted', 'cancelled', 'rejected']),
    reason: z.string().max(MAX_TEXT_LENGTH),
    budget: budgetSchema,
    usage: runUsageSchema,
    nodes: z
      .array(
        z.strictObject({
          id: planNodeIdSchema,
          capsule: capsuleNameSchema,
          outcome: planNodeOutcomeSchema.or(z.literal('pending')),
          runId: runIdSchema.nullable(),
          tokens: z.number().int().min(0).max(1e12),
          costUsd: z.number().min(0).max(1e9),
          durationMs: z.number().int().min(0).max(1e9).nullable(),
          reason: z.string().max(MAX_TEXT_LENGTH).nullable(),
        }),
      )
      .max(20),
    completedAt: isoTimestampSchema,
  }),
});
