/** KAMACHIQ plan task, before each layer: a review gate's decision read, the kill switches and a cancellation, then the layer's nodes admitted within the plan budget. */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { levelDeps } from '../../lib/adapters/aws/capsule-plan-store.ts';
import { levelStep } from '../../lib/capsules/plan-steps.ts';
import { planIdSchema } from '../../lib/capsules/plans.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ tenant: tenantSchema, planId: planIdSchema }), (ref) => levelStep(ref, levelDeps()));
