/**
 * The local bus: rule fan-out, target input shaping, pattern validation, and schedules firing.
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { EventBridgeService, targetInput, type EventEnvelope } from '../../infra/local/eventbridge/bus.ts';

function recorder() {
  const deliveries: Array<{ arn: string; input: string; rule: string }> = [];
  const bus = new EventBridgeService({
    region: 'us-east-1',
    accountId: '000000000000',
    deliver: async (arn, input, context) => {
      deliveries.push({ arn, input, rule: context.ruleName });
    },
  });
  return { bus, deliveries };
}

const event: EventEnvelope = {
  version: '0', id: 'e1', 'detail-type': 'order.placed', source: 'shop', account: '000000000000',
  time: '2026-01-01T00:00:00Z', region: 'us-east-1', resources: [], detail: { amount: 7, customer: { id: 'c1' } },
};

describe('local EventBridge service', () => {
  it('delivers PutEvents entries to the targets of matching rules only', async () => {
    const { bus, deliveries } = recorder();
    bus.createBus('b');
    bus.putRule({ name: 'big', arn: 'r1', busName: 'b', eventPattern: { detail: { amount: [{ numeric: ['>', 5] }] } }, enabled: true, targets: [{ Id: 't', Arn: 'arn:aws:sqs:us-east-1:0:q' }] });
    bus.putRule({ name: 'small', arn: 'r2', busName: 'b', eventPattern: { detail: { amount: [{ numeric: ['<', 5] }] } }, enabled: true, targets: [{ Id: 't', Arn: 'arn:aws:sqs:us-east-1:0:other' }] });
    const reply = (await bus.operations().PutEvents?.({ Entries: [{ EventBusName: 'b', Source: 'shop', DetailType: 'order.placed', Detail: '{"amount":7}' }] })) as { FailedEntryCount: number };
    await bus.stop();
    assert.equal(reply.FailedEntryCount, 0);
    assert.deepEqual(deliveries.map((d) => d.rule), ['big']);
    assert.equal(JSON.parse(deliveries[0]?.input ?? '{}').detail.amount, 7);
  });

  it('refuses an invalid pattern with InvalidEventPatternException', () => {
    const { bus } = recorder();
    assert.throws(() => bus.putRule({ name: 'bad', arn: 'r', busName: 'default', eventPattern: { source: 'not-an-array' }, enabled: true, targets: [] }), { type: 'InvalidEventPatternException' });
  });

  it('shapes target input with Input, InputPath and InputTransformer', () => {
    assert.equal(targetInput({ Id: 't', Arn: 'a', Input: '{"fixed":true}' }, event), '{"fixed":true}');
    assert.equal(targetInput({ Id: 't', Arn: 'a', InputPath: '$.detail.customer' }, event), '{"id":"c1"}');
    assert.equal(
      targetInput({ Id: 't', Arn: 'a', InputTransformer: { InputPathsMap: { who: '$.detail.customer.id', n: '$.detail.amount' }, InputTemplate: '{"customer":"<who>","amount":<n>}' } }, event),
      '{"customer":"c1","amount":7}',
    );
  });

  it('fires a rate schedule with a Scheduled Event naming the rule', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.parse('2026-01-01T00:00:00Z') });
    try {
      const { bus, deliveries } = recorder();
      bus.putRule({ name: 'tick', arn: 'arn:aws:events:us-east-1:000000000000:rule/tick', busName: 'default', scheduleExpression: 'rate(1 minute)', enabled: true, targets: [{ Id: 'f', Arn: 'arn:aws:lambda:us-east-1:0:function:f' }] });
      bus.startSchedules();
      mock.timers.tick(59_000);
      assert.equal(deliveries.length, 0);
      mock.timers.tick(1_000);
      mock.timers.tick(60_000);
      await bus.stop();
      assert.equal(deliveries.length, 2);
      const fired = JSON.parse(deliveries[0]?.input ?? '{}');
      assert.equal(fired['detail-type'], 'Scheduled Event');
      assert.equal(fired.source, 'aws.events');
      assert.deepEqual(fired.resources, ['arn:aws:events:us-east-1:000000000000:rule/tick']);
      assert.equal(fired.time, '2026-01-01T00:01:00Z');
    } finally {
      mock.timers.reset();
    }
  });
});
