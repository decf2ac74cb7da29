/** Routes of the Promotion engine: start, abort and read promotions; post the metrics a step is judged on. */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';
import { abortInputSchema, metricsInputSchema, promotionInputSchema, promotionViewSchema, statusInputSchema } from './schemas.ts';

/** POST /promotion/promotions: start a promotion. */
export const startPromotionRoute = defineRoute({
  engine: 'promotion',
  action: 'promotions',
  method: 'POST',
  permission: 'promotion:write',
  summary:
    "Promote a version of a component to the next stage (dev → staging → prod) through canary steps (default 5 → 25 → 50 → 100%) with a bake time each: the Execution engine's dry run on the target (a Lambda alias or a SageMaker endpoint's variants), one governance proposal for the plan (prod: people; a breaking version: people), then each step's traffic shifted and read back, the canary judged against a fresh baseline (Mann-Whitney U, Hodges-Lehmann), pass → next step, fail → rolled back, marginal → paused for a person. 202 with the promotion; 400 names the field, 403 out of scope or forbidden by policy, 404 no such target, 423 kill switch",
  parameters: promotionInputSchema,
  result: promotionViewSchema,
});

/** DELETE /promotion/promotions: abort a promotion (rolls it back). */
export const abortPromotionRoute = defineRoute({
  engine: 'promotion',
  action: 'promotions',
  method: 'DELETE',
  permission: 'promotion:write',
  summary:
    "Abort a promotion: the canary's traffic goes back to 0 at once (read back) and the promotion ends rolled back. 404 when the tenant has no such promotion, 409 when it has ended",
  parameters: abortInputSchema,
  result: promotionViewSchema,
});

/** GET /promotion/status: promotions with their stage, step, weights and judge reports. */
export const promotionStatusRoute = defineRoute({
  engine: 'promotion',
  action: 'status',
  method: 'GET',
  permission: 'promotion:read',
  summary:
    "The tenant's promotions, newest first, or one with `promotionId` (404 when the tenant has none such): stage, status, step, weights, each step's judge report (per metric: n, medians, U, p, Hodges-Lehmann shift and interval, verdict) and the timings (deployment, bake, waiting for people)",
  parameters: statusInputSchema,
  result: z.strictObject({ promotions: z.array(promotionViewSchema).max(50) }),
});

/** POST /promotion/metrics: samples of the canary and its baseline for one step. */
export const postMetricsRoute = defineRoute({
  engine: 'promotion',
  action: 'metrics',
  method: 'POST',
  permission: 'promotion:write',
  summary:
    "Post samples of a promotion's metrics for one step, canary and baseline (for a promotion whose metricsSource is `posted`; at most 500 values a side a post, the newest 1000 a side kept). 400 for a step or metric the promotion does not have, 404 when the tenant has no such promotion",
  parameters: metricsInputSchema,
  result: z.strictObject({ accepted: z.number().int().min(0).max(20_000) }),
});
