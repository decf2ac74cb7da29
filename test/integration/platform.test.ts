/**
 * The product on the local cloud `npm test` started (stage `local`): health through the HTTP API,
 * the heartbeat recorded in the ledger, and the approval gate end to end. (Bus events into the ledger,
 * exactly once, are test/integration/audit.test.ts's.)
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Role } from '../../lib/auth/roles.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, testCloud, tokenFor } from '../helpers/local-cloud.ts';

// Clients take their endpoints from the AWS_ENDPOINT_URL_<SERVICE> variables npm test sets.
const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const lambda = new LambdaClient({});
const sfn = new SFNClient({});

const cloud = testCloud();
const table = cloud.resources.tables.StateTable ?? '';
const fn = (logicalId: string) => cloud.resources.functions[logicalId] ?? '';

describe('platform on the local cloud', () => {
  it('answers GET /health with 200 and every dependency ok', async () => {
    const reply = await fetch(`${cloud.apiUrl}/health`, { headers: { 'x-correlation-id': 'health-check-1' } });
    const body = (await reply.json()) as { status: string; stage: string; checks: Record<string, { ok: boolean }> };
    assert.equal(reply.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ok');
    assert.equal(body.stage, cloud.stage);
    assert.deepEqual(Object.keys(body.checks).sort(), ['artifactsBucket', 'eventBus', 'stateTable']);
    assert.equal(reply.headers.get('x-correlation-id'), 'health-check-1');
  });

  it('publishes a heartbeat that reaches the ledger', async () => {
    // The local scheduler beats on its own, on whole seconds; a time with milliseconds that no
    // schedule produces marks the beat of this invocation, which the ledger must then carry.
    const scheduledAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000 + randomInt(1, 1000)).toISOString();
    const reply = await lambda.send(new InvokeCommand({
      FunctionName: fn('PlatformHeartbeatLambdaFunction'),
      Payload: JSON.stringify({ version: '0', id: randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', time: scheduledAt, detail: {} }),
    }));
    const payload = Buffer.from(reply.Payload ?? []).toString();
    assert.equal(reply.FunctionError, undefined, payload);
    assert.equal(JSON.parse(payload).published, 1, payload);
    // The system tenant's ledger, read from the table: no credential may name `system`.
    const beat = await eventually('this invocation\'s heartbeat in the ledger', async () => {
      const found = await ledgerEvents('system', 'platform');
      return found.find((item) => item.detailType === 'platform.heartbeat.emitted' && item.detail.scheduledAt === scheduledAt);
    });
    assert.equal(beat.source, 'autonomy.platform');
    assert.equal(beat.detail.tenant, 'system');
    assert.equal(beat.detail.stage, cloud.stage);
  });

  describe('action gate', () => {
    const gate = () => cloud.resources.stateMachines.ActionGateStateMachine ?? '';
    const action = { engine: 'reflex', name: 'restart-endpoint', target: 'endpoint/chat', parameters: {} };

    async function finished(executionArn: string | undefined) {
      return eventually('the execution to finish', async () => {
        const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return described.status === 'RUNNING' ? undefined : described;
      });
    }

    async function decideAs(tenant: string, subject: string, roles: Role[], approvalId: string, decision: 'approve' | 'reject', reason?: string) {
      const token = await tokenFor({ tenant, roles, subject });
      return api('POST', '/governance/approvals', { auth: 'none', headers: { authorization: `Bearer ${token}` }, body: { parameters: { approvalId, decision, reason } } });
    }

    async function pendingApproval(tenant: string) {
      return eventually('the approval to be opened', async () => {
        const output = await dynamo.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${tenant}#approval` }, ConsistentRead: true }));
        return output.Items?.[0];
      });
    }

    it('lets a low-risk action through on its own', async () => {
      const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: gate(), input: JSON.stringify({ tenant: 'acme', risk: 'low', action, requestedBy: 'alice', reason: '' }) }));
      const done = await finished(started.executionArn);
      assert.equal(done.status, 'SUCCEEDED');
      assert.equal(JSON.parse(done.output ?? '{}').decision, 'autonomous');
    });

    it('holds a high-risk action until another person approves it', async () => {
      const tenant = `t-${randomUUID().slice(0, 8)}`;
      const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: gate(), input: JSON.stringify({ tenant, risk: 'high', action, requestedBy: 'alice', reason: 'latency' }) }));
      const approval = await pendingApproval(tenant);
      assert.equal(approval.status, 'pending');
      assert.equal((await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }))).status, 'RUNNING');

      const listed = await api('GET', '/governance/approvals', { tenant, roles: ['viewer'] });
      assert.deepEqual(listed.body.result.approvals.map((entry: { approvalId: string }) => entry.approvalId), [approval.approvalId]);
      assert.equal(listed.body.result.approvals[0].taskToken, undefined, 'task tokens never leave the table');

      const asOperator = await decideAs(tenant, 'carol', ['operator'], approval.approvalId, 'approve');
      assert.equal(asOperator.status, 403, 'operators do not approve');
      const self = await decideAs(tenant, 'alice', ['approver'], approval.approvalId, 'approve');
      assert.equal(self.status, 403);
      assert.equal(self.body.error, 'ForbiddenError');
      const otherTenant = await decideAs(`${tenant}-x`, 'bob', ['approver'], approval.approvalId, 'approve');
      assert.equal(otherTenant.status, 404, "another tenant's approver cannot even see it");

      const decided = await decideAs(tenant, 'bob', ['approver'], approval.approvalId, 'approve', 'looks right');
      assert.equal(decided.status, 200, JSON.stringify(decided.body));
      assert.equal(decided.body.result.decidedBy, 'bob');
      const again = await decideAs(tenant, 'dave', ['approver'], approval.approvalId, 'reject');
      assert.equal(again.status, 409, 'a decided approval stays decided');
      const done = await finished(started.executionArn);
      assert.equal(done.status, 'SUCCEEDED');
      const output = JSON.parse(done.output ?? '{}');
      assert.equal(output.decision, 'approved');
      assert.equal(output.approval.decidedBy, 'bob');
    });

    it('fails the execution with ApprovalRejected when the approver rejects', async () => {
      const tenant = `t-${randomUUID().slice(0, 8)}`;
      const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: gate(), input: JSON.stringify({ tenant, risk: 'medium', action, requestedBy: 'alice', reason: '' }) }));
      const approval = await pendingApproval(tenant);
      assert.equal((await decideAs(tenant, 'bob', ['approver'], approval.approvalId, 'reject')).status, 200);
      const done = await finished(started.executionArn);
      assert.equal(done.status, 'FAILED');
      assert.equal(done.error, 'ApprovalRejected');
    });

    it('fails with InvalidRisk when the risk is unknown', async () => {
      const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: gate(), input: JSON.stringify({ tenant: 'acme', risk: 'extreme', action, requestedBy: 'alice' }) }));
      const done = await finished(started.executionArn);
      assert.equal(done.status, 'FAILED');
      assert.equal(done.error, 'InvalidRisk');
    });
  });

  it('serves the built-in echo model endpoint over the SageMaker runtime protocol', async () => {
    const client = new SageMakerRuntimeClient({});
    const reply = await client.send(new InvokeEndpointCommand({ EndpointName: 'echo', ContentType: 'application/json', Body: JSON.stringify({ inputs: 'hi' }) }));
    assert.deepEqual(JSON.parse(Buffer.from(reply.Body ?? []).toString()), { inputs: 'hi' });
  });
});
