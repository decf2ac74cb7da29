/** Improvement loop state machine task "watch": looks at the promotion until it ends (lib/evolution/loop.ts). */
import { loopDeps } from '../../lib/adapters/aws/evolution-loop-deps.ts';
import { watchStep } from '../../lib/evolution/loop.ts';
import { loopStateSchema } from '../../lib/evolution/loop-schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(loopStateSchema.pick({ tenant: true, loopId: true }), async (input) => ({
  state: await watchStep(input, loopDeps()),
}));
