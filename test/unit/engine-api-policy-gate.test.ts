/**
 * The engine API's policy gate (lib/api/engine-handler.ts): Cedar is asked on every state-changing
 * route after the credentials and the role check, a deny is a 403 naming the deciding policies,
 * break-glass is recorded before the route runs. The gate here is in memory; the stage's gate is
 * tested in test/unit/governance-route-gate.test.ts and on the local cloud.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createLocalJWKSet } from 'jose';
import { z } from 'zod';
import { jwks, LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateIdpKey, signLocalToken } from '../../infra/local/idp.ts';
import { type BreakGlassUse, type EngineContext, engineHandler, type RoutePolicyGate, route } from '../../lib/api/engine-handler.ts';
import { defineRoute, type RouteMethod } from '../../lib/api/route.ts';
import { JwtVerifier } from '../../lib/auth/jwt.ts';
import type { Principal } from '../../lib/auth/principal.ts';
import { DependencyError } from '../../lib/errors.ts';
import type { PolicyDecision } from '../../lib/governance/model.ts';

const context = { functionName: 'test', awsRequestId: 'req', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

function event(method: string, headers: Record<string, string>, body?: unknown): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} /demo/run`,
    rawPath: '/demo/run',
    rawQueryString: '',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    requestContext: { requestId: 'r-1', http: { method, path: '/demo/run' } },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

const base = { engine: 'demo', action: 'run', summary: 'run', result: z.object({ ok: z.boolean() }) } as const;
const specs = {
  POST: defineRoute({ ...base, method: 'POST', permission: 'demo:write', parameters: z.object({ n: z.number() }) }),
  PUT: defineRoute({ ...base, method: 'PUT', permission: 'demo:admin', parameters: z.object({}) }),
  DELETE: defineRoute({ ...base, method: 'DELETE', permission: 'demo:write', parameters: z.object({}) }),
  GET: defineRoute({ ...base, method: 'GET', permission: 'demo:read', parameters: z.object({}) }),
};
const allow: PolicyDecision = { decision: 'allow', policies: ['base/routes'], errors: [], version: 3, breakGlass: false };

/** A gate answering `decide`, remembering what it was asked and what it recorded. */
class MemoryGate implements RoutePolicyGate {
  readonly asked: { principal: Principal; method: RouteMethod; path: string }[] = [];
  readonly recorded: BreakGlassUse[] = [];
  decide: (method: RouteMethod) => PolicyDecision = () => allow;
  record: () => Promise<void> = async () => {};
  async check(principal: Principal, method: RouteMethod, path: string) {
    this.asked.push({ principal, method, path });
    return this.decide(method);
  }
  async breakGlassUsed(use: BreakGlassUse) {
    await this.record();
    this.recorded.push(use);
  }
}

async function setup(options: { routes?: RouteMethod[]; gate?: boolean } = {}) {
  const key = await loadOrCreateIdpKey(await mkdtemp(path.join(os.tmpdir(), 'policy-gate-')));
  const jwt = new JwtVerifier({
    issuer: LOCAL_ISSUER,
    audience: LOCAL_AUDIENCE,
    keys: createLocalJWKSet(jwks(key)),
    tenantClaim: 'tenant',
    rolesClaim: 'roles',
  });
  const gate = new MemoryGate();
  let built = 0;
  const seen: EngineContext[] = [];
  const handler = engineHandler(
    {
      auth: () => ({
        jwt,
        apiKeys: { get: async () => undefined, create: async () => {}, list: async () => [], revoke: async () => assert.fail('revoke') },
      }),
      version: 'test',
      ...(options.gate === false
        ? {}
        : {
            policyGate: () => {
              built += 1;
              return gate;
            },
          }),
    },
    ...(options.routes ?? (['POST', 'PUT', 'DELETE', 'GET'] as const)).map((method) =>
      route(specs[method], async (_params, ctx) => {
        seen.push(ctx);
        return { result: { ok: true } };
      }),
    ),
  );
  const bearer = async (roles: string[], subject = 'alice') => ({
    authorization: `Bearer ${await signLocalToken(key, { tenant: 'acme', subject, roles })}`,
  });
  return { handler, gate, seen, bearer, built: () => built };
}

const body = (reply: { body?: string }) => JSON.parse(reply.body ?? '{}');

describe('the policy gate of the engine API', () => {
  it('answers 403 naming the deciding policies when Cedar denies a write, and never enters the route', async () => {
    const { handler, gate, seen, bearer } = await setup();
    gate.decide = () => ({ decision: 'deny', policies: ['team/freeze', 'env/prod/x'], errors: [], version: 4, breakGlass: false });
    const reply = await handler(event('POST', await bearer(['operator']), { parameters: { n: 1 } }), context);
    assert.equal(reply.statusCode, 403);
    assert.equal(body(reply).message, 'POST /demo/run is forbidden by policy team/freeze, env/prod/x (policy set v4 of tenant acme)');
    assert.equal(seen.length, 0);
    assert.deepEqual(gate.asked, [
      { principal: { tenant: 'acme', subject: 'alice', roles: ['operator'], via: 'jwt' }, method: 'POST', path: '/demo/run' },
    ]);
  });

  it('says when no policy permits a write, with what Cedar reported', async () => {
    const { handler, gate, bearer } = await setup();
    gate.decide = () => ({ decision: 'deny', policies: [], errors: ['team/odd: type error'], version: 2, breakGlass: false });
    const reply = await handler(event('DELETE', await bearer(['operator'])), context);
    assert.equal(reply.statusCode, 403);
    assert.equal(
      body(reply).message,
      'DELETE /demo/run is permitted by no policy (policy set v2 of tenant acme); Cedar reported: team/odd: type error',
    );
  });

  it('runs an allowed write with the decision in its context, and never asks about reads', async () => {
    const { handler, gate, seen, bearer } = await setup();
    const put = await handler(event('PUT', await bearer(['admin']), { parameters: {} }), context);
    assert.equal(put.statusCode, 200);
    assert.deepEqual(seen[0]?.policy, allow);
    const get = await handler(event('GET', await bearer(['viewer'])), context);
    assert.equal(get.statusCode, 200);
    assert.equal(seen[1]?.policy, undefined);
    assert.deepEqual(
      gate.asked.map((asked) => asked.method),
      ['PUT'],
    );
  });

  it('asks only after the credentials and the role check', async () => {
    const { handler, gate, bearer } = await setup();
    assert.equal((await handler(event('POST', {}, { parameters: { n: 1 } }), context)).statusCode, 401);
    assert.equal((await handler(event('POST', await bearer(['viewer']), { parameters: { n: 1 } }), context)).statusCode, 403);
    assert.equal((await handler(event('PUT', await bearer(['operator']), { parameters: {} }), context)).statusCode, 403);
    assert.equal(gate.asked.length, 0);
  });

  it('records a break-glass use before the route runs, with the correlation id and the policies it overrode', async () => {
    const { handler, gate, seen, bearer } = await setup();
    const breakGlass: PolicyDecision = { decision: 'allow', policies: ['team/lock-all'], errors: [], version: 5, breakGlass: true };
    gate.decide = () => breakGlass;
    const reply = await handler(
      event('PUT', { ...(await bearer(['admin'], 'root')), 'x-correlation-id': 'repair-1' }, { parameters: {} }),
      context,
    );
    assert.equal(reply.statusCode, 200);
    assert.equal(gate.recorded.length, 1);
    const [use] = gate.recorded;
    assert.deepEqual(
      { subject: use?.principal.subject, method: use?.method, path: use?.path, decision: use?.decision, correlationId: use?.correlationId },
      { subject: 'root', method: 'PUT', path: '/demo/run', decision: breakGlass, correlationId: 'repair-1' },
    );
    assert.equal(seen[0]?.policy?.breakGlass, true);
  });

  it('refuses a break-glass use it cannot record (503), and does not run the route', async () => {
    const { handler, gate, seen, bearer } = await setup();
    gate.decide = () => ({ decision: 'allow', policies: ['team/lock-all'], errors: [], version: 5, breakGlass: true });
    gate.record = async () => {
      throw new DependencyError('the bus refused the event');
    };
    const reply = await handler(event('PUT', await bearer(['admin']), { parameters: {} }), context);
    assert.equal(reply.statusCode, 503);
    assert.equal(seen.length, 0);
  });

  it('builds the gate while the handler is built when a route is gated, and not for reads only or without a gate', async () => {
    assert.equal((await setup()).built(), 1);
    const reads = await setup({ routes: ['GET'] });
    assert.equal(reads.built(), 0);
    assert.equal((await reads.handler(event('GET', await reads.bearer(['viewer'])), context)).statusCode, 200);
    const ungated = await setup({ gate: false });
    assert.equal(
      (await ungated.handler(event('POST', await ungated.bearer(['operator']), { parameters: { n: 1 } }), context)).statusCode,
      200,
    );
  });
});
