/**
 * KAMACHIQ plans on the local cloud: a published capsule installed by a tenant, then a two-step plan
 * (b fed a's summary) run by the capsule-plan state machine to its summary, every step in a
 * verifying ledger (its capsules:plan proposal passing governance's gate at the tenant's autonomy
 * level first); a plan with a cycle refused, writing nothing; a kill switch stopping a plan before
 * its first layer; a node flagged for review holding the plan at the review gate until people approve.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalHash } from '../../lib/audit/digest.ts';
import { as, FILES, manifestFor, publishAndInstall } from '../helpers/capsules-local.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { eventually, freshTenant } from '../helpers/local-cloud.ts';

interface NodeView {
  id: string;
  state: string;
  runId: string | null;
  summary: string | null;
  reason: string | null;
  usage: { tokens: number; costUsd: number };
}

const submit = (tenant: string, plan: unknown) => as(tenant, 'ops', ['operator'], 'POST', '/capsules/plans', { parameters: plan });

/** The plan once it has ended. */
async function ended(tenant: string, planId: string) {
  return eventually(
    `plan ${planId} to end`,
    async () => {
      const reply = await as(tenant, 'ops', ['viewer'], 'GET', `/capsules/plans?planId=${planId}`);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const [plan] = reply.body.result.plans;
      return plan.endedAt ? (plan as { status: string; reason: string; nodes: NodeView[]; usage: { tokens: number } }) : undefined;
    },
    90_000,
    300,
  );
}

describe('KAMACHIQ plans on the local cloud', { timeout: 400_000 }, () => {
  const owner = freshTenant('plan-a');
  const installer = freshTenant('plan-b');
  const name = `incident-summary-${randomUUID().slice(0, 8)}`;

  it('runs a two-step plan (b fed the summary of a) to its summary, every step in a verifying ledger', async () => {
    await publishAndInstall(owner, installer, manifestFor(name, 'run'), FILES);
    const started = await submit(installer, {
      goal: 'Summarise incident inc-1, then summarise the summary',
      budget: { tokens: 40_000, costUsd: 1 },
      nodes: [
        { id: 'a', capsule: name, input: { incident_id: 'inc-1', audience: 'on-call' } },
        {
          id: 'b',
          capsule: name,
          input: { incident_id: 'from a: {{nodes.a.summary}}' },
          dependsOn: ['a'],
          budget: { tokens: 10_000, costUsd: 0.2 },
        },
      ],
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const { planId, layers } = started.body.result;
    assert.deepEqual(layers, [['a'], ['b']]);

    const plan = await ended(installer, planId);
    assert.equal(
      plan.status,
      'completed',
      `${plan.reason}: ${JSON.stringify(plan.nodes.map((node) => [node.id, node.state, node.reason]))}`,
    );
    const [a, b] = plan.nodes;
    assert.ok(a && b);
    assert.deepEqual([a.state, b.state], ['completed', 'completed'], JSON.stringify(plan.nodes));
    assert.ok(a.summary && a.summary.length > 0);
    assert.equal(plan.usage.tokens, a.usage.tokens + b.usage.tokens);
    // b ran on its own budget, with a's summary in its input.
    const run = (await as(installer, 'ops', ['viewer'], 'GET', `/capsules/runs?runId=${b.runId}`)).body.result.runs[0];
    assert.deepEqual(run.budget, { tokens: 10_000, costUsd: 0.2 });
    assert.equal(run.inputSha256, canonicalHash({ incident_id: `from a: ${a.summary}` }));

    const events = await eventually('the plan events in the ledger', async () => {
      const found = (await ledgerEvents(installer, 'capsules')).filter((event) => (event.detail as { planId?: string }).planId === planId);
      return found.length >= 5 ? found : undefined;
    });
    assert.deepEqual(
      events.map((event) => event.detailType),
      [
        'capsules.plan.started',
        'capsules.plan.reviewed',
        'capsules.plan-node.ended',
        'capsules.plan-node.ended',
        'capsules.plan.completed',
      ],
    );
    // At the default autonomy level (2) a plan in prod is medium risk: L3 validation, no people.
    const gate = events[1]?.detail as { route?: string; decision?: string } | undefined;
    assert.deepEqual([gate?.route, gate?.decision], ['l3-validation', 'approved']);
    const verified = await as(installer, 'auditor', ['viewer'], 'GET', '/audit/verify?stream=events.capsules');
    assert.equal(verified.body.result.intact, true, JSON.stringify(verified.body.result));
  });

  it('refuses a plan with a cycle, naming it, and writes nothing', async () => {
    const before = (await as(installer, 'ops', ['viewer'], 'GET', '/capsules/plans')).body.result.plans.length;
    const refused = await submit(installer, {
      goal: 'loop',
      budget: { tokens: 40_000, costUsd: 1 },
      nodes: [
        { id: 'a', capsule: name, input: { incident_id: 'x' }, dependsOn: ['b'] },
        { id: 'b', capsule: name, input: { incident_id: 'y' }, dependsOn: ['a'] },
      ],
    });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /nodes\.0\.dependsOn/);
    assert.match(JSON.stringify(refused.body), /cycle: a → b → a/);
    const after = (await as(installer, 'ops', ['viewer'], 'GET', '/capsules/plans')).body.result.plans.length;
    assert.equal(after, before);
  });

  it('stops a plan before its first layer while the kill switch is on', async () => {
    const halted = freshTenant('plan-c');
    const installed = await as(halted, 'ops', ['admin'], 'POST', '/capsules/installs', { parameters: { name, version: '1.0.0' } });
    assert.equal(installed.status, 200, JSON.stringify(installed.body));
    const switched = await as(halted, 'root', ['admin'], 'PUT', '/governance/killswitch', {
      parameters: { enabled: true, reason: 'incident review' },
    });
    assert.equal(switched.status, 200, JSON.stringify(switched.body));
    const started = await submit(halted, {
      goal: 'Summarise incident inc-2',
      budget: { tokens: 40_000, costUsd: 1 },
      nodes: [{ id: 'a', capsule: name, input: { incident_id: 'inc-2' } }],
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const plan = await ended(halted, started.body.result.planId);
    assert.equal(plan.status, 'halted', plan.reason);
    assert.match(plan.reason, /kill switch/);
    assert.equal(plan.nodes[0]?.state, 'skipped');
    assert.equal(plan.nodes[0]?.runId, null);
    assert.deepEqual((await as(halted, 'ops', ['viewer'], 'GET', '/capsules/runs')).body.result.runs, []);
  });

  it('holds a plan with a node flagged for review at the gate until people approve, then runs it to its summary', async () => {
    const started = await submit(installer, {
      goal: 'Summarise incident inc-3 once someone has looked',
      budget: { tokens: 40_000, costUsd: 1 },
      nodes: [{ id: 'a', capsule: name, input: { incident_id: 'inc-3' }, review: true }],
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const { planId } = started.body.result;
    const approval = await eventually(
      'the review approval to open',
      async () =>
        (await as(installer, 'viewer', ['viewer'], 'GET', '/governance/approvals')).body.result.approvals.find(
          (entry: { proposalId?: string; approvalId: string }) => entry.approvalId === `approval-${planId}-review-0`,
        ),
      20_000,
      200,
    );
    const waiting = (await as(installer, 'ops', ['viewer'], 'GET', `/capsules/plans?planId=${planId}`)).body.result.plans[0];
    assert.equal(waiting.status, 'reviewing');
    assert.equal(waiting.nodes[0].state, 'pending');
    for (let index = 0; index < approval.required; index += 1) {
      const vote = await as(installer, `reviewer-${index}`, ['approver'], 'POST', '/governance/approvals', {
        parameters: { approvalId: approval.approvalId, decision: 'approve', reason: 'the plan reads only' },
      });
      assert.equal(vote.status, 200, JSON.stringify(vote.body));
    }
    const plan = await ended(installer, planId);
    assert.equal(plan.status, 'completed', plan.reason);
    assert.equal(plan.nodes[0]?.state, 'completed');
    const reviewed = await eventually('the gate decision in the ledger', async () =>
      (await ledgerEvents(installer, 'capsules')).find(
        (event) => event.detailType === 'capsules.plan.reviewed' && (event.detail as { planId?: string }).planId === planId,
      ),
    );
    assert.deepEqual(
      [(reviewed.detail as { route?: string }).route, (reviewed.detail as { decision?: string }).decision],
      ['human-approval', 'approved'],
    );
  });
});
