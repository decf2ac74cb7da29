/**
 * Self-repair loop task: writes the round's outcome (the case base learns it; not recovered proposes
 * the next playbook, for people after the tenant's maxFailedPlaybooks), then names the next step.
 */
import { z } from 'zod';
import { loopDeps } from '../../lib/adapters/aws/reflex-deps.ts';
import { loopStateSchema, recordStep } from '../../lib/reflex/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ state: loopStateSchema }), async ({ state }) => ({
  state: await recordStep(state, loopDeps(new Date())),
}));
