/** Improvement loop state machine task "promote": the kill switches, then the Promotion engine's promotion of the configuration version (lib/evolution/loop.ts). */
import { loopDeps } from '../../lib/adapters/aws/evolution-loop-deps.ts';
import { promoteStep } from '../../lib/evolution/loop.ts';
import { loopStateSchema } from '../../lib/evolution/loop-schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(loopStateSchema.pick({ tenant: true, loopId: true }), async (input) => ({
  state: await promoteStep(input, loopDeps()),
}));
