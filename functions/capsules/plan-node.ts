/** KAMACHIQ plan task (one Map iteration): one node's capsule run, its outcome recorded on the plan. */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { nodeDeps } from '../../lib/adapters/aws/capsule-plan-deps.ts';
import { nodeStep } from '../../lib/capsules/plan-steps.ts';
import { nodeIdSchema, planIdSchema } from '../../lib/capsules/plans.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ tenant: tenantSchema, planId: planIdSchema, nodeId: nodeIdSchema }), (ref) =>
  nodeStep(ref, nodeDeps()),
);
