/**
 * An in-memory SeriesStore with the same contract as the DynamoDB one (conditional writes,
 * tenant-scoped keys, JSON round trip of every record, name-ordered pages). For unit tests, the
 * bench and the replay tooling; not for production.
 */
import { ConflictError, ValidationError } from '../errors.ts';
import { type SeriesPage, type SeriesRecord, type SeriesStore, seriesFacts } from './ports.ts';

/** Rejects when the caller has abandoned the call, as an SDK client does. */
function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
}

/** The in-memory store, with its map exposed for assertions. */
export interface MemorySeriesStore extends SeriesStore {
  readonly items: Map<string, string>;
}

/**
 * Creates an empty in-memory store. `beforePut` runs between the version check's read and the
 * write, so a test can slip a concurrent write in.
 */
export function memorySeriesStore(hooks: { beforePut?: (record: SeriesRecord) => Promise<void> | void } = {}): MemorySeriesStore {
  const items = new Map<string, string>();
  const key = (tenant: string, series: string) => `${tenant}#series\u0000${series}`;
  return {
    items,
    async get(tenant, series, options) {
      checkSignal(options?.signal);
      const text = items.get(key(tenant, series));
      return text === undefined ? undefined : (JSON.parse(text) as SeriesRecord);
    },
    async getMany(tenant, names, options) {
      checkSignal(options?.signal);
      const found = new Map<string, SeriesRecord>();
      for (const series of new Set(names)) {
        const text = items.get(key(tenant, series));
        if (text !== undefined) found.set(series, JSON.parse(text) as SeriesRecord);
      }
      return found;
    },
    async put(record, expectedVersion, options) {
      await hooks.beforePut?.(record);
      checkSignal(options?.signal);
      const text = items.get(key(record.tenant, record.series));
      const stored = text === undefined ? undefined : (JSON.parse(text) as SeriesRecord);
      if (expectedVersion === undefined ? stored !== undefined : stored?.version !== expectedVersion) {
        throw new ConflictError(`Series ${record.series} changed concurrently`);
      }
      items.set(key(record.tenant, record.series), JSON.stringify(record));
    },
    async delete(tenant, series) {
      return items.delete(key(tenant, series));
    },
    async list(tenant, page): Promise<SeriesPage> {
      const prefix = key(tenant, '');
      let after = '';
      if (page.cursor !== undefined) {
        after = Buffer.from(page.cursor, 'base64url').toString('utf8');
        if (after.length === 0) throw new ValidationError([{ path: 'cursor', message: 'not a cursor from a previous page' }]);
      }
      const names = [...items.keys()]
        .filter((k) => k.startsWith(prefix))
        .map((k) => k.slice(prefix.length))
        .filter((name) => name > after)
        .sort();
      const chosen = names.slice(0, page.limit);
      const records = chosen.map((name) => JSON.parse(items.get(key(tenant, name)) as string) as SeriesRecord);
      const out: SeriesPage = {
        items: records.map((record) => {
          const facts = seriesFacts(record);
          return {
            series: record.series,
            detector: record.state.detector,
            version: record.version,
            count: facts.count,
            anomalies: facts.anomalies,
            lastTime: facts.lastTimestamp === null ? null : new Date(facts.lastTimestamp).toISOString(),
            updatedAt: record.updatedAt,
          };
        }),
      };
      const last = chosen.at(-1);
      if (names.length > page.limit && last !== undefined) out.cursor = Buffer.from(last, 'utf8').toString('base64url');
      return out;
    },
  };
}
