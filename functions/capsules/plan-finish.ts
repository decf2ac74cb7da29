/** KAMACHIQ plan task, last: the plan's summary with capsules.plan.completed, once. */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { levelDeps } from '../../lib/adapters/aws/capsule-plan-store.ts';
import { finishStep } from '../../lib/capsules/plan-steps.ts';
import { planIdSchema } from '../../lib/capsules/plans.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

const inputSchema = z.object({
  tenant: tenantSchema,
  planId: planIdSchema,
  /** A step that failed after its retries (the Catch's error), when one did. */
  failure: z.object({ Error: z.string().max(256), Cause: z.string().max(32768).optional() }).optional(),
});

export const handler = taskHandler(inputSchema, async ({ tenant, planId, failure }) => {
  const plan = await finishStep({ tenant, planId, ...(failure ? { failure: failure.Error } : {}) }, levelDeps());
  return { outcome: plan.status, reason: plan.reason };
});
