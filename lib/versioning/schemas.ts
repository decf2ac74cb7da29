/**
 * The Versioning engine's vocabulary: artifacts, versions with their bump and changes, regression
 * gates, approvals, the compatibility matrix. Zod schemas and their types; routes, the store and the
 * events take their shapes from here.
 */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { CHANGE_KINDS } from './schema-diff.ts';

/** Most versions listed, and kept in the compatibility matrix (the newest). */
export const MAX_LISTED_VERSIONS = 100;
/** Most changes kept on a version (the rest are counted in `changesOmitted`). */
export const MAX_CHANGES = 200;
/** Most golden examples one version carries. */
export const MAX_GOLDEN = 100;
/** Largest artifact body, as JSON text (bodies above {@link INLINE_BODY_BYTES} go to S3 by hash). */
export const MAX_BODY_BYTES = 512 * 1024;
/** Bodies up to this many bytes of JSON are kept inline on the version item; larger ones in S3 by content hash. */
export const INLINE_BODY_BYTES = 32 * 1024;
/** Largest golden set, as JSON text. */
export const MAX_GOLDEN_BYTES = 64 * 1024;

/** What a versioned artifact is. */
export const artifactKinds = ['schema', 'prompt-template', 'configuration', 'capsule'] as const;
/** Zod schema of an artifact kind. */
export const artifactKindSchema = z.enum(artifactKinds);
/** An artifact kind. */
export type ArtifactKind = z.infer<typeof artifactKindSchema>;

/** An artifact's name within its tenant: `tools/weather.input`, `prompts/support`, 1–128 characters. */
export const artifactIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'letters, digits and . _ : / -, starting with a letter or digit');

/** A semver version (`1.4.0`, `2.0.0-rc.1`); build metadata is refused (it does not order). */
export const semverSchema = z
  .string()
  .max(64)
  .regex(
    /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/,
    'a semver version such as 1.4.0 (no build metadata)',
  );

/** The semver part a version bumped (`initial` for an artifact's first version). */
export const bumpSchema = z.enum(['major', 'minor', 'patch', 'initial']);
/** A bump. */
export type VersionBump = z.infer<typeof bumpSchema>;

/** Change kinds of the structural diff of templates, configurations and capsules (see structural-diff.ts). */
export const structuralChangeKinds = [
  'key-added',
  'key-removed',
  'value-type-changed',
  'value-changed',
  'variable-added',
  'variable-removed',
  'variable-now-required',
  'variable-now-optional',
  'message-added',
  'message-removed',
  'role-changed',
  'text-changed',
  'kind-changed',
] as const;
/** Every change kind a version may list: the schema diff's and the structural diff's. */
export const versionChangeKindSchema = z.enum([...(Object.keys(CHANGE_KINDS) as [keyof typeof CHANGE_KINDS]), ...structuralChangeKinds]);

/** One change of a version against the previous one. */
export const versionChangeSchema = z.object({
  path: z.string().max(1024),
  kind: versionChangeKindSchema,
  breaking: z.boolean(),
});
/** A change. */
export type VersionChange = z.infer<typeof versionChangeSchema>;

/** A golden example's failure: which example, and what the validator said (ajv's first errors). */
export const goldenFailureSchema = z.object({
  index: z.number().int().min(0).max(MAX_GOLDEN),
  errors: z.array(z.string().max(300)).max(5),
});

/** A version's regression gate: its golden set checked at tag time, and/or a test-suite result recorded later. */
export const gateSchema = z.object({
  golden: z
    .object({
      passed: z.boolean(),
      total: z.number().int().min(0).max(MAX_GOLDEN),
      failures: z.array(goldenFailureSchema).max(20),
      /** Where the examples came from: this request, or carried from the previous version. */
      source: z.enum(['request', 'previous']),
    })
    .optional(),
  suite: z
    .object({
      suite: z.string().min(1).max(128),
      passed: z.boolean(),
      total: z.number().int().min(0).max(1e9),
      failed: z.number().int().min(0).max(1e9),
      reportUrl: z.string().max(2048).optional(),
      recordedAt: z.iso.datetime().max(64),
      recordedBy: z.string().max(256),
    })
    .optional(),
});
/** A gate. */
export type Gate = z.infer<typeof gateSchema>;

/** The governance approval a breaking version needs before promotion. */
export const approvalSchema = z.object({
  proposalId: z.string().max(64),
  /** The proposal's state as last seen (approved and executed both count as approved). */
  status: z.enum(['pending', 'approved', 'rejected', 'timed-out', 'executed', 'failed', 'refused']),
  route: z.string().max(32).optional(),
  decidedAt: z.iso.datetime().max(64).optional(),
});
/** An approval. */
export type Approval = z.infer<typeof approvalSchema>;

/** Where a version's body is: inline JSON, or an S3 object addressed by its hash. */
export const bodyRefSchema = z.discriminatedUnion('at', [
  z.object({ at: z.literal('inline') }),
  z.object({ at: z.literal('s3'), key: z.string().max(512) }),
]);

/** A tagged version, as stored. */
export const versionRecordSchema = z.object({
  tenant: tenantSchema,
  artifact: artifactIdSchema,
  kind: artifactKindSchema,
  version: semverSchema,
  /** 1 for the first version, then +1 per tag. */
  seq: z.number().int().min(1).max(1e9),
  previous: semverSchema.optional(),
  bump: bumpSchema,
  breaking: z.boolean(),
  changes: z.array(versionChangeSchema).max(MAX_CHANGES),
  changesOmitted: z.number().int().min(0).max(1e9),
  /** SHA-256 (hex) of the body's canonical JSON (RFC 8785). */
  hash: z
    .string()
    .max(64)
    .regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().min(0).max(MAX_BODY_BYTES),
  body: z.unknown().optional(),
  bodyRef: bodyRefSchema,
  /** The golden set it carries (schema artifacts), passed on to the next version when that brings none. */
  golden: z.array(z.unknown()).max(MAX_GOLDEN).optional(),
  gate: gateSchema,
  approval: approvalSchema.optional(),
  note: z.string().max(500).optional(),
  taggedAt: z.iso.datetime().max(64),
  taggedBy: z.string().max(256),
  /** Time from request to the stored tag (diff, gate, governance), milliseconds. */
  tagMs: z.number().min(0).max(1e7),
  /** The record's own version, for conditional updates (gate results, approvals). */
  rev: z.number().int().min(1).max(1e9),
});
/** A version. */
export type VersionRecord = z.infer<typeof versionRecordSchema>;

/** `POST /versioning/versions`: tag a new version of an artifact. */
export const tagInputSchema = z.strictObject({
  artifact: artifactIdSchema,
  kind: artifactKindSchema,
  body: z
    .unknown()
    .refine((body) => body !== undefined, 'required')
    .refine((body) => (JSON.stringify(body) ?? '').length <= MAX_BODY_BYTES, `at most ${MAX_BODY_BYTES / 1024} KiB of JSON`)
    .describe('The artifact: a JSON Schema, a prompt template (as the gateway defines one), a configuration object or a capsule manifest'),
  /** The version to tag; refused when smaller than the version the changes call for. Derived when absent. */
  version: semverSchema.optional(),
  /** Examples that must validate against a schema artifact (the previous version's set when absent). */
  golden: z
    .array(z.unknown())
    .max(MAX_GOLDEN)
    .refine((golden) => JSON.stringify(golden).length <= MAX_GOLDEN_BYTES, `at most ${MAX_GOLDEN_BYTES / 1024} KiB of JSON`)
    .optional(),
  note: z.string().max(500).optional(),
});
/** A tag request. */
export type TagInput = z.infer<typeof tagInputSchema>;

/** `POST /versioning/gate`: record a test-suite result for a version. */
export const gateInputSchema = z.strictObject({
  artifact: artifactIdSchema,
  version: semverSchema,
  suite: z.string().min(1).max(128),
  total: z.number().int().min(0).max(1e9),
  failed: z.number().int().min(0).max(1e9),
  reportUrl: z.url().max(2048).optional(),
});
/** A gate request. */
export type GateInput = z.infer<typeof gateInputSchema>;

/** Whether a version may be promoted, and why not. */
export const promotabilitySchema = z.object({
  promotable: z.boolean(),
  reasons: z.array(z.string().max(500)).max(10),
});
/** A promotability verdict. */
export type Promotability = z.infer<typeof promotabilitySchema>;

/** A version as listed (its body left out). */
export const versionViewSchema = versionRecordSchema
  .omit({ tenant: true, body: true, golden: true, rev: true })
  .extend({ goldenCount: z.number().int().min(0).max(MAX_GOLDEN), promotability: promotabilitySchema });
/** A listed version. */
export type VersionView = z.infer<typeof versionViewSchema>;

/** The compatibility matrix of an artifact's versions (oldest first). */
export const compatibilitySchema = z.object({
  artifact: artifactIdSchema,
  versions: z.array(semverSchema).max(MAX_LISTED_VERSIONS),
  /** One row per consumer version: the producer versions it accepts. */
  consumers: z
    .array(z.object({ consumer: semverSchema, accepts: z.array(semverSchema).max(MAX_LISTED_VERSIONS) }))
    .max(MAX_LISTED_VERSIONS),
  /** `matrix[i][j]`: consumer `versions[i]` accepts producer `versions[j]`. */
  matrix: z.array(z.array(z.boolean()).max(MAX_LISTED_VERSIONS)).max(MAX_LISTED_VERSIONS),
});
/** A compatibility matrix. */
export type Compatibility = z.infer<typeof compatibilitySchema>;
