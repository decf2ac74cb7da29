/**
 * In-memory implementations of the Audit ports, for tests and local runs. Every call yields to
 * the event loop before touching state, so concurrent callers really interleave, and `append`
 * is conditional on the seq being free, like the DynamoDB adapter's conditional put.
 */
import { ChainConflictError } from './errors.ts';
import type { CheckpointStore, LedgerStore, PayloadStore } from './ports.ts';
import type { Checkpoint, LedgerEntry, Payload } from './schemas.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const streamKey = (tenant: string, stream: string) => `${tenant}#${stream}`;

/**
 * A `LedgerStore` in memory. `entries(tenant, stream)` exposes the raw stored array so tests can
 * tamper with it.
 *
 * @example const store = new MemoryLedgerStore(); await appendRecord(store, input);
 */
export class MemoryLedgerStore implements LedgerStore {
  readonly #streams = new Map<string, Map<number, LedgerEntry>>();

  /** @throws ChainConflictError when the seq is taken. */
  async append(entry: LedgerEntry): Promise<void> {
    await tick();
    const key = streamKey(entry.tenant, entry.stream);
    const stream = this.#streams.get(key) ?? new Map<number, LedgerEntry>();
    this.#streams.set(key, stream);
    if (stream.has(entry.seq)) throw new ChainConflictError(`seq ${entry.seq} of ${key} is taken`, entry.seq);
    stream.set(entry.seq, structuredClone(entry));
  }

  async read(tenant: string, stream: string, fromSeq: number, toSeq = Number.POSITIVE_INFINITY): Promise<LedgerEntry[]> {
    await tick();
    return this.entries(tenant, stream).filter((entry) => entry.seq >= fromSeq && entry.seq < toSeq);
  }

  async latest(tenant: string, stream: string): Promise<LedgerEntry | undefined> {
    await tick();
    return this.entries(tenant, stream).at(-1);
  }

  /** Copies of the stored entries, ascending by seq (synchronous, for tests). */
  entries(tenant: string, stream: string): LedgerEntry[] {
    const stored = [...(this.#streams.get(streamKey(tenant, stream))?.values() ?? [])];
    return stored.sort((a, b) => a.seq - b.seq).map((entry) => structuredClone(entry));
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

  async latest(tenant: string, stream: string): Promise<Checkpoint | undefined> {
    return (await this.list(tenant, stream)).at(-1);
  }

  async list(tenant: string, stream: string): Promise<Checkpoint[]> {
    await tick();
    return (this.#checkpoints.get(streamKey(tenant, stream)) ?? []).map((checkpoint) => structuredClone(checkpoint));
  }
}
