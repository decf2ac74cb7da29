/**
 * The Encapsulation engine on the local cloud: components registered in the Reflex registry and call
 * traces recorded through POST /audit/record (one correlation id per trace) → POST /encapsulation/analyse
 * finds the declared cycle, the two modules and the orders module's interface from the recorded
 * payloads; POST /encapsulation/interfaces files an `encapsulation:expose-interface` proposal, waits
 * for the gate's L3 validation and only then tags the interface as a version (GET /versioning/versions
 * shows it, with the proposal in its note); a bad request writes nothing (400 naming the field); the
 * engine's ledger stream verifies.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Role } from '../../lib/auth/roles.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, tokenFor } from '../helpers/local-cloud.ts';

async function as(tenant: string, roles: Role[], method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const token = await tokenFor({ tenant, subject: 'ops', roles });
  return api(method, path, {
    auth: 'none',
    headers: { authorization: `Bearer ${token}`, ...headers },
    ...(body === undefined ? {} : { body: { parameters: body } }),
  });
}

/** Two groups of three, (web, auth, ui) and (orders, stock, price), the second a declared cycle; web calls orders. */
const registry = [
  { id: 'web', kind: 'service', environment: 'staging', dependsOn: ['auth', 'orders'] },
  { id: 'auth', kind: 'service', environment: 'staging', dependsOn: ['ui'] },
  { id: 'ui', kind: 'service', environment: 'staging', dependsOn: [] },
  { id: 'orders', kind: 'service', environment: 'staging', dependsOn: ['stock'] },
  { id: 'stock', kind: 'service', environment: 'staging', dependsOn: ['price'] },
  { id: 'price', kind: 'service', environment: 'staging', dependsOn: ['orders'] },
];

/**
 * One trace under one correlation id: web calls auth and ui, auth calls ui; web calls orders (create,
 * with its request), orders calls stock and price, stock calls price: two triangles joined by web → orders.
 */
const trace = (n: number) => [
  { component: 'web', operation: 'checkout' },
  { component: 'auth', operation: 'verify', caller: 'web' },
  { component: 'ui', operation: 'render', caller: 'auth' },
  { component: 'ui', operation: 'layout', caller: 'web' },
  { component: 'orders', operation: 'create', caller: 'web', request: { sku: `sku-${n}`, qty: n, express: n % 2 === 0 } },
  { component: 'stock', operation: 'reserve', caller: 'orders' },
  { component: 'price', operation: 'quote', caller: 'stock' },
  { component: 'price', operation: 'total', caller: 'orders' },
];

describe('Encapsulation engine', () => {
  const tenant = freshTenant('enc');
  // biome-ignore lint/suspicious/noExplicitAny: the analysis as the route replied it
  let analysis: any;

  before(async () => {
    const put = await as(tenant, ['operator'], 'PUT', '/reflex/components', { components: registry });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    for (const n of [1, 2, 3]) {
      for (const payload of trace(n)) {
        const recorded = await as(
          tenant,
          ['operator'],
          'POST',
          '/audit/record',
          { stream: 'traces', payload },
          { 'x-correlation-id': `trace-${n}` },
        );
        assert.equal(recorded.status, 201, JSON.stringify(recorded.body));
      }
    }
  });

  it('analyses the registry and the recorded traces: the cycle, two modules, the orders interface from the payloads', async () => {
    const reply = await as(tenant, ['operator'], 'POST', '/encapsulation/analyse', {});
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    analysis = reply.body.result;
    assert.equal(analysis.source, 'registry');
    assert.equal(analysis.traces, 3);
    assert.equal(analysis.traceEntries, 24);
    assert.deepEqual(
      analysis.cycles.map((c: string[]) => [...c].sort()),
      [['orders', 'price', 'stock']],
    );
    const members = analysis.modules.map((m: { members: string[] }) => [...m.members].sort()).sort();
    assert.deepEqual(members, [
      ['auth', 'ui', 'web'],
      ['orders', 'price', 'stock'],
    ]);
    const orders = analysis.modules.find((m: { members: string[] }) => m.members.includes('orders'));
    const create = orders.interfaceSchema.properties['orders create'];
    assert.deepEqual(Object.keys(create.properties).sort(), ['express', 'qty', 'sku']);
    assert.deepEqual([...create.required].sort(), ['express', 'qty', 'sku']);
    const status = await as(tenant, ['viewer'], 'GET', '/encapsulation/status');
    assert.equal(status.body.result.analysisId, analysis.analysisId);
  });

  it('refuses a bad request with a 400 naming the field and writes nothing', async () => {
    const bad = await as(tenant, ['operator'], 'POST', '/encapsulation/interfaces', { module: 'x'.repeat(201) });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(JSON.stringify(bad.body), /body\.parameters\.module/);
    const badGraph = await as(tenant, ['operator'], 'POST', '/encapsulation/analyse', { limit: 0 });
    assert.equal(badGraph.status, 400);
    assert.match(JSON.stringify(badGraph.body), /body\.parameters\.limit/);
    assert.equal((await as(tenant, ['viewer'], 'GET', '/encapsulation/status')).body.result.analysisId, analysis.analysisId);
    assert.equal((await as(tenant, ['viewer'], 'GET', '/versioning/versions?artifact=interfaces/orders')).status, 404);
  });

  it('exposes the orders interface after L3 validation: proposal approved, then the version tagged in Versioning', async () => {
    const orders = analysis.modules.find((m: { members: string[] }) => m.members.includes('orders'));
    const expose = () => as(tenant, ['operator'], 'POST', '/encapsulation/interfaces', { module: orders.id, environment: 'staging' });
    let reply = await expose();
    assert.ok([201, 202].includes(reply.status), JSON.stringify(reply.body));
    const { proposalId } = reply.body.result.proposal;
    assert.equal(reply.body.result.proposal.route, 'l3-validation');
    // Left pending (a slow gate): the same call finishes it, with the same proposal.
    if (reply.status === 202) {
      assert.equal(reply.body.result.version, undefined);
      reply = await eventually(
        'the exposure settles',
        async () => {
          const again = await expose();
          return again.status === 202 ? undefined : again;
        },
        60_000,
        2_000,
      );
    }
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    const exposure = reply.body.result;
    assert.equal(exposure.status, 'exposed');
    assert.equal(exposure.proposal.proposalId, proposalId);
    assert.equal(exposure.proposal.status, 'approved');
    assert.equal(exposure.version, '1.0.0');
    assert.equal(exposure.openapi.info.version, '1.0.0');
    const proposal = await as(tenant, ['viewer'], 'GET', `/governance/proposals?proposalId=${proposalId}`);
    assert.equal(proposal.body.result.proposals[0]?.status, 'approved', JSON.stringify(proposal.body));

    const versions = await as(tenant, ['viewer'], 'GET', `/versioning/versions?artifact=${exposure.artifact}`);
    assert.equal(versions.status, 200, JSON.stringify(versions.body));
    const tagged = versions.body.result.versions;
    assert.equal(tagged.length, 1);
    assert.equal(tagged[0].version, '1.0.0');
    assert.equal(tagged[0].hash, exposure.hash);
    assert.match(tagged[0].note, new RegExp(proposalId));

    const again = await expose();
    assert.equal(again.status, 409, 'the same interface is not tagged twice');

    const events = await eventually('the exposure in the ledger', async () => {
      const recorded = await ledgerEvents(tenant, 'encapsulation');
      return recorded.some((e) => e.detailType === 'encapsulation.interface.exposed') ? recorded : undefined;
    });
    assert.deepEqual(
      events.map((e) => e.detailType),
      ['encapsulation.analysis.completed', 'encapsulation.interface.exposed'],
    );
    const verify = await as(tenant, ['viewer'], 'GET', '/audit/verify?stream=events.encapsulation');
    assert.equal(verify.status, 200, JSON.stringify(verify.body));
    assert.equal(verify.body.result.intact, true);
  });
});
