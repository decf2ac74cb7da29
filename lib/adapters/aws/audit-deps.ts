/**
 * The Audit engine's ports in a deployed function, built once per container from the
 * environment: the ledger table, the artifacts bucket, the state table, the tenants' signing-key
 * secrets and the bus. Each function uses only what its role allows.
 */
import type { SigningKey } from '../../audit/checkpoint.ts';
import type { CheckpointDeps, ReadDeps, RecordDeps } from '../../audit/engine.ts';
import type { ExportDeps } from '../../audit/export-job.ts';
import { retireLegacyKeys, type TenantKeyStores, tenantSigningKey } from '../../audit/keys.ts';
import { config } from '../../config.ts';
import { validatingPublisher } from '../../events/publisher.ts';
import { DynamoExportJobs, S3ExportObjects } from './audit-exports.ts';
import { S3CheckpointStore, S3PayloadStore } from './audit-objects.ts';
import { SecretsManagerSigningKeyStore } from './audit-keys.ts';
import { DynamoLedgerStore } from './audit-ledger.ts';
import { DynamoAuditSettings, DynamoCheckpointHeads, DynamoFindingStore, DynamoPublishedKeys, DynamoStreamRegistry } from './audit-state.ts';
import { dynamoClient, eventBridgeClient, s3Client, secretsManagerClient } from './clients.ts';
import { eventBridgePutEvents } from './event-publisher.ts';

function required(name: 'LEDGER_TABLE' | 'AUDIT_SIGNING_KEY_PREFIX'): string {
  const value = config()[name];
  if (value === undefined) throw new Error(`Invalid function environment: ${name} is not set (lib/audit/manifest.ts)`);
  return value;
}

let ledger: DynamoLedgerStore | undefined;
let payloads: S3PayloadStore | undefined;
let checkpoints: S3CheckpointStore | undefined;

let appender: DynamoLedgerStore | undefined;

/** The ledger table (entries; PutItem and Query only), read with strongly consistent queries. */
export function auditLedger(): DynamoLedgerStore {
  ledger ??= new DynamoLedgerStore(dynamoClient(), { ledgerTable: required('LEDGER_TABLE'), stateTable: config().STATE_TABLE });
  return ledger;
}

/** The ledger for appenders: the same table, remembering the heads this container appended. */
export function auditAppender(): DynamoLedgerStore {
  appender ??= new DynamoLedgerStore(dynamoClient(), { ledgerTable: required('LEDGER_TABLE'), stateTable: config().STATE_TABLE, cacheHeads: true });
  return appender;
}

/** Payloads in the artifacts bucket. */
export function auditPayloads(): S3PayloadStore {
  payloads ??= new S3PayloadStore(s3Client(), config().ARTIFACTS_BUCKET);
  return payloads;
}

/** Checkpoints in the artifacts bucket. */
export function auditCheckpoints(): S3CheckpointStore {
  checkpoints ??= new S3CheckpointStore(s3Client(), config().ARTIFACTS_BUCKET);
  return checkpoints;
}

/** The stream registry, checkpoint heads, findings, cursors, settings and published keys (state table). */
export function auditState() {
  const table = config().STATE_TABLE;
  const client = dynamoClient();
  return {
    registry: new DynamoStreamRegistry(client, table),
    heads: new DynamoCheckpointHeads(client, table),
    findings: new DynamoFindingStore(client, table),
    settings: new DynamoAuditSettings(client, table),
    publishedKeys: new DynamoPublishedKeys(client, table),
  };
}

/** Each tenant's signing key (one Secrets Manager secret per tenant) and the published public keys (state table). */
export function auditKeyStores(): TenantKeyStores {
  const keys = new SecretsManagerSigningKeyStore(secretsManagerClient(), required('AUDIT_SIGNING_KEY_PREFIX'));
  return { keys, published: auditState().publishedKeys };
}

/** The validating publisher on the stage's bus. */
export function auditPublisher() {
  return validatingPublisher(eventBridgePutEvents(eventBridgeClient(), config().EVENT_BUS_NAME));
}

/** What recording needs. */
export function recordDeps(): RecordDeps & { ledger: DynamoLedgerStore } {
  return { ledger: auditAppender(), payloads: auditPayloads(), registry: auditState().registry };
}

/** What reading back (verify, export) needs. */
export function readDeps(): ReadDeps {
  return { ledger: auditLedger(), payloads: auditPayloads(), checkpoints: auditCheckpoints(), publishedKeys: auditState().publishedKeys };
}

let exportObjects: S3ExportObjects | undefined;

/** What an export to S3 needs: reading back, its records in the state table, its objects in the artifacts bucket. */
export function exportDeps(now: () => Date = () => new Date()): ExportDeps {
  exportObjects ??= new S3ExportObjects(s3Client(), config().ARTIFACTS_BUCKET);
  return { ...readDeps(), jobs: new DynamoExportJobs(dynamoClient(), config().STATE_TABLE), objects: exportObjects, now };
}

// Once the stage-wide keys of the earlier single ring are seen retired, this container stops looking.
let legacyRetired = false;

/**
 * Retires the stage-wide keys of the earlier single ring if they are not yet (once per container
 * after it finds them retired): signers and rotations call it, so they stop signing new history
 * soon after this version is deployed, while what they signed still verifies.
 */
export async function settleLegacyKeys(now: Date): Promise<void> {
  if (legacyRetired) return;
  await retireLegacyKeys(auditState().publishedKeys, now);
  legacyRetired = true;
}

/** The tenant's active signing key, read from its secret (its first key created when it has none) and published. */
export async function activeSigningKey(tenant: string, now: () => Date): Promise<SigningKey> {
  await settleLegacyKeys(now());
  return tenantSigningKey(auditKeyStores(), tenant, { now });
}

/**
 * What checkpointing needs, for one invocation: each tenant's key is read from that tenant's
 * secret once, when first needed, and never kept beyond the invocation. A rotation retires the old
 * key with a grace longer than any audit function runs (`ROTATION_GRACE_MS`), so checkpoints
 * signed with a key read just before a rotation still verify.
 */
export function checkpointDeps(now: () => Date = () => new Date()): CheckpointDeps {
  const keys = new Map<string, Promise<SigningKey>>();
  return {
    ledger: auditLedger(),
    checkpoints: auditCheckpoints(),
    heads: auditState().heads,
    signingKey: (tenant) => {
      let key = keys.get(tenant);
      if (key === undefined) {
        key = activeSigningKey(tenant, now);
        // A failed read is not kept: the next stream of the tenant tries again.
        key.catch(() => keys.delete(tenant));
        keys.set(tenant, key);
      }
      return key;
    },
    now,
    publisher: auditPublisher(),
  };
}
