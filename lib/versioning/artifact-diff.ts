/**
 * What changed between two versions of an artifact, and the bump it calls for.
 *
 * - `schema`: the JSON Schema diff (schema-diff.ts).
 * - `prompt-template`: the gateway's templates (lib/gateway/templates.ts) compared by what a caller
 *   passes: a new required variable breaks callers (the render fails naming it), and so does a removed
 *   one (the gateway refuses variables a template does not use); a variable made optional, an
 *   optional one added, a message added or removed are additive; changed text is a patch.
 * - `configuration`: objects compared key by key (recursively; arrays and scalars as values): a key
 *   removed or a value's JSON type changed breaks readers; a key added is additive; a value changed
 *   within its type is a patch.
 * - `capsule`: a capsule manifest compared as a configuration, except that every `inputSchema` /
 *   `outputSchema` found on both sides is compared with the schema diff (its paths prefixed).
 *
 * Bump: any breaking change → major; any change other than a patch-level one (annotations, a value
 * or text changed) → minor; otherwise patch. Pure.
 */
import { type PromptTemplate, promptTemplateSchema, templateVariables } from '../gateway/templates.ts';
import { type Bump, diffSchemas, SchemaDiffError } from './schema-diff.ts';
import type { ArtifactKind, VersionChange } from './schemas.ts';

/** Change kinds that only call for a patch. */
const PATCH_KINDS: ReadonlySet<string> = new Set(['annotation-changed', 'value-changed', 'text-changed']);
const SCHEMA_KEYS = new Set(['inputSchema', 'outputSchema']);

/** Thrown when an artifact's body is not what its kind needs (a template that does not parse, a schema that is not one). */
export class ArtifactBodyError extends Error {
  override readonly name = 'ArtifactBodyError';
}

/** The result of {@link diffArtifact}. */
export interface ArtifactDiff {
  bump: Bump;
  breaking: boolean;
  changes: VersionChange[];
}

/**
 * The bump `changes` call for: breaking → major; anything but patch-level kinds → minor; else patch.
 * @example artifactBump([{ path: '/a', kind: 'value-changed', breaking: false }]) // { bump: 'patch', breaking: false }
 */
export function artifactBump(changes: readonly Pick<VersionChange, 'kind' | 'breaking'>[]): { bump: Bump; breaking: boolean } {
  if (changes.some((c) => c.breaking)) return { bump: 'major', breaking: true };
  if (changes.some((c) => !PATCH_KINDS.has(c.kind))) return { bump: 'minor', breaking: false };
  return { bump: 'patch', breaking: false };
}

/**
 * Checks that a body is what its kind needs; returns the parsed template for templates.
 * @throws ArtifactBodyError naming the problem.
 */
export function checkBody(kind: ArtifactKind, body: unknown): void {
  if (kind === 'schema') {
    if (typeof body !== 'boolean' && (typeof body !== 'object' || body === null || Array.isArray(body)))
      throw new ArtifactBodyError('a schema artifact is a JSON Schema (an object or a boolean)');
    return;
  }
  if (kind === 'prompt-template') {
    parseTemplate(body);
    return;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ArtifactBodyError(`a ${kind} artifact is a JSON object`);
}

function parseTemplate(body: unknown): PromptTemplate {
  const parsed = promptTemplateSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ArtifactBodyError(`not a prompt template: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data;
}

/**
 * Compares two versions of an artifact of `kind`.
 * @throws ArtifactBodyError when a body is not what its kind needs or a schema cannot be compared.
 * @example diffArtifact('configuration', { ttl: 60 }, { ttl: 90, region: 'eu' }).bump // 'minor'
 */
export function diffArtifact(kind: ArtifactKind, oldBody: unknown, newBody: unknown): ArtifactDiff {
  checkBody(kind, newBody);
  let changes: VersionChange[];
  try {
    if (kind === 'schema')
      changes = diffSchemas(oldBody, newBody).changes.map(({ path, kind: k, breaking }) => ({ path, kind: k, breaking }));
    else if (kind === 'prompt-template') changes = diffTemplates(parseTemplate(oldBody), parseTemplate(newBody));
    else changes = diffStructure(oldBody, newBody, '', kind === 'capsule');
  } catch (error) {
    if (error instanceof SchemaDiffError) throw new ArtifactBodyError(error.message);
    throw error;
  }
  return { ...artifactBump(changes), changes };
}

function diffTemplates(o: PromptTemplate, n: PromptTemplate): VersionChange[] {
  const changes: VersionChange[] = [];
  const oldVars = new Map(templateVariables(o).map((v) => [v.name, v.required]));
  const newVars = new Map(templateVariables(n).map((v) => [v.name, v.required]));
  for (const [name, required] of newVars) {
    const at = `/variables/${name}`;
    const before = oldVars.get(name);
    if (before === undefined) changes.push({ path: at, kind: 'variable-added', breaking: required });
    else if (!before && required) changes.push({ path: at, kind: 'variable-now-required', breaking: true });
    else if (before && !required) changes.push({ path: at, kind: 'variable-now-optional', breaking: false });
  }
  for (const name of oldVars.keys()) {
    // The gateway refuses variables a template does not use, so callers still passing it now fail.
    if (!newVars.has(name)) changes.push({ path: `/variables/${name}`, kind: 'variable-removed', breaking: true });
  }
  const count = Math.max(o.messages.length, n.messages.length);
  for (let i = 0; i < count; i++) {
    const a = o.messages[i];
    const b = n.messages[i];
    if (!a) changes.push({ path: `/messages/${i}`, kind: 'message-added', breaking: false });
    else if (!b) changes.push({ path: `/messages/${i}`, kind: 'message-removed', breaking: false });
    else {
      if (a.role !== b.role) changes.push({ path: `/messages/${i}/role`, kind: 'role-changed', breaking: false });
      if (a.content !== b.content) changes.push({ path: `/messages/${i}/content`, kind: 'text-changed', breaking: false });
    }
  }
  if (o.description !== n.description) changes.push({ path: '/description', kind: 'annotation-changed', breaking: false });
  if (o.name !== n.name) changes.push({ path: '/name', kind: 'value-changed', breaking: false });
  const oldDefaults: Record<string, string> = o.defaults ?? {};
  for (const [name, value] of Object.entries(n.defaults ?? {})) {
    if (name in oldDefaults && oldDefaults[name] !== value)
      changes.push({ path: `/defaults/${name}`, kind: 'value-changed', breaking: false });
  }
  return changes;
}

function jsonType(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function pointerSegment(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function diffStructure(o: unknown, n: unknown, path: string, capsule: boolean): VersionChange[] {
  const ot = jsonType(o);
  const nt = jsonType(n);
  if (ot !== nt) return [{ path, kind: 'value-type-changed', breaking: true }];
  if (ot !== 'object') return JSON.stringify(o) === JSON.stringify(n) ? [] : [{ path, kind: 'value-changed', breaking: false }];
  const a = o as Record<string, unknown>;
  const b = n as Record<string, unknown>;
  const changes: VersionChange[] = [];
  for (const [key, value] of Object.entries(b)) {
    const at = `${path}/${pointerSegment(key)}`;
    if (!(key in a)) changes.push({ path: at, kind: 'key-added', breaking: false });
    else if (capsule && SCHEMA_KEYS.has(key) && jsonType(a[key]) === 'object' && jsonType(value) === 'object')
      changes.push(...diffSchemas(a[key], value).changes.map((c) => ({ path: at + c.path, kind: c.kind, breaking: c.breaking })));
    else changes.push(...diffStructure(a[key], value, at, capsule));
  }
  for (const key of Object.keys(a))
    if (!(key in b)) changes.push({ path: `${path}/${pointerSegment(key)}`, kind: 'key-removed', breaking: true });
  return changes;
}
