/**
 * Zod schemas of the Audit engine's data: ledger entries, signed checkpoints, public key sets
 * and the lines of an export file. Types are inferred from the schemas so the two cannot drift.
 */
import { z } from 'zod';
import { MAX_TEXT_LENGTH, MAX_TIMESTAMP_LENGTH } from '../../events/common.ts';
import { streamNameSchema, tenantSchema } from '../../events/ids.ts';

/** A lower-case hex SHA-256 digest. */
export const hexHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters').max(64);

/** Tenants and stream names end up in S3 keys; both are defined in events/ids.ts with the other identifiers. */
export { tenantSchema };

/** A stream name (`streamNameSchema` in events/ids.ts): lower-case letters, digits, dots, dashes and underscores. */
export const streamSchema = streamNameSchema;

/** An ISO 8601 timestamp with an explicit offset (`Z` in practice). */
export const timestampSchema = z.iso.datetime({ offset: true }).max(MAX_TIMESTAMP_LENGTH);

/**
 * A payload: a JSON object. Objects only, so `'expired'` (the marker for a payload deleted by
 * retention) can never be confused with a payload value.
 */
export const payloadSchema = z.record(z.string(), z.unknown());

/** A payload as recorded (a JSON object). */
export type Payload = z.infer<typeof payloadSchema>;

/**
 * One ledger entry. `hash` is SHA-256 of the canonical JSON of every other field; the payload
 * itself lives apart, referenced by `payloadHash`, so retention can delete it.
 * `actor` may be empty here: the compliance rules report it, the ledger still records it.
 */
export const ledgerEntrySchema = z.strictObject({
  tenant: tenantSchema,
  stream: streamSchema,
  seq: z.int().nonnegative(),
  timestamp: timestampSchema,
  prevHash: hexHashSchema,
  payloadHash: hexHashSchema,
  actor: z.string(),
  correlationId: z.string().nullable(),
  hash: hexHashSchema,
});

/** A ledger entry. */
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

/** A ledger entry before its own hash is computed. */
export type UnhashedEntry = Omit<LedgerEntry, 'hash'>;

/** What a caller records: the ledger fills in `seq`, `prevHash`, `payloadHash` and `hash`. */
export const appendInputSchema = z.object({
  tenant: tenantSchema,
  stream: streamSchema,
  timestamp: timestampSchema,
  actor: z.string(),
  correlationId: z.string().nullable().optional(),
  payload: payloadSchema,
});

/** Input of `buildEntry` / `appendRecord`. */
export type AppendInput = z.infer<typeof appendInputSchema>;

/** A key id: the first 16 hex characters of SHA-256 of the raw 32-byte Ed25519 public key. */
export const keyIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex characters').max(16);

/** Standard base64 (with padding): keys and signatures, 88 characters at most (an Ed25519 signature). */
const base64Schema = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64').max(128);

/** The signed part of a checkpoint. */
export const checkpointBodySchema = z.strictObject({
  tenant: tenantSchema,
  stream: streamSchema,
  treeSize: z.int().nonnegative(),
  rootHash: hexHashSchema,
  timestamp: timestampSchema,
  /** `checkpointHash` of the previous signed checkpoint of the stream; null for the first. */
  previousCheckpointHash: hexHashSchema.nullable(),
  keyId: keyIdSchema,
});

/** A checkpoint body (unsigned). */
export type CheckpointBody = z.infer<typeof checkpointBodySchema>;

/** A signed checkpoint: the body plus a base64 Ed25519 signature over its canonical JSON. */
export const checkpointSchema = z.strictObject({ ...checkpointBodySchema.shape, signature: base64Schema });

/** A signed checkpoint. */
export type Checkpoint = z.infer<typeof checkpointSchema>;

/**
 * A private signing key as its tenant's secret holds it. Lives here, with the other data shapes,
 * so the ports (`SigningKeyStore`) and the key logic (`keys.ts`) share it without importing each
 * other. Every field is bounded, so the secret is too.
 */
export const signingKeySchema = z.strictObject({
  keyId: keyIdSchema,
  algorithm: z.literal('Ed25519'),
  publicKey: z.string().min(1).max(64),
  /** Base64 PKCS#8 DER: 64 characters for an Ed25519 key. */
  privateKey: z.string().min(1).max(128),
  createdAt: timestampSchema,
  retiredAt: timestampSchema.optional(),
});

/** One public key as published by `GET /audit/keys`. */
export const publicKeySchema = z.strictObject({
  keyId: keyIdSchema,
  algorithm: z.literal('Ed25519'),
  /** Base64 of the raw 32-byte Ed25519 public key (RFC 8032), not SPKI. */
  publicKey: base64Schema.length(44, 'must be base64 of 32 bytes'),
  createdAt: timestampSchema,
  /** Set once the key stops signing; it stays in the set so old checkpoints still verify. */
  retiredAt: timestampSchema.optional(),
});

/** A published public key. */
export type PublicKey = z.infer<typeof publicKeySchema>;

/** The format tag of a tenant's signing-key secret; a new shape gets a new number. */
export const TENANT_SIGNING_KEY_FORMAT = 'autonomy-audit-signing-key/1';

/**
 * What one tenant's signing-key secret holds (Secrets Manager in AWS): the one private key that
 * signs the tenant's checkpoints now, and the public half of the key it replaced, with its
 * `retiredAt`, so a rotation whose publication was interrupted can be published again from the
 * secret alone. Nothing else: older keys live only in the published set (the state table), so
 * the secret's size does not grow with rotations (about 500 bytes, at most
 * `MAX_SIGNING_KEY_SECRET_BYTES`). `tenant` names the owner, and a signer refuses a secret that
 * names another. `generation` counts the tenant's keys.
 */
export const tenantSigningKeySchema = z.strictObject({
  format: z.literal(TENANT_SIGNING_KEY_FORMAT),
  tenant: tenantSchema,
  generation: z.int().positive(),
  active: signingKeySchema.omit({ retiredAt: true }),
  retired: publicKeySchema.required({ retiredAt: true }).optional(),
});

/** A tenant's signing-key secret. */
export type TenantSigningKey = z.infer<typeof tenantSigningKeySchema>;

/**
 * What the checkpoint head keeps beside its signed checkpoint so the next checkpoint extends the
 * tree instead of re-reading the stream: the Merkle frontier (RFC 6962 compact range, largest
 * subtree first) of every leaf but the last, and the last entry's hash, which the next entry must
 * link to. Folding that entry's leaf into the frontier must give the checkpoint's signed root;
 * a tip that does not is refused as tampered.
 */
export const treeTipSchema = z.strictObject({
  treeSize: z.int().positive(),
  lastEntryHash: hexHashSchema,
  frontier: z.array(hexHashSchema).max(64),
});

/** A tree tip: where the next checkpoint resumes the stream's tree. */
export type TreeTip = z.infer<typeof treeTipSchema>;

/** The key set: what `GET /audit/keys` returns and what the verifier reads with `--keys`. */
export const publicKeySetSchema = z.strictObject({ keys: z.array(publicKeySchema) });

/** A published key set. */
export type PublicKeySet = z.infer<typeof publicKeySetSchema>;

/** The export format identifier; a new major shape gets a new number. */
export const EXPORT_FORMAT = 'autonomy-audit-export/1';

/** First line of an export. `from` is inclusive, `to` exclusive (seq numbers). */
export const exportHeaderLineSchema = z.strictObject({
  type: z.literal('header'),
  format: z.literal(EXPORT_FORMAT),
  tenant: tenantSchema,
  stream: streamSchema,
  from: z.int().nonnegative(),
  to: z.int().nonnegative(),
  exportedAt: timestampSchema,
});

/** An export's header line. */
export type ExportHeaderLine = z.infer<typeof exportHeaderLineSchema>;

/** An entry line: the entry, and either its payload or the mark that retention deleted it. */
export const exportEntryLineSchema = z.union([
  z.strictObject({ type: z.literal('entry'), entry: ledgerEntrySchema, payload: payloadSchema }),
  z.strictObject({ type: z.literal('entry'), entry: ledgerEntrySchema, payloadExpired: z.literal(true) }),
]);

/** An export's entry line. */
export type ExportEntryLine = z.infer<typeof exportEntryLineSchema>;

/** A checkpoint line. */
export const exportCheckpointLineSchema = z.strictObject({ type: z.literal('checkpoint'), checkpoint: checkpointSchema });

/** An export's checkpoint line. */
export type ExportCheckpointLine = z.infer<typeof exportCheckpointLineSchema>;

/** An inclusion proof of entry `seq` in the tree of the checkpoint with `treeSize`. Hashes hex. */
export const inclusionProofLineSchema = z.strictObject({
  type: z.literal('proof'),
  kind: z.literal('inclusion'),
  seq: z.int().nonnegative(),
  treeSize: z.int().positive(),
  path: z.array(hexHashSchema),
});

/** An export's inclusion proof line. */
export type InclusionProofLine = z.infer<typeof inclusionProofLineSchema>;

/** A consistency proof between the checkpoints of sizes `fromSize` and `toSize`. Hashes hex. */
export const consistencyProofLineSchema = z.strictObject({
  type: z.literal('proof'),
  kind: z.literal('consistency'),
  fromSize: z.int().positive(),
  toSize: z.int().positive(),
  path: z.array(hexHashSchema),
});

/** An export's consistency proof line. */
export type ConsistencyProofLine = z.infer<typeof consistencyProofLineSchema>;

/** Why a stream failed verification (see verify.ts for each reason). */
export const breakReasonSchema = z.enum([
  'hash-mismatch',
  'payload-mismatch',
  'gap',
  'fork',
  'reorder',
  'bad-signature',
  'unknown-key',
  'inconsistent-checkpoint',
  'checkpoint-root-mismatch',
  'checkpoint-chain-broken',
]);

/** A broken stream's verdict: the first bad seq and why. */
export const verifyBrokenSchema = z.strictObject({
  intact: z.literal(false),
  firstBadSeq: z.int().nonnegative(),
  reason: breakReasonSchema,
  detail: z.string().max(MAX_TEXT_LENGTH),
  checkpointTreeSize: z.int().nonnegative().optional(),
});

/** A verdict: intact with what was verified, or the first break. */
export const verifyResultSchema = z.discriminatedUnion('intact', [
  z.strictObject({
    intact: z.literal(true),
    entries: z.int().nonnegative(),
    checkpoints: z.int().nonnegative(),
    expiredPayloads: z.int().nonnegative(),
    proofs: z.int().nonnegative(),
    checkpointedEntries: z.int().nonnegative(),
  }),
  verifyBrokenSchema,
]);

/** Where a chain walk stands (`WalkPosition` in chain-walk.ts), as stored between invocations. */
export const walkPositionSchema = z.strictObject({
  from: z.int().nonnegative(),
  next: z.int().nonnegative(),
  lastHash: hexHashSchema.nullable(),
  frontier: z.array(hexHashSchema).max(64).nullable(),
  expired: z.int().nonnegative(),
  rootMismatch: z.int().nonnegative().nullable(),
  failure: verifyBrokenSchema.nullable(),
});

/** An export to S3's id: its start (UTC, to the second) and 8 random hex digits, so ids sort by start. */
export const exportIdSchema = z
  .string()
  .regex(/^\d{8}-\d{6}-[0-9a-f]{8}$/, 'must be an export id such as 20250601-120000-1a2b3c4d')
  .max(24);

/** Most entries in one page object of an export to S3. */
export const MAX_EXPORT_PAGE_SIZE = 10_000;

/**
 * An export to S3 in progress or done, as the state table keeps it: the stream's end when it
 * started, the next page to write, and the walk that verifies the stream as it is exported.
 * `step` counts the pages written; every save is compare-and-swap on it, so two requests
 * continuing one export cannot both write its next page.
 */
export const exportJobSchema = z.strictObject({
  exportId: exportIdSchema,
  tenant: tenantSchema,
  stream: streamSchema,
  createdAt: timestampSchema,
  pageSize: z.int().min(1).max(MAX_EXPORT_PAGE_SIZE),
  /** One past the last seq exported: the stream's end (or its latest checkpoint's, if further) at the start. */
  to: z.int().nonnegative(),
  /** Checkpoint lines in the head part. */
  checkpoints: z.int().nonnegative(),
  status: z.enum(['running', 'complete']),
  step: z.int().nonnegative(),
  /** 1-based index of the next page object to write. */
  nextPage: z.int().positive(),
  walk: walkPositionSchema,
  completedAt: timestampSchema.optional(),
  verification: verifyResultSchema.optional(),
  keyIds: z.array(keyIdSchema).optional(),
});

/** An export job's state. */
export type ExportJob = z.infer<typeof exportJobSchema>;

/** The manifest format identifier. */
export const EXPORT_MANIFEST_FORMAT = 'autonomy-audit-export-manifest/1';

/**
 * One object of an export to S3: the head (the header line and every checkpoint line) or a page
 * of entry lines for seqs `from` (inclusive) to `to` (exclusive).
 */
export const exportPartSchema = z.strictObject({
  key: z.string().min(1).max(1024),
  kind: z.enum(['head', 'entries']),
  from: z.int().nonnegative().optional(),
  to: z.int().nonnegative().optional(),
});

/** A part of an export to S3. */
export type ExportPart = z.infer<typeof exportPartSchema>;

/**
 * `manifest.json` of a finished export to S3: its parts in order (concatenated, they are one
 * `autonomy-audit-export/1` file) and the verdict of the walk that wrote them.
 */
export const exportManifestSchema = z.strictObject({
  format: z.literal(EXPORT_MANIFEST_FORMAT),
  exportFormat: z.literal(EXPORT_FORMAT),
  exportId: exportIdSchema,
  tenant: tenantSchema,
  stream: streamSchema,
  from: z.literal(0),
  to: z.int().nonnegative(),
  pageSize: z.int().min(1).max(MAX_EXPORT_PAGE_SIZE),
  createdAt: timestampSchema,
  completedAt: timestampSchema,
  parts: z.array(exportPartSchema),
  verification: verifyResultSchema,
  keyIds: z.array(keyIdSchema),
});

/** An export manifest. */
export type ExportManifest = z.infer<typeof exportManifestSchema>;
