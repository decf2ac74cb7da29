/**
 * Events of the Migration engine (`autonomy.migration`): a plan created (its placement's objective,
 * its hash and the governance proposal that approves it), each step of a run (what the executor
 * changed, read back, and the checks' verdicts), and how a run ended, with its rollback (which
 * steps were undone, and whether a kill switch was on meanwhile: `rollback under kill switch`).
 * Each is saved with the plan or run it reports (an outbox), recorded in the tenant's ledger and
 * published after it, so it is published at least once (events/delivery.ts).
 */
import { z } from 'zod';
import { algorithms, migrationIdSchema, placementIdSchema, rollbackSchema, runStatuses } from '../lib/migration/schemas.ts';
import { defineEvent, detailSchema, isoTimestampSchema } from './common.ts';
import { actorSchema } from './ids.ts';

const dollars = z.number().min(0).max(1e9);
const lines = z.array(z.string().max(1000)).max(20);

/** `migration.plan.created` v1: a placement planned as ordered steps and proposed to governance. */
export const planCreated = defineEvent({
  source: 'autonomy.migration',
  detailType: 'migration.plan.created',
  version: '1',
  description:
    "A placement of workloads onto the tenant's pools was planned (algorithm, cost and risk, moves) as ordered steps with pre- and post-checks, and proposed to governance as one migration:migrate on migration/<planId> (none when nothing moves).",
  schema: detailSchema('1', {
    planId: migrationIdSchema,
    planHash: z.string().regex(/^[0-9a-f]{64}$/).max(64),
    algorithm: z.enum(algorithms),
    environment: z.string().min(1).max(16),
    objective: z.strictObject({
      cost: dollars,
      risk: dollars,
      total: dollars,
      instances: z.number().int().min(0).max(1e6),
      moves: z.number().int().min(0).max(1e6),
      zonePairs: z.number().int().min(0).max(1e6),
    }),
    moves: z.number().int().min(0).max(1000),
    steps: z.number().int().min(0).max(1000),
    proposalId: z.string().min(1).max(64).optional(),
    route: z.string().min(1).max(32).optional(),
    proposalStatus: z.string().min(1).max(32).optional(),
    createdBy: actorSchema,
    createdAt: isoTimestampSchema,
  }),
});

/** `migration.step.completed` v1: one step of a run carried out (or failed) through an L3 executor. */
export const stepCompleted = defineEvent({
  source: 'autonomy.migration',
  detailType: 'migration.step.completed',
  version: '1',
  description:
    "One step of a migration run: its workload and kind (provision, shift-traffic, drain, release), what the executor changed (read back), and the checks' verdicts; a failed step rolls the run back.",
  schema: detailSchema('1', {
    runId: migrationIdSchema,
    planId: migrationIdSchema,
    index: z.number().int().min(0).max(1000),
    workload: placementIdSchema,
    kind: z.enum(['provision', 'shift-traffic', 'drain', 'release']),
    from: placementIdSchema,
    to: placementIdSchema,
    status: z.enum(['succeeded', 'failed']),
    changes: lines,
    reasons: lines,
    startedAt: isoTimestampSchema,
    finishedAt: isoTimestampSchema,
  }),
});

/** `migration.run.completed` v1: a run of a plan ended, with its rollback when there was one. */
export const runCompleted = defineEvent({
  source: 'autonomy.migration',
  detailType: 'migration.run.completed',
  version: '1',
  description:
    "A migration run ended: succeeded, rolled back (a failed check or step), halted by a kill switch, refused by a pre-check or governance, cancelled, or failed; with the migration's duration and the rollback's account (the steps undone, and 'rollback under kill switch' when a switch was on meanwhile).",
  schema: detailSchema('1', {
    runId: migrationIdSchema,
    planId: migrationIdSchema,
    planHash: z.string().regex(/^[0-9a-f]{64}$/).max(64),
    proposalId: z.string().min(1).max(64),
    outcome: z.enum(runStatuses).exclude(['pending', 'running']),
    reason: z.string().max(1000),
    steps: z.number().int().min(0).max(1000),
    completed: z.number().int().min(0).max(1000),
    /** From the first step to the end; null when no step ran. */
    migrationMs: z.number().min(0).max(1e10).nullable(),
    rollback: rollbackSchema.nullable(),
    finishedAt: isoTimestampSchema,
  }),
});
/** The detail of `migration.run.completed`. */
export type RunCompleted = z.infer<typeof runCompleted.schema>;
