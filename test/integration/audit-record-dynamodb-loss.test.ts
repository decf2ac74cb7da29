/**
 * Every DynamoDB call on `POST /audit/record`'s path, lost in turn: the deployed handler runs in
 * this process with its real SDK clients, against the suite's local cloud, except that DynamoDB is
 * reached through a loopback proxy in front of DynamoDB Local that forwards calls until the n-th,
 * drops that one's connection, and every connection after it (DynamoDB is gone from then on). The
 * n-th call is lost either before DynamoDB Local sees it or after it has done it (the reply is
 * lost). For every n, with a bearer token or an API key, with or without an `Idempotency-Key`,
 * the reply is a 201 or a 503 with `Retry-After` naming a DependencyError, never a 500: the rate
 * limiter, the API-key lookup, Powertools' idempotency records, the ledger head and the append
 * each map a lost connection the same way (lib/adapters/aws/errors.ts).
 *
 * The environment is set before the handler is imported: config and clients are built once per
 * process, as in a Lambda container (node --test runs each file in its own process). Cost: about
 * 60 in-process requests, a few seconds.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { JWKS_PATH, LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../infra/local/idp.ts';
import { api, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const cloud = testCloud();
const upstream = new URL(process.env.AWS_ENDPOINT_URL_DYNAMODB ?? 'http://127.0.0.1:1');

/** Where the n-th call is lost: before DynamoDB Local sees it, or after it has done it. */
type Loss = 'request' | 'reply';

/** The proxy: forwards until the `lose`-th call, drops it (and everything after it). */
const proxy = {
  calls: [] as string[],
  lose: Number.POSITIVE_INFINITY,
  loss: 'request' as Loss,
  down: false,
  reset(lose: number, loss: Loss) {
    this.calls = [];
    this.lose = lose;
    this.loss = loss;
    this.down = false;
  },
};

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (proxy.down) {
      req.socket.destroy();
      return;
    }
    proxy.calls.push(String(req.headers['x-amz-target'] ?? req.method).replace('DynamoDB_20120810.', ''));
    const lost = proxy.calls.length === proxy.lose;
    if (lost) proxy.down = true;
    if (lost && proxy.loss === 'request') {
      req.socket.destroy();
      return;
    }
    const forwarded = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (reply) => {
      if (lost) {
        reply.resume();
        reply.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    });
    forwarded.on('error', () => req.socket.destroy());
    forwarded.end(Buffer.concat(chunks));
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

// Only DynamoDB goes through the proxy; S3 and the JWKS are the local cloud's own.
const name = (arn: string | undefined) => String(arn ?? '').split('/').pop() ?? '';
Object.assign(process.env, {
  AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  STAGE: cloud.stage,
  STATE_TABLE: cloud.resources.tables.StateTable,
  IDEMPOTENCY_TABLE: cloud.resources.tables.IdempotencyTable,
  LEDGER_TABLE: cloud.resources.tables.LedgerTable,
  ARTIFACTS_BUCKET: cloud.resources.buckets.ArtifactsBucket,
  EVENT_BUS_NAME: name(cloud.resources.buses.EventBus),
  AUTH_ISSUER: LOCAL_ISSUER,
  AUTH_AUDIENCE: LOCAL_AUDIENCE,
  AUTH_JWKS_URL: `${cloud.apiUrl}${JWKS_PATH}`,
  TENANT_REQUESTS_PER_MINUTE: '100000',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_METRICS_NAMESPACE: 'test',
  POWERTOOLS_TRACE_ENABLED: 'false',
});
const { handler } = await import('../../functions/audit/record.ts');

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const context = { functionName: 'auditRecord', awsRequestId: 'req', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
let requests = 0;

async function record(credentials: Record<string, string>, stream: string, idempotent: boolean): Promise<APIGatewayProxyStructuredResultV2> {
  requests += 1;
  const event = {
    version: '2.0',
    routeKey: 'POST /audit/record',
    rawPath: '/audit/record',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...credentials, ...(idempotent ? { 'idempotency-key': `loss-${requests}` } : {}) },
    requestContext: { requestId: `loss-${requests}`, http: { method: 'POST', path: '/audit/record' } },
    body: JSON.stringify({ parameters: { stream, payload: { request: requests } } }),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
  return handler(event, context);
}

describe('POST /audit/record when DynamoDB goes away mid-request', () => {
  it('answers 201 or 503 with Retry-After, never 500, whichever DynamoDB call is lost, before or after DynamoDB did it', async (t) => {
    const tenant = freshTenant('loss');
    const created = await api('POST', '/identity/keys', { tenant, roles: ['admin'], body: { parameters: { name: 'loss', roles: ['operator'] } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const variants: Array<{ name: string; credentials: Record<string, string>; idempotent: boolean }> = [
      { name: 'bearer token', credentials: { authorization: `Bearer ${await tokenFor({ tenant, roles: ['operator'] })}` }, idempotent: false },
      { name: 'API key', credentials: { 'x-api-key': String(created.body.result.apiKey) }, idempotent: false },
      { name: 'bearer token + Idempotency-Key', credentials: { authorization: `Bearer ${await tokenFor({ tenant, roles: ['operator'] })}` }, idempotent: true },
      { name: 'API key + Idempotency-Key', credentials: { 'x-api-key': String(created.body.result.apiKey) }, idempotent: true },
    ];
    const failures: string[] = [];
    for (const variant of variants) {
      const stream = `loss-${variants.indexOf(variant)}`;
      proxy.reset(Number.POSITIVE_INFINITY, 'request');
      const baseline = await record(variant.credentials, stream, variant.idempotent);
      assert.equal(baseline.statusCode, 201, `${variant.name}: ${baseline.body}`);
      const path = [...proxy.calls];
      t.diagnostic(`${variant.name}: ${path.join(' → ')}`);
      for (const loss of ['request', 'reply'] as const) {
        for (let lose = 1; lose <= path.length; lose += 1) {
          proxy.reset(lose, loss);
          const reply = await record(variant.credentials, stream, variant.idempotent);
          const what = `${variant.name}, call ${lose} (${proxy.calls[lose - 1] ?? 'none'}) lost with its ${loss}: ${reply.statusCode} ${reply.body}`;
          if (reply.statusCode === 201) continue;
          const body = JSON.parse(String(reply.body)) as { error?: string };
          if (reply.statusCode !== 503 || Number(reply.headers?.['retry-after']) < 1 || body.error !== 'DependencyError') failures.push(what);
        }
      }
    }
    assert.deepEqual(failures, []);
  });
});
