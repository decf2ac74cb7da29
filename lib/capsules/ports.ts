/**
 * The ports of the Capsules engine: where author keys, the marketplace's names and versions, the
 * proposals waiting to publish, refusals and installs are kept (lib/adapters/aws/capsule-store.ts on
 * the state table; test/helpers/capsules-memory.ts in memory), and where bundles' bytes are kept
 * (the artifacts bucket, by content hash). Every write that reports a step carries its events (an
 * outbox), all or nothing.
 */
import type { BusEvent } from '../events/publisher.ts';
import type { OutboxEntry } from '../governance/proposals.ts';
import type { AuthorKey, CapsuleVersion, Install, ReviewRecord, VersionStatus } from './schemas.ts';

/** A registered author key of a tenant. */
export type StoredAuthorKey = AuthorKey & { tenant: string };

/** A capsule name in the marketplace: its owner, its versions' statuses, its newest published version. */
export interface CapsuleName {
  name: string;
  ownerTenant: string;
  description: string;
  /** The highest published (not deprecated) version by semver precedence, or null. */
  latestVersion: string | null;
  versions: Record<string, VersionStatus>;
  /** The record's own version, for conditional writes. */
  revision: number;
}

/** One write of a version and its name, with the events it reports (recorded in `eventTenant`'s ledger). */
export interface VersionWrite {
  name: CapsuleName;
  /** The name's revision read before (undefined: the name is new). */
  nameRevision: number | undefined;
  version: CapsuleVersion;
  /** The version's revision read before (undefined: new). */
  versionRevision: number | undefined;
  /** The proposal that will publish it, remembered so its settlement finds the version. */
  proposal?: { tenant: string; proposalId: string };
  eventTenant: string;
  events: BusEvent[];
}

/** A refused submission as kept: its review record, no bundle. */
export interface Refusal {
  tenant: string;
  review: ReviewRecord;
  author: string;
  name: string | null;
  version: string | null;
  bundleSha256: string | null;
  reason: string;
  status: number;
}

/** The Capsules engine's state. */
export interface CapsuleStore {
  /** The tenant's author keys (of one subject when given). */
  authorKeys(tenant: string, subject?: string): Promise<StoredAuthorKey[]>;
  /**
   * Writes an author key with its events. @throws ConflictError when `expected` is `'absent'` and the
   * key exists, or when it is a status and the stored key is not in it.
   */
  putAuthorKey(key: StoredAuthorKey, expected: 'absent' | 'active', events: BusEvent[]): Promise<OutboxEntry[]>;
  name(name: string): Promise<CapsuleName | undefined>;
  /** Names in order, after `after` (exclusive), at most `limit`. */
  names(limit: number, after?: string): Promise<CapsuleName[]>;
  version(name: string, version: string): Promise<CapsuleVersion | undefined>;
  /** @throws ConflictError when the name or the version moved since they were read. */
  writeVersion(write: VersionWrite): Promise<OutboxEntry[]>;
  /** The version a tenant's proposal publishes, if it is one. */
  proposalVersion(tenant: string, proposalId: string): Promise<{ name: string; version: string } | undefined>;
  /** Keeps a refusal with its events. */
  putRefusal(refusal: Refusal, events: BusEvent[]): Promise<OutboxEntry[]>;
  installs(tenant: string): Promise<Install[]>;
  install(tenant: string, name: string): Promise<Install | undefined>;
  /** @throws ConflictError when the install moved since it was read (`expectedRevision` undefined: absent). */
  putInstall(next: Install, expectedRevision: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
}

/** Bundles' bytes by key. */
export interface BundleObjects {
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** undefined when there is no such object. */
  get(key: string): Promise<Uint8Array | undefined>;
}
