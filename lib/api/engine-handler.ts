/**
 * The engine API handler: one Lambda per `/<engine>/<action>`, dispatching on the HTTP method to
 * the bound route. Per request: correlation id, authentication (JWT or API key), the route's
 * permission, Cedar on state-changing routes (the tenant's policies; break-glass recorded), the
 * request envelope validated with zod (400 naming each field path), optional
 * `Idempotency-Key` on POST (Powertools idempotency on DynamoDB), and the response envelope
 * `{ status, result, logs, provenance: [steps], timestamp }`. Errors map through the one table in lib/http.
 */
import { createHash, randomUUID } from 'node:crypto';
import middy from '@middy/core';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { IdempotencyAlreadyInProgressError, IdempotencyPersistenceLayerError, IdempotencyValidationError } from '@aws-lambda-powertools/idempotency';
import type { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import { authenticate, type Authenticators } from '../auth/authenticate.ts';
import type { Principal } from '../auth/principal.ts';
import type { PolicyDecision } from '../governance/model.ts';
import { rolesAllow } from '../auth/roles.ts';
import { ConflictError, DomainError, ForbiddenError, ThrottledError, ValidationError } from '../errors.ts';
import { countReplies, errorReply, fieldIssues, lowerCaseHeaders, parseBody, reply } from '../http/handler.ts';
import { logger, metrics, tracer } from '../observability.ts';
import type { RateLimiter } from './rate-limit.ts';
import { type LedgerLocation, type ProvenanceStep, requestEnvelopeSchema, type RouteMethod, type RouteSpec } from './route.ts';

/** What a route implementation sees besides its parameters. */
export interface EngineContext {
  /** From the verified credentials, never from the request; `public` on public routes. */
  tenant: string;
  principal: Principal | undefined;
  correlationId: string;
  now(): Date;
  /** Milliseconds left before the function is stopped (Lambda's remaining time); work that must answer in time checks it. */
  remainingMs(): number;
  /** Adds a line to the reply's `logs`. */
  log(message: string): void;
  contextReferences: string[];
  metadata: Record<string, unknown>;
  /** The tenant's Cedar decision on this call (state-changing routes with a policy gate); `breakGlass` when an admin used it. */
  policy?: PolicyDecision;
}

/** What a route implementation returns. */
export interface EngineOutcome<T> {
  /** Default `success`. */
  status?: 'success' | 'failure' | 'pending';
  result: T;
  /** Default 200, or 202 when pending. */
  statusCode?: number;
  headers?: Record<string, string>;
  /** A reply that is not the JSON envelope (e.g. JSON Lines). */
  raw?: { contentType: string; body: string };
  /** Where the route's own work was recorded in the ledger; set on the first provenance step. */
  ledger?: LedgerLocation;
  /**
   * Further steps that contributed (another engine's decision, a ledger append), after the route's
   * own. Fields left out are the route's (tenant, actor, via, correlation id, version, references,
   * metadata). At most {@link MAX_ROUTE_STEPS}; more are dropped with a warning in the log.
   */
  provenance?: ProvenanceStepInput[];
}

/** A step a route adds to the reply's provenance: engine and action, the rest defaulting to the route's step. */
export type ProvenanceStepInput = Pick<ProvenanceStep, 'engine' | 'action'> & Partial<ProvenanceStep>;

/** Steps a route may add after its own: the envelope holds at most 32. */
export const MAX_ROUTE_STEPS = 31;

/** A route spec with its implementation. */
export interface BoundRoute {
  spec: RouteSpec;
  /** The request envelope around the spec's parameters, built once (zod schemas are costly to build). */
  envelope: z.ZodType<{ action?: string; parameters: unknown; context_references: string[]; metadata: Record<string, unknown> }>;
  run: (params: unknown, ctx: EngineContext) => Promise<EngineOutcome<unknown>>;
}

/** Binds an implementation to a route spec; `params` is typed by the spec's schema. */
export function route<P extends z.ZodType, R extends z.ZodType>(
  spec: RouteSpec<P, R>,
  run: (params: z.infer<P>, ctx: EngineContext) => Promise<EngineOutcome<z.infer<R>>>,
): BoundRoute {
  return { spec, envelope: requestEnvelopeSchema(spec.parameters) as unknown as BoundRoute['envelope'], run: run as BoundRoute['run'] };
}

/** An admin's break-glass use: a governance repair route the tenant's own policies forbid, run anyway. */
export interface BreakGlassUse {
  principal: Principal;
  method: RouteMethod;
  path: string;
  /** The decision: allow with `breakGlass`, `policies` naming the policies that would have denied. */
  decision: PolicyDecision;
  correlationId: string;
  at: Date;
}

/**
 * Cedar on every state-changing route (POST, PUT, DELETE; public routes excepted), asked after the
 * credentials and the role check: the tenant's policy set decides `METHOD /path` for the caller.
 */
export interface RoutePolicyGate {
  /** The tenant's decision (break-glass included: an admin on a governance repair route is allowed, `breakGlass: true`). */
  check(principal: Principal, method: RouteMethod, path: string): Promise<PolicyDecision>;
  /** Records a break-glass use before the route runs; when it cannot be recorded the request is refused (its error). */
  breakGlassUsed(use: BreakGlassUse): Promise<void>;
}

/** Methods that change state: the policy gate decides them. */
const GATED_METHODS: ReadonlySet<RouteMethod> = new Set(['POST', 'PUT', 'DELETE']);

/** Whether the policy gate decides calls of `spec`. */
export function policyGated(spec: Pick<RouteSpec, 'method' | 'permission'>): boolean {
  return spec.permission !== 'public' && GATED_METHODS.has(spec.method);
}

/** Where the handler gets its dependencies; built once per container by the caller. */
export interface EngineHandlerDeps {
  auth: () => Authenticators;
  /** The idempotency table; when absent, `Idempotency-Key` is refused. */
  idempotencyTable?: () => DynamoDBPersistenceLayer;
  version: string;
  /** Per-tenant request budget; absent means unlimited. */
  rateLimiter?: () => RateLimiter | undefined;
  /** Seconds a remembered reply is replayed for a repeated `Idempotency-Key`. */
  idempotencyTtlSeconds?: number;
  /**
   * Cedar on state-changing routes; absent means none. Called once when the handler is built if a
   * route is gated (so the gate can load during init), then per gated request.
   */
  policyGate?: () => RoutePolicyGate | undefined;
}

/** The method is not served by this action. */
export class MethodNotAllowedError extends DomainError {}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Carries a route's 5xx reply out of the idempotent call, so the idempotency record is not kept. */
class UnrememberedReply extends Error {
  readonly reply: APIGatewayProxyStructuredResultV2;
  constructor(reply: APIGatewayProxyStructuredResultV2) {
    super(`reply ${reply.statusCode} not remembered`);
    this.reply = reply;
  }
}

interface Prepared {
  bound: BoundRoute;
  principal: Principal | undefined;
  params: unknown;
  contextReferences: string[];
  metadata: Record<string, unknown>;
  policy?: PolicyDecision;
}

/**
 * Asks the policy gate about a state-changing call.
 * @throws ForbiddenError naming the deciding policies (or that none permits it) when the tenant's policies deny it.
 */
async function checkPolicy(gate: RoutePolicyGate, principal: Principal, spec: RouteSpec, correlationId: string): Promise<PolicyDecision> {
  const decision = await gate.check(principal, spec.method, spec.path);
  const call = `${spec.method} ${spec.path}`;
  if (decision.decision === 'deny') {
    const why = decision.policies.length > 0 ? `is forbidden by policy ${decision.policies.join(', ')}` : 'is permitted by no policy';
    const errors = decision.errors.length > 0 ? `; Cedar reported: ${decision.errors.slice(0, 3).join('; ')}` : '';
    throw new ForbiddenError(`${call} ${why} (policy set v${decision.version} of tenant ${principal.tenant})${errors}`);
  }
  if (decision.breakGlass) {
    await gate.breakGlassUsed({ principal, method: spec.method, path: spec.path, decision, correlationId, at: new Date() });
    logger.warn('Break-glass: an admin ran a route the tenant\'s policies forbid', { route: call, actor: principal.subject, policies: decision.policies });
  }
  return decision;
}

async function prepare(
  event: APIGatewayProxyEventV2,
  headers: Record<string, string>,
  byMethod: Map<string, BoundRoute>,
  deps: EngineHandlerDeps,
  correlationId: string,
): Promise<Prepared> {
  const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
  const bound = byMethod.get(method);
  if (!bound) throw new MethodNotAllowedError(`${method} is not supported here; use ${[...byMethod.keys()].join(', ')}`);
  const { spec } = bound;
  let principal: Principal | undefined;
  let policy: PolicyDecision | undefined;
  if (spec.permission !== 'public') {
    principal = await authenticate(headers, deps.auth());
    if (!rolesAllow(principal.roles, spec.permission)) throw new ForbiddenError(`This needs the '${spec.permission}' permission, which roles [${principal.roles.join(', ')}] do not grant`);
    const limiter = deps.rateLimiter?.();
    if (limiter) {
      const decision = await limiter.consume(principal.tenant, new Date());
      if (!decision.allowed) throw new ThrottledError(`Tenant ${principal.tenant} is over its request budget for this minute`, decision.retryAfterSeconds);
    }
    const gate = policyGated(spec) ? deps.policyGate?.() : undefined;
    if (gate) policy = await checkPolicy(gate, principal, spec, correlationId);
  }
  if (method === 'GET' || method === 'DELETE') {
    const query = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const parsed = spec.parameters.safeParse(query);
    if (!parsed.success) throw new ValidationError(fieldIssues(parsed.error).map((issue) => ({ ...issue, path: issue.path ? `query.${issue.path}` : 'query' })));
    return { bound, principal, params: parsed.data, contextReferences: [], metadata: {}, ...(policy ? { policy } : {}) };
  }
  const body = parseBody(event);
  const parsed = bound.envelope.safeParse(body);
  if (!parsed.success) throw new ValidationError(fieldIssues(parsed.error).map((issue) => ({ ...issue, path: issue.path ? `body.${issue.path}` : 'body' })));
  if (parsed.data.action !== undefined && parsed.data.action !== spec.action) {
    throw new ValidationError([{ path: 'body.action', message: `must be '${spec.action}' on ${spec.path} (or omitted)` }]);
  }
  return {
    bound,
    principal,
    params: parsed.data.parameters,
    contextReferences: parsed.data.context_references,
    metadata: parsed.data.metadata,
    ...(policy ? { policy } : {}),
  };
}

/** A request that passed {@link prepareRequest}: its route, the caller, the validated parameters and envelope fields, Cedar's decision. */
export interface PreparedRequest {
  spec: RouteSpec;
  principal: Principal | undefined;
  params: unknown;
  contextReferences: string[];
  metadata: Record<string, unknown>;
  policy?: PolicyDecision;
}

/**
 * Checks a request exactly as {@link engineHandler} does before it runs a route, for a handler that
 * answers another way (a streamed reply through a function URL): the method, the credentials (JWT or
 * API key), the route's permission, the tenant's request budget, Cedar on state-changing routes
 * (break-glass recorded) and the request envelope or query string.
 * @throws MethodNotAllowedError for a method none of `specs` serves; UnauthorizedError (401),
 *   ForbiddenError (403), ThrottledError (429), ValidationError (400 naming each field) and
 *   UnsupportedMediaTypeError (415) as the engine API answers them.
 * @example
 * const prepared = await prepareRequest(event, [chatRoute], engineDeps(), correlationId);
 */
export async function prepareRequest(event: APIGatewayProxyEventV2, specs: readonly RouteSpec[], deps: EngineHandlerDeps, correlationId: string): Promise<PreparedRequest> {
  const unrun = async (): Promise<never> => {
    throw new Error('prepareRequest only checks the request');
  };
  const byMethod = new Map<string, BoundRoute>(specs.map((spec) => [spec.method, route(spec, unrun)]));
  const { bound, ...rest } = await prepare(event, lowerCaseHeaders(event.headers), byMethod, deps, correlationId);
  return { spec: bound.spec, ...rest };
}

/**
 * The Lambda handler for one `/<engine>/<action>`, serving each bound route's method.
 * @example
 * export const handler = engineHandler(deps, route(ingestRoute, (params, ctx) => ingest(params, ctx)));
 */
export function engineHandler(deps: EngineHandlerDeps, ...routes: BoundRoute[]): middy.MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  const byMethod = new Map<RouteMethod, BoundRoute>(routes.map((bound) => [bound.spec.method, bound]));
  // The gate loads (Cedar's wasm, the tenant's settings reader) during init, not in the first write request.
  if (routes.some((bound) => policyGated(bound.spec))) deps.policyGate?.();
  let idempotent: ((key: { key: string; payload: string }, work: () => Promise<APIGatewayProxyStructuredResultV2>) => Promise<APIGatewayProxyStructuredResultV2>) | undefined;
  const idempotencyConfig = new IdempotencyConfig({ eventKeyJmesPath: 'key', payloadValidationJmesPath: 'payload', expiresAfterSeconds: deps.idempotencyTtlSeconds ?? 3600 });

  const base = async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const headers = lowerCaseHeaders(event.headers);
    const correlationId = headers['x-correlation-id'] ?? event.requestContext?.requestId ?? randomUUID();
    logger.appendKeys({ correlationId });
    try {
      const prepared = await prepare(event, headers, byMethod, deps, correlationId);
      const execute = () => runRoute(prepared, correlationId, deps.version, context);
      const idempotencyKey = headers['idempotency-key'];
      if (idempotencyKey === undefined || prepared.bound.spec.method !== 'POST') return await execute();
      if (!IDEMPOTENCY_KEY.test(idempotencyKey)) throw new ValidationError([{ path: 'headers.idempotency-key', message: 'must be 1-255 visible ASCII characters' }]);
      if (!deps.idempotencyTable) throw new ValidationError([{ path: 'headers.idempotency-key', message: 'not supported by this route' }]);
      const table = deps.idempotencyTable;
      idempotent ??= makeIdempotent((_key: { key: string; payload: string }, work: () => Promise<APIGatewayProxyStructuredResultV2>) => work(), {
        persistenceStore: table(),
        config: idempotencyConfig,
      });
      idempotencyConfig.registerLambdaContext(context);
      const key = `${prepared.principal?.tenant ?? 'public'}#${prepared.bound.spec.method} ${prepared.bound.spec.path}#${idempotencyKey}`;
      const payload = createHash('sha256').update(event.body ?? '').digest('hex');
      try {
        // A 5xx reply asks for a retry, so it is not remembered: the retry with the same key runs again.
        const first = await idempotent({ key, payload }, async () => {
          const outcome = await execute();
          if (outcome.statusCode !== undefined && outcome.statusCode >= 500) throw new UnrememberedReply(outcome);
          return outcome;
        });
        const replayed = first.headers?.['x-correlation-id'] !== correlationId;
        return { ...first, headers: { ...first.headers, 'x-correlation-id': correlationId, ...(replayed ? { 'idempotent-replayed': 'true' } : {}) } };
      } catch (error) {
        if (error instanceof UnrememberedReply) return error.reply;
        if (error instanceof IdempotencyValidationError) throw new ValidationError([{ path: 'headers.idempotency-key', message: 'was already used with a different request body' }]);
        if (error instanceof IdempotencyAlreadyInProgressError) throw new ConflictError('A request with this Idempotency-Key is still in progress; retry shortly');
        // The idempotency table's adapter maps its failures (a throttle is a DependencyError): keep that status.
        if (error instanceof IdempotencyPersistenceLayerError && error.cause instanceof DomainError) throw error.cause;
        throw error;
      }
    } catch (error) {
      if (error instanceof MethodNotAllowedError) return reply(405, { error: error.name, message: error.message, correlationId }, correlationId, { allow: [...byMethod.keys()].join(', ') });
      return errorReply(error, correlationId);
    } finally {
      logger.removeKeys(['correlationId']);
    }
  };
  return middy(base).use(injectLambdaContext(logger)).use(captureLambdaHandler(tracer)).use(logMetrics(metrics)).use(countReplies());
}

async function runRoute(prepared: Prepared, correlationId: string, version: string, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
  const { spec, run } = prepared.bound;
  const logs: string[] = [];
  const ctx: EngineContext = {
    tenant: prepared.principal?.tenant ?? 'public',
    principal: prepared.principal,
    correlationId,
    now: () => new Date(),
    // Outside Lambda (a test calling the handler with a bare context) there is no deadline.
    remainingMs: () => (typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY),
    log: (message) => logs.push(message),
    contextReferences: prepared.contextReferences,
    metadata: prepared.metadata,
    ...(prepared.policy ? { policy: prepared.policy } : {}),
  };
  const outcome = await run(prepared.params, ctx);
  const status = outcome.status ?? 'success';
  const statusCode = outcome.statusCode ?? (status === 'pending' ? 202 : 200);
  if (outcome.raw) {
    return { statusCode, headers: { 'content-type': outcome.raw.contentType, 'x-correlation-id': correlationId, ...outcome.headers }, body: outcome.raw.body };
  }
  // What later steps inherit: everything of the route's step but its ledger entry.
  const inherited: ProvenanceStep = {
    engine: spec.engine,
    action: spec.action,
    tenant: ctx.tenant,
    actor: prepared.principal?.subject ?? 'anonymous',
    via: prepared.principal?.via ?? 'public',
    correlationId,
    version,
    contextReferences: prepared.contextReferences,
    metadata: prepared.metadata,
  };
  const first: ProvenanceStep = outcome.ledger ? { ...inherited, ledger: outcome.ledger } : inherited;
  const added = outcome.provenance ?? [];
  if (added.length > MAX_ROUTE_STEPS) logger.warn('Provenance steps dropped', { engine: spec.engine, action: spec.action, steps: added.length, kept: MAX_ROUTE_STEPS });
  const body = {
    status,
    result: outcome.result,
    logs,
    provenance: [first, ...added.slice(0, MAX_ROUTE_STEPS).map((step): ProvenanceStep => ({ ...inherited, ...step }))],
    timestamp: ctx.now().toISOString(),
  };
  return reply(statusCode, body, correlationId, outcome.headers);
}
