/** Migration state machine task, first: loads the run and its plan and checks the plan's hash. */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { loopDeps } from '../../lib/adapters/aws/migration-deps.ts';
import { planStep } from '../../lib/migration/loop.ts';
import { migrationIdSchema } from '../../lib/migration/schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

export const handler = taskHandler(z.object({ tenant: tenantSchema, runId: migrationIdSchema }), async (input) => ({
  state: await planStep(input, loopDeps()),
}));
