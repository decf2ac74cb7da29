/** Routes of the Compression engine: compress a context, its status and settings, answer-found feedback (Loop 3). */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';
import { compressionResultSchema, compressionSettingsSchema, compressRequestSchema } from './schemas.ts';

/** Stored settings: the values, their version and who changed them last. */
export const storedSettingsSchema = compressionSettingsSchema.extend({
  version: z.number().int().min(0).max(1e9),
  updatedAt: z.string().max(64).optional(),
  updatedBy: z.string().max(256).optional(),
});
/** Stored compression settings (version 0: the defaults, never written). */
export type StoredSettings = z.infer<typeof storedSettingsSchema>;

/** A tenant's effectiveness record: totals and the recent answer-found reports. */
export const effectivenessSchema = z.object({
  compressions: z.number().int().min(0),
  tokensIn: z.number().int().min(0),
  tokensOut: z.number().int().min(0),
  /** Mean share of tokens saved over all compressions. */
  meanSaved: z.number().min(-1e6).max(1),
  /** The last reports (true: the answer was found in the compressed context), oldest first. */
  recent: z.array(z.boolean()).max(100),
  /** Found-rate of `recent` (null with no report). */
  foundRate: z.number().min(0).max(1).nullable(),
});

/** POST /compression/compress. */
export const compressRoute = defineRoute({
  engine: 'compression',
  action: 'compress',
  method: 'POST',
  permission: 'compression:write',
  summary:
    "Fit an agent's context to a token budget (relevance to the goal, MMR, near-duplicates, TextRank summaries, a knowledge-graph digest); the lineage and hashes go to the ledger. Critical items are never dropped: over budget the reply is needs-approval with a governance proposal. 409 when approvedProposalId is not an approved proposal for this context",
  parameters: compressRequestSchema,
  result: compressionResultSchema.extend({
    compressionId: z.string().max(80),
    contextId: z.string().max(128),
    proposalId: z.string().max(80).nullable(),
  }),
});

/** GET /compression/status. */
export const statusRoute = defineRoute({
  engine: 'compression',
  action: 'status',
  method: 'GET',
  permission: 'compression:read',
  summary: "The tenant's compression settings and recent effectiveness (ratio, answers found after compression)",
  parameters: z.object({}),
  result: z.object({ settings: storedSettingsSchema, effectiveness: effectivenessSchema }),
});

/** PUT /compression/config. */
export const configRoute = defineRoute({
  engine: 'compression',
  action: 'config',
  method: 'PUT',
  permission: 'compression:configure',
  summary: "Change some of the tenant's compression settings (budget, weights, thresholds, critical labels); recorded in the ledger",
  parameters: compressionSettingsSchema.partial().strict(),
  result: storedSettingsSchema,
});

/** POST /compression/feedback. */
export const feedbackRoute = defineRoute({
  engine: 'compression',
  action: 'feedback',
  method: 'POST',
  permission: 'compression:write',
  summary:
    "Report whether a later answer was found in a compression's output (Loop 3); every 20 reports not judged yet start a run of the compression loop (state machine), which tunes the tenant's settings one bounded step through governance. 404 unknown compression, 409 already reported",
  parameters: z.strictObject({ compressionId: z.string().min(1).max(80), found: z.boolean() }),
  result: z.object({
    compressionId: z.string().max(80),
    /** The reports not judged by a run of Loop 3 yet. */
    window: z.object({ samples: z.number().int().min(0), found: z.number().int().min(0) }),
    /** The run of Loop 3 this report started (its execution name), or null; `started: false` with the error when it could not start (the schedule starts it later). */
    loop: z.object({ execution: z.string().max(80), started: z.boolean(), error: z.string().max(300).optional() }).nullable(),
    settingsVersion: z.number().int().min(0),
  }),
});
