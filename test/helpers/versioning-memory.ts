/**
 * An in-memory {@link VersioningStore} with the DynamoDB adapter's contracts
 * (lib/adapters/aws/versioning-store.ts): a tag is conditional on the head's seq and on the version
 * not existing, an update on the record's rev, events saved in the outbox with the write; records
 * are copied in and out (so no test passes by sharing an object with the engine).
 */
import { ConflictError } from '../../lib/errors.ts';
import type { ArtifactHead, VersioningStore } from '../../lib/versioning/ports.ts';
import type { VersionRecord } from '../../lib/versioning/schemas.ts';
import type { MemoryOutbox } from './governance-memory.ts';

/** The store, with its records and S3 objects exposed for assertions. */
export type MemoryVersioningStore = VersioningStore & { records: Map<string, VersionRecord>; objects: Map<string, string> };

/** An in-memory VersioningStore whose events go to `outbox`. */
export function memoryVersioningStore(outbox: Pick<MemoryOutbox, 'save'>): MemoryVersioningStore {
  const heads = new Map<string, ArtifactHead>();
  const records = new Map<string, VersionRecord>();
  const objects = new Map<string, string>();
  const key = (tenant: string, artifact: string, version: string) => `${tenant}/${artifact}@${version}`;
  return {
    records,
    objects,
    async head(tenant, artifact) {
      return structuredClone(heads.get(`${tenant}/${artifact}`));
    },
    async version(tenant, artifact, version) {
      return structuredClone(records.get(key(tenant, artifact, version)));
    },
    async versions(tenant, artifact, limit) {
      return [...records.values()]
        .filter((r) => r.tenant === tenant && r.artifact === artifact)
        .sort((a, b) => a.seq - b.seq)
        .slice(-limit)
        .map(({ body: _b, golden: _g, ...r }) => structuredClone(r));
    },
    async body(record) {
      return record.bodyRef.at === 'inline' ? structuredClone(record.body) : JSON.parse(objects.get(record.bodyRef.key) ?? 'null');
    },
    async putBody(tenant, hash, json) {
      const k = `${tenant}/versioning/bodies/${hash}.json`;
      objects.set(k, json);
      return k;
    },
    async tag(record, expectedSeq, events) {
      const headKey = `${record.tenant}/${record.artifact}`;
      if (heads.get(headKey)?.seq !== expectedSeq || records.has(key(record.tenant, record.artifact, record.version)))
        throw new ConflictError(`${record.artifact} was tagged concurrently`);
      heads.set(headKey, { artifact: record.artifact, kind: record.kind, latest: record.version, seq: record.seq });
      records.set(key(record.tenant, record.artifact, record.version), structuredClone(record));
      return outbox.save(record.tenant, events);
    },
    async update(record, expectedRev, events) {
      const k = key(record.tenant, record.artifact, record.version);
      if (records.get(k)?.rev !== expectedRev) throw new ConflictError(`${record.artifact}@${record.version} changed concurrently`);
      records.set(k, structuredClone(record));
      return outbox.save(record.tenant, events);
    },
  };
}
