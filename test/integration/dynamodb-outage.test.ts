/**
 * A DynamoDB outage, on a local cloud of this file's own (own ports and data dir, so the suite's
 * shared cloud and the tests running beside this one never see it): DynamoDB Local's java process
 * is killed with SIGKILL while `POST /audit/record` calls are in flight, and calls keep arriving
 * (bearer token, API key, and with an `Idempotency-Key`) until it is back. Every reply is a 201 or
 * a 503 with `Retry-After`, never a 500; the local cloud's supervisor restarts DynamoDB Local and
 * says so in its log; `/health` is ok again; every record acknowledged before or during the
 * outage is still in the ledger (DynamoDB Local's data directory outlives the process), and the
 * chain verifies.
 *
 * Cost: one boot of a local cloud (packaging is cached) plus one restart of DynamoDB Local's JVM,
 * which took 3–40 s here depending on what else ran on the two cores; the diagnostics print it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import { loadOrCreateIdpKey, signLocalToken } from '../../infra/local/idp.ts';
import { freePorts } from '../../infra/local/ports.ts';
import type { Role } from '../../lib/auth/roles.ts';
import { eventually, freshTenant } from '../helpers/local-cloud.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let cloud: LocalCloud;
let dataDir = '';
const cloudLog: string[] = [];

interface Reply {
  status: number;
  retryAfter: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: the test reads whatever JSON the route replies
  body: any;
  text: string;
  /** When the reply arrived (ms since the epoch). */
  at: number;
}

async function call(method: string, route: string, headers: Record<string, string>, body?: unknown): Promise<Reply> {
  const response = await fetch(`${cloud.apiUrl}${route}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: parsed, text, at: Date.now() };
}

async function bearer(tenant: string, roles: Role[]): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await signLocalToken(await loadOrCreateIdpKey(dataDir), { tenant, roles })}` };
}

const logged = (pattern: RegExp) => cloudLog.map((line) => pattern.exec(line)).find((match) => match !== null);

describe('a DynamoDB Local outage on the local cloud', () => {
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-outage-'));
    cloud = await startLocalCloud({ root, dataDir, ports: await freePorts(), functionOutput: 'silent', log: (line) => cloudLog.push(line) });
  });

  after(async () => {
    await cloud?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 201 or 503 with Retry-After (never 500) while it is down, restarts it, and keeps every acknowledged record', async (t) => {
    const tenant = freshTenant('outage');
    const operator = await bearer(tenant, ['operator']);
    const created = await call('POST', '/identity/keys', await bearer(tenant, ['admin']), { parameters: { name: 'outage', roles: ['operator'] } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const apiKey = { 'x-api-key': String(created.body.result.apiKey) };

    const acknowledged: Array<{ stream: string; seq: number; hash: string }> = [];
    for (let i = 0; i < 3; i += 1) {
      const reply = await call('POST', '/audit/record', operator, { parameters: { stream: 'before', payload: { i } } });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      acknowledged.push(reply.body.result);
    }

    // Three clients, one request at a time each: a token, an API key, a token with an Idempotency-Key.
    const replies: Reply[] = [];
    let running = true;
    let sent = 0;
    const client = async (headers: () => Record<string, string>) => {
      while (running) {
        const reply = await call('POST', '/audit/record', headers(), { parameters: { stream: 'during', payload: { n: sent++ } } });
        replies.push(reply);
        if (reply.status === 201) acknowledged.push(reply.body.result);
        // A paced load: the restarting JVM shares the cores with it.
        await new Promise((resolve) => setTimeout(resolve, reply.status === 201 ? 20 : 100));
      }
    };
    const clients = [client(() => operator), client(() => apiKey), client(() => ({ ...operator, 'idempotency-key': `outage-${sent}` }))];
    try {
      await eventually('records to be acknowledged before the outage', async () => (replies.filter((reply) => reply.status === 201).length >= 6 ? true : undefined), 30_000);

      const killedPid = cloud.pids.dynamodb ?? -1;
      const killedAt = Date.now();
      process.kill(killedPid, 'SIGKILL');

      const exited = await eventually('the supervisor to report the exit', async () => logged(/DynamoDB Local exited \(signal SIGKILL\), restarting in (\d+) ms/), 10_000);
      assert.ok(Number(exited[1]) > 0);
      const restarted = await eventually('the supervisor to restart DynamoDB Local', async () => logged(/DynamoDB Local restarted \(pid (\d+)\)/), 120_000, 250);
      const restartedAt = Date.now();
      t.diagnostic(`DynamoDB Local back ${restartedAt - killedAt} ms after the kill (restart wait ${exited[1]} ms)`);
      assert.notEqual(Number(restarted[1]), killedPid);
      assert.equal(cloud.pids.dynamodb, Number(restarted[1]));

      // The outage was seen, and records are acknowledged again after it.
      await eventually('a 503 during the outage', async () => (replies.some((reply) => reply.at > killedAt && reply.status === 503) ? true : undefined), 10_000);
      await eventually('records acknowledged after the restart', async () => (replies.filter((reply) => reply.at > restartedAt && reply.status === 201).length >= 3 ? true : undefined), 60_000);
    } finally {
      running = false;
      await Promise.all(clients);
    }

    t.diagnostic(`replies: ${replies.length}, ${replies.filter((reply) => reply.status === 503).length} of them 503`);
    const unexpected = replies.filter((reply) => reply.status !== 201 && reply.status !== 503);
    assert.deepEqual(unexpected.map((reply) => `${reply.status} ${JSON.stringify(reply.body)}`), [], 'every reply is a 201 or a 503');
    const unavailable = replies.filter((reply) => reply.status === 503);
    assert.ok(unavailable.length > 0);
    for (const reply of unavailable) {
      assert.ok(Number(reply.retryAfter) >= 1, `503 without Retry-After: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error, 'DependencyError');
      assert.match(String(reply.body.correlationId), /.+/);
    }

    const health = await eventually('/health to be ok again', async () => {
      const reply = await call('GET', '/health', {});
      return reply.status === 200 && reply.body.status === 'ok' ? reply : undefined;
    }, 30_000);
    assert.deepEqual(Object.values(health.body.checks).map((check) => (check as { ok: boolean }).ok), [true, true, true]);

    // Nothing acknowledged is lost: each 201's seq and hash are in the stream, which verifies.
    const viewer = await bearer(tenant, ['viewer']);
    for (const stream of ['before', 'during']) {
      const exported = await call('GET', `/audit/export?stream=${stream}`, viewer);
      assert.equal(exported.status, 200, JSON.stringify(exported.body));
      const entries = new Map<number, string>();
      for (const line of exported.text.split('\n').filter(Boolean)) {
        const parsed = JSON.parse(line) as { type: string; entry?: { seq: number; hash: string } };
        if (parsed.type === 'entry' && parsed.entry) entries.set(parsed.entry.seq, parsed.entry.hash);
      }
      for (const entry of acknowledged.filter((item) => item.stream === stream)) assert.equal(entries.get(entry.seq), entry.hash, `${stream}#${entry.seq}`);
      const verified = await call('GET', `/audit/verify?stream=${stream}`, viewer);
      assert.equal(verified.status, 200, JSON.stringify(verified.body));
      assert.equal(verified.body.result.intact, true, JSON.stringify(verified.body.result));
    }
  });
});
