/**
 * The route gate (lib/governance/route-gate.ts) with real Cedar: the tenant's version read at most
 * once a second per container, the version's layers deciding, a missing set failing closed (break-glass
 * left), API keys and engines as their own principal types, and the break-glass event as catalogued.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Principal } from '../../lib/auth/principal.ts';
import { type BusEvent, validateEvents } from '../../lib/events/publisher.ts';
import { cedarSchema, routeActionId } from '../../lib/governance/cedar-schema.ts';
import { BREAK_GLASS_ROUTES, PolicyEngine } from '../../lib/governance/policy.ts';
import type { PolicyLayers } from '../../lib/governance/profiles.ts';
import { policyGate, SETTINGS_TTL_MS } from '../../lib/governance/route-gate.ts';
import { defaultSettings } from '../../lib/governance/settings.ts';

const engine = new PolicyEngine(
  cedarSchema({ actuations: [], routes: [routeActionId('PUT', '/observation/config'), ...BREAK_GLASS_ROUTES] }),
);

const LOCK_CONFIG = '@id("lock-config")\nforbid (principal, action == Autonomy::Action::"PUT /observation/config", resource);\n';
const NO_KEYS = '@id("no-api-keys")\nforbid (principal is Autonomy::ApiKey, action in Autonomy::Action::"route", resource);\n';

function setup() {
  let clock = 1_000_000;
  let reads = 0;
  let version = 0;
  const stored = new Map<number, PolicyLayers>();
  const published: BusEvent[] = [];
  const gate = policyGate({
    settings: {
      settings: async (tenant) => {
        reads += 1;
        return { ...defaultSettings(tenant), policyVersion: version };
      },
    },
    policies: { layers: async (_tenant, at) => stored.get(at) },
    engine,
    publisher: {
      publish: async (events) => {
        validateEvents(events);
        published.push(...events);
      },
    },
    now: () => clock,
  });
  return {
    gate,
    published,
    reads: () => reads,
    publish: (layers: PolicyLayers) => {
      version += 1;
      stored.set(version, layers);
    },
    point: (next: number) => {
      version = next;
    },
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

const operator: Principal = { tenant: 'acme', subject: 'alice', roles: ['operator'], via: 'jwt' };
const admin: Principal = { tenant: 'acme', subject: 'root', roles: ['admin'], via: 'jwt' };

describe('policyGate', () => {
  it("reads the tenant's version at most once a second, so a published set applies within a second", async () => {
    const { gate, reads, publish, tick } = setup();
    assert.equal((await gate.check(operator, 'PUT', '/observation/config')).decision, 'allow');
    publish({ team: LOCK_CONFIG });
    tick(SETTINGS_TTL_MS - 1);
    assert.equal((await gate.check(operator, 'PUT', '/observation/config')).decision, 'allow', 'still version 0 within the second');
    assert.equal(reads(), 1);
    tick(1);
    const denied = await gate.check(operator, 'PUT', '/observation/config');
    assert.deepEqual([denied.decision, denied.policies, denied.version], ['deny', ['team/lock-config'], 1]);
    assert.equal(reads(), 2);
  });

  it('tells API keys from people (and engines from both) by their credentials', async () => {
    const { gate, publish } = setup();
    publish({ team: NO_KEYS });
    const key: Principal = { tenant: 'acme', subject: 'api-key:0123456789abcdef', roles: ['operator'], via: 'api-key' };
    const engineKey: Principal = { ...key, subject: 'engine:reflex' };
    assert.deepEqual((await gate.check(key, 'PUT', '/observation/config')).policies, ['team/no-api-keys']);
    assert.equal((await gate.check(engineKey, 'PUT', '/observation/config')).decision, 'allow', 'an engine key is an Engine');
    assert.equal((await gate.check(operator, 'PUT', '/observation/config')).decision, 'allow');
    const repeated: Principal = { ...operator, roles: Array.from({ length: 40 }, () => 'operator' as const) };
    assert.equal((await gate.check(repeated, 'PUT', '/observation/config')).decision, 'allow', 'a role named 40 times is one role');
  });

  it('denies everything but break-glass while the current version is not stored', async () => {
    const { gate, point } = setup();
    point(9);
    const denied = await gate.check(operator, 'PUT', '/observation/config');
    assert.deepEqual([denied.decision, denied.policies], ['deny', ['team/policy-set-missing']]);
    const repair = await gate.check(admin, 'PUT', '/governance/policies');
    assert.deepEqual([repair.decision, repair.breakGlass, repair.policies], ['allow', true, ['team/policy-set-missing']]);
    assert.equal((await gate.check(operator, 'PUT', '/governance/policies')).decision, 'deny', 'break-glass is for admins');
  });

  it('publishes a break-glass use as a catalogued event naming who, what, the overridden policies and the request', async () => {
    const { gate, published } = setup();
    const decision = { decision: 'allow' as const, policies: ['team/lock-all'], errors: [], version: 3, breakGlass: true };
    await gate.breakGlassUsed({
      principal: admin,
      method: 'PUT',
      path: '/governance/policies',
      decision,
      correlationId: 'c-1',
      at: new Date('2025-02-03T04:05:06Z'),
    });
    assert.equal(published.length, 1);
    assert.equal(published[0]?.detailType, 'governance.breakglass.used');
    assert.deepEqual(published[0]?.detail, {
      version: '1',
      tenant: 'acme',
      actor: 'root',
      method: 'PUT',
      path: '/governance/policies',
      policies: ['team/lock-all'],
      policyVersion: 3,
      correlationId: 'c-1',
      usedAt: '2025-02-03T04:05:06.000Z',
    });
  });
});
