/**
 * A tenant's own prompt templates (`PUT`, `GET` and `DELETE /gateway/templates`): checked when they are
 * defined (lib/gateway/templates.ts: a malformed placeholder, a default no placeholder uses, too many
 * variables or characters is a 400 naming the field, and nothing is stored), versioned, and each change
 * saved with its `gateway.template.changed` event in one conditional write (an outbox), then recorded in
 * the tenant's ledger (stream `events.gateway`: the template's SHA-256, not its text) and published.
 * Chat finds them through {@link tenantTemplateLookup}: a tenant's template overrides the built-in of
 * the same name, and deleting it brings the built-in back.
 *
 * Versions: each tenant has one template revision, raised by every change to any of its templates, and
 * a template's version is the revision that wrote it. Versions therefore only grow, across names and
 * across a deletion and a new definition (a name defined again never reuses a version), and the
 * tenant's changes are totally ordered. The same write keeps the tenant's template count, so the cap
 * ({@link MAX_TENANT_TEMPLATES}) holds under concurrent definitions.
 *
 * Plain data over injected ports; the DynamoDB store is lib/adapters/aws/gateway-store.ts
 * `dynamoTemplateStore`, the in-memory one lib/gateway/memory-store.ts.
 */
import { canonicalHash } from '../audit/digest.ts';
import { ConflictError, type FieldIssue, NotFoundError, ValidationError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import type { OutboxEntry, OutboxPort } from '../governance/proposals.ts';
import {
  MAX_TENANT_TEMPLATE_CHARS,
  MAX_TENANT_TEMPLATES,
  type PutTemplateInput,
  type putTemplateResultSchema,
  type TemplateView,
} from './schemas.ts';
import {
  BUILT_IN_TEMPLATES,
  MAX_VARIABLES,
  type PromptTemplate,
  promptTemplateSchema,
  type TemplateLookup,
  templateVariables,
} from './templates.ts';

/** A template as defined and stored: defaults filled in. */
export type DefinedTemplate = ReturnType<typeof promptTemplateSchema.parse>;

/** A variable a template uses. */
export interface TemplateVariable {
  name: string;
  required: boolean;
}

/** One of a tenant's templates as stored. */
export interface StoredTemplate {
  template: DefinedTemplate;
  /** The tenant's template revision that wrote it. */
  version: number;
  /** {@link templateHash} of `template`. */
  hash: string;
  variables: TemplateVariable[];
  updatedAt: string;
  updatedBy: string;
}

/** A stored template without its messages and defaults (what listing reads). */
export interface TemplateSummary extends Omit<StoredTemplate, 'template'> {
  name: string;
  description: string;
}

/** The tenant's template revision (0 before any change) and how many templates it holds. */
export interface TemplateRevision {
  revision: number;
  count: number;
}

/** One change, written with its events in one conditional write. */
export interface TemplateWrite {
  tenant: string;
  name: string;
  /** The tenant's revision read before the change; the write fails if it moved. */
  revision: number;
  /** The template's version read before the change (0: the tenant had none of that name); the write fails if it moved. */
  expectedVersion: number;
  /** The template to store at version `revision + 1`; absent: delete it. */
  next?: StoredTemplate;
  events: BusEvent[];
}

/** Why a {@link TemplateStore.write} was refused. */
export class TemplateWriteConflictError extends ConflictError {
  /** `revision`: the tenant's revision moved (another change) or its count is at the cap; `version`: the template moved. */
  readonly reason: 'revision' | 'version';
  constructor(reason: 'revision' | 'version', message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Where a tenant's templates live. */
export interface TemplateStore {
  /** The tenant's template `name`, or undefined. @throws ConflictError when the stored item is not a valid template. */
  get(tenant: string, name: string): Promise<StoredTemplate | undefined>;
  /** Every template of the tenant, without messages and defaults, by name. */
  list(tenant: string): Promise<TemplateSummary[]>;
  revision(tenant: string): Promise<TemplateRevision>;
  /**
   * Writes the change: the revision moves to `revision + 1` (the count up by one for a new name, refused
   * at `maxTemplates`; down by one for a deletion), the template is stored or deleted, the events saved
   * to the outbox, all or nothing.
   * @throws TemplateWriteConflictError when the revision or the template moved, or the count is at `maxTemplates`.
   */
  write(change: TemplateWrite, maxTemplates: number): Promise<OutboxEntry[]>;
}

/** What changing templates needs. */
export interface TemplateDeps {
  store: TemplateStore;
  /** Records the change's event in the ledger and publishes it (the stage outbox). */
  outbox: OutboxPort;
  now: Date;
}

/** Attempts of a change whose revision moved under it (concurrent changes of the same tenant's templates). */
const WRITE_ATTEMPTS = 5;
const FIELD = 'body.parameters';

/**
 * SHA-256 (hex) of the RFC 8785 canonical JSON of a defined template (name, description, messages,
 * defaults): what the ledger keeps of it.
 * @example templateHash(promptTemplateSchema.parse(BUILT_IN_TEMPLATES.get('base_system'))) // 64 hex characters
 */
export function templateHash(template: DefinedTemplate): string {
  return canonicalHash({
    name: template.name,
    description: template.description,
    messages: template.messages.map((message) => ({ role: message.role, content: message.content })),
    defaults: template.defaults,
  });
}

/**
 * The template a definition describes, with its variables, checked as lib/gateway/templates.ts renders
 * it: placeholders well formed, every default used, at most {@link MAX_VARIABLES} variables (a render
 * takes no more) and {@link MAX_TENANT_TEMPLATE_CHARS} characters.
 * @throws ValidationError naming each faulty field (`body.parameters.messages.0.content`, `body.parameters.defaults.tone`, …).
 */
export function checkTemplateDefinition(input: Omit<PutTemplateInput, 'ifVersion'>): {
  template: DefinedTemplate;
  variables: TemplateVariable[];
} {
  const parsed = promptTemplateSchema.safeParse({
    name: input.name,
    description: input.description,
    messages: input.messages,
    defaults: input.defaults,
  });
  if (!parsed.success)
    throw new ValidationError(
      parsed.error.issues.map((issue) => ({ path: [FIELD, ...issue.path.map(String)].join('.'), message: issue.message })),
    );
  const template = parsed.data;
  const issues: FieldIssue[] = [];
  const chars =
    template.description.length +
    template.messages.reduce((sum, message) => sum + message.content.length, 0) +
    Object.values(template.defaults).reduce((sum, value) => sum + value.length, 0);
  if (chars > MAX_TENANT_TEMPLATE_CHARS)
    issues.push({
      path: `${FIELD}.messages`,
      message: `the template holds ${chars} characters (messages, defaults and description); at most ${MAX_TENANT_TEMPLATE_CHARS}`,
    });
  const variables = templateVariables(template);
  if (variables.length > MAX_VARIABLES)
    issues.push({
      path: `${FIELD}.messages`,
      message: `the template uses ${variables.length} variables; a render takes at most ${MAX_VARIABLES}`,
    });
  if (issues.length > 0) throw new ValidationError(issues);
  return { template, variables };
}

/** The change a write makes, as its event. */
function changedEvent(
  tenant: string,
  change: 'defined' | 'replaced' | 'deleted',
  name: string,
  version: number,
  previous: StoredTemplate | undefined,
  hash: string | null,
  actor: string,
  at: string,
): BusEvent {
  return busEvent('gateway.template.changed', {
    tenant,
    name,
    change,
    templateVersion: version,
    previousTemplateVersion: previous?.version ?? 0,
    hash,
    previousHash: previous?.hash ?? null,
    builtIn: BUILT_IN_TEMPLATES.has(name),
    actor,
    changedAt: at,
  });
}

/**
 * One change under optimistic concurrency: read the revision and the template, build the write, retry
 * when another change of the tenant's templates moved the revision meanwhile.
 */
async function writeChange(
  tenant: string,
  name: string,
  ifVersion: number | undefined,
  build: (current: StoredTemplate | undefined, version: number) => { next?: StoredTemplate; events: BusEvent[] },
  deps: TemplateDeps,
): Promise<{ version: number; previous: StoredTemplate | undefined }> {
  for (let attempt = 1; ; attempt += 1) {
    const [{ revision, count }, current] = await Promise.all([deps.store.revision(tenant), deps.store.get(tenant, name)]);
    const currentVersion = current?.version ?? 0;
    if (ifVersion !== undefined && ifVersion !== currentVersion)
      throw new ConflictError(
        `Template ${name} is at version ${currentVersion}${currentVersion === 0 ? ' (the tenant has none of that name)' : ''}, not ${ifVersion}; read it (GET /gateway/templates?name=${name}) and retry`,
      );
    const version = revision + 1;
    const { next, events } = build(current, version);
    if (next && !current && count >= MAX_TENANT_TEMPLATES)
      throw new ConflictError(`The tenant holds ${count} templates, the most it may; delete one first (DELETE /gateway/templates?name=)`);
    try {
      const entries = await deps.store.write(
        { tenant, name, revision, expectedVersion: currentVersion, ...(next ? { next } : {}), events },
        MAX_TENANT_TEMPLATES,
      );
      for (const entry of entries) await deps.outbox.record(entry);
      await deps.outbox.deliver(entries);
      return { version, previous: current };
    } catch (error) {
      if (!(error instanceof TemplateWriteConflictError) || attempt >= WRITE_ATTEMPTS) throw error;
    }
  }
}

/** The reply to a definition. */
export type DefineTemplateOutcome = ReturnType<typeof putTemplateResultSchema.parse>;

/**
 * Defines or replaces the tenant's template `input.name` (checked first: nothing is stored when it is
 * malformed), at the tenant's next revision, with its `gateway.template.changed` event.
 *
 * @throws ValidationError (400) naming each faulty field; ConflictError (409) when `ifVersion` does not
 *   match, or the tenant holds {@link MAX_TENANT_TEMPLATES} templates and the name is new.
 * @example
 * await defineTenantTemplate('acme', { name: 'incident_review', description: '', messages: [{ role: 'system', content: 'Review {{service}}.' }], defaults: {} }, 'alice', deps);
 */
export async function defineTenantTemplate(
  tenant: string,
  input: PutTemplateInput,
  actor: string,
  deps: TemplateDeps,
): Promise<DefineTemplateOutcome> {
  const { template, variables } = checkTemplateDefinition(input);
  const hash = templateHash(template);
  const at = deps.now.toISOString();
  const { version, previous } = await writeChange(
    tenant,
    template.name,
    input.ifVersion,
    (current, next) => ({
      next: { template, version: next, hash, variables, updatedAt: at, updatedBy: actor },
      events: [changedEvent(tenant, current ? 'replaced' : 'defined', template.name, next, current, hash, actor, at)],
    }),
    deps,
  );
  return {
    name: template.name,
    change: previous ? 'replaced' : 'defined',
    version,
    previousVersion: previous?.version ?? 0,
    hash,
    builtIn: BUILT_IN_TEMPLATES.has(template.name),
    variables,
  };
}

/**
 * Deletes the tenant's template `name` (a built-in of the name applies again), with its event.
 * @throws NotFoundError when the tenant has no template of that name (built-ins cannot be deleted);
 *   ConflictError when `ifVersion` does not match.
 */
export async function deleteTenantTemplate(
  tenant: string,
  name: string,
  actor: string,
  deps: TemplateDeps,
  ifVersion?: number,
): Promise<{ name: string; deleted: true; version: number; previousVersion: number; builtIn: boolean }> {
  const at = deps.now.toISOString();
  const { version, previous } = await writeChange(
    tenant,
    name,
    ifVersion,
    (current, next) => {
      if (!current)
        throw new NotFoundError(
          `The tenant has no template ${name}${BUILT_IN_TEMPLATES.has(name) ? ' (built-in templates cannot be deleted; define one of the same name to override it)' : ''}`,
        );
      return { events: [changedEvent(tenant, 'deleted', name, next, current, null, actor, at)] };
    },
    deps,
  );
  return { name, deleted: true, version, previousVersion: previous?.version ?? 0, builtIn: BUILT_IN_TEMPLATES.has(name) };
}

const builtInViews: ReadonlyMap<string, TemplateView & { messages: DefinedTemplate['messages']; defaults: DefinedTemplate['defaults'] }> =
  new Map(
    [...BUILT_IN_TEMPLATES.values()].map((raw) => {
      const template = promptTemplateSchema.parse(raw);
      return [
        template.name,
        {
          name: template.name,
          source: 'built-in' as const,
          description: template.description.slice(0, 500),
          version: 0,
          hash: templateHash(template),
          variables: templateVariables(template),
          inForce: true,
          messages: template.messages,
          defaults: template.defaults,
        },
      ];
    }),
  );

/** A stored template as viewed; with its messages and defaults when `full`. */
function tenantView(name: string, stored: TemplateSummary | StoredTemplate, full: boolean): TemplateView {
  const template = 'template' in stored ? stored.template : undefined;
  return {
    name,
    source: 'tenant',
    description: template?.description ?? ('description' in stored ? stored.description : ''),
    version: stored.version,
    hash: stored.hash,
    variables: stored.variables,
    inForce: true,
    updatedAt: stored.updatedAt,
    updatedBy: stored.updatedBy,
    ...(full && template ? { messages: template.messages, defaults: template.defaults } : {}),
  };
}

/**
 * Every template the tenant can use, built-ins first, then its own, each by name, without messages: a
 * built-in the tenant overrides is listed with `inForce: false`.
 */
export async function listTemplates(tenant: string, store: Pick<TemplateStore, 'list'>): Promise<TemplateView[]> {
  const own = await store.list(tenant);
  const overridden = new Set(own.map((each) => each.name));
  const builtIns = [...builtInViews.values()]
    .map(({ messages: _messages, defaults: _defaults, ...view }) => ({ ...view, inForce: !overridden.has(view.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const tenants = own.map((each) => tenantView(each.name, each, false)).sort((a, b) => a.name.localeCompare(b.name));
  return [...builtIns, ...tenants];
}

/**
 * Template `name` with its messages and defaults: the tenant's or the built-in (`source`), by default
 * the one chat uses (the tenant's when it has one).
 * @throws NotFoundError when there is none.
 */
export async function readTemplate(
  tenant: string,
  name: string,
  source: 'tenant' | 'built-in' | undefined,
  store: Pick<TemplateStore, 'get'>,
): Promise<TemplateView> {
  const own = source === 'built-in' ? undefined : await store.get(tenant, name);
  if (own) return tenantView(name, own, true);
  const builtIn = source === 'tenant' ? undefined : builtInViews.get(name);
  if (builtIn) {
    const overridden = source === 'built-in' && (await store.get(tenant, name)) !== undefined;
    return { ...builtIn, inForce: !overridden };
  }
  throw new NotFoundError(`No ${source === undefined ? '' : `${source} `}template ${name}`);
}

/**
 * The {@link TemplateLookup} chat uses for `tenant`: its stored template of the name, else undefined
 * (lib/gateway/templates.ts `resolveTemplate` then takes the built-in).
 * @example deps.templates = (tenant) => tenantTemplateLookup(store, tenant);
 */
export function tenantTemplateLookup(store: Pick<TemplateStore, 'get'>, tenant: string): TemplateLookup {
  return async (name: string): Promise<PromptTemplate | undefined> => (await store.get(tenant, name))?.template;
}
