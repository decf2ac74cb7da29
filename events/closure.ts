/**
 * Events of the Closure engine (`autonomy.closure`): a termination requested (its plan's order, steps
 * and hash, the approvals it needs), each step of an approved termination completed, and the
 * termination completed — the final record that proves it (the archive manifest's hash, the plan's
 * hash, the approvers) — and a tenant's lifecycle policy changed. Saved with the state they report (an
 * outbox), recorded in the tenant's ledger (stream `events.closure`) and published after it
 * (events/delivery.ts).
 */
import { z } from 'zod';
import { lifecyclePolicySchema, MAX_CASCADE, MAX_STEPS, stepResultSchema, targetSchema } from '../lib/closure/schemas.ts';
import { defineEvent, detailSchema } from './common.ts';
import { actorSchema } from './ids.ts';

const hash = z
  .string()
  .max(64)
  .regex(/^[0-9a-f]{64}$/);
const id = z.string().min(1).max(64);
const at = z.iso.datetime().max(64);
const order = z.array(z.string().max(200)).min(1).max(MAX_CASCADE);

/** `closure.termination.requested` v1. */
export const terminationRequested = defineEvent({
  source: 'autonomy.closure',
  detailType: 'closure.termination.requested',
  version: '1',
  description:
    'A termination was requested, validated and proposed to governance: the components it terminates in order (dependents first), its steps, the SHA-256 of its plan and the approvals its lifecycle policy asks for.',
  schema: detailSchema('1', {
    terminationId: id,
    proposalId: id,
    target: targetSchema,
    cascade: z.boolean(),
    order,
    steps: z.array(z.string().max(300)).max(MAX_STEPS),
    planHash: hash,
    approvals: z.number().int().min(1).max(10),
    requestedBy: actorSchema,
    reason: z.string().max(2000),
    requestedAt: at,
  }),
});

/** `closure.step.completed` v1. */
export const closureStepCompleted = defineEvent({
  source: 'autonomy.closure',
  detailType: 'closure.step.completed',
  version: '1',
  description: 'One step of an approved termination ran (quiesce, archive, revoke, deregister, uninstall): its outcome and what it did.',
  schema: detailSchema('1', {
    terminationId: id,
    target: targetSchema,
    step: stepResultSchema,
    planHash: hash,
  }),
});

/** `closure.termination.completed` v1. */
export const terminationCompleted = defineEvent({
  source: 'autonomy.closure',
  detailType: 'closure.termination.completed',
  version: '1',
  description:
    "A termination ended: `terminated` (every step done; this entry proves it with the archive manifest's hash, the plan's hash and the approvers), `failed` (a step failed; the steps done stay done), `rejected` (its proposal was not approved) or `halted` (a kill switch, before any step).",
  schema: detailSchema('1', {
    terminationId: id,
    proposalId: id,
    target: targetSchema,
    outcome: z.enum(['terminated', 'failed', 'rejected', 'halted']),
    order,
    planHash: hash,
    manifestHash: hash.nullable(),
    archiveKey: z.string().max(1024).nullable(),
    approvers: z.array(actorSchema).max(20),
    steps: z.array(z.string().max(300)).max(MAX_STEPS),
    reasons: z.array(z.string().max(1000)).max(50),
    terminationMs: z.number().int().min(0).max(1e12).nullable(),
    completedAt: at,
  }),
});

/** `closure.policy.changed` v1. */
export const closurePolicyChanged = defineEvent({
  source: 'autonomy.closure',
  detailType: 'closure.policy.changed',
  version: '1',
  description:
    "A tenant's lifecycle policy changed: the approvals, archive retention and clean-up steps a termination of each component kind requires.",
  schema: detailSchema('1', { policy: lifecyclePolicySchema, changedBy: actorSchema, changedAt: at }),
});
