/**
 * The validating publisher through the real EventBridge adapter, on the local cloud's bus: events
 * arrive at a rule target (the audit ledger: rule → queue → auditAppend → stream `events.observation`,
 * read back as the tenant through GET /audit/export), invalid ones never leave, and entries the bus
 * refuses end in a DependencyError.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { catalogEntry } from '../../events/catalog.ts';
import { eventBridgePublisher } from '../../lib/adapters/aws/event-publisher.ts';
import { DependencyError } from '../../lib/errors.ts';
import { type BusEvent, busEvent, InvalidEventError } from '../../lib/events/publisher.ts';
import { exportedEvents } from '../helpers/ledger-events.ts';
import { eventually, testCloud } from '../helpers/local-cloud.ts';

const cloud = testCloud();
const busName = Object.values(cloud.resources.buses)[0]?.split('/').pop() ?? '';
// Fast retries: these tests are about which entries are sent, not about waiting.
const publisher = eventBridgePublisher(new EventBridgeClient({}), { busName, retry: { baseDelayMs: 5, maxDelayMs: 20 } });

/** Whole seconds: PutEvents carries `Time` in seconds. */
const eventTime = () => new Date(Math.floor(Date.now() / 1000) * 1000);

/** The tenant's observation events in its ledger, as it exports them. */
const recorded = (tenant: string) => exportedEvents(tenant, 'observation');

function anomaly(tenant: string, value: number): BusEvent {
  return busEvent('observation.anomaly.detected', {
    tenant,
    series: 'api.latency.p99',
    timestamp: '2026-11-25T11:00:00Z',
    value,
    score: 120.4,
    detector: 'robust',
    anomaly: true,
    evidence: {
      detector: 'robust',
      config: { windowSize: 64, warmup: 32, threshold: 4, direction: 'both', minScale: 0 },
      n: 60,
      expected: 123,
      median: 123,
      mad: 2,
      scale: 2.9652,
      scaleSource: 'mad',
      deviation: value - 123,
      threshold: 4,
      lower: 111.1392,
      upper: 134.8608,
      warmingUp: false,
    },
  });
}

describe('validating publisher on the local EventBridge', () => {
  it('delivers a catalogued event to the ledger rule target with its source, detail-type, time and detail', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const time = eventTime();
    const event = { ...anomaly(tenant, 480), time, resources: [`series/${tenant}/api.latency.p99`] };
    await publisher.publish([event]);
    const [record] = await eventually('the anomaly in the ledger', async () => {
      const found = await recorded(tenant);
      return found.length > 0 ? found : undefined;
    });
    assert.equal(record?.source, 'autonomy.observation');
    assert.equal(record?.detailType, 'observation.anomaly.detected');
    assert.equal(record?.time, time.toISOString().replace('.000Z', 'Z'));
    assert.deepEqual(record?.detail, event.detail);
    assert.ok(catalogEntry('observation.anomaly.detected').schema.safeParse(record?.detail).success);
  });

  it('delivers 23 events sent in requests of 10, each once', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const time = eventTime();
    const events = Array.from({ length: 23 }, (_, i) => ({ ...anomaly(tenant, 200 + i), time }));
    await publisher.publish(events);
    const records = await eventually('23 ledger entries', async () => {
      const found = await recorded(tenant);
      return found.length >= 23 ? found : undefined;
    });
    assert.deepEqual(
      records.map((record) => (record.detail as { value: number }).value).sort((a, b) => a - b),
      [...Array(23).keys()].map((i) => 200 + i),
    );
  });

  it('sends nothing when one event of the call is invalid', async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const time = eventTime();
    const invalid = { ...anomaly(tenant, 999), time, detail: { ...anomaly(tenant, 999).detail, score: -1 } };
    await assert.rejects(publisher.publish([{ ...anomaly(tenant, 1), time }, invalid]), (error: unknown) => {
      assert.ok(error instanceof InvalidEventError);
      assert.deepEqual(
        error.issues.map((issue) => issue.path),
        ['events.1.detail.score'],
      );
      return true;
    });
    // A sentinel published afterwards arrives; had the valid event of the refused call been sent, it would be there too.
    await publisher.publish([{ ...anomaly(tenant, 2), time }]);
    const records = await eventually('the sentinel', async () => {
      const found = await recorded(tenant);
      return found.length > 0 ? found : undefined;
    });
    assert.deepEqual(
      records.map((record) => (record.detail as { value: number }).value),
      [2],
    );
  });

  it('throws DependencyError naming the refused count and error code when the bus refuses the entries', async () => {
    // The local bus refuses each entry addressed to a bus that does not exist (FailedEntryCount = entries).
    const missing = eventBridgePublisher(new EventBridgeClient({}), { busName: `no-such-bus-${randomUUID().slice(0, 8)}` });
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    await assert.rejects(missing.publish([anomaly(tenant, 1), anomaly(tenant, 2), anomaly(tenant, 3)]), (error: unknown) => {
      assert.ok(error instanceof DependencyError);
      assert.match(error.message, /refused 3 of 3 event\(s\).*NotAuthorizedForSourceException ×3/);
      return true;
    });
  });
});
