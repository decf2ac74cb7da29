/**
 * The Compression engine's data: a context's items, a request to compress them, the tenant's
 * settings, and what a compression returns (the compressed items, ratio and lineage).
 */
import { z } from 'zod';
import { tokenizerFamilySchema } from '../gateway/tokenizer.ts';

/** An id as callers give it (a turn, document or memory id). */
export const itemIdSchema = z.string().min(1).max(128);
/** A label a tenant's policy may name critical. */
export const labelSchema = z.string().min(1).max(64);

/** One item of an agent's context. */
export const contextItemSchema = z.strictObject({
  id: itemIdSchema,
  /** A conversation turn, a retrieved document, or a memory item. */
  kind: z.enum(['turn', 'document', 'memory']),
  /** A turn's speaker. */
  role: z.enum(['system', 'user', 'assistant', 'tool']).optional(),
  text: z.string().min(1).max(32_768),
  /** Never dropped without approval. */
  critical: z.boolean().optional(),
  /** Labels; those the tenant's settings name in `criticalLabels` make the item critical. */
  labels: z.array(labelSchema).max(16).optional(),
});
/** One item of an agent's context. */
export type ContextItem = z.infer<typeof contextItemSchema>;

/** The smallest non-zero weight: a weight is stored as a DynamoDB number, which refuses magnitudes below 1e-130, and a smaller one means nothing here. */
const MIN_WEIGHT = 1e-6;

/** A weight in [0, max]: 0, or at least {@link MIN_WEIGHT}. */
function weightSchema(max: number) {
  return z
    .number()
    .min(0)
    .max(max)
    .refine((value) => value === 0 || value >= MIN_WEIGHT, { message: `a non-zero weight must be at least ${MIN_WEIGHT}` });
}

/** A tenant's compression settings (`PUT /compression/config`); the tuner moves some within bounds. */
export const compressionSettingsSchema = z.strictObject({
  /** Budget when a request gives none. */
  budgetTokens: z.number().int().min(16).max(1_000_000),
  /** MMR trade-off λ: 1 ranks by relevance only, lower values favour diversity. */
  relevanceWeight: weightSchema(1),
  /** Weights of the BM25 and embedding rankings in the fusion. */
  bm25Weight: weightSchema(4),
  vectorWeight: weightSchema(4),
  /** Weight of a sentence's item's relevance in the sentence's score (the rest is the sentence's own): a sentence is read in its item's context. */
  itemWeight: weightSchema(1),
  /** Estimated Jaccard similarity from which items are near-duplicates. */
  duplicateThreshold: z.number().min(0.5).max(1),
  /** Older turns are summarised sentence by sentence (TextRank) when they hold more tokens than this; below, each is kept or dropped whole. */
  summariseAboveTokens: z.number().int().min(0).max(1_000_000),
  /** Weight of TextRank centrality against goal relevance when summarising history. */
  centralityWeight: weightSchema(1),
  /** The most recent turns kept whole when they fit. */
  keepRecentTurns: z.number().int().min(0).max(32),
  /** Share of the budget the knowledge-graph digest may take. */
  digestShare: weightSchema(0.5),
  /** Labels that make an item critical. */
  criticalLabels: z.array(labelSchema).max(32),
});
/** A tenant's compression settings. */
export type CompressionSettings = z.infer<typeof compressionSettingsSchema>;

/** The settings of a tenant that set none (tuned on the bench's tune split, bench/compression.ts). */
export const DEFAULT_COMPRESSION_SETTINGS: CompressionSettings = {
  budgetTokens: 2048,
  relevanceWeight: 0.7,
  bm25Weight: 1,
  vectorWeight: 1,
  itemWeight: 0.7,
  duplicateThreshold: 0.8,
  summariseAboveTokens: 1024,
  centralityWeight: 0.3,
  keepRecentTurns: 2,
  digestShare: 0.05,
  criticalLabels: [],
};

/** `POST /compression/compress`. */
export const compressRequestSchema = z.strictObject({
  /** The caller's id of the context (an agent's session); default a new id. */
  contextId: z.string().min(1).max(128).optional(),
  /** The current goal (the question later turns must answer). */
  goal: z.string().min(1).max(4000),
  /** Default: the tenant's `budgetTokens`. */
  budgetTokens: z.number().int().min(16).max(1_000_000).optional(),
  /** The tokenizer that counts (default o200k_base). */
  tokenizer: tokenizerFamilySchema.optional(),
  items: z.array(contextItemSchema).min(1).max(256),
  /** An approved proposal to drop critical items (from an earlier `needsApproval`): those items may be dropped. */
  approvedProposalId: z.string().min(1).max(80).optional(),
});
/** A request to compress a context. */
export type CompressRequest = z.infer<typeof compressRequestSchema>;

const sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .max(64);

/** How an input item reached an output item. */
export const lineageHowSchema = z.enum(['kept', 'summarised', 'deduplicated', 'digested']);

/** One input item as lineage names it. */
export const itemRefSchema = z.object({ id: itemIdSchema, hash: sha256 });

/** An output item and where it came from. */
export const outputItemSchema = z.object({
  id: z.string().max(160),
  kind: z.enum(['turn', 'document', 'memory', 'summary', 'digest']),
  role: z.enum(['system', 'user', 'assistant', 'tool']).optional(),
  text: z.string().max(40_000),
  tokens: z.number().int().min(0),
  hash: sha256,
  from: z.array(itemRefSchema.extend({ how: lineageHowSchema })).max(512),
});
/** An output item. */
export type OutputItem = z.infer<typeof outputItemSchema>;

/** An input item in no output item's text (it may still be digested). */
export const droppedItemSchema = itemRefSchema.extend({
  tokens: z.number().int().min(0),
  reason: z.enum(['budget', 'duplicate']),
  critical: z.boolean(),
  digested: z.boolean(),
});

/** What a compression returns. */
export const compressionResultSchema = z.object({
  /** `needs-approval`: meeting the budget would drop critical items; nothing critical was dropped. */
  status: z.enum(['compressed', 'needs-approval']),
  items: z.array(outputItemSchema).max(512),
  tokensIn: z.number().int().min(0),
  tokensOut: z.number().int().min(0),
  budgetTokens: z.number().int().min(0),
  withinBudget: z.boolean(),
  /** tokensOut / tokensIn. */
  ratio: z.number().min(0).max(1e6),
  /** 1 − ratio: the share of tokens saved. */
  saved: z.number().min(-1e6).max(1),
  dropped: z.array(droppedItemSchema).max(256),
  /** The critical items that meeting the budget would drop, and by how many tokens the context is over without dropping them. */
  needsApproval: z
    .object({ items: z.array(itemRefSchema.extend({ tokens: z.number().int().min(0) })).max(256), tokensOver: z.number().int().min(0) })
    .optional(),
});
/** What a compression returns. */
export type CompressionResult = z.infer<typeof compressionResultSchema>;
