/**
 * MCP prompts: the gateway's prompt templates (lib/gateway/templates.ts), one prompt per template
 * name, its arguments the template's variables (required when the template gives no default).
 * The built-ins are always there; a caller whose roles read the gateway also gets the tenant's own
 * templates, read through `GET /gateway/templates` as a tool call runs it (the route's function,
 * the caller's credentials), the tenant's overriding a built-in of the same name as in chat.
 *
 * `prompts/get` renders the template as chat would: a missing required argument, or one the
 * template does not use, is `-32602 Invalid params` naming `arguments.<name>`. MCP prompt messages
 * have no `system` role: a template's system message becomes a `user` message.
 */
import type { GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js';
import { BUILT_IN_TEMPLATES, type PromptTemplate, renderTemplate, TemplateError, templateVariables } from '../gateway/templates.ts';
import { type CallOrigin, type RouteInvoker, routeEvent } from './calls.ts';
import { ResourceReadError } from './resources.ts';
import { type RouteTool, toolsForRoles } from './tools.ts';

/** The route tool that reads the tenant's templates. */
export const TEMPLATES_TOOL = 'gateway_templates_get';

/** A template as a prompt source: its definition when known, else only what the listing says. */
interface TemplateSummary {
  name: string;
  description: string;
  variables: Array<{ name: string; required: boolean }>;
  source: 'tenant' | 'built-in';
}

/** A prompt argument error: the JSON-RPC `-32602` to answer, with each field named. */
export class PromptArgumentsError extends Error {
  override name = 'PromptArgumentsError';
  readonly issues: Array<{ path: string; message: string }>;
  constructor(issues: Array<{ path: string; message: string }>) {
    super(`Invalid params: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
    this.issues = issues;
  }
}

function builtInSummaries(): TemplateSummary[] {
  return [...BUILT_IN_TEMPLATES.values()].map((template) => ({
    name: template.name,
    description: template.description ?? '',
    variables: templateVariables(template),
    source: 'built-in' as const,
  }));
}

async function readTemplates(
  invoker: RouteInvoker,
  tool: RouteTool,
  args: Record<string, unknown>,
  origin: CallOrigin,
): Promise<Array<Record<string, unknown>>> {
  const reply = await invoker.invoke(tool.functionName, routeEvent(tool, args, origin));
  if (reply.statusCode === 404) return [];
  if (reply.statusCode >= 400) {
    let message = `HTTP ${reply.statusCode}`;
    try {
      const body = JSON.parse(reply.body) as { message?: unknown };
      if (typeof body.message === 'string') message = `${message}: ${body.message}`;
    } catch {
      // The status says it.
    }
    throw new ResourceReadError(reply.statusCode, message);
  }
  const envelope = JSON.parse(reply.body ?? '{}') as { result?: { templates?: unknown } };
  const templates = envelope.result?.templates;
  return Array.isArray(templates) ? (templates as Array<Record<string, unknown>>) : [];
}

/** The templates tool, when the caller's roles may read it. */
export function templatesTool(tools: ReadonlyMap<string, RouteTool>, roles: CallOrigin['principal']['roles']): RouteTool | undefined {
  const tool = tools.get(TEMPLATES_TOOL);
  return tool && toolsForRoles([tool], roles).length > 0 ? tool : undefined;
}

/**
 * `prompts/list`: the templates in force (the tenant's, else the built-in of each name), read through
 * the route when `tool` is given, else the built-ins.
 */
export async function listPrompts(invoker: RouteInvoker, tool: RouteTool | undefined, origin: CallOrigin): Promise<Prompt[]> {
  let summaries: TemplateSummary[] = builtInSummaries();
  if (tool) {
    const views = await readTemplates(invoker, tool, {}, origin);
    summaries = views
      .filter((view) => view.inForce === true && typeof view.name === 'string')
      .map((view) => ({
        name: String(view.name),
        description: typeof view.description === 'string' ? view.description : '',
        variables: Array.isArray(view.variables) ? (view.variables as TemplateSummary['variables']) : [],
        source: view.source === 'tenant' ? 'tenant' : 'built-in',
      }));
  }
  return summaries
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((summary) => ({
      name: summary.name,
      title: summary.name.replace(/_/g, ' '),
      description: `${summary.description || 'A prompt template of the gateway'} (${summary.source === 'tenant' ? "your tenant's template" : 'built-in'})`,
      arguments: summary.variables.map((variable) => ({
        name: variable.name,
        description: variable.required ? 'Required' : 'Optional: the template has a default',
        required: variable.required,
      })),
    }));
}

/**
 * `prompts/get`: template `name` (the one chat uses: the tenant's through the route when `tool` is
 * given, else the built-in) rendered with `args`.
 * @throws PromptArgumentsError naming `name` (unknown) or `arguments.<variable>` (missing, unused).
 */
export async function getPrompt(
  invoker: RouteInvoker,
  tool: RouteTool | undefined,
  origin: CallOrigin,
  name: string,
  args: Record<string, string>,
): Promise<GetPromptResult> {
  let template: PromptTemplate | undefined;
  let source: 'tenant' | 'built-in' = 'built-in';
  if (tool && /^[a-z][a-z0-9_]{0,63}$/.test(name)) {
    const [view] = await readTemplates(invoker, tool, { name }, origin);
    if (view && Array.isArray(view.messages)) {
      template = {
        name,
        description: typeof view.description === 'string' ? view.description : '',
        messages: view.messages as PromptTemplate['messages'],
        defaults: (view.defaults ?? {}) as Record<string, string>,
      };
      source = view.source === 'tenant' ? 'tenant' : 'built-in';
    }
  } else template = BUILT_IN_TEMPLATES.get(name);
  if (!template) throw new PromptArgumentsError([{ path: 'name', message: `unknown prompt "${name.slice(0, 64)}"` }]);
  try {
    const rendered = renderTemplate(template, args);
    return {
      description: `${template.description || name} (${source === 'tenant' ? "your tenant's template" : 'built-in'})`,
      messages: rendered.messages.map((message) => ({
        role: message.role === 'assistant' ? 'assistant' : 'user',
        content: { type: 'text', text: message.content },
      })),
    };
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    throw new PromptArgumentsError(
      error.issues.map((issue) => ({ path: issue.path.replace(/^variables(?=\.|$)/, 'arguments'), message: issue.message })),
    );
  }
}
