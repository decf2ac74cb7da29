/**
 * The Reflex engine on the local cloud: a component registry (validation, cycles), then an
 * `observation.incident.opened` event on the bus → the incident in GET /reflex/incidents with its
 * diagnosis and a governance proposal that exists, whose blast radius counts the registry's
 * dependents; an outcome reported → a case learned and the next playbook proposed; each step in
 * the tenant's ledger. An `observation.incident.closed` that comes before its opened event is kept
 * in the state table and the incident is made closed when it opens.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { dynamoClient } from '../../lib/adapters/aws/clients.ts';
import { dynamoIncidentStore } from '../../lib/adapters/aws/reflex-store.ts';
import type { Role } from '../../lib/auth/roles.ts';
import { incidentIdOf } from '../../lib/reflex/schemas.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, testCloud } from '../helpers/local-cloud.ts';

const events = new EventBridgeClient({});
const busName = Object.values(testCloud().resources.buses)[0]?.split('/').pop() ?? '';

const as = (tenant: string, roles: Role[], method: string, path: string, body?: unknown) =>
  api(method, path, { tenant, roles, ...(body === undefined ? {} : { body: { parameters: body } }) });

const lambdaArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

/** db.orders ← api.checkout ← web.shop, all in dev. */
const registry = [
  {
    id: 'db.orders',
    kind: 'database',
    environment: 'dev',
    series: ['db.orders.latency'],
    bindings: {
      'fail-over': { kind: 'webhook', resource: 'http://127.0.0.1:9/db/fail-over', parameters: { region: 'eu-west-1' } },
      throttle: { kind: 'lambda-concurrency', resource: lambdaArn('orders-writer'), parameters: { concurrency: 5 } },
    },
  },
  {
    id: 'api.checkout',
    kind: 'lambda',
    environment: 'dev',
    dependsOn: ['db.orders'],
    series: ['api.checkout.errors'],
    bindings: { restart: { kind: 'lambda-concurrency', resource: lambdaArn('checkout') } },
  },
  { id: 'web.shop', kind: 'service', environment: 'dev', dependsOn: ['api.checkout'], series: ['web.shop.latency'] },
];

/** Puts an `observation.incident.opened` on the bus, its detail as the catalog describes it; returns Reflex's id of it. */
async function incidentOpened(tenant: string, series: string, start: Date): Promise<string> {
  const at = start.toISOString();
  const detail = {
    version: '1',
    tenant,
    series,
    detector: 'robust',
    start: at,
    peak: { timestamp: at, value: 250, score: 9 },
    likelihood: { likelihood: 0.99999, logLikelihood: 0.5, shortMean: 0.6, longMean: 0.1, longSd: 0.05 },
    scores: { points: 1, mean: 9, max: 9 },
    evidence: {
      detector: 'robust',
      config: { windowSize: 64, threshold: 4 },
      n: 64,
      expected: 100,
      median: 100,
      mad: 3,
      scale: 4.4478,
      scaleSource: 'mad',
      deviation: 150,
      threshold: 4,
      lower: 82.2,
      upper: 117.8,
      warmingUp: false,
    },
  };
  const put = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: busName,
          Source: 'autonomy.observation',
          DetailType: 'observation.incident.opened',
          Detail: JSON.stringify(detail),
        },
      ],
    }),
  );
  assert.equal(put.FailedEntryCount ?? 0, 0);
  return incidentIdOf(series, at);
}

/** Puts an `observation.incident.closed` on the bus, its detail as the catalog describes it. */
async function incidentClosed(tenant: string, series: string, start: Date, end: Date): Promise<void> {
  const detail = {
    version: '1',
    tenant,
    series,
    detector: 'robust',
    start: start.toISOString(),
    end: end.toISOString(),
    durationMs: end.getTime() - start.getTime(),
    reason: 'recovered',
    peak: { timestamp: start.toISOString(), value: 250, score: 9 },
    likelihood: { likelihood: 1, logLikelihood: 1, maxLogLikelihood: 1 },
    scores: { points: 3, mean: 9, max: 9 },
  };
  const put = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: busName,
          Source: 'autonomy.observation',
          DetailType: 'observation.incident.closed',
          Detail: JSON.stringify(detail),
        },
      ],
    }),
  );
  assert.equal(put.FailedEntryCount ?? 0, 0);
}

const incident = (tenant: string, incidentId: string, atLeastAttempts = 1) =>
  eventually(
    `incident ${incidentId} with ${atLeastAttempts} attempt(s)`,
    async () => {
      const reply = await as(tenant, ['viewer'], 'GET', `/reflex/incidents?incidentId=${encodeURIComponent(incidentId)}`);
      const found = reply.status === 200 ? reply.body.result.incidents[0] : undefined;
      return found && found.attempts.length >= atLeastAttempts ? found : undefined;
    },
    30_000,
    250,
  );

describe('reflex on the local cloud', { timeout: 180_000 }, () => {
  it('validates the registry: unknown dependencies named (400), cycles reported, generations replaced whole', async () => {
    const tenant = freshTenant('reflex');
    const unknown = await as(tenant, ['operator'], 'PUT', '/reflex/components', {
      components: [{ id: 'api', kind: 'lambda', dependsOn: ['db'] }],
    });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /unknown component 'db'/);
    assert.ok(unknown.body.issues.some((issue: { path: string }) => issue.path === 'body.parameters.components.0.dependsOn.0'));
    const viewer = await as(tenant, ['viewer'], 'PUT', '/reflex/components', { components: [] });
    assert.equal(viewer.status, 403);

    const cyclic = await as(tenant, ['operator'], 'PUT', '/reflex/components', {
      components: [
        { id: 'a', kind: 'service', dependsOn: ['b'] },
        { id: 'b', kind: 'service', dependsOn: ['a'] },
      ],
    });
    assert.equal(cyclic.status, 200, JSON.stringify(cyclic.body));
    assert.deepEqual(cyclic.body.result, { generation: 1, count: 2, removed: [], cycles: [['a', 'b']] });

    const replaced = await as(tenant, ['admin'], 'PUT', '/reflex/components', { components: registry, ifGeneration: 1 });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.deepEqual(replaced.body.result, { generation: 2, count: 3, removed: ['a', 'b'], cycles: [] });
    const stale = await as(tenant, ['operator'], 'PUT', '/reflex/components', { components: registry, ifGeneration: 1 });
    assert.equal(stale.status, 409);

    const listed = await as(tenant, ['viewer'], 'GET', '/reflex/components');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.result.generation, 2);
    assert.deepEqual(
      listed.body.result.components.map((component: { id: string }) => component.id),
      ['db.orders', 'api.checkout', 'web.shop'],
    );
    assert.deepEqual(listed.body.result.components[0].bindings.throttle, registry[0]?.bindings?.throttle);
    const other = await as(freshTenant('reflex'), ['viewer'], 'GET', '/reflex/components');
    assert.deepEqual(other.body.result.components, [], "another tenant's registry is not visible");
  });

  it('turns an incident on the bus into a diagnosis and a governance proposal whose blast radius counts the dependents; an outcome teaches the case base', async () => {
    const tenant = freshTenant('reflex');
    // Reflex's own path: with the self-repair loop off, the rule target diagnoses and proposes and the outcome is reported here
    // (test/integration/self-repair.test.ts runs the loop).
    assert.equal((await as(tenant, ['operator'], 'PUT', '/reflex/config', { enabled: false })).status, 200);
    assert.equal((await as(tenant, ['operator'], 'PUT', '/reflex/components', { components: registry })).status, 200);
    const start = new Date(Date.now() - 5 * 60_000);
    const dbId = await incidentOpened(tenant, 'db.orders.latency', start);
    const db = await incident(tenant, dbId);
    assert.equal(db.component, 'db.orders');
    assert.equal(db.open, true);
    assert.equal(db.state, 'proposed');
    assert.equal(db.diagnosis.causes[0].component, 'db.orders');
    const [attempt] = db.attempts;
    assert.equal(attempt.target, 'db.orders');
    assert.ok(['fail-over', 'throttle'].includes(attempt.playbook), attempt.playbook);

    const proposal = (await as(tenant, ['viewer'], 'GET', `/governance/proposals?proposalId=${attempt.proposalId}`)).body.result
      .proposals[0];
    assert.ok(proposal, 'the proposal exists in governance');
    assert.equal(proposal.engine, 'reflex');
    assert.equal(proposal.action, attempt.playbook);
    assert.equal(proposal.target, 'db.orders');
    assert.equal(proposal.requestedBy, 'engine:reflex');
    assert.equal(proposal.evidence.incidentId, dbId);
    const blast = proposal.assessment.factors.find((factor: { name: string }) => factor.name === 'blast-radius');
    assert.equal(blast.value, 2, 'api.checkout and web.shop depend on db.orders');
    assert.equal(blast.contribution, 0.08);

    // A second incident downstream, a minute later: the diagnosis points upstream.
    const apiId = await incidentOpened(tenant, 'api.checkout.errors', new Date(start.getTime() + 60_000));
    const downstream = await incident(tenant, apiId);
    assert.deepEqual(
      downstream.diagnosis.causes.map((cause: { component: string }) => cause.component),
      ['db.orders', 'api.checkout'],
    );
    assert.equal(downstream.attempts[0].target, 'db.orders');
    const open = await as(tenant, ['viewer'], 'GET', '/reflex/incidents?status=open');
    assert.deepEqual(open.body.result.incidents.map((entry: { incidentId: string }) => entry.incidentId).sort(), [apiId, dbId].sort());

    // The playbook did not recover it: a case is learned and the other playbook proposed.
    const reported = await as(tenant, ['operator'], 'PUT', '/reflex/incidents', {
      incidentId: dbId,
      outcome: 'not-recovered',
      detail: 'latency still 4x',
    });
    assert.equal(reported.status, 200, JSON.stringify(reported.body));
    const second = reported.body.result.attempts[1];
    assert.equal(second.round, 2);
    assert.notEqual(second.playbook, attempt.playbook);
    assert.equal((await as(tenant, ['viewer'], 'GET', `/governance/proposals?proposalId=${second.proposalId}`)).status, 200);
    const cases = await as(tenant, ['viewer'], 'GET', `/reflex/cases?cluster=${encodeURIComponent(db.match.cluster)}`);
    assert.equal(cases.status, 200);
    assert.deepEqual(
      cases.body.result.cases.map((entry: { playbook: string; outcome: string }) => [entry.playbook, entry.outcome]),
      [[attempt.playbook, 'not-recovered']],
    );
    assert.deepEqual(cases.body.result.cluster.playbooks, [{ playbook: attempt.playbook, successes: 0, failures: 1, mean: 0.3333 }]);

    // Every step in the tenant's ledger.
    const recorded = await eventually(
      'the reflex events in the ledger',
      async () => {
        const found = await ledgerEvents(tenant, 'reflex');
        return found.filter((event) => event.detailType === 'reflex.playbook.chosen').length >= 3 ? found : undefined;
      },
      20_000,
      250,
    );
    assert.deepEqual(
      recorded
        .filter((event) => event.detailType === 'reflex.incident.diagnosed')
        .map((event) => event.detail.incidentId)
        .sort(),
      [apiId, dbId].sort(),
    );
    const chosen = recorded.filter((event) => event.detailType === 'reflex.playbook.chosen').map((event) => event.detail.proposalId);
    assert.ok(chosen.includes(attempt.proposalId) && chosen.includes(second.proposalId));
  });

  it('keeps a close that comes before its incident opens (TTL marker in the state table) and makes the incident closed, with nothing proposed', async () => {
    const tenant = freshTenant('reflex');
    assert.equal((await as(tenant, ['operator'], 'PUT', '/reflex/config', { enabled: false })).status, 200);
    assert.equal((await as(tenant, ['operator'], 'PUT', '/reflex/components', { components: registry })).status, 200);
    const start = new Date(Date.now() - 5 * 60_000);
    const end = new Date(start.getTime() + 2 * 60_000);
    const incidentId = incidentIdOf('db.orders.latency', start.toISOString());
    const store = dynamoIncidentStore(dynamoClient(), testCloud().resources.tables.StateTable ?? '');

    await incidentClosed(tenant, 'db.orders.latency', start, end);
    const marker = await eventually('the kept close', () => store.closedMarker(tenant, incidentId), 30_000, 250);
    assert.equal(marker.closedAt, end.toISOString());
    assert.ok(marker.expiresAt > Date.now() / 1000, 'the marker expires later (TTL)');
    // A repeated close keeps the first marker (conditional write).
    await store.putClosedMarker({ ...marker, closedAt: start.toISOString() });
    assert.deepEqual(await store.closedMarker(tenant, incidentId), marker);

    await incidentOpened(tenant, 'db.orders.latency', start);
    const closed = await incident(tenant, incidentId, 0);
    assert.deepEqual([closed.open, closed.state, closed.closedAt, closed.attempts], [false, 'closed', end.toISOString(), []]);
    const open = await as(tenant, ['viewer'], 'GET', '/reflex/incidents?status=open');
    assert.deepEqual(open.body.result.incidents, []);
  });
});
