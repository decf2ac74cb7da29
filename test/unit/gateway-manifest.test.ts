/**
 * The Gateway engine's declaration: the functions that call models (chat, conversations, documents)
 * may invoke exactly the stage's endpoints and no other function may; every state-table grant is
 * scoped to the gateway's keys; the schedules and routes are where the engine says.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { roleLogicalId, serverlessConfig } from '../../infra/serverless/functions.ts';
import { functionName } from '../../lib/engines/manifest.ts';
import { gatewayEngine } from '../../lib/gateway/manifest.ts';

type Statement = { Action: string[]; Resource: unknown; Condition?: Record<string, Record<string, string[]>> };
const config = serverlessConfig([gatewayEngine], {
  param: (name) => `rate(${name})`,
  models: { endpoints: ['standin-a', 'standin-tgi'], apiKeySecrets: [] },
});
const statements = (action: string): Statement[] =>
  (
    config.resources.Resources[roleLogicalId(functionName('gateway', action))] as {
      Properties: { Policies: Array<{ PolicyDocument: { Statement: Statement[] } }> };
    }
  ).Properties.Policies[0]?.PolicyDocument.Statement ?? [];

describe('the gateway manifest', () => {
  it('lets exactly the model-calling functions invoke exactly the stage’s endpoints', () => {
    for (const action of Object.keys(gatewayEngine.actions)) {
      const invoke = statements(action).filter((statement) => statement.Action.some((name) => name.startsWith('sagemaker:')));
      if (['chat', 'chat-stream', 'conversations', 'documents'].includes(action)) {
        assert.equal(invoke.length, 1, action);
        assert.deepEqual(invoke[0]?.Action, ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointWithResponseStream']);
        assert.deepEqual(JSON.stringify(invoke[0]?.Resource).match(/endpoint\/[a-z0-9-]+/g), [
          'endpoint/standin-a',
          'endpoint/standin-tgi',
        ]);
      } else assert.deepEqual(invoke, [], `${action} calls no model`);
    }
  });

  it("scopes every state-table grant to the gateway's keys, the audit records it writes and the outbox", () => {
    const allowed = /^(\*#gateway#|system#gateway#|\*#audit#|\*#outbox|\*#apikey|\*#ratelimit|\*#governance)/;
    for (const action of Object.keys(gatewayEngine.actions)) {
      for (const statement of statements(action)) {
        if (
          !statement.Action.some((name) => name.startsWith('dynamodb:')) ||
          JSON.stringify(statement.Resource).includes('Ledger') ||
          JSON.stringify(statement.Resource).includes('Idempotency')
        )
          continue;
        if (JSON.stringify(statement.Resource).includes('/index/gsi1')) continue;
        const keys = statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
        assert.ok(
          keys?.every((key) => allowed.test(key)),
          `${action}: ${JSON.stringify(statement)}`,
        );
      }
    }
  });

  it('serves the streamed chat from a function URL in RESPONSE_STREAM mode, authenticated and gated as POST /gateway/chat', () => {
    const fn = config.functions[functionName('gateway', 'chat-stream')] as { url?: unknown; events: unknown[] };
    assert.deepEqual(fn.url, { invokeMode: 'RESPONSE_STREAM' });
    assert.deepEqual(fn.events, [], 'not on the HTTP API');
    const granted = JSON.stringify(statements('chat-stream'));
    for (const key of ['*#apikey', '*#ratelimit', '*#governance#policies']) assert.ok(granted.includes(key), key);
    assert.ok(!granted.includes('Idempotency'), 'a stream is not replayed: no idempotency records');
  });

  it('runs the budget sweep and the retention on their schedules', () => {
    const events = (action: string) =>
      (config.functions[functionName('gateway', action)] as { events: Array<Record<string, unknown>> }).events;
    assert.deepEqual(events('budget-sweep'), [{ schedule: 'rate(gatewayBudgetSweepSchedule)' }]);
    assert.deepEqual(events('retention'), [{ schedule: 'rate(gatewayRetentionSchedule)' }]);
    assert.deepEqual(events('chat'), [
      { httpApi: { method: 'POST', path: '/gateway/chat' } },
      { httpApi: { method: 'DELETE', path: '/gateway/chat' } },
    ]);
  });
});
