/**
 * The Encapsulation engine's vocabulary: analysis requests (the registry and the ledger, or an explicit
 * graph with payload samples), the stored analysis, exposure requests and records. Zod schemas and
 * their types; routes, the store and the events take their shapes from here. Every value is bounded
 * (test/unit/schema-bounds.test.ts); JSON payload samples and generated documents by their size.
 */
import { z } from 'zod';
import { streamNameSchema } from '../../events/ids.ts';
import { environmentSchema } from '../governance/model.ts';
import { componentIdSchema } from '../reflex/schemas.ts';
import { artifactIdSchema, bumpSchema, semverSchema } from '../versioning/schemas.ts';

/** Most nodes an explicit graph or an analysis holds (the registry's 500 and what traces add). */
export const MAX_NODES = 5000;
/** Most edges an explicit graph holds. */
export const MAX_EDGES = 50_000;
/** Most payload samples in a request. */
export const MAX_SAMPLES = 1000;
/** Largest JSON of a request's samples together. */
export const MAX_SAMPLES_BYTES = 512 * 1024;
/** Most ledger entries read per stream. */
export const MAX_TRACE_ENTRIES = 5000;
/** Most cycles listed. */
export const MAX_CYCLES = 50;
/** Largest generated document (interface schema or OpenAPI), as JSON. */
export const MAX_DOCUMENT_BYTES = 256 * 1024;

const count = z.number().int().min(0).max(1e9);
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');
/** A generated document (JSON Schema, OpenAPI): a JSON object of at most {@link MAX_DOCUMENT_BYTES}. */
export const documentSchema = z
  .record(z.string().max(256), z.unknown())
  .refine((doc) => jsonBytes(doc) <= MAX_DOCUMENT_BYTES, `at most ${MAX_DOCUMENT_BYTES / 1024} KiB of JSON`);
/** An operation name (an entry point of a component). */
export const operationSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, '1-128 of A-Z a-z 0-9 . _ : -')
  .max(128);

/** A payload sample: what a component's operation was called with (and answered). */
export const sampleSchema = z.strictObject({
  component: componentIdSchema,
  operation: operationSchema.default('invoke'),
  request: z.unknown().optional(),
  response: z.unknown().optional(),
});

/** `POST /encapsulation/analyse`. */
export const analyseInputSchema = z.strictObject({
  /** An explicit graph; absent: the tenant's Reflex registry and the ledger's recent trace entries. */
  graph: z
    .strictObject({
      components: z
        .array(
          z.strictObject({
            id: componentIdSchema,
            kind: z.string().min(1).max(64).default('service'),
            dependsOn: z.array(componentIdSchema).max(200).default([]),
          }),
        )
        .max(MAX_NODES),
      edges: z
        .array(z.strictObject({ from: componentIdSchema, to: componentIdSchema, calls: z.number().int().min(1).max(1e9) }))
        .max(MAX_EDGES)
        .default([]),
    })
    .optional(),
  samples: z
    .array(sampleSchema)
    .max(MAX_SAMPLES)
    .refine((samples) => jsonBytes(samples) <= MAX_SAMPLES_BYTES, `at most ${MAX_SAMPLES_BYTES / 1024} KiB of JSON`)
    .default([]),
  /** Ledger streams holding trace entries (read when no graph is given). */
  streams: z.array(streamNameSchema).min(1).max(5).default(['traces']),
  /** Recent entries read per stream. */
  limit: z.number().int().min(1).max(MAX_TRACE_ENTRIES).default(1000),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .default(1),
});
/** An analysis request. */
export type AnalyseInput = z.infer<typeof analyseInputSchema>;

const reusabilitySchema = z.object({
  score: z.number().min(0).max(1),
  parts: z.object({
    reach: z.number().min(0).max(1),
    cohesion: z.number().min(0).max(1),
    decoupling: z.number().min(0).max(1),
    stability: z.number().min(0).max(1),
    compactness: z.number().min(0).max(1),
  }),
  inputs: z.object({
    fanIn: count,
    fanOut: count,
    internalWeight: z.number().min(0).max(1e15),
    externalWeight: z.number().min(0).max(1e15),
    operations: count,
    properties: count,
  }),
});

/** One module of an analysis. */
export const moduleSchema = z.object({
  id: z.string().max(32),
  name: componentIdSchema,
  members: z.array(componentIdSchema).max(MAX_NODES),
  entryPoints: z.array(z.object({ component: componentIdSchema, operation: operationSchema, samples: count })).max(MAX_NODES),
  callers: z.array(componentIdSchema).max(MAX_NODES),
  callees: z.array(componentIdSchema).max(MAX_NODES),
  reusability: reusabilitySchema,
  interfaceSchema: documentSchema,
  openapi: documentSchema,
});

/** A stored analysis. */
export const analysisSchema = z.object({
  analysisId: z.string().max(64),
  source: z.enum(['registry', 'explicit']),
  at: z.iso.datetime().max(64),
  by: z.string().max(256),
  nodes: count,
  edges: count,
  traces: count,
  traceEntries: count,
  samples: count,
  cycles: z.array(z.array(componentIdSchema).max(MAX_NODES)).max(MAX_CYCLES),
  modularity: z.number().min(-1).max(1),
  seed: count,
  modules: z.array(moduleSchema).max(MAX_NODES),
  /** Samples per entry point kept for exposure's golden set: `<component> <operation>` → requests (at most 20 each). */
  golden: z.record(z.string().max(400), z.array(z.unknown()).max(20)),
  analysisMs: z.number().min(0).max(1e9),
});
/** An analysis. */
export type Analysis = z.infer<typeof analysisSchema>;

/** `POST /encapsulation/interfaces`: expose a module's interface. */
export const exposeInputSchema = z.strictObject({
  /** The module's id (`module-3`) or name in the latest analysis. */
  module: z.string().min(1).max(200),
  /** The versioned artifact (default `interfaces/<module name>`). */
  artifact: artifactIdSchema.optional(),
  environment: environmentSchema.default('staging'),
  reason: z.string().max(1000).optional(),
});
/** An exposure request. */
export type ExposeInput = z.infer<typeof exposeInputSchema>;

/**
 * Where an exposure stands: `pending` while its L3 proposal waits at the gate (nothing tagged yet),
 * `exposed` once approved and tagged, `rejected` when governance did not approve it (never tagged),
 * `tag-failed` when it was approved but tagging failed (a later call retries the tag).
 */
export const exposureStatusSchema = z.enum(['pending', 'exposed', 'rejected', 'tag-failed']);
/** An exposure's status. */
export type ExposureStatus = z.infer<typeof exposureStatusSchema>;

/** An exposure of a module's interface: the tenant's current one per artifact (`<tenant>#encapsulation` / `exposure#<artifact>`). */
export const exposureSchema = z.object({
  status: exposureStatusSchema,
  analysisId: z.string().max(64),
  module: z.string().max(32),
  name: componentIdSchema,
  artifact: artifactIdSchema,
  /** SHA-256 of the interface schema's canonical JSON: what the proposal validated and what is tagged. */
  hash: z.string().max(64),
  environment: environmentSchema,
  /** The L3 proposal that validates the exposure (its route is known once filed). */
  proposal: z.object({ proposalId: z.string().max(64), route: z.string().max(32).optional(), status: z.string().max(32) }),
  /** Why it was rejected or why tagging failed. */
  reasons: z.array(z.string().max(1000)).max(20).optional(),
  /** The tagged version (`exposed` only). */
  version: semverSchema.optional(),
  bump: bumpSchema.optional(),
  breaking: z.boolean().optional(),
  /** A breaking version's approval proposal (the Versioning engine's). */
  versionApproval: z.object({ proposalId: z.string().max(64), status: z.string().max(32) }).optional(),
  /** The OpenAPI document at the tagged version (`exposed` replies only; not stored). */
  openapi: documentSchema.optional(),
  proposedAt: z.iso.datetime().max(64),
  proposedBy: z.string().max(256),
  settledAt: z.iso.datetime().max(64).optional(),
});
/** An exposure. */
export type Exposure = z.infer<typeof exposureSchema>;
