/**
 * Prompt templates: named lists of messages with `{{variable}}` placeholders, rendered to the
 * {@link ChatMessage}s a model receives. Built-ins live one per file in `lib/gateway/templates/`
 * (TypeScript modules holding the text, so they are bundled into every function that imports them and
 * nothing reads the repository at run time); a tenant's templates add to them or override one of the
 * same name, through an injected {@link TemplateLookup}.
 *
 * Syntax (one pass, no logic):
 * - `{{name}}` is replaced by the variable's value; spaces inside the braces are allowed (`{{ name }}`).
 *   Names are lower-case snake case: `[a-z][a-z0-9_]*`, at most 64 characters.
 * - `\{{` writes a literal `{{` (the backslash is dropped); a backslash anywhere else is kept as is, and
 *   `}}` on its own is plain text.
 * - Any other `{{` (unclosed, or not a valid name) is a syntax error when the template is defined, so a
 *   stored template always renders.
 * - Values are inserted verbatim (prompts are not HTML: nothing is escaped) and are not rendered again: a
 *   value holding `{{x}}` reaches the model as `{{x}}`, so callers cannot inject placeholders.
 * - Numbers and booleans are written with `String()`.
 *
 * Variables: a placeholder without a value and without a default in the template is an error naming
 * `variables.<name>`. Variables the template does not use are refused by default (an error naming
 * `variables.<name>`, which catches typos such as `langauge`); callers that pass a fixed set to
 * templates a tenant may have replaced (arbitration's critique) pass `unusedVariables: 'ignore'`.
 */
import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../errors.ts';
import type { ChatMessage } from './backend.ts';
import { baseSystemTemplate } from './templates/base-system.ts';
import { criticModeTemplate } from './templates/critic-mode.ts';
import { developerModeTemplate } from './templates/developer-mode.ts';

/** Template and variable names: lower-case snake case, 1–64 characters (`base_system`, `other_answer`). */
export const TEMPLATE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
/** Largest value of one variable, in characters. */
export const MAX_VARIABLE_CHARS = 100_000;
/** Most variables one render takes. */
export const MAX_VARIABLES = 64;
/** Most messages in one template. */
export const MAX_TEMPLATE_MESSAGES = 16;
/** Largest message of a template, in characters (before rendering). */
export const MAX_TEMPLATE_MESSAGE_CHARS = 32_000;

/** A template's name. */
export const templateNameSchema = z
  .string()
  .regex(TEMPLATE_NAME_PATTERN, 'must be lower-case snake case (a-z, 0-9, _), starting with a letter, at most 64 characters');
/** A variable's name (same rule as template names). */
export const variableNameSchema = templateNameSchema;

/** The variables of one render (`variables` of `POST /gateway/chat`). */
export const templateVariablesSchema = z
  .record(variableNameSchema, z.union([z.string().max(MAX_VARIABLE_CHARS), z.number(), z.boolean()]))
  .refine((variables) => Object.keys(variables).length <= MAX_VARIABLES, `at most ${MAX_VARIABLES} variables`);
/** Variables of one render. */
export type TemplateVariables = z.infer<typeof templateVariablesSchema>;

const templateMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().min(1).max(MAX_TEMPLATE_MESSAGE_CHARS),
});

/**
 * A template as defined (a built-in file, or a tenant's stored template): its messages must parse and
 * every default must name a placeholder it uses.
 */
export const promptTemplateSchema = z
  .strictObject({
    name: templateNameSchema,
    description: z.string().max(500).default(''),
    messages: z.array(templateMessageSchema).min(1).max(MAX_TEMPLATE_MESSAGES),
    /** Values of optional variables; a placeholder with no default is required. */
    defaults: z.record(variableNameSchema, z.string().max(MAX_VARIABLE_CHARS)).default({}),
  })
  .superRefine((template, ctx) => {
    const used = new Set<string>();
    template.messages.forEach((message, index) => {
      try {
        for (const segment of parseTemplateText(message.content)) if (typeof segment !== 'string') used.add(segment.variable);
      } catch (error) {
        if (!(error instanceof TemplateSyntaxError)) throw error;
        ctx.addIssue({ code: 'custom', path: ['messages', index, 'content'], message: error.detail });
      }
    });
    for (const name of Object.keys(template.defaults)) {
      if (!used.has(name))
        ctx.addIssue({ code: 'custom', path: ['defaults', name], message: `no placeholder {{${name}}} uses this default` });
    }
  });
/** A prompt template. */
export type PromptTemplate = z.input<typeof promptTemplateSchema>;

/** The built-in templates, by name. */
export const BUILT_IN_TEMPLATES: ReadonlyMap<string, PromptTemplate> = new Map(
  [baseSystemTemplate, developerModeTemplate, criticModeTemplate].map((template) => [template.name, template]),
);

/**
 * A tenant's templates: the one named `name`, or undefined when the tenant has none of that name (the
 * built-in, if any, is used then). Injected: the store comes with the gateway's routes.
 */
export type TemplateLookup = (name: string) => Promise<PromptTemplate | undefined>;

/**
 * A template could not be found or rendered. A {@link ValidationError} (400): each issue names the
 * field, `template` or `variables.<name>`, after the caller's path prefix.
 */
export class TemplateError extends ValidationError {}

/** A template text with a malformed placeholder; `detail` says where. */
class TemplateSyntaxError extends Error {
  readonly detail: string;
  constructor(detail: string) {
    super(detail);
    this.detail = detail;
  }
}

/** A parsed template text: literal text and placeholders, in order. */
type Segment = string | { variable: string };

const PLACEHOLDER = /\{\{\s*([a-z][a-z0-9_]{0,63})\s*\}\}/y;
const parsedTexts = new Map<string, Segment[]>();
/** Parsed texts are cached by content; the cache is bounded so tenants' texts cannot grow it forever. */
const MAX_PARSED_TEXTS = 512;

function parseTemplateText(text: string): Segment[] {
  const cached = parsedTexts.get(text);
  if (cached) return cached;
  const segments: Segment[] = [];
  let literal = '';
  let from = 0;
  for (let open = text.indexOf('{{'); open !== -1; open = text.indexOf('{{', from)) {
    if (open > 0 && text[open - 1] === '\\') {
      literal += `${text.slice(from, open - 1)}{{`;
      from = open + 2;
      continue;
    }
    PLACEHOLDER.lastIndex = open;
    const match = PLACEHOLDER.exec(text);
    if (!match) {
      const shown = text.slice(open, open + 24).replace(/\s+/g, ' ');
      throw new TemplateSyntaxError(
        `malformed placeholder at character ${open} ("${shown}"): write {{name}} with a lower-case snake-case name, or \\{{ for a literal {{`,
      );
    }
    literal += text.slice(from, open);
    if (literal) segments.push(literal);
    literal = '';
    segments.push({ variable: match[1] as string });
    from = PLACEHOLDER.lastIndex;
  }
  literal += text.slice(from);
  if (literal) segments.push(literal);
  if (parsedTexts.size >= MAX_PARSED_TEXTS) parsedTexts.clear();
  parsedTexts.set(text, segments);
  return segments;
}

/**
 * The variables a template uses, each with whether it is required (no default).
 *
 * @throws TemplateError when the template is malformed
 */
export function templateVariables(template: PromptTemplate): { name: string; required: boolean }[] {
  const defined = parseDefinition(template, '');
  const names = new Set<string>();
  for (const message of defined.messages)
    for (const segment of parseTemplateText(message.content)) if (typeof segment !== 'string') names.add(segment.variable);
  return [...names].map((name) => ({ name, required: !Object.hasOwn(defined.defaults, name) }));
}

function parseDefinition(template: PromptTemplate, prefix: string): z.infer<typeof promptTemplateSchema> {
  const parsed = promptTemplateSchema.safeParse(template);
  if (parsed.success) return parsed.data;
  throw new TemplateError(
    parsed.error.issues.map((issue) => ({
      path: joinPath(prefix, 'template'),
      message: `template "${String(template.name)}" is malformed at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    })),
  );
}

function joinPath(prefix: string, field: string): string {
  return prefix ? `${prefix}.${field}` : field;
}

/** Options of {@link renderTemplate}. */
export interface RenderOptions {
  /** Prefix of the field paths in errors (`body` in a route, so issues read `body.variables.tone`). */
  path?: string;
  /** `refuse` (default): a variable the template does not use is an error; `ignore`: it is dropped. */
  unusedVariables?: 'refuse' | 'ignore';
}

/** A rendered template. */
export interface RenderedTemplate {
  name: string;
  /** Where the template came from: the tenant's own, or the built-in. */
  source: 'tenant' | 'built-in';
  messages: ChatMessage[];
}

/**
 * Renders `template` with `variables` (see the module comment for the syntax).
 *
 * @throws TemplateError naming `variables.<name>` for each missing variable (and each unused one,
 *   unless `unusedVariables: 'ignore'`), or `template` when the template itself is malformed
 * @example
 * renderTemplate(BUILT_IN_TEMPLATES.get('developer_mode')!, { language: 'Go' }).messages[0].content;
 * // 'You are a senior software engineer pairing with a developer who writes Go. …'
 */
export function renderTemplate(
  template: PromptTemplate,
  variables: TemplateVariables = {},
  options: RenderOptions = {},
): Omit<RenderedTemplate, 'source'> {
  const prefix = options.path ?? '';
  const defined = parseDefinition(template, prefix);
  const issues: FieldIssue[] = [];
  const used = new Set<string>();
  const missing = new Set<string>();
  const messages = defined.messages.map((message) => {
    let content = '';
    for (const segment of parseTemplateText(message.content)) {
      if (typeof segment === 'string') {
        content += segment;
        continue;
      }
      used.add(segment.variable);
      const value = Object.hasOwn(variables, segment.variable) ? variables[segment.variable] : defined.defaults[segment.variable];
      if (value === undefined) missing.add(segment.variable);
      else content += String(value);
    }
    return { role: message.role, content };
  });
  for (const name of missing)
    issues.push({ path: joinPath(prefix, `variables.${name}`), message: `required by template "${defined.name}"` });
  if (options.unusedVariables !== 'ignore') {
    for (const name of Object.keys(variables)) {
      if (!used.has(name)) issues.push({ path: joinPath(prefix, `variables.${name}`), message: `not used by template "${defined.name}"` });
    }
  }
  if (issues.length > 0) throw new TemplateError(issues);
  return { name: defined.name, messages };
}

/**
 * Finds template `name`: the tenant's (through `lookup`) first, then the built-in.
 *
 * @throws TemplateError naming `template` when the name is invalid or neither has it
 */
export async function resolveTemplate(
  name: string,
  lookup: TemplateLookup | undefined,
  options: Pick<RenderOptions, 'path'> = {},
): Promise<{ template: PromptTemplate; source: RenderedTemplate['source'] }> {
  const path = joinPath(options.path ?? '', 'template');
  if (!TEMPLATE_NAME_PATTERN.test(name)) throw new TemplateError([{ path, message: `"${name.slice(0, 64)}" is not a template name` }]);
  const own = lookup ? await lookup(name) : undefined;
  if (own) return { template: own, source: 'tenant' };
  const builtIn = BUILT_IN_TEMPLATES.get(name);
  if (builtIn) return { template: builtIn, source: 'built-in' };
  throw new TemplateError([{ path, message: `unknown template "${name}"` }]);
}

/**
 * Resolves and renders template `name` (the tenant's, else the built-in).
 *
 * @throws TemplateError naming `template` (unknown, malformed) or `variables.<name>` (missing, unused)
 * @example
 * const { messages } = await renderNamedTemplate('critic_mode', { question, answer, other_answer }, tenantTemplates, { unusedVariables: 'ignore' });
 */
export async function renderNamedTemplate(
  name: string,
  variables: TemplateVariables,
  lookup: TemplateLookup | undefined,
  options: RenderOptions = {},
): Promise<RenderedTemplate> {
  const { template, source } = await resolveTemplate(name, lookup, options);
  return { ...renderTemplate(template, variables, options), source };
}

/**
 * The messages of a chat request with a template: the rendered template's messages, then the caller's.
 * Without a template, the caller's messages unchanged.
 *
 * @throws TemplateError as {@link renderNamedTemplate}
 */
export async function applyTemplate(
  request: { messages: ChatMessage[]; template?: string; variables?: TemplateVariables },
  lookup: TemplateLookup | undefined,
  options: RenderOptions = {},
): Promise<{ messages: ChatMessage[]; template?: { name: string; source: RenderedTemplate['source'] } }> {
  if (request.template === undefined) {
    if (request.variables && Object.keys(request.variables).length > 0 && options.unusedVariables !== 'ignore') {
      throw new TemplateError([{ path: joinPath(options.path ?? '', 'variables'), message: 'variables given without a template' }]);
    }
    return { messages: request.messages };
  }
  const rendered = await renderNamedTemplate(request.template, request.variables ?? {}, lookup, options);
  return { messages: [...rendered.messages, ...request.messages], template: { name: rendered.name, source: rendered.source } };
}
