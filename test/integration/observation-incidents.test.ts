/**
 * Incidents on the local cloud: a series ingested over HTTP with an injected level shift opens
 * exactly one incident, `observation.incident.opened` with its evidence in the tenant's ledger
 * (where the audit rule records every bus event), and closes it after recovery
 * (`observation.incident.closed`); the status route shows it open, then closed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalogEntry } from '../../events/catalog.ts';
import { DEFAULT_DETECTOR } from '../../lib/observation/detector-registry.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant } from '../helpers/local-cloud.ts';

const T0 = Date.UTC(2026, 0, 1);
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();

/** A noisy level of 100 from minute `from`, `count` minutes, shifted by `by` (deterministic noise). */
function points(series: string, from: number, count: number, by = 0) {
  return Array.from({ length: count }, (_, k) => {
    const minute = from + k;
    const noise = ((minute * 7919) % 31) / 10;
    return { series, timestamp: at(minute), value: 100 + noise + by };
  });
}

const ingest = (tenant: string, batch: unknown[]) =>
  api('POST', '/observation/ingest', { tenant, roles: ['operator'], body: { parameters: { points: batch } } });
const recorded = async (tenant: string, detailType: string) =>
  (await ledgerEvents(tenant, 'observation')).filter((event) => event.detailType === detailType);

describe('observation incidents on the local cloud', () => {
  it('opens exactly one incident for an injected level shift, with its evidence in the ledger, and closes it after recovery', async () => {
    const tenant = freshTenant('inc');
    const series = 'db.latency.p99';
    // 200 minutes of normal behaviour: past the detector's warm-up and the tracker's estimation.
    for (const from of [0, 100]) {
      const reply = await ingest(tenant, points(series, from, 100));
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body.result.incidents, []);
    }

    // The fault: 12 minutes 40 above the level, sent a minute at a time as an agent would.
    let flagged = 0;
    for (const point of points(series, 200, 12, 40)) {
      const reply = await ingest(tenant, [point]);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      flagged += reply.body.result.anomalies.length;
    }
    assert.ok(flagged >= 3, `the detector flagged ${flagged} points of the shift`);
    const [opened] = await eventually('observation.incident.opened in the ledger', async () => {
      const found = await recorded(tenant, 'observation.incident.opened');
      return found.length > 0 ? found : undefined;
    });
    const detail = catalogEntry('observation.incident.opened').schema.parse(opened?.detail);
    assert.equal(opened?.source, 'autonomy.observation');
    assert.equal(detail.tenant, tenant);
    assert.equal(detail.series, series);
    assert.equal(detail.detector, DEFAULT_DETECTOR);
    assert.equal(detail.start, at(200));
    assert.ok(detail.likelihood.logLikelihood >= 0.5, JSON.stringify(detail.likelihood));
    assert.ok(detail.peak.value >= 140);
    assert.ok(detail.evidence.deviation !== null && detail.evidence.deviation > 30, JSON.stringify(detail.evidence));
    const open = await api('GET', `/observation/status?series=${series}`, { tenant, roles: ['viewer'] });
    assert.equal(open.body.result.incidents.open?.start, at(200), JSON.stringify(open.body.result.incidents));

    // Recovery: back to the level.
    const recovered = await ingest(tenant, points(series, 212, 30));
    assert.deepEqual(
      recovered.body.result.incidents.map((incident: { status: string; start: string }) => [incident.status, incident.start]),
      [['closed', at(200)]],
    );
    const [closed] = await eventually('observation.incident.closed in the ledger', async () => {
      const found = await recorded(tenant, 'observation.incident.closed');
      return found.length > 0 ? found : undefined;
    });
    const end = catalogEntry('observation.incident.closed').schema.parse(closed?.detail);
    assert.deepEqual([end.start, end.reason], [at(200), 'recovered']);
    assert.ok(Date.parse(end.end) >= Date.parse(at(212)), end.end);
    assert.equal(end.durationMs, Date.parse(end.end) - Date.parse(end.start));

    // Exactly one incident for the whole shift, however many points it flagged.
    assert.equal((await recorded(tenant, 'observation.incident.opened')).length, 1);
    assert.equal((await recorded(tenant, 'observation.incident.closed')).length, 1);
    const after = await api('GET', `/observation/status?series=${series}`, { tenant, roles: ['viewer'] });
    assert.deepEqual(after.body.result.incidents, { open: null, opened: 1, closed: 1 });
  });
});
