/**
 * A tenant's documents for retrieval (`POST /gateway/documents`, `chat` with `retrieval`): each
 * document cut into chunks (lib/gateway/retrieval.ts `chunkDocument`, counted with cl100k_base),
 * indexed with BM25 and, when the stage has an embedding model, embedded; the whole index one JSON
 * object per tenant ({@link DocumentIndex}), replaced as a new version on each ingest. At chat time the
 * top-k chunks (hybrid ranking, BM25 alone without vectors) go into the context as one system message,
 * within the retrieval quota of the context budget. Pure: storage, counting and embedding are injected.
 */
import { z } from 'zod';
import { canonicalHash } from '../audit/digest.ts';
import type { ChatMessage } from './backend.ts';
import {
  Bm25Index,
  bm25IndexJsonSchema,
  type ChunkVector,
  chunkDocument,
  hybridRank,
  type RetrievedChunk,
  retrievalMessage,
  retrievalQuotaTokens,
  selectForContext,
  type TextTokenCounter,
} from './retrieval.ts';
import type { Decision } from './schemas.ts';

/** A document's id: letters, digits and `._:/-`. */
export const documentIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:/-]+$/, 'document ids are letters, digits and . _ : / -');

/** `POST /gateway/documents`: documents to add or replace (same id: replaced). */
export const documentsInputSchema = z.strictObject({
  documents: z
    .array(z.strictObject({ id: documentIdSchema, text: z.string().min(1).max(200_000) }))
    .min(1)
    .max(50),
});
/** A documents request. */
export type DocumentsInput = z.infer<typeof documentsInputSchema>;

/** `POST /gateway/documents` reply. */
export const documentsResultSchema = z.strictObject({
  /** Documents added or replaced by this request. */
  documents: z.number().int().min(0).max(50),
  /** Chunks they were cut into. */
  chunks: z.number().int().min(0).max(1e6),
  /** Documents and chunks of the tenant's index after it. */
  totalDocuments: z.number().int().min(0).max(1e6),
  totalChunks: z.number().int().min(0).max(1e7),
  /** The embedding model of the index, or null (BM25 only). */
  embedModel: z.string().max(128).nullable(),
  version: z.number().int().min(1).max(1e12),
  /** The embedding calls this ingest made: each reserved, settled and billed (`gateway.billing`). */
  embedding: z.strictObject({
    calls: z.number().int().min(0).max(1e6),
    inputTokens: z.number().int().min(0).max(1e12),
    costUsd: z.number().min(0).max(1e9),
  }),
});

/** The index format tag. */
export const DOCUMENT_INDEX_FORMAT = 'autonomy-gateway-documents/1';

/** One stored chunk. */
const storedChunkSchema = z.strictObject({
  docId: z.string(),
  seq: z.number().int().min(0),
  text: z.string(),
  tokens: z.number().int().min(0),
});

/** A tenant's retrieval index as stored (one object per version). */
export const documentIndexSchema = z.strictObject({
  format: z.literal(DOCUMENT_INDEX_FORMAT),
  tenant: z.string(),
  bm25: bm25IndexJsonSchema,
  chunks: z.record(z.string(), storedChunkSchema),
  /** Per document: its chunk ids and the hash of its text. */
  documents: z.record(z.string(), z.strictObject({ chunks: z.array(z.string()), hash: z.string(), ingestedAt: z.string() })),
  /** The model that embedded the chunks, and their vectors; absent: BM25 only. */
  embedModel: z.string().optional(),
  vectors: z.record(z.string(), z.array(z.number())).optional(),
});
/** A stored index. */
export type DocumentIndex = z.infer<typeof documentIndexSchema>;

/** The tenant's index versions: the current one, and a compare-and-swap to the next. */
export interface DocumentStore {
  /** The current index and its version, or undefined before the first ingest. */
  current(tenant: string): Promise<{ version: number; index: DocumentIndex } | undefined>;
  /**
   * Stores `index` as version `expected + 1` if the current version is still `expected` (0: none).
   * @throws ConflictError when another ingest moved it first.
   */
  save(index: DocumentIndex, expected: number): Promise<number>;
}

/** Embeds texts with a model. */
export type Embedder = (model: string, texts: string[], signal?: AbortSignal) => Promise<number[][]>;

/**
 * The index with `documents` added (a document of an existing id replaced: its old chunks removed).
 * With `embedModel`, the new chunks are embedded with it (an index embedded by another model is
 * re-embedded whole, so its vectors stay comparable).
 */
export async function ingestDocuments(
  tenant: string,
  previous: DocumentIndex | undefined,
  input: DocumentsInput,
  count: TextTokenCounter,
  now: Date,
  embedding?: { model: string; embed: Embedder },
): Promise<{ index: DocumentIndex; chunks: number }> {
  const bm25 = previous ? Bm25Index.fromJSON(previous.bm25) : new Bm25Index();
  const chunks = { ...(previous?.chunks ?? {}) };
  const documents = { ...(previous?.documents ?? {}) };
  let vectors = previous?.vectors ? { ...previous.vectors } : undefined;
  if (embedding && previous?.embedModel !== embedding.model) vectors = {};
  const added: string[] = [];
  for (const document of input.documents) {
    for (const id of documents[document.id]?.chunks ?? []) {
      bm25.remove(id);
      delete chunks[id];
      if (vectors) delete vectors[id];
    }
    const pieces = chunkDocument({ id: document.id, text: document.text }, count);
    for (const piece of pieces) {
      bm25.add(piece.id, piece.text);
      chunks[piece.id] = { docId: piece.docId, seq: piece.seq, text: piece.text, tokens: piece.tokens };
      added.push(piece.id);
    }
    documents[document.id] = {
      chunks: pieces.map((piece) => piece.id),
      hash: canonicalHash({ id: document.id, text: document.text }),
      ingestedAt: now.toISOString(),
    };
  }
  if (embedding && vectors) {
    const missing = Object.keys(chunks).filter((id) => !vectors?.[id]);
    for (let from = 0; from < missing.length; from += 32) {
      const batch = missing.slice(from, from + 32);
      const embedded = await embedding.embed(
        embedding.model,
        batch.map((id) => chunks[id]?.text ?? ''),
      );
      batch.forEach((id, position) => {
        const vector = embedded[position];
        if (vector && vectors) vectors[id] = vector;
      });
    }
  }
  const index: DocumentIndex = {
    format: DOCUMENT_INDEX_FORMAT,
    tenant,
    bm25: bm25.toJSON(),
    chunks,
    documents,
    ...(embedding && vectors ? { embedModel: embedding.model, vectors } : {}),
  };
  return { index, chunks: added.length };
}

/** What retrieval put into a request. */
export interface Retrieval {
  /** The messages with the retrieved chunks as a system message after the leading system prompts (unchanged when nothing was retrieved). */
  messages: ChatMessage[];
  decision: Extract<Decision, { step: 'retrieval' }>;
}

/**
 * The top `k` chunks of the tenant's index for the last user message (or `query`), within `quota` × `budgetTokens`
 * (counted by `count`, the reading model's), put into `messages`. Hybrid when the index has vectors and
 * the query could be embedded with its model; BM25 alone otherwise.
 */
export async function retrieveInto(
  messages: readonly ChatMessage[],
  index: DocumentIndex | undefined,
  options: {
    k: number;
    quota: number;
    budgetTokens: number;
    count: TextTokenCounter;
    embed?: Embedder;
    signal?: AbortSignal;
    /** What to search for, as it may leave the gateway (PII handled); default: the last user message. */
    query?: string;
  },
): Promise<Retrieval> {
  const query = options.query ?? [...messages].reverse().find((message) => message.role === 'user')?.content ?? '';
  const none = (scoring: 'hybrid' | 'bm25'): Retrieval => ({
    messages: [...messages],
    decision: { step: 'retrieval', chunks: 0, tokens: 0, scoring, sources: [] },
  });
  if (!index || query.trim() === '') return none('bm25');
  const bm25 = Bm25Index.fromJSON(index.bm25);
  let queryVector: number[] | undefined;
  if (index.embedModel && index.vectors && options.embed) {
    try {
      queryVector = (await options.embed(index.embedModel, [query], options.signal))[0];
    } catch {
      // The embedding model failing leaves BM25, which always works.
      queryVector = undefined;
    }
  }
  const vectors: ChunkVector[] | undefined =
    queryVector && index.vectors ? Object.entries(index.vectors).map(([id, vector]) => ({ id, vector })) : undefined;
  const ranking = hybridRank({
    index: bm25,
    query,
    k: Math.max(options.k * 4, options.k),
    ...(queryVector && vectors ? { queryVector, vectors } : {}),
  });
  const ranked: RetrievedChunk[] = ranking.hits.flatMap((hit) => {
    const chunk = index.chunks[hit.id];
    return chunk ? [{ id: hit.id, docId: chunk.docId, text: chunk.text, tokens: options.count(chunk.text), score: hit.score }] : [];
  });
  // The framing each chunk adds: its "[n] (source: …)" line, counted on a typical one.
  const overhead = options.count('[10] (source: document-id)\n');
  const selection = selectForContext(ranked, options.k, retrievalQuotaTokens(options.budgetTokens, options.quota), overhead);
  if (selection.included.length === 0) return none(ranking.scoring);
  const leading = messages.findIndex((message) => message.role !== 'system');
  const at = leading === -1 ? messages.length : leading;
  return {
    messages: [...messages.slice(0, at), retrievalMessage(selection.included), ...messages.slice(at)],
    decision: {
      step: 'retrieval',
      chunks: selection.included.length,
      tokens: selection.tokens,
      scoring: ranking.scoring,
      sources: [...new Set(selection.included.map((chunk) => chunk.docId))].slice(0, 50).map((id) => id.slice(0, 200)),
    },
  };
}
