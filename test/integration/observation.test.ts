/**
 * The Observation engine on the local cloud: the series store on DynamoDB Local, ingest over HTTP
 * and SQS, anomalies on the bus (observed where the audit rule records them: the tenant's ledger
 * stream `events.observation`), forecasts, tenant isolation
 * and optimistic concurrency.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { catalogEntry } from '../../events/catalog.ts';
import { dynamoSeriesStore } from '../../lib/adapters/aws/series-store.ts';
import { ConflictError, ValidationError } from '../../lib/errors.ts';
import { DEFAULT_DETECTOR, initSeriesState } from '../../lib/observation/detector-registry.ts';
import { newSeriesRecord } from '../../lib/observation/ingest.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, testCloud } from '../helpers/local-cloud.ts';

const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const cloud = testCloud();
const table = cloud.resources.tables.StateTable ?? '';
const T0 = Date.UTC(2026, 0, 1);
const at = (i: number) => new Date(T0 + i * 60_000).toISOString();
const steady = (series: string, from: number, count: number) =>
  Array.from({ length: count }, (_, k) => ({ series, timestamp: at(from + k), value: 100 + ((from + k) % 5) - 2 }));

const operator = (tenant: string) => ({ tenant, roles: ['operator' as const] });
const ingestPoints = (tenant: string, points: unknown[]) =>
  api('POST', '/observation/ingest', { ...operator(tenant), body: { parameters: { points } } });
const status = (tenant: string, series: string) =>
  api('GET', `/observation/status?series=${encodeURIComponent(series)}`, { tenant, roles: ['viewer'] });

/**
 * The tenant's observation events of a detail-type in its ledger, read from the table (not through
 * the API) so that polling adds no function round trip to the latency under test.
 */
async function recorded(tenant: string, detailType: string) {
  return (await ledgerEvents(tenant, 'observation')).filter((event) => event.detailType === detailType);
}

describe('series store on DynamoDB Local', () => {
  const store = dynamoSeriesStore(dynamo, table);

  it('creates, reads, and writes a record only at the expected version', async () => {
    const tenant = freshTenant();
    const record = {
      ...newSeriesRecord(tenant, 'api.latency', initSeriesState('ewma'), new Date(T0)),
      version: 1,
      recent: [[T0, 1.5]] as [number, number][],
    };
    await store.put(record, undefined);
    await assert.rejects(store.put(record, undefined), ConflictError);
    const read = await store.get(tenant, 'api.latency');
    assert.deepEqual(read, record);
    await store.put({ ...record, version: 2 }, 1);
    await assert.rejects(store.put({ ...record, version: 2 }, 1), ConflictError);
    assert.equal((await store.get(tenant, 'api.latency'))?.version, 2);
    const raw = await dynamo.send(
      new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${tenant}#series` } }),
    );
    assert.equal(raw.Items?.[0]?.sk, 'api.latency');
    assert.equal(await store.get(freshTenant(), 'api.latency'), undefined);
  });

  it('round-trips the reorder window (stored as decisions on the recent ring), reads many series in one batched read, and reads a record without a window', async () => {
    const tenant = freshTenant();
    const recent: [number, number][] = Array.from({ length: 300 }, (_, i) => [T0 + i * 1000, i / 3]);
    const window = recent.slice(-200).map(([t, v], i): [number, number, 0 | 1] => [t, v, i % 7 === 0 ? 1 : 0]);
    const record = { ...newSeriesRecord(tenant, 'windowed', initSeriesState('robust'), new Date(T0)), version: 1, recent, window };
    await store.put(record, undefined);
    assert.deepEqual(await store.get(tenant, 'windowed'), record);
    const raw = await dynamo.send(new GetCommand({ TableName: table, Key: { pk: `${tenant}#series`, sk: 'windowed' } }));
    const data = JSON.parse(String(raw.Item?.data));
    assert.equal(data.windowFlags.length, 200);
    assert.equal(data.window, undefined);
    assert.deepEqual([raw.Item?.count, raw.Item?.anomalies, raw.Item?.lastTimestamp], [200, 29, T0 + 299_000]);
    // A window that is not the ring's tail (never written by ingest) is kept in full.
    const odd = { ...record, series: 'odd', window: [[T0 + 500_000, 1, 0]] as [number, number, 0 | 1][] };
    await store.put(odd, undefined);
    assert.deepEqual(await store.get(tenant, 'odd'), odd);
    // A record written before the reorder window existed reads as one with an empty window.
    await dynamo.send(new PutCommand({ TableName: table, Item: { ...raw.Item, sk: 'legacy', data: JSON.stringify({ ...data, windowFlags: undefined }) } }));
    assert.deepEqual((await store.get(tenant, 'legacy'))?.window, []);
    const names = Array.from({ length: 130 }, (_, i) => `many.${i}`);
    await Promise.all(names.map((name) => store.put({ ...newSeriesRecord(tenant, name, initSeriesState('ewma'), new Date(T0)), version: 1 }, undefined)));
    const many = await store.getMany(tenant, [...names, 'windowed', 'missing', 'windowed']);
    assert.equal(many.size, 131);
    assert.deepEqual(many.get('windowed'), record);
    assert.equal(many.has('missing'), false);
    assert.equal((await store.getMany(freshTenant(), names)).size, 0);
  });

  it('lists in pages, deletes, and refuses cursors and numbers it cannot honour', async () => {
    const tenant = freshTenant();
    for (const name of ['b', 'a', 'c'])
      await store.put({ ...newSeriesRecord(tenant, name, initSeriesState('robust'), new Date(T0)), version: 1 }, undefined);
    const first = await store.list(tenant, { limit: 2 });
    assert.deepEqual(
      first.items.map((item) => item.series),
      ['a', 'b'],
    );
    const second = await store.list(tenant, { limit: 2, cursor: first.cursor as string });
    assert.deepEqual(
      second.items.map((item) => item.series),
      ['c'],
    );
    assert.equal(second.cursor, undefined);
    await assert.rejects(store.list(tenant, { limit: 2, cursor: '%%%' }), ValidationError);
    assert.equal(await store.delete(tenant, 'a'), true);
    assert.equal(await store.delete(tenant, 'a'), false);
    const poisoned = {
      ...newSeriesRecord(tenant, 'nan', initSeriesState('robust'), new Date(T0)),
      version: 1,
      recent: [[T0, Number.POSITIVE_INFINITY]] as [number, number][],
    };
    await assert.rejects(store.put(poisoned, undefined), RangeError);
  });
});

describe('observation engine on the local cloud', () => {
  it('lands a single point posted over HTTP with a valid credential', async () => {
    const tenant = freshTenant();
    const posted = await api('POST', '/observation/ingest', {
      ...operator(tenant),
      body: { parameters: { point: { series: 'checkout.rps', timestamp: at(0), value: 42 } } },
    });
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    assert.equal(posted.body.status, 'success');
    assert.equal(posted.body.result.accepted, 1);
    assert.equal(posted.body.provenance[0].tenant, tenant);
    const shown = await status(tenant, 'checkout.rps');
    assert.equal(shown.status, 200, JSON.stringify(shown.body));
    assert.equal(shown.body.result.summary.count, 1);
    assert.equal(shown.body.result.summary.lastValue, 42);
    assert.equal(shown.body.result.detector.name, DEFAULT_DETECTOR);
    const listed = await api('GET', '/observation/status', { tenant, roles: ['viewer'] });
    assert.deepEqual(
      listed.body.result.items.map((item: { series: string }) => item.series),
      ['checkout.rps'],
    );
  });

  it('lands a point posted with an API key, which a viewer key cannot post', async () => {
    const tenant = freshTenant();
    const mint = async (roles: string[]) =>
      (await api('POST', '/identity/keys', { tenant, roles: ['admin'], body: { parameters: { name: roles.join('+'), roles } } })).body.result.apiKey as string;
    const [writer, reader] = [await mint(['operator']), await mint(['viewer'])];
    const point = { series: 'keyed.rps', timestamp: at(0), value: 3 };
    const posted = await api('POST', '/observation/ingest', { apiKey: writer, body: { parameters: { point } } });
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    assert.equal(posted.body.result.accepted, 1);
    assert.equal(posted.body.provenance[0].via, 'api-key');
    assert.equal((await api('POST', '/observation/ingest', { apiKey: reader, body: { parameters: { point } } })).status, 403);
    const seen = await api('GET', '/observation/status?series=keyed.rps', { apiKey: reader });
    assert.equal(seen.status, 200);
    assert.equal(seen.body.result.series, 'keyed.rps');
  });

  it('lists the bad points of a batch by index and keeps the good ones', async () => {
    const tenant = freshTenant();
    const posted = await ingestPoints(tenant, [
      { series: 'api.p99', timestamp: at(0), value: 10 },
      { series: 'api.p99', timestamp: 'not a time', value: 11 },
      { series: 'api.p99', timestamp: at(2), value: 12 },
      { series: 'api.p99', timestamp: at(3) },
    ]);
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    assert.equal(posted.body.status, 'success');
    assert.equal(posted.body.result.accepted, 2);
    assert.deepEqual(
      posted.body.result.rejected.map((r: { index: number; path: string }) => [r.index, r.path]),
      [
        [1, 'timestamp'],
        [3, 'value'],
      ],
    );
    assert.equal((await status(tenant, 'api.p99')).body.result.summary.count, 2);
    const allBad = await ingestPoints(tenant, [{ series: 'api.p99', value: 1 }]);
    assert.equal(allBad.status, 200);
    assert.equal(allBad.body.status, 'failure');
    assert.equal(allBad.body.result.accepted, 0);
    const neither = await api('POST', '/observation/ingest', { ...operator(tenant), body: { parameters: {} } });
    assert.equal(neither.status, 400);
  });

  it('ingests from SQS: good records and the good points of a mixed record land; a record that is not a message fails alone', async () => {
    const tenant = freshTenant();
    const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: cloud.resources.queues.ObservationIngestQueue?.url,
        Entries: [
          { Id: 'batch', MessageBody: JSON.stringify({ tenant, points: steady('q.a', 0, 3) }) },
          {
            Id: 'mixed',
            MessageBody: JSON.stringify({ tenant, points: [...steady('q.b', 0, 2), { series: 'q.b', timestamp: 'x', value: 1 }] }),
          },
          { Id: 'single', MessageBody: JSON.stringify({ tenant, series: 'q.c', timestamp: at(0), value: 7 }) },
          { Id: 'garbage', MessageBody: 'not json' },
        ],
      }),
    );
    for (const [series, count] of [
      ['q.a', 3],
      ['q.b', 2],
      ['q.c', 1],
    ] as const) {
      const shown = await eventually(`${series} ingested from the queue`, async () => {
        const reply = await status(tenant, series);
        return reply.status === 200 && reply.body.result.summary.count === count ? reply : undefined;
      });
      assert.equal(shown.body.result.summary.count, count);
    }

    // Per-record semantics, seen directly in the function's answer.
    const lambda = new LambdaClient({});
    const record = (id: string, body: string) => ({
      messageId: id,
      receiptHandle: id,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:observation-ingest',
      awsRegion: 'us-east-1',
    });
    const reply = await lambda.send(
      new InvokeCommand({
        FunctionName: cloud.resources.functions.ObservationIngestQueueLambdaFunction,
        Payload: JSON.stringify({
          Records: [
            record('good', JSON.stringify({ tenant, points: steady('q.d', 0, 2) })),
            record('bad-points', JSON.stringify({ tenant, points: [{ series: 'q.d', timestamp: 'never', value: 1 }] })),
            record('no-tenant', JSON.stringify({ points: steady('q.d', 5, 1) })),
          ],
        }),
      }),
    );
    assert.equal(reply.FunctionError, undefined, Buffer.from(reply.Payload ?? []).toString());
    const answer = JSON.parse(Buffer.from(reply.Payload ?? []).toString()) as { batchItemFailures: { itemIdentifier: string }[] };
    assert.deepEqual(answer.batchItemFailures, [{ itemIdentifier: 'no-tenant' }]);
    assert.equal((await status(tenant, 'q.d')).body.result.summary.count, 2);
  });

  it('puts observation.anomaly.detected with its evidence on the bus within 1 s of a spike posted after warm-up', async () => {
    const tenant = freshTenant();
    // Warm the path (ingest, bus, audit queue, auditAppend) with a configuration event first.
    const configured = await api('PUT', '/observation/config', {
      ...operator(tenant),
      body: { parameters: { series: 'api.errors', detector: 'robust', config: { warmup: 20 } } },
    });
    assert.equal(configured.status, 200, JSON.stringify(configured.body));
    await eventually('the configuration event in the ledger', async () =>
      (await recorded(tenant, 'observation.series.configured')).length > 0 ? true : undefined,
    );
    const warm = await ingestPoints(tenant, steady('api.errors', 0, 40));
    assert.equal(warm.body.result.anomalies.length, 0);

    const started = performance.now();
    const spiked = await ingestPoints(tenant, [{ series: 'api.errors', timestamp: at(40), value: 900, labels: { region: 'eu-west-1' } }]);
    const [event] = await eventually(
      'the anomaly event in the ledger',
      async () => {
        const found = await recorded(tenant, 'observation.anomaly.detected');
        return found.length > 0 ? found : undefined;
      },
      5_000,
      10,
    );
    const elapsed = performance.now() - started;
    assert.equal(spiked.body.result.anomalies.length, 1);
    assert.equal(event?.source, 'autonomy.observation');
    const detail = catalogEntry('observation.anomaly.detected').schema.parse(event?.detail);
    assert.equal(detail.series, 'api.errors');
    assert.equal(detail.value, 900);
    assert.equal(detail.detector, 'robust');
    assert.deepEqual(detail.labels, { region: 'eu-west-1' });
    assert.equal(detail.evidence.n, 40);
    assert.ok(detail.score > 4);
    assert.ok(elapsed < 1000, `spike to event took ${elapsed.toFixed(0)} ms`);
  });

  it('forecasts a stored series with fitted parameters', async () => {
    const tenant = freshTenant();
    await ingestPoints(
      tenant,
      Array.from({ length: 48 }, (_, i) => ({ series: 'disk.used', timestamp: at(i), value: 50 + 0.5 * i + (i % 2) * 0.2 })),
    );
    const reply = await api('GET', '/observation/forecast?series=disk.used&horizon=6&model=AAN', { tenant, roles: ['viewer'] });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const result = reply.body.result;
    assert.equal(result.model, 'AAN');
    assert.equal(result.forecasts.length, 6);
    assert.equal(result.forecasts[0].time, at(48));
    assert.ok(Math.abs(result.forecasts[0].value - 74) < 1, JSON.stringify(result.forecasts[0]));
    assert.ok(result.params.alpha > 0);
    assert.equal(result.seasonLength, null);
    const auto = await api('GET', '/observation/forecast?series=disk.used&horizon=2', { tenant, roles: ['viewer'] });
    assert.equal(auto.status, 200, JSON.stringify(auto.body));
    assert.equal(auto.body.result.requestedModel, 'auto');
    const seasonal = await api('GET', '/observation/forecast?series=disk.used&model=AAA', { tenant, roles: ['viewer'] });
    assert.equal(seasonal.status, 400);
    assert.equal(seasonal.body.issues[0].path, 'seasonLength');
  });

  it("answers 404 when a tenant asks for, forecasts, or deletes another tenant's series", async () => {
    const a = freshTenant('a');
    const b = freshTenant('b');
    await ingestPoints(a, steady('private.series', 0, 12));
    assert.equal((await status(b, 'private.series')).status, 404);
    assert.equal((await api('GET', '/observation/forecast?series=private.series&model=ANN', { tenant: b, roles: ['viewer'] })).status, 404);
    assert.equal((await api('DELETE', '/observation/series?series=private.series', operator(b))).status, 404);
    assert.deepEqual((await api('GET', '/observation/status', { tenant: b, roles: ['viewer'] })).body.result.items, []);
    assert.equal((await status(a, 'private.series')).body.result.summary.count, 12);
  });

  it('loses no point when concurrent ingests race on one series', async () => {
    const tenant = freshTenant();
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => ingestPoints(tenant, [{ series: 'hot', timestamp: at(i), value: i }])),
    );
    for (const reply of replies) assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const stats = (await status(tenant, 'hot')).body.result.stats;
    // Every point is applied, whichever order the writers won their races in (the reorder window).
    assert.deepEqual([stats.count, stats.outOfOrder], [12, 0]);
    assert.equal((await status(tenant, 'hot')).body.result.storage.version, 12);
  });

  it('configures a detector (400 naming a bad field) and deletes a series', async () => {
    const tenant = freshTenant();
    const bad = await api('PUT', '/observation/config', {
      ...operator(tenant),
      body: { parameters: { series: 's', detector: 'robust', config: { windowSize: 1 } } },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.issues[0].path, 'config.windowSize');
    const good = await api('PUT', '/observation/config', {
      ...operator(tenant),
      body: { parameters: { series: 's', detector: 'seasonal', config: { seasonLength: 24 } } },
    });
    assert.equal(good.status, 200, JSON.stringify(good.body));
    assert.equal(good.body.result.created, true);
    assert.equal(good.body.result.config.seasonLength, 24);
    const deleted = await api('DELETE', '/observation/series?series=s', operator(tenant));
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.equal((await status(tenant, 's')).status, 404);
  });
});
