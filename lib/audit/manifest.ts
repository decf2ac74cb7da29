/**
 * The audit engine: the ledger (hash chains, Merkle proofs, signed checkpoints), its routes and jobs.
 * Ledger table: PutItem (conditional) and Query only, in every role; never UpdateItem or DeleteItem.
 * State-table items by partition-key prefix: <tenant>#audit#streams, #audit#checkpoint-head,
 * #audit#findings, #audit#cursor, #audit#settings, #audit#dedupe#<event>, #audit#keys (each tenant's
 * published public keys; system#audit#keys also holds the stage-wide set of the earlier single ring).
 * Secrets: one per tenant, its private signing key, under <service>/<stage>/audit-signing-keys/.
 * Objects: <tenant>/audit/payloads/<hash>.json, <tenant>/audit/checkpoints/<stream>/<size>.json and
 * <tenant>/audit-exports/<stream>/<exportId>/… (exports to S3; their records: <tenant>#audit#exports).
 */
import { defineEngine, need } from '../engines/manifest.ts';
import {
  checkpointRoute,
  exportRoute,
  exportToS3Route,
  findingsRoute,
  getRetentionRoute,
  keysRoute,
  proofRoute,
  recordRoute,
  rotateKeysRoute,
  setRetentionRoute,
  verifyRoute,
} from './routes.ts';

const PAYLOADS = '*/audit/payloads/*';
const CHECKPOINTS = '*/audit/checkpoints/*';
const EXPORTS = '*/audit-exports/*';
const ledgerAppend = need.table('ledger', ['PutItem', 'Query']);
const ledgerRead = need.table('ledger', ['Query']);
const registry = need.index('state', 'gsi1', ['Query']);
/** The tenant's signing-key secret: read it, create it (the tenant's first key), replace it (rotation). */
const signingKey = need.secrets('auditSigningKeys', ['GetSecretValue', 'CreateSecret', 'PutSecretValue']);
/** Published public keys: each tenant's (`<tenant>#audit#keys`) and the stage-wide legacy set (`system#audit#keys`). */
const PUBLISHED_KEYS = '*#audit#keys';
// Unconditioned: without ListBucket, S3 answers 403 instead of 404 for a payload retention deleted.
const listAll = need.listObjects('artifacts');
const listCheckpoints = need.listObjects('artifacts', [CHECKPOINTS]);
/**
 * Signing a checkpoint: read the new entries, the head and the tenant's key (publishing its public
 * half, retiring the legacy set), write the checkpoint, announce it.
 */
const signing = [
  ledgerRead,
  need.table('state', ['GetItem', 'PutItem'], ['*#audit#checkpoint-head', PUBLISHED_KEYS]),
  need.objects('artifacts', ['GetObject', 'PutObject'], [CHECKPOINTS]),
  listCheckpoints,
  signingKey,
  need.publish(),
];

export const auditEngine = defineEngine({
  name: 'audit',
  description: 'The tamper-evident ledger: hash chains, Merkle proofs, signed checkpoints, compliance findings',
  actions: {
    append: {
      description: "Appends every bus event (audit queue) to its tenant's ledger, once per event id",
      queue: { queue: 'AuditQueue', batchSize: 10, batchingWindow: 1 },
      timeout: 30,
      // The dedupe marker (same transaction as the entry) and the stream registry.
      needs: [ledgerAppend, need.table('state', ['PutItem'], ['*#audit#dedupe#*', '*#audit#streams']), need.objects('artifacts', ['PutObject', 'PutObjectTagging'], [PAYLOADS])],
    },
    record: {
      description: 'POST /audit/record: appends a record from an outside system',
      routes: [recordRoute],
      timeout: 29,
      needs: [ledgerAppend, need.table('state', ['PutItem'], ['*#audit#streams']), need.objects('artifacts', ['PutObject', 'PutObjectTagging'], [PAYLOADS])],
    },
    export: {
      description: 'GET /audit/export: a stream range as JSON Lines with checkpoints and proofs; POST: a whole stream to S3 in pages, verified',
      routes: [exportRoute, exportToS3Route],
      memorySize: 1024,
      timeout: 29,
      needs: [
        ledgerRead,
        need.objects('artifacts', ['GetObject'], [PAYLOADS, CHECKPOINTS]),
        listAll,
        // Exports to S3: their objects (tagged for the exports lifecycle rule), their records, the keys for the verdict.
        need.objects('artifacts', ['GetObject', 'PutObject', 'PutObjectTagging'], [EXPORTS]),
        need.table('state', ['GetItem', 'PutItem'], ['*#audit#exports']),
        need.table('state', ['GetItem', 'Query'], [PUBLISHED_KEYS]),
      ],
    },
    keys: {
      description: "GET /audit/keys (the tenant's published checkpoint keys) and POST /audit/keys (rotation of the tenant's key, its admins)",
      routes: [keysRoute, rotateKeysRoute],
      needs: [need.table('state', ['GetItem', 'PutItem', 'Query'], [PUBLISHED_KEYS]), signingKey],
    },
    verify: {
      description: "GET /audit/verify: walks a stream's chain, payloads and checkpoints",
      routes: [verifyRoute],
      memorySize: 1024,
      timeout: 29,
      needs: [ledgerRead, need.table('state', ['GetItem', 'Query'], [PUBLISHED_KEYS]), need.objects('artifacts', ['GetObject'], [PAYLOADS, CHECKPOINTS]), listAll],
    },
    proof: {
      description: 'GET /audit/proof: inclusion proof of an entry against the latest checkpoint',
      routes: [proofRoute],
      memorySize: 1024,
      timeout: 29,
      needs: [ledgerRead, need.objects('artifacts', ['GetObject'], [CHECKPOINTS]), listCheckpoints],
    },
    checkpoint: {
      description: 'POST /audit/checkpoint: signs a checkpoint of a stream now',
      routes: [checkpointRoute],
      memorySize: 1024,
      timeout: 29,
      needs: signing,
    },
    findings: {
      description: 'GET /audit/findings: compliance findings',
      routes: [findingsRoute],
      memorySize: 256,
      needs: [need.table('state', ['Query'], ['*#audit#findings'])],
    },
    retention: {
      description: "GET and PUT /audit/retention: the tenant's payload retention window",
      routes: [getRetentionRoute, setRetentionRoute],
      memorySize: 256,
      needs: [need.table('state', ['GetItem', 'PutItem'], ['*#audit#settings'])],
    },
    'checkpoint-schedule': {
      description: 'Signs checkpoints of every stream that grew (scheduled)',
      schedule: { param: 'auditCheckpointSchedule' },
      memorySize: 1024,
      timeout: 300,
      needs: [...signing, registry],
    },
    compliance: {
      description: 'Evaluates compliance rules over streams that grew; raises audit.finding.raised (scheduled)',
      schedule: { param: 'auditComplianceSchedule' },
      memorySize: 1024,
      timeout: 300,
      needs: [ledgerRead, registry, need.table('state', ['GetItem', 'PutItem'], ['*#audit#cursor', '*#audit#findings']), need.objects('artifacts', ['GetObject'], [PAYLOADS]), listAll, need.publish()],
    },
    'retention-schedule': {
      description: "Deletes payloads older than each tenant's retention window; entries stay (scheduled)",
      schedule: { param: 'auditRetentionSchedule' },
      memorySize: 1024,
      timeout: 300,
      needs: [
        ledgerRead,
        registry,
        need.table('state', ['GetItem', 'PutItem'], ['*#audit#cursor']),
        need.table('state', ['GetItem'], ['*#audit#settings']),
        need.objects('artifacts', ['DeleteObject'], [PAYLOADS]),
      ],
    },
  },
});
