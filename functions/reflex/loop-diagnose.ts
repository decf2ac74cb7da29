/**
 * Self-repair loop task (statemachines/self-repair.asl.json): diagnoses the incident and proposes its
 * first playbook to governance (idempotent), then names the loop's next step.
 */
import { z } from 'zod';
import { loopDeps } from '../../lib/adapters/aws/reflex-deps.ts';
import { diagnoseStep, loopInputSchema } from '../../lib/reflex/loop.ts';
import { MAX_EXECUTION_NAME_LENGTH } from '../../lib/reflex/schemas.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

const inputSchema = loopInputSchema.extend({
  execution: z.string().min(1).max(MAX_EXECUTION_NAME_LENGTH),
  /** `$$.Execution.StartTime`. */
  startedAt: z.iso.datetime({ offset: true }).max(64).optional(),
});

export const handler = taskHandler(inputSchema, async (input) => ({ state: await diagnoseStep(input, loopDeps(new Date())) }));
