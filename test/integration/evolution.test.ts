/**
 * The Evolution engine on the local cloud: a service's arms declared (an arm outside the tune bounds
 * refused, naming it, with nothing written), observations from two arms (two posts at once, no count
 * lost; an undeclared arm refused with nothing added), a decision → an autonomous `evolution:tune`
 * proposal that governance holds and the decision with its posterior summaries in the tenant's
 * ledger; the status shows the posteriors, the split and the regret; a configuration outside the
 * declared set goes to people.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Role } from '../../lib/auth/roles.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant } from '../helpers/local-cloud.ts';

const as = (tenant: string, roles: Role[], method: string, path: string, body?: unknown) =>
  api(method, path, { tenant, roles, ...(body === undefined ? {} : { body: { parameters: body } }) });

const service = 'svc/chat';
const config = {
  service,
  arms: [
    { id: 'slow', parameters: { batchSize: 8, model: 'large' } },
    { id: 'fast', parameters: { batchSize: 16, model: 'large' } },
  ],
  current: 'slow',
  weights: { success: 1, latency: 1, cost: 0 },
  scales: { latencyMs: 1000 },
  minObservations: 10,
};

const outcomes = (arm: string, n: number, p: number, latencyMs: number) =>
  Array.from({ length: n }, (_, i) => ({ arm, success: i / n < p, latencyMs: latencyMs + (i % 5) * 20 }));

describe('evolution on the local cloud', { timeout: 120_000 }, () => {
  it('declares arms, takes observations from two arms, decides with a tune proposal recorded in the ledger, and shows the posteriors', async () => {
    const tenant = freshTenant('evo');

    // Refused: an arm outside the tune bounds; nothing written.
    const bad = await as(tenant, ['operator'], 'PUT', '/evolution/config', {
      ...config,
      arms: [{ id: 'huge', parameters: { batchSize: 4096 } }],
      current: 'huge',
    });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(JSON.stringify(bad.body), /arms\.0\.parameters\.batchSize/);
    assert.equal((await as(tenant, ['viewer'], 'GET', `/evolution/config?service=${service}`)).status, 404);

    const put = await as(tenant, ['operator'], 'PUT', '/evolution/config', config);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.result.version, 1);

    // Two posts at once: both counted.
    const batch = [...outcomes('slow', 20, 0.6, 700), ...outcomes('fast', 20, 0.95, 120)];
    const posts = await Promise.all(
      [1, 2].map(() => as(tenant, ['operator'], 'POST', '/evolution/observations', { service, observations: batch })),
    );
    for (const post of posts) assert.equal(post.status, 200, JSON.stringify(post.body));
    // Refused: an undeclared arm among declared ones; nothing added.
    const undeclared = await as(tenant, ['operator'], 'POST', '/evolution/observations', {
      service,
      observations: [...outcomes('fast', 3, 1, 100), { arm: 'nope', success: true }],
    });
    assert.equal(undeclared.status, 400);
    assert.match(JSON.stringify(undeclared.body), /observations\.3\.arm/);

    const asked = performance.now();
    const decided = await as(tenant, ['operator'], 'POST', '/evolution/decide', { service });
    console.log(
      `decide: ${decided.body.result?.decisionMs} ms sampling, ${Math.round(performance.now() - asked)} ms through the API (propose and ledger included) against the 5 s target`,
    );
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    const decision = decided.body.result;
    assert.equal(decision.primary, 'fast');
    assert.equal(decision.change, 'tune');
    assert.equal(decision.route, 'autonomous');
    assert.equal(decision.proposalStatus, 'approved');
    assert.ok(decision.decisionMs < 5000, `decision took ${decision.decisionMs} ms`);
    const proposal = (await as(tenant, ['viewer'], 'GET', `/governance/proposals?proposalId=${decision.proposalId}`)).body.result
      .proposals[0];
    assert.equal(proposal.engine, 'evolution');
    assert.equal(proposal.action, 'tune');
    assert.equal(proposal.requestedBy, 'engine:evolution');
    assert.equal(proposal.parameters.arm, 'fast');
    assert.equal(proposal.parameters.batchSize, 16);

    const recorded = await eventually(
      'the decision in the ledger',
      async () => (await ledgerEvents(tenant, 'evolution')).find((event) => event.detailType === 'evolution.decision.made'),
      20_000,
      250,
    );
    assert.equal(recorded.detail.decisionId, decision.decisionId);
    const fast = (recorded.detail.arms as Array<{ arm: string; success: { n: number; mean: number } }>).find((arm) => arm.arm === 'fast');
    assert.equal(fast?.success.n, 40);

    const status = (await as(tenant, ['viewer'], 'GET', `/evolution/status?service=${service}`)).body.result;
    assert.deepEqual(status.split, decision.split);
    const byArm = Object.fromEntries(status.arms.map((arm: { arm: string }) => [arm.arm, arm]));
    assert.equal(byArm.slow.success.n, 40, 'two posts of 20, the refused one added nothing');
    assert.equal(byArm.fast.latencyMs.n, 40);
    assert.ok(byArm.fast.success.mean > byArm.slow.success.mean);
    assert.ok(byArm.fast.latencyMs.lower < byArm.fast.latencyMs.mean && byArm.fast.latencyMs.mean < byArm.fast.latencyMs.upper);
    assert.ok(status.regret.split >= 0);
    assert.equal(status.latestDecision.decisionId, decision.decisionId);

    // Outside the declared set: a structural change, for people.
    const restructure = await as(tenant, ['operator'], 'POST', '/evolution/decide', {
      service,
      candidate: { id: 'new-model', parameters: { model: 'other' }, components: ['endpoint/other'] },
    });
    assert.equal(restructure.status, 200, JSON.stringify(restructure.body));
    assert.equal(restructure.body.result.change, 'restructure');
    assert.equal(restructure.body.result.route, 'human-approval');
    assert.equal(restructure.body.result.split['new-model'], undefined);
  });
});
