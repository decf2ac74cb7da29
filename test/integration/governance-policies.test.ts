/**
 * Policy as code on the local cloud: publishing a tenant's Cedar policy set (an invalid one refused
 * with Cedar's message, nothing stored), a team `forbid` refusing an otherwise autonomous actuation,
 * simulation against the decisions recorded in the ledger before and after, a `forbid` on a
 * state-changing route, and an admin's break-glass repair of a set that forbids everything, with
 * every version's hash and the break-glass use in the ledger.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Role } from '../../lib/auth/roles.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, tokenFor } from '../helpers/local-cloud.ts';

async function as(tenant: string, subject: string, roles: Role[], method: string, path: string, body?: unknown) {
  const token = await tokenFor({ tenant, subject, roles });
  return api(method, path, { auth: 'none', headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { body }) });
}

const publish = (tenant: string, policies: Record<string, unknown>) =>
  as(tenant, 'root', ['admin'], 'PUT', '/governance/policies', { parameters: { policies } });
const simulate = (tenant: string, policies: Record<string, unknown>) =>
  as(tenant, 'root', ['admin'], 'POST', '/governance/policies/simulate', { parameters: { policies } });
const restart = (tenant: string) =>
  as(tenant, 'alice', ['operator'], 'POST', '/governance/proposals', {
    parameters: { engine: 'reflex', action: 'restart', target: 'endpoint/chat', environment: 'dev', reason: 'x', parameters: {} },
  });
const configure = (tenant: string) =>
  as(tenant, 'alice', ['operator'], 'PUT', '/observation/config', {
    parameters: { series: 'api.latency', detector: 'robust', config: {} },
  });

/** The tenant's governance events of one detail-type in the ledger. */
const recorded = (tenant: string, detailType: string, atLeast = 1) =>
  eventually(
    `${atLeast} × ${detailType} in the ledger`,
    async () => {
      const events = (await ledgerEvents(tenant, 'governance')).filter((event) => event.detailType === detailType);
      return events.length >= atLeast ? events : undefined;
    },
    20_000,
    250,
  );

const FORBID_RESTARTS = '@id("no-reflex-restarts")\nforbid (principal, action == Autonomy::Action::"reflex:restart", resource);\n';
const LOCK_CONFIG = '@id("lock-config")\nforbid (principal, action == Autonomy::Action::"PUT /observation/config", resource);\n';
const LOCK_ALL = '@id("lock-all")\nforbid (principal, action, resource);\n';

describe('policy as code on the local cloud', { timeout: 180_000 }, () => {
  it('refuses an invalid policy set with a 400 quoting Cedar and stores nothing', async () => {
    const tenant = freshTenant('pol');
    const first = await publish(tenant, { team: FORBID_RESTARTS });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual([first.body.result.policyVersion, first.body.result.previousVersion, first.body.result.breakGlass], [1, 0, false]);
    assert.equal(first.body.result.policyIds.at(-1), 'team/no-reflex-restarts');

    const unknownAction = await publish(tenant, { team: 'permit (principal, action == Autonomy::Action::"reflex:explode", resource);' });
    assert.equal(unknownAction.status, 400, JSON.stringify(unknownAction.body));
    assert.equal(unknownAction.body.issues[0].path, 'body.parameters.policies.team');
    assert.match(unknownAction.body.issues[0].message, /reflex:explode/);
    assert.match(unknownAction.body.issues[0].message, /\(at line 1, column \d+\)/);
    const syntax = await publish(tenant, { environments: { prod: 'forbid (principal, action, resource' } });
    assert.equal(syntax.status, 400);
    assert.equal(syntax.body.issues[0].path, 'body.parameters.policies.env/prod');
    const notAdmin = await as(tenant, 'alice', ['operator'], 'PUT', '/governance/policies', { parameters: { policies: {} } });
    assert.equal(notAdmin.status, 403);

    const current = await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/policies');
    assert.equal(current.status, 200, JSON.stringify(current.body));
    assert.equal(current.body.result.policyVersion, 1, 'the refused sets were not stored');
    assert.equal(current.body.result.hash, first.body.result.hash);
    assert.deepEqual(current.body.result.layers, { team: FORBID_RESTARTS });
    assert.match(current.body.result.base, /@id\("operators-actuate"\)/);
    assert.deepEqual(current.body.result.policyIds, first.body.result.policyIds);
    const published = await recorded(tenant, 'governance.policy.published');
    assert.deepEqual(
      published.map((event) => [event.detail.policyVersion, event.detail.hash]),
      [[1, first.body.result.hash]],
    );
  });

  it('shows by simulation that a forbid would refuse a recorded restart, then refuses it with a 403 naming the policy', async () => {
    const tenant = freshTenant('pol');
    const allowed = await restart(tenant);
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.equal(allowed.body.result.route, 'autonomous');
    const { proposalId } = allowed.body.result;

    const before = await simulate(tenant, { team: FORBID_RESTARTS });
    assert.equal(before.status, 200, JSON.stringify(before.body));
    assert.equal(before.body.result.evaluated, 1);
    assert.deepEqual(before.body.result.changed, [
      {
        proposalId,
        before: 'allow',
        after: 'deny',
        policiesBefore: ['base/operators-actuate'],
        policiesAfter: ['team/no-reflex-restarts'],
      },
    ]);
    const harmless = await simulate(tenant, { team: LOCK_CONFIG });
    assert.deepEqual(harmless.body.result.changed, [], 'a forbid on a route changes no actuation');
    assert.equal(
      (await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/policies')).body.result.policyVersion,
      0,
      'simulating stores nothing',
    );

    assert.equal((await publish(tenant, { team: FORBID_RESTARTS })).status, 200);
    const refused = await restart(tenant);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.match(refused.body.message, /forbidden by team\/no-reflex-restarts/);

    // Both decisions are in the ledger now: lifting the forbid would change the refusal back.
    const after = await simulate(tenant, {});
    assert.equal(after.body.result.evaluated, 2);
    assert.deepEqual(
      after.body.result.changed.map((change: { before: string; after: string }) => [change.before, change.after]),
      [['deny', 'allow']],
    );
  });

  it('refuses a state-changing route a team policy forbids (403 naming it), while reads go on', async () => {
    const tenant = freshTenant('pol');
    assert.equal((await publish(tenant, { team: LOCK_CONFIG })).status, 200);
    const refused = await eventually('the forbid to reach the config function', async () => {
      const reply = await configure(tenant);
      return reply.status === 403 ? reply : undefined;
    });
    assert.match(refused.body.message, /^PUT \/observation\/config is forbidden by policy team\/lock-config \(policy set v1 of tenant /);
    const read = await as(tenant, 'alice', ['operator'], 'GET', '/observation/status?series=api.latency');
    assert.notEqual(read.status, 403, JSON.stringify(read.body));
    assert.equal((await publish(tenant, {})).status, 200);
    const configured = await eventually('the lifted forbid to reach the config function', async () => {
      const reply = await configure(tenant);
      return reply.status === 200 ? reply : undefined;
    });
    assert.equal(configured.body.result.series, 'api.latency');
  });

  it("lets an admin repair a set that forbids everything (break-glass), and records each version's hash and the break-glass use", async () => {
    const tenant = freshTenant('pol');
    const locked = await publish(tenant, { team: LOCK_ALL });
    assert.equal(locked.status, 200);
    await eventually('the lock to reach the config function', async () => ((await configure(tenant)).status === 403 ? true : undefined));
    // The policies function reads the tenant's version at most once a second: publishing the lock
    // again is break-glass as soon as it sees the lock (each attempt before that is one more locked version).
    const relocked = await eventually('the lock to reach the policies function', async () => {
      const reply = await publish(tenant, { team: LOCK_ALL });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body.result.breakGlass ? reply : undefined;
    });
    const repair = await publish(tenant, {});
    assert.equal(repair.status, 200, JSON.stringify(repair.body));
    assert.equal(repair.body.result.breakGlass, true);
    assert.equal(repair.body.result.previousVersion, relocked.body.result.policyVersion);
    await eventually('the repair to reach the config function', async () => ((await configure(tenant)).status === 200 ? true : undefined));

    const published = await recorded(tenant, 'governance.policy.published', repair.body.result.policyVersion);
    const byVersion = new Map(published.map((event) => [event.detail.policyVersion, event.detail]));
    assert.equal(byVersion.get(1)?.hash, locked.body.result.hash);
    assert.equal(byVersion.get(1)?.breakGlass, false);
    assert.equal(byVersion.get(repair.body.result.policyVersion)?.hash, repair.body.result.hash);
    assert.equal(byVersion.get(repair.body.result.policyVersion)?.breakGlass, true);
    const uses = await recorded(tenant, 'governance.breakglass.used', 2);
    for (const use of uses) {
      assert.deepEqual(
        [use.detail.actor, use.detail.method, use.detail.path, use.detail.policies],
        ['root', 'PUT', '/governance/policies', ['team/lock-all']],
      );
    }
  });
});
