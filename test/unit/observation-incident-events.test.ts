import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { incidentClosed, incidentOpened, seriesConfigured } from '../../events/observation.ts';
import { type OutgoingEntry, validatingPublisher } from '../../lib/events/publisher.ts';
import { DEFAULT_DETECTOR } from '../../lib/observation/detector-registry.ts';
import { type ObservationDeps, ingest } from '../../lib/observation/ingest.ts';
import { memorySeriesStore } from '../../lib/observation/memory-store.ts';
import { configureSeries, seriesStatus } from '../../lib/observation/series.ts';

const T0 = Date.parse('2026-11-25T00:00:00Z');
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();

function deps(): ObservationDeps & { sent: OutgoingEntry[] } {
  const sent: OutgoingEntry[] = [];
  const publisher = validatingPublisher({
    async putEvents(entries) {
      sent.push(...entries);
      return entries.map((_, i) => ({ eventId: `e${sent.length + i}` }));
    },
  });
  return { store: memorySeriesStore(), publisher, now: () => new Date(T0), sleep: async () => {}, sent };
}

/** A noisy level of 100 for `count` minutes from `from`, shifted by `shift` on [shiftFrom, shiftTo). */
function points(series: string, from: number, count: number, shift = { from: -1, to: -1, by: 0 }) {
  let seed = 21;
  return Array.from({ length: count }, (_, k) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const minute = from + k;
    const value = 100 + 3 * (seed / 2147483648) + (minute >= shift.from && minute < shift.to ? shift.by : 0);
    return { series, timestamp: at(minute), value: Math.round(value * 1000) / 1000, labels: { host: 'db-1' } };
  });
}

const ofType = (sent: readonly OutgoingEntry[], detailType: string) =>
  sent.filter((entry) => entry.detailType === detailType).map((entry) => JSON.parse(entry.detail) as Record<string, unknown>);

describe('incident events from ingest', () => {
  it('publishes one observation.incident.opened for a level shift, with the evidence, and one .closed after recovery', async () => {
    const d = deps();
    await ingest('acme', points('db.latency', 0, 200), d);
    assert.equal(ofType(d.sent, 'observation.incident.opened').length, 0, 'a steady series opens nothing');
    // 12 minutes 40 above the level: one incident, however many points the detector flags.
    const shifted = await ingest('acme', points('db.latency', 200, 12, { from: 200, to: 212, by: 40 }), d);
    assert.ok(shifted.anomalies.length >= 3, `${shifted.anomalies.length} anomalous points`);
    assert.deepEqual(
      shifted.incidents.map(({ status, start }) => [status, start]),
      [['opened', at(200)]],
    );
    const [opened, ...more] = ofType(d.sent, 'observation.incident.opened');
    assert.equal(more.length, 0);
    const detail = incidentOpened.schema.parse(opened);
    assert.equal(detail.tenant, 'acme');
    assert.equal(detail.series, 'db.latency');
    assert.equal(detail.detector, DEFAULT_DETECTOR);
    assert.equal(detail.start, at(200));
    assert.deepEqual(detail.labels, { host: 'db-1' });
    assert.equal(detail.peak.timestamp, at(200));
    assert.ok(detail.likelihood.logLikelihood >= 0.5 && detail.likelihood.likelihood > 0.99999);
    assert.ok(detail.evidence.deviation !== null && detail.evidence.deviation > 30);
    assert.equal(detail.scores.points, 1);

    const open = await seriesStatus('acme', 'db.latency', d);
    assert.equal(open.incidents.open?.start, at(200));
    assert.deepEqual([open.incidents.opened, open.incidents.closed], [1, 0]);

    const recovered = await ingest('acme', points('db.latency', 212, 30), d);
    assert.deepEqual(
      recovered.incidents.map(({ status }) => status),
      ['closed'],
    );
    const [closed] = ofType(d.sent, 'observation.incident.closed');
    const end = incidentClosed.schema.parse(closed);
    assert.equal(end.start, at(200));
    assert.equal(end.reason, 'recovered');
    assert.ok(Date.parse(end.end) >= Date.parse(at(212)), `closed at ${end.end}, after the shift`);
    assert.equal(end.durationMs, Date.parse(end.end) - Date.parse(end.start));
    assert.ok(end.scores.points >= 13);
    assert.ok(end.peak.value > 130);
    assert.equal(ofType(d.sent, 'observation.incident.opened').length, 1, 'no second incident for the same shift');
    const status = await seriesStatus('acme', 'db.latency', d);
    assert.deepEqual([status.incidents.open, status.incidents.opened, status.incidents.closed], [null, 1, 1]);
  });

  it('closes an incident still open when the series gets a new detector, before announcing the configuration', async () => {
    const d = deps();
    await ingest('acme', points('q.depth', 0, 200), d);
    await ingest('acme', points('q.depth', 200, 5, { from: 200, to: 205, by: 60 }), d);
    assert.equal(ofType(d.sent, 'observation.incident.opened').length, 1);
    d.sent.length = 0;
    await configureSeries('acme', { series: 'q.depth', detector: 'robust', config: {} }, 'alice', d);
    assert.deepEqual(
      d.sent.map((entry) => entry.detailType),
      ['observation.incident.closed', 'observation.series.configured'],
    );
    const closed = incidentClosed.schema.parse(JSON.parse(d.sent[0]?.detail ?? '{}'));
    assert.equal(closed.reason, 'reconfigured');
    assert.equal(closed.start, at(200));
    assert.equal(closed.end, at(204));
    assert.equal(seriesConfigured.schema.parse(JSON.parse(d.sent[1]?.detail ?? '{}')).detector, 'robust');
    const status = await seriesStatus('acme', 'q.depth', d);
    assert.equal(status.incidents.open, null);
    assert.equal(status.incidents.opened, 0, 'a fresh tracker, warmed on the replayed points without opening');
  });

  it('keeps the series record small with the tracker in it', async () => {
    const d = deps();
    await ingest('acme', points('big', 0, 500), d);
    const record = await d.store.get('acme', 'big');
    assert.ok(record);
    assert.ok(Buffer.byteLength(JSON.stringify(record.incidents)) < 1024);
  });
});
