/** Routes of the Versioning engine: tag and list versions, the compatibility matrix, the regression gate and promotability. */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';
import {
  artifactIdSchema,
  artifactKindSchema,
  compatibilitySchema,
  gateInputSchema,
  MAX_LISTED_VERSIONS,
  promotabilitySchema,
  semverSchema,
  tagInputSchema,
  versionViewSchema,
} from './schemas.ts';

/** POST /versioning/versions: tag a new version of an artifact. */
export const tagRoute = defineRoute({
  engine: 'versioning',
  action: 'versions',
  method: 'POST',
  permission: 'versioning:write',
  summary:
    "Tag a new version of an artifact (JSON Schema, prompt template, configuration, capsule manifest): it is diffed against the latest version, each change classified breaking or not, the semver bump derived (a requested `version` smaller than the changes call for is a 400 naming version), a schema's golden set checked, a breaking version proposed to governance for people's approval, and the tag recorded in the ledger with the SHA-256 of the body's canonical JSON",
  parameters: tagInputSchema,
  result: versionViewSchema.extend({ proposalId: z.string().max(64).optional() }),
});

/** GET /versioning/versions: an artifact's versions. */
export const listRoute = defineRoute({
  engine: 'versioning',
  action: 'versions',
  method: 'GET',
  permission: 'versioning:read',
  summary: `An artifact's versions, oldest first (the newest ${MAX_LISTED_VERSIONS}), each with its bump, changes, hash, regression gate, approval and whether it may be promoted (404 before its first version)`,
  parameters: z.strictObject({ artifact: artifactIdSchema }),
  result: z.object({
    artifact: artifactIdSchema,
    kind: artifactKindSchema,
    latest: semverSchema,
    versions: z.array(versionViewSchema).max(MAX_LISTED_VERSIONS),
  }),
});

/** GET /versioning/compatibility: which consumer versions accept which producer versions. */
export const compatibilityRoute = defineRoute({
  engine: 'versioning',
  action: 'compatibility',
  method: 'GET',
  permission: 'versioning:read',
  summary:
    "The compatibility matrix of an artifact's versions: a consumer pinned to version X accepts producer version Y when no breaking version lies between X and Y",
  parameters: z.strictObject({ artifact: artifactIdSchema }),
  result: compatibilitySchema,
});

/** POST /versioning/gate: record a test-suite result for a version. */
export const gateRoute = defineRoute({
  engine: 'versioning',
  action: 'gate',
  method: 'POST',
  permission: 'versioning:write',
  summary:
    'Record a regression test-suite result for a version (its gate passes when nothing failed and something ran; a later result replaces it), in the ledger',
  parameters: gateInputSchema,
  result: versionViewSchema,
});

/** GET /versioning/promotable: whether a version may be promoted. */
export const promotableRoute = defineRoute({
  engine: 'versioning',
  action: 'promotable',
  method: 'GET',
  permission: 'versioning:read',
  summary:
    'Whether a version may be promoted, with the reasons when not: its regression gate (golden set, test suite) must pass, and a breaking version needs its governance proposal approved (a decision made since is recorded on the version and in the ledger first)',
  parameters: z.strictObject({ artifact: artifactIdSchema, version: semverSchema }),
  result: promotabilitySchema.extend({
    artifact: artifactIdSchema,
    version: semverSchema,
    breaking: z.boolean(),
    hash: z.string().max(64),
  }),
});
