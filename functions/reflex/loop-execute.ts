/**
 * Self-repair loop task: runs the round's playbook through the Execution engine in process (dry run,
 * kill switches, execute, read-back; once per proposal) and starts the recovery window.
 */
import { z } from 'zod';
import { actDeps } from '../../lib/adapters/aws/reflex-act-deps.ts';
import { executeStep, loopStateSchema } from '../../lib/reflex/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ state: loopStateSchema }), async ({ state }) => ({
  state: await executeStep(state, actDeps()),
}));
