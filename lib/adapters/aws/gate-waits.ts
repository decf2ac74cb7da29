/**
 * Governance's gate waits (lib/governance/gate-wait.ts) on AWS. In the state table:
 *   <tenant>#governance#gate / <proposalId>   the task waiting for that proposal: its owner, task
 *                                             token, output (JSON text) and expiresAt (TTL)
 * written only when no other owner holds the proposal, removed only while it holds the token sent;
 * and Step Functions' task callbacks (SendTaskSuccess, SendTaskFailure), where a task that no longer
 * waits (TaskTimedOut, InvalidToken, TaskDoesNotExist) is `gone` (lib/adapters/aws/workflow-callbacks.ts).
 * Light on purpose: the resume function starts on every settled proposal of the stage.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../../config.ts';
import { ConflictError } from '../../errors.ts';
import { type GateWaitDeps, type GateWaitStore, gateWaitSchema } from '../../governance/gate-wait.ts';
import { dynamoClient, sfnClient } from './clients.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { dynamoGovernanceStore } from './governance-store.ts';
import { sfnWorkflowCallbacks } from './workflow-callbacks.ts';

const waitKey = (tenant: string, proposalId: string) => ({ pk: `${tenant}#governance#gate`, sk: proposalId });

/** The waits on the state table, one per tenant and proposal. */
export function dynamoGateWaitStore(client: DynamoDBDocumentClient, table: string): GateWaitStore {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async put(wait) {
      try {
        await send(
          new PutCommand({
            TableName: table,
            Item: { ...waitKey(wait.tenant, wait.proposalId), ...wait, output: JSON.stringify(wait.output) },
            ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': wait.owner },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`Proposal ${wait.proposalId} of tenant ${wait.tenant} is awaited by another owner`);
        throw error;
      }
    },
    async get(tenant, proposalId) {
      const output = await send(new GetCommand({ TableName: table, Key: waitKey(tenant, proposalId), ConsistentRead: true }));
      if (!output.Item) return undefined;
      const { pk: _pk, sk: _sk, output: json, ...item } = output.Item;
      return gateWaitSchema.parse({ ...item, output: JSON.parse(String(json)) });
    },
    async remove(tenant, proposalId, taskToken) {
      try {
        await send(
          new DeleteCommand({
            TableName: table,
            Key: waitKey(tenant, proposalId),
            ConditionExpression: 'taskToken = :token',
            ExpressionAttributeValues: { ':token': taskToken },
          }),
        );
      } catch (error) {
        // A later registration (a retried gate step) holds it now, or it is gone already.
        if (!(error instanceof ConditionFailedError)) throw error;
      }
    },
  };
}

let waits: GateWaitStore | undefined;
let proposals: GateWaitDeps['proposals'] | undefined;

/** What a gate step and the resume need, at `now`. */
export function gateWaitDeps(now: Date): GateWaitDeps {
  waits ??= dynamoGateWaitStore(dynamoClient(), config().STATE_TABLE);
  proposals ??= dynamoGovernanceStore(dynamoClient(), config().STATE_TABLE);
  return { waits, proposals, callbacks: sfnWorkflowCallbacks(sfnClient()), now };
}
