/** The Versioning engine's ports: its store (artifact heads, versions, large bodies) and governance's proposal path. */
import type { BusEvent } from '../events/publisher.ts';
import type { OutboxEntry, OutboxPort, ProposalDeps } from '../governance/proposals.ts';
import type { ArtifactKind, VersionRecord } from './schemas.ts';

/** An artifact's head: its kind and latest version. */
export interface ArtifactHead {
  artifact: string;
  kind: ArtifactKind;
  latest: string;
  /** The latest version's seq (the number of versions). */
  seq: number;
}

/** Versioning's state: every write conditional. */
export interface VersioningStore {
  /** The artifact's head, or undefined before its first version. */
  head(tenant: string, artifact: string): Promise<ArtifactHead | undefined>;
  /** One version with its body and golden set, or undefined. */
  version(tenant: string, artifact: string, version: string): Promise<VersionRecord | undefined>;
  /** The artifact's versions, oldest first (the newest `limit`), without bodies or golden sets. */
  versions(tenant: string, artifact: string, limit: number): Promise<VersionRecord[]>;
  /** A version's body (inline, or read from its content-addressed object). */
  body(record: VersionRecord): Promise<unknown>;
  /** Stores a large body by content hash and returns its object key (idempotent: the same bytes, the same key). */
  putBody(tenant: string, hash: string, json: string): Promise<string>;
  /**
   * Saves a new version and moves the head to it with the events (an outbox), in one transaction.
   * @throws ConflictError when the head is no longer at `expectedSeq` (undefined: absent) or the version exists.
   */
  tag(record: VersionRecord, expectedSeq: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
  /**
   * Replaces a version's gate or approval with the events, conditional on its `rev` (the record carries `rev + 1`).
   * @throws ConflictError when the version changed meanwhile.
   */
  update(record: VersionRecord, expectedRev: number, events: BusEvent[]): Promise<OutboxEntry[]>;
}

/** What the Versioning engine needs. */
export interface VersioningDeps {
  store: VersioningStore;
  /** Governance's outbox: records entries in the ledger and publishes them. */
  outbox: OutboxPort;
  /** Governance's proposal path (the engine supplies each proposal's id). */
  governance: Omit<ProposalDeps, 'now' | 'newId'>;
  now: () => Date;
}
