/**
 * The Audit engine's ports in a deployed function, built once per container from the
 * environment: the ledger table, the artifacts bucket, the state table, the signing-key secret
 * and the bus. Each function uses only what its role allows.
 */
import type { SigningKey } from '../../audit/checkpoint.ts';
import type { CheckpointDeps, ReadDeps, RecordDeps } from '../../audit/engine.ts';
import type { ExportDeps } from '../../audit/export-job.ts';
import { ensureSigningKey, publishKeyRing } from '../../audit/keys.ts';
import { config } from '../../config.ts';
import { validatingPublisher } from '../../events/publisher.ts';
import { DynamoExportJobs, S3ExportObjects } from './audit-exports.ts';
import { S3CheckpointStore, S3PayloadStore } from './audit-objects.ts';
import { SecretsManagerKeyRingStore } from './audit-keys.ts';
import { DynamoLedgerStore } from './audit-ledger.ts';
import { DynamoAuditSettings, DynamoCheckpointHeads, DynamoFindingStore, DynamoPublishedKeys, DynamoStreamRegistry } from './audit-state.ts';
import { dynamoClient, eventBridgeClient, s3Client, secretsManagerClient } from './clients.ts';
import { eventBridgePutEvents } from './event-publisher.ts';

function required(name: 'LEDGER_TABLE' | 'AUDIT_SIGNING_SECRET'): string {
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

/** The key ring in Secrets Manager. */
export function auditKeyRing(): SecretsManagerKeyRingStore {
  return new SecretsManagerKeyRingStore(secretsManagerClient(), required('AUDIT_SIGNING_SECRET'));
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

/**
 * The active signing key, read from the secret (creating the first key when the ring is empty)
 * and keeping the published public keys up to date.
 */
export async function activeSigningKey(now: () => Date): Promise<SigningKey> {
  const { key, ring } = await ensureSigningKey(auditKeyRing(), { now });
  await publishKeyRing(ring, auditState().publishedKeys);
  return key;
}

/**
 * What checkpointing needs, for one invocation: the key is read once, when first needed, and
 * never kept beyond the invocation. A rotation retires the old key with a grace longer than any
 * audit function runs (`ROTATION_GRACE_MS`), so checkpoints signed with a key read just before
 * a rotation still verify.
 */
export function checkpointDeps(now: () => Date = () => new Date()): CheckpointDeps {
  let key: Promise<SigningKey> | undefined;
  return {
    ledger: auditLedger(),
    checkpoints: auditCheckpoints(),
    heads: auditState().heads,
    signingKey: () => {
      key ??= activeSigningKey(now);
      return key;
    },
    now,
    publisher: auditPublisher(),
  };
}
