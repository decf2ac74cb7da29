/** Improvement loop state machine task "decide": the kill switches, then observe and Evolution's decision (or the requested arm) (lib/evolution/loop.ts). */
import { loopDeps } from '../../lib/adapters/aws/evolution-loop-deps.ts';
import { decideStep } from '../../lib/evolution/loop.ts';
import { loopStateSchema } from '../../lib/evolution/loop-schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(loopStateSchema.pick({ tenant: true, loopId: true }), async (input) => ({
  state: await decideStep(input, loopDeps()),
}));
