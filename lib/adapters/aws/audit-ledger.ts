/**
 * The ledger on DynamoDB: one item per entry in the dedicated ledger table, pk `<tenant>#<stream>`,
 * sort key `seq` (a number). Appends are `PutItem` with `attribute_not_exists(pk)`, so a taken seq
 * is refused and no entry is ever overwritten; the functions' roles hold no UpdateItem or
 * DeleteItem on the table. Appends from the bus write the entry and a dedupe marker (state table)
 * in one transaction of two conditional puts — still only PutItem in IAM terms.
 *
 * Items are returned as stored, without validation: verification must be able to report a
 * tampered entry, not fail to read it. SDK failures map through lib/adapters/aws/errors.ts
 * (throttling and faults: DependencyError).
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, type QueryCommandInput, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ChainConflictError, DuplicateAppendError } from '../../audit/errors.ts';
import type { DedupingLedgerStore } from '../../audit/ports.ts';
import type { LedgerEntry } from '../../audit/schemas.ts';
import { ConflictError } from '../../errors.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';

/** The partition key of a stream. */
export const ledgerPk = (tenant: string, stream: string) => `${tenant}#${stream}`;

/** The state-table key of the dedupe marker of an outside id (a bus event id). */
export const dedupeMarkerKey = (tenant: string, dedupeKey: string) => ({ pk: `${tenant}#audit#dedupe#${dedupeKey}`, sk: 'marker' });

/** How long a dedupe marker is kept: beyond SQS's 14-day retention plus a DLQ redrive of 14 more. */
export const DEDUPE_MARKER_DAYS = 35;

function entryOf(item: Record<string, unknown>): LedgerEntry {
  const { pk: _pk, ...entry } = item;
  return entry as LedgerEntry;
}

/** Options of {@link DynamoLedgerStore}. */
export interface DynamoLedgerStoreOptions {
  ledgerTable: string;
  /** The state table, for dedupe markers (`appendOnce`). */
  stateTable: string;
  now?: () => Date;
  /**
   * Remember the last entry this process appended to each stream and offer it as `latest`, saving
   * a Query per append for a stream with one writer. Safe: a stale head only makes the next
   * conditional put fail (the seq is taken), which drops the cached head, and the retry queries.
   * Off by default, so `latest` is a strongly consistent read unless an appender asks otherwise.
   */
  cacheHeads?: boolean;
}

const MAX_CACHED_HEADS = 1000;

/** {@link DedupingLedgerStore} on DynamoDB. */
export class DynamoLedgerStore implements DedupingLedgerStore {
  readonly #send: DynamoDBDocumentClient['send'];
  readonly #options: DynamoLedgerStoreOptions;
  readonly #heads = new Map<string, LedgerEntry>();

  constructor(client: DynamoDBDocumentClient, options: DynamoLedgerStoreOptions) {
    this.#send = mappedSend(client, 'DynamoDB');
    this.#options = options;
  }

  #remember(entry: LedgerEntry): void {
    if (!this.#options.cacheHeads) return;
    const key = ledgerPk(entry.tenant, entry.stream);
    this.#heads.delete(key);
    this.#heads.set(key, entry);
    if (this.#heads.size > MAX_CACHED_HEADS) this.#heads.delete(this.#heads.keys().next().value as string);
  }

  #forget(entry: LedgerEntry): void {
    this.#heads.delete(ledgerPk(entry.tenant, entry.stream));
  }

  #put(entry: LedgerEntry) {
    return { TableName: this.#options.ledgerTable, Item: { pk: ledgerPk(entry.tenant, entry.stream), ...entry }, ConditionExpression: 'attribute_not_exists(pk)' };
  }

  /** @throws ChainConflictError when the seq is taken. */
  async append(entry: LedgerEntry): Promise<void> {
    try {
      await this.#send(new PutCommand(this.#put(entry)));
      this.#remember(entry);
    } catch (error) {
      this.#forget(entry);
      if (error instanceof ConditionFailedError) {
        throw new ChainConflictError(`seq ${entry.seq} of ${entry.tenant}/${entry.stream} is taken`, entry.seq);
      }
      throw error;
    }
  }

  /**
   * Stores the entry and the marker of `dedupeKey` atomically.
   * @throws DuplicateAppendError when the marker exists; ChainConflictError when the seq is taken.
   */
  async appendOnce(entry: LedgerEntry, dedupeKey: string): Promise<void> {
    const now = (this.#options.now ?? (() => new Date()))();
    const marker = {
      ...dedupeMarkerKey(entry.tenant, dedupeKey),
      stream: entry.stream,
      seq: entry.seq,
      hash: entry.hash,
      recordedAt: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + DEDUPE_MARKER_DAYS * 86_400,
    };
    try {
      await this.#send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: this.#put(entry) },
            { Put: { TableName: this.#options.stateTable, Item: marker, ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      );
      this.#remember(entry);
    } catch (error) {
      this.#forget(entry);
      // Reasons are per item: [ledger entry, dedupe marker].
      if (error instanceof ConditionFailedError) {
        if (error.reasons[1] === 'ConditionalCheckFailed') throw new DuplicateAppendError(dedupeKey);
        throw new ChainConflictError(`seq ${entry.seq} of ${entry.tenant}/${entry.stream} is taken`, entry.seq);
      }
      if (error instanceof ConflictError) {
        throw new ChainConflictError(`seq ${entry.seq} of ${entry.tenant}/${entry.stream} is being written`, entry.seq);
      }
      throw error;
    }
  }

  async read(tenant: string, stream: string, fromSeq: number, toSeq?: number): Promise<LedgerEntry[]> {
    if (toSeq !== undefined && toSeq <= fromSeq) return [];
    const bounded = toSeq !== undefined && Number.isFinite(toSeq);
    const input: QueryCommandInput = {
      TableName: this.#options.ledgerTable,
      KeyConditionExpression: bounded ? 'pk = :pk AND seq BETWEEN :from AND :last' : 'pk = :pk AND seq >= :from',
      ExpressionAttributeValues: { ':pk': ledgerPk(tenant, stream), ':from': fromSeq, ...(bounded ? { ':last': (toSeq as number) - 1 } : {}) },
      ConsistentRead: true,
    };
    const entries: LedgerEntry[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) entries.push(entryOf(item));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return entries;
  }

  async latest(tenant: string, stream: string): Promise<LedgerEntry | undefined> {
    const cached = this.#heads.get(ledgerPk(tenant, stream));
    if (cached !== undefined) return cached;
    const page = await this.#send(
      new QueryCommand({
        TableName: this.#options.ledgerTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': ledgerPk(tenant, stream) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = page.Items?.[0];
    return item === undefined ? undefined : entryOf(item);
  }
}
