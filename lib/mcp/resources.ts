/**
 * MCP resources: what an agent reads for context (the ledger's streams and their checkpoints, the
 * pending approvals, the series' status, the incidents), each the reply of a `GET` route read the
 * way a `tools/call` runs it (lib/mcp/calls.ts): the route's own function with the caller's
 * credentials, so authentication, role, rate limit and the tenant's scoping all apply as on HTTP.
 * `resources/list` and `resources/templates/list` show only what the caller's roles may read.
 *
 * A resource is fixed (`autonomy://governance/approvals/pending`) or a template with one or more
 * `{variable}` path segments (RFC 6570 level 1: `autonomy://ledger/{stream}`), each variable one
 * URI segment, percent-decoded.
 */
import type { ReadResourceResult, Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import type { CallOrigin, RouteInvoker, RouteReply } from './calls.ts';
import { routeEvent } from './calls.ts';
import { type RouteTool, toolsForRoles } from './tools.ts';

/** The URI scheme of every resource. */
export const RESOURCE_SCHEME = 'autonomy://';

/** How many of a stream's newest entries `autonomy://ledger/{stream}` shows. */
export const RECENT_LEDGER_ENTRIES = 50;

/** JSON-RPC error of a URI that names no resource (the specification's `-32002 Resource not found`). */
export const RESOURCE_NOT_FOUND = -32002;

/** One resource or resource template, read through the tool of a `GET` route. */
export interface ResourceSpec {
  /** A fixed URI, or a template with `{variable}` segments. */
  uri: string;
  name: string;
  title: string;
  description: string;
  mimeType: string;
  /** The `GET` route's tool (lib/mcp/tools.ts) that reads it. */
  tool: string;
  /** The route's arguments for the URI's variables. */
  args: (variables: Record<string, string>) => Record<string, unknown>;
  /** What of the route's reply body the resource shows; default: the envelope's `result` as JSON. */
  view?: (body: string) => string;
}

function jsonLines(body: string): Array<Record<string, unknown>> {
  return body
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The export's header and its newest {@link RECENT_LEDGER_ENTRIES} entry lines, as JSON Lines. */
export function recentEntries(body: string): string {
  const lines = jsonLines(body);
  const entries = lines.filter((line) => line.type === 'entry');
  const kept = [...lines.filter((line) => line.type === 'header'), ...entries.slice(-RECENT_LEDGER_ENTRIES)];
  return kept.map((line) => JSON.stringify(line)).join('\n');
}

/** The export's signed checkpoints, as JSON Lines. */
export function checkpointLines(body: string): string {
  return jsonLines(body)
    .filter((line) => line.type === 'checkpoint')
    .map((line) => JSON.stringify(line))
    .join('\n');
}

/** The resources and templates served, in listing order. */
export const RESOURCE_SPECS: readonly ResourceSpec[] = [
  {
    uri: 'autonomy://governance/approvals/pending',
    name: 'pending-approvals',
    title: 'Pending approvals',
    description: 'The approvals waiting for a person, oldest first (GET /governance/approvals?status=pending).',
    mimeType: 'application/json',
    tool: 'governance_approvals_get',
    args: () => ({ status: 'pending' }),
  },
  {
    uri: 'autonomy://reflex/incidents/open',
    name: 'open-incidents',
    title: 'Open incidents',
    description: 'The newest open incidents with their diagnosis (GET /reflex/incidents?status=open).',
    mimeType: 'application/json',
    tool: 'reflex_incidents_get',
    args: () => ({ status: 'open' }),
  },
  {
    uri: 'autonomy://observation/series',
    name: 'series',
    title: 'Series status',
    description: 'A page of your series with their trend and behaviour summary (GET /observation/status).',
    mimeType: 'application/json',
    tool: 'observation_status_get',
    args: () => ({}),
  },
  {
    uri: 'autonomy://ledger/{stream}',
    name: 'ledger-stream',
    title: 'Ledger stream: recent entries',
    description: `The newest ${RECENT_LEDGER_ENTRIES} entries of a ledger stream with their payloads, as JSON Lines (autonomy-audit-export/1, from GET /audit/export).`,
    mimeType: 'application/x-ndjson',
    tool: 'audit_export_get',
    args: ({ stream }) => ({ stream }),
    view: recentEntries,
  },
  {
    uri: 'autonomy://ledger/{stream}/checkpoints',
    name: 'ledger-checkpoints',
    title: 'Ledger stream: signed checkpoints',
    description: 'The signed checkpoints of a ledger stream, as JSON Lines (from GET /audit/export).',
    mimeType: 'application/x-ndjson',
    tool: 'audit_export_get',
    args: ({ stream }) => ({ stream }),
    view: checkpointLines,
  },
  {
    uri: 'autonomy://observation/series/{series}',
    name: 'series-status',
    title: 'One series’ status',
    description: 'A series’ trend and behaviour summary and detector statistics (GET /observation/status?series=).',
    mimeType: 'application/json',
    tool: 'observation_status_get',
    args: ({ series }) => ({ series }),
  },
  {
    uri: 'autonomy://reflex/incidents/{incidentId}',
    name: 'incident',
    title: 'One incident',
    description: 'An incident with its diagnosis, case match and attempts (GET /reflex/incidents?incidentId=).',
    mimeType: 'application/json',
    tool: 'reflex_incidents_get',
    args: ({ incidentId }) => ({ incidentId }),
  },
  {
    uri: 'autonomy://governance/proposals/{proposalId}',
    name: 'proposal',
    title: 'One proposal',
    description: 'A proposal’s state and its approval (GET /governance/proposals?proposalId=).',
    mimeType: 'application/json',
    tool: 'governance_proposals_get',
    args: ({ proposalId }) => ({ proposalId }),
  },
];

/** Whether `spec` is a template (has `{variable}` segments). */
export function isTemplate(spec: Pick<ResourceSpec, 'uri'>): boolean {
  return /\{[A-Za-z]\w*\}/.test(spec.uri);
}

/**
 * The variables of `uri` under template `template`, or undefined when it does not match; each
 * variable is one non-empty segment.
 * @example matchTemplate('autonomy://ledger/{stream}', 'autonomy://ledger/mcp.calls') // { stream: 'mcp.calls' }
 */
export function matchTemplate(template: string, uri: string): Record<string, string> | undefined {
  const names: string[] = [];
  const pattern = template
    .split(/(\{[A-Za-z]\w*\})/)
    .map((part) => {
      const variable = /^\{([A-Za-z]\w*)\}$/.exec(part);
      if (!variable?.[1]) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(variable[1]);
      return '([^/?#]+)';
    })
    .join('');
  const found = new RegExp(`^${pattern}$`).exec(uri);
  if (!found) return undefined;
  const variables: Record<string, string> = {};
  try {
    names.forEach((name, index) => {
      variables[name] = decodeURIComponent(found[index + 1] ?? '');
    });
  } catch {
    return undefined;
  }
  return variables;
}

/** The specs whose route's tool exists and the caller's roles may read. */
export function readableSpecs(
  specs: readonly ResourceSpec[],
  tools: ReadonlyMap<string, RouteTool>,
  roles: CallOrigin['principal']['roles'],
): Array<{ spec: ResourceSpec; tool: RouteTool }> {
  const readable: Array<{ spec: ResourceSpec; tool: RouteTool }> = [];
  for (const spec of specs) {
    const tool = tools.get(spec.tool);
    if (tool && tool.route.method === 'GET' && toolsForRoles([tool], roles).length > 0) readable.push({ spec, tool });
  }
  return readable;
}

/** `resources/list`: the fixed resources. */
export function listedResources(readable: ReadonlyArray<{ spec: ResourceSpec }>): Resource[] {
  return readable
    .filter(({ spec }) => !isTemplate(spec))
    .map(({ spec }) => ({ uri: spec.uri, name: spec.name, title: spec.title, description: spec.description, mimeType: spec.mimeType }));
}

/** `resources/templates/list`: the templates. */
export function listedTemplates(readable: ReadonlyArray<{ spec: ResourceSpec }>): ResourceTemplate[] {
  return readable
    .filter(({ spec }) => isTemplate(spec))
    .map(({ spec }) => ({
      uriTemplate: spec.uri,
      name: spec.name,
      title: spec.title,
      description: spec.description,
      mimeType: spec.mimeType,
    }));
}

/** The spec (and its variables) a URI names among `readable`; undefined when none. */
export function resolveResource(
  readable: ReadonlyArray<{ spec: ResourceSpec; tool: RouteTool }>,
  uri: string,
): { spec: ResourceSpec; tool: RouteTool; variables: Record<string, string> } | undefined {
  for (const { spec, tool } of readable) {
    if (!isTemplate(spec)) {
      if (spec.uri === uri) return { spec, tool, variables: {} };
      continue;
    }
    const variables = matchTemplate(spec.uri, uri);
    if (variables) return { spec, tool, variables };
  }
  return undefined;
}

/** A read refused by its route: the route's status and error message, to answer as a JSON-RPC error. */
export class ResourceReadError extends Error {
  override name = 'ResourceReadError';
  readonly statusCode: number;
  readonly issues?: unknown;
  constructor(statusCode: number, message: string, issues?: unknown) {
    super(message);
    this.statusCode = statusCode;
    if (issues !== undefined) this.issues = issues;
  }
}

function errorOf(reply: RouteReply): ResourceReadError {
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(reply.body ?? '') as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: the status says it.
  }
  const name = typeof body.error === 'string' ? body.error : `HTTP ${reply.statusCode}`;
  const message = typeof body.message === 'string' ? body.message : 'The route failed without a message';
  return new ResourceReadError(reply.statusCode, `${name} (${reply.statusCode}): ${message}`, body.issues);
}

/**
 * Reads `uri` through its route: the route's function runs the `GET` with the caller's credentials.
 * @throws ResourceReadError when the route answers 4xx or 5xx.
 * @throws RouteFailedError, DependencyError as {@link RouteInvoker.invoke}.
 */
export async function readResource(
  invoker: RouteInvoker,
  resolved: { spec: ResourceSpec; tool: RouteTool; variables: Record<string, string> },
  uri: string,
  origin: CallOrigin,
): Promise<ReadResourceResult> {
  const { spec, tool, variables } = resolved;
  const reply = await invoker.invoke(tool.functionName, routeEvent(tool, spec.args(variables), origin));
  if (reply.statusCode >= 400) throw errorOf(reply);
  let text: string;
  if (spec.view) text = spec.view(reply.body ?? '');
  else if (tool.route.rawContentType) text = reply.body ?? '';
  else {
    const envelope = JSON.parse(reply.body ?? '{}') as { result?: unknown };
    text = JSON.stringify(envelope.result ?? null);
  }
  return { contents: [{ uri, mimeType: spec.mimeType, text }] };
}
