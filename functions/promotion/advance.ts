/**
 * Promotion state machine task (statemachines/promotion.asl.json): the promotion's next step
 * (approval, shift, judge, pause, roll-back) and how long the machine waits before the one after.
 * With `failure` (the machine caught an error it could not retry past), the promotion is aborted:
 * its canary rolled back.
 */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { withdrawDeps } from '../../lib/adapters/aws/governance-deps.ts';
import { promotionDeps } from '../../lib/adapters/aws/promotion-deps.ts';
import { ConflictError, NotFoundError } from '../../lib/errors.ts';
import { abortPromotion, advance, PROMOTION_ACTOR } from '../../lib/promotion/engine.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

const inputSchema = z.object({
  tenant: tenantSchema,
  promotionId: z.string().min(1).max(64),
  failure: z.object({ Error: z.string().max(256).optional(), Cause: z.string().max(4000).optional() }).optional(),
});

export const handler = taskHandler(inputSchema, async ({ tenant, promotionId, failure }) => {
  const deps = promotionDeps();
  if (failure) {
    try {
      const ended = await abortPromotion(
        tenant,
        { promotionId, reason: `the promotion's step failed: ${failure.Error ?? 'error'}`.slice(0, 2000) },
        { id: PROMOTION_ACTOR, roles: [] },
        { ...deps, withdrawal: withdrawDeps(new Date()) },
      );
      return { next: 'end' as const, waitSeconds: 0, status: ended.status };
    } catch (error) {
      // Ended already (or never stored): nothing left to roll back.
      if (error instanceof ConflictError || error instanceof NotFoundError)
        return { next: 'end' as const, waitSeconds: 0, status: 'failed' as const };
      throw error;
    }
  }
  return advance({ tenant, promotionId }, deps);
});
