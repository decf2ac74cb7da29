/**
 * Policy as code: Cedar decides every actuation and every state-changing route, from the base
 * profile and the tenant's layers (lib/governance/profiles.ts) against the schema generated from
 * the catalogs (lib/governance/cedar-schema.ts). Pure: plain data in, a {@link PolicyDecision} out.
 *
 * - {@link validatePolicies}: syntax and strict schema validation of a tenant's document, quoting
 *   Cedar's messages, before anything is stored.
 * - {@link PolicyEngine}: evaluates requests. Each composed policy set is parsed once into Cedar's
 *   preparsed store and kept in a small LRU keyed by the document's hash and the request's scope
 *   (an environment, or routes), so an evaluation costs one `statefulIsAuthorized` call.
 * - Break-glass: an admin can always reach {@link BREAK_GLASS_ROUTES}, whatever the tenant's
 *   policies say; the decision then says `breakGlass: true` and names the policies that would have
 *   denied, for the ledger.
 * - {@link PolicyEngine.simulate}: replays recorded decisions against a candidate document.
 *
 * Requests are plain JSON (zod-parsed), so a decision's request can be stored in the ledger and
 * replayed as it was.
 *
 * Bundles: Cedar's Node build reads its `.wasm` beside its JS; the esbuild plugin
 * `cedar-wasm-inline` (infra/esbuild/plugins.cjs) embeds the bytes instead, so this one import works
 * both from source and in a bundle.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { z } from 'zod';
import { actionNameSchema, engineNameSchema, tenantSchema } from '../../events/ids.ts';
import { canonicalHash } from '../audit/digest.ts';
import { type FieldIssue, ValidationError } from '../errors.ts';
import {
  actuationActionId,
  CEDAR_NAMESPACE,
  type CedarSchema,
  PRINCIPAL_ENTITY_TYPES,
  principalKinds,
  routeActionId,
} from './cedar-schema.ts';
import {
  autonomyLevelSchema,
  type Environment,
  environmentSchema,
  operationClassSchema,
  type PolicyDecision,
  policyDecisionSchema,
  riskLevelSchema,
} from './model.ts';
import { allLayers, layersFor, type PolicyLayer, type PolicyLayers, policyLayersSchema } from './profiles.ts';

/**
 * The governance routes an admin needs to repair a bad policy set, stop actuation or change the
 * gates. A principal with the `admin` role is always allowed these, whatever the tenant's policies
 * say (break-glass).
 */
export const BREAK_GLASS_ROUTES: readonly string[] = [
  'GET /governance/policies',
  'PUT /governance/policies',
  'POST /governance/policies/simulate',
  'GET /governance/killswitch',
  'PUT /governance/killswitch',
  'PUT /governance/autonomy',
  'GET /governance/config',
  'PUT /governance/config',
];

/** The role that may use break-glass. */
export const BREAK_GLASS_ROLE = 'admin';

/** Who asks: a credential's subject, an engine's service principal, an agent or a capsule. */
export const policyPrincipalSchema = z
  .object({
    kind: z.enum(principalKinds, {
      error: (issue) => `unknown principal kind ${JSON.stringify(issue.input)}; expected one of ${principalKinds.join(', ')}`,
    }),
    /** The subject (a user's `sub`, an API key's id, an engine's name …). */
    id: z.string().min(1).max(256),
    /** The tenant it belongs to, or acts for (engines). */
    tenant: tenantSchema,
    roles: z.array(z.string().min(1).max(64)).max(32),
  })
  .strict();
/** A principal. */
export type PolicyPrincipal = z.infer<typeof policyPrincipalSchema>;

/** An actuation to decide: who proposes what on which target, and the risk assessment's figures. */
export const actuationRequestSchema = z
  .object({
    principal: policyPrincipalSchema,
    /** The tenant the target belongs to. */
    tenant: tenantSchema,
    engine: engineNameSchema,
    action: actionNameSchema,
    target: z.string().min(1).max(1024),
    environment: environmentSchema,
    tags: z.array(z.string().min(1).max(128)).max(50).default([]),
    operation: operationClassSchema,
    /** The risk score in [0, 1]; policies see it in per mille (`context.riskScore`, 0..1000). */
    riskScore: z.number().min(0).max(1),
    riskLevel: riskLevelSchema,
    autonomyLevel: autonomyLevelSchema,
    reversible: z.boolean(),
    /** Transitive dependents of the target. */
    blastRadius: z.number().int().min(0).max(1_000_000),
  })
  .strict();
/** An actuation request, as evaluated (and recorded). */
export type ActuationRequest = z.infer<typeof actuationRequestSchema>;
/** An actuation request as callers may write it (`tags` optional). */
export type ActuationRequestInput = z.input<typeof actuationRequestSchema>;

/** A route call to decide. */
export const routeRequestSchema = z
  .object({
    principal: policyPrincipalSchema,
    tenant: tenantSchema,
    method: z.enum(['GET', 'POST', 'PUT', 'DELETE']),
    path: z.string().regex(/^\/[!-~]{0,255}$/, 'path is / and up to 255 printable characters'),
  })
  .strict();
/** A route request. */
export type RouteRequest = z.infer<typeof routeRequestSchema>;

const recordIdSchema = z.string().min(1).max(256);
/** A decision as the ledger keeps it: the request evaluated and what was decided. */
export const recordedDecisionSchema = z.discriminatedUnion('kind', [
  z.object({ id: recordIdSchema, kind: z.literal('actuation'), request: actuationRequestSchema, decision: policyDecisionSchema }),
  z.object({ id: recordIdSchema, kind: z.literal('route'), request: routeRequestSchema, decision: policyDecisionSchema }),
]);
/** A recorded decision. */
export type RecordedDecision = z.input<typeof recordedDecisionSchema>;

/** One recorded decision that a candidate document would change. */
export interface SimulationChange {
  id: string;
  before: 'allow' | 'deny';
  after: 'allow' | 'deny';
  policiesBefore: string[];
  policiesAfter: string[];
}

/** What a candidate document would change among recorded decisions. */
export interface SimulationResult {
  /** Recorded decisions evaluated again. */
  evaluated: number;
  changed: SimulationChange[];
  /** Recorded decisions that could not be replayed (not a decision this module records), with why. */
  skipped: { id: string; reason: string }[];
}

/** One problem with a policy document: its layer (`team`, `env/prod`, `document` …) and Cedar's message. */
export interface PolicyValidationError {
  layer: string;
  message: string;
}

/** The outcome of {@link validatePolicies}. */
export type PolicyValidation = { ok: true; policyIds: string[] } | { ok: false; errors: PolicyValidationError[] };

/** An `@id` annotation: letters, digits and `. _ : -`, at most 128 characters. */
const POLICY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const MAX_MESSAGE_LENGTH = 1000;
const MAX_LISTED = 100;

/**
 * SHA-256 (hex) of the canonical JSON (RFC 8785) of a policy document: the hash that goes to the
 * ledger with each version. No document hashes as `{}` (the base profile alone).
 *
 * @throws ValidationError when the document has no JSON form.
 */
export function policyDocumentHash(layers: PolicyLayers | undefined): string {
  return canonicalHash(layers ?? {});
}

/**
 * The hash of each document the engine has seen, by object: a stored version's layers are read once
 * and kept (immutable), so every decision would otherwise canonicalise and hash the same text again.
 */
const documentHashes = new WeakMap<PolicyLayers, string>();

function documentKey(layers: PolicyLayers | undefined): string {
  if (!layers) return policyDocumentHash(undefined);
  let hash = documentHashes.get(layers);
  if (hash === undefined) {
    hash = policyDocumentHash(layers);
    documentHashes.set(layers, hash);
  }
  return hash;
}

interface ParsedPolicy {
  /** Namespaced id: `<layer>/<id>`. */
  id: string;
  text: string;
  /** Where the policy starts in its layer's text. */
  offset: number;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; errors: PolicyValidationError[] };

function clip(text: string): string {
  return text.length <= MAX_MESSAGE_LENGTH ? text : `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

/** Cedar's message, its help, and where it points (`offset` is where the text Cedar saw starts in `layerText`). */
function describe(error: cedar.DetailedError, layerText?: string, offset = 0): string {
  const where = error.sourceLocations?.[0];
  const at = where && layerText !== undefined ? ` (at ${lineAndColumn(layerText, offset + where.start)})` : '';
  return clip(`${error.message}${error.help ? `; ${error.help}` : ''}${at}`);
}

/** Parsed layers by name and text: the base profile and a team layer are parsed once, not once per scope. */
const parsedLayers = new Map<string, Parsed<ParsedPolicy[]>>();
const MAX_PARSED_LAYERS = 64;

/** Splits one layer into its policies with namespaced ids, or says why it cannot (memoised). */
function parseLayer(layer: PolicyLayer): Parsed<ParsedPolicy[]> {
  const key = `${layer.name}\n${layer.text}`;
  const known = parsedLayers.get(key);
  if (known) return known;
  const parsed = splitLayer(layer);
  parsedLayers.set(key, parsed);
  if (parsedLayers.size > MAX_PARSED_LAYERS) parsedLayers.delete(parsedLayers.keys().next().value as string);
  return parsed;
}

function splitLayer(layer: PolicyLayer): Parsed<ParsedPolicy[]> {
  const parts = cedar.policySetTextToParts(layer.text);
  if (parts.type === 'failure')
    return { ok: false, errors: parts.errors.map((error) => ({ layer: layer.name, message: describe(error, layer.text) })) };
  const errors: PolicyValidationError[] = parts.policy_templates.map((template) => ({
    layer: layer.name,
    message: `templates (policies with ?principal or ?resource slots) are not supported (at ${lineAndColumn(layer.text, Math.max(0, layer.text.indexOf(template)))})`,
  }));
  const policies: ParsedPolicy[] = [];
  const seen = new Set<string>();
  let cursor = 0;
  for (const [index, text] of parts.policies.entries()) {
    const found = layer.text.indexOf(text, cursor);
    const offset = found >= 0 ? found : cursor;
    cursor = offset + text.length;
    // Converting to JSON is the costly part of parsing: only a policy with an `@` can carry an @id.
    const json = text.includes('@') ? cedar.policyToJson(text) : undefined;
    const annotated = json?.type === 'success' ? json.json.annotations?.id : undefined;
    const local = annotated ?? `policy${index}`;
    const where = () => lineAndColumn(layer.text, offset);
    if (!POLICY_ID_PATTERN.test(local)) {
      errors.push({ layer: layer.name, message: `@id("${clip(local)}") must be 1-128 letters, digits and . _ : - (at ${where()})` });
      continue;
    }
    const id = `${layer.name}/${local}`;
    if (seen.has(id)) errors.push({ layer: layer.name, message: `duplicate policy id ${id} (at ${where()})` });
    seen.add(id);
    policies.push({ id, text, offset });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: policies };
}

function parseLayers(layers: readonly PolicyLayer[]): Parsed<ParsedPolicy[]> {
  const results = layers.map(parseLayer);
  const errors = results.flatMap((result) => (result.ok ? [] : result.errors));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: results.flatMap((result) => (result.ok ? result.value : [])) };
}

function documentErrors(error: z.ZodError): PolicyValidationError[] {
  return error.issues.map((issue) => ({ layer: 'document', message: `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}` }));
}

/**
 * Validates a tenant's policy document: each layer parses (Cedar's syntax), each policy validates
 * strictly against `schema` (unknown actions, entity types, attributes, type errors), ids are
 * well-formed and unique. Empty layers are fine. Errors quote Cedar's message and help, with the
 * line and column in the layer's text.
 *
 * @returns `policyIds`: every namespaced id of the document, base profile included, in composition
 * order (base, team, environments).
 * @example
 * const result = validatePolicies({ team: '@id("no-prod-termination") forbid (…);' }, schema);
 * if (!result.ok) throw new ValidationError(policyValidationIssues(result.errors)); // a 400 quoting Cedar
 */
export function validatePolicies(layers: PolicyLayers | undefined, schema: CedarSchema): PolicyValidation {
  const document = policyLayersSchema.safeParse(layers ?? {});
  if (!document.success) return { ok: false, errors: documentErrors(document.error) };
  const chosen = allLayers(document.data);
  const parsed = parseLayers(chosen);
  if (!parsed.ok) return parsed;
  const policies = parsed.value;
  if (policies.length === 0) return { ok: true, policyIds: [] };
  const answer = cedar.validate({
    schema,
    policies: { staticPolicies: Object.fromEntries(policies.map((policy) => [policy.id, policy.text])) },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure')
    return { ok: false, errors: answer.errors.map((error) => ({ layer: 'document', message: describe(error) })) };
  if (answer.validationErrors.length > 0) {
    const byId = new Map(policies.map((policy, index) => [policy.id, { policy, index }]));
    const textOf = new Map(chosen.map((layer) => [layer.name as string, layer.text]));
    const located = answer.validationErrors.map(({ policyId, error }) => {
      const found = byId.get(policyId);
      const layer = found ? policyId.slice(0, policyId.lastIndexOf('/')) : 'document';
      const at = (found?.policy.offset ?? 0) + (error.sourceLocations?.[0]?.start ?? 0);
      return { layer, message: describe(error, textOf.get(layer), found?.policy.offset), order: [found?.index ?? -1, at] as const };
    });
    // Cedar reports in no particular order: sort by policy, then position, then message, so the same document gives the same answer.
    located.sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1] || a.message.localeCompare(b.message));
    const errors = located.slice(0, MAX_LISTED).map(({ layer, message }) => ({ layer, message }));
    if (located.length > MAX_LISTED)
      errors.push({ layer: 'document', message: `… and ${located.length - MAX_LISTED} more validation errors` });
    return { ok: false, errors };
  }
  return { ok: true, policyIds: policies.map((policy) => policy.id) };
}

/** The Cedar entity uid of an unqualified type. */
function uid(type: string, id: string): cedar.TypeAndId {
  return { type: `${CEDAR_NAMESPACE}::${type}`, id };
}

function principalEntity(principal: PolicyPrincipal): cedar.EntityJson {
  return {
    uid: uid(PRINCIPAL_ENTITY_TYPES[principal.kind], principal.id),
    attrs: { tenant: principal.tenant, roles: principal.roles },
    parents: [],
  };
}

function parseRequest<T>(schema: z.ZodType<T>, request: unknown): T {
  const parsed = schema.safeParse(request);
  if (!parsed.success)
    throw new ValidationError(parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })));
  return parsed.data;
}

function checkVersion(version: number): void {
  if (!Number.isInteger(version) || version < 0)
    throw new ValidationError([{ path: 'version', message: 'a policy version is an integer ≥ 0' }]);
}

/** A compiled policy set: its slot in Cedar's preparsed store, or why it cannot be used. */
type Compiled = { ok: true; slot: string } | { ok: false; errors: string[] };

/** What Cedar said, before break-glass. */
interface Verdict {
  decision: 'allow' | 'deny';
  policies: string[];
  errors: string[];
}

let engineCount = 0;

/**
 * Evaluates actuations and routes with Cedar for one schema. Keep one per container: it parses the
 * schema once, and each composed policy set once (an LRU of `cacheSize` sets, keyed by the
 * document's hash and the scope, so a new version or a candidate document compiles on first use).
 *
 * A document that does not parse (it should have been refused by {@link validatePolicies}) denies
 * everything it decides, naming Cedar's message in `errors`: fail closed, with break-glass left.
 *
 * @example
 * const engine = new PolicyEngine(cedarSchema({ actuations, routes }));
 * const decision = engine.evaluateActuation(tenantPolicies, version, request);
 * if (decision.decision === 'deny') throw new ForbiddenError(`refused by policy: ${decision.policies.join(', ') || 'no policy permits it'}`);
 */
export class PolicyEngine {
  /** The schema requests are validated against. */
  readonly schema: CedarSchema;
  readonly #name: string;
  readonly #cacheSize: number;
  /** Insertion order is recency: the first key is the least recently used. */
  readonly #cache = new Map<string, Compiled>();
  readonly #freeSlots: string[] = [];
  #slots = 0;

  /**
   * @param schema from {@link cedarSchema}.
   * @throws ValidationError when Cedar cannot parse the schema.
   */
  constructor(schema: CedarSchema, options: { cacheSize?: number } = {}) {
    engineCount += 1;
    this.#name = `autonomy-policy-${engineCount}`;
    this.#cacheSize = Math.max(1, options.cacheSize ?? 32);
    this.schema = schema;
    const answer = cedar.preparseSchema(this.#name, schema);
    if (answer.type === 'failure') throw new ValidationError(answer.errors.map((error) => ({ path: 'schema', message: describe(error) })));
  }

  /**
   * Decides an actuation: base ∪ team ∪ the layer of `request.environment`.
   *
   * @param layers the tenant's document (undefined: the base profile alone).
   * @param version the document's version (0 for none), reported in the decision.
   * @throws ValidationError naming each bad field of `request` (an unknown principal kind, a bad environment …).
   */
  evaluateActuation(layers: PolicyLayers | undefined, version: number, request: ActuationRequestInput): PolicyDecision {
    checkVersion(version);
    const parsed = parseRequest(actuationRequestSchema, request);
    const resource = uid('Target', parsed.target);
    const verdict = this.#decide(this.#compiled(layers, parsed.environment), {
      principal: uid(PRINCIPAL_ENTITY_TYPES[parsed.principal.kind], parsed.principal.id),
      action: uid('Action', actuationActionId(parsed.engine, parsed.action)),
      resource,
      context: {
        environment: parsed.environment,
        operation: parsed.operation,
        riskScore: Math.round(parsed.riskScore * 1000),
        riskLevel: parsed.riskLevel,
        autonomyLevel: parsed.autonomyLevel,
        reversible: parsed.reversible,
        blastRadius: parsed.blastRadius,
      },
      entities: [
        principalEntity(parsed.principal),
        { uid: resource, attrs: { tenant: parsed.tenant, environment: parsed.environment, tags: parsed.tags }, parents: [] },
      ],
    });
    return { ...verdict, version, breakGlass: false };
  }

  /**
   * Decides a route call: base ∪ team (no environment layer). For an admin on one of
   * {@link BREAK_GLASS_ROUTES} the answer is always allow; when the tenant's policies would have
   * denied, `breakGlass` is true and `policies` names the deniers, for the ledger.
   *
   * @throws ValidationError naming each bad field of `request`.
   */
  evaluateRoute(layers: PolicyLayers | undefined, version: number, request: z.input<typeof routeRequestSchema>): PolicyDecision {
    checkVersion(version);
    const parsed = parseRequest(routeRequestSchema, request);
    const actionId = routeActionId(parsed.method, parsed.path);
    const resource = uid('Route', parsed.path);
    const verdict = this.#decide(this.#compiled(layers, undefined), {
      principal: uid(PRINCIPAL_ENTITY_TYPES[parsed.principal.kind], parsed.principal.id),
      action: uid('Action', actionId),
      resource,
      context: {},
      entities: [principalEntity(parsed.principal), { uid: resource, attrs: { tenant: parsed.tenant }, parents: [] }],
    });
    const breakGlass =
      verdict.decision === 'deny' && BREAK_GLASS_ROUTES.includes(actionId) && parsed.principal.roles.includes(BREAK_GLASS_ROLE);
    return breakGlass ? { ...verdict, decision: 'allow', version, breakGlass: true } : { ...verdict, version, breakGlass: false };
  }

  /**
   * Replays recorded decisions against a candidate document (as version recorded + 1) and lists
   * those whose outcome would change. Pure: nothing is stored.
   *
   * @throws ValidationError when the candidate is not a valid document (each error as `path: layer`).
   */
  simulate(candidate: PolicyLayers, recorded: readonly RecordedDecision[]): SimulationResult {
    const validation = validatePolicies(candidate, this.schema);
    if (!validation.ok) throw new ValidationError(policyValidationIssues(validation.errors));
    const result: SimulationResult = { evaluated: 0, changed: [], skipped: [] };
    for (const [index, entry] of recorded.entries()) {
      const parsed = recordedDecisionSchema.safeParse(entry);
      if (!parsed.success) {
        const id = typeof (entry as { id?: unknown } | null)?.id === 'string' ? String((entry as { id: string }).id) : `#${index}`;
        result.skipped.push({
          id,
          reason: clip(parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ')),
        });
        continue;
      }
      const { id, decision: before } = parsed.data;
      const version = before.version + 1;
      const after =
        parsed.data.kind === 'actuation'
          ? this.evaluateActuation(candidate, version, parsed.data.request)
          : this.evaluateRoute(candidate, version, parsed.data.request);
      result.evaluated += 1;
      if (after.decision !== before.decision) {
        result.changed.push({
          id,
          before: before.decision,
          after: after.decision,
          policiesBefore: before.policies,
          policiesAfter: after.policies,
        });
      }
    }
    return result;
  }

  /** The compiled set for a document and a scope (an environment, or undefined for routes); a document object is treated as immutable. */
  #compiled(layers: PolicyLayers | undefined, environment: Environment | undefined): Compiled {
    const key = `${documentKey(layers)}|${environment ?? 'routes'}`;
    const cached = this.#cache.get(key);
    if (cached) {
      this.#cache.delete(key);
      this.#cache.set(key, cached);
      return cached;
    }
    const compiled = this.#compile(layers, environment);
    this.#cache.set(key, compiled);
    if (this.#cache.size > this.#cacheSize) {
      const [oldestKey, oldest] = this.#cache.entries().next().value as [string, Compiled];
      this.#cache.delete(oldestKey);
      // Cedar's store has no delete: the slot is reused, and the next preparse overwrites it.
      if (oldest.ok) this.#freeSlots.push(oldest.slot);
    }
    return compiled;
  }

  #compile(layers: PolicyLayers | undefined, environment: Environment | undefined): Compiled {
    const document = policyLayersSchema.safeParse(layers ?? {});
    if (!document.success) return { ok: false, errors: documentErrors(document.error).map((error) => error.message) };
    const parsed = parseLayers(layersFor(document.data, environment));
    if (!parsed.ok) return { ok: false, errors: parsed.errors.map((error) => clip(`${error.layer}: ${error.message}`)) };
    const slot = this.#freeSlots.pop() ?? `${this.#name}/set-${this.#slots++}`;
    const answer = cedar.preparsePolicySet(slot, {
      staticPolicies: Object.fromEntries(parsed.value.map((policy) => [policy.id, policy.text])),
    });
    if (answer.type === 'failure') {
      // A failed preparse leaves the slot as it was: it must not be read for this document.
      this.#freeSlots.push(slot);
      return { ok: false, errors: answer.errors.map((error) => describe(error)) };
    }
    return { ok: true, slot };
  }

  #decide(
    compiled: Compiled,
    call: {
      principal: cedar.TypeAndId;
      action: cedar.TypeAndId;
      resource: cedar.TypeAndId;
      context: cedar.Context;
      entities: cedar.EntityJson[];
    },
  ): Verdict {
    if (!compiled.ok) return { decision: 'deny', policies: [], errors: compiled.errors.slice(0, MAX_LISTED) };
    let answer: cedar.AuthorizationAnswer;
    try {
      answer = cedar.statefulIsAuthorized({
        ...call,
        preparsedPolicySetId: compiled.slot,
        preparsedSchemaName: this.#name,
        validateRequest: true,
      });
    } catch (error) {
      return { decision: 'deny', policies: [], errors: [clip(`Cedar failed: ${(error as Error).message}`)] };
    }
    if (answer.type === 'failure')
      return { decision: 'deny', policies: [], errors: answer.errors.slice(0, MAX_LISTED).map((error) => describe(error)) };
    const { decision, diagnostics } = answer.response;
    return {
      decision,
      policies: diagnostics.reason.slice(0, MAX_LISTED),
      errors: diagnostics.errors.slice(0, MAX_LISTED).map(({ policyId, error }) => clip(`${policyId}: ${error.message}`)),
    };
  }
}

/** Policy validation errors as field issues (the layer as the path), for a {@link ValidationError} (a 400). */
export function policyValidationIssues(errors: readonly PolicyValidationError[]): FieldIssue[] {
  return errors.map((error) => ({ path: error.layer, message: error.message }));
}
