/**
 * Route specs: one per `METHOD /<engine>/<action>`, declaring the permission it needs and the zod
 * schemas of its `parameters` and `result`. The specs are the single source for the handler's
 * validation, the OpenAPI document and the route-permission test.
 */
import { z } from 'zod';
import type { Permission } from '../auth/roles.ts';

/** HTTP methods of the engine API: trigger, status, configure, clean up. */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One route of the engine API. */
export interface RouteSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  engine: string;
  action: string;
  method: RouteMethod;
  /** `/<engine>/<action>` (platform routes such as `/health` excepted). */
  path: string;
  /** What the caller needs; `public` routes skip authentication. */
  permission: Permission | 'public';
  summary: string;
  /** `parameters` of the request: the envelope's field for POST/PUT, the query string for GET/DELETE. */
  parameters: P;
  result: R;
  /** Replies that are not the JSON envelope (e.g. `application/x-ndjson`). */
  rawContentType?: string;
  /** A request body that is not the envelope but `parameters` itself, in this media type (the MCP endpoint's JSON-RPC messages). */
  rawRequestContentType?: string;
}

/**
 * Declares a route; the path is derived from engine and action.
 * @example
 * export const ingestRoute = defineRoute({ engine: 'observation', action: 'ingest', method: 'POST',
 *   permission: 'observation:write', summary: 'Ingest metric points', parameters: ingestSchema, result: ingestResultSchema });
 */
export function defineRoute<P extends z.ZodType, R extends z.ZodType>(spec: Omit<RouteSpec<P, R>, 'path'> & { path?: string }): RouteSpec<P, R> {
  return { ...spec, path: spec.path ?? `/${spec.engine}/${spec.action}` };
}

/** The request envelope of POST and PUT routes. */
export function requestEnvelopeSchema<P extends z.ZodType>(parameters: P) {
  return z.object({
    action: z.string().min(1).max(64).optional().describe('The action; when given it must match the route'),
    parameters,
    context_references: z.array(z.string().min(1).max(512)).max(100).default([]).describe('Ids of artifacts, events or executions this request refers to'),
    metadata: z.record(z.string(), z.unknown()).default({}).describe('Caller-defined metadata, echoed in provenance'),
  });
}

/** Where a step's work was recorded in the ledger: `GET /audit/proof?stream=<stream>&seq=<seq>` proves it once a checkpoint covers it. */
export const ledgerLocationSchema = z.object({
  tenant: z.string(),
  stream: z.string(),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
/** A ledger entry's address: tenant, stream and seq. */
export type LedgerLocation = z.infer<typeof ledgerLocationSchema>;

/**
 * One step that contributed to a reply: which engine did what, for whom, through which credentials,
 * in which request and function version, and where known the ledger entry that records it.
 */
export const provenanceStepSchema = z.object({
  engine: z.string(),
  action: z.string(),
  tenant: z.string(),
  actor: z.string(),
  via: z.enum(['jwt', 'api-key', 'public', 'engine', 'system']).describe('How the actor came in: credentials (jwt, api-key), none (public), or another engine or the platform on its behalf'),
  correlationId: z.string(),
  version: z.string(),
  contextReferences: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()),
  ledger: ledgerLocationSchema.optional().describe('The ledger entry recording this step, where there is one'),
  at: z.iso.datetime().optional().describe('When the step happened, where it differs from the reply'),
});
/** One step of a reply's provenance. */
export type ProvenanceStep = z.infer<typeof provenanceStepSchema>;

/** Where a reply came from, as a list of steps: the first is always the route that answered. */
export const provenanceSchema = z.array(provenanceStepSchema).min(1).max(32);

/** The response envelope of every engine route. */
export function responseEnvelopeSchema<R extends z.ZodType>(result: R) {
  return z.object({
    status: z.enum(['success', 'failure', 'pending']),
    result,
    logs: z.array(z.string()),
    provenance: provenanceSchema,
    timestamp: z.iso.datetime(),
  });
}

/** The error body of every non-2xx reply. */
export const errorBodySchema = z.object({
  error: z.string().describe('Error type, e.g. ValidationError'),
  message: z.string(),
  correlationId: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe('Each invalid field (400 only)'),
});
