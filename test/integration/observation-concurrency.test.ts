/**
 * Observation ingest under contention and load, on the local cloud: many concurrent writers to one
 * series (the reorder window applies every point, whatever order the requests land in), and the
 * documented-maximum request (500 points to 500 series) four at a time under CPU load, where the
 * function works against its remaining time and answers 503 + Retry-After with what it did rather
 * than running into the timeout (a bare 500 after the work was done).
 *
 * The function's four local execution environments are warmed first: the local runtime counts a
 * cold start against the invocation's timeout (Lambda runs init separately), and a cold start under
 * CPU burners would time out before our code runs.
 *
 * Cost: about 15-30 s on two quiet cores (the CPU burners are bounded to 20 s and killed in `after`);
 * the load case's retries stretch it on a machine whose disk and cores are shared with other work.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { JWKS_PATH, LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../infra/local/idp.ts';
import { api, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const T0 = Date.UTC(2026, 0, 1);
const at = (i: number) => new Date(T0 + i * 1000).toISOString();
const operator = (tenant: string) => ({ tenant, roles: ['operator' as const] });
const ingest = (tenant: string, points: unknown[]) =>
  api('POST', '/observation/ingest', { ...operator(tenant), body: { parameters: { points } } });
const status = (tenant: string, series: string) =>
  api('GET', `/observation/status?series=${encodeURIComponent(series)}`, { tenant, roles: ['viewer'] });

/** A deterministic shuffle (so a failure reproduces): Fisher-Yates with a small LCG. */
function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * Posts `points` until the reply is not a 503, honouring Retry-After (at most `tries` posts).
 * Returns every reply, so a test can check what each one said.
 */
async function postUntilDone(tenant: string, points: unknown[], tries = 12) {
  const replies: Awaited<ReturnType<typeof ingest>>[] = [];
  for (let attempt = 0; attempt < tries; attempt += 1) {
    const reply = await ingest(tenant, points);
    replies.push(reply);
    if (reply.status !== 503) return replies;
    const wait = Number(reply.headers.get('retry-after'));
    assert.ok(Number.isInteger(wait) && wait >= 1, `503 without a usable Retry-After: ${reply.headers.get('retry-after')}`);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  return replies;
}

before(async () => {
  const tenant = freshTenant('warm');
  for (let round = 0; round < 3; round += 1) {
    const replies = await Promise.all(
      Array.from({ length: 4 }, (_, i) => ingest(tenant, [{ series: `warm.${i}`, timestamp: at(round), value: 1 }])),
    );
    if (replies.every((reply) => reply.status === 200)) return;
  }
  throw new Error('could not warm the ingest function');
});

describe('observation ingest under contention', () => {
  it('applies every point of 200 concurrent single-point ingests to one series, whatever order they land in', async () => {
    const tenant = freshTenant();
    const order = shuffled(Array.from({ length: 200 }, (_, i) => i));
    const replies = await Promise.all(order.map((i) => postUntilDone(tenant, [{ series: 'hot', timestamp: at(i), value: 100 + (i % 7) }])));
    const finals = replies.map((list) => list.at(-1));
    for (const reply of finals) {
      assert.equal(reply?.status, 200, JSON.stringify(reply?.body));
      assert.equal(reply?.body.result.applied + reply?.body.result.ignored.duplicates, 1, JSON.stringify(reply?.body.result));
      assert.equal(reply?.body.result.ignored.outOfOrder, 0, JSON.stringify(reply?.body.result));
    }
    const shown = await status(tenant, 'hot');
    assert.equal(shown.status, 200, JSON.stringify(shown.body));
    assert.equal(shown.body.result.stats.count, 200, JSON.stringify(shown.body.result.stats));
    assert.equal(shown.body.result.stats.outOfOrder, 0);
    assert.equal(shown.body.result.summary.lastTime, at(199));
    assert.equal(shown.body.result.summary.firstTime, at(0));

    // The same 200 requests again (a client retrying all of them): every point is a duplicate, nothing moves.
    const again = await Promise.all(order.slice(0, 50).map((i) => ingest(tenant, [{ series: 'hot', timestamp: at(i), value: 1 }])));
    for (const reply of again) {
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual([reply.body.result.applied, reply.body.result.ignored.duplicates], [0, 1]);
    }
    assert.equal((await status(tenant, 'hot')).body.result.stats.count, 200);
  });

  it('applies a retried point that arrives after later points landed (the retry of a failed request), once', async () => {
    const tenant = freshTenant();
    const first = await ingest(
      tenant,
      Array.from({ length: 40 }, (_, i) => ({ series: 'late', timestamp: at(2 * i), value: 10 })),
    );
    assert.equal(first.body.result.applied, 40);
    const late = [{ series: 'late', timestamp: at(31), value: 11 }];
    const retried = await ingest(tenant, late);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.body.result.applied, 1, JSON.stringify(retried.body.result));
    const twice = await ingest(tenant, late);
    assert.deepEqual([twice.body.result.applied, twice.body.result.ignored.duplicates], [0, 1]);
    const stats = (await status(tenant, 'late')).body.result.stats;
    assert.equal(stats.count, 41);
    assert.equal(stats.lastTimestamp, Date.parse(at(78)));
  });
});

describe('observation ingest at the documented maximum under CPU load', () => {
  const burners: ChildProcess[] = [];
  after(() => {
    for (const burner of burners) if (burner.exitCode === null) burner.kill('SIGKILL');
  });

  it('never answers 500: four 500-series ingests at once finish or answer 503 + Retry-After with what was applied, and their retries apply only the rest', async () => {
    // Two CPU burners, each bounded to 20 s on its own and killed by `after` whatever happens.
    for (let i = 0; i < 2; i += 1) {
      burners.push(spawn(process.execPath, ['-e', 'const end = Date.now() + 20000; while (Date.now() < end) {}'], { stdio: 'ignore' }));
    }
    const tenant = freshTenant();
    const series = Array.from({ length: 500 }, (_, i) => `load.s${i}`);
    const requests = Array.from({ length: 4 }, (_, r) => series.map((name, i) => ({ series: name, timestamp: at(r), value: i + r })));
    const started = performance.now();
    const results = await Promise.all(requests.map((points) => postUntilDone(tenant, points)));
    const elapsed = performance.now() - started;
    for (const burner of burners) burner.kill('SIGKILL');

    let partial = 0;
    for (const replies of results) {
      let appliedSoFar = 0;
      for (const reply of replies) {
        assert.ok([200, 503].includes(reply.status), `status ${reply.status}: ${JSON.stringify(reply.body)}`);
        assert.ok(reply.headers.get('x-correlation-id'), 'every reply carries a correlation id');
        const result = reply.body.result;
        assert.equal(result.accepted, 500);
        if (reply.status === 503) {
          partial += 1;
          assert.equal(reply.body.status, 'failure');
          assert.ok(result.unprocessed.length > 0, JSON.stringify(result).slice(0, 500));
        } else {
          assert.deepEqual(result.unprocessed, []);
        }
        // Each attempt accounts for every point: applied now, applied before (a duplicate), or left for the retry.
        assert.equal(result.ignored.outOfOrder, 0);
        assert.equal(result.applied + result.ignored.duplicates + result.unprocessed.length, 500, JSON.stringify(result).slice(0, 300));
        appliedSoFar += result.applied;
      }
      const last = replies.at(-1);
      assert.equal(last?.status, 200, 'the retries finished the request');
      // No point is reported applied twice; what earlier attempts applied (or wrote just before
      // giving up on the write, reported unprocessed) comes back as duplicates in the last one.
      assert.ok(appliedSoFar <= 500, `${appliedSoFar} points reported applied`);
      assert.ok(last?.body.result.ignored.duplicates >= appliedSoFar - last?.body.result.applied);
    }
    const counts: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await api('GET', `/observation/status?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { tenant, roles: ['viewer'] });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      counts.push(...page.body.result.items.map((item: { count: number }) => item.count));
      cursor = page.body.result.cursor;
    } while (cursor);
    assert.equal(counts.length, 500);
    assert.ok(
      counts.every((count: number) => count === 4),
      `counts ${JSON.stringify(counts.filter((c: number) => c !== 4))}`,
    );
    const statuses = results.map((replies) => replies.map((reply) => reply.status).join('→')).join(', ');
    console.log(`4 × 500-series ingests under CPU load: ${(elapsed / 1000).toFixed(1)} s, ${partial} partial (503) replies: ${statuses}`);
  });
});

describe("observation ingest against the function's remaining time", () => {
  it('answers a request it has no time left for with 503 + Retry-After listing every point, and does not remember that reply under its Idempotency-Key', async () => {
    // The handler in this process, on the local cloud's tables, with a Lambda context whose clock we set.
    const cloud = testCloud();
    Object.assign(process.env, {
      STAGE: cloud.stage,
      STATE_TABLE: cloud.resources.tables.StateTable,
      IDEMPOTENCY_TABLE: cloud.resources.tables.IdempotencyTable,
      ARTIFACTS_BUCKET: cloud.resources.buckets.ArtifactsBucket,
      EVENT_BUS_NAME: cloud.resources.buses.EventBus,
      AUTH_ISSUER: LOCAL_ISSUER,
      AUTH_AUDIENCE: LOCAL_AUDIENCE,
      AUTH_JWKS_URL: `${cloud.apiUrl}${JWKS_PATH}`,
      TENANT_REQUESTS_PER_MINUTE: '0',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const { handler } = await import('../../functions/observation/ingest.ts');
    let remaining = 0;
    const context = {
      functionName: 'observationIngest',
      awsRequestId: 'local',
      getRemainingTimeInMillis: () => remaining,
    } as unknown as Context;
    const tenant = freshTenant();
    const token = await tokenFor({ tenant, roles: ['operator'] });
    const points = [0, 1, 2].map((i) => ({ series: `deadline.${i}`, timestamp: at(i), value: i }));
    const post = async (requestId: string) => {
      const event = {
        version: '2.0',
        routeKey: 'POST /observation/ingest',
        rawPath: '/observation/ingest',
        rawQueryString: '',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'deadline-key' },
        requestContext: { requestId, http: { method: 'POST', path: '/observation/ingest' } },
        body: JSON.stringify({ parameters: { points } }),
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2;
      const reply = await handler(event, context);
      return { ...reply, text: String(reply.body), json: JSON.parse(String(reply.body)) };
    };

    remaining = 2000;
    const late = await post('r-late');
    assert.equal(late.statusCode, 503, late.text);
    assert.equal(late.headers?.['retry-after'], '1');
    assert.equal(late.headers?.['x-correlation-id'], 'r-late');
    assert.equal(late.json.status, 'failure');
    assert.deepEqual([late.json.result.accepted, late.json.result.applied, late.json.result.unprocessed], [3, 0, [0, 1, 2]]);
    assert.equal((await status(tenant, 'deadline.0')).status, 404, 'nothing was written');

    remaining = 9000;
    const retried = await post('r-retry');
    assert.equal(retried.statusCode, 200, retried.text);
    assert.equal(retried.headers?.['idempotent-replayed'], undefined, 'the 503 was not replayed for the same key');
    assert.deepEqual([retried.json.result.applied, retried.json.result.unprocessed], [3, []]);
    const again = await post('r-again');
    assert.equal(again.headers?.['idempotent-replayed'], 'true', 'the 200 is remembered');
    assert.equal(again.json.result.applied, 3);
  });
});
