/**
 * KAMACHIQ plans (lib/capsules/plans.ts), pure: validation naming each field (duplicates, unknown
 * dependencies, cycles, capsules not installed, budgets beyond the capsule's or the plan's, inputs
 * referring to nodes they do not depend on), topological layers, admission of a layer within the
 * plan's remaining budget, inputs filled from dependencies' summaries, and the final summary.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  admitLayer,
  fillInput,
  findCycle,
  type PlanNode,
  type PlanSubmission,
  planLayers,
  planSummary,
  REVIEW_THRESHOLD,
  reviewFor,
  reviewProposal,
  reviewProposalId,
  reviewVerdict,
  submitPlanInputSchema,
  validatePlan,
} from '../../lib/capsules/plans.ts';

const installs = new Map([
  ['summarise', { status: 'installed' as const, budget: { tokens: 1000, costUsd: 0.01 } }],
  ['review', { status: 'installed' as const, budget: { tokens: 500, costUsd: 0.005 } }],
  ['gone', { status: 'uninstalled' as const, budget: { tokens: 1, costUsd: 0 } }],
]);

function plan(nodes: unknown[], budget = { tokens: 5000, costUsd: 0.05 }): PlanSubmission {
  return submitPlanInputSchema.parse({ goal: 'ship the incident report', budget, nodes });
}

function issuesOf(submission: PlanSubmission) {
  const result = validatePlan(submission, installs);
  assert.equal(result.ok, false);
  return result.ok ? [] : result.issues;
}

describe('validatePlan', () => {
  it('accepts a two-step plan and gives each node its capsule budget and layer', () => {
    const result = validatePlan(
      plan([
        { id: 'a', capsule: 'summarise', input: { text: 'x' } },
        {
          id: 'b',
          capsule: 'review',
          input: { draft: 'Review: {{nodes.a.summary}}' },
          dependsOn: ['a'],
          budget: { tokens: 100, costUsd: 0.001 },
        },
      ]),
      installs,
    );
    assert.ok(result.ok);
    assert.deepEqual(result.layers, [['a'], ['b']]);
    assert.deepEqual(
      result.nodes.map((node) => [node.id, node.layer, node.budget.tokens, node.state]),
      [
        ['a', 0, 1000, 'pending'],
        ['b', 1, 100, 'pending'],
      ],
    );
  });

  it('names the cycle at the dependsOn of its first node', () => {
    const issues = issuesOf(
      plan([
        { id: 'a', capsule: 'summarise', dependsOn: ['c'] },
        { id: 'b', capsule: 'summarise', dependsOn: ['a'] },
        { id: 'c', capsule: 'summarise', dependsOn: ['b'] },
      ]),
    );
    assert.deepEqual(issues, [{ path: 'nodes.0.dependsOn', message: 'the plan has a cycle: a → c → b → a' }]);
  });

  it('names unknown and self dependencies, duplicates and capsules not installed by field path', () => {
    const issues = issuesOf(
      plan([
        { id: 'a', capsule: 'summarise', dependsOn: ['zz'] },
        { id: 'a', capsule: 'gone' },
        { id: 'c', capsule: 'nope', dependsOn: ['c'] },
      ]),
    );
    const paths = issues.map((issue) => issue.path);
    assert.ok(paths.includes('nodes.1.id'));
    assert.ok(paths.includes('nodes.0.dependsOn.0'));
    assert.ok(paths.includes('nodes.1.capsule'));
    assert.ok(paths.includes('nodes.2.capsule'));
    assert.ok(paths.includes('nodes.2.dependsOn.0'));
    assert.match(issues.find((issue) => issue.path === 'nodes.0.dependsOn.0')?.message ?? '', /no node zz/);
  });

  it('refuses run budgets beyond the capsule or the plan budget', () => {
    const issues = issuesOf(
      plan(
        [
          { id: 'a', capsule: 'summarise' },
          { id: 'b', capsule: 'review', budget: { tokens: 600, costUsd: 0.001 } },
          { id: 'c', capsule: 'review', budget: { tokens: 100, costUsd: 0.004 } },
        ],
        { tokens: 800, costUsd: 0.003 },
      ),
    );
    assert.deepEqual(
      issues.map((issue) => issue.path),
      ['nodes.0.budget', 'nodes.1.budget.tokens', 'nodes.2.budget.costUsd'],
    );
    assert.match(issues[1]?.message ?? '', /exceeds capsule review's per-run budget of 500/);
    assert.match(issues[2]?.message ?? '', /exceeds the plan budget of 0.003/);
  });

  it('refuses an input referring to a node it does not depend on, naming the input field', () => {
    const issues = issuesOf(
      plan([
        { id: 'a', capsule: 'summarise' },
        { id: 'b', capsule: 'summarise', input: { parts: ['ok', 'see {{nodes.a.summary}}'] } },
      ]),
    );
    assert.deepEqual(
      issues.map((issue) => issue.path),
      ['nodes.1.input.parts.1'],
    );
  });
});

describe('planLayers and findCycle', () => {
  it('puts each node one layer below its deepest dependency, keeping submitted order', () => {
    const nodes = [
      { id: 'd', dependsOn: ['b', 'c'] },
      { id: 'a', dependsOn: [] },
      { id: 'b', dependsOn: ['a'] },
      { id: 'c', dependsOn: [] },
      { id: 'e', dependsOn: ['a'] },
    ];
    assert.deepEqual(planLayers(nodes), [['a', 'c'], ['b', 'e'], ['d']]);
    assert.equal(findCycle(nodes), undefined);
    assert.deepEqual(findCycle([{ id: 'x', dependsOn: ['x'] }]), ['x', 'x']);
    assert.throws(
      () =>
        planLayers([
          { id: 'x', dependsOn: ['y'] },
          { id: 'y', dependsOn: ['x'] },
        ]),
      /cycle/,
    );
  });
});

function node(id: string, overrides: Partial<PlanNode> = {}): PlanNode {
  return {
    id,
    capsule: 'summarise',
    input: {},
    dependsOn: [],
    budget: { tokens: 100, costUsd: 0.01 },
    review: false,
    layer: 0,
    state: 'pending',
    runId: null,
    summary: null,
    reason: null,
    usage: { tokens: 0, costUsd: 0, toolCalls: 0 },
    startedAt: null,
    endedAt: null,
    durationMs: null,
    ...overrides,
  };
}

describe('admitLayer', () => {
  it('starts the nodes whose whole budget fits what is left, in order, and skips the rest with why', () => {
    const nodes = [
      node('a', { state: 'completed', usage: { tokens: 50, costUsd: 0.015, toolCalls: 1 } }),
      node('b', { dependsOn: ['a'], layer: 1 }),
      node('c', { dependsOn: ['a'], layer: 1 }),
      node('d', { dependsOn: ['a'], layer: 1, budget: { tokens: 10, costUsd: 0.001 } }),
    ];
    const admission = admitLayer({ budget: { tokens: 1000, costUsd: 0.03 }, layers: [['a'], ['b', 'c', 'd']] }, nodes, 1);
    assert.deepEqual(admission.start, ['b', 'd']);
    assert.deepEqual(
      admission.skip.map((skip) => skip.id),
      ['c'],
    );
    assert.match(admission.skip[0]?.reason ?? '', /exceeds what is left of the plan budget \(0.005000 of 0.03\)/);
  });

  it('skips a node whose dependency did not complete, naming it', () => {
    const nodes = [node('a', { state: 'over-budget', reason: 'used 900 tokens' }), node('b', { dependsOn: ['a'], layer: 1 })];
    const admission = admitLayer({ budget: { tokens: 1000, costUsd: 1 }, layers: [['a'], ['b']] }, nodes, 1);
    assert.deepEqual(admission, { start: [], skip: [{ id: 'b', reason: 'dependency a ended over-budget: used 900 tokens' }] });
  });
});

describe('fillInput and planSummary', () => {
  it('replaces each reference with the dependency summary, anywhere in the input', () => {
    const filled = fillInput(
      { draft: 'Review: {{ nodes.a.summary }}!', list: [{ x: '{{nodes.b.summary}}' }], n: 3 },
      new Map([
        ['a', 'A says hi'],
        ['b', null],
      ]),
    );
    assert.deepEqual(filled, { draft: 'Review: A says hi!', list: [{ x: '' }], n: 3 });
  });

  it('completes only when every node completed, and otherwise names what did not', () => {
    const budget = { tokens: 1000, costUsd: 1 };
    const done = [
      node('a', { state: 'completed', usage: { tokens: 10, costUsd: 0.002, toolCalls: 1 } }),
      node('b', { state: 'completed' }),
    ];
    assert.equal(planSummary({ budget }, done).outcome, 'completed');
    const partial = planSummary({ budget }, [done[0] as PlanNode, node('b', { state: 'skipped', reason: 'dependency' })]);
    assert.equal(partial.outcome, 'failed');
    assert.match(partial.reason, /^b skipped; spent 10 tokens and 0.002000 USD/);
    assert.equal(planSummary({ budget }, done, { outcome: 'halted', reason: 'kill switch' }).outcome, 'halted');
  });
});

describe('the review gate', () => {
  const checked = validatePlan(
    plan([
      { id: 'a', capsule: 'summarise', input: {} },
      { id: 'b', capsule: 'review', input: {}, dependsOn: ['a'], review: true },
    ]),
    installs,
  );
  assert.ok(checked.ok);
  const stored = {
    planId: `plan-${'a'.repeat(32)}`,
    goal: 'ship',
    budget: { tokens: 5000, costUsd: 0.05 },
    layers: checked.layers,
    reviews: [],
  };

  it('reviews the first layer always (escalated only above the budget threshold) and a later layer only for a flagged node', () => {
    assert.deepEqual(reviewFor(stored, checked.nodes, 0), { layer: 0, flagged: [] });
    assert.deepEqual(reviewFor(stored, checked.nodes, 1), { layer: 1, flagged: ['b'], escalate: 'node b flagged for review' });
    const costly = { ...stored, budget: { tokens: REVIEW_THRESHOLD.tokens + 1, costUsd: REVIEW_THRESHOLD.costUsd + 5 } };
    assert.match(
      reviewFor(costly, checked.nodes, 0)?.escalate ?? '',
      /15 USD is above the review threshold of 10 USD; the plan budget of 1000001 tokens/,
    );
    const approved = {
      ...stored,
      reviews: [
        {
          layer: 1,
          proposalId: 'p',
          route: 'human-approval' as const,
          escalated: null,
          decision: 'approved' as const,
          reason: 'ok',
          decidedAt: null,
        },
      ],
    };
    assert.equal(reviewFor(approved, checked.nodes, 1), undefined);
    assert.equal(
      reviewFor(
        stored,
        checked.nodes.map((node) => ({ ...node, review: false })),
        1,
      ),
      undefined,
    );
    assert.equal(reviewFor(stored, checked.nodes, 2), undefined);
  });

  it('proposes capsules:plan on the plan with its budget and nodes, one proposal id per plan and layer', () => {
    const need = reviewFor(stored, checked.nodes, 1);
    assert.ok(need);
    const input = reviewProposal(stored, checked.nodes, need);
    assert.deepEqual(
      [input.engine, input.action, input.target, input.escalate],
      ['capsules', 'plan', `capsules/plans/${stored.planId}`, 'node b flagged for review'],
    );
    assert.deepEqual(input.parameters, { planId: stored.planId, layer: 1, nodes: 1, tokens: 5000, costUsd: 0.05, flagged: ['b'] });
    assert.equal(reviewProposalId(stored.planId, 1), `${stored.planId}-review-1`);
  });

  it('reads the decision from the proposal: approved goes on, pending waits, the rest end the plan with why', () => {
    const proposal = (status: 'approved' | 'pending' | 'rejected' | 'timed-out' | 'refused' | 'executed') => ({
      proposalId: 'p-1',
      status,
      reasons: ['by ann'],
    });
    assert.equal(reviewVerdict(proposal('approved'))?.decision, 'approved');
    assert.equal(reviewVerdict(proposal('executed'))?.decision, 'approved');
    assert.equal(reviewVerdict(proposal('pending')), undefined);
    assert.deepEqual(reviewVerdict(proposal('rejected')), { decision: 'rejected', reason: 'proposal p-1 was rejected: by ann' });
    assert.equal(reviewVerdict(proposal('timed-out'))?.decision, 'timed-out');
    assert.equal(reviewVerdict(proposal('refused'))?.decision, 'refused');
    assert.equal(reviewVerdict(undefined)?.decision, 'refused');
  });
});
