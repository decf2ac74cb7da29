/**
 * The Cedar schema of governance, generated from the catalogs so it has one source of truth: the
 * actuation catalog gives one action per `engine:action`, the API's routes one action per
 * `METHOD /path`. Pure data (Cedar's JSON schema format); nothing here loads Cedar itself.
 *
 * Namespace `Autonomy`:
 * - principals `User`, `ApiKey`, `Engine` (an engine's own service principal), `Agent`, `Capsule`,
 *   each `{ tenant: String, roles: Set<String> }`;
 * - resources `Target` (`{ tenant: String, environment: String, tags: Set<String> }`, id = the
 *   proposal's target) and `Route` (`{ tenant: String }`, id = the route's path);
 * - action groups `Action::"actuation"` and `Action::"route"`; each actuation
 *   `Action::"<engine>:<action>"` is in `actuation`, applies to every principal type and `Target`,
 *   with the context {@link ACTUATION_CONTEXT_ATTRIBUTES}; each route `Action::"<METHOD> <path>"`
 *   is in `route`, applies to every principal type and `Route`, with an empty context.
 */
import type { SchemaJson } from '@cedar-policy/cedar-wasm/nodejs';
import { ACTION_NAME_FRAGMENT, ENGINE_NAME_FRAGMENT } from '../../events/ids.ts';
import { ValidationError } from '../errors.ts';

/** The namespace of every entity type and action: policies write `Autonomy::User`, `Autonomy::Action::"…"`. */
export const CEDAR_NAMESPACE = 'Autonomy';

/** Kinds of principal, as callers name them. */
export const principalKinds = ['user', 'api-key', 'engine', 'agent', 'capsule'] as const;
/** A kind of principal. */
export type PrincipalKind = (typeof principalKinds)[number];

/** The Cedar entity type (unqualified) of each kind of principal. */
export const PRINCIPAL_ENTITY_TYPES: Readonly<Record<PrincipalKind, string>> = {
  user: 'User',
  'api-key': 'ApiKey',
  engine: 'Engine',
  agent: 'Agent',
  capsule: 'Capsule',
};

/** The action group every actuation is in. */
export const ACTUATION_GROUP = 'actuation';
/** The action group every API route is in. */
export const ROUTE_GROUP = 'route';

/**
 * The context of every actuation request: the environment, the operation class, the risk score in
 * per mille (0..1000: Cedar has no decimals), the risk level, the tenant's autonomy level, whether
 * the actuation can be undone, and its blast radius (transitive dependents).
 */
export const ACTUATION_CONTEXT_ATTRIBUTES = {
  environment: { type: 'String' },
  operation: { type: 'String' },
  riskScore: { type: 'Long' },
  riskLevel: { type: 'String' },
  autonomyLevel: { type: 'Long' },
  reversible: { type: 'Boolean' },
  blastRadius: { type: 'Long' },
} as const;

/** A Cedar schema in Cedar's JSON format. */
export type CedarSchema = SchemaJson<string>;

/** What the schema is generated from. */
export interface PolicyCatalog {
  /** Actuation ids, `engine:action` (the actuation catalog). */
  actuations: readonly string[];
  /** Route ids, `METHOD /path` (the API's routes). */
  routes: readonly string[];
}

const ACTUATION_ID_PATTERN = new RegExp(`^${ENGINE_NAME_FRAGMENT}:${ACTION_NAME_FRAGMENT}$`);
const ROUTE_ID_PATTERN = /^(GET|POST|PUT|DELETE) \/[!-~]{0,255}$/;

/** The Cedar action id of an actuation: `engine:action`. */
export function actuationActionId(engine: string, action: string): string {
  return `${engine}:${action}`;
}

/** The Cedar action id of an API route: `METHOD /path`, e.g. `PUT /observation/config`. */
export function routeActionId(method: string, path: string): string {
  return `${method} ${path}`;
}

/**
 * Generates the Cedar schema (JSON format) from the actuation and route catalogs. Duplicates are
 * kept once.
 *
 * @throws ValidationError naming each malformed id (an actuation that is not `engine:action`, a route
 * that is not `METHOD /path`).
 * @example
 * const schema = cedarSchema({
 *   actuations: actuations.map((a) => actuationActionId(a.engine, a.action)),
 *   routes: allRoutes.map((r) => routeActionId(r.method, r.path)),
 * });
 */
export function cedarSchema(catalog: PolicyCatalog): CedarSchema {
  const issues = [
    ...catalog.actuations.flatMap((id, index) =>
      ACTUATION_ID_PATTERN.test(id) ? [] : [{ path: `actuations[${index}]`, message: `'${id}' is not engine:action` }],
    ),
    ...catalog.routes.flatMap((id, index) =>
      ROUTE_ID_PATTERN.test(id) ? [] : [{ path: `routes[${index}]`, message: `'${id}' is not METHOD /path` }],
    ),
  ];
  if (issues.length > 0) throw new ValidationError(issues);

  const principalTypes = principalKinds.map((kind) => PRINCIPAL_ENTITY_TYPES[kind]);
  const principalShape = {
    type: 'Record',
    attributes: { tenant: { type: 'String' }, roles: { type: 'Set', element: { type: 'String' } } },
  } as const;
  const actions: CedarSchema[string]['actions'] = { [ACTUATION_GROUP]: {}, [ROUTE_GROUP]: {} };
  for (const id of new Set(catalog.actuations)) {
    actions[id] = {
      memberOf: [{ id: ACTUATION_GROUP }],
      appliesTo: {
        principalTypes,
        resourceTypes: ['Target'],
        context: { type: 'Record', attributes: { ...ACTUATION_CONTEXT_ATTRIBUTES } },
      },
    };
  }
  for (const id of new Set(catalog.routes)) {
    actions[id] = {
      memberOf: [{ id: ROUTE_GROUP }],
      appliesTo: { principalTypes, resourceTypes: ['Route'], context: { type: 'Record', attributes: {} } },
    };
  }
  return {
    [CEDAR_NAMESPACE]: {
      entityTypes: {
        ...Object.fromEntries(principalTypes.map((type) => [type, { shape: principalShape }])),
        Target: {
          shape: {
            type: 'Record',
            attributes: { tenant: { type: 'String' }, environment: { type: 'String' }, tags: { type: 'Set', element: { type: 'String' } } },
          },
        },
        Route: { shape: { type: 'Record', attributes: { tenant: { type: 'String' } } } },
      },
      actions,
    },
  };
}
