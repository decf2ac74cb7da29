/**
 * The Execution engine's runs in the state table: `<tenant>#execution` / `<executionId>`, each write
 * conditional on the version read and carrying its events (the governance outbox, which the sweep
 * publishes after a crash). SDK failures map through lib/adapters/aws/errors.ts.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../errors.ts';
import type { RunStore } from '../../execution/engine.ts';
import { runSchema } from '../../execution/schemas.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { writeWithOutbox } from './governance-store.ts';

const runKey = (tenant: string, executionId: string) => ({ pk: `${tenant}#execution`, sk: executionId });

/** Runs on the state table. */
export function dynamoRunStore(client: DynamoDBDocumentClient, table: string): RunStore {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async get(tenant, executionId) {
      const output = await send(new GetCommand({ TableName: table, Key: runKey(tenant, executionId), ConsistentRead: true }));
      if (!output.Item) return undefined;
      const { pk: _pk, sk: _sk, ...run } = output.Item;
      return runSchema.parse(run);
    },
    put(next, expectedVersion, events) {
      return writeWithOutbox(send, table, { ...runKey(next.tenant, next.executionId), ...next }, expectedVersion, next.tenant, events, `Execution ${next.executionId}`);
    },
    async release(tenant, executionId, expectedVersion) {
      try {
        await send(new DeleteCommand({
          TableName: table,
          Key: runKey(tenant, executionId),
          ConditionExpression: '#version = :expected AND #status = :running',
          ExpressionAttributeNames: { '#version': 'version', '#status': 'status' },
          ExpressionAttributeValues: { ':expected': expectedVersion, ':running': 'running' },
        }));
      } catch (error) {
        if (error instanceof ConditionFailedError) throw new ConflictError(`Execution ${executionId} moved on; it is no longer the claim to release`);
        throw error;
      }
    },
  };
}
