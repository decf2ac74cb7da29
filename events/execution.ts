/**
 * Events of the Execution engine (`autonomy.execution`). A run's event is saved with the run's final
 * state (an outbox), recorded in the tenant's ledger and published after it, so it is published at
 * least once (events/delivery.ts).
 */
import { z } from 'zod';
import { executorKindSchema } from '../lib/execution/bindings.ts';
import { defineEvent, detailSchema, isoTimestampSchema } from './common.ts';
import { actionNameSchema, actorSchema, engineNameSchema } from './ids.ts';

/** `execution.run.completed` v1: an executor acted on an approved proposal (or undid it) and read the result back. */
export const runCompleted = defineEvent({
  source: 'autonomy.execution',
  detailType: 'execution.run.completed',
  version: '1',
  description: 'An executor ran an approved proposal (or undid a run): dry run, change, read-back; succeeded only when the read-back verified the change.',
  schema: detailSchema('1', {
    executionId: z.string().min(1).max(80),
    proposalId: z.string().min(1).max(64),
    engine: engineNameSchema,
    action: actionNameSchema,
    target: z.string().min(1).max(1024),
    executor: executorKindSchema,
    resource: z.string().min(1).max(2048),
    /** `execute` for the change, `undo` for restoring what a run changed. */
    mode: z.enum(['execute', 'undo']),
    outcome: z.enum(['succeeded', 'failed']),
    verified: z.boolean(),
    changes: z.array(z.string().max(500)).max(50),
    reasons: z.array(z.string().max(1000)).max(20),
    actor: actorSchema,
    completedAt: isoTimestampSchema,
  }),
});
/** The detail of `execution.run.completed`. */
export type RunCompleted = z.infer<typeof runCompleted.schema>;
