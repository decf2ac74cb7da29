/**
 * The pure half of `npm run redrive`: which queue an argument names, what a redrive policy says, and
 * the move loop (sent before deleted, refused messages stay, always ends). The SQS half runs against
 * the local cloud in test/integration/faults.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { type DeadLetterPort, parseRedrivePolicy, queueArnParts, queueReference, redriveMessages } from '../../lib/queues/redrive.ts';

const names = { service: 'autonomy', stage: 'local' };

describe('queueReference', () => {
  it('completes a logical name to <service>-<stage>-<name> and keeps a full name', () => {
    assert.deepEqual(queueReference('audit', names), { name: 'autonomy-local-audit' });
    assert.deepEqual(queueReference('observation-ingest', { ...names, stage: 'prod' }), { name: 'autonomy-prod-observation-ingest' });
    assert.deepEqual(queueReference('autonomy-dev-audit-dlq', names), { name: 'autonomy-dev-audit-dlq' });
  });

  it('takes a queue URL as is, fauxqs host names included, and an ARN by its name', () => {
    for (const url of ['https://sqs.eu-west-1.amazonaws.com/123456789012/autonomy-dev-audit', 'http://sqs.us-east-1.127.0.0.1:4597/000000000000/autonomy-local-audit']) {
      assert.deepEqual(queueReference(url, names), { url });
    }
    assert.deepEqual(queueReference('arn:aws:sqs:eu-west-1:123456789012:autonomy-dev-audit', names), { name: 'autonomy-dev-audit' });
  });

  it('refuses what names no queue', () => {
    for (const bad of ['', 'audit queue', 'https://example.com/', 'arn:aws:s3:::bucket', 'x'.repeat(81)]) {
      assert.throws(() => queueReference(bad, names), z.ZodError, bad);
    }
  });
});

describe('redrive policy', () => {
  it('reads the dead-letter target and maxReceiveCount (number or string), and none when absent', () => {
    assert.deepEqual(parseRedrivePolicy('{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:q-dlq","maxReceiveCount":"5"}'), {
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:q-dlq',
      maxReceiveCount: 5,
    });
    assert.equal(parseRedrivePolicy(undefined), undefined);
    assert.equal(parseRedrivePolicy(''), undefined);
    assert.throws(() => parseRedrivePolicy('{"maxReceiveCount":5}'), z.ZodError);
    assert.throws(() => parseRedrivePolicy('not json'), z.ZodError);
    assert.deepEqual(queueArnParts('arn:aws:sqs:us-east-1:000000000000:q-dlq'), { region: 'us-east-1', accountId: '000000000000', name: 'q-dlq' });
  });
});

/** Two in-memory queues with SQS's visibility: a received message is hidden until deleted. */
function queues(parked: string[], refuse: (body: string) => boolean = () => false) {
  const dlq = parked.map((body, index) => ({ id: `m${index}`, body, hidden: false }));
  const source: string[] = [];
  const calls: string[] = [];
  const port: DeadLetterPort<{ id: string; body: string }> = {
    async receive(max) {
      calls.push(`receive ${max}`);
      const visible = dlq.filter((message) => !message.hidden).slice(0, max);
      for (const message of visible) message.hidden = true;
      return visible.map(({ id, body }) => ({ id, body }));
    },
    async sendBack(messages) {
      calls.push(`send ${messages.length}`);
      const refused = messages.filter((message) => refuse(message.body));
      source.push(...messages.filter((message) => !refuse(message.body)).map((message) => message.body));
      return refused.map((message) => ({ message, reason: 'InvalidMessageContents: no' }));
    },
    async remove(messages) {
      calls.push(`delete ${messages.length}`);
      for (const message of messages) dlq.splice(dlq.findIndex((item) => item.id === message.id), 1);
    },
  };
  return { port, dlq, source, calls };
}

describe('redriveMessages', () => {
  it('moves every message ten at a time, sending each batch before deleting it', async () => {
    const { port, dlq, source, calls } = queues(Array.from({ length: 23 }, (_, index) => `body-${index}`));
    assert.deepEqual(await redriveMessages(port, { limit: 23 }), { moved: 23, failed: [] });
    assert.equal(dlq.length, 0);
    assert.deepEqual(source, Array.from({ length: 23 }, (_, index) => `body-${index}`));
    assert.deepEqual(calls, ['receive 10', 'send 10', 'delete 10', 'receive 10', 'send 10', 'delete 10', 'receive 3', 'send 3', 'delete 3']);
  });

  it('leaves refused messages in the DLQ, reports them, and still ends', async () => {
    const { port, dlq, source } = queues(['a', 'too big', 'b'], (body) => body === 'too big');
    const report = await redriveMessages(port, { limit: 10 });
    assert.deepEqual(report, { moved: 2, failed: [{ id: 'm1', reason: 'InvalidMessageContents: no' }] });
    assert.deepEqual(dlq.map((message) => message.body), ['too big']);
    assert.deepEqual(source, ['a', 'b']);
  });

  it('moves no more than the limit (what was waiting when it started)', async () => {
    const { port, dlq } = queues(['a', 'b', 'c']);
    assert.deepEqual(await redriveMessages(port, { limit: 2 }), { moved: 2, failed: [] });
    assert.deepEqual(dlq.map((message) => message.body), ['c']);
  });

  it('stops when a message comes round again', async () => {
    let rounds = 0;
    const port: DeadLetterPort<{ id: string }> = {
      receive: async () => {
        rounds += 1;
        return [{ id: 'same' }];
      },
      sendBack: async (messages) => messages.map((message) => ({ message, reason: 'refused' })),
      remove: async () => assert.fail('nothing was sent'),
    };
    assert.deepEqual(await redriveMessages(port, { limit: 100 }), { moved: 0, failed: [{ id: 'same', reason: 'refused' }] });
    assert.equal(rounds, 2);
  });
});
