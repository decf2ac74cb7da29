/**
 * KAMACHIQ plan task (`.waitForTaskToken`): keeps the task token under the plan and resumes the plan
 * at once when its review proposal is decided already; otherwise capsules/plan-resume does, when
 * governance settles it.
 */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { reviewDeps } from '../../lib/adapters/aws/capsule-plan-store.ts';
import { awaitReview } from '../../lib/capsules/plan-steps.ts';
import { planIdSchema } from '../../lib/capsules/plans.ts';
import { logger } from '../../lib/observability.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

const inputSchema = z.object({
  taskToken: z.string().min(1).max(2048),
  tenant: tenantSchema,
  planId: planIdSchema,
  gateTimeoutSeconds: z.number().int().min(1).max(31_536_000),
});

export const handler = taskHandler(inputSchema, async (input) => {
  const outcome = await awaitReview(input, reviewDeps(new Date()));
  logger.info('plan review gate', { tenant: input.tenant, planId: input.planId, outcome });
  return { outcome };
});
