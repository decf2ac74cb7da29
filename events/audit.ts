/** Events of the Audit engine (`autonomy.audit`): compliance findings and signed checkpoints. */
import { z } from 'zod';
import { defineEvent, detailSchema, isoTimestampSchema, sha256HexSchema } from './common.ts';
import { streamNameSchema } from './ids.ts';

/** `audit.finding.raised` v1: a compliance rule is violated at one ledger entry. */
export const findingRaised = defineEvent({
  source: 'autonomy.audit',
  detailType: 'audit.finding.raised',
  version: '1',
  description: 'A compliance rule is violated at a ledger entry (one event per finding, as `Finding` in lib/audit/compliance.ts).',
  schema: detailSchema('1', {
    stream: streamNameSchema,
    ruleId: z.string().min(1).max(64),
    severity: z.enum(['critical', 'high', 'medium', 'low']),
    /** The ledger entry at which the rule is violated. */
    seq: z.int().nonnegative(),
    message: z.string().min(1).max(2000),
  }),
});
/** The detail of `audit.finding.raised`. */
export type FindingRaised = z.infer<typeof findingRaised.schema>;

/** `audit.checkpoint.signed` v1: a signed Merkle checkpoint of a stream was stored in S3. */
export const checkpointSigned = defineEvent({
  source: 'autonomy.audit',
  detailType: 'audit.checkpoint.signed',
  version: '1',
  description: 'A signed Merkle checkpoint of a ledger stream was written to the artifacts bucket.',
  schema: detailSchema('1', {
    stream: streamNameSchema,
    treeSize: z.int().nonnegative(),
    rootHash: sha256HexSchema,
    keyId: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex characters').max(16),
    /** The checkpoint's own timestamp (signed). */
    timestamp: isoTimestampSchema,
    /** The object key in the artifacts bucket; starts with the tenant (`<tenant>/audit/checkpoints/…`). */
    s3Key: z.string().min(1).max(1024),
  }).superRefine((detail, ctx) => {
    if (!detail.s3Key.startsWith(`${detail.tenant}/`)) {
      ctx.addIssue({ code: 'custom', path: ['s3Key'], message: `must start with the tenant (${detail.tenant}/)` });
    }
  }),
});
/** The detail of `audit.checkpoint.signed`. */
export type CheckpointSigned = z.infer<typeof checkpointSigned.schema>;
