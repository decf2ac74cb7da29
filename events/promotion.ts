/**
 * Events of the Promotion engine (`autonomy.promotion`): a promotion started (its plan and its
 * governance proposal), each traffic shift (the executor's change read back), each step's
 * judgement (the judge's report per metric) and how the promotion ended (with its timings). Each
 * is saved with the promotion it reports (an outbox), recorded in the tenant's ledger and
 * published after it, so it is published at least once (events/delivery.ts).
 */
import { z } from 'zod';
import { metricReportSchema } from '../lib/promotion/report-schemas.ts';
import { defineEvent, detailSchema, isoTimestampSchema } from './common.ts';
import { actorSchema } from './ids.ts';

const promotionId = z.string().min(1).max(64);
const weights = z.object({ canary: z.number().min(0).max(100), baseline: z.number().min(0).max(100), primary: z.number().min(0).max(100) });
const targetKind = z.enum(['lambda-alias', 'sagemaker-endpoint']);

/** `promotion.canary.started` v1: a promotion was planned and proposed to governance. */
export const promotionStarted = defineEvent({
  source: 'autonomy.promotion',
  detailType: 'promotion.canary.started',
  version: '1',
  description: 'A promotion of a version to a stage was planned (canary steps, bake time, metrics) and proposed to governance.',
  schema: detailSchema('1', {
    promotionId,
    component: z.string().min(1).max(128),
    /** The version promoted (`version` is the event schema's). */
    release: z.string().min(1).max(64),
    fromStage: z.enum(['dev', 'staging']),
    stage: z.enum(['staging', 'prod']),
    targetKind,
    resource: z.string().min(1).max(256),
    steps: z.array(z.number().int().min(1).max(100)).min(1).max(10),
    bakeSeconds: z.number().int().min(1).max(86_400),
    metrics: z.array(z.string().min(1).max(128)).min(1).max(20),
    proposalId: z.string().min(1).max(64),
    route: z.string().min(1).max(32),
    /** The Versioning engine's verdict; null when no version gate was asked. */
    breaking: z.boolean().nullable(),
    requestedBy: actorSchema,
    startedAt: isoTimestampSchema,
  }),
});

/** `promotion.traffic.shifted` v1: an executor set the canary's traffic and read it back. */
export const trafficShifted = defineEvent({
  source: 'autonomy.promotion',
  detailType: 'promotion.traffic.shifted',
  version: '1',
  description: "A promotion step's traffic weights (or a roll-back) were set through the Execution engine's executor and read back.",
  schema: detailSchema('1', {
    promotionId,
    step: z.number().int().min(-1).max(9),
    action: z.enum(['promote', 'roll-back']),
    weights,
    executor: targetKind,
    resource: z.string().min(1).max(256),
    changes: z.array(z.string().max(500)).max(50),
    verified: z.boolean(),
    reasons: z.array(z.string().max(1000)).max(20),
    actor: actorSchema,
    shiftedAt: isoTimestampSchema,
  }),
});

/** `promotion.canary.judged` v1: the canary judge's report on one step. */
export const canaryJudged = defineEvent({
  source: 'autonomy.promotion',
  detailType: 'promotion.canary.judged',
  version: '1',
  description:
    'The canary judge compared the canary with its fresh baseline over one step: per-metric Mann-Whitney and Hodges-Lehmann, the score and the decision.',
  schema: detailSchema('1', {
    promotionId,
    step: z.number().int().min(0).max(9),
    weight: z.number().min(0).max(100),
    score: z.number().min(0).max(100),
    decision: z.enum(['pass', 'marginal', 'fail']),
    criticalFailures: z.array(z.string().max(128)).max(20),
    reason: z.string().max(2000),
    metrics: z.array(metricReportSchema).max(20),
    window: z.object({ from: isoTimestampSchema, to: isoTimestampSchema }),
    /** The proposal that asks a person about a marginal step. */
    pauseProposalId: z.string().min(1).max(64).nullable(),
    judgedAt: isoTimestampSchema,
  }),
});

/** `promotion.canary.ended` v1: a promotion ended, with its timings. */
export const promotionEnded = defineEvent({
  source: 'autonomy.promotion',
  detailType: 'promotion.canary.ended',
  version: '1',
  description:
    'A promotion ended: promoted to 100%, rolled back (judge, person or abort), refused by governance, or failed; with its deployment, bake and waiting times.',
  schema: detailSchema('1', {
    promotionId,
    outcome: z.enum(['promoted', 'rolled-back', 'refused', 'failed']),
    reason: z.string().max(2000),
    /** Steps judged. */
    judged: z.number().int().min(0).max(10),
    weights,
    timing: z.object({
      totalMs: z.number().min(0).max(1e12),
      deploymentMs: z.number().min(0).max(1e12),
      bakeMs: z.number().min(0).max(1e12),
      peopleMs: z.number().min(0).max(1e12),
    }),
    endedAt: isoTimestampSchema,
  }),
});
