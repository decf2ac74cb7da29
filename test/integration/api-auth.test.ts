/**
 * The engine API's edges through the local HTTP API: every route's permission, both credential
 * kinds, tenant isolation of API keys, the envelope, error statuses and Idempotency-Key.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPair, importJWK, SignJWT } from 'jose';
import { allRoutes } from '../../lib/api/routes.ts';
import { type Permission, type Role, roleNames, rolesAllow } from '../../lib/auth/roles.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateIdpKey } from '../../infra/local/idp.ts';
import { api, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';
import { dynamoClient } from '../../lib/adapters/aws/clients.ts';
import { DynamoRateLimiter } from '../../lib/adapters/aws/rate-limiter.ts';

const protectedRoutes = allRoutes.filter((spec) => spec.permission !== 'public');

async function foreignToken(claims: { tenant: string; roles: Role[] }, options: { audience?: string; expired?: boolean } = {}): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'foreign' })
    .setIssuer(LOCAL_ISSUER)
    .setAudience(options.audience ?? LOCAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expired ? Math.floor(Date.now() / 1000) - 3600 : '1h')
    .sign(privateKey);
}

describe('route permissions', () => {
  it('lists every deployed route in the route registry, and every registered route is deployed', () => {
    const deployed = new Set(testCloud().resources.routes);
    const registered = new Set(allRoutes.map((spec) => `${spec.method} ${spec.path}`));
    assert.deepEqual([...deployed].filter((key) => !registered.has(key)), [], 'deployed routes missing from lib/api/routes.ts');
    assert.deepEqual([...registered].filter((key) => !deployed.has(key)), [], 'registered routes with no function behind them');
  });

  it('declares a permission of the form <engine>:<verb> on every non-public route', () => {
    for (const spec of protectedRoutes) assert.match(spec.permission, new RegExp(`^${spec.engine}:(read|write|configure|approve|admin)$`), `${spec.method} ${spec.path}`);
  });

  for (const spec of protectedRoutes) {
    it(`${spec.method} ${spec.path} answers 401 without credentials, with a foreign-signed token, and with a bad API key`, async () => {
      const none = await api(spec.method, spec.path, { auth: 'none' });
      assert.equal(none.status, 401, JSON.stringify(none.body));
      assert.equal(none.body.error, 'UnauthorizedError');
      const forged = await api(spec.method, spec.path, { headers: { authorization: `Bearer ${await foreignToken({ tenant: 'acme', roles: ['admin'] })}` }, auth: 'none' });
      assert.equal(forged.status, 401);
      const badKey = await api(spec.method, spec.path, { apiKey: `apk_acme_0123456789abcdef_${'x'.repeat(43)}` });
      assert.equal(badKey.status, 401);
    });

    it(`${spec.method} ${spec.path} answers 403 to every role set that lacks ${spec.permission}`, async () => {
      const lacking: Role[][] = [[], ...roleNames.filter((role) => !rolesAllow([role], spec.permission as Permission)).map((role) => [role])];
      for (const roles of lacking) {
        const reply = await api(spec.method, spec.path, { tenant: freshTenant(), roles });
        assert.equal(reply.status, 403, `roles [${roles.join(',')}]: ${JSON.stringify(reply.body)}`);
        assert.equal(reply.body.error, 'ForbiddenError');
      }
    });
  }

  it('rejects expired tokens and tokens for another audience', async () => {
    const key = await loadOrCreateIdpKey(process.env.AUTONOMY_TEST_DATA_DIR ?? '');
    const expired = await new SignJWT({ tenant: 'acme', roles: ['admin'] })
      .setProtectedHeader({ alg: 'RS256', kid: key.privateJwk.kid })
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(await importJWK(key.privateJwk, 'RS256'));
    const late = await api('GET', '/identity/keys', { auth: 'none', headers: { authorization: `Bearer ${expired}` } });
    assert.equal(late.status, 401);
    assert.match(late.body.message, /ERR_JWT_EXPIRED/);
    const valid = await api('GET', '/identity/keys', { auth: 'none', headers: { authorization: `Bearer ${await tokenFor({ tenant: 'acme', roles: ['admin'] })}` } });
    assert.equal(valid.status, 200, 'the same key signs tokens the API accepts');
    const wrongAudience = await api('GET', '/identity/keys', { auth: 'none', headers: { authorization: `Bearer ${await foreignToken({ tenant: 'acme', roles: ['admin'] }, { audience: 'someone-else' })}` } });
    assert.equal(wrongAudience.status, 401);
    const malformed = await api('GET', '/identity/keys', { auth: 'none', headers: { authorization: 'Basic abc' } });
    assert.equal(malformed.status, 401);
    assert.match(malformed.body.message, /Bearer/);
  });

  it('serves /health and /openapi.json without credentials', async () => {
    assert.equal((await api('GET', '/health', { auth: 'none' })).status, 200);
    const doc = await api('GET', '/openapi.json', { auth: 'none' });
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.1.0');
    for (const spec of allRoutes) {
      const operation = doc.body.paths[spec.path]?.[spec.method.toLowerCase()];
      assert.ok(operation, `${spec.method} ${spec.path} is documented`);
      assert.equal(operation['x-permission'], spec.permission);
    }
  });
});

describe('API keys', () => {
  it('are shown once, stored without their secret, work as credentials, and stop working when revoked', async () => {
    const tenant = freshTenant();
    const created = await api('POST', '/identity/keys', { tenant, roles: ['admin'], body: { parameters: { name: 'ci', roles: ['viewer'] } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.status, 'success');
    const { apiKey, keyId } = created.body.result;
    assert.match(apiKey, new RegExp(`^apk_${tenant}_${keyId}_`));

    const listed = await api('GET', '/identity/keys', { apiKey: await adminKey(tenant) });
    const entry = listed.body.result.keys.find((key: { keyId: string }) => key.keyId === keyId);
    assert.deepEqual(Object.keys(entry).sort(), ['createdAt', 'createdBy', 'keyId', 'name', 'roles', 'tenant']);
    assert.ok(!JSON.stringify(listed.body).includes(apiKey.split('_').at(-1)), 'the secret never comes back');

    const asViewer = await api('GET', '/identity/keys', { apiKey });
    assert.equal(asViewer.status, 403, 'a viewer key authenticates but may not administer keys');

    const revoked = await api('DELETE', `/identity/keys?keyId=${keyId}`, { tenant, roles: ['admin'] });
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.result.revokedAt);
    const after = await api('GET', '/identity/keys', { apiKey });
    assert.equal(after.status, 401);
    assert.match(after.body.message, /revoked/);
  });

  it("never reveal or revoke another tenant's keys", async () => {
    const owner = freshTenant();
    const other = freshTenant();
    const created = await api('POST', '/identity/keys', { tenant: owner, body: { parameters: { name: 'mine', roles: ['viewer'] } } });
    const { keyId } = created.body.result;
    const listed = await api('GET', '/identity/keys', { tenant: other });
    assert.deepEqual(listed.body.result.keys, []);
    const revoke = await api('DELETE', `/identity/keys?keyId=${keyId}`, { tenant: other });
    assert.equal(revoke.status, 404);
    const stillThere = await api('GET', '/identity/keys', { tenant: owner });
    assert.equal(stillThere.body.result.keys[0].revokedAt, undefined);
  });
});

async function adminKey(tenant: string): Promise<string> {
  const created = await api('POST', '/identity/keys', { tenant, body: { parameters: { name: 'admin', roles: ['admin'] } } });
  return created.body.result.apiKey;
}

describe('the envelope', () => {
  it('replies with status, result, logs, provenance and an ISO timestamp, echoing the correlation id', async () => {
    const tenant = freshTenant();
    const reply = await api('POST', '/identity/keys', {
      tenant,
      body: { action: 'keys', parameters: { name: 'x', roles: ['viewer'] }, context_references: ['ticket-42'], metadata: { origin: 'test' } },
      headers: { 'x-correlation-id': 'corr-123' },
    });
    assert.equal(reply.headers.get('x-correlation-id'), 'corr-123');
    assert.deepEqual(Object.keys(reply.body).sort(), ['logs', 'provenance', 'result', 'status', 'timestamp']);
    assert.equal(new Date(reply.body.timestamp).toISOString(), reply.body.timestamp);
    assert.equal(reply.body.logs.length, 1);
    assert.equal(reply.body.provenance.length, 1, 'one step: the route that answered');
    assert.deepEqual(
      { ...reply.body.provenance[0], version: undefined },
      { engine: 'identity', action: 'keys', tenant, actor: `local:${tenant}`, via: 'jwt', correlationId: 'corr-123', version: undefined, contextReferences: ['ticket-42'], metadata: { origin: 'test' } },
    );
  });

  it('links a POST /audit/record reply to its ledger entry in provenance, and that entry has an inclusion proof', async () => {
    const tenant = freshTenant();
    const recorded = await api('POST', '/audit/record', { tenant, roles: ['operator'], body: { parameters: { stream: 'ops', payload: { note: 'provenance' } } } });
    assert.equal(recorded.status, 201, JSON.stringify(recorded.body));
    const [step] = recorded.body.provenance;
    assert.deepEqual([step.engine, step.action, step.ledger], ['audit', 'record', { tenant, stream: 'ops', seq: recorded.body.result.seq }]);
    const checkpoint = await api('POST', '/audit/checkpoint', { tenant, roles: ['operator'], body: { parameters: { stream: step.ledger.stream } } });
    assert.ok(checkpoint.status === 200 || checkpoint.status === 201, JSON.stringify(checkpoint.body));
    const proof = await api('GET', `/audit/proof?stream=${step.ledger.stream}&seq=${step.ledger.seq}`, { tenant, roles: ['viewer'] });
    assert.equal(proof.status, 200, JSON.stringify(proof.body));
    assert.equal(proof.body.result.entryHash, recorded.body.result.hash);
  });

  it('answers 400 naming each invalid field path', async () => {
    const reply = await api('POST', '/identity/keys', { body: { action: 'other', parameters: { roles: ['root'] } } });
    assert.equal(reply.status, 400);
    const paths = reply.body.issues.map((issue: { path: string }) => issue.path).sort();
    assert.deepEqual(paths, ['body.parameters.name', 'body.parameters.roles.0']);
    const wrongAction = await api('POST', '/identity/keys', { body: { action: 'other', parameters: { name: 'n', roles: ['viewer'] } } });
    assert.deepEqual(wrongAction.body.issues.map((issue: { path: string }) => issue.path), ['body.action']);
    const query = await api('DELETE', '/identity/keys?keyId=nope', {});
    assert.deepEqual(query.body.issues.map((issue: { path: string }) => issue.path), ['query.keyId']);
    assert.ok(query.body.correlationId && query.headers.get('x-correlation-id') === query.body.correlationId);
  });

  it('answers 400 to a body that is not JSON and 413 to one over 1 MiB, without internals', async () => {
    const notJson = await api('POST', '/identity/keys', { body: '{"parameters":' });
    assert.equal(notJson.status, 400);
    assert.deepEqual(notJson.body.issues, [{ path: 'body', message: 'Body is not valid JSON' }]);
    const big = await api('POST', '/identity/keys', { body: { parameters: { name: 'x'.repeat(1_100_000), roles: ['viewer'] } } });
    assert.equal(big.status, 413);
    assert.doesNotMatch(JSON.stringify(big.body), /at .*\.ts:\d+/);
  });
});

describe('Idempotency-Key', () => {
  it('returns the first result for a retried POST and does the work once', async () => {
    const tenant = freshTenant();
    const body = { parameters: { name: 'retry-me', roles: ['viewer'] } };
    const headers = { 'idempotency-key': `k-${tenant}` };
    const first = await api('POST', '/identity/keys', { tenant, body, headers });
    const second = await api('POST', '/identity/keys', { tenant, body, headers });
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal(second.body.result.keyId, first.body.result.keyId);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    const listed = await api('GET', '/identity/keys', { tenant });
    assert.equal(listed.body.result.keys.length, 1);
    const changed = await api('POST', '/identity/keys', { tenant, body: { parameters: { name: 'other', roles: ['viewer'] } }, headers });
    assert.equal(changed.status, 400);
    assert.deepEqual(changed.body.issues.map((issue: { path: string }) => issue.path), ['headers.idempotency-key']);
    const otherTenant = await api('POST', '/identity/keys', { tenant: freshTenant(), body, headers });
    assert.notEqual(otherTenant.body.result.keyId, first.body.result.keyId, 'keys are scoped per tenant');
  });
});

describe('the per-tenant request budget', () => {
  it('admits exactly the limit per tenant and minute, counted across callers, then asks to retry when the window resets', async () => {
    const limiter = new DynamoRateLimiter(dynamoClient(), testCloud().resources.tables.StateTable ?? '', 5);
    const tenant = freshTenant();
    const at = new Date('2026-01-01T00:00:45.000Z');
    const decisions = await Promise.all(Array.from({ length: 12 }, () => limiter.consume(tenant, at)));
    assert.equal(decisions.filter((decision) => decision.allowed).length, 5);
    assert.deepEqual(new Set(decisions.filter((decision) => !decision.allowed).map((decision) => decision.retryAfterSeconds)), new Set([15]));
    assert.ok((await limiter.consume(freshTenant(), at)).allowed, 'another tenant has its own budget');
    assert.ok((await limiter.consume(tenant, new Date('2026-01-01T00:01:00.000Z'))).allowed, 'the next minute starts afresh');
  });
});
