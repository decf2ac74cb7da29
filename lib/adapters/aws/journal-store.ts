/**
 * Journal records on the state table; a conditional put makes redelivered events no-ops.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { JournalRecord } from '../../platform/journal.ts';

/** Stores one record; resolves `false` when the same event was stored before. */
export type JournalWriter = (record: JournalRecord) => Promise<boolean>;

/** Creates the DynamoDB-backed journal writer. */
export function dynamoJournalWriter(client: DynamoDBDocumentClient, tableName: string): JournalWriter {
  return async (record) => {
    try {
      await client.send(new PutCommand({ TableName: tableName, Item: record, ConditionExpression: 'attribute_not_exists(sk)' }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };
}
