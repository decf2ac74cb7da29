/**
 * The Replication engine's agreements with governance: a component's min/max stay within what a
 * `replication:scale` proposal may set (the actuation catalogue's bound, which L3 validation
 * enforces), and a decision left at the gate is found behind the `blocked` ones recorded after it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkBounds, findActuation } from '../../lib/governance/actuations.ts';
import { scaleParameters, waitingDecision } from '../../lib/replication/engine.ts';
import { componentConfigSchema, type Decision, SCALE_MAX, SCALE_MIN } from '../../lib/replication/schemas.ts';

const scale = findActuation('replication', 'scale');
const lambda = { kind: 'lambda-concurrency' as const, resource: 'arn:aws:lambda:us-east-1:000000000000:function:f', parameters: {} };
const sagemaker = {
  kind: 'sagemaker-endpoint' as const,
  resource: 'arn:aws:sagemaker:us-east-1:000000000000:endpoint/e',
  parameters: { variantName: 'AllTraffic' },
};

describe('replication counts and the actuation catalogue', () => {
  it('takes its bounds from replication:scale in the catalogue', () => {
    assert.ok(scale, 'replication:scale is catalogued');
    assert.deepEqual(scale.bounds?.replicas, { min: SCALE_MIN, max: SCALE_MAX });
  });

  it('proposes only counts L3 validation accepts: every count a configuration allows passes checkBounds', () => {
    assert.ok(scale);
    for (let replicas = SCALE_MIN; replicas <= SCALE_MAX; replicas++) {
      for (const binding of [lambda, sagemaker]) assert.deepEqual(checkBounds(scale, scaleParameters(binding, replicas)), []);
    }
    assert.equal(checkBounds(scale, scaleParameters(lambda, SCALE_MAX + 1)).length, 1);
  });

  it('refuses a configuration whose max or min lies outside them, naming the field', () => {
    const base = { component: 'svc/api', metrics: [{ name: 'cpu', target: 60 }] };
    assert.equal(componentConfigSchema.safeParse({ ...base, max: SCALE_MAX }).success, true);
    const over = componentConfigSchema.safeParse({ ...base, max: SCALE_MAX + 1 });
    assert.deepEqual(
      over.error?.issues.map((issue) => issue.path.join('.')),
      ['max'],
    );
    const zero = componentConfigSchema.safeParse({ ...base, min: 0, max: 4 });
    assert.deepEqual(
      zero.error?.issues.map((issue) => issue.path.join('.')),
      ['min'],
    );
  });
});

describe('a decision left at the gate', () => {
  const decision = (decisionId: string, status: Decision['status'], proposalId?: string): Decision => ({
    decisionId,
    at: '2026-01-01T00:00:00.000Z',
    trigger: 'user:ops',
    current: 2,
    recommended: 4,
    stabilized: 4,
    reactive: 4,
    predictive: null,
    desired: 4,
    redundancy: null,
    perMetric: [],
    reason: 'cpu',
    status,
    ...(proposalId ? { proposalId } : {}),
    decisionMs: 1,
    totalMs: 1,
  });

  it('is found behind the blocked decisions after it, and not once it is settled', () => {
    const waiting = decision('d2', 'pending', 'p2');
    const decisions = [decision('d1', 'executed', 'p1'), waiting, decision('d3', 'blocked'), decision('d4', 'blocked')];
    assert.equal(waitingDecision(decisions), waiting);
    assert.equal(
      waitingDecision([decision('d1', 'executed', 'p1'), decision('d2', 'rejected', 'p2'), decision('d3', 'no-change')]),
      undefined,
    );
    assert.equal(waitingDecision([decision('d1', 'pending')]), undefined, 'a pending decision without a proposal waits for nothing');
  });
});
