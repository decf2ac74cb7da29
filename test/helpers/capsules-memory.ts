/**
 * The Capsules engine's ports in memory, with the DynamoDB adapter's conditions (a write at a moved
 * revision is a ConflictError), each write saving its events to a {@link MemoryOutbox}.
 */
import type { BundleObjects, CapsuleName, CapsuleStore, Refusal, StoredAuthorKey } from '../../lib/capsules/ports.ts';
import type { CapsuleVersion, Install } from '../../lib/capsules/schemas.ts';
import { ConflictError } from '../../lib/errors.ts';
import type { MemoryOutbox } from './governance-memory.ts';

/** A {@link CapsuleStore} on Maps, its maps exposed for assertions. */
export interface MemoryCapsuleStore extends CapsuleStore {
  keys: Map<string, StoredAuthorKey>;
  namesOf: Map<string, CapsuleName>;
  versionsOf: Map<string, CapsuleVersion>;
  proposals: Map<string, { name: string; version: string }>;
  refusals: Refusal[];
  installsOf: Map<string, Install>;
}

export function memoryCapsuleStore(outbox: MemoryOutbox): MemoryCapsuleStore {
  const keys = new Map<string, StoredAuthorKey>();
  const namesOf = new Map<string, CapsuleName>();
  const versionsOf = new Map<string, CapsuleVersion>();
  const proposals = new Map<string, { name: string; version: string }>();
  const refusals: Refusal[] = [];
  const installsOf = new Map<string, Install>();
  const clone = structuredClone;
  return {
    keys,
    namesOf,
    versionsOf,
    proposals,
    refusals,
    installsOf,
    async authorKeys(tenant, subject) {
      return [...keys.values()]
        .filter((key) => key.tenant === tenant && (subject === undefined || key.subject === subject))
        .map((item) => clone(item));
    },
    async putAuthorKey(key, expected, events) {
      const id = `${key.tenant}/${key.subject}/${key.keyId}`;
      const stored = keys.get(id);
      if (expected === 'absent' ? stored !== undefined : stored?.status !== 'active') throw new ConflictError(`key ${key.keyId} moved`);
      keys.set(id, clone(key));
      return outbox.save(key.tenant, events);
    },
    async name(name) {
      const found = namesOf.get(name);
      return found && clone(found);
    },
    async names(limit, after) {
      return [...namesOf.values()]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .filter((name) => after === undefined || name.name > after)
        .slice(0, limit)
        .map((item) => clone(item));
    },
    async version(name, version) {
      const found = versionsOf.get(`${name}#${version}`);
      return found && clone(found);
    },
    async writeVersion(write) {
      const versionKey = `${write.version.name}#${write.version.version}`;
      if (namesOf.get(write.name.name)?.revision !== write.nameRevision) throw new ConflictError(`name ${write.name.name} moved`);
      if (versionsOf.get(versionKey)?.revision !== write.versionRevision) throw new ConflictError(`version ${versionKey} moved`);
      if (write.proposal && proposals.has(`${write.proposal.tenant}/${write.proposal.proposalId}`))
        throw new ConflictError('proposal mapped twice');
      namesOf.set(write.name.name, clone(write.name));
      versionsOf.set(versionKey, clone(write.version));
      if (write.proposal)
        proposals.set(`${write.proposal.tenant}/${write.proposal.proposalId}`, {
          name: write.version.name,
          version: write.version.version,
        });
      return outbox.save(write.eventTenant, write.events);
    },
    async proposalVersion(tenant, proposalId) {
      return proposals.get(`${tenant}/${proposalId}`);
    },
    async putRefusal(refusal, events) {
      refusals.push(clone(refusal));
      return outbox.save(refusal.tenant, events);
    },
    async installs(tenant) {
      return [...installsOf.values()].filter((install) => install.tenant === tenant).map((item) => clone(item));
    },
    async install(tenant, name) {
      const found = installsOf.get(`${tenant}/${name}`);
      return found && clone(found);
    },
    async putInstall(next, expectedRevision, events) {
      if (installsOf.get(`${next.tenant}/${next.name}`)?.revision !== expectedRevision)
        throw new ConflictError(`install ${next.name} moved`);
      installsOf.set(`${next.tenant}/${next.name}`, clone(next));
      return outbox.save(next.tenant, events);
    },
  };
}

/** Bundles' bytes on a Map. */
export function memoryObjects(): BundleObjects & { objects: Map<string, Uint8Array> } {
  const objects = new Map<string, Uint8Array>();
  return {
    objects,
    async put(key, bytes) {
      objects.set(key, Uint8Array.from(bytes));
    },
    async get(key) {
      const found = objects.get(key);
      return found && Uint8Array.from(found);
    },
  };
}
