/**
 * API keys in the state table: pk `<tenant>#apikey`, sk `<keyId>`; salted hashes only. SDK failures
 * map through lib/adapters/aws/errors.ts (throttling and faults: DependencyError).
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ApiKeyStore, StoredApiKey } from '../../auth/api-keys.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';

const pk = (tenant: string) => `${tenant}#apikey`;

function fromItem(item: Record<string, unknown>): StoredApiKey {
  const { pk: _pk, sk: _sk, ...key } = item;
  return key as unknown as StoredApiKey;
}

/** {@link ApiKeyStore} on DynamoDB. */
export class DynamoApiKeyStore implements ApiKeyStore {
  private readonly send: DynamoDBDocumentClient['send'];
  private readonly table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.send = mappedSend(client, 'DynamoDB');
    this.table = table;
  }

  async create(key: StoredApiKey): Promise<void> {
    try {
      await this.send(new PutCommand({ TableName: this.table, Item: { pk: pk(key.tenant), sk: key.keyId, ...key }, ConditionExpression: 'attribute_not_exists(pk)' }));
    } catch (error) {
      if (error instanceof ConditionFailedError) throw new ConflictError(`API key ${key.keyId} exists`);
      throw error;
    }
  }

  async get(tenant: string, keyId: string): Promise<StoredApiKey | undefined> {
    const { Item } = await this.send(new GetCommand({ TableName: this.table, Key: { pk: pk(tenant), sk: keyId }, ConsistentRead: true }));
    return Item ? fromItem(Item) : undefined;
  }

  async list(tenant: string): Promise<StoredApiKey[]> {
    const keys: StoredApiKey[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.send(new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk(tenant) }, ExclusiveStartKey: start }));
      keys.push(...(page.Items ?? []).map(fromItem));
      start = page.LastEvaluatedKey;
    } while (start);
    return keys;
  }

  async revoke(tenant: string, keyId: string, revokedAt: string): Promise<StoredApiKey> {
    try {
      const { Attributes } = await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(tenant), sk: keyId },
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': revokedAt },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionFailedError) throw new NotFoundError(`No API key ${keyId}`);
      throw error;
    }
  }
}
