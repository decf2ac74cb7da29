import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildPlan,
  CascadeCycleError,
  keyBelongsTo,
  LiveDependentsError,
  liveDependents,
  type PlanComponent,
  planHash,
  policyOf,
  terminationOrder,
} from '../../lib/closure/plan.ts';
import { lifecyclePolicySchema } from '../../lib/closure/schemas.ts';
import { type Approval, applyVote } from '../../lib/governance/approvals.ts';

const c = (id: string, dependsOn: string[] = [], kind = 'service', quarantine?: PlanComponent['quarantine']): PlanComponent => ({
  id,
  kind,
  dependsOn,
  quarantine,
});
// web → api → db, worker → db, cache alone.
const shop = [c('web', ['api']), c('api', ['db']), c('worker', ['db']), c('db', [], 'database'), c('cache')];

describe('closure dependency validation', () => {
  it('finds the transitive live dependents of a component, from the registry and observed calls', () => {
    assert.deepEqual(liveDependents(shop, 'db'), ['api', 'web', 'worker']);
    assert.deepEqual(liveDependents(shop, 'cache'), []);
    assert.deepEqual(liveDependents(shop, 'cache', [{ from: 'api', to: 'cache' }]), ['api', 'web']);
  });

  it('terminates a component without dependents alone', () => {
    assert.deepEqual(terminationOrder(shop, 'web', false), ['web']);
  });

  it('refuses a component with live dependents without a cascade, naming them', () => {
    assert.throws(
      () => terminationOrder(shop, 'db', false),
      (error: unknown) => error instanceof LiveDependentsError && error.dependents.join() === 'api,web,worker',
    );
  });

  it('orders a cascade dependents first: each component before what it depends on, the target last', () => {
    const order = terminationOrder(shop, 'db', true);
    assert.deepEqual(order, ['web', 'api', 'worker', 'db']);
    for (const component of shop.filter((x) => order.includes(x.id)))
      for (const dependency of component.dependsOn)
        assert.ok(order.indexOf(component.id) < order.indexOf(dependency), `${component.id} before ${dependency}`);
  });

  it('refuses a cascade through a cycle, naming the cycle', () => {
    const cyclic = [c('a', ['b']), c('b', ['a', 'db']), c('db')];
    assert.throws(
      () => terminationOrder(cyclic, 'db', true),
      (error: unknown) => error instanceof CascadeCycleError && error.cycle.join() === 'a,b' && /a → b → a/.test(error.message),
    );
  });
});

describe('closure plans', () => {
  const binding = { kind: 'lambda-concurrency', resource: 'arn:aws:lambda:us-east-1:000000000000:function:api', parameters: {} };
  const byId = new Map([c('api', ['db'], 'lambda', binding), c('db', [], 'database')].map((x) => [x.id, x]));
  const keys = [
    { keyId: 'k1', name: 'api', revoked: false },
    { keyId: 'k2', name: 'api#deploy', revoked: false },
    { keyId: 'k3', name: 'api', revoked: true },
    { keyId: 'k4', name: 'apigw', revoked: false },
  ];

  it('orders the steps: quiesce, archive, revoke, deregister, record', () => {
    const plan = buildPlan('db', ['api', 'db'], byId, keys, undefined);
    assert.deepEqual(
      plan.steps.map((s) => `${s.kind}:${s.component}`),
      ['quiesce:api', 'archive:*', 'revoke:api', 'deregister:api', 'deregister:db', 'record:*'],
    );
    assert.deepEqual(plan.steps.find((s) => s.kind === 'revoke')?.keyIds, ['k1', 'k2']);
    assert.deepEqual(
      plan.steps.map((s) => s.index),
      [0, 1, 2, 3, 4, 5],
    );
  });

  it('uninstalls a capsule target and follows the policy of its kind', () => {
    const policy = lifecyclePolicySchema.parse({
      kinds: { capsule: { approvals: 3, retentionDays: 30, quiesce: false, revokeCredentials: false } },
    });
    const plan = buildPlan('capsule/report', ['capsule/report'], new Map(), keys, policy);
    assert.deepEqual(
      plan.steps.map((s) => s.kind),
      ['archive', 'uninstall', 'record'],
    );
    assert.equal(plan.policy.approvals, 3);
    assert.equal(policyOf(policy, 'lambda').approvals, 2);
  });

  it('applies the strictest policy of the cascade and hashes the plan stably', () => {
    const policy = lifecyclePolicySchema.parse({ kinds: { database: { approvals: 4, retentionDays: 10 } } });
    const plan = buildPlan('db', ['api', 'db'], byId, keys, policy);
    assert.equal(plan.policy.approvals, 4);
    assert.equal(plan.policy.retentionDays, 365);
    assert.equal(planHash(plan), planHash(structuredClone(plan)));
    assert.notEqual(planHash(plan), planHash({ ...plan, order: ['db', 'api'] }));
  });

  it('gives a key to a component only by its exact name or `<id>#…`', () => {
    assert.equal(keyBelongsTo({ name: 'api#x' }, 'api'), true);
    assert.equal(keyBelongsTo({ name: 'apigw' }, 'api'), false);
  });
});

describe('closure quorum (governance approvals, k of n)', () => {
  const approval = (required: number): Approval =>
    ({
      tenant: 'acme',
      approvalId: 'approval-p',
      proposalId: 'p',
      status: 'pending',
      group: 'approver',
      requestedBy: 'alice',
      required,
      votes: [],
      version: 0,
    }) as unknown as Approval;
  const vote = (actor: string, decision: 'approve' | 'reject' = 'approve') => ({
    tenant: 'acme',
    approvalId: 'approval-p',
    decision,
    actor,
    roles: ['approver'],
    reason: 'ok',
  });
  const now = new Date('2026-12-01T00:00:00Z');

  it('approves at the k-th distinct approver, not before', () => {
    let current = approval(3);
    for (const actor of ['bob', 'carol']) current = applyVote(current, vote(actor), now).next;
    assert.equal(current.status, 'pending');
    assert.equal(applyVote(current, vote('agent:sre'), now).next.status, 'approved');
  });

  it('counts one identity once: a second vote from it is refused', () => {
    const once = applyVote(approval(2), vote('bob'), now).next;
    assert.throws(() => applyVote(once, vote('bob'), now), /already voted/);
  });

  it('rejects on any one rejection, whatever the approvals so far', () => {
    const once = applyVote(approval(2), vote('bob'), now).next;
    assert.equal(applyVote(once, vote('carol', 'reject'), now).next.status, 'rejected');
  });
});
