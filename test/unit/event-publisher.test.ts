import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DependencyError, ValidationError } from '../../lib/errors.ts';
import {
  type BusEvent,
  busEvent,
  defaultRetryPolicy,
  type EntryResult,
  entrySize,
  InvalidEventError,
  MAX_REQUEST_BYTES,
  type OutgoingEntry,
  type PutEventsPort,
  planBatches,
  validatingPublisher,
} from '../../lib/events/publisher.ts';

type Responder = (entries: readonly OutgoingEntry[], call: number) => EntryResult[];

/** A fake of our own PutEvents port: records every request, answers with `respond`. */
function fakePort(respond: Responder = (entries) => entries.map((_, i) => ({ eventId: `id-${i}` }))) {
  const calls: OutgoingEntry[][] = [];
  const port: PutEventsPort = {
    async putEvents(entries) {
      calls.push([...entries]);
      return respond(entries, calls.length);
    },
  };
  return { port, calls };
}

/** Options that record waits instead of sleeping. */
function noWait(random = () => 0.5) {
  const waits: number[] = [];
  return { waits, options: { sleep: async (ms: number) => void waits.push(ms), random } };
}

const finding = (seq: number, tenant = 'acme') =>
  busEvent('audit.finding.raised', {
    tenant,
    stream: 'governance',
    ruleId: 'actor-present',
    severity: 'high',
    seq,
    message: `entry ${seq} has no actor`,
  });
const findings = (count: number) => Array.from({ length: count }, (_, seq) => finding(seq));
const seqOf = (entry: OutgoingEntry | undefined) => (JSON.parse(entry?.detail ?? '{}') as { seq: number }).seq;
const accepted = (entry: OutgoingEntry) => ({ eventId: `ev-${seqOf(entry)}` });
const refused = (code: string) => ({ errorCode: code, errorMessage: `${code} for this entry` });

describe('busEvent', () => {
  it('fills the source and detail.version from the catalog', () => {
    const event = finding(3);
    assert.equal(event.source, 'autonomy.audit');
    assert.equal(event.detailType, 'audit.finding.raised');
    assert.equal(event.detail.version, '1');
  });
});

describe('validatingPublisher: validation', () => {
  it('throws InvalidEventError naming events.0.detailType for an uncatalogued event, and sends nothing', async () => {
    const { port, calls } = fakePort();
    const error = await validatingPublisher(port)
      .publish([{ source: 'autonomy.audit', detailType: 'audit.thing.happened', detail: { version: '1', tenant: 'acme' } }])
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof InvalidEventError);
    assert.ok(!(error instanceof ValidationError), 'an event we built wrong is our bug (500), not a bad request (400)');
    assert.equal(error.name, 'InvalidEventError');
    assert.deepEqual(
      error.issues.map((issue) => issue.path),
      ['events.0.detailType'],
    );
    assert.equal(calls.length, 0);
  });

  it('refuses a catalogued detail-type under another source', async () => {
    const { port, calls } = fakePort();
    const event = { ...finding(1), source: 'autonomy.observation' };
    await assert.rejects(validatingPublisher(port).publish([event]), InvalidEventError);
    assert.equal(calls.length, 0);
  });

  it('sends none of the events when one detail is invalid, and names each bad field path', async () => {
    const { port, calls } = fakePort();
    const bad: BusEvent = { ...finding(2), detail: { ...finding(2).detail, tenant: 'ACME', seq: -1 } };
    const error = await validatingPublisher(port)
      .publish([finding(1), bad, finding(3)])
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof InvalidEventError);
    assert.deepEqual(error.issues.map((issue) => issue.path).sort(), ['events.1.detail.seq', 'events.1.detail.tenant']);
    assert.match(error.message, /^Invalid event: events\.1\.detail\./);
    assert.equal(calls.length, 0);
  });

  it('refuses a field the schema does not know (a task token must never reach the bus)', async () => {
    const { port, calls } = fakePort();
    const event = busEvent('governance.approval.decided', {
      tenant: 'acme',
      approvalId: 'approval-p-1',
      proposalId: 'p-1',
      decision: 'approved',
      vote: { actor: 'bob', decision: 'approve', reason: 'runbook checked', at: '2026-11-25T12:00:00Z' },
      approvals: 1,
      required: 1,
      decidedBy: 'bob',
      decidedAt: '2026-11-25T12:00:00Z',
    });
    const error = await validatingPublisher(port)
      .publish([{ ...event, detail: { ...event.detail, taskToken: 'secret' } }])
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof InvalidEventError);
    assert.match(error.message, /taskToken/);
    assert.equal(calls.length, 0);
  });

  it('refuses an entry over 256 KB before sending anything', async () => {
    const { port, calls } = fakePort();
    // Every field of a detail is bounded but a gated action's parameters (its engine bounds them).
    const huge = busEvent('governance.approval.requested', {
      tenant: 'acme',
      approvalId: 'approval-p-1',
      proposalId: 'p-1',
      executionArn: 'arn:aws:states:us-east-1:000000000000:execution:autonomy-test-governance-gate:approval-p-1',
      action: { engine: 'reflex', name: 'restart', target: 'endpoint/chat', parameters: { note: 'x'.repeat(MAX_REQUEST_BYTES) } },
      environment: 'prod',
      risk: 'high',
      required: 2,
      group: 'approver',
      requestedBy: 'alice',
      reason: 'latency',
      requestedAt: '2026-11-25T12:00:00Z',
      deadline: '2026-11-26T12:00:00Z',
    });
    const error = await validatingPublisher(port)
      .publish([finding(1), huge])
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof InvalidEventError);
    assert.deepEqual(
      error.issues.map((issue) => issue.path),
      ['events.1'],
    );
    assert.match(error.message, /over the 262144-byte PutEvents limit/);
    assert.equal(calls.length, 0);
  });

  it('sends the detail as its schema parsed it, as JSON', async () => {
    const { port, calls } = fakePort();
    await validatingPublisher(port).publish([finding(7)]);
    assert.deepEqual(JSON.parse(calls[0]?.[0]?.detail ?? ''), {
      version: '1',
      tenant: 'acme',
      stream: 'governance',
      ruleId: 'actor-present',
      severity: 'high',
      seq: 7,
      message: 'entry 7 has no actor',
    });
    assert.equal(calls[0]?.[0]?.source, 'autonomy.audit');
  });
});

describe('validatingPublisher: batching', () => {
  it('sends 25 events as requests of 10, 10 and 5, in order', async () => {
    const { port, calls } = fakePort((entries) => entries.map(accepted));
    await validatingPublisher(port).publish(findings(25));
    assert.deepEqual(
      calls.map((call) => call.length),
      [10, 10, 5],
    );
    assert.deepEqual(calls.flat().map(seqOf), [...Array(25).keys()]);
  });

  it('keeps each request within 256 KB', async () => {
    const { port, calls } = fakePort((entries) => entries.map(() => ({ eventId: 'e' })));
    const large = Array.from({ length: 5 }, (_, i) => ({
      ...finding(i),
      detail: { ...finding(i).detail, message: 'm' },
      resources: Array.from({ length: 10 }, (_, r) => `arn:aws:s3:::bucket/${'k'.repeat(10_000)}${r}`),
    }));
    await validatingPublisher(port).publish(large);
    assert.deepEqual(
      calls.map((call) => call.length),
      [2, 2, 1],
    );
    for (const call of calls) assert.ok(call.reduce((sum, entry) => sum + entrySize(entry), 0) <= MAX_REQUEST_BYTES);
  });

  it('counts entry bytes as EventBridge does: 14 for a time, UTF-8 bytes of source, detail-type, detail and resources', () => {
    const entry: OutgoingEntry = {
      source: 'autonomy.a',
      detailType: 'a.b.c',
      detail: '{"x":"é"}',
      resources: ['r1', 'r22'],
      time: new Date(),
    };
    assert.equal(entrySize(entry), 14 + 10 + 5 + 10 + 2 + 3);
    assert.equal(entrySize({ source: 's', detailType: 'd', detail: '{}' }), 4);
  });

  it('covers every entry once, in order, within 10 entries and 256 KB per request (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: MAX_REQUEST_BYTES - 2 }), { maxLength: 60 }), (sizes) => {
        const entries = sizes.map((size): OutgoingEntry => ({ source: 's', detailType: 'd', detail: 'x'.repeat(size) }));
        const batches = planBatches(entries);
        assert.deepEqual(batches.flat(), [...entries.keys()]);
        for (const batch of batches) {
          assert.ok(batch.length >= 1 && batch.length <= 10);
          assert.ok(batch.reduce((sum, index) => sum + entrySize(entries[index] as OutgoingEntry), 0) <= MAX_REQUEST_BYTES);
        }
      }),
    );
  });
});

describe('validatingPublisher: refused entries', () => {
  it('resends only the refused entries, after a jittered wait, and resolves when they are accepted', async () => {
    const { port, calls } = fakePort((entries, call) =>
      entries.map((entry) => (call === 1 && [1, 3].includes(seqOf(entry)) ? refused('ThrottlingException') : accepted(entry))),
    );
    const { waits, options } = noWait(() => 0.5);
    await validatingPublisher(port, options).publish(findings(5));
    assert.deepEqual(
      calls.map((call) => call.map(seqOf)),
      [
        [0, 1, 2, 3, 4],
        [1, 3],
      ],
    );
    assert.deepEqual(waits, [50]);
  });

  it('gives up after 4 sends and throws DependencyError naming the count and the error codes', async () => {
    const { port, calls } = fakePort((entries) =>
      entries.map((entry) => {
        const seq = seqOf(entry);
        if (seq === 2) return refused('InternalFailure');
        if (seq === 4) return refused('ThrottlingException');
        return accepted(entry);
      }),
    );
    const { waits, options } = noWait(() => 0.999);
    const error = await validatingPublisher(port, options)
      .publish(findings(6))
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof DependencyError);
    assert.equal(error.name, 'DependencyError');
    assert.match(error.message, /refused 2 of 6 event\(s\) after up to 4 attempt\(s\): InternalFailure ×1, ThrottlingException ×1/);
    assert.equal(calls.length, defaultRetryPolicy.attempts);
    assert.deepEqual(
      calls.slice(1).map((call) => call.map(seqOf)),
      [
        [2, 4],
        [2, 4],
        [2, 4],
      ],
    );
    assert.deepEqual(waits, [99, 199, 399]);
  });

  it('does not resend an entry refused with a permanent code', async () => {
    const { port, calls } = fakePort((entries) => entries.map(() => refused('NotAuthorizedForSourceException')));
    const { waits, options } = noWait();
    await assert.rejects(validatingPublisher(port, options).publish(findings(3)), /refused 3 of 3 .*NotAuthorizedForSourceException ×3/);
    assert.equal(calls.length, 1);
    assert.deepEqual(waits, []);
  });

  it('still sends later requests after one request is refused, then reports all refusals', async () => {
    const { port, calls } = fakePort((entries) =>
      entries.map((entry) => (seqOf(entry) === 0 ? refused('MalformedDetail') : accepted(entry))),
    );
    await assert.rejects(validatingPublisher(port, noWait().options).publish(findings(15)), /refused 1 of 15/);
    assert.deepEqual(
      calls.map((call) => call.length),
      [10, 5],
    );
  });

  it('treats a missing result as a refusal to retry', async () => {
    const { port, calls } = fakePort((entries, call) => (call === 1 ? entries.slice(1).map(accepted) : entries.map(accepted)));
    await validatingPublisher(port, noWait().options).publish(findings(3));
    assert.deepEqual(calls[1]?.map(seqOf), [2]);
  });

  it('honours a custom retry policy', async () => {
    const { port, calls } = fakePort((entries) => entries.map(() => refused('ThrottlingException')));
    const { waits, options } = noWait(() => 0.999);
    await assert.rejects(
      validatingPublisher(port, { ...options, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 } }).publish(findings(1)),
      DependencyError,
    );
    assert.equal(calls.length, 2);
    assert.deepEqual(waits, [9]);
  });

  it('delivers every entry exactly once and never resends an accepted one, whatever transient refusals (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.boolean(), { minLength: 120, maxLength: 120 }),
        async (count, refusals) => {
          let next = 0;
          const delivered: number[] = [];
          const { port } = fakePort((entries) =>
            entries.map((entry) => {
              // Never refuse on the last allowed send, so every entry can get through.
              const refuse = (refusals[next++ % refusals.length] ?? false) && next < 60;
              if (refuse) return refused('ThrottlingException');
              delivered.push(seqOf(entry));
              return accepted(entry);
            }),
          );
          const publisher = validatingPublisher(port, { ...noWait().options, retry: { attempts: 100 } });
          await publisher.publish(findings(count));
          assert.deepEqual(
            [...delivered].sort((a, b) => a - b),
            [...Array(count).keys()],
          );
        },
      ),
    );
  });
});
