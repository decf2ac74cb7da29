import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anomalyDetected, seriesConfigured } from '../../events/observation.ts';
import { ConflictError, DependencyError, NotFoundError, ValidationError } from '../../lib/errors.ts';
import { type OutgoingEntry, validatingPublisher } from '../../lib/events/publisher.ts';
import fc from 'fast-check';
import { DEFAULT_DETECTOR, initSeriesState, type SeriesState } from '../../lib/observation/detector-registry.ts';
import { appendOutbox, type ObservationDeps, ingest, newSeriesRecord } from '../../lib/observation/ingest.ts';
import { memorySeriesStore } from '../../lib/observation/memory-store.ts';
import { RECENT_POINTS, REORDER_WINDOW, type SeriesRecord, type SeriesStore } from '../../lib/observation/ports.ts';
import { headState, placePoints } from '../../lib/observation/reorder-window.ts';
import { queueMessageSchema } from '../../lib/observation/queue.ts';
import { configureSeries, configuredState, deleteSeries, forecastSeries, listSeries, seriesStatus } from '../../lib/observation/series.ts';
import { MAX_DATA_BYTES } from '../../lib/adapters/aws/series-store.ts';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const at = (i: number) => new Date(T0 + i * MINUTE).toISOString();

/** A bus fake behind the real validating publisher: records what was sent, can refuse everything. */
function fakeBus() {
  const sent: OutgoingEntry[] = [];
  let refuse = false;
  const publisher = validatingPublisher(
    {
      async putEvents(entries) {
        if (refuse) return entries.map(() => ({ errorCode: 'InternalFailure', errorMessage: 'down' }));
        sent.push(...entries);
        return entries.map((_, i) => ({ eventId: `e${sent.length + i}` }));
      },
    },
    { sleep: async () => {}, retry: { attempts: 2 } },
  );
  return {
    publisher,
    sent,
    setRefuse(value: boolean) {
      refuse = value;
    },
  };
}

function deps(store: SeriesStore = memorySeriesStore(), bus = fakeBus()): ObservationDeps & { bus: ReturnType<typeof fakeBus> } {
  return { store, publisher: bus.publisher, now: () => new Date(T0), sleep: async () => {}, bus };
}

/** A steady, slightly noisy series. */
function steady(series: string, from: number, count: number, base = 100) {
  return Array.from({ length: count }, (_, k) => ({ series, timestamp: at(from + k), value: base + ((from + k) % 5) - 2 }));
}

describe('ingest', () => {
  it('keeps the good points and lists each bad one by index and reason', async () => {
    const d = deps();
    const report = await ingest(
      'acme',
      [
        { series: 'api.latency', timestamp: at(0), value: 10 },
        { series: 'api.latency', timestamp: 'yesterday', value: 11 },
        { series: 'bad name!', timestamp: at(1), value: 11 },
        { series: 'api.latency', timestamp: at(2), value: Number.NaN },
        'not a point',
        { series: 'api.latency', timestamp: at(3), value: 12, labels: { region: 'eu' } },
      ],
      d,
    );
    assert.equal(report.accepted, 2);
    assert.deepEqual(
      report.rejected.map((r) => [r.index, r.path]),
      [
        [1, 'timestamp'],
        [2, 'series'],
        [3, 'value'],
        [4, ''],
      ],
    );
    assert.ok(report.rejected.every((r) => r.reason.length > 0));
    assert.equal(report.applied, 2);
    const status = await seriesStatus('acme', 'api.latency', d);
    assert.equal(status.stats.count, 2);
    assert.equal(status.summary.lastValue, 12);
    assert.deepEqual(status.labels, { region: 'eu' });
    assert.equal(status.detector.name, DEFAULT_DETECTOR);
    assert.equal(status.storage.version, 1);
  });

  it('applies a shuffled batch in timestamp order and ignores duplicates', async () => {
    const d = deps();
    const points = steady('s', 0, 50);
    const shuffled = [...points].sort(
      (a, b) => ((a.value * 7919) % 13) - ((b.value * 7919) % 13) || a.timestamp.localeCompare(b.timestamp),
    );
    shuffled.push({ ...(points[10] as (typeof points)[number]), value: 999 });
    const report = await ingest('acme', shuffled, d);
    assert.equal(report.applied, 50);
    assert.equal(report.ignored.duplicates, 1);
    assert.deepEqual(report.unprocessed, []);
    const status = await seriesStatus('acme', 's', d);
    assert.equal(status.stats.count, 50);
    assert.equal(status.summary.lastTime, at(49));
  });

  it('applies a late point within the reorder window, scored against the points before it, and only once', async () => {
    const d = deps();
    const even = Array.from({ length: 100 }, (_, i) => ({ series: 's', timestamp: at(2 * i), value: 100 + (i % 3) }));
    await ingest('acme', even, d);
    // A late spike between t=160 and t=162: judged against the 81 points before it, as in order.
    const late = await ingest('acme', [{ series: 's', timestamp: at(161), value: 900 }], d);
    assert.deepEqual([late.applied, late.ignored.duplicates, late.ignored.outOfOrder], [1, 0, 0]);
    assert.equal(late.anomalies.length, 1);
    const [event] = d.bus.sent.filter((entry) => entry.detailType === 'observation.anomaly.detected');
    assert.equal(anomalyDetected.schema.parse(JSON.parse(event?.detail ?? '{}')).evidence.n, 81);
    const version = (await seriesStatus('acme', 's', d)).storage.version;
    const again = await ingest('acme', [{ series: 's', timestamp: at(161), value: 900 }], d);
    assert.deepEqual([again.applied, again.ignored.duplicates], [0, 1]);
    const status = await seriesStatus('acme', 's', d);
    assert.equal(status.storage.version, version, 'a request with nothing new writes nothing');
    assert.equal(status.stats.count, 101);
    assert.equal(status.stats.anomalies, 1);
    assert.equal(status.summary.lastTime, at(198));
    const record = (await d.store.get('acme', 's')) as SeriesRecord;
    assert.deepEqual(
      record.recent.map(([t]) => t),
      [...record.recent.map(([t]) => t)].sort((a, b) => a - b),
      'the recent ring stays in timestamp order',
    );
  });

  it('ignores a point older than the reorder window as out of order, and a re-sent old point as a duplicate', async () => {
    const d = deps();
    const count = REORDER_WINDOW + 20;
    await ingest('acme', steady('s', 0, count), d);
    const tooLate = await ingest('acme', [{ series: 's', timestamp: at(5.5), value: 1 }], d);
    assert.deepEqual([tooLate.applied, tooLate.ignored.outOfOrder], [0, 1]);
    // t=5 is older than the window but still in the recent ring: recognised as already applied.
    const resent = await ingest('acme', [{ series: 's', timestamp: at(5), value: 1 }], d);
    assert.deepEqual([resent.applied, resent.ignored.duplicates], [0, 1]);
    const mixed = await ingest(
      'acme',
      [
        { series: 's', timestamp: at(count - 10.5), value: 100 },
        { series: 's', timestamp: at(6.5), value: 1 },
        { series: 's', timestamp: at(7), value: 1 },
      ],
      d,
    );
    assert.deepEqual([mixed.applied, mixed.ignored.outOfOrder, mixed.ignored.duplicates], [1, 1, 1]);
    const stats = (await seriesStatus('acme', 's', d)).stats;
    // Ignored points are counted in the series when they come with a write.
    assert.deepEqual([stats.count, stats.outOfOrder, stats.duplicates], [count + 1, 1, 1]);
  });

  it('reaches the same detector state whatever order and batches the points of a window arrive in', () => {
    const strip = (state: SeriesState) => ({ ...state, version: 0, stats: { ...state.stats, anomalies: 0, lastAnomalyTimestamp: null } });
    const values = (n: number) => Array.from({ length: n }, (_, i) => ({ timestamp: T0 + i * MINUTE, value: 50 + ((i * 37) % 11) + (i === 40 ? 80 : 0) }));
    fc.assert(
      fc.property(
        fc.constantFrom('robust', 'ewma', 'seasonal'),
        fc.integer({ min: 1, max: 120 }).chain((n) => fc.tuple(fc.shuffledSubarray(values(n), { minLength: n, maxLength: n }), fc.integer({ min: 1, max: 9 }))),
        (detector, [arrival, batch]) => {
          const init = initSeriesState(detector, detector === 'seasonal' ? { seasonLength: 6, warmupSeasons: 2 } : {});
          const base = newSeriesRecord('acme', 's', init, new Date(T0));
          let record = base;
          for (let start = 0; start < arrival.length; start += batch) {
            const chunk = arrival.slice(start, start + batch).sort((a, b) => a.timestamp - b.timestamp);
            const placed = placePoints(record, chunk);
            assert.ok(placed.outcomes.every((outcome) => !('skipped' in outcome)));
            record = { ...record, state: placed.state, window: placed.window, recent: placed.recent };
          }
          const ordered = [...arrival].sort((a, b) => a.timestamp - b.timestamp);
          const inOrder = placePoints(base, ordered);
          assert.deepEqual(strip(headState(record)), strip(headState({ state: inOrder.state, window: inOrder.window })));
          assert.deepEqual(record.recent, inOrder.recent);
          assert.equal(headState(record).stats.count, arrival.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('publishes observation.anomaly.detected with the evidence for a spike after warm-up', async () => {
    const d = deps();
    await ingest('acme', steady('api.p99', 0, 70), d);
    assert.equal(d.bus.sent.length, 0);
    const report = await ingest('acme', [{ series: 'api.p99', timestamp: at(70), value: 400, labels: { host: 'a' } }], d);
    assert.equal(report.anomalies.length, 1);
    assert.equal(report.anomalies[0]?.index, 0);
    assert.equal(report.published, 1);
    const [entry] = d.bus.sent;
    assert.equal(entry?.source, 'autonomy.observation');
    assert.equal(entry?.detailType, 'observation.anomaly.detected');
    const detail = anomalyDetected.schema.parse(JSON.parse(entry?.detail ?? '{}'));
    assert.equal(detail.tenant, 'acme');
    assert.equal(detail.series, 'api.p99');
    assert.equal(detail.value, 400);
    assert.equal(detail.detector, DEFAULT_DETECTOR);
    assert.deepEqual(detail.labels, { host: 'a' });
    assert.ok(detail.score > 4);
    assert.equal(detail.evidence.n, 70);
    assert.equal(typeof detail.evidence.mean, 'number');
    const status = await seriesStatus('acme', 'api.p99', d);
    assert.equal(status.storage.pendingEvents, 0);
    assert.equal(status.stats.anomalies, 1);
  });

  it('retries the read-apply-write cycle on a conflict and loses no point, late ones included', async () => {
    let injected = false;
    const store = memorySeriesStore({
      async beforePut(record) {
        if (injected || record.version !== 2) return;
        injected = true;
        // Another writer lands version 2 first.
        await ingest('acme', [{ series: 's', timestamp: at(100), value: 5 }], { ...deps(store), store });
      },
    });
    const d = deps(store);
    await ingest('acme', steady('s', 0, 3), d);
    await ingest('acme', steady('s', 3, 3), d);
    const status = await seriesStatus('acme', 's', d);
    // The concurrent point (t=100) landed first; t=3..5 arrive late and still land in the window.
    assert.equal(status.stats.count, 7);
    assert.equal(status.stats.outOfOrder, 0);
    assert.equal(status.summary.lastTime, at(100));
    assert.equal(status.storage.version, 3);
  });

  it('applies every point when many single-point ingests race on one series', async () => {
    let turn = 0;
    const store = memorySeriesStore({ beforePut: () => new Promise((resolve) => setTimeout(resolve, (turn++ * 7) % 5)) });
    const d = { ...deps(store), maxAttempts: 50 };
    const order = Array.from({ length: 40 }, (_, i) => (i * 17) % 40);
    const reports = await Promise.all(order.map((i) => ingest('acme', [{ series: 'race', timestamp: at(i), value: i }], d)));
    assert.ok(reports.every((report) => report.applied === 1));
    const status = await seriesStatus('acme', 'race', d);
    assert.deepEqual([status.stats.count, status.stats.outOfOrder], [40, 0]);
    assert.equal(status.storage.version, 40);
  });

  it('lists the points of a series that kept conflicting as unprocessed, and their retry applies them after later points landed', async () => {
    const store = memorySeriesStore();
    let refuse = true;
    const busy: SeriesStore = {
      ...store,
      put: async (record, expected) => {
        if (refuse && record.series === 'busy') throw new ConflictError('busy');
        return store.put(record, expected);
      },
    };
    const d = { ...deps(busy), maxAttempts: 3 };
    const request = [
      { series: 'busy', timestamp: at(5), value: 1 },
      { series: 'calm', timestamp: at(5), value: 1 },
    ];
    const first = await ingest('acme', request, d);
    assert.deepEqual([first.applied, first.unprocessed], [1, [0]]);
    refuse = false;
    // Meanwhile other writers land newer points on the busy series.
    await ingest('acme', steady('busy', 6, 10), d);
    const retried = await ingest('acme', request, d);
    assert.deepEqual([retried.applied, retried.ignored.duplicates, retried.ignored.outOfOrder, retried.unprocessed], [1, 1, 0, []]);
    assert.equal((await seriesStatus('acme', 'busy', d)).stats.count, 11);
  });

  it('starts no series once the remaining time is below the reserve, and the retry applies only the rest', async () => {
    const store = memorySeriesStore();
    let remaining = 10_000;
    let gets = 0;
    let batchedReads = 0;
    const timed: SeriesStore = {
      ...store,
      get: (tenant, series) => {
        gets += 1;
        return store.get(tenant, series);
      },
      getMany: (tenant, names) => {
        batchedReads += 1;
        return store.getMany(tenant, names);
      },
      put: async (record, expected) => {
        remaining -= 50;
        return store.put(record, expected);
      },
    };
    const d = { ...deps(timed), concurrency: 4, reserveMs: 3000, remainingMs: () => remaining };
    const points = Array.from({ length: 500 }, (_, i) => ({ series: `s${i}`, timestamp: at(0), value: i }));
    const first = await ingest('acme', points, d);
    // 140 writes of 50 ms bring 10 s down to the 3 s reserve; the 4 in flight then finish.
    assert.ok(first.applied >= 140 && first.applied <= 144, String(first.applied));
    assert.equal(first.applied + first.unprocessed.length, 500);
    assert.deepEqual(first.unprocessed, [...first.unprocessed].sort((a, b) => a - b));
    assert.equal(batchedReads, 2, 'read 100 series per batched read, and stopped reading when time ran short');
    assert.equal(gets, 0, 'no single reads without conflicts');
    for (const index of first.unprocessed) assert.equal(await store.get('acme', `s${index}`), undefined);
    remaining = 60_000;
    const retried = await ingest('acme', points, d);
    assert.deepEqual([retried.applied, retried.ignored.duplicates, retried.unprocessed.length], [500 - first.applied, first.applied, 0]);
    assert.equal(remaining, 60_000 - 50 * retried.applied, 'the retry wrote only the series it applied points to');
    const counts: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await listSeries('acme', { limit: 100, ...(cursor ? { cursor } : {}) }, d);
      counts.push(...page.items.map((item) => item.count));
      cursor = page.cursor;
    } while (cursor);
    assert.deepEqual([counts.length, counts.every((count) => count === 1)], [500, true]);
  });

  it('abandons store calls still in flight shortly before the deadline and reports their points, instead of running out of time', async () => {
    const store = memorySeriesStore();
    const hanging: SeriesStore = {
      ...store,
      // A store that has stopped answering: every write waits until the caller gives up on it.
      put: (_record, _expected, options) =>
        new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })))),
    };
    const started = Date.now();
    const report = await ingest('acme', steady('s', 0, 3).concat(steady('t', 0, 2)), {
      ...deps(hanging),
      remainingMs: () => 1200 - (Date.now() - started),
      reserveMs: 1100,
      abandonMs: 1000,
    });
    const took = Date.now() - started;
    assert.ok(took >= 150 && took < 1000, `answered after ${took} ms`);
    assert.deepEqual([report.applied, report.unprocessed], [0, [0, 1, 2, 3, 4]]);
  });

  it('answers a store outage that stopped every series with the store\'s own DependencyError', async () => {
    const store = memorySeriesStore();
    const down: SeriesStore = {
      ...store,
      getMany: async () => {
        throw new DependencyError('DynamoDB BatchGetItem throttled', { retryAfterSeconds: 2 });
      },
    };
    await assert.rejects(ingest('acme', steady('s', 0, 3), deps(down)), (error: unknown) => {
      assert.ok(error instanceof DependencyError);
      assert.equal(error.retryAfterSeconds, 2);
      return true;
    });
  });

  it('keeps events in the outbox when the bus is down and publishes them with the retried batch', async () => {
    const d = deps();
    await ingest('acme', steady('s', 0, 70), d);
    const spike = [{ series: 's', timestamp: at(70), value: 500 }];
    d.bus.setRefuse(true);
    await assert.rejects(ingest('acme', spike, d), DependencyError);
    assert.equal((await seriesStatus('acme', 's', d)).storage.pendingEvents, 1);
    d.bus.setRefuse(false);
    const retried = await ingest('acme', spike, d);
    assert.equal(retried.ignored.duplicates, 1);
    assert.equal(retried.published, 1);
    assert.equal(d.bus.sent.length, 1);
    const status = await seriesStatus('acme', 's', d);
    assert.equal(status.storage.pendingEvents, 0);
    assert.equal(status.stats.count, 71);
  });

  it('keeps every stored record bounded whatever the series length', async () => {
    const store = memorySeriesStore();
    const d = deps(store);
    const sizes: number[] = [];
    for (let batch = 0; batch < 12; batch += 1) {
      await ingest('acme', steady('long', batch * 500, 500), d);
      sizes.push((store.items.values().next().value as string).length);
    }
    const record = (await store.get('acme', 'long')) as SeriesRecord;
    assert.equal(headState(record).stats.count, 6000);
    assert.equal(record.window.length, REORDER_WINDOW);
    assert.equal(record.recent.length, RECENT_POINTS);
    assert.ok(Math.max(...sizes.slice(2)) - Math.min(...sizes.slice(2)) < 200, `sizes ${sizes.join(',')}`);
  });

  it('fits the largest allowed seasonal warm-up, full recent ring and full outbox under the item limit', () => {
    const state = configuredState('seasonal', { seasonLength: 2016, warmupSeasons: 3 });
    assert.equal(state.detector, 'seasonal');
    const warm = Array.from({ length: 6048 }, (_, i): [number, number] => [i % 2016, 123456.78901234567 + i / 7]);
    const recent = Array.from({ length: RECENT_POINTS }, (_, i): [number, number] => [
      1_767_225_600_000 + i * 60_000,
      -98765.43210987654 - i / 3,
    ]);
    const anomaly = {
      version: '1',
      tenant: 'a-rather-long-tenant-name-for-sizing-0000000000000000000000000',
      series: 'x'.repeat(200),
      timestamp: '2026-01-01T00:00:00.000Z',
      value: 1234567890123.4568,
      score: 12.345678901234567,
      detector: 'seasonal',
      anomaly: true,
      labels: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`label_${i}`, 'v'.repeat(40)])),
      evidence: {
        detector: 'seasonal',
        config: state.config,
        n: 6048,
        expected: 1.2345,
        scale: 0.5,
        deviation: 3.3,
        threshold: 4,
        lower: 1,
        upper: 2,
        warmingUp: false,
        phase: 3,
      },
    };
    const window = Array.from({ length: REORDER_WINDOW }, (_, i): [number, number, 0 | 1] => [
      1_767_225_600_000 + i * 60_000,
      -98765.43210987654 - i / 3,
      1,
    ]);
    const record = {
      state: {
        ...state,
        warmup: warm,
        season: Array.from({ length: 2016 }, (_, i) => i / 3),
        stats: { ...state.stats, m2: 1.2345678901234568e300 },
      },
      window,
      recent,
      labels: anomaly.labels,
      outbox: appendOutbox(
        [],
        Array.from({ length: 100 }, () => ({ detailType: 'observation.anomaly.detected' as const, detail: anomaly })),
      ).outbox,
      droppedEvents: 0,
    };
    const bytes = Buffer.byteLength(JSON.stringify(record));
    assert.ok(bytes < MAX_DATA_BYTES, `${bytes} bytes`);
    console.log(`worst-case record: ${bytes} bytes`);
    assert.throws(
      () => configuredState('seasonal', { seasonLength: 2016, warmupSeasons: 4 }),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.equal(error.issues[0]?.path, 'config.seasonLength');
        return true;
      },
    );
  });
});

describe('configureSeries', () => {
  it('switches a series to another detector, warmed up from its recent points, and publishes series.configured', async () => {
    const d = deps();
    const hourly = Array.from({ length: 100 }, (_, i) => ({
      series: 'rps',
      timestamp: new Date(T0 + i * 3_600_000).toISOString(),
      value: 100 + 20 * Math.sin((2 * Math.PI * i) / 24),
    }));
    await ingest('acme', hourly, d);
    const report = await configureSeries('acme', { series: 'rps', detector: 'seasonal', config: { seasonLength: 24 } }, 'alice', d);
    assert.equal(report.changed, true);
    assert.equal(report.created, false);
    assert.equal(report.replayed, 100);
    assert.equal(report.config.seasonLength, 24);
    const status = await seriesStatus('acme', 'rps', d);
    assert.equal(status.detector.name, 'seasonal');
    assert.equal(status.summary.warmingUp, false);
    const configured = d.bus.sent.find((entry) => entry.detailType === 'observation.series.configured');
    const detail = seriesConfigured.schema.parse(JSON.parse(configured?.detail ?? '{}'));
    assert.equal(detail.configuredBy, 'alice');
    assert.equal(detail.detector, 'seasonal');
  });

  it('writes nothing when the configuration is unchanged, and honours ifVersion', async () => {
    const d = deps();
    const first = await configureSeries('acme', { series: 'new', detector: 'ewma', config: { lambda: 0.1 } }, 'alice', d);
    assert.equal(first.created, true);
    assert.equal(first.pendingEvents, 0);
    assert.equal(first.version, (await seriesStatus('acme', 'new', d)).storage.version);
    const again = await configureSeries('acme', { series: 'new', detector: 'ewma', config: { lambda: 0.1 } }, 'alice', d);
    assert.equal(again.changed, false);
    assert.equal(again.version, first.version);
    await assert.rejects(
      configureSeries('acme', { series: 'new', detector: 'robust', config: {}, ifVersion: 0 }, 'alice', d),
      ConflictError,
    );
    const points = await ingest('acme', steady('new', 0, 5), d);
    assert.equal(points.applied, 5);
    assert.equal((await seriesStatus('acme', 'new', d)).detector.name, 'ewma');
  });

  it('does not retry a stale ifVersion (only a write that lost the race is retried)', async () => {
    const store = memorySeriesStore();
    let reads = 0;
    const counting: SeriesStore = {
      ...store,
      get: (tenant, series) => {
        reads += 1;
        return store.get(tenant, series);
      },
    };
    const d = deps(counting);
    await configureSeries('acme', { series: 'cfg', detector: 'ewma', config: { lambda: 0.1 } }, 'alice', d);
    reads = 0;
    await assert.rejects(configureSeries('acme', { series: 'cfg', detector: 'robust', config: {}, ifVersion: 0 }, 'alice', d), ConflictError);
    assert.equal(reads, 1);
  });

  it('rejects an invalid configuration naming the field', async () => {
    await assert.rejects(
      configureSeries('acme', { series: 's', detector: 'robust', config: { windowSize: 2 } }, 'alice', deps()),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.equal(error.issues[0]?.path, 'config.windowSize');
        return true;
      },
    );
  });

  it('saves the configuration even when the bus is down, and reports the pending event', async () => {
    const d = deps();
    d.bus.setRefuse(true);
    const report = await configureSeries('acme', { series: 's', detector: 'ewma', config: {} }, 'alice', d);
    assert.equal(report.pendingEvents, 1);
    assert.equal((await seriesStatus('acme', 's', d)).storage.pendingEvents, 1);
  });
});

describe('series isolation, listing and deletion', () => {
  it("never shows one tenant another tenant's series", async () => {
    const d = deps();
    await ingest('tenant-a', steady('secret', 0, 3), d);
    await assert.rejects(seriesStatus('tenant-b', 'secret', d), NotFoundError);
    await assert.rejects(forecastSeries('tenant-b', { series: 'secret', horizon: 2, model: 'AAN' }, d), NotFoundError);
    await assert.rejects(deleteSeries('tenant-b', 'secret', d), NotFoundError);
    assert.deepEqual((await listSeries('tenant-b', { limit: 10 }, d)).items, []);
  });

  it('lists series in pages', async () => {
    const d = deps();
    for (const name of ['c', 'a', 'b']) await ingest('acme', steady(name, 0, 2), d);
    const first = await listSeries('acme', { limit: 2 }, d);
    assert.deepEqual(
      first.items.map((item) => item.series),
      ['a', 'b'],
    );
    assert.ok(first.cursor);
    const second = await listSeries('acme', { limit: 2, cursor: first.cursor }, d);
    assert.deepEqual(
      second.items.map((item) => item.series),
      ['c'],
    );
    assert.equal(second.cursor, undefined);
    assert.equal(second.items[0]?.count, 2);
  });

  it('publishes pending events before deleting, and refuses to delete while the bus is down', async () => {
    const d = deps();
    await ingest('acme', steady('s', 0, 70), d);
    d.bus.setRefuse(true);
    await assert.rejects(ingest('acme', [{ series: 's', timestamp: at(70), value: 900 }], d), DependencyError);
    await assert.rejects(deleteSeries('acme', 's', d), DependencyError);
    d.bus.setRefuse(false);
    assert.deepEqual(await deleteSeries('acme', 's', d), { series: 's', deleted: true, publishedEvents: 1 });
    await assert.rejects(seriesStatus('acme', 's', d), NotFoundError);
  });
});

describe('forecastSeries', () => {
  it('forecasts a trend with Holt linear and returns the fitted parameters', async () => {
    const d = deps();
    await ingest(
      'acme',
      Array.from({ length: 60 }, (_, i) => ({ series: 'line', timestamp: at(i), value: 10 + 2 * i + (i % 3) * 0.1 })),
      d,
    );
    const report = await forecastSeries('acme', { series: 'line', horizon: 3, model: 'AAN' }, d);
    assert.equal(report.model, 'AAN');
    assert.equal(report.points, 60);
    assert.equal(report.intervalMs, MINUTE);
    assert.equal(report.forecasts.length, 3);
    assert.equal(report.forecasts[0]?.time, at(60));
    assert.ok(Math.abs((report.forecasts[0]?.value as number) - (10 + 2 * 60)) < 1, JSON.stringify(report.forecasts));
    assert.ok(report.params.alpha > 0 && report.params.beta !== null);
    assert.equal(report.seasonLength, null);
  });

  it("picks a seasonal model by AICc with the seasonal detector's season length", async () => {
    const d = deps();
    await configureSeries('acme', { series: 'daily', detector: 'seasonal', config: { seasonLength: 12 } }, 'alice', d);
    const points = Array.from({ length: 120 }, (_, i) => ({
      series: 'daily',
      timestamp: at(i),
      value: 50 + 10 * Math.sin((2 * Math.PI * i) / 12) + (i % 7) * 0.05,
    }));
    await ingest('acme', points, d);
    const report = await forecastSeries('acme', { series: 'daily', horizon: 12, model: 'auto' }, d);
    assert.ok(['AAA', 'MAM', 'MAdM'].includes(report.model), report.model);
    assert.equal(report.seasonLength, 12);
    assert.equal(report.candidates?.length, 6);
    const expected = 50 + 10 * Math.sin((2 * Math.PI * 123) / 12);
    assert.ok(Math.abs((report.forecasts[3]?.value as number) - expected) < 1.5, `${report.forecasts[3]?.value} vs ${expected}`);
  });

  it('refuses a seasonal model without a season length, and a series too short to fit', async () => {
    const d = deps();
    await ingest('acme', steady('short', 0, 5), d);
    await assert.rejects(forecastSeries('acme', { series: 'short', horizon: 2, model: 'AAN' }, d), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.equal(error.issues[0]?.path, 'series');
      return true;
    });
    await ingest('acme', steady('short', 5, 40), d);
    await assert.rejects(forecastSeries('acme', { series: 'short', horizon: 2, model: 'AAA' }, d), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.equal(error.issues[0]?.path, 'seasonLength');
      return true;
    });
  });
});

describe('queueMessageSchema', () => {
  it('reads a batch message and a single-point message, and refuses one without a valid tenant', () => {
    const batch = queueMessageSchema.parse({ tenant: 'acme', points: [{ series: 's' }, 'junk'] });
    assert.deepEqual(batch, { tenant: 'acme', points: [{ series: 's' }, 'junk'] });
    const single = queueMessageSchema.parse({ tenant: 'acme', series: 's', timestamp: at(0), value: 1 });
    assert.deepEqual(single, { tenant: 'acme', points: [{ series: 's', timestamp: at(0), value: 1 }] });
    assert.equal(queueMessageSchema.safeParse({ points: [{}] }).success, false);
    assert.equal(queueMessageSchema.safeParse({ tenant: 'Not#A#Tenant', points: [{}] }).success, false);
    assert.equal(queueMessageSchema.safeParse({ tenant: 'acme', points: [] }).success, false);
  });
});
