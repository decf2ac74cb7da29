/**
 * The non-HTTP trigger wrappers, driven in process with the events Lambda delivers: SQS batches
 * (Powertools batch + Parser), EventBridge rule targets, and scheduled jobs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Context, EventBridgeEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { DependencyError, ValidationError } from '../../lib/errors.ts';
import { busEventSchema, queueHandler } from '../../lib/triggers/queue.ts';
import { ruleHandler } from '../../lib/triggers/rule.ts';
import { scheduledJob } from '../../lib/triggers/schedule.ts';

const context = { functionName: 'test', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

function record(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1764590400000', SenderId: 'AIDA', ApproximateFirstReceiveTimestamp: '1764590400000' },
    messageAttributes: {},
    md5OfBody: 'd41d8cd98f00b204e9800998ecf8427e',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
    awsRegion: 'us-east-1',
  };
}

const busEvent = (id: string, detail: unknown = { tenant: 'acme' }) => ({
  version: '0',
  id,
  'detail-type': 'observation.anomaly.detected',
  source: 'autonomy.observation',
  account: '123456789012',
  time: '2026-12-01T10:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail,
});

describe('queueHandler', () => {
  it('hands each valid body to the handler and reports only the bad records as failures', async () => {
    const seen: string[] = [];
    const handler = queueHandler(z.object({ tenant: z.string(), n: z.number() }), async (message) => {
      seen.push(`${message.tenant}:${message.n}`);
    });
    const event: SQSEvent = {
      Records: [
        record('ok-1', JSON.stringify({ tenant: 'a', n: 1 })),
        record('not-json', '{oops'),
        record('bad-shape', JSON.stringify({ tenant: 'a', n: 'one' })),
        record('ok-2', JSON.stringify({ tenant: 'b', n: 2 })),
      ],
    };
    const response = await handler(event, context);
    assert.deepEqual(seen, ['a:1', 'b:2']);
    assert.deepEqual(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort(), ['bad-shape', 'not-json']);
  });

  it('fails a record whose handler throws, and only that record', async () => {
    const handler = queueHandler(z.object({ n: z.number() }), async (message) => {
      if (message.n === 2) throw new DependencyError('table throttled');
    });
    const response = await handler({ Records: [record('one', '{"n":1}'), record('two', '{"n":2}')] }, context);
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: 'two' }]);
  });

  it('parses bus events with the EventBridge schema and refuses a body that is not one', async () => {
    const ids: string[] = [];
    const handler = queueHandler(busEventSchema, async (event) => {
      ids.push(event.id);
    });
    const { account: _account, ...noAccount } = busEvent('e-2');
    const response = await handler({ Records: [record('m-1', JSON.stringify(busEvent('e-1'))), record('m-2', JSON.stringify(noAccount))] }, context);
    assert.deepEqual(ids, ['e-1']);
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: 'm-2' }]);
  });
});

describe('ruleHandler', () => {
  const detail = z.object({ tenant: z.string(), score: z.number() });

  it('hands the parsed detail to the handler', async () => {
    const got: unknown[] = [];
    await ruleHandler(detail, async (parsed) => {
      got.push(parsed);
    })(busEvent('e-1', { tenant: 'acme', score: 4.2 }) as EventBridgeEvent<string, unknown>, context);
    assert.deepEqual(got, [{ tenant: 'acme', score: 4.2 }]);
  });

  it('drops an event whose detail does not match (a retry cannot fix it) without calling the handler', async () => {
    await ruleHandler(detail, async () => assert.fail('handler called with an invalid detail'))(busEvent('e-1', { tenant: 'acme', score: 'high' }) as EventBridgeEvent<string, unknown>, context);
  });

  it('throws what the handler throws, so Lambda retries it', async () => {
    const handler = ruleHandler(detail, async () => {
      throw new DependencyError('bus throttled');
    });
    await assert.rejects(handler(busEvent('e-1', { tenant: 'acme', score: 1 }) as EventBridgeEvent<string, unknown>, context), DependencyError);
  });
});

describe('scheduledJob', () => {
  it('runs every target with at most `concurrency` in flight, counts failures and sums the totals', async () => {
    let inFlight = 0;
    let peak = 0;
    const job = scheduledJob({
      name: 'TestJob',
      concurrency: 3,
      targets: async () => Array.from({ length: 10 }, (_, index) => index),
      describe: (n) => ({ target: String(n) }),
      run: async (n) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight -= 1;
        if (n === 7) throw new Error('target 7 is broken');
        return n;
      },
      summarize: (values) => ({ sum: values.reduce((a, b) => a + b, 0) }),
    });
    const summary = await job({ time: '2026-12-01T10:00:00Z' }, context);
    assert.deepEqual(summary, { sum: 45 - 7, targets: 10, succeeded: 9, failed: 1 });
    assert.equal(peak, 3);
  });

  it('gives the run the scheduled time and the tenants an operator named', async () => {
    const runs: unknown[] = [];
    const job = scheduledJob({
      name: 'TestJob',
      concurrency: 1,
      targets: async (run) => {
        runs.push({ now: run.now.toISOString(), tenants: run.tenants });
        return [];
      },
      describe: () => ({}),
      run: async () => 0,
    });
    assert.deepEqual(await job({ time: '2026-12-01T10:00:00Z', tenants: ['acme'] }), { targets: 0, succeeded: 0, failed: 0 });
    assert.deepEqual(runs, [{ now: '2026-12-01T10:00:00.000Z', tenants: ['acme'] }]);
  });

  it('refuses malformed input before running anything', async () => {
    const job = scheduledJob({ name: 'TestJob', concurrency: 1, targets: async () => assert.fail('ran'), describe: () => ({}), run: async () => 0 });
    await assert.rejects(job({ time: 'yesterday' }), ValidationError);
    await assert.rejects(job({ tenants: ['Not A Tenant'] }), (error: ValidationError) => error.issues.some((issue) => issue.path === 'tenants.0'));
  });
});
