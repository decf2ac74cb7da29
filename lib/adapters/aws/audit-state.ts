/**
 * The Audit engine's bookkeeping in the state table (every key starting with the tenant):
 *   <tenant>#audit#streams            / <stream>             registry (gsi1: audit#streams, for the scheduled jobs)
 *   <tenant>#audit#checkpoint-head    / <stream>             latest checkpoint and its tree tip, compare-and-swap on treeSize
 *   <tenant>#audit#findings           / <stream>#<seq>#<rule> compliance findings, stored once
 *   <tenant>#audit#cursor             / <job>#<stream>        progress of compliance and retention
 *   <tenant>#audit#settings           / retention             the tenant's retention window
 *   <tenant>#audit#keys               / key#<keyId>           the tenant's published public signing keys, never deleted
 *   system#audit#keys                 / published             the stage-wide keys of the single ring used before keys were per tenant
 * SDK failures map through lib/adapters/aws/errors.ts (throttling and faults: DependencyError).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Severity } from '../../audit/compliance.ts';
import type {
  AuditStateStore,
  CheckpointHead,
  CheckpointHeadStore,
  FindingStore,
  PublishedKeyStore,
  StoredFinding,
  StreamRef,
  StreamRegistry,
} from '../../audit/ports.ts';
import {
  type Checkpoint,
  type PublicKey,
  type PublicKeySet,
  publicKeySchema,
  publicKeySetSchema,
  type TreeTip,
} from '../../audit/schemas.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';

type Send = DynamoDBDocumentClient['send'];

const REGISTRY_INDEX_PK = 'audit#streams';

async function queryAll(send: Send, input: QueryCommandInput, limit = Number.POSITIVE_INFINITY): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined && items.length < limit);
  return items.slice(0, limit);
}

async function conditionalPut(send: Send, input: ConstructorParameters<typeof PutCommand>[0]): Promise<boolean> {
  try {
    await send(new PutCommand(input));
    return true;
  } catch (error) {
    if (error instanceof ConditionFailedError) return false;
    throw error;
  }
}

/** A table and the client to reach it, its failures mapped to domain errors. */
abstract class StateTableStore {
  protected readonly send: Send;
  protected readonly table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.send = mappedSend(client, 'DynamoDB');
    this.table = table;
  }
}

/** {@link StreamRegistry} on the state table, listed across tenants through gsi1. */
export class DynamoStreamRegistry extends StateTableStore implements StreamRegistry {
  async register(ref: StreamRef): Promise<void> {
    await this.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `${ref.tenant}#audit#streams`, sk: ref.stream, gsi1pk: REGISTRY_INDEX_PK, gsi1sk: `${ref.tenant}#${ref.stream}`, tenant: ref.tenant, stream: ref.stream },
      }),
    );
  }

  async list(): Promise<StreamRef[]> {
    const items = await queryAll(this.send, {
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': REGISTRY_INDEX_PK },
    });
    return items.map((item) => ({ tenant: String(item.tenant), stream: String(item.stream) }));
  }
}

/** {@link CheckpointHeadStore} on the state table: the checkpoint and its tree tip in one item, a conditional put on `treeSize`. */
export class DynamoCheckpointHeads extends StateTableStore implements CheckpointHeadStore {
  /** The head; a tip that is not JSON comes back as an empty object, which the signer refuses as tampered. */
  async get(tenant: string, stream: string): Promise<CheckpointHead | undefined> {
    const { Item } = await this.send(
      new GetCommand({ TableName: this.table, Key: { pk: `${tenant}#audit#checkpoint-head`, sk: stream }, ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const checkpoint = JSON.parse(String(Item.checkpoint)) as Checkpoint;
    if (Item.tip === undefined) return { checkpoint };
    let tip: unknown = {};
    try {
      tip = JSON.parse(String(Item.tip));
    } catch {}
    return { checkpoint, tip: tip as TreeTip };
  }

  async advance(next: CheckpointHead, expectedTreeSize: number | undefined): Promise<boolean> {
    const { checkpoint, tip } = next;
    return conditionalPut(this.send, {
      TableName: this.table,
      // Kept as JSON text: exactly the object that was signed, no number conversions. The tip (a few
      // hundred bytes to 4 KB of frontier hashes) rides in the same item, so head and tip move together.
      Item: {
        pk: `${checkpoint.tenant}#audit#checkpoint-head`,
        sk: checkpoint.stream,
        treeSize: checkpoint.treeSize,
        checkpoint: JSON.stringify(checkpoint),
        ...(tip === undefined ? {} : { tip: JSON.stringify(tip) }),
      },
      ...(expectedTreeSize === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : { ConditionExpression: 'treeSize = :expected', ExpressionAttributeValues: { ':expected': expectedTreeSize } }),
    });
  }
}

const LEGACY_KEYS = { pk: 'system#audit#keys', sk: 'published' };
const KEY_SK_PREFIX = 'key#';

/** A published key item back to a key; an item that does not parse is skipped (it can verify nothing). */
function publicKeyOf(item: Record<string, unknown>): PublicKey | undefined {
  const parsed = publicKeySchema.safeParse({
    keyId: item.keyId,
    algorithm: item.algorithm,
    publicKey: item.publicKey,
    createdAt: item.createdAt,
    ...(item.retiredAt === undefined ? {} : { retiredAt: item.retiredAt }),
  });
  return parsed.success ? parsed.data : undefined;
}

/**
 * {@link PublishedKeyStore} on the state table: one item per tenant key (`<tenant>#audit#keys` /
 * `key#<keyId>`), so a tenant's set grows by one small item per rotation and no item grows with
 * it. Publishing is a put conditional on the item's absence, retiring one conditional on no
 * `retiredAt`; neither ever deletes. The stage-wide set of the earlier single ring is one item
 * (`system#audit#keys` / `published`) whose puts never lower its generation.
 */
export class DynamoPublishedKeys extends StateTableStore implements PublishedKeyStore {
  async list(tenant: string): Promise<PublicKey[]> {
    const items = await queryAll(this.send, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `${tenant}#audit#keys`, ':prefix': KEY_SK_PREFIX },
      ConsistentRead: true,
    });
    return items
      .map(publicKeyOf)
      .filter((key): key is PublicKey => key !== undefined)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
  }

  async get(tenant: string, keyId: string): Promise<PublicKey | undefined> {
    const { Item } = await this.send(
      new GetCommand({ TableName: this.table, Key: { pk: `${tenant}#audit#keys`, sk: `${KEY_SK_PREFIX}${keyId}` }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : publicKeyOf(Item);
  }

  async add(tenant: string, key: PublicKey): Promise<void> {
    await conditionalPut(this.send, {
      TableName: this.table,
      Item: { pk: `${tenant}#audit#keys`, sk: `${KEY_SK_PREFIX}${key.keyId}`, ...key },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  }

  async retire(tenant: string, key: PublicKey & { retiredAt: string }): Promise<void> {
    await conditionalPut(this.send, {
      TableName: this.table,
      Item: { pk: `${tenant}#audit#keys`, sk: `${KEY_SK_PREFIX}${key.keyId}`, ...key },
      ConditionExpression: 'attribute_not_exists(retiredAt)',
    });
  }

  async legacy(): Promise<{ keys: PublicKeySet; generation: number } | undefined> {
    const { Item } = await this.send(new GetCommand({ TableName: this.table, Key: LEGACY_KEYS, ConsistentRead: true }));
    if (Item === undefined) return undefined;
    let keys: unknown;
    try {
      keys = JSON.parse(String(Item.keys));
    } catch {}
    const parsed = publicKeySetSchema.safeParse(keys);
    return { keys: parsed.success ? parsed.data : { keys: [] }, generation: Number(Item.generation) };
  }

  async putLegacy(keys: PublicKeySet, generation: number): Promise<void> {
    await conditionalPut(this.send, {
      TableName: this.table,
      Item: { ...LEGACY_KEYS, keys: JSON.stringify(keys), generation },
      ConditionExpression: 'attribute_not_exists(pk) OR generation < :generation',
      ExpressionAttributeValues: { ':generation': generation },
    });
  }
}

/** {@link FindingStore} on the state table: one item per (stream, seq, rule), put once. */
export class DynamoFindingStore extends StateTableStore implements FindingStore {
  async add(finding: StoredFinding): Promise<boolean> {
    return conditionalPut(this.send, {
      TableName: this.table,
      Item: { pk: `${finding.tenant}#audit#findings`, sk: `${finding.stream}#${String(finding.seq).padStart(16, '0')}#${finding.ruleId}`, ...finding },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  }

  async list(tenant: string, stream?: string, limit = 1000): Promise<StoredFinding[]> {
    const items = await queryAll(
      this.send,
      {
        TableName: this.table,
        KeyConditionExpression: stream === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :stream)',
        ExpressionAttributeValues: { ':pk': `${tenant}#audit#findings`, ...(stream === undefined ? {} : { ':stream': `${stream}#` }) },
        Limit: Math.min(limit, 1000),
      },
      limit,
    );
    return items.map((item) => ({
      tenant: String(item.tenant),
      stream: String(item.stream),
      seq: Number(item.seq),
      ruleId: String(item.ruleId),
      severity: String(item.severity) as Severity,
      message: String(item.message),
      raisedAt: String(item.raisedAt),
    }));
  }
}

/** {@link AuditStateStore} on the state table: job cursors and per-tenant settings. */
export class DynamoAuditSettings extends StateTableStore implements AuditStateStore {
  async cursor(ref: StreamRef, job: 'compliance' | 'retention'): Promise<number> {
    const { Item } = await this.send(
      new GetCommand({ TableName: this.table, Key: { pk: `${ref.tenant}#audit#cursor`, sk: `${job}#${ref.stream}` }, ConsistentRead: true }),
    );
    return Item === undefined ? 0 : Number(Item.value);
  }

  async setCursor(ref: StreamRef, job: 'compliance' | 'retention', value: number): Promise<void> {
    await this.send(new PutCommand({ TableName: this.table, Item: { pk: `${ref.tenant}#audit#cursor`, sk: `${job}#${ref.stream}`, value } }));
  }

  async retentionDays(tenant: string): Promise<number | undefined> {
    const { Item } = await this.send(new GetCommand({ TableName: this.table, Key: { pk: `${tenant}#audit#settings`, sk: 'retention' }, ConsistentRead: true }));
    return Item === undefined ? undefined : Number(Item.days);
  }

  async setRetentionDays(tenant: string, days: number): Promise<void> {
    await this.send(new PutCommand({ TableName: this.table, Item: { pk: `${tenant}#audit#settings`, sk: 'retention', days } }));
  }
}
