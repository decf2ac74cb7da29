/**
 * Events of the Versioning engine (`autonomy.versioning`): a version of an artifact tagged (with the
 * SHA-256 of its body's canonical JSON, its bump and what its gate and approval say), and a version's
 * test-suite result or governance approval recorded. Saved with the version (an outbox), recorded in
 * the tenant's ledger (stream `events.versioning`) and published after it, so each is published at
 * least once (events/delivery.ts).
 */
import { z } from 'zod';
import { approvalSchema, artifactIdSchema, artifactKindSchema, bumpSchema, semverSchema } from '../lib/versioning/schemas.ts';
import { defineEvent, detailSchema, isoTimestampSchema } from './common.ts';

const count = z.number().int().min(0).max(1e9);

/** `versioning.version.tagged` v1: a new version of an artifact. */
export const versionTagged = defineEvent({
  source: 'autonomy.versioning',
  detailType: 'versioning.version.tagged',
  version: '1',
  description:
    "A version of an artifact (schema, prompt template, configuration, capsule) was tagged: the SHA-256 of its body's canonical JSON, the bump its changes call for, how many changes and how many breaking, its golden set's result and, for a breaking version, the governance proposal that must approve it.",
  schema: detailSchema('1', {
    artifact: artifactIdSchema,
    kind: artifactKindSchema,
    /** The artifact's version (`version` is the event detail's own schema version). */
    artifactVersion: semverSchema,
    previousVersion: semverSchema.optional(),
    bump: bumpSchema,
    breaking: z.boolean(),
    hash: z
      .string()
      .max(64)
      .regex(/^[0-9a-f]{64}$/),
    bytes: count,
    changes: count,
    breakingChanges: count,
    golden: z.strictObject({ passed: z.boolean(), total: count }).optional(),
    approval: approvalSchema.strict().optional(),
    taggedBy: z.string().min(1).max(256),
    taggedAt: isoTimestampSchema,
  }),
});
/** The detail of `versioning.version.tagged`. */
export type VersionTagged = z.infer<typeof versionTagged.schema>;

/** `versioning.version.updated` v1: a version's test-suite result or approval recorded. */
export const versionUpdated = defineEvent({
  source: 'autonomy.versioning',
  detailType: 'versioning.version.updated',
  version: '1',
  description:
    "A version's regression gate got a test-suite result, or its governance approval was decided and recorded on it; with whether the version is now promotable.",
  schema: detailSchema('1', {
    artifact: artifactIdSchema,
    artifactVersion: semverSchema,
    hash: z
      .string()
      .max(64)
      .regex(/^[0-9a-f]{64}$/),
    what: z.enum(['gate', 'approval']),
    suite: z.strictObject({ suite: z.string().min(1).max(128), passed: z.boolean(), total: count, failed: count }).optional(),
    approval: approvalSchema.strict().optional(),
    promotable: z.boolean(),
    updatedBy: z.string().min(1).max(256),
  }),
});
/** The detail of `versioning.version.updated`. */
export type VersionUpdated = z.infer<typeof versionUpdated.schema>;
