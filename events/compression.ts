/**
 * Events of the Compression engine (`autonomy.compression`). A compression is saved with its run
 * record (an outbox), recorded in the tenant's ledger (stream `events.compression`) with its lineage
 * (what became what, by item id and SHA-256; never the texts) and published after it; a change of
 * the tenant's settings, by an operator or by Loop 3's tuner, likewise. Both are published at least
 * once (events/delivery.ts).
 */
import { z } from 'zod';
import { defineEvent, detailSchema, isoTimestampSchema, sha256HexSchema } from './common.ts';
import { actorSchema } from './ids.ts';

const itemId = z.string().min(1).max(160);
const tokens = z.number().int().min(0).max(1e9);

/** `compression.context.compressed` v1: a context was compressed (or is waiting for approval to drop critical items). */
export const contextCompressed = defineEvent({
  source: 'autonomy.compression',
  detailType: 'compression.context.compressed',
  version: '1',
  description:
    "An agent's context was fitted to a token budget: tokens in and out, the ratio, and the lineage (each output item's SHA-256 and the input items, by id and SHA-256, it came from and how: kept, summarised, deduplicated, digested), the dropped items, and for needs-approval the critical items it would drop and the proposal raised.",
  schema: detailSchema('1', {
    compressionId: z.string().min(1).max(80),
    contextId: z.string().min(1).max(128),
    status: z.enum(['compressed', 'needs-approval']),
    /** SHA-256 of the goal's text. */
    goalHash: sha256HexSchema,
    tokensIn: tokens,
    tokensOut: tokens,
    budgetTokens: tokens,
    ratio: z.number().min(0).max(1e6),
    lineage: z
      .array(
        z.strictObject({
          id: itemId,
          hash: sha256HexSchema,
          from: z
            .array(z.strictObject({ id: itemId, hash: sha256HexSchema, how: z.enum(['kept', 'summarised', 'deduplicated', 'digested']) }))
            .max(512),
        }),
      )
      .max(512),
    dropped: z
      .array(z.strictObject({ id: itemId, hash: sha256HexSchema, reason: z.enum(['budget', 'duplicate']), digested: z.boolean() }))
      .max(256),
    /** Critical items meeting the budget would drop (needs-approval). */
    wouldDrop: z.array(z.strictObject({ id: itemId, hash: sha256HexSchema })).max(256),
    proposalId: z.string().min(1).max(80).nullable(),
    /** The approved proposal that allowed dropping critical items, if any. */
    approvedProposalId: z.string().min(1).max(80).nullable(),
    actor: actorSchema,
    compressedAt: isoTimestampSchema,
  }),
});
/** The detail of `compression.context.compressed`. */
export type ContextCompressed = z.infer<typeof contextCompressed.schema>;

/** `compression.config.changed` v1: a tenant's compression settings changed (an operator, or Loop 3 from feedback: `by: 'loop'`, with its execution and proposal). */
export const compressionConfigChanged = defineEvent({
  source: 'autonomy.compression',
  detailType: 'compression.config.changed',
  version: '1',
  description:
    "A tenant's compression settings changed: by whom (an operator; Loop 3's state machine from answer-found feedback, with its execution and the compression:tune proposal that allowed it; `tuner` in entries written before the loop), which fields from what to what, and the feedback window the tuner judged.",
  schema: detailSchema('1', {
    by: z.enum(['operator', 'tuner', 'loop']),
    settingsVersion: z.number().int().min(1).max(1e9),
    changes: z.array(z.string().min(1).max(200)).max(16),
    /** The tuner's window: reports and answers found (null for an operator's change). */
    window: z.strictObject({ samples: z.number().int().min(0).max(1000), found: z.number().int().min(0).max(1000) }).nullable(),
    /** Loop 3's execution that applied the change (`by: 'loop'`). */
    execution: z.string().min(1).max(80).optional(),
    /** The `compression:tune` proposal that allowed it (`by: 'loop'`). */
    proposalId: z.string().min(1).max(80).optional(),
    actor: actorSchema,
    changedAt: isoTimestampSchema,
  }),
});
/** The detail of `compression.config.changed`. */
export type CompressionConfigChanged = z.infer<typeof compressionConfigChanged.schema>;

/** How a run of Loop 3 ended. */
export const compressionLoopOutcomeSchema = z.enum([
  'tuned',
  'unchanged',
  'too-few',
  'halted',
  'awaiting-approval',
  'refused',
  'superseded',
  'failed',
]);

/** `compression.loop.completed` v1: a run of Loop 3 (statemachines/compression-loop.asl.json) ended, on every path. */
export const compressionLoopCompleted = defineEvent({
  source: 'autonomy.compression',
  detailType: 'compression.loop.completed',
  version: '1',
  description:
    "A run of Loop 3 (Compression → Observation → Compression) ended: what started it (reports, or a waiting step's proposal settled), the feedback window it observed and its found-rate, what the tuner proposed and the compression:tune proposal, the settings version it left, and how it ended (tuned, unchanged, too-few reports, halted by a kill switch, awaiting approval, refused, superseded by another change, or failed with the failing step's error).",
  schema: detailSchema('1', {
    execution: z.string().min(1).max(80),
    /** `settled`: a run resumed by its compression:tune proposal's settlement (approved → applied, otherwise refused). */
    trigger: z.enum(['feedback', 'schedule', 'settled']),
    outcome: compressionLoopOutcomeSchema,
    window: z.strictObject({ samples: z.number().int().min(0).max(1000), found: z.number().int().min(0).max(1000) }),
    foundRate: z.number().min(0).max(1).nullable(),
    changes: z.array(z.string().min(1).max(200)).max(16),
    proposalId: z.string().min(1).max(80).nullable(),
    settingsVersion: z.number().int().min(0).max(1e9),
    reason: z.string().max(1000),
    completedAt: isoTimestampSchema,
  }),
});
/** The detail of `compression.loop.completed`. */
export type CompressionLoopCompleted = z.infer<typeof compressionLoopCompleted.schema>;
