/**
 * The product on the local cloud `npm test` started (stage `local`): health through the HTTP API,
 * the heartbeat recorded in the ledger, the local model endpoint. (Bus events into the ledger, exactly
 * once, are test/integration/audit.test.ts's; the governance gate is test/integration/governance.test.ts's.)
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { eventually, testCloud } from '../helpers/local-cloud.ts';

// Clients take their endpoints from the AWS_ENDPOINT_URL_<SERVICE> variables npm test sets.
const lambda = new LambdaClient({});

const cloud = testCloud();
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
    const reply = await lambda.send(
      new InvokeCommand({
        FunctionName: fn('PlatformHeartbeatLambdaFunction'),
        Payload: JSON.stringify({
          version: '0',
          id: randomUUID(),
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          time: scheduledAt,
          detail: {},
        }),
      }),
    );
    const payload = Buffer.from(reply.Payload ?? []).toString();
    assert.equal(reply.FunctionError, undefined, payload);
    assert.equal(JSON.parse(payload).published, 1, payload);
    // The system tenant's ledger, read from the table: no credential may name `system`.
    const beat = await eventually("this invocation's heartbeat in the ledger", async () => {
      const found = await ledgerEvents('system', 'platform');
      return found.find((item) => item.detailType === 'platform.heartbeat.emitted' && item.detail.scheduledAt === scheduledAt);
    });
    assert.equal(beat.source, 'autonomy.platform');
    assert.equal(beat.detail.tenant, 'system');
    assert.equal(beat.detail.stage, cloud.stage);
  });

  it('serves the built-in echo model endpoint over the SageMaker runtime protocol', async () => {
    const client = new SageMakerRuntimeClient({});
    const reply = await client.send(
      new InvokeEndpointCommand({ EndpointName: 'echo', ContentType: 'application/json', Body: JSON.stringify({ inputs: 'hi' }) }),
    );
    assert.deepEqual(JSON.parse(Buffer.from(reply.Body ?? []).toString()), { inputs: 'hi' });
  });
});
