/**
 * ApprovalStore on the state table: pk `<tenant>#approval`, sk the approval id. SDK failures map
 * through lib/adapters/aws/errors.ts (throttling and faults: DependencyError, which the action
 * gate's `Retry` matches).
 */
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../errors.ts';
import type { Approval, ApprovalStore } from '../../governance/approvals.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';

const key = (tenant: string, approvalId: string) => ({ pk: `${tenant}#approval`, sk: approvalId });

function fromItem(item: Record<string, unknown>): Approval {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...approval } = item;
  return approval as unknown as Approval;
}

/** Creates the DynamoDB-backed ApprovalStore. */
export function dynamoApprovalStore(client: DynamoDBDocumentClient, tableName: string): ApprovalStore {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async create(approval) {
      try {
        await send(new PutCommand({
          TableName: tableName,
          Item: { ...key(approval.tenant, approval.approvalId), ...approval, gsi1pk: `${approval.tenant}#approval#${approval.status}`, gsi1sk: approval.requestedAt },
          ConditionExpression: 'attribute_not_exists(pk)',
        }));
      } catch (error) {
        if (error instanceof ConditionFailedError) throw new ConflictError(`Approval ${approval.approvalId} exists`);
        throw error;
      }
    },
    async get(tenant, approvalId) {
      const output = await send(new GetCommand({ TableName: tableName, Key: key(tenant, approvalId), ConsistentRead: true }));
      return output.Item ? fromItem(output.Item) : undefined;
    },
    async list(tenant, status, limit) {
      const output = await send(new QueryCommand({
        TableName: tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': `${tenant}#approval#${status}` },
        Limit: limit,
      }));
      return (output.Items ?? []).map(fromItem);
    },
    async decidePending(next) {
      try {
        await send(new PutCommand({
          TableName: tableName,
          Item: { ...key(next.tenant, next.approvalId), ...next, gsi1pk: `${next.tenant}#approval#${next.status}`, gsi1sk: next.requestedAt },
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending' },
        }));
      } catch (error) {
        if (error instanceof ConditionFailedError) throw new ConflictError(`Approval ${next.approvalId} was decided concurrently`);
        throw error;
      }
    },
  };
}
