/**
 * Ports of the Audit engine: what it needs from storage. `lib/adapters/aws/` implements them
 * (DynamoDB for entries, S3 or a table for payloads and checkpoints); `memory-store.ts` implements
 * them in memory for tests and local runs.
 */
import type { Finding } from './compliance.ts';
import type { Checkpoint, ExportJob, LedgerEntry, Payload, PublicKey, PublicKeySet, TenantSigningKey, TreeTip } from './schemas.ts';

/**
 * Append-only storage of ledger entries, keyed by (tenant, stream, seq).
 *
 * Adapters must read `latest` with a strongly consistent read and make `append` conditional on
 * the seq being free (DynamoDB: `attribute_not_exists` on the key). Those two properties are
 * what keep concurrent appenders from forking a stream: `appendRecord` relies on them.
 */
export interface LedgerStore {
  /**
   * Stores `entry` only if no entry exists at its (tenant, stream, seq).
   *
   * @throws ChainConflictError when that seq is taken.
   */
  append(entry: LedgerEntry): Promise<void>;
  /** Entries with `fromSeq ≤ seq < toSeq` (to the end when `toSeq` is omitted), ascending by seq. */
  read(tenant: string, stream: string, fromSeq: number, toSeq?: number): Promise<LedgerEntry[]>;
  /** The entry with the highest seq, or undefined for an empty stream. */
  latest(tenant: string, stream: string): Promise<LedgerEntry | undefined>;
}

/**
 * A ledger store that can also append exactly once per outside id (a bus event's id): the entry
 * and a marker for the id are stored atomically (DynamoDB: one transaction of two conditional
 * puts), so a redelivered event can neither create a second entry nor be lost between two writes.
 */
export interface DedupingLedgerStore extends LedgerStore {
  /**
   * Stores `entry` (conditional on its seq) together with the marker for `dedupeKey`.
   *
   * @throws DuplicateAppendError when the marker exists (nothing stored).
   * @throws ChainConflictError when the seq is taken (nothing stored).
   */
  appendOnce(entry: LedgerEntry, dedupeKey: string): Promise<void>;
}

/** A stream known to the ledger. */
export interface StreamRef {
  tenant: string;
  stream: string;
}

/**
 * The streams that exist, so scheduled jobs (checkpoints, compliance, retention) find them without
 * scanning the ledger. A stream is registered before its first entry is stored.
 */
export interface StreamRegistry {
  /** Idempotent. */
  register(ref: StreamRef): Promise<void>;
  /** Every registered stream of every tenant. */
  list(): Promise<StreamRef[]>;
}

/**
 * A stream's checkpoint head: its latest signed checkpoint and the tree tip the next checkpoint
 * resumes from (the Merkle frontier and the last entry's hash; see `treeTipSchema`).
 */
export interface CheckpointHead {
  checkpoint: Checkpoint;
  /**
   * Absent on heads stored before tips were kept: the next checkpoint then walks the stream once
   * from seq 0 and stores one.
   */
  tip?: TreeTip;
}

/**
 * The head of each stream's checkpoints as a compare-and-swap register: the one serialisation
 * point that keeps two signers (the schedule and `POST /audit/checkpoint`) from both chaining a
 * checkpoint to the same predecessor, which would fork the checkpoint chain.
 */
export interface CheckpointHeadStore {
  /** The head (strongly consistent), or undefined before the first checkpoint. */
  get(tenant: string, stream: string): Promise<CheckpointHead | undefined>;
  /**
   * Makes `next` the head if the head's tree size is still `expectedTreeSize` (undefined: no head
   * yet). Resolves false when another signer moved it first.
   */
  advance(next: CheckpointHead, expectedTreeSize: number | undefined): Promise<boolean>;
}

/**
 * Where each tenant's private signing key lives: one secret per tenant in AWS (Secrets Manager),
 * holding only the active key and the public half of the key it replaced (`TenantSigningKey`), so
 * it stays the same size however often the tenant rotates. Changes are compare-and-swap on an
 * opaque version.
 */
export interface SigningKeyStore {
  /** The tenant's key and its version token; `current` undefined (version `''`) before its first key. */
  load(tenant: string): Promise<{ current: TenantSigningKey | undefined; version: string }>;
  /** Stores `next` for `next.tenant` if the stored key is still at `version`; false when another writer got there first. */
  replace(next: TenantSigningKey, version: string): Promise<boolean>;
}

/**
 * Where public keys are published (the state table; read by the keys, verify and export routes and
 * saved for the outside verifier): per tenant, every key that ever signed its checkpoints, one
 * record per key, never deleted, retired keys marked with `retiredAt`. Beside them, read-only but
 * for retirement, the stage-wide set of the single key ring used before keys were per tenant.
 */
export interface PublishedKeyStore {
  /** The tenant's published keys, oldest first. */
  list(tenant: string): Promise<PublicKey[]>;
  /** One published key of the tenant, or undefined. */
  get(tenant: string, keyId: string): Promise<PublicKey | undefined>;
  /** Publishes `key` unless it is published already (it never clears a `retiredAt`). */
  add(tenant: string, key: PublicKey): Promise<void>;
  /** Marks `key` retired at its `retiredAt` (publishing it so if missing), unless it is retired already. */
  retire(tenant: string, key: PublicKey & { retiredAt: string }): Promise<void>;
  /** The stage-wide key set of the earlier single key ring (it signed checkpoints of every tenant), if there is one. */
  legacy(): Promise<{ keys: PublicKeySet; generation: number } | undefined>;
  /** Replaces the stage-wide set unless one of the same or a later generation is there (a no-op then). */
  putLegacy(keys: PublicKeySet, generation: number): Promise<void>;
}

/** A finding as stored and listed. */
export interface StoredFinding extends Finding {
  tenant: string;
  stream: string;
  raisedAt: string;
}

/** Compliance findings, one per (stream, seq, rule). */
export interface FindingStore {
  /** Stores the finding unless it was stored before; resolves true when it is new. */
  add(finding: StoredFinding): Promise<boolean>;
  /** The tenant's findings, optionally of one stream, ordered by stream then seq. */
  list(tenant: string, stream?: string, limit?: number): Promise<StoredFinding[]>;
}

/**
 * Progress markers of the scheduled jobs per stream (`compliance`: entries evaluated;
 * `retention`: first seq not yet expired), and per-tenant settings.
 */
export interface AuditStateStore {
  cursor(ref: StreamRef, job: 'compliance' | 'retention'): Promise<number>;
  setCursor(ref: StreamRef, job: 'compliance' | 'retention', value: number): Promise<void>;
  /** The tenant's retention window in days, when it set one. */
  retentionDays(tenant: string): Promise<number | undefined>;
  setRetentionDays(tenant: string, days: number): Promise<void>;
}

/**
 * Content-addressed payload storage: a payload is stored under its `payloadHash`, so `put` is
 * idempotent and retention can delete it without touching the chain.
 */
export interface PayloadStore {
  put(tenant: string, payloadHash: string, payload: Payload): Promise<void>;
  /** The payload, or undefined when it never existed or retention deleted it. */
  get(tenant: string, payloadHash: string): Promise<Payload | undefined>;
  delete(tenant: string, payloadHash: string): Promise<void>;
}

/** Storage of signed checkpoints, at `checkpointKey(tenant, stream, treeSize)` in S3. */
export interface CheckpointStore {
  put(checkpoint: Checkpoint): Promise<void>;
  /** Whether a checkpoint object of that tree size is stored (one key looked up, not the whole list). */
  has(tenant: string, stream: string, treeSize: number): Promise<boolean>;
  /** The checkpoint with the largest tree size, or undefined when none was signed yet. */
  latest(tenant: string, stream: string): Promise<Checkpoint | undefined>;
  /** Every checkpoint of the stream, ascending by tree size. */
  list(tenant: string, stream: string): Promise<Checkpoint[]>;
}

/**
 * Exports to S3 in progress or done, one record per export (state table:
 * `<tenant>#audit#exports` / `<stream>#<exportId>`), each save compare-and-swap on `step`.
 */
export interface ExportJobStore {
  /** The export (strongly consistent), or undefined when there is none by that id. */
  get(tenant: string, stream: string, exportId: string): Promise<ExportJob | undefined>;
  /**
   * Stores `job` if the stored one is still at step `expectedStep` (undefined: none stored yet).
   * Resolves false when another request saved it first.
   */
  put(job: ExportJob, expectedStep: number | undefined): Promise<boolean>;
}

/** The objects of exports to S3, in the artifacts bucket under `<tenant>/audit-exports/`. */
export interface ExportObjectStore {
  put(key: string, body: string, contentType: string): Promise<void>;
  /** The object's text, or undefined when there is none. */
  get(key: string): Promise<string | undefined>;
}
