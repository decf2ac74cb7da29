/** Improvement loop state machine task "version": Versioning tags the chosen configuration, records the loop's checks and asks whether it may be promoted (again while a breaking version waits for approval) (lib/evolution/loop.ts). */
import { loopDeps } from '../../lib/adapters/aws/evolution-loop-deps.ts';
import { versionStep } from '../../lib/evolution/loop.ts';
import { loopStateSchema } from '../../lib/evolution/loop-schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(loopStateSchema.pick({ tenant: true, loopId: true }), async (input) => ({
  state: await versionStep(input, loopDeps()),
}));
