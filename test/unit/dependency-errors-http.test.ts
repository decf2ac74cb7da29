/**
 * The same failure gives the same status on every route: the deployed handlers of different
 * engines, driven in process with API Gateway v2 events, their real SDK clients aimed (through the
 * SDK's standard AWS_ENDPOINT_URL) at a local fake that throttles every DynamoDB call. Each route
 * answers 503 with Retry-After and a DependencyError body, never a 500.
 *
 * The environment is set before the handlers are imported: config and clients are built once per
 * process, as in a Lambda container (node --test runs each file in its own process).
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { JWKS_PATH, jwks, LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateIdpKey, signLocalToken } from '../../infra/local/idp.ts';
import { dynamoError, type SeenRequest, startFakeAws } from '../helpers/fake-aws.ts';

const fake = await startFakeAws();
const idpKey = await loadOrCreateIdpKey(await mkdtemp(path.join(os.tmpdir(), 'dependency-http-')));
/** The route gate's read of the tenant's governance settings (its policy version): answered, so the route's own calls are what is throttled. */
const isPolicyRead = (request: SeenRequest) => request.target === 'DynamoDB_20120810.GetItem' && request.body.includes('#governance"');
const dynamoCalls = (): SeenRequest[] => fake.requests.filter((request) => request.target?.startsWith('DynamoDB_20120810.') && !isPolicyRead(request));

fake.answer((request) => {
  if (request.path === JWKS_PATH)
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(jwks(idpKey)) };
  // No settings stored: the tenant's routes are decided by the base profile.
  if (isPolicyRead(request)) return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: '{}' };
  if (request.target?.startsWith('DynamoDB_20120810.')) return dynamoError(request, 400, 'ProvisionedThroughputExceededException');
  // S3 PutObject (the audit payload, written before the ledger is read) succeeds.
  if (request.method === 'PUT') return { status: 200, headers: { etag: '"fake"' } };
  return { status: 500, body: '' };
});

// Every service-specific endpoint (npm test sets them for the local cloud) gives way to the fake.
for (const name of Object.keys(process.env)) if (name.startsWith('AWS_ENDPOINT_URL')) delete process.env[name];
Object.assign(process.env, {
  AWS_ENDPOINT_URL: fake.endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'fake',
  AWS_SECRET_ACCESS_KEY: 'fake',
  AWS_MAX_ATTEMPTS: '1',
  STAGE: 'test',
  STATE_TABLE: 'state',
  IDEMPOTENCY_TABLE: 'idempotency',
  ARTIFACTS_BUCKET: 'artifacts',
  EVENT_BUS_NAME: 'bus',
  LEDGER_TABLE: 'ledger',
  AUDIT_SIGNING_KEY_PREFIX: 'autonomy/test/audit-signing-keys/',
  AUTH_ISSUER: LOCAL_ISSUER,
  AUTH_AUDIENCE: LOCAL_AUDIENCE,
  AUTH_JWKS_URL: `${fake.endpoint}${JWKS_PATH}`,
  TENANT_REQUESTS_PER_MINUTE: '0',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_METRICS_NAMESPACE: 'test',
});

const { handler: auditRecord } = await import('../../functions/audit/record.ts');
const { handler: observationIngest } = await import('../../functions/observation/ingest.ts');
const { handler: identityKeys } = await import('../../functions/identity/keys.ts');

after(async () => {
  await fake.close();
});

const context = { functionName: 'test', awsRequestId: 'req', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

async function call(
  handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>,
  method: string,
  route: string,
  roles: string[],
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  const token = await signLocalToken(idpKey, { tenant: 'acme', roles });
  const event = {
    version: '2.0',
    routeKey: `${method} ${route}`,
    rawPath: route,
    rawQueryString: '',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    requestContext: { requestId: `r-${route}`, http: { method, path: route } },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
  return handler(event, context);
}

function assertThrottled(reply: APIGatewayProxyStructuredResultV2, route: string): void {
  assert.equal(reply.statusCode, 503, `${route}: ${reply.body}`);
  assert.equal(reply.headers?.['retry-after'], '2', route);
  const body = JSON.parse(String(reply.body));
  assert.equal(body.error, 'DependencyError', route);
  assert.match(body.message, /DynamoDB \w+ throttled: ProvisionedThroughputExceededException/, route);
  assert.equal(body.correlationId, `r-${route}`);
}

describe('a DynamoDB throttle over HTTP', () => {
  it('is 503 with Retry-After on /audit/record, as on /observation/ingest and /identity/keys', async () => {
    const before = dynamoCalls().length;
    const recorded = await call(auditRecord, 'POST', '/audit/record', ['operator'], {
      parameters: { stream: 'decisions', payload: { kind: 'promotion' } },
    });
    assertThrottled(recorded, '/audit/record');
    const ingested = await call(observationIngest, 'POST', '/observation/ingest', ['operator'], {
      parameters: { point: { series: 'api.latency', timestamp: '2026-11-26T10:00:00.000Z', value: 120 } },
    });
    assertThrottled(ingested, '/observation/ingest');
    const listed = await call(identityKeys, 'GET', '/identity/keys', ['admin']);
    assertThrottled(listed, '/identity/keys');
    // Each route reached DynamoDB through the SDK (the throttle came off the wire, not from a fake port).
    assert.ok(dynamoCalls().length >= before + 3);
    // Observation ingest reads its series with one batched read (BatchGetItem) before any write.
    assert.deepEqual([...new Set(dynamoCalls().map((request) => request.target))].sort(), [
      'DynamoDB_20120810.BatchGetItem',
      'DynamoDB_20120810.Query',
    ]);
  });

  it('is 503 with Retry-After too when the throttled table is the Idempotency-Key store', async () => {
    const before = dynamoCalls().length;
    const reply = await call(
      auditRecord,
      'POST',
      '/audit/record',
      ['operator'],
      { parameters: { stream: 'decisions', payload: { kind: 'once' } } },
      {
        'idempotency-key': 'first-try',
      },
    );
    assertThrottled(reply, '/audit/record');
    // Powertools' conditional PutItem of the in-progress record was the call throttled, before the route ran.
    assert.equal(dynamoCalls()[before]?.target, 'DynamoDB_20120810.PutItem');
    assert.equal(dynamoCalls().length, before + 1);
  });
});
