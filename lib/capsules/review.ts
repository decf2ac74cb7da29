/**
 * The automated review of a submitted capsule bundle. Pure: the bytes, the signature, the author
 * and the catalogs it is checked against come in; a verdict goes out. Checks, in order, each
 * stopping the review at its first failure (the later ones are reported `skipped`):
 *
 * 1. `size` — at most {@link MAX_BUNDLE_BYTES} bytes (413).
 * 2. `signature` — present, by an active registered key of the submitting author, over these exact
 *    bytes: a bundle changed after signing and a wrong signature are told apart (400).
 * 3. `bundle` — UTF-8 canonical JSON with the format tag and well-formed file paths (400).
 * 4. `manifest` — the manifest's schema (each field named, 400), its templates' syntax, its
 *    guardrails (Cedar that compiles against the stage's schema, and only `forbid`s on the capsule's
 *    own principal), its input schema and its code tools' schemas (JSON Schema 2020-12 that ajv
 *    compiles strictly), its code tools' source files, tools that exist, models the stage has.
 * 5. `rights` — every tool it requests is one the author's roles may call (the permission of the
 *    tool's route), and gateway calls need `gateway:write` (403).
 * 6. `version` — the name is new or the submitting tenant's, and the version is not taken (409).
 *
 * A refusal names the check, the status and the exact reason with its field paths: the caller
 * stores nothing, publishes nothing, and records the refusal.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ReviewCheck } from '../../events/capsules.ts';
import { reviewCheckNames } from '../../events/capsules.ts';
import { type Permission, type Role, rolesAllow } from '../auth/roles.ts';
import type { FieldIssue } from '../errors.ts';
import { CEDAR_NAMESPACE, type CedarSchema } from '../governance/cedar-schema.ts';
import { validatePolicies } from '../governance/policy.ts';
import {
  BUNDLE_FIELD,
  BundleRefusedError,
  checkSignature,
  decodeBundle,
  parseManifest,
  type SigningKey,
  sha256Of,
  type VerifiedCapsule,
  verifyBundle,
} from './bundle.ts';
import { type BundleSignature, type CapsuleManifest, MAX_BUNDLE_BYTES, type VersionStatus } from './schemas.ts';

/** A check of the review (events/capsules.ts). */
export type ReviewCheckName = (typeof reviewCheckNames)[number];

/** What one engine tool needs: the permission of its route. */
export interface CatalogTool {
  engine: string;
  permission: Permission | 'public';
}

/** The engine tools a capsule may request, by MCP tool name (lib/mcp/tools.ts `routeTools`). */
export type ToolCatalog = ReadonlyMap<string, CatalogTool>;

/** The engine whose tools a capsule never gets: capsules do not manage capsules. */
export const CAPSULES_ENGINE = 'capsules';

/** What the marketplace holds of a name: its owner, and each version's status. */
export interface NameRecord {
  ownerTenant: string;
  versions: ReadonlyMap<string, VersionStatus>;
}

/** What a bundle is reviewed against. */
export interface ReviewContext {
  /** The submitting tenant and author (the verified caller), with the roles of their credentials. */
  tenant: string;
  author: string;
  roles: readonly Role[];
  /** The author's registered keys in the tenant (active and revoked). */
  keys: readonly (SigningKey & { status: 'active' | 'revoked' })[];
  tools: ToolCatalog;
  /** The stage's model names; undefined: not checked. */
  models?: readonly string[];
  /** The stage's Cedar schema (lib/governance/cedar-schema.ts). */
  cedarSchema: CedarSchema;
  /** The marketplace's record of a name; undefined when the name is new. */
  lookup: (name: string) => Promise<NameRecord | undefined>;
}

/** A passed review: the verified bundle and each check. */
export interface ReviewPassed {
  outcome: 'passed';
  bundle: VerifiedCapsule;
  checks: ReviewCheck[];
  /** A new name (the submitting tenant claims it), or one the tenant owns already. */
  newName: boolean;
}

/** A refused review: the failed check, its status and reason, and what was learnt before it. */
export interface ReviewRefused {
  outcome: 'refused';
  check: ReviewCheckName;
  status: 400 | 403 | 409 | 413;
  reason: string;
  issues: FieldIssue[];
  checks: ReviewCheck[];
  bundleSha256: string | null;
  name: string | null;
  version: string | null;
}

/** The verdict. */
export type ReviewOutcome = ReviewPassed | ReviewRefused;

const MANIFEST = `${BUNDLE_FIELD}.manifest`;
/** Reasons are cut to what an event holds. */
const MAX_REASON = 2000;

class CheckFailed extends Error {
  readonly check: ReviewCheckName;
  readonly status: ReviewRefused['status'];
  readonly issues: FieldIssue[];
  constructor(check: ReviewCheckName, status: ReviewRefused['status'], issues: FieldIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
    this.check = check;
    this.status = status;
    this.issues = issues;
  }
}

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
let ajv: Ajv2020 | undefined;

/** A strict 2020-12 compiler (unknown keywords and formats are errors); schemas are compiled, never cached (each is the author's). */
function schemaCompiler(): Ajv2020 {
  if (!ajv) {
    ajv = new Ajv2020({ strict: true, allErrors: false, validateSchema: true, addUsedSchema: false });
    addFormats(ajv);
  }
  return ajv;
}

/**
 * Why a JSON Schema does not compile as a capsule's input (an object schema, 2020-12, strict, no
 * reference outside itself), or undefined when it does.
 */
export function inputSchemaProblem(schema: Record<string, unknown>): string | undefined {
  const dialect = schema.$schema;
  if (dialect !== undefined && dialect !== 'https://json-schema.org/draft/2020-12/schema')
    return `$schema must be https://json-schema.org/draft/2020-12/schema (or absent), not ${JSON.stringify(dialect).slice(0, 100)}`;
  if (schema.type !== 'object') return 'the root must be an object schema ("type": "object"): a run takes named inputs';
  const external = JSON.stringify(schema).match(/"\$(?:ref|dynamicRef)":"(?!#)[^"]*"/);
  if (external) return `references outside the schema are not allowed (${external[0].slice(0, 100)})`;
  try {
    schemaCompiler().compile(schema);
    return undefined;
  } catch (error) {
    return `does not compile as JSON Schema 2020-12: ${(error as Error).message.slice(0, 500)}`;
  }
}

/** Why a guardrail policy may not be installed, or undefined: it must be a `forbid` on the capsule's own principal. */
function guardrailProblem(json: cedar.PolicyJson, capsule: string): string | undefined {
  if (json.effect !== 'forbid') return 'is a permit: guardrails only narrow (forbid) what the capsule may do';
  const principal = json.principal as { op: string; entity?: { type?: string; id?: string } };
  const own = principal.op === '==' && principal.entity?.type === `${CEDAR_NAMESPACE}::Capsule` && principal.entity.id === capsule;
  if (!own) return `must name the capsule itself: forbid (principal == ${CEDAR_NAMESPACE}::Capsule::"${capsule}", …)`;
  return undefined;
}

/** The manifest's guardrails, checked: Cedar that validates strictly against `schema`, every policy a forbid on the capsule. */
function guardrailIssues(manifest: CapsuleManifest, schema: CedarSchema): FieldIssue[] {
  const text = manifest.guardrails?.policies;
  if (text === undefined) return [];
  const path = `${MANIFEST}.guardrails.policies`;
  const validation = validatePolicies({ capsules: { [manifest.name]: text } }, schema);
  if (!validation.ok) return validation.errors.map((error) => ({ path, message: error.message }));
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') return [{ path, message: parts.errors.map((error) => error.message).join('; ') }];
  return parts.policies.flatMap((policy, index) => {
    const json = cedar.policyToJson(policy);
    if (json.type === 'failure') return [{ path, message: `policy ${index}: ${json.errors.map((error) => error.message).join('; ')}` }];
    const problem = guardrailProblem(json.json, manifest.name);
    return problem ? [{ path, message: `policy ${index} ${problem}` }] : [];
  });
}

/** Everything of a valid manifest that needs another catalog: guardrails, schemas, code files, tools, models. */
function manifestIssues(manifest: CapsuleManifest, files: Readonly<Record<string, string>>, context: ReviewContext): FieldIssue[] {
  const issues: FieldIssue[] = guardrailIssues(manifest, context.cedarSchema);
  const input = inputSchemaProblem(manifest.inputSchema);
  if (input) issues.push({ path: `${MANIFEST}.inputSchema`, message: input });
  if (manifest.code && !Object.hasOwn(files, manifest.code.module))
    issues.push({ path: `${MANIFEST}.code.module`, message: `no file ${manifest.code.module} in the bundle` });
  manifest.code?.tools.forEach((tool, index) => {
    const at = `${MANIFEST}.code.tools.${index}`;
    const problem = inputSchemaProblem(tool.inputSchema);
    if (problem) issues.push({ path: `${at}.inputSchema`, message: problem });
    if (context.tools.has(tool.name)) issues.push({ path: `${at}.name`, message: `${tool.name} is an engine tool's name` });
  });
  manifest.tools.forEach((name, index) => {
    const tool = context.tools.get(name);
    if (!tool)
      issues.push({
        path: `${MANIFEST}.tools.${index}`,
        message: `no engine tool is named ${name} (GET /openapi.json; tools are named <path>_<get|create|update|delete>)`,
      });
    else if (tool.engine === CAPSULES_ENGINE)
      issues.push({ path: `${MANIFEST}.tools.${index}`, message: `${name}: a capsule may not use the capsules engine's tools` });
  });
  if (context.models)
    manifest.gateway?.models.forEach((model, index) => {
      if (!context.models?.includes(model))
        issues.push({ path: `${MANIFEST}.gateway.models.${index}`, message: `the stage has no model ${model} (GET /gateway/models)` });
    });
  return issues;
}

/** The permission gateway calls need (POST /gateway/chat). */
const GATEWAY_PERMISSION: Permission = 'gateway:write';

/** The tools (and gateway calls) beyond what `roles` may call. */
function rightsIssues(manifest: CapsuleManifest, context: ReviewContext): FieldIssue[] {
  const roles = `[${context.roles.join(', ')}]`;
  const issues: FieldIssue[] = [];
  manifest.tools.forEach((name, index) => {
    const permission = context.tools.get(name)?.permission;
    if (permission !== undefined && permission !== 'public' && !rolesAllow(context.roles, permission))
      issues.push({ path: `${MANIFEST}.tools.${index}`, message: `${name} needs ${permission}, beyond the author's roles ${roles}` });
  });
  if (manifest.gateway && !rolesAllow(context.roles, GATEWAY_PERMISSION))
    issues.push({ path: `${MANIFEST}.gateway`, message: `gateway calls need ${GATEWAY_PERMISSION}, beyond the author's roles ${roles}` });
  return issues;
}

/**
 * Reviews a submitted bundle (see the module comment for the checks).
 * @example
 * const verdict = await reviewBundle(bytes, signature, { tenant, author, roles, keys, tools, models, cedarSchema, lookup });
 * if (verdict.outcome === 'refused') throw …; // nothing stored
 */
export async function reviewBundle(
  bytes: Uint8Array,
  signature: BundleSignature | undefined,
  context: ReviewContext,
): Promise<ReviewOutcome> {
  const checks: ReviewCheck[] = [];
  const pass = (check: ReviewCheckName, detail: string) => checks.push({ check, outcome: 'passed', detail: detail.slice(0, MAX_REASON) });
  let bundleSha256: string | null = null;
  let manifest: CapsuleManifest | undefined;
  let newName = true;
  try {
    if (bytes.length > MAX_BUNDLE_BYTES)
      throw new CheckFailed('size', 413, [
        { path: BUNDLE_FIELD, message: `oversize bundle: ${bytes.length} bytes; at most ${MAX_BUNDLE_BYTES}` },
      ]);
    pass('size', `${bytes.length} bytes, at most ${MAX_BUNDLE_BYTES}`);
    bundleSha256 = sha256Of(bytes);

    const candidates = context.keys.filter((key) => key.status === 'active' && key.author === context.author);
    const key = checkSignature(
      bytes,
      signature,
      candidates.find((candidate) => candidate.keyId === signature?.keyId),
    );
    pass('signature', `Ed25519 signature by key ${key.keyId.slice(0, 12)}… of ${key.author} verifies over the exact bytes`);

    const content = decodeBundle(bytes);
    pass('bundle', `canonical JSON, ${Object.keys(content.files).length} files`);

    manifest = parseManifest(content);
    const issues = manifestIssues(manifest, content.files, context);
    if (issues.length > 0) throw new CheckFailed('manifest', 400, issues);
    pass(
      'manifest',
      `valid: ${manifest.templates.length} templates, ${manifest.tools.length} tools, ${manifest.code?.tools.length ?? 0} code tools, guardrails ${manifest.guardrails ? 'compile' : 'none'}, input schema compiles`,
    );

    const beyond = rightsIssues(manifest, context);
    if (beyond.length > 0) throw new CheckFailed('rights', 403, beyond);
    pass(
      'rights',
      `${manifest.tools.length} tools${manifest.gateway ? ' and gateway calls' : ''} within the author's roles [${context.roles.join(', ')}]`,
    );

    const record = await context.lookup(manifest.name);
    if (record && record.ownerTenant !== context.tenant)
      throw new CheckFailed('version', 403, [
        { path: `${MANIFEST}.name`, message: `the capsule ${manifest.name} belongs to another tenant` },
      ]);
    const taken = record?.versions.get(manifest.version);
    if (taken !== undefined && taken !== 'rejected')
      throw new CheckFailed('version', 409, [
        {
          path: `${MANIFEST}.version`,
          message: `version already exists: ${manifest.name} ${manifest.version} is ${taken}; versions are immutable, submit a new one`,
        },
      ]);
    newName = record === undefined;
    pass('version', `${manifest.name} ${manifest.version} is ${taken === 'rejected' ? 'resubmitted after a rejection' : 'new'}`);
    // The brand comes from the one verifier (it checks the signature again: a few tens of microseconds).
    return { outcome: 'passed', bundle: verifyBundle(bytes, signature, key), checks, newName };
  } catch (error) {
    const failed =
      error instanceof CheckFailed
        ? error
        : error instanceof BundleRefusedError
          ? new CheckFailed(error.check, error.status, error.issues)
          : undefined;
    if (!failed) throw error;
    const reason = failed.message.slice(0, MAX_REASON);
    checks.push({ check: failed.check, outcome: 'failed', detail: reason });
    for (const check of reviewCheckNames.slice(checks.length))
      checks.push({ check, outcome: 'skipped', detail: `after the ${failed.check} check failed` });
    return {
      outcome: 'refused',
      check: failed.check,
      status: failed.status,
      reason,
      issues: failed.issues,
      checks,
      bundleSha256,
      name: manifest?.name ?? null,
      version: manifest?.version ?? null,
    };
  }
}

/**
 * The tool catalog of route tools (lib/mcp/tools.ts `routeTools`): each tool's engine and permission by name.
 * @example const tools = toolCatalog(routeTools(engines));
 */
export function toolCatalog(tools: readonly { name: string; route: { engine: string; permission: Permission | 'public' } }[]): ToolCatalog {
  return new Map(tools.map((tool) => [tool.name, { engine: tool.route.engine, permission: tool.route.permission }]));
}
