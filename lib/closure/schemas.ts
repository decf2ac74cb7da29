/**
 * The Closure engine's vocabulary: lifecycle policies (per tenant and component kind), termination
 * requests, plans with ordered steps, and the stored termination record. Zod schemas and their types;
 * routes, the store and the events take their shapes from here. Every value is bounded
 * (test/unit/schema-bounds.test.ts).
 */
import { z } from 'zod';
import { actorSchema } from '../../events/ids.ts';
import { bindingValueSchema, componentIdSchema } from '../reflex/schemas.ts';

/** Most components one termination removes (the target and its cascade). */
export const MAX_CASCADE = 100;
/** Most component kinds a tenant's policy names. */
export const MAX_POLICY_KINDS = 50;
/** Most steps one plan holds (five per component at most, and the archive and final steps). */
export const MAX_STEPS = 5 * MAX_CASCADE + 2;

const sha256Schema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex')
  .max(64);
const kindSchema = z
  .string()
  .regex(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/, 'kebab-case')
  .max(64);

/**
 * What terminating one kind of component requires: `approvals` distinct approvers (people or agents;
 * the governance quorum is the larger of this and the tenant's `minApprovals` for the risk), how long
 * the archive is kept, and which clean-up steps run.
 */
export const kindPolicySchema = z.strictObject({
  approvals: z.number().int().min(1).max(10).default(2),
  /** Days the archive is kept at least: the manifest's `retainUntil`; the object is tagged with the smallest retention class that long, which the bucket's lifecycle rule expires (lib/closure/archive-retention.ts). */
  retentionDays: z.number().int().min(1).max(3650).default(365),
  /** Stop its traffic first through its `quarantine` executor binding (zero concurrency, rule disabled). */
  quiesce: z.boolean().default(true),
  /** Revoke the API keys it holds (keys named after it: `<id>` or `<id>#<anything>`). */
  revokeCredentials: z.boolean().default(true),
});
/** A kind's lifecycle policy. */
export type KindPolicy = z.infer<typeof kindPolicySchema>;

/** A tenant's lifecycle policy: a default and overrides per component kind (`capsule` for installed capsules). */
export const lifecyclePolicySchema = z.strictObject({
  default: kindPolicySchema.default({ approvals: 2, retentionDays: 365, quiesce: true, revokeCredentials: true }),
  kinds: z
    .record(kindSchema, kindPolicySchema)
    .default({})
    .refine((kinds) => Object.keys(kinds).length <= MAX_POLICY_KINDS, `at most ${MAX_POLICY_KINDS} kinds`),
});
/** A tenant's lifecycle policy. */
export type LifecyclePolicy = z.infer<typeof lifecyclePolicySchema>;

/** A termination's target: a registered component id, or `capsule/<name>` for an installed capsule. */
export const targetSchema = componentIdSchema;

/** `POST /closure/terminations`. */
export const terminationInputSchema = z.strictObject({
  target: targetSchema,
  reason: z.string().min(1).max(2000),
  /** Terminate its live dependents too, dependents first; without it, live dependents refuse the request (409). */
  cascade: z.boolean().default(false),
});
/** A termination request. */
export type TerminationInput = z.infer<typeof terminationInputSchema>;

/** `GET /closure/status`: one termination, or the tenant's latest ones. */
export const statusInputSchema = z.strictObject({
  terminationId: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(50).default(20),
});

/** The kinds of plan steps, in the order a plan runs them. */
export const stepKinds = ['quiesce', 'archive', 'revoke', 'deregister', 'uninstall', 'record'] as const;
/** A plan step's kind. */
export const stepKindSchema = z.enum(stepKinds);

/** One step of a termination plan. */
export const planStepSchema = z.strictObject({
  /** Position in the plan, from 0. */
  index: z.number().int().min(0).max(MAX_STEPS),
  kind: stepKindSchema,
  /** The component it acts on (`*` for the archive and the final record: every component of the plan). */
  component: z.string().min(1).max(200),
  /** What it does, for people. */
  description: z.string().max(1000),
  /** Quiesce: the executor binding; revoke: the key ids. */
  executor: z
    .strictObject({
      kind: z.string().max(64),
      resource: z.string().max(2048),
      parameters: z.record(z.string().max(128), bindingValueSchema),
    })
    .optional(),
  keyIds: z.array(z.string().max(64)).max(100).optional(),
});
/** A plan step. */
export type PlanStep = z.infer<typeof planStepSchema>;

/** A termination plan: the components in termination order (dependents first) and the steps. */
export const planSchema = z.strictObject({
  target: targetSchema,
  /** Every component terminated, dependents before what they depend on; the target last. */
  order: z.array(z.string().max(200)).min(1).max(MAX_CASCADE),
  steps: z.array(planStepSchema).max(MAX_STEPS),
  /** The policy applied (the strictest of the components' kinds). */
  policy: kindPolicySchema,
});
/** A termination plan. */
export type Plan = z.infer<typeof planSchema>;

/** What one executed step left. */
export const stepResultSchema = z.strictObject({
  index: z.number().int().min(0).max(MAX_STEPS),
  kind: stepKindSchema,
  component: z.string().max(200),
  outcome: z.enum(['done', 'skipped', 'failed']),
  detail: z.string().max(2000),
  at: z.iso.datetime().max(64),
});
/** A step's result. */
export type StepResult = z.infer<typeof stepResultSchema>;

/** Termination states: `pending` at the gate, then `terminated`, `failed`, `rejected` or `halted` (kill switch). */
export const terminationStatusSchema = z.enum(['pending', 'executing', 'terminated', 'failed', 'rejected', 'halted']);

/** A termination as stored and shown. */
export const terminationSchema = z.strictObject({
  /** The governance proposal's id, also the termination's. */
  terminationId: z.string().max(64),
  target: targetSchema,
  reason: z.string().max(2000),
  cascade: z.boolean(),
  status: terminationStatusSchema,
  plan: planSchema,
  /** SHA-256 of the canonical JSON of the plan (what the approvers approved). */
  planHash: sha256Schema,
  requestedBy: actorSchema,
  requestedAt: z.iso.datetime().max(64),
  /** When the quorum approved (the proposal's settle time). */
  approvedAt: z.iso.datetime().max(64).optional(),
  approvers: z.array(actorSchema).max(20).default([]),
  steps: z.array(stepResultSchema).max(MAX_STEPS).default([]),
  /** The archive object (`<tenant>/closure/archives/<id>.json`) and the SHA-256 of its manifest. */
  archiveKey: z.string().max(1024).optional(),
  manifestHash: sha256Schema.optional(),
  completedAt: z.iso.datetime().max(64).optional(),
  /** Milliseconds from approval to the final ledger entry (the approval wait is `approvedAt − requestedAt`). */
  terminationMs: z.number().int().min(0).max(1e12).optional(),
  reasons: z.array(z.string().max(1000)).max(50).default([]),
});
/** A termination. */
export type Termination = z.infer<typeof terminationSchema>;

/** The reply to a termination request: the termination (its plan) and its proposal. */
export const terminationReplySchema = z.strictObject({
  termination: terminationSchema,
  proposal: z.strictObject({
    proposalId: z.string().max(64),
    status: z.string().max(32),
    route: z.string().max(32),
    required: z.number().int().min(1).max(10),
  }),
});

/** `GET /closure/status`'s reply. */
export const statusReplySchema = z.strictObject({ terminations: z.array(terminationSchema).max(50) });
