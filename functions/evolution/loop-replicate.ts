/** Improvement loop state machine task "replicate": the Replication engine evaluates the promoted component (lib/evolution/loop.ts). */
import { loopDeps } from '../../lib/adapters/aws/evolution-loop-deps.ts';
import { replicateStep } from '../../lib/evolution/loop.ts';
import { loopStateSchema } from '../../lib/evolution/loop-schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(loopStateSchema.pick({ tenant: true, loopId: true }), async (input) => ({
  state: await replicateStep(input, loopDeps()),
}));
