/**
 * In-memory implementations of the Audit ports, for tests and local runs. Every call yields to
 * the event loop before touching state, so concurrent callers really interleave, and `append`
 * is conditional on the seq being free, like the DynamoDB adapter's conditional put.
 */
import { ChainConflictError, DuplicateAppendError } from './errors.ts';
import { parseTenantSigningKey, serializeTenantSigningKey } from './keys.ts';
import type {
  AuditStateStore,
  CheckpointHead,
  CheckpointHeadStore,
  CheckpointStore,
  DedupingLedgerStore,
  ExportJobStore,
  ExportObjectStore,
  FindingStore,
  PayloadStore,
  PublishedKeyStore,
  SigningKeyStore,
  StoredFinding,
  StreamRef,
  StreamRegistry,
} from './ports.ts';
import type { Checkpoint, ExportJob, LedgerEntry, Payload, PublicKey, PublicKeySet, TenantSigningKey } from './schemas.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const streamKey = (tenant: string, stream: string) => `${tenant}#${stream}`;

/** One stream's entries by seq, and the highest seq stored (−1 when none). */
interface MemoryStream {
  bySeq: Map<number, LedgerEntry>;
  maxSeq: number;
}

// Entries are flat records of strings and numbers: a spread is a full copy, and far cheaper than
// structuredClone for the big streams the checkpoint bench builds.
const copyEntry = (entry: LedgerEntry): LedgerEntry => ({ ...entry });

/**
 * A `LedgerStore` in memory. Reads cost the range read, not the stream, like a keyed query.
 * `entries(tenant, stream)` returns copies of what is stored; `remove` and `load` let tests and
 * benches tamper with it or fill it quickly.
 *
 * @example const store = new MemoryLedgerStore(); await appendRecord(store, input);
 */
export class MemoryLedgerStore implements DedupingLedgerStore {
  readonly #streams = new Map<string, MemoryStream>();
  readonly #seen = new Set<string>();

  /**
   * Stores the entry and remembers `dedupeKey`, both or neither.
   * @throws DuplicateAppendError when the key was seen; ChainConflictError when the seq is taken.
   */
  async appendOnce(entry: LedgerEntry, dedupeKey: string): Promise<void> {
    await tick();
    const key = `${entry.tenant}#${dedupeKey}`;
    if (this.#seen.has(key)) throw new DuplicateAppendError(dedupeKey);
    if (this.#streams.get(streamKey(entry.tenant, entry.stream))?.bySeq.has(entry.seq)) {
      throw new ChainConflictError(`seq ${entry.seq} of ${streamKey(entry.tenant, entry.stream)} is taken`, entry.seq);
    }
    this.#seen.add(key);
    await this.append(entry);
  }

  /** Removes an entry (tests that tamper with the stored chain). */
  remove(tenant: string, stream: string, seq: number): void {
    const stored = this.#streams.get(streamKey(tenant, stream));
    if (stored === undefined || !stored.bySeq.delete(seq) || seq !== stored.maxSeq) return;
    stored.maxSeq = -1;
    for (const kept of stored.bySeq.keys()) if (kept > stored.maxSeq) stored.maxSeq = kept;
  }

  /** @throws ChainConflictError when the seq is taken. */
  async append(entry: LedgerEntry): Promise<void> {
    await tick();
    this.#store(entry);
  }

  /**
   * Stores entries at once, each conditional on its seq like `append` (benches and tests that
   * need a big stream quickly; no hashing, no checks of the chain).
   *
   * @throws ChainConflictError at the first seq that is taken.
   */
  load(entries: Iterable<LedgerEntry>): void {
    for (const entry of entries) this.#store(entry);
  }

  #store(entry: LedgerEntry): void {
    const key = streamKey(entry.tenant, entry.stream);
    let stored = this.#streams.get(key);
    if (stored === undefined) {
      stored = { bySeq: new Map(), maxSeq: -1 };
      this.#streams.set(key, stored);
    }
    if (stored.bySeq.has(entry.seq)) throw new ChainConflictError(`seq ${entry.seq} of ${key} is taken`, entry.seq);
    stored.bySeq.set(entry.seq, copyEntry(entry));
    if (entry.seq > stored.maxSeq) stored.maxSeq = entry.seq;
  }

  async read(tenant: string, stream: string, fromSeq: number, toSeq = Number.POSITIVE_INFINITY): Promise<LedgerEntry[]> {
    await tick();
    const stored = this.#streams.get(streamKey(tenant, stream));
    if (stored === undefined) return [];
    const first = Math.max(0, Math.ceil(fromSeq));
    const end = Math.min(toSeq, stored.maxSeq + 1);
    if (end - first > stored.bySeq.size) return this.entries(tenant, stream).filter((entry) => entry.seq >= fromSeq && entry.seq < toSeq);
    const entries: LedgerEntry[] = [];
    for (let seq = first; seq < end; seq += 1) {
      const entry = stored.bySeq.get(seq);
      if (entry !== undefined) entries.push(copyEntry(entry));
    }
    return entries;
  }

  async latest(tenant: string, stream: string): Promise<LedgerEntry | undefined> {
    await tick();
    const stored = this.#streams.get(streamKey(tenant, stream));
    const entry = stored?.bySeq.get(stored.maxSeq);
    return entry === undefined ? undefined : copyEntry(entry);
  }

  /** Copies of the stored entries, ascending by seq (synchronous, for tests). */
  entries(tenant: string, stream: string): LedgerEntry[] {
    const stored = [...(this.#streams.get(streamKey(tenant, stream))?.bySeq.values() ?? [])];
    return stored.sort((a, b) => a.seq - b.seq).map(copyEntry);
  }
}

/** A `PayloadStore` in memory. */
export class MemoryPayloadStore implements PayloadStore {
  readonly #payloads = new Map<string, Payload>();

  async put(tenant: string, payloadHash: string, payload: Payload): Promise<void> {
    await tick();
    this.#payloads.set(`${tenant}#${payloadHash}`, structuredClone(payload));
  }

  async get(tenant: string, payloadHash: string): Promise<Payload | undefined> {
    await tick();
    const payload = this.#payloads.get(`${tenant}#${payloadHash}`);
    return payload === undefined ? undefined : structuredClone(payload);
  }

  async delete(tenant: string, payloadHash: string): Promise<void> {
    await tick();
    this.#payloads.delete(`${tenant}#${payloadHash}`);
  }
}

/** A `CheckpointStore` in memory. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #checkpoints = new Map<string, Checkpoint[]>();

  async put(checkpoint: Checkpoint): Promise<void> {
    await tick();
    const key = streamKey(checkpoint.tenant, checkpoint.stream);
    const list = (this.#checkpoints.get(key) ?? []).filter((stored) => stored.treeSize !== checkpoint.treeSize);
    list.push(structuredClone(checkpoint));
    list.sort((a, b) => a.treeSize - b.treeSize);
    this.#checkpoints.set(key, list);
  }

  async has(tenant: string, stream: string, treeSize: number): Promise<boolean> {
    await tick();
    return (this.#checkpoints.get(streamKey(tenant, stream)) ?? []).some((stored) => stored.treeSize === treeSize);
  }

  async latest(tenant: string, stream: string): Promise<Checkpoint | undefined> {
    return (await this.list(tenant, stream)).at(-1);
  }

  async list(tenant: string, stream: string): Promise<Checkpoint[]> {
    await tick();
    return (this.#checkpoints.get(streamKey(tenant, stream)) ?? []).map((checkpoint) => structuredClone(checkpoint));
  }
}

/** A `StreamRegistry` in memory. */
export class MemoryStreamRegistry implements StreamRegistry {
  readonly #refs = new Map<string, StreamRef>();

  async register(ref: StreamRef): Promise<void> {
    await tick();
    this.#refs.set(streamKey(ref.tenant, ref.stream), { tenant: ref.tenant, stream: ref.stream });
  }

  async list(): Promise<StreamRef[]> {
    await tick();
    return [...this.#refs.values()];
  }
}

/** A `CheckpointHeadStore` in memory (compare-and-swap on the tree size). */
export class MemoryCheckpointHeadStore implements CheckpointHeadStore {
  readonly #heads = new Map<string, CheckpointHead>();

  async get(tenant: string, stream: string): Promise<CheckpointHead | undefined> {
    await tick();
    const head = this.#heads.get(streamKey(tenant, stream));
    return head === undefined ? undefined : structuredClone(head);
  }

  async advance(next: CheckpointHead, expectedTreeSize: number | undefined): Promise<boolean> {
    await tick();
    const key = streamKey(next.checkpoint.tenant, next.checkpoint.stream);
    if (this.#heads.get(key)?.checkpoint.treeSize !== expectedTreeSize) return false;
    this.#heads.set(key, structuredClone(next));
    return true;
  }

  /** Replaces a head as stored (tests that tamper with it or write a legacy head). */
  set(head: CheckpointHead): void {
    this.#heads.set(streamKey(head.checkpoint.tenant, head.checkpoint.stream), structuredClone(head));
  }
}

/** What Secrets Manager accepts as a secret value, in bytes; the memory store refuses more, as it does. */
export const SECRET_VALUE_MAX_BYTES = 65_536;

/**
 * A `SigningKeyStore` in memory: one "secret" per tenant, kept as the text the Secrets Manager
 * adapter would store, refused over {@link SECRET_VALUE_MAX_BYTES} as Secrets Manager refuses it.
 * The version is a counter per tenant.
 */
export class MemorySigningKeyStore implements SigningKeyStore {
  readonly #secrets = new Map<string, { text: string; version: number }>();

  async load(tenant: string): Promise<{ current: TenantSigningKey | undefined; version: string }> {
    await tick();
    const secret = this.#secrets.get(tenant);
    return secret === undefined ? { current: undefined, version: '' } : { current: parseTenantSigningKey(secret.text, tenant), version: String(secret.version) };
  }

  async replace(next: TenantSigningKey, version: string): Promise<boolean> {
    const text = serializeTenantSigningKey(next);
    await tick();
    const stored = this.#secrets.get(next.tenant);
    if (version !== (stored === undefined ? '' : String(stored.version))) return false;
    if (Buffer.byteLength(text) > SECRET_VALUE_MAX_BYTES) throw new Error(`the secret value exceeds ${SECRET_VALUE_MAX_BYTES} bytes`);
    this.#secrets.set(next.tenant, { text, version: (stored?.version ?? 0) + 1 });
    return true;
  }

  /** The stored secret's size in bytes (0 when the tenant has none): what Secrets Manager would hold. */
  bytes(tenant: string): number {
    const secret = this.#secrets.get(tenant);
    return secret === undefined ? 0 : Buffer.byteLength(secret.text);
  }

  /** Every tenant's stored secret text (tests that look for a key in any secret). */
  texts(): string[] {
    return [...this.#secrets.values()].map((secret) => secret.text);
  }
}

/** A `PublishedKeyStore` in memory. */
export class MemoryPublishedKeyStore implements PublishedKeyStore {
  readonly #keys = new Map<string, Map<string, PublicKey>>();
  #legacy: { keys: PublicKeySet; generation: number } | undefined;

  #tenant(tenant: string): Map<string, PublicKey> {
    let keys = this.#keys.get(tenant);
    if (keys === undefined) {
      keys = new Map();
      this.#keys.set(tenant, keys);
    }
    return keys;
  }

  async list(tenant: string): Promise<PublicKey[]> {
    await tick();
    return structuredClone([...(this.#keys.get(tenant)?.values() ?? [])]).sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId),
    );
  }

  async get(tenant: string, keyId: string): Promise<PublicKey | undefined> {
    await tick();
    const key = this.#keys.get(tenant)?.get(keyId);
    return key === undefined ? undefined : structuredClone(key);
  }

  async add(tenant: string, key: PublicKey): Promise<void> {
    await tick();
    const keys = this.#tenant(tenant);
    if (!keys.has(key.keyId)) keys.set(key.keyId, structuredClone(key));
  }

  async retire(tenant: string, key: PublicKey & { retiredAt: string }): Promise<void> {
    await tick();
    const keys = this.#tenant(tenant);
    if (keys.get(key.keyId)?.retiredAt === undefined) keys.set(key.keyId, structuredClone(key));
  }

  async legacy(): Promise<{ keys: PublicKeySet; generation: number } | undefined> {
    await tick();
    return this.#legacy === undefined ? undefined : structuredClone(this.#legacy);
  }

  async putLegacy(keys: PublicKeySet, generation: number): Promise<void> {
    await tick();
    if (this.#legacy !== undefined && this.#legacy.generation >= generation) return;
    this.#legacy = { keys: structuredClone(keys), generation };
  }

  /** Publishes every key of `keys` for `tenant` as given (tests that build a stream with their own keys). */
  async publishAll(tenant: string, keys: PublicKeySet): Promise<void> {
    for (const key of keys.keys) await this.add(tenant, key);
  }
}

/** A `FindingStore` in memory. */
export class MemoryFindingStore implements FindingStore {
  readonly #findings = new Map<string, StoredFinding>();

  async add(finding: StoredFinding): Promise<boolean> {
    await tick();
    const key = `${finding.tenant}#${finding.stream}#${String(finding.seq).padStart(16, '0')}#${finding.ruleId}`;
    if (this.#findings.has(key)) return false;
    this.#findings.set(key, structuredClone(finding));
    return true;
  }

  async list(tenant: string, stream?: string, limit = 1000): Promise<StoredFinding[]> {
    await tick();
    return [...this.#findings.entries()]
      .filter(([, finding]) => finding.tenant === tenant && (stream === undefined || finding.stream === stream))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .slice(0, limit)
      .map(([, finding]) => structuredClone(finding));
  }
}

/** An `AuditStateStore` in memory. */
export class MemoryAuditStateStore implements AuditStateStore {
  readonly #cursors = new Map<string, number>();
  readonly #retention = new Map<string, number>();

  async cursor(ref: StreamRef, job: 'compliance' | 'retention'): Promise<number> {
    await tick();
    return this.#cursors.get(`${streamKey(ref.tenant, ref.stream)}#${job}`) ?? 0;
  }

  async setCursor(ref: StreamRef, job: 'compliance' | 'retention', value: number): Promise<void> {
    await tick();
    this.#cursors.set(`${streamKey(ref.tenant, ref.stream)}#${job}`, value);
  }

  async retentionDays(tenant: string): Promise<number | undefined> {
    await tick();
    return this.#retention.get(tenant);
  }

  async setRetentionDays(tenant: string, days: number): Promise<void> {
    await tick();
    this.#retention.set(tenant, days);
  }
}

/** An `ExportJobStore` in memory (compare-and-swap on the step). */
export class MemoryExportJobStore implements ExportJobStore {
  readonly #jobs = new Map<string, ExportJob>();

  async get(tenant: string, stream: string, exportId: string): Promise<ExportJob | undefined> {
    await tick();
    const job = this.#jobs.get(`${streamKey(tenant, stream)}#${exportId}`);
    return job === undefined ? undefined : structuredClone(job);
  }

  async put(job: ExportJob, expectedStep: number | undefined): Promise<boolean> {
    await tick();
    const key = `${streamKey(job.tenant, job.stream)}#${job.exportId}`;
    if (this.#jobs.get(key)?.step !== expectedStep) return false;
    this.#jobs.set(key, structuredClone(job));
    return true;
  }
}

/** An `ExportObjectStore` in memory; `keys()` lists what was written. */
export class MemoryExportObjectStore implements ExportObjectStore {
  readonly #objects = new Map<string, { body: string; contentType: string }>();

  async put(key: string, body: string, contentType: string): Promise<void> {
    await tick();
    this.#objects.set(key, { body, contentType });
  }

  async get(key: string): Promise<string | undefined> {
    await tick();
    return this.#objects.get(key)?.body;
  }

  /** Keys written, sorted (synchronous, for tests). */
  keys(): string[] {
    return [...this.#objects.keys()].sort();
  }

  /** The content type an object was written with (synchronous, for tests). */
  contentType(key: string): string | undefined {
    return this.#objects.get(key)?.contentType;
  }
}
