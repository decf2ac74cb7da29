/**
 * Routes of the Audit engine: record, export (a range as JSON Lines, or a whole stream to S3), keys (list and rotate), verify, proof, checkpoint,
 * findings and the tenant's retention window. One Lambda per `/audit/<action>` (functions/audit/).
 */
import { z } from 'zod';
import { MAX_TEXT_LENGTH } from '../../events/common.ts';
import { defineRoute } from '../api/route.ts';
import {
  breakReasonSchema,
  checkpointSchema,
  exportIdSchema,
  exportPartSchema,
  hexHashSchema,
  keyIdSchema,
  MAX_EXPORT_PAGE_SIZE,
  payloadSchema,
  publicKeySetSchema,
  streamSchema,
  tenantSchema,
  timestampSchema,
  verifyResultSchema,
} from './schemas.ts';

const seqSchema = z.coerce.number().int().nonnegative();

/** POST /audit/record: append a record from an outside system. */
export const recordRoute = defineRoute({
  engine: 'audit',
  action: 'record',
  method: 'POST',
  permission: 'audit:write',
  summary: 'Append a record (a decision, an approval, an action) to one of your ledger streams',
  parameters: z.object({
    stream: streamSchema.describe('The stream, e.g. `decisions`; created by its first record'),
    payload: payloadSchema.describe('The record: any JSON object (stored apart from the chain, referenced by its SHA-256)'),
  }),
  result: z.object({
    stream: streamSchema,
    seq: z.int().nonnegative(),
    hash: hexHashSchema.describe('The entry hash: SHA-256 of its RFC 8785 canonical JSON'),
    payloadHash: hexHashSchema,
    timestamp: timestampSchema,
  }),
});

/** GET /audit/export: a stream range as JSON Lines with checkpoints and proofs. */
export const exportRoute = defineRoute({
  engine: 'audit',
  action: 'export',
  method: 'GET',
  permission: 'audit:read',
  summary: 'Export a stream range as JSON Lines (autonomy-audit-export/1): entries, payloads, checkpoints and proofs',
  parameters: z.object({
    stream: streamSchema,
    from: seqSchema.optional().describe('First seq (inclusive); default 0'),
    to: seqSchema.optional().describe('Last seq (exclusive); default the end of the stream'),
  }),
  result: z
    .string()
    .max(6 * 1024 * 1024)
    .describe('JSON Lines; verify with `npx autonomy-verify --export <file> --keys <keys.json>` (within the 6 MB a Lambda reply may hold; a longer stream: POST /audit/export)'),
  rawContentType: 'application/x-ndjson',
});

/**
 * POST /audit/export: a whole stream to the artifacts bucket, in JSON Lines pages with a manifest,
 * verified on the way. Each call writes pages for up to ~20 s; while the answer is `running`, call
 * again with its `exportId` (same stream) to go on.
 */
export const exportToS3Route = defineRoute({
  engine: 'audit',
  action: 'export',
  method: 'POST',
  permission: 'audit:read',
  summary:
    'Export a whole stream to the artifacts bucket: JSON Lines pages (head.jsonl, page-000001.jsonl, …) and a manifest.json with the verdict; call again with the exportId while it is running',
  parameters: z
    .object({
      stream: streamSchema,
      exportId: exportIdSchema.optional().describe('Go on with (or look up) this export of the stream; omit to start a new one'),
      pageSize: z
        .int()
        .min(1)
        .max(MAX_EXPORT_PAGE_SIZE)
        .optional()
        .describe(`Entries per page object, when starting (default ${MAX_EXPORT_PAGE_SIZE.toLocaleString('en-US')})`),
    })
    .superRefine((value, context) => {
      if (value.exportId !== undefined && value.pageSize !== undefined) {
        context.addIssue({ code: 'custom', path: ['pageSize'], message: 'is chosen when an export starts; omit it with exportId' });
      }
    }),
  result: z.object({
    exportId: exportIdSchema,
    status: z.enum(['running', 'complete']).describe('`running`: call again with this exportId to write more pages'),
    tenant: tenantSchema,
    stream: streamSchema,
    bucket: z.string().max(63).describe('The artifacts bucket'),
    prefix: z.string().max(1024).describe('Key prefix of every object of this export: <tenant>/audit-exports/<stream>/<exportId>/'),
    manifestKey: z.string().max(1024).describe('manifest.json: written once the export is complete'),
    from: z.literal(0),
    to: z.int().nonnegative().describe('One past the last seq exported: the stream as it was when the export started'),
    pageSize: z.int().positive(),
    pages: z.int().nonnegative(),
    pagesWritten: z.int().nonnegative(),
    createdAt: timestampSchema,
    completedAt: timestampSchema.nullable(),
    parts: z
      .array(exportPartSchema)
      .describe('Objects written so far; concatenated in this order they are one autonomy-audit-export/1 file'),
    verification: verifyResultSchema.nullable().describe('The verdict over the exported entries, payloads and checkpoints, once complete'),
    keyIds: z.array(keyIdSchema).describe('The published keys the verdict was reached with'),
  }),
});

/** GET /audit/keys: the public keys that sign the caller tenant's checkpoints. */
export const keysRoute = defineRoute({
  engine: 'audit',
  action: 'keys',
  method: 'GET',
  permission: 'audit:read',
  summary:
    'The public keys (with key ids, retired ones included) that signed and sign your checkpoints, never another tenant’s; save the reply as the verifier’s --keys',
  parameters: z.object({}),
  result: publicKeySetSchema,
});

/** POST /audit/keys: rotate the caller tenant's signing key. */
export const rotateKeysRoute = defineRoute({
  engine: 'audit',
  action: 'keys',
  method: 'POST',
  permission: 'audit:admin',
  summary:
    'Rotate your checkpoint signing key (other tenants keep theirs): a new key signs your checkpoints from now on, the old one is retired and stays published',
  parameters: z.object({}),
  result: z.object({ activeKeyId: keyIdSchema, retiredKeyId: keyIdSchema.optional(), keys: publicKeySetSchema.shape.keys }),
});

const intactSchema = z.object({
  intact: z.literal(true),
  tenant: tenantSchema,
  stream: streamSchema,
  entries: z.int().nonnegative(),
  checkpoints: z.int().nonnegative(),
  expiredPayloads: z.int().nonnegative().describe('Payloads deleted by retention: reported, never a break'),
  proofs: z.int().nonnegative(),
  checkpointedEntries: z.int().nonnegative(),
  keyIds: z.array(keyIdSchema),
});

const brokenSchema = z.object({
  intact: z.literal(false),
  tenant: tenantSchema,
  stream: streamSchema,
  firstBadSeq: z.int().nonnegative(),
  reason: breakReasonSchema,
  detail: z.string().max(MAX_TEXT_LENGTH),
  checkpointTreeSize: z.int().nonnegative().optional(),
  keyIds: z.array(keyIdSchema),
});

/** GET /audit/verify: walk a stored stream. */
export const verifyRoute = defineRoute({
  engine: 'audit',
  action: 'verify',
  method: 'GET',
  permission: 'audit:read',
  summary: 'Verify a stream (chain, payloads, checkpoints, signatures): intact, or the first bad seq and why',
  parameters: z.object({ stream: streamSchema }),
  result: z.discriminatedUnion('intact', [intactSchema, brokenSchema]),
});

/** GET /audit/proof: inclusion proof of one entry in the latest checkpoint. */
export const proofRoute = defineRoute({
  engine: 'audit',
  action: 'proof',
  method: 'GET',
  permission: 'audit:read',
  summary: 'Inclusion proof (RFC 9162) of one entry against the latest signed checkpoint',
  parameters: z.object({ stream: streamSchema, seq: seqSchema }),
  result: z.object({
    tenant: tenantSchema,
    stream: streamSchema,
    seq: z.int().nonnegative(),
    entryHash: hexHashSchema.describe('The leaf is SHA-256(0x00 ‖ entryHash bytes)'),
    treeSize: z.int().positive(),
    rootHash: hexHashSchema,
    path: z.array(hexHashSchema).max(64).describe('Audit path, leaf to root (one hash per tree level)'),
    checkpoint: checkpointSchema,
  }),
});

/** POST /audit/checkpoint: sign a checkpoint now. */
export const checkpointRoute = defineRoute({
  engine: 'audit',
  action: 'checkpoint',
  method: 'POST',
  permission: 'audit:write',
  summary: 'Sign a checkpoint of a stream now (the schedule does it too); nothing new is signed when the stream did not grow',
  parameters: z.object({ stream: streamSchema }),
  result: z.object({
    created: z.boolean(),
    size: z.int().nonnegative().describe('Entries in the stream'),
    checkpoint: checkpointSchema.nullable(),
    key: z.string().max(1024).nullable().describe('Object key of the checkpoint in the artifacts bucket'),
  }),
});

/** GET /audit/findings: compliance findings. */
export const findingsRoute = defineRoute({
  engine: 'audit',
  action: 'findings',
  method: 'GET',
  permission: 'audit:read',
  summary: 'Compliance findings (rule violations at ledger entries), by stream and seq',
  parameters: z.object({ stream: streamSchema.optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
  result: z.object({
    findings: z
      .array(
        z.object({
          stream: streamSchema,
          seq: z.int().nonnegative(),
          ruleId: z.string().max(64),
          severity: z.enum(['critical', 'high', 'medium', 'low']),
          message: z.string().max(MAX_TEXT_LENGTH),
          raisedAt: timestampSchema,
        }),
      )
      .max(1000)
      .describe('At most `limit`'),
  }),
});

const retentionResultSchema = z.object({
  retentionDays: z.int().min(1).max(36_500),
  source: z.enum(['tenant', 'stage-default']),
});

/** GET /audit/retention: the tenant's payload retention window. */
export const getRetentionRoute = defineRoute({
  engine: 'audit',
  action: 'retention',
  method: 'GET',
  permission: 'audit:read',
  summary: 'Your payload retention window (entries are kept forever; payloads older than this are deleted)',
  parameters: z.object({}),
  result: retentionResultSchema,
});

/** PUT /audit/retention: set the tenant's payload retention window. */
export const setRetentionRoute = defineRoute({
  engine: 'audit',
  action: 'retention',
  method: 'PUT',
  permission: 'audit:admin',
  summary: 'Set your payload retention window in days (the chain is never shortened, only payloads expire)',
  parameters: z.object({ days: z.int().min(1).max(36_500) }),
  result: retentionResultSchema,
});

/** Every Audit route, for lib/api/routes.ts. */
export const auditRoutes = [
  recordRoute,
  exportRoute,
  exportToS3Route,
  keysRoute,
  rotateKeysRoute,
  verifyRoute,
  proofRoute,
  checkpointRoute,
  findingsRoute,
  getRetentionRoute,
  setRetentionRoute,
] as const;
