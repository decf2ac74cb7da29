/**
 * MCP tools generated from the route registry (lib/engines/): every protected route of every
 * engine is one tool, with the route's zod parameters as its JSON Schema 2020-12 input (the same
 * conversion as the OpenAPI document) and its summary as the description. One source of truth:
 * a route added to a manifest is a tool on the next deploy, named by {@link toolName}.
 *
 * Left out, because as tools they make no sense: public routes (readiness, the OpenAPI document,
 * the approvals page's HTML — no credentials, nothing an agent acts on) and the MCP engine's own
 * routes (the protocol endpoint and its metadata).
 */

import { policyGated } from '../api/engine-handler.ts';
import { jsonSchema } from '../api/openapi.ts';
import type { RouteMethod, RouteSpec } from '../api/route.ts';
import { type Role, rolesAllow } from '../auth/roles.ts';
import { type EngineManifest, functionName, startsCapsuleRuns } from '../engines/manifest.ts';

/** Tool names: at most 64 characters of `[a-z0-9_]` (what MCP clients and model APIs all accept). */
export const TOOL_NAME_PATTERN = /^[a-z0-9_]{1,64}$/;

/** The verb a method becomes in a tool name. */
export const METHOD_VERBS: Readonly<Record<RouteMethod, string>> = { GET: 'get', POST: 'create', PUT: 'update', DELETE: 'delete' };

/** The JSON Schema dialect of every input schema. */
export const INPUT_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** An engine whose routes are never tools (the MCP server itself). */
export const MCP_ENGINE = 'mcp';

/** One tool: what `tools/list` shows, and the route (and function) `tools/call` runs. */
export interface RouteTool {
  name: string;
  title: string;
  description: string;
  inputSchema: Record<string, unknown> & { type: 'object' };
  annotations: { title: string; readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean };
  route: RouteSpec;
  /** The stage function serving the route (`functionName(engine, action)`: `governanceProposals`). */
  functionName: string;
}

/**
 * A route's tool name: `<path segments after the root>_<verb>`, snake case, the verb from the
 * method ({@link METHOD_VERBS}): `POST /governance/proposals` → `governance_proposals_create`,
 * `GET /audit/verify` → `audit_verify_get`, `POST /governance/policies/simulate` →
 * `governance_policies_simulate_create`. Always with the verb, so a tool keeps its name when its
 * path gains another method.
 * @throws Error when the name would not match {@link TOOL_NAME_PATTERN}.
 */
export function toolName(spec: Pick<RouteSpec, 'method' | 'path'>): string {
  const stem = spec.path
    .split('/')
    .filter(Boolean)
    .join('_')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toLowerCase();
  const name = `${stem}_${METHOD_VERBS[spec.method]}`;
  if (!TOOL_NAME_PATTERN.test(name)) throw new Error(`${spec.method} ${spec.path}: tool name '${name}' must be 1-64 of [a-z0-9_]`);
  return name;
}

/** Whether a route becomes a tool (see the module comment). */
export function isToolRoute(spec: RouteSpec): boolean {
  return spec.permission !== 'public' && spec.engine !== MCP_ENGINE;
}

function description(spec: RouteSpec): string {
  const summary = spec.summary.endsWith('.') ? spec.summary : `${spec.summary}.`;
  const effect =
    spec.method === 'GET'
      ? 'Reads only'
      : 'Changes state; the tenant’s Cedar policies decide it, and a call that needs a person returns pending with the approval id';
  const raw = spec.rawContentType ? ` The result is ${spec.rawContentType} text.` : '';
  return `${summary} ${effect}. Same as ${spec.method} ${spec.path} (needs ${spec.permission}).${raw}`;
}

/** The tool of one route served by `fnName`. */
export function routeTool(spec: RouteSpec, fnName: string): RouteTool {
  const name = toolName(spec);
  const title = `${spec.method} ${spec.path}`;
  const schema = jsonSchema(spec.parameters, 'input');
  if (schema.type !== 'object')
    throw new Error(`${title}: parameters must be a zod object to be a tool's input (got ${JSON.stringify(schema.type)})`);
  return {
    name,
    title,
    description: description(spec),
    inputSchema: { $schema: INPUT_SCHEMA_DIALECT, ...schema, type: 'object' },
    annotations: {
      title,
      readOnlyHint: spec.method === 'GET',
      destructiveHint: spec.method === 'DELETE' || spec.method === 'PUT',
      idempotentHint: spec.method !== 'POST',
      // The engines act on the tenant's own state and the stage's resources only.
      openWorldHint: false,
    },
    route: spec,
    functionName: fnName,
  };
}

/**
 * Every tool of `engines`, in registry order.
 * @throws Error when two routes would share a tool name.
 */
export function routeTools(engines: readonly EngineManifest[]): RouteTool[] {
  const tools: RouteTool[] = [];
  const seen = new Map<string, string>();
  for (const engine of engines) {
    for (const [action, spec] of Object.entries(engine.actions)) {
      // A function that starts capsule runs (invokes routes itself, or starts plans) is no tool: no grant lets a tool call reach it.
      if (startsCapsuleRuns(spec)) continue;
      for (const route of spec.routes ?? []) {
        if (!isToolRoute(route)) continue;
        const tool = routeTool(route, functionName(engine.name, action));
        const clash = seen.get(tool.name);
        if (clash) throw new Error(`tool name '${tool.name}' is shared by ${clash} and ${tool.title}`);
        seen.set(tool.name, tool.title);
        tools.push(tool);
      }
    }
  }
  return tools;
}

/** The tools `roles` may call (lib/auth/roles.ts), the rest left out of `tools/list`. */
export function toolsForRoles(tools: readonly RouteTool[], roles: readonly Role[]): RouteTool[] {
  return tools.filter((tool) => tool.route.permission !== 'public' && rolesAllow(roles, tool.route.permission));
}

/** Whether the Cedar gate decides calls of this tool (its route changes state). */
export function toolPolicyGated(tool: RouteTool): boolean {
  return policyGated(tool.route);
}
