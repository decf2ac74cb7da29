/** Loop 3 task: the kill switches again, then the approved step written through the engine (compression.config.changed, by loop). */
import { z } from 'zod';
import { loopApplyDeps } from '../../lib/adapters/aws/compression-deps.ts';
import { applyStep, loopStateSchema } from '../../lib/compression/loop.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ state: loopStateSchema }), async ({ state }) => ({
  state: await applyStep(state, loopApplyDeps()),
}));
