/** KAMACHIQ plan task, before a layer that needs a review gate: proposes capsules:plan to governance as the plan's starter. */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { reviewDeps } from '../../lib/adapters/aws/capsule-plan-store.ts';
import { reviewStep } from '../../lib/capsules/plan-steps.ts';
import { planIdSchema } from '../../lib/capsules/plans.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ tenant: tenantSchema, planId: planIdSchema }), (ref) =>
  reviewStep(ref, reviewDeps(new Date())),
);
