/**
 * The plain-JSON-data guard (lib/json-data.ts) and the publisher's use of it: what JSON cannot
 * carry as it is, in a field a schema types `unknown`, is refused with its path before anything
 * is sent. (Its use at the HTTP edge is tested in http-handler.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { busEvent, InvalidEventError, type OutgoingEntry, type PutEventsPort, validatingPublisher } from '../../lib/events/publisher.ts';
import { jsonDataIssues } from '../../lib/json-data.ts';

function recordingPort(): { port: PutEventsPort; sent: OutgoingEntry[] } {
  const sent: OutgoingEntry[] = [];
  return {
    sent,
    port: {
      async putEvents(entries) {
        sent.push(...entries);
        return entries.map((_, index) => ({ eventId: `e-${index}` }));
      },
    },
  };
}

const gated = (parameters: Record<string, unknown>) =>
  busEvent('governance.approval.requested', {
    tenant: 'acme',
    approvalId: 'approval-p-1',
    proposalId: 'p-1',
    executionArn: 'arn:aws:states:us-east-1:000000000000:execution:autonomy-test-governance-gate:approval-p-1',
    action: { engine: 'reflex', name: 'restart', target: 'endpoint/chat', parameters },
    environment: 'prod',
    risk: 'high',
    required: 2,
    group: 'approver',
    requestedBy: 'alice',
    reason: 'latency',
    requestedAt: '2026-11-25T12:00:00Z',
    deadline: '2026-11-26T12:00:00Z',
  });

describe('jsonDataIssues', () => {
  it('accepts plain JSON data, with undefined object properties left out as JSON leaves them', () => {
    assert.deepEqual(jsonDataIssues({ a: [1, 'two', null, true, { b: -0 }], skipped: undefined, '👩‍👩‍👧': 'é' }, { maxDepth: 4 }), []);
  });

  it('names the path of each value JSON cannot carry as it is', () => {
    const issues = jsonDataIssues(
      { n: Number.NaN, list: [1, undefined], when: new Date(0), big: 1n, text: 'a\ud800', '\udc00': 1 },
      { maxDepth: 8 },
    );
    assert.deepEqual(issues.map((issue) => issue.path.join('.')).sort(), ['\udc00', 'big', 'list.1', 'n', 'text', 'when'].sort());
  });

  it('reports a cycle and a 100,000-level value as too deep, without overflowing the stack', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    let deep: unknown = 1;
    for (let level = 0; level < 100_000; level += 1) deep = [deep];
    assert.match(jsonDataIssues(cycle, { maxDepth: 32 })[0]?.message ?? '', /deeper than 32 levels/);
    assert.equal(jsonDataIssues(deep, { maxDepth: 32 })[0]?.path.length, 32);
  });
});

describe('validatingPublisher: only plain JSON data goes out', () => {
  it('refuses NaN, Infinity, a BigInt, a Map, a hole, a lone surrogate, a cycle and 100,000 levels in an action’s parameters, naming the path, and sends nothing', async () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    let deep: unknown = 1;
    for (let level = 0; level < 100_000; level += 1) deep = [deep];
    const at = 'events.0.detail.action.parameters';
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ drain: Number.NaN }, `${at}.drain`, /NaN is not a JSON number/],
      [{ drain: Number.POSITIVE_INFINITY }, `${at}.drain`, /Infinity is not a JSON number/],
      [{ count: 10n }, `${at}.count`, /bigint is not JSON data/],
      [{ seen: new Map([['a', 1]]) }, `${at}.seen`, /Map is not JSON data/],
      [{ list: [1, undefined] }, `${at}.list.1`, /undefined/],
      [{ note: 'x\ud800' }, `${at}.note`, /lone surrogate/],
      [cycle, `${at}.self`, /deeper than 32 levels/],
      [{ deep }, `${at}.deep`, /deeper than 32 levels/],
    ];
    for (const [parameters, path, message] of cases) {
      const { port, sent } = recordingPort();
      const error = await validatingPublisher(port)
        .publish([gated(parameters)])
        .catch((caught: unknown) => caught);
      assert.ok(error instanceof InvalidEventError, `${path}: ${String(error)}`);
      assert.ok(
        error.issues.some((issue) => issue.path.startsWith(path) && message.test(issue.message)),
        `${path}: ${JSON.stringify(error.issues).slice(0, 300)}`,
      );
      assert.equal(sent.length, 0);
    }
  });

  it('sends plain parameters as they were validated', async () => {
    const { port, sent } = recordingPort();
    await validatingPublisher(port).publish([gated({ drain: true, skipped: undefined, nested: { a: [1, 'two', null] } })]);
    assert.deepEqual(JSON.parse(sent[0]?.detail ?? '').action.parameters, { drain: true, nested: { a: [1, 'two', null] } });
  });
});
