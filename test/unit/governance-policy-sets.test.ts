/**
 * A tenant's policy sets (lib/governance/policy-sets.ts) with real Cedar: publishing (validation
 * first, the next free version, settings moved conditionally with the published event), the current
 * set, and replaying recorded decisions read back from an in-memory ledger.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { busEventRecord, record } from '../../lib/audit/engine.ts';
import { MemoryLedgerStore, MemoryPayloadStore, MemoryStreamRegistry } from '../../lib/audit/memory-store.ts';
import { ConflictError, ValidationError } from '../../lib/errors.ts';
import { type BusEvent, busEvent, validateEvents } from '../../lib/events/publisher.ts';
import { actuationActionId, cedarSchema, routeActionId } from '../../lib/governance/cedar-schema.ts';
import type { PolicyDecision } from '../../lib/governance/model.ts';
import { type ActuationRequestInput, BREAK_GLASS_ROUTES, PolicyEngine } from '../../lib/governance/policy.ts';
import {
  currentPolicies,
  GOVERNANCE_EVENTS_STREAM,
  type PublishDeps,
  publishPolicies,
  recordedDecisions,
  type StoredPolicySet,
  simulatePolicies,
} from '../../lib/governance/policy-sets.ts';
import type { PolicyLayers } from '../../lib/governance/profiles.ts';
import type { OutboxEntry } from '../../lib/governance/proposals.ts';
import { defaultSettings, type TenantSettings } from '../../lib/governance/settings.ts';

const schema = cedarSchema({
  actuations: [actuationActionId('reflex', 'restart'), actuationActionId('closure', 'terminate')],
  routes: [routeActionId('PUT', '/observation/config'), ...BREAK_GLASS_ROUTES],
});
const engine = new PolicyEngine(schema);

const FORBID_RESTARTS = '@id("no-restarts")\nforbid (principal, action == Autonomy::Action::"reflex:restart", resource);\n';

/** Settings and policy versions in memory, with the DynamoDB adapters' conditions; delivered events checked against the catalog. */
function memoryDeps(now = new Date('2025-01-01T00:00:00Z')) {
  const settings = new Map<string, TenantSettings>();
  const versions = new Map<string, StoredPolicySet>();
  const published: BusEvent[] = [];
  const recorded: OutboxEntry[] = [];
  let puts = 0;
  const deps: PublishDeps = {
    schema,
    now,
    store: {
      settings: async (tenant) => structuredClone(settings.get(tenant) ?? defaultSettings(tenant)),
      putSettings: async (next, expected, events) => {
        if ((settings.get(next.tenant)?.version ?? 0) !== expected) throw new ConflictError('settings changed');
        validateEvents(events);
        settings.set(next.tenant, structuredClone(next));
        return events.map((event, index) => ({ tenant: next.tenant, id: `${index}`, event }));
      },
    },
    outbox: {
      record: async (entry) => {
        recorded.push(entry);
        return undefined;
      },
      deliver: async (entries) => {
        published.push(...entries.map((entry) => entry.event));
      },
    },
    policies: {
      put: async (stored) => {
        puts += 1;
        const key = `${stored.tenant}#${stored.policyVersion}`;
        if (versions.has(key)) throw new ConflictError(`v${stored.policyVersion} exists`);
        versions.set(key, structuredClone(stored));
      },
    },
  };
  const layers = async (tenant: string, version: number) => versions.get(`${tenant}#${version}`)?.layers;
  return { deps, settings, versions, published, recorded, layers, puts: () => puts };
}

describe('publishPolicies', () => {
  it('refuses an invalid set with a 400 quoting Cedar (layer and line), and stores nothing', async () => {
    const { deps, versions, settings, published, puts } = memoryDeps();
    const error = await publishPolicies(
      'acme',
      { team: 'permit (principal, action == Autonomy::Action::"reflex:explode", resource);' },
      { actor: 'root', breakGlass: false },
      deps,
    ).then(
      () => assert.fail('published'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ValidationError);
    assert.equal(error.issues[0]?.path, 'body.parameters.policies.team');
    assert.match(error.issues[0]?.message ?? '', /reflex:explode/);
    assert.match(error.issues[0]?.message ?? '', /line 1, column/);
    assert.equal(puts(), 0);
    assert.equal(versions.size + settings.size + published.length, 0);
  });

  it('stores version 1, makes it current and announces its hash, ids, actor and break-glass', async () => {
    const { deps, settings, published, recorded, layers } = memoryDeps();
    const outcome = await publishPolicies('acme', { team: FORBID_RESTARTS }, { actor: 'root', breakGlass: true }, deps);
    assert.deepEqual(
      { ...outcome, hash: outcome.hash.length },
      {
        policyVersion: 1,
        previousVersion: 0,
        hash: 64,
        policyIds: ['base/routes', 'base/operators-actuate', 'base/engines-actuate', 'team/no-restarts'],
        breakGlass: true,
      },
    );
    assert.equal(settings.get('acme')?.policyVersion, 1);
    assert.deepEqual(await layers('acme', 1), { team: FORBID_RESTARTS });
    assert.equal(published.length, 1);
    assert.equal(recorded.length, 1, 'the event is recorded in the ledger before it is published');
    assert.deepEqual(published[0]?.detail, {
      version: '1',
      tenant: 'acme',
      policyVersion: 1,
      hash: outcome.hash,
      policyIds: outcome.policyIds,
      actor: 'root',
      breakGlass: true,
      publishedAt: '2025-01-01T00:00:00.000Z',
    });
    const second = await publishPolicies('acme', {}, { actor: 'root', breakGlass: false }, deps);
    assert.deepEqual([second.previousVersion, second.policyVersion], [1, 2]);
    assert.notEqual(second.hash, outcome.hash);
  });

  it('skips a version number an interrupted publish left behind', async () => {
    const { deps, versions, settings } = memoryDeps();
    versions.set('acme#1', {
      tenant: 'acme',
      policyVersion: 1,
      layers: { team: '' },
      hash: '0'.repeat(64),
      author: 'crashed',
      at: '2024-12-31T00:00:00Z',
    });
    const outcome = await publishPolicies('acme', { team: FORBID_RESTARTS }, { actor: 'root', breakGlass: false }, deps);
    assert.equal(outcome.policyVersion, 2);
    assert.equal(settings.get('acme')?.policyVersion, 2);
  });

  it('answers 409 when another version was made current meanwhile, and leaves it current', async () => {
    const { deps, settings } = memoryDeps();
    const put = deps.policies.put;
    deps.policies.put = async (stored) => {
      await put(stored);
      // Another admin publishes v2 and makes it current between this put and the settings write.
      settings.set('acme', { ...defaultSettings('acme'), policyVersion: 2, version: 1 });
    };
    await assert.rejects(
      publishPolicies('acme', {}, { actor: 'root', breakGlass: false }, deps),
      (error: unknown) => error instanceof ConflictError && /v2 of acme was published meanwhile/.test(error.message),
    );
    assert.equal(settings.get('acme')?.policyVersion, 2);
  });
});

describe('currentPolicies', () => {
  it('shows version 0 as the base profile alone, and a stored version with its ids', async () => {
    const { deps, layers } = memoryDeps();
    const read = () => currentPolicies('acme', { store: deps.store, policies: { layers }, schema });
    const empty = await read();
    assert.deepEqual(empty.policyVersion, 0);
    assert.deepEqual(empty.layers, {});
    assert.deepEqual(empty.policyIds, ['base/routes', 'base/operators-actuate', 'base/engines-actuate']);
    assert.equal(empty.issues, undefined);
    await publishPolicies('acme', { environments: { prod: FORBID_RESTARTS } }, { actor: 'root', breakGlass: false }, deps);
    const one = await read();
    assert.equal(one.policyVersion, 1);
    assert.deepEqual(one.policyIds.at(-1), 'env/prod/no-restarts');
  });

  it('names a current version that is not stored', async () => {
    const { deps, settings } = memoryDeps();
    settings.set('acme', { ...defaultSettings('acme'), policyVersion: 7, version: 1 });
    const current = await currentPolicies('acme', { store: deps.store, policies: { layers: async () => undefined }, schema });
    assert.match(current.issues?.[0]?.message ?? '', /v7 is not stored/);
  });
});

const operator = { kind: 'user' as const, id: 'alice', tenant: 'acme', roles: ['operator'] };

function request(action: string, environment: ActuationRequestInput['environment'] = 'dev'): ActuationRequestInput {
  return {
    principal: operator,
    tenant: 'acme',
    engine: action === 'terminate' ? 'closure' : 'reflex',
    action,
    target: 'endpoint/chat',
    environment,
    tags: [],
    operation: action === 'terminate' ? 'termination' : 'repair',
    riskScore: 0.2,
    riskLevel: 'low',
    autonomyLevel: 2,
    reversible: action !== 'terminate',
    blastRadius: 0,
  };
}

/** A ledger holding the tenant's governance events as the audit appender records them. */
async function ledgerWith(events: BusEvent[]) {
  const deps = { ledger: new MemoryLedgerStore(), payloads: new MemoryPayloadStore(), registry: new MemoryStreamRegistry() };
  for (const [index, event] of events.entries()) {
    validateEvents([event]);
    const { input } = busEventRecord(
      { id: `e${index}`, source: event.source, 'detail-type': event.detailType, time: '2025-01-01T00:00:00Z', detail: event.detail },
      new Date('2025-01-01T00:00:00Z'),
    );
    await record(deps, input);
  }
  return deps;
}

const allow: PolicyDecision = { decision: 'allow', policies: ['base/operators-actuate'], errors: [], version: 0, breakGlass: false };

function evaluated(
  proposalId: string,
  action: string,
  options: { status?: 'approved' | 'refused'; reasons?: string[]; policy?: PolicyDecision } = {},
): BusEvent {
  const policyRequest = request(action);
  return busEvent('governance.proposal.evaluated', {
    tenant: 'acme',
    proposalId,
    engine: policyRequest.engine,
    action,
    target: policyRequest.target,
    environment: policyRequest.environment,
    actor: 'alice',
    status: options.status ?? 'approved',
    route: 'autonomous',
    assessment: {
      score: 0.2,
      level: 'low',
      route: 'autonomous',
      autonomyLevel: 2,
      operation: 'repair',
      boundary: 'risk',
      reason: 'low risk',
      factors: [],
    },
    policy: options.policy ?? allow,
    constitutionHash: '',
    policyRequest: policyRequest as unknown as Record<string, unknown>,
    reasons: options.reasons ?? ['low risk'],
    evaluatedAt: '2025-01-01T00:00:00Z',
  });
}

const settled = (proposalId: string) =>
  busEvent('governance.proposal.settled', {
    tenant: 'acme',
    proposalId,
    status: 'executed',
    actor: 'engine:reflex',
    reasons: ['done'],
    settledAt: '2025-01-01T00:00:00Z',
  });

describe('recordedDecisions', () => {
  it('reads the newest evaluated proposals back from the ledger, newest first, past other events and page bounds', async () => {
    const events: BusEvent[] = [];
    for (let index = 0; index < 300; index += 1) events.push(evaluated(`p${index}`, 'restart'), settled(`p${index}`));
    const deps = await ledgerWith(events);
    const found = await recordedDecisions('acme', 140, deps);
    assert.equal(found.decisions.length, 140);
    assert.equal(found.decisions[0]?.id, 'p299');
    assert.equal(found.decisions[139]?.id, 'p160');
    assert.equal(found.scanned, 500, 'two pages of 250 entries');
    assert.equal(found.truncated, false);
    const all = await recordedDecisions('acme', 1000, deps);
    assert.equal(all.decisions.length, 300);
    assert.equal(all.decisions.at(-1)?.id, 'p0');
    assert.equal(all.scanned, 600);
  });

  it('skips a proposal refused before policy was asked, and stops when time runs short', async () => {
    const deps = await ledgerWith([
      evaluated('decided', 'restart'),
      evaluated('locked', 'restart', {
        status: 'refused',
        reasons: ['The kill switch of tenant acme is on (root: incident)'],
        policy: { ...allow, decision: 'deny', policies: [] },
      }),
      evaluated('forbidden', 'restart', {
        status: 'refused',
        reasons: ['Cedar: forbidden by team/x'],
        policy: { ...allow, decision: 'deny', policies: ['team/x'] },
      }),
    ]);
    const found = await recordedDecisions('acme', 10, deps);
    assert.deepEqual(
      found.decisions.map((decision) => decision.id),
      ['forbidden', 'decided'],
    );
    assert.deepEqual(
      found.skipped.map((entry) => entry.id),
      ['locked'],
    );
    assert.match(found.skipped[0]?.reason ?? '', /refused before policy was asked: The kill switch/);
    const late = await recordedDecisions('acme', 10, { ...deps, remainingMs: () => 1000 });
    assert.deepEqual([late.decisions.length, late.truncated], [0, true]);
    assert.deepEqual(await recordedDecisions('other', 10, deps), { decisions: [], skipped: [], scanned: 0, truncated: false });
  });
});

describe('simulatePolicies', () => {
  it('lists the recorded decisions a candidate would change, and only those', async () => {
    const deps = await ledgerWith([
      evaluated('restart-1', 'restart'),
      evaluated('terminate-1', 'terminate', { policy: { ...allow, policies: ['base/operators-actuate'] } }),
      settled('restart-1'),
      evaluated('restart-2', 'restart'),
    ]);
    const result = await simulatePolicies('acme', { team: FORBID_RESTARTS }, 100, { ...deps, engine });
    assert.equal(result.evaluated, 3);
    assert.deepEqual(result.changed, [
      {
        proposalId: 'restart-2',
        before: 'allow',
        after: 'deny',
        policiesBefore: ['base/operators-actuate'],
        policiesAfter: ['team/no-restarts'],
      },
      {
        proposalId: 'restart-1',
        before: 'allow',
        after: 'deny',
        policiesBefore: ['base/operators-actuate'],
        policiesAfter: ['team/no-restarts'],
      },
    ]);
    assert.deepEqual(result.skipped, []);
    const unchanged = await simulatePolicies('acme', {}, 100, { ...deps, engine });
    assert.deepEqual(unchanged.changed, []);
  });

  it('refuses an invalid candidate with a 400 quoting Cedar before reading the ledger', async () => {
    let reads = 0;
    const ledger = {
      latest: async () => {
        reads += 1;
        return undefined;
      },
      read: async () => [],
    };
    const candidate: PolicyLayers = { team: 'forbid (principal, action, resource' };
    await assert.rejects(
      simulatePolicies('acme', candidate, 10, { ledger, payloads: new MemoryPayloadStore(), engine }),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'body.parameters.policies.team',
    );
    assert.equal(reads, 0);
  });
});

describe('the ledger stream', () => {
  it('is the one the audit appender records governance events in', async () => {
    const { input } = busEventRecord(
      {
        id: 'x',
        source: 'autonomy.governance',
        'detail-type': 'governance.policy.published',
        time: '2025-01-01T00:00:00Z',
        detail: { tenant: 'acme' },
      },
      new Date(),
    );
    assert.equal(input.stream, GOVERNANCE_EVENTS_STREAM);
  });
});

describe('installed capsules as policy layers', () => {
  const CAPSULE_GUARD =
    '@id("no-config")\nforbid (principal == Autonomy::Capsule::"incident-summary", action == Autonomy::Action::"PUT /observation/config", resource);\n';
  const route = (kind: 'capsule' | 'user', id: string) => ({
    principal: { kind, id, tenant: 'acme', roles: ['operator'] },
    tenant: 'acme',
    method: 'PUT' as const,
    path: '/observation/config',
  });

  it("names a capsule's policies capsule/<name>/<id> and lets them narrow that capsule only", async () => {
    const { deps } = memoryDeps();
    const layers: PolicyLayers = { team: FORBID_RESTARTS, capsules: { 'incident-summary': CAPSULE_GUARD } };
    const outcome = await publishPolicies('acme', layers, { actor: 'root', breakGlass: false }, deps);
    assert.deepEqual(outcome.policyIds.slice(-2), ['team/no-restarts', 'capsule/incident-summary/no-config']);
    const capsule = engine.evaluateRoute(layers, 1, route('capsule', 'incident-summary'));
    assert.deepEqual([capsule.decision, capsule.policies], ['deny', ['capsule/incident-summary/no-config']]);
    assert.equal(engine.evaluateRoute(layers, 1, route('capsule', 'other-capsule')).decision, 'allow');
    assert.equal(engine.evaluateRoute(layers, 1, route('user', 'alice')).decision, 'allow');
  });

  it("reports a capsule layer's Cedar errors under body.parameters.policies.capsule/<name>", async () => {
    const { deps, versions } = memoryDeps();
    const error = await publishPolicies(
      'acme',
      { capsules: { 'incident-summary': 'forbid (principal, action == Autonomy::Action::"PUT /nowhere", resource);' } },
      { actor: 'root', breakGlass: false },
      deps,
    ).then(
      () => assert.fail('published'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ValidationError);
    assert.equal(error.issues[0]?.path, 'body.parameters.policies.capsule/incident-summary');
    assert.equal(versions.size, 0);
  });

  it('refuses a publish based on a version that is no longer current, storing nothing', async () => {
    const { deps, versions, settings } = memoryDeps();
    await publishPolicies('acme', { team: '' }, { actor: 'root', breakGlass: false }, deps);
    const stale = await publishPolicies(
      'acme',
      { capsules: { a: '' } },
      { actor: 'system:capsules', breakGlass: false, basedOn: 0 },
      deps,
    ).then(
      () => assert.fail('published'),
      (caught: unknown) => caught,
    );
    assert.ok(stale instanceof ConflictError);
    assert.match(stale.message, /v1 of acme was published meanwhile \(this change was made on v0\)/);
    assert.deepEqual([versions.size, settings.get('acme')?.policyVersion], [1, 1]);
    const current = await publishPolicies(
      'acme',
      { capsules: { a: '' } },
      { actor: 'system:capsules', breakGlass: false, basedOn: 1 },
      deps,
    );
    assert.equal(current.policyVersion, 2);
  });
});
