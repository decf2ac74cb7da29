/**
 * The Execution engine's shapes: a run request, a run as stored and shown, an undo request.
 */
import { z } from 'zod';
import { actorSchema, tenantSchema } from '../../events/ids.ts';
import { bindingSchema, executorKindSchema } from './bindings.ts';

/** A resource state as plans and read-backs carry it (the fields an executor changes; bounded by the request size). */
export const resourceStateSchema = z.record(z.string().min(1).max(128), z.unknown());

/** `POST /execution/runs`: run an approved proposal through an executor binding. */
export const runInputSchema = z.object({
  proposalId: z.string().min(1).max(64),
  /** The binding: executor kind, the resource it acts on and its default parameters. */
  executor: bindingSchema,
  /** The proposal's target: the run is refused unless the approved proposal names it. */
  target: z.string().min(1).max(1024),
  /** Parameters of this run, over the binding's defaults; those the proposal named must be what it approved. */
  parameters: z.record(z.string().min(1).max(128), z.unknown()).default({}),
  /** Plan only: read the resource and answer what would change, changing nothing and recording nothing. */
  dryRun: z.boolean().default(false),
});
/** A run request. */
export type RunInput = z.infer<typeof runInputSchema>;

/** Where a run stands: `running` while it acts, then `succeeded` (verified) or `failed`. */
export const runStatusSchema = z.enum(['running', 'succeeded', 'failed']);
/** A run status. */
export type RunStatus = z.infer<typeof runStatusSchema>;

/** An undo of a run, once. */
export const undoStateSchema = z.object({
  undoId: z.string().max(80),
  status: z.enum(['succeeded', 'failed']),
  actor: actorSchema,
  observed: resourceStateSchema.optional(),
  reasons: z.array(z.string().max(1000)).max(20),
  at: z.iso.datetime().max(64),
});
/** An undo's state. */
export type UndoState = z.infer<typeof undoStateSchema>;

/** Where a record landed in the ledger. */
const ledgerRefSchema = z.object({ tenant: tenantSchema, stream: z.string().max(128), seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });

/** A run as stored and shown. */
export const runSchema = z.object({
  tenant: tenantSchema,
  executionId: z.string().max(80),
  proposalId: z.string().max(64),
  engine: z.string().max(32),
  action: z.string().max(64),
  target: z.string().max(1024),
  executor: executorKindSchema,
  resource: z.string().max(2048),
  /** The effective parameters. */
  parameters: z.record(z.string().min(1).max(128), z.unknown()),
  status: runStatusSchema,
  actor: actorSchema,
  plan: z.object({ before: resourceStateSchema, after: resourceStateSchema, changes: z.array(z.string().max(500)).max(50) }).optional(),
  /** The state read back after the change. */
  observed: resourceStateSchema.optional(),
  /** True when the read-back showed every field the change asked for. */
  verified: z.boolean(),
  detail: z.string().max(2000),
  reasons: z.array(z.string().max(1000)).max(20),
  startedAt: z.iso.datetime().max(64),
  finishedAt: z.iso.datetime().max(64).optional(),
  undo: undoStateSchema.optional(),
  /** The ledger entry of its `execution.run.completed` event. */
  ledger: ledgerRefSchema.optional(),
  version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
/** A run. */
export type Run = z.infer<typeof runSchema>;

/** A run as the API shows it: without the write version. */
export const runViewSchema = runSchema.omit({ version: true });

/** `POST /execution/undo`: restore what a succeeded run changed. */
export const undoInputSchema = z.object({
  executionId: z.string().min(1).max(80),
  reason: z.string().min(1).max(2000),
});
/** An undo request. */
export type UndoInput = z.infer<typeof undoInputSchema>;
