/**
 * Ports of the Audit engine: what it needs from storage. `lib/adapters/aws/` implements them
 * (DynamoDB for entries, S3 or a table for payloads and checkpoints); `memory-store.ts` implements
 * them in memory for tests and local runs.
 */
import type { Checkpoint, LedgerEntry, Payload } from './schemas.ts';

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
  /** The checkpoint with the largest tree size, or undefined when none was signed yet. */
  latest(tenant: string, stream: string): Promise<Checkpoint | undefined>;
  /** Every checkpoint of the stream, ascending by tree size. */
  list(tenant: string, stream: string): Promise<Checkpoint[]>;
}
