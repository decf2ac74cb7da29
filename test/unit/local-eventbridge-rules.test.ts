/**
 * The local bus's rule state through `@aws-sdk/client-eventbridge`: DescribeRule, DisableRule and
 * EnableRule, a disabled rule delivering nothing (events and schedules) until it is enabled again.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, mock } from 'node:test';
import { DescribeRuleCommand, DisableRuleCommand, EnableRuleCommand, EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EventBridgeService } from '../../infra/local/eventbridge/bus.ts';
import { dispatchJson } from '../../infra/local/http/aws-json.ts';

const deliveries: string[] = [];
let bus: EventBridgeService;
let server: Server;
let events: EventBridgeClient;

before(async () => {
  bus = new EventBridgeService({ region: 'us-east-1', accountId: '000000000000', deliver: async (_arn, _input, context) => void deliveries.push(context.ruleName) });
  bus.createBus('app');
  bus.putRule({ name: 'orders', arn: 'arn:aws:events:us-east-1:000000000000:rule/app/orders', busName: 'app', eventPattern: { source: ['shop'] }, enabled: true, targets: [{ Id: 'q', Arn: 'arn:aws:sqs:us-east-1:000000000000:q' }] });
  const ops = bus.operations();
  server = createServer((req, res) => {
    void dispatchJson(req, res, 'AWSEvents', ops).then((handled) => handled || res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  events = new EventBridgeClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

after(async () => {
  events.destroy();
  await bus.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const put = () => events.send(new PutEventsCommand({ Entries: [{ EventBusName: 'app', Source: 'shop', DetailType: 'order.placed', Detail: '{}' }] }));
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('local EventBridge rules', () => {
  it('describes a rule as the API answers it', async () => {
    const rule = await events.send(new DescribeRuleCommand({ Name: 'orders', EventBusName: 'app' }));
    assert.equal(rule.Name, 'orders');
    assert.equal(rule.Arn, 'arn:aws:events:us-east-1:000000000000:rule/app/orders');
    assert.equal(rule.State, 'ENABLED');
    assert.equal(rule.EventBusName, 'app');
    assert.deepEqual(JSON.parse(rule.EventPattern ?? '{}'), { source: ['shop'] });
  });

  it('stops delivering while disabled and delivers again once enabled', async () => {
    deliveries.length = 0;
    await put();
    await settle();
    assert.deepEqual(deliveries, ['orders']);
    await events.send(new DisableRuleCommand({ Name: 'orders', EventBusName: 'arn:aws:events:us-east-1:000000000000:event-bus/app' }));
    assert.equal((await events.send(new DescribeRuleCommand({ Name: 'orders', EventBusName: 'app' }))).State, 'DISABLED');
    await put();
    await settle();
    assert.deepEqual(deliveries, ['orders']);
    await events.send(new EnableRuleCommand({ Name: 'orders', EventBusName: 'app' }));
    assert.equal((await events.send(new DescribeRuleCommand({ Name: 'orders', EventBusName: 'app' }))).State, 'ENABLED');
    await put();
    await settle();
    assert.deepEqual(deliveries, ['orders', 'orders']);
  });

  it('answers ResourceNotFoundException for a rule that is not on the bus', async () => {
    await assert.rejects(events.send(new DisableRuleCommand({ Name: 'orders' })), { name: 'ResourceNotFoundException' });
    await assert.rejects(events.send(new DescribeRuleCommand({ Name: 'missing', EventBusName: 'app' })), { name: 'ResourceNotFoundException' });
  });
});

describe('local EventBridge schedules and rule state', () => {
  it('does not fire a disabled schedule, and fires again once it is enabled', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.parse('2026-01-01T00:00:00Z') });
    try {
      const fired: string[] = [];
      const local = new EventBridgeService({ region: 'us-east-1', accountId: '000000000000', deliver: async (_arn, _input, context) => void fired.push(context.ruleName) });
      local.putRule({ name: 'tick', arn: 'arn:aws:events:us-east-1:000000000000:rule/tick', busName: 'default', scheduleExpression: 'rate(1 minute)', enabled: true, targets: [{ Id: 'f', Arn: 'arn:aws:lambda:us-east-1:0:function:f' }] });
      local.startSchedules();
      mock.timers.tick(60_000);
      assert.equal(fired.length, 1);
      local.setRuleState('tick', 'default', false);
      mock.timers.tick(180_000);
      assert.equal(fired.length, 1);
      local.setRuleState('tick', 'default', true);
      mock.timers.tick(60_000);
      assert.equal(fired.length, 2);
      void local.stop();
    } finally {
      mock.timers.reset();
    }
  });
});
