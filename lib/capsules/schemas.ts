/**
 * The shapes of the Capsules engine: a capsule's manifest (what one agent job is: its persona and
 * prompt templates, the engine tools and models it may use, its budget, its guardrails, its input
 * schema and optionally code for its own tools), the limits a bundle is held to, and the parameters
 * and results of the marketplace routes. Structure only: what needs another catalog (the route
 * registry, the stage's models, Cedar, a JSON Schema compiler, the author's keys) is checked by the
 * automated review (lib/capsules/review.ts).
 */
import semver from 'semver';
import { z } from 'zod';
import { reviewCheckSchema } from '../../events/capsules.ts';
import { sha256HexSchema } from '../../events/common.ts';
import { actorSchema, capsuleNameSchema, semverSchema, tenantSchema } from '../../events/ids.ts';
import { promptTemplateSchema } from '../gateway/templates.ts';
import { MAX_LAYER_LENGTH } from '../governance/profiles.ts';

/** The format tag every bundle carries (lib/capsules/bundle.ts). */
export const BUNDLE_FORMAT = 'autonomy-capsule/1';
/** Largest bundle, in bytes of its canonical JSON. */
export const MAX_BUNDLE_BYTES = 256 * 1024;
/** Most files a bundle carries besides its manifest. */
export const MAX_BUNDLE_FILES = 32;
/** Largest file of a bundle, in characters. */
export const MAX_FILE_CHARS = 128 * 1024;
/** Most engine tools one capsule may request. */
export const MAX_CAPSULE_TOOLS = 64;
/** Most prompt templates one capsule brings. */
export const MAX_CAPSULE_TEMPLATES = 16;
/** Most tools of its own one capsule's code defines. */
export const MAX_CODE_TOOLS = 16;
/** Largest input schema, in characters of its JSON. */
export const MAX_INPUT_SCHEMA_CHARS = 32 * 1024;

/** An MCP tool name (lib/mcp/tools.ts `TOOL_NAME_PATTERN`): `observation_ingest_create`. */
export const toolNameSchema = z
  .string()
  .max(64)
  .regex(/^[a-z0-9_]{1,64}$/, 'tool names are 1-64 of a-z, 0-9 and _ (the MCP tool names, e.g. observation_ingest_create)');

/** A file's path inside a bundle: relative, lower-case letters, digits and `. _ - /`, no `..`. */
export const bundlePathSchema = z
  .string()
  .max(128)
  .regex(/^[a-z0-9_][a-z0-9._-]*(?:\/[a-z0-9_][a-z0-9._-]*)*$/, 'a relative path of a-z, 0-9, . _ - and / (no leading /, no empty segment)')
  .refine((path) => !path.split('/').includes('..'), 'no .. segment');

/**
 * What a capsule's own code may be granted in the sandbox (the sandbox's vocabulary,
 * lib/capsules/sandbox/schemas.ts): `read:inputs` (the run's input), `clock` (the host's time;
 * without it time is frozen), `random` (a seeded PRNG), `call:tool:<name>` (one of the engine tools
 * the manifest requests, through the MCP path). Nothing grants the network or a filesystem.
 */
export const capabilitySchema = z
  .string()
  .max(80)
  .regex(/^(read:inputs|clock|random|call:tool:[a-z0-9_]{1,64})$/, 'capabilities are read:inputs, clock, random or call:tool:<tool name>');

/** A JSON Schema (2020-12) as an object; the review compiles it. */
const jsonSchemaObject = z
  .record(z.string().max(128), z.unknown())
  .refine((schema) => JSON.stringify(schema).length <= MAX_INPUT_SCHEMA_CHARS, `at most ${MAX_INPUT_SCHEMA_CHARS} characters of JSON`);

/** One tool a capsule's code defines: a function its module exports. */
export const codeToolSchema = z.strictObject({
  name: toolNameSchema,
  description: z.string().min(1).max(2000),
  /** The function the module exports for this tool. */
  entry: z
    .string()
    .max(64)
    .regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, 'a JavaScript identifier'),
  inputSchema: jsonSchemaObject,
});
/** A tool of a capsule's own code. */
export type CodeTool = z.infer<typeof codeToolSchema>;

/** A capsule's own code: one ES module of the bundle, the capabilities it is granted, the tools it exports. */
export const capsuleCodeSchema = z.strictObject({
  /** The bundle file holding the module (JavaScript, run in the sandbox). */
  module: bundlePathSchema,
  capabilities: z.array(capabilitySchema).max(64).default([]),
  tools: z.array(codeToolSchema).min(1).max(MAX_CODE_TOOLS),
});

/** A model name as the gateway knows it (lib/gateway/models.ts). */
const modelNameSchema = z
  .string()
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a model name of the stage (GET /gateway/models)');

function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>();
  return [...new Set(values.filter((value) => seen.size === seen.add(value).size))];
}

/**
 * A capsule's manifest: one agent job, versioned. `persona.instructions` and each template's
 * messages use the gateway's template syntax (lib/gateway/templates.ts); `tools` are engine actions
 * by their MCP tool names; `guardrails.policies` is Cedar text whose every policy is a `forbid` on
 * the capsule's own principal (`principal == Autonomy::Capsule::"<name>"`); `inputSchema` is JSON
 * Schema 2020-12; `code` is one module of the bundle with the capabilities it is granted and the
 * tools (exported functions) it defines.
 */
export const capsuleManifestSchema = z
  .strictObject({
    name: capsuleNameSchema,
    version: semverSchema.refine((version) => semver.valid(version) === version, 'must be a semantic version (SemVer 2.0.0)'),
    description: z.string().min(1).max(2000),
    persona: z.strictObject({
      role: z.string().min(1).max(200),
      /** The system instructions, in template syntax: `{{variables}}` come from the run's input. */
      instructions: z.string().min(1).max(32_000),
    }),
    templates: z.array(promptTemplateSchema).max(MAX_CAPSULE_TEMPLATES).default([]),
    tools: z.array(toolNameSchema).max(MAX_CAPSULE_TOOLS).default([]),
    gateway: z.strictObject({ models: z.array(modelNameSchema).min(1).max(16) }).optional(),
    /** The most one run may spend: input plus output tokens, and USD. */
    budget: z.strictObject({
      tokens: z.number().int().min(1).max(100_000_000),
      costUsd: z.number().min(0).max(10_000),
    }),
    guardrails: z.strictObject({ policies: z.string().min(1).max(MAX_LAYER_LENGTH) }).optional(),
    inputSchema: jsonSchemaObject,
    code: capsuleCodeSchema.optional(),
  })
  .superRefine((manifest, ctx) => {
    const persona = promptTemplateSchema.safeParse({
      name: 'persona',
      messages: [{ role: 'system', content: manifest.persona.instructions }],
    });
    if (!persona.success)
      for (const issue of persona.error.issues) ctx.addIssue({ code: 'custom', path: ['persona', 'instructions'], message: issue.message });
    for (const name of duplicates(manifest.templates.map((template) => template.name)))
      ctx.addIssue({ code: 'custom', path: ['templates'], message: `template ${name} is defined twice` });
    for (const name of duplicates(manifest.tools))
      ctx.addIssue({ code: 'custom', path: ['tools'], message: `tool ${name} is listed twice` });
    const codeTools = manifest.code?.tools ?? [];
    for (const name of duplicates(codeTools.map((tool) => tool.name)))
      ctx.addIssue({ code: 'custom', path: ['code', 'tools'], message: `code tool ${name} is defined twice` });
    codeTools.forEach((tool, index) => {
      if (manifest.tools.includes(tool.name))
        ctx.addIssue({
          code: 'custom',
          path: ['code', 'tools', index, 'name'],
          message: `${tool.name} is also an engine tool the capsule requests`,
        });
    });
    for (const name of duplicates(manifest.code?.capabilities ?? []))
      ctx.addIssue({ code: 'custom', path: ['code', 'capabilities'], message: `${name} is listed twice` });
    manifest.code?.capabilities.forEach((capability, at) => {
      const called = capability.startsWith('call:tool:') ? capability.slice('call:tool:'.length) : undefined;
      if (called !== undefined && !manifest.tools.includes(called))
        ctx.addIssue({
          code: 'custom',
          path: ['code', 'capabilities', at],
          message: `${called} is not among the tools the manifest requests`,
        });
    });
  });
/** A capsule's manifest as written. */
export type CapsuleManifestInput = z.input<typeof capsuleManifestSchema>;
/** A capsule's manifest, defaults filled in. */
export type CapsuleManifest = z.infer<typeof capsuleManifestSchema>;

/** A bundle's content: the format tag, the manifest and the files (path → text). */
export const bundleContentSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  manifest: z.unknown(),
  files: z
    .record(bundlePathSchema, z.string().max(MAX_FILE_CHARS, `a file holds at most ${MAX_FILE_CHARS} characters`))
    .refine((files) => Object.keys(files).length <= MAX_BUNDLE_FILES, `at most ${MAX_BUNDLE_FILES} files`),
});

/** An Ed25519 signature over a bundle's exact bytes, as an author's tool writes it (lib/capsules/bundle.ts `signBundle`). */
export const bundleSignatureSchema = z.strictObject({
  alg: z.literal('Ed25519'),
  /** The author's key: SHA-256 (hex) of its public key's DER (SubjectPublicKeyInfo). */
  keyId: sha256HexSchema,
  /** SHA-256 (hex) of the bytes the author signed. */
  bundleSha256: sha256HexSchema,
  /** The signature, base64 (64 bytes). */
  signature: z.string().max(128),
});
/** A bundle signature. */
export type BundleSignature = z.infer<typeof bundleSignatureSchema>;

/** A public key in PEM (SPKI), as `npm run capsule -- keygen` writes it. */
const publicKeyPemSchema = z
  .string()
  .max(1000)
  .regex(
    /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\r?\n?$/,
    'a PEM public key (-----BEGIN PUBLIC KEY-----)',
  );

/** `PUT /capsules/authors`: register an author's Ed25519 key (admin), or revoke one. */
export const putAuthorInputSchema = z.strictObject({
  /** The author: the subject of their credentials (a JWT `sub`, `api-key:<keyId>`). */
  subject: actorSchema,
  publicKey: publicKeyPemSchema.optional().describe('Register this Ed25519 public key (PEM, SPKI)'),
  revokeKeyId: sha256HexSchema.optional().describe('Revoke the key with this id instead'),
});

/** One registered author key, as shown. */
export const authorKeyViewSchema = z.object({
  subject: actorSchema,
  keyId: sha256HexSchema,
  publicKey: z.string().max(1000),
  status: z.enum(['active', 'revoked']),
  registeredBy: actorSchema,
  registeredAt: z.iso.datetime().max(64),
  revokedAt: z.iso.datetime().max(64).optional(),
});
/** A registered author key. */
export type AuthorKey = z.infer<typeof authorKeyViewSchema>;

/** `GET /capsules/authors`: the tenant's author keys, or one author's. */
export const getAuthorsInputSchema = z.strictObject({ subject: actorSchema.optional() });

/** `POST /capsules/submissions`: a signed bundle, base64. */
export const submitInputSchema = z.strictObject({
  /** The bundle's exact bytes, base64 (`npm run capsule -- sign` writes them). */
  bundle: z
    .string()
    .min(1)
    .max(Math.ceil((MAX_BUNDLE_BYTES * 2 * 4) / 3) + 4)
    .describe(`The bundle's bytes, base64 (at most ${MAX_BUNDLE_BYTES} bytes decoded)`),
  /** Its signature; a bundle without one is refused with that reason. */
  signature: bundleSignatureSchema.optional(),
});

/** A version's status in the marketplace. */
export const versionStatusSchema = z.enum(['in-review', 'published', 'rejected', 'deprecated']);
/** A version's status. */
export type VersionStatus = z.infer<typeof versionStatusSchema>;

/** The automated review of a submission: its checks and outcome. */
export const reviewRecordSchema = z.object({
  submissionId: z.string().max(64),
  outcome: z.enum(['passed', 'refused']),
  checks: z.array(reviewCheckSchema).max(8),
  reviewedAt: z.iso.datetime().max(64),
});
/** A review record. */
export type ReviewRecord = z.infer<typeof reviewRecordSchema>;

/** A capsule version as the marketplace keeps it. */
export const capsuleVersionSchema = z.object({
  name: capsuleNameSchema,
  version: semverSchema,
  status: versionStatusSchema,
  ownerTenant: tenantSchema,
  author: actorSchema,
  keyId: sha256HexSchema,
  /** The author's Ed25519 signature over the bundle's bytes (base64): installs verify it again. */
  signature: z.string().max(128),
  description: z.string().max(2000),
  bundleSha256: sha256HexSchema,
  bundleBytes: z.number().int().min(0).max(MAX_BUNDLE_BYTES),
  /** Where its bytes are: `<owner tenant>/capsules/bundles/<sha256>.json` in the artifacts bucket. */
  bundleKey: z.string().max(256),
  tools: z.array(toolNameSchema).max(MAX_CAPSULE_TOOLS),
  models: z.array(z.string().max(64)).max(16),
  budget: z.object({ tokens: z.number().int().min(0).max(1e12), costUsd: z.number().min(0).max(1e9) }),
  guardrails: z.boolean().describe('Whether it brings Cedar guardrails'),
  review: reviewRecordSchema,
  proposalId: z.string().max(64).optional(),
  approvalId: z.string().max(80).optional(),
  /** Why it was rejected or deprecated. */
  reasons: z.array(z.string().max(2000)).max(50),
  submittedAt: z.iso.datetime().max(64),
  publishedAt: z.iso.datetime().max(64).optional(),
  deprecatedAt: z.iso.datetime().max(64).optional(),
  /** The record's own version, for conditional writes. */
  revision: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
/** A capsule version. */
export type CapsuleVersion = z.infer<typeof capsuleVersionSchema>;

/** `GET /capsules/catalog`: search published capsules, list one's versions, or show one version. */
export const catalogInputSchema = z.strictObject({
  name: capsuleNameSchema.optional(),
  version: semverSchema.optional(),
  /** Words that must all appear in a capsule's name or description (case-insensitive). */
  q: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/** One capsule in a search. */
export const capsuleSummarySchema = z.object({
  name: capsuleNameSchema,
  ownerTenant: tenantSchema,
  description: z.string().max(2000),
  latestVersion: semverSchema.nullable(),
  versions: z.array(z.object({ version: semverSchema, status: versionStatusSchema })).max(200),
});

/** `POST /capsules/installs`: install a published version (admin). */
export const installInputSchema = z.strictObject({ name: capsuleNameSchema, version: semverSchema });
/** `DELETE /capsules/installs?name=`: uninstall (admin). */
export const uninstallInputSchema = z.strictObject({ name: capsuleNameSchema });

/** A tenant's install of a capsule. */
export const installSchema = z.object({
  tenant: tenantSchema,
  name: capsuleNameSchema,
  version: semverSchema,
  ownerTenant: tenantSchema,
  bundleSha256: sha256HexSchema,
  tools: z.array(toolNameSchema).max(MAX_CAPSULE_TOOLS),
  budget: z.object({ tokens: z.number().int().min(0).max(1e12), costUsd: z.number().min(0).max(1e9) }),
  /** The tenant's policy set version holding its layer (or without it, once uninstalled). */
  policyVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  status: z.enum(['installed', 'uninstalled']),
  installedBy: actorSchema,
  installedAt: z.iso.datetime().max(64),
  uninstalledAt: z.iso.datetime().max(64).optional(),
  revision: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
/** An install. */
export type Install = z.infer<typeof installSchema>;

/** `PUT /capsules/deprecations`: deprecate a published version (the owning tenant's admin). */
export const deprecateInputSchema = z.strictObject({ name: capsuleNameSchema, version: semverSchema, reason: z.string().min(1).max(2000) });
