/**
 * Numbers every store and consumer can hold, end to end on the local cloud (issue 8, defect 5): a
 * detector setting beyond its bound is a 400 and no event leaves; a setting at its bound and a
 * point at the largest value both reach the audit ledger (a rule target of every bus event), with
 * the derived figures (score, band) within ±1e100.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_NUMBER_MAGNITUDE } from '../../events/common.ts';
import { exportedEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant } from '../helpers/local-cloud.ts';

const operator = (tenant: string) => ({ tenant, roles: ['operator' as const] });

async function configure(tenant: string, series: string, detector: string, config: Record<string, unknown>) {
  return api('PUT', '/observation/config', { ...operator(tenant), body: { parameters: { series, detector, config } } });
}

/** Every number inside `value`, with its path. */
function numbers(value: unknown, path = ''): Array<[string, number]> {
  if (typeof value === 'number') return [[path, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => numbers(inner, path ? `${path}.${key}` : key));
}

describe('detector settings and the numbers events carry', () => {
  it('answers 400 naming the field to a setting beyond its bound (huberK 1e300 and the others), and publishes nothing', async () => {
    const tenant = freshTenant();
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['seasonal', { huberK: 1e300 }, 'config.huberK'],
      ['seasonal', { minScale: 1e300 }, 'config.minScale'],
      ['seasonal', { intervalMs: 1e300 }, 'config.intervalMs'],
      ['robust', { minScale: 1e101 }, 'config.minScale'],
      ['ewma', { clip: 1e300 }, 'config.clip'],
      ['ewma', { minScale: 1e300 }, 'config.minScale'],
    ];
    for (const [detector, config, path] of cases) {
      const reply = await configure(tenant, 'bounds.poison', detector, config);
      assert.equal(reply.status, 400, `${detector} ${JSON.stringify(config)}: ${JSON.stringify(reply.body)}`);
      assert.ok(
        reply.body.issues.some((issue: { path: string }) => issue.path === path || issue.path === `body.parameters.${path}`),
        `${path} named in ${JSON.stringify(reply.body.issues)}`,
      );
    }
    assert.equal((await api('GET', '/observation/status?series=bounds.poison', operator(tenant))).status, 404, 'nothing was stored');

    // A control through the same path: a setting at its bound is stored, and its event reaches the ledger.
    const atBound = await configure(tenant, 'bounds.ok', 'seasonal', { huberK: 1000, minScale: MAX_NUMBER_MAGNITUDE, intervalMs: 60_000 });
    assert.equal(atBound.status, 200, JSON.stringify(atBound.body));
    const events = await eventually(
      'the configuration event in the ledger',
      async () => {
        const found = (await exportedEvents(tenant, 'observation')).filter((event) => event.detailType === 'observation.series.configured');
        return found.length > 0 ? found : undefined;
      },
      15_000,
    );
    assert.deepEqual(
      events.map((event) => event.detail.series),
      ['bounds.ok'],
      'the refused configurations never left',
    );
  });

  it('publishes an anomaly at the largest value a point may have, its score and band within ±1e100', async () => {
    const tenant = freshTenant();
    const start = Date.parse('2026-01-01T00:00:00Z');
    const at = (index: number) => new Date(start + index * 60_000).toISOString();
    // 70 flat points: past the default detector's warm-up (60).
    const flat = Array.from({ length: 70 }, (_, index) => ({ series: 'bounds.flat', timestamp: at(index), value: 0 }));
    assert.equal((await api('POST', '/observation/ingest', { ...operator(tenant), body: { parameters: { points: flat } } })).status, 200);
    const spike = await api('POST', '/observation/ingest', {
      ...operator(tenant),
      body: { parameters: { point: { series: 'bounds.flat', timestamp: at(70), value: MAX_NUMBER_MAGNITUDE } } },
    });
    assert.equal(spike.status, 200, JSON.stringify(spike.body));
    assert.equal(spike.body.result.anomalies.length, 1, JSON.stringify(spike.body.result));
    assert.equal(spike.body.result.anomalies[0].score, MAX_NUMBER_MAGNITUDE, 'the score saturates at the bound (it would be ~1e109)');
    const [event] = await eventually(
      'the anomaly event in the ledger',
      async () => {
        const found = (await exportedEvents(tenant, 'observation')).filter((item) => item.detailType === 'observation.anomaly.detected');
        return found.length > 0 ? found : undefined;
      },
      15_000,
    );
    const outside = numbers(event?.detail).filter(([, value]) => !(Math.abs(value) <= MAX_NUMBER_MAGNITUDE));
    assert.deepEqual(outside, [], 'every number of the event is within ±1e100');
    const status = await api('GET', '/observation/status?series=bounds.flat', operator(tenant));
    const outsideStatus = numbers(status.body.result).filter(([, value]) => !(Math.abs(value) <= MAX_NUMBER_MAGNITUDE));
    assert.deepEqual(outsideStatus, [], 'every number of the status is within ±1e100');
  });
});
