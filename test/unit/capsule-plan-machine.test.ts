/**
 * statemachines/capsule-plan.asl.json on the local Step Functions service, its tasks the real plan
 * steps (lib/capsules/plan-steps.ts) over an in-memory plan store and a scripted run port: a
 * three-layer plan whose middle layer runs two nodes in parallel (b fed a's summary), a node over its
 * budget whose dependant is skipped, a node skipped because its run budget no longer fits the plan's,
 * the kill switch stopping a plan before its first layer, a cancellation between layers, a
 * failing step caught into the summary, and the review gate (governance's real `propose` over
 * in-memory governance): autonomous at autonomy level 4, a flagged node sent to people whose
 * approval continues the plan, a rejection or no decision ending it rejected.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkDefinition } from '../../infra/local/stepfunctions/definition-checks.ts';
import { StepFunctionsService, type TaskInvoker } from '../../infra/local/stepfunctions/service.ts';
import type { Principal } from '../../lib/auth/principal.ts';
import {
  awaitReview,
  finishStep,
  levelStep,
  nodeStep,
  type PlanStore,
  type ReviewDeps,
  reviewStep,
  submitPlan,
} from '../../lib/capsules/plan-steps.ts';
import type { Plan, PlanNode } from '../../lib/capsules/plans.ts';
import type { CapsuleRun } from '../../lib/capsules/runs.ts';
import type { Install } from '../../lib/capsules/schemas.ts';
import { ConflictError } from '../../lib/errors.ts';
import type { BusEvent } from '../../lib/events/publisher.ts';
import { type GateWaitDeps, resumeSettled } from '../../lib/governance/gate-wait.ts';
import { propose, transition } from '../../lib/governance/proposals.ts';
import { defaultSettings } from '../../lib/governance/settings.ts';
import {
  fixedPolicy,
  memoryGateWaits,
  memoryGovernanceStore,
  memoryOutbox,
  recordingGate,
  staticGraph,
} from '../helpers/governance-memory.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ACCOUNT = '123456789012';
const fnArn = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;
const placeholders: Record<string, string> = {
  PlanLevelFunctionArn: fnArn('level'),
  PlanNodeFunctionArn: fnArn('node'),
  PlanReviewFunctionArn: fnArn('review'),
  PlanGateFunctionArn: fnArn('gate'),
  PlanFinishFunctionArn: fnArn('finish'),
};
const definition = readFileSync(path.join(root, 'statemachines', 'capsule-plan.asl.json'), 'utf8').replaceAll(
  /\$\{(\w+)\}/g,
  (_match, name: string) => placeholders[name] ?? `unbound-${name}`,
);

/** An in-memory plan store keeping every event it was given, in order. */
function memoryStore() {
  const plans = new Map<string, Plan>();
  const nodes = new Map<string, PlanNode>();
  const cancels = new Map<string, { by: string; at: string }>();
  const events: BusEvent[] = [];
  const store: PlanStore = {
    async createPlan(plan, planNodes, written) {
      if (plans.has(plan.planId)) throw new ConflictError('exists');
      plans.set(plan.planId, plan);
      for (const node of planNodes) nodes.set(`${plan.planId}#${node.id}`, node);
      events.push(...written);
    },
    async putPlan(plan, expected, written) {
      if (plans.get(plan.planId)?.revision !== expected) throw new ConflictError('moved');
      plans.set(plan.planId, plan);
      events.push(...written);
    },
    async putNode(_tenant, planId, node, written) {
      nodes.set(`${planId}#${node.id}`, node);
      events.push(...written);
    },
    plan: async (_tenant, planId) => plans.get(planId),
    nodes: async (_tenant, planId) => [...nodes.entries()].filter(([key]) => key.startsWith(`${planId}#`)).map(([, node]) => node),
    plans: async () => [...plans.values()],
    async requestCancel(_tenant, planId, by, at) {
      cancels.set(planId, { by, at });
    },
    cancelRequest: async (_tenant, planId) => cancels.get(planId),
  };
  return { store, events };
}

const memory = memoryStore();
const caller: Principal = { tenant: 'acme', subject: 'ops@acme.example', roles: ['operator'], via: 'jwt' };
const install = (name: string, tokens: number): Install =>
  ({ name, status: 'installed', budget: { tokens, costUsd: 0.1 } }) as unknown as Install;
const installs = [install('summarise', 1000), install('review', 1000)];

/** How each capsule's run ends, by node input: a scripted stand-in for startRun. */
let locked: string | undefined;
let levelFailures = 0;
const ranInputs: Record<string, unknown>[] = [];
let cancelAfterFirstLayer: string | undefined;
/** What people decide at a plan's review gate once it waits (nothing: no decision comes). */
const decisions = new Map<string, 'approved' | 'rejected'>();
let gateTimeoutSeconds = 600;

// Governance in memory, its real propose(): acme at autonomy level 4, so an unflagged plan is approved at once.
const governanceOutbox = memoryOutbox();
const governance = memoryGovernanceStore(governanceOutbox);
governance.settingsOf.set('acme', { ...defaultSettings('acme'), autonomyLevel: 4 });
const gate = recordingGate();
const policy = fixedPolicy({ decision: 'allow', policies: ['operators-actuate'], errors: [], version: 0, breakGlass: false });
const reviewDeps = (): ReviewDeps => ({
  store: memory.store,
  propose: (input, proposer, proposalId) =>
    propose(input, proposer, {
      store: governance,
      policy,
      components: staticGraph(),
      gate,
      outbox: governanceOutbox,
      now: new Date(),
      newId: () => proposalId,
    }),
  proposal: (tenant, proposalId) => governance.proposal(tenant, proposalId),
  gateTimeoutSeconds: async () => gateTimeoutSeconds,
  clock: () => new Date(),
});
// Governance's gate waits in memory, resuming the local service's tasks.
const waits = memoryGateWaits();
const gateDeps = (): GateWaitDeps => ({
  waits,
  proposals: governance,
  callbacks: {
    async succeed(taskToken, output) {
      await service.operations().SendTaskSuccess?.({ taskToken, output: JSON.stringify(output) });
    },
    async fail() {},
    async heartbeat() {},
  },
  now: new Date(),
});

function runOf(name: string, input: Record<string, unknown>, budget: { tokens: number; costUsd: number }): CapsuleRun {
  ranInputs.push(input);
  const over = input.mode === 'greedy';
  return {
    runId: `run-${String(ranInputs.length).padStart(32, '0')}`,
    tenant: 'acme',
    name,
    version: '1.0.0',
    bundleSha256: '0'.repeat(64),
    inputSha256: '0'.repeat(64),
    outcome: over ? 'over-budget' : 'completed',
    summary: over ? null : `summary of ${JSON.stringify(input)}`,
    reason: over ? `the run used ${budget.tokens + 1} tokens; its budget is ${budget.tokens}` : null,
    usage: { tokens: over ? budget.tokens + 1 : 100, costUsd: 0.01, toolCalls: 1 },
    budget,
    steps: [],
    startedBy: caller.subject,
    startedAt: new Date().toISOString(),
    revision: 2,
  };
}

let service: StepFunctionsService;
let dataDir: string;
let machineArn: string;

const invokeTask: TaskInvoker = async ({ input, taskToken }) => {
  const { FunctionName, Payload } = input as { FunctionName: string; Payload: Record<string, unknown> };
  const fn = FunctionName.split(':').at(-1);
  const ref = { tenant: String(Payload.tenant), planId: String(Payload.planId) };
  const clock = () => new Date();
  if (fn === 'level') {
    if (levelFailures > 0) {
      levelFailures -= 1;
      throw Object.assign(new Error('broken'), { name: 'ValidationError' });
    }
    const plan = await memory.store.plan(ref.tenant, ref.planId);
    if (cancelAfterFirstLayer === ref.planId && plan && plan.layer === 1)
      await memory.store.requestCancel(ref.tenant, ref.planId, 'ops', 'now');
    return levelStep(ref, {
      store: memory.store,
      proposal: (tenant, proposalId) => governance.proposal(tenant, proposalId),
      locked: async () => locked,
      clock,
    });
  }
  if (fn === 'review') return reviewStep(ref, reviewDeps());
  if (fn === 'gate') {
    assert.ok(taskToken, 'the gate step gets a task token');
    const outcome = await awaitReview(
      { ...ref, taskToken, gateTimeoutSeconds: Number(Payload.gateTimeoutSeconds) },
      { store: memory.store, gate: gateDeps() },
    );
    const decision = decisions.get(ref.planId);
    // As governance's gate would: settle the proposal, then governance.proposal.settled reaches governance/gate-resume.
    if (outcome === 'waiting' && decision)
      setImmediate(async () => {
        const plan = await memory.store.plan(ref.tenant, ref.planId);
        const proposalId = plan?.proposalId ?? '';
        await transition(
          ref.tenant,
          proposalId,
          decision,
          { reasons: [`${decision} by reviewer-0`], actor: 'reviewer-0', from: ['pending'] },
          { store: governance, outbox: governanceOutbox, now: new Date() },
        );
        await resumeSettled({ tenant: ref.tenant, proposalId, status: decision }, gateDeps());
      });
    return { outcome };
  }
  if (fn === 'node')
    return nodeStep(
      { ...ref, nodeId: String(Payload.nodeId) },
      { store: memory.store, clock, run: async (_caller, params, budget) => runOf(params.name, params.input, budget) },
    );
  const failure = Payload.failure as { Error: string } | undefined;
  const plan = await finishStep({ ...ref, ...(failure ? { failure: failure.Error } : {}) }, { store: memory.store, clock });
  return { outcome: plan.status, reason: plan.reason };
};

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'capsule-plan-machine-'));
  service = new StepFunctionsService({ dataDir, region: 'us-east-1', accountId: ACCOUNT, invokeTask });
  await service.start();
  machineArn = service.createStateMachine({ name: 'capsule-plan', definition, roleArn: `arn:aws:iam::${ACCOUNT}:role/r` });
});
after(async () => {
  await service.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

let counter = 0;
/** Submits a plan whose execution runs on the local service; returns its end, its states and the stored plan. */
async function runPlan(plan: Parameters<typeof submitPlan>[1], before?: (planId: string) => void) {
  const ops = service.operations();
  const planId = `plan-${String(counter++).padStart(32, '0')}`;
  before?.(planId);
  await submitPlan(caller, plan, {
    store: memory.store,
    installs: async () => installs,
    clock: () => new Date(),
    newPlanId: () => planId,
    starter: {
      async start(name, input) {
        const started = (await ops.StartExecution?.({ stateMachineArn: machineArn, name, input: JSON.stringify(input) })) as {
          executionArn: string;
        };
        return started.executionArn;
      },
    },
  });
  const executionArn = `arn:aws:states:us-east-1:${ACCOUNT}:execution:capsule-plan:${planId}`;
  const deadline = Date.now() + 20_000;
  let described: { status?: string; error?: string };
  for (;;) {
    described = (await ops.DescribeExecution?.({ executionArn })) as { status?: string; error?: string };
    if (described.status !== 'RUNNING') break;
    assert.ok(Date.now() < deadline, 'the execution ends');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const read = (await ops.GetExecutionHistory?.({ executionArn, maxResults: 1000 })) as {
    events: Array<Record<string, { name?: string }>>;
  };
  const states = read.events.flatMap((event) => (event.stateEnteredEventDetails?.name ? [event.stateEnteredEventDetails.name] : []));
  const stored = await memory.store.plan('acme', planId);
  const nodes = await memory.store.nodes('acme', planId);
  const events = memory.events.filter((event) => (event.detail as { planId?: string }).planId === planId);
  return {
    status: described.status,
    error: described.error,
    states,
    plan: stored,
    nodes: new Map(nodes.map((node) => [node.id, node])),
    events,
  };
}

describe('statemachines/capsule-plan.asl.json', () => {
  it('is valid ASL the local runner accepts, every placeholder bound in the stage', () => {
    checkDefinition(definition);
    const bindings = readFileSync(path.join(root, 'infra', 'resources', 'statemachine-bindings.yml'), 'utf8');
    for (const name of Object.keys(placeholders)) assert.match(bindings, new RegExp(`^\\s+${name}: !GetAtt `, 'm'), name);
    assert.doesNotMatch(definition, /unbound-/);
  });

  it('runs layer after layer, a layer in parallel, b fed the summary of a, to a completed summary', async () => {
    ranInputs.length = 0;
    const ran = await runPlan({
      goal: 'report',
      budget: { tokens: 5000, costUsd: 1 },
      nodes: [
        { id: 'a', capsule: 'summarise', input: { text: 'inc-1' } },
        { id: 'b', capsule: 'review', input: { draft: 'check {{nodes.a.summary}}' }, dependsOn: ['a'] },
        { id: 'c', capsule: 'review', input: { draft: 'also' }, dependsOn: ['a'] },
        { id: 'd', capsule: 'summarise', input: { all: '{{nodes.b.summary}} / {{nodes.c.summary}}' }, dependsOn: ['b', 'c'] },
      ],
    });
    assert.equal(ran.status, 'SUCCEEDED', `${ran.error}: ${ran.plan?.reason}`);
    assert.equal(ran.plan?.status, 'completed', ran.plan?.reason ?? '');
    assert.equal(ran.states.filter((name) => name === 'RunNode').length, 4);
    assert.equal(
      ran.states.filter((name) => name === 'Level').length,
      5,
      'one look that sends the plan to its review, one per layer and one that finds none left',
    );
    assert.deepEqual(
      ran.nodes.get('b')?.summary,
      `summary of ${JSON.stringify({ draft: `check summary of ${JSON.stringify({ text: 'inc-1' })}` })}`,
    );
    assert.equal(ran.plan?.usage.tokens, 400);
    assert.deepEqual(
      ran.events.map((event) => event.detailType),
      ['capsules.plan.started', 'capsules.plan.reviewed', ...Array(4).fill('capsules.plan-node.ended'), 'capsules.plan.completed'],
    );
    // Proposed as capsules:plan before its first layer; at autonomy level 4 governance approved it at once.
    assert.deepEqual(
      ran.plan?.reviews.map((review) => [review.layer, review.route, review.decision, review.escalated]),
      [[0, 'autonomous', 'approved', null]],
    );
    assert.ok(!ran.states.includes('WaitForReview'));
  });

  it('skips the dependant of a run over its budget, and a node whose budget no longer fits the plan', async () => {
    const ran = await runPlan({
      goal: 'report',
      budget: { tokens: 1500, costUsd: 1 },
      nodes: [
        { id: 'a', capsule: 'summarise', input: { mode: 'greedy' }, budget: { tokens: 300, costUsd: 0.1 } },
        { id: 'b', capsule: 'review', input: {}, budget: { tokens: 1000, costUsd: 0.1 } },
        { id: 'c', capsule: 'review', input: {}, budget: { tokens: 300, costUsd: 0.1 } },
        { id: 'd', capsule: 'review', input: {}, dependsOn: ['a'], budget: { tokens: 10, costUsd: 0.1 } },
      ],
    });
    assert.equal(ran.status, 'FAILED');
    assert.equal(ran.error, 'PlanNotCompleted');
    assert.equal(ran.nodes.get('a')?.state, 'over-budget');
    assert.equal(ran.nodes.get('b')?.state, 'completed');
    assert.equal(ran.nodes.get('c')?.state, 'skipped');
    assert.match(ran.nodes.get('c')?.reason ?? '', /exceeds what is left of the plan budget \(200 of 1500\)/);
    assert.equal(ran.nodes.get('d')?.state, 'skipped');
    assert.match(ran.nodes.get('d')?.reason ?? '', /dependency a ended over-budget: the run used 301 tokens/);
    assert.match(ran.plan?.reason ?? '', /^a over-budget, c skipped, d skipped; spent 401 tokens/);
  });

  it('stops before the first layer while a kill switch is on: nothing runs, every node skipped with why', async () => {
    locked = 'The kill switch of tenant acme is on (root: incident review)';
    const before = ranInputs.length;
    try {
      const ran = await runPlan({ goal: 'g', budget: { tokens: 5000, costUsd: 1 }, nodes: [{ id: 'a', capsule: 'summarise' }] });
      assert.equal(ran.error, 'KillSwitchEngaged');
      assert.equal(ran.plan?.status, 'halted');
      assert.equal(ran.nodes.get('a')?.state, 'skipped');
      assert.match(ran.nodes.get('a')?.reason ?? '', /before layer 0: The kill switch of tenant acme is on/);
      assert.equal(ranInputs.length, before);
    } finally {
      locked = undefined;
    }
  });

  it('ends cancelled when cancelled between layers, and a failing step caught into a failed summary', async () => {
    const cancelled = await runPlan(
      {
        goal: 'g',
        budget: { tokens: 5000, costUsd: 1 },
        nodes: [
          { id: 'a', capsule: 'summarise' },
          { id: 'b', capsule: 'summarise', dependsOn: ['a'] },
        ],
      },
      (planId) => {
        cancelAfterFirstLayer = planId;
      },
    );
    assert.equal(cancelled.status, 'SUCCEEDED');
    assert.equal(cancelled.plan?.status, 'cancelled');
    assert.deepEqual([cancelled.nodes.get('a')?.state, cancelled.nodes.get('b')?.state], ['completed', 'skipped']);

    levelFailures = 1;
    const failed = await runPlan({ goal: 'g', budget: { tokens: 5000, costUsd: 1 }, nodes: [{ id: 'a', capsule: 'summarise' }] });
    assert.equal(failed.error, 'PlanNotCompleted');
    assert.ok(failed.states.includes('StepFailed'));
    assert.equal(failed.plan?.status, 'failed');
    assert.match(failed.plan?.reason ?? '', /a step failed after its retries: ValidationError/);
    assert.equal(failed.nodes.get('a')?.state, 'skipped');
  });

  it('waits at the review gate for a node flagged for review: approved, the plan continues to its summary', async () => {
    const before = ranInputs.length;
    const ran = await runPlan(
      {
        goal: 'g',
        budget: { tokens: 5000, costUsd: 1 },
        nodes: [
          { id: 'a', capsule: 'summarise', review: true },
          { id: 'b', capsule: 'summarise', dependsOn: ['a'] },
        ],
      },
      (planId) => decisions.set(planId, 'approved'),
    );
    assert.equal(ran.status, 'SUCCEEDED', `${ran.error}: ${ran.plan?.reason}`);
    assert.equal(ran.plan?.status, 'completed');
    assert.deepEqual(ran.states.slice(0, 5), ['Level', 'AfterLevel', 'Review', 'AfterReview', 'WaitForReview']);
    assert.equal(ranInputs.length, before + 2);
    const [review] = ran.plan?.reviews ?? [];
    assert.equal(review?.route, 'human-approval');
    assert.equal(review?.decision, 'approved');
    assert.equal(review?.escalated, 'node a flagged for review');
    const proposal = await governance.proposal('acme', review?.proposalId ?? '');
    assert.deepEqual([proposal?.engine, proposal?.action, proposal?.target], ['capsules', 'plan', `capsules/plans/${ran.plan?.planId}`]);
    const reviewed = ran.events.find((event) => event.detailType === 'capsules.plan.reviewed');
    assert.ok(reviewed);
    assert.equal((reviewed.detail as { decision?: string }).decision, 'approved');
  });

  it('ends the plan rejected, nothing run, when people reject it at the gate or no decision comes in time', async () => {
    const before = ranInputs.length;
    const rejected = await runPlan(
      { goal: 'g', budget: { tokens: 5000, costUsd: 1 }, nodes: [{ id: 'a', capsule: 'summarise', review: true }] },
      (planId) => decisions.set(planId, 'rejected'),
    );
    assert.equal(rejected.error, 'PlanRejected');
    assert.equal(rejected.plan?.status, 'rejected');
    assert.match(rejected.plan?.reason ?? '', /was rejected: rejected by reviewer-0/);
    assert.equal(rejected.nodes.get('a')?.state, 'skipped');
    assert.deepEqual(
      rejected.events.map((event) => event.detailType),
      ['capsules.plan.started', 'capsules.plan.reviewed', 'capsules.plan-node.ended', 'capsules.plan.completed'],
    );
    const reviewed = rejected.events[1];
    assert.ok(reviewed);
    assert.equal((reviewed.detail as { decision?: string }).decision, 'rejected');

    gateTimeoutSeconds = 1;
    try {
      const silent = await runPlan({
        goal: 'g',
        budget: { tokens: 5000, costUsd: 1 },
        nodes: [{ id: 'a', capsule: 'summarise', review: true }],
      });
      assert.equal(silent.error, 'PlanRejected');
      assert.ok(silent.states.includes('ReviewTimedOut'));
      assert.match(silent.plan?.reason ?? '', /no decision on review proposal .* while the plan waited at its gate/);
      assert.equal(silent.plan?.reviews[0]?.decision, 'timed-out');
    } finally {
      gateTimeoutSeconds = 600;
    }
    assert.equal(ranInputs.length, before);
  });

  it('asks people for a later layer holding a flagged node, after the first layer ran', async () => {
    const ran = await runPlan(
      {
        goal: 'g',
        budget: { tokens: 5000, costUsd: 1 },
        nodes: [
          { id: 'a', capsule: 'summarise' },
          { id: 'b', capsule: 'summarise', dependsOn: ['a'], review: true },
        ],
      },
      (planId) => decisions.set(planId, 'rejected'),
    );
    assert.equal(ran.plan?.status, 'rejected');
    assert.deepEqual([ran.nodes.get('a')?.state, ran.nodes.get('b')?.state], ['completed', 'skipped']);
    assert.deepEqual(
      ran.plan?.reviews.map((review) => [review.layer, review.route, review.decision]),
      [
        [0, 'autonomous', 'approved'],
        [1, 'human-approval', 'rejected'],
      ],
    );
  });
});
