/**
 * KAMACHIQ plan task (`.waitForTaskToken`): waits at governance's gate for the plan's review proposal
 * (lib/governance/gate-wait.ts), resumed at once when it is decided already; otherwise
 * governance/gate-resume resumes it when governance settles it. The level step reads the decision.
 */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { planStore } from '../../lib/adapters/aws/capsule-plan-store.ts';
import { gateWaitDeps } from '../../lib/adapters/aws/gate-waits.ts';
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
  const outcome = await awaitReview(input, { store: planStore(), gate: gateWaitDeps(new Date()) });
  logger.info('plan review gate', { tenant: input.tenant, planId: input.planId, outcome });
  return { outcome };
});
