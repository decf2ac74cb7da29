/**
 * The webhook executor against a local HTTP receiver: the receiver verifies the HMAC signature and
 * timestamp; 5xx replies and timeouts are retried, 4xx never; the execution id goes along so the
 * receiver can deduplicate.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { bindingSchema } from '../../lib/execution/bindings.ts';
import { sign, verifySignature, WebhookRefusedError, WebhookUnavailableError, webhookExecutor } from '../../lib/execution/webhook.ts';

const KEY = 'k'.repeat(64);

interface Received {
  body: string;
  verified: boolean;
  idempotencyKey: string | undefined;
}

let server: Server;
let url: string;
const received: Received[] = [];
/** What the receiver does with the nth request (then 200). */
let script: Array<(res: ServerResponse, req: IncomingMessage) => void> = [];

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = verifySignature(KEY, { signature: String(req.headers['x-autonomy-signature'] ?? ''), timestamp: String(req.headers['x-autonomy-timestamp'] ?? '') }, body);
      received.push({ body, verified, idempotencyKey: req.headers['idempotency-key'] as string | undefined });
      const step = script.shift();
      if (step) step(res, req);
      else res.writeHead(verified ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify({ executionId: JSON.parse(body).executionId }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/restart`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  received.length = 0;
  script = [];
});

const executor = (key = KEY) => webhookExecutor({ signingKey: async () => key, sleep: async () => {}, random: () => 0.5 });

function request(parameters: Record<string, unknown> = {}) {
  const hook = executor();
  const binding = bindingSchema.parse({ kind: 'webhook', resource: url, parameters: { payload: { component: 'payments' } } });
  return { tenant: 'acme', action: 'reflex:restart' as const, target: 'component/payments', binding, parameters: hook.parameters('reflex:restart', { ...binding.parameters, ...parameters }) };
}

describe('webhook executor', () => {
  it('sends one signed POST the receiver verifies, with the execution id as Idempotency-Key, and reads the acknowledgement back', async () => {
    const hook = executor();
    const req = request();
    const plan = await hook.dryRun(req);
    assert.equal(received.length, 0, 'a dry run calls nothing');
    const result = await hook.execute(req, 'exec-42', plan);
    assert.equal(received.length, 1);
    assert.equal(received[0]?.verified, true);
    assert.equal(received[0]?.idempotencyKey, 'exec-42');
    assert.deepEqual(JSON.parse(received[0]?.body ?? '{}').parameters, { component: 'payments' });
    assert.deepEqual(await hook.readBack(req, result), { acknowledged: true });
  });

  it('signs what a receiver with another key refuses (401, a 4xx: not retried)', async () => {
    await assert.rejects(executor('other-key').execute(request(), 'exec-1', { before: {}, after: {}, changes: [] }), WebhookRefusedError);
    assert.equal(received.length, 1);
    assert.equal(received[0]?.verified, false);
  });

  it('retries a 503 with backoff and succeeds on the third attempt', async () => {
    script = [(res) => res.writeHead(503).end('busy'), (res) => res.writeHead(502).end('bad gateway')];
    const result = await executor().execute(request(), 'exec-2', { before: {}, after: {}, changes: [] });
    assert.equal(received.length, 3);
    assert.ok(received.every((item) => item.verified && item.idempotencyKey === 'exec-2'));
    assert.match(result.detail, /after 3 attempt/);
  });

  it('never retries a 400', async () => {
    script = [(res) => res.writeHead(400).end('bad request')];
    await assert.rejects(executor().execute(request(), 'exec-3', { before: {}, after: {}, changes: [] }), (error: Error) => error instanceof WebhookRefusedError && /400/.test(error.message));
    assert.equal(received.length, 1);
  });

  it('gives up after its attempts when the receiver keeps timing out', async () => {
    const slow = (res: ServerResponse) => setTimeout(() => res.writeHead(200).end(), 1_000);
    script = [slow, slow];
    await assert.rejects(executor().execute(request({ timeoutMs: 150, attempts: 2 }), 'exec-4', { before: {}, after: {}, changes: [] }), (error: Error) => error instanceof WebhookUnavailableError && /no reply within 150 ms.*after 2 attempt/.test(error.message));
    assert.equal(received.length, 2);
  });

  it('does not count a reply naming another execution as an acknowledgement', async () => {
    script = [(res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"executionId":"exec-other"}')];
    const hook = executor();
    const req = request();
    const result = await hook.execute(req, 'exec-5', await hook.dryRun(req));
    assert.deepEqual(await hook.readBack(req, result), { acknowledged: false });
  });

  it('verifies signatures as a receiver should: wrong key, changed body and stale timestamps fail', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    const timestamp = String(now / 1000);
    const signature = sign(KEY, timestamp, '{"a":1}');
    assert.equal(verifySignature(KEY, { signature, timestamp }, '{"a":1}', now), true);
    assert.equal(verifySignature('x', { signature, timestamp }, '{"a":1}', now), false);
    assert.equal(verifySignature(KEY, { signature, timestamp }, '{"a":2}', now), false);
    assert.equal(verifySignature(KEY, { signature, timestamp }, '{"a":1}', now + 301_000), false);
  });
});
