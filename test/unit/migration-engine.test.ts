/**
 * The Migration engine's API operations (lib/migration/engine.ts) on in-memory ports: a plan is
 * stored before it is proposed (a failed write proposes nothing, so no orphan proposal waits for
 * approvers), its proposal is named after it (one per plan), a refusal leaves the plan on record
 * naming the refused proposal; cancelling a run waiting at the gate ends it `cancelled`, resumes the
 * waiting machine to its end and withdraws the plan's pending proposal when its proposer or an admin
 * cancels (someone else's cancel leaves it pending and says so).
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConflictError, DependencyError, LockedError } from '../../lib/errors.ts';
import type { BusEvent } from '../../lib/events/publisher.ts';
import { approvalIdOf, approvalRequestSchema, openOrEscalate } from '../../lib/governance/approvals.ts';
import type { PolicyDecision } from '../../lib/governance/model.ts';
import { approvalSubjectOf, isWithdrawn, PROPOSAL_WITHDRAWN, type Proposer } from '../../lib/governance/proposals.ts';
import { defaultSettings } from '../../lib/governance/settings.ts';
import {
  cancelRun,
  createPlan,
  MIGRATION_GATE_OWNER,
  type MigrationStore,
  type MigrationWrite,
  proposalIdOf,
  startRun,
} from '../../lib/migration/engine.ts';
import type { CatalogueRecord, LoopState, PlanRecord, Pool, RunRecord } from '../../lib/migration/schemas.ts';
import { planInputSchema } from '../../lib/migration/schemas.ts';
import {
  fixedPolicy,
  type MemoryApprovalStore,
  type MemoryGovernanceStore,
  type MemoryOutbox,
  memoryApprovalStore,
  memoryGateWaits,
  memoryGovernanceStore,
  memoryOutbox,
  recordingGate,
  recordingWorkflow,
  staticGraph,
} from '../helpers/governance-memory.ts';

const T0 = new Date('2026-12-01T10:00:00.000Z');
const ALLOW: PolicyDecision = { decision: 'allow', policies: ['base-operator'], errors: [], version: 0, breakGlass: false };
const alice: Proposer = { kind: 'user', id: 'alice', tenant: 'acme', roles: ['operator'] };

const pool = (id: string, price: number, zone: string): Pool => ({
  id,
  platform: 'lambda',
  instanceType: id,
  region: 'us-east-1',
  zone,
  vcpu: 2,
  memoryGiB: 4,
  accelerators: 0,
  latencyClasses: ['standard', 'batch'],
  pricePerHour: price,
  maxInstances: 4,
});
const CATALOGUE: CatalogueRecord = {
  tenant: 'acme',
  pools: [pool('lambda/big', 0.24, 'us-east-1a'), pool('lambda/small', 0.06, 'us-east-1b')],
  updatedAt: T0.toISOString(),
  updatedBy: 'alice',
  version: 0,
};
/** One workload on the dear pool: the plan moves it (4 steps). `environment` prod: people approve (autonomy level 1 below). */
const INPUT = planInputSchema.parse({
  environment: 'prod',
  workloads: [
    {
      id: 'svc/api',
      needs: { vcpu: 0.5, memoryGiB: 1 },
      current: 'lambda/big',
      traffic: {
        kind: 'lambda-alias',
        resource: 'arn:aws:lambda:us-east-1:000000000000:function:api:live',
        versions: { 'lambda/big': '1', 'lambda/small': '2' },
      },
      latencySeries: 'api.latency',
      latencyBoundMs: 500,
    },
  ],
});

/** A {@link MigrationStore} on Maps, conditional on versions like the DynamoDB adapter; `failWrite(n)` fails the n-th write. */
function memoryMigrationStore(outbox: MemoryOutbox) {
  const plans = new Map<string, PlanRecord>();
  const runs = new Map<string, RunRecord>();
  let writes = 0;
  const failing = new Set<number>();
  const check = (current: { version: number } | undefined, expected: number | undefined) => {
    if (current?.version !== expected) throw new ConflictError('The migration plan or run was changed concurrently; read it again');
  };
  const store: MigrationStore & {
    planItems: Map<string, PlanRecord>;
    runItems: Map<string, RunRecord>;
    failWrite(n: number): void;
  } = {
    planItems: plans,
    runItems: runs,
    failWrite: (n) => failing.add(n),
    catalogue: async (tenant) => (tenant === 'acme' ? structuredClone(CATALOGUE) : undefined),
    putCatalogue: async () => {},
    plan: async (_tenant, planId) => structuredClone(plans.get(planId)),
    run: async (_tenant, runId) => structuredClone(runs.get(runId)),
    plans: async () => [...plans.values()],
    runs: async () => [...runs.values()],
    async write(tenant, write: MigrationWrite, events: BusEvent[]) {
      writes += 1;
      if (failing.has(writes)) throw new DependencyError('DynamoDB: the write timed out');
      if (write.plan) check(plans.get(write.plan.next.planId), write.plan.expectedVersion);
      if (write.run) check(runs.get(write.run.next.runId), write.run.expectedVersion);
      if (write.plan) plans.set(write.plan.next.planId, structuredClone(write.plan.next));
      if (write.run) runs.set(write.run.next.runId, structuredClone(write.run.next));
      return outbox.save(tenant, events);
    },
  };
  return store;
}

let outbox: MemoryOutbox;
let governance: MemoryGovernanceStore;
let approvals: MemoryApprovalStore;
let gate: ReturnType<typeof recordingGate>;
let workflow: ReturnType<typeof recordingWorkflow>;
let store: ReturnType<typeof memoryMigrationStore>;
let ids: number;

beforeEach(() => {
  outbox = memoryOutbox();
  governance = memoryGovernanceStore(outbox);
  approvals = memoryApprovalStore(outbox);
  gate = recordingGate();
  workflow = recordingWorkflow();
  store = memoryMigrationStore(outbox);
  ids = 0;
  // Autonomy level 1: every migration waits for people.
  governance.settingsOf.set('acme', { ...defaultSettings('acme'), autonomyLevel: 1 });
});

const deps = () => ({
  store,
  outbox,
  now: () => T0,
  newId: () => {
    ids += 1;
    return `0000000${ids}-plan`;
  },
  governance: { store: governance, policy: fixedPolicy(ALLOW), components: staticGraph(), gate, outbox },
});

const plansCreated = () => outbox.published.filter((event) => event.detailType === 'migration.plan.created');

describe('creating a plan', () => {
  it('stores the plan naming its proposal, proposes it once under that id, then records the route and migration.plan.created', async () => {
    const plan = await createPlan('acme', INPUT, alice, deps());
    assert.equal(plan.proposalId, proposalIdOf(plan.planId));
    assert.equal(plan.route, 'human-approval');
    assert.equal(plan.version, 1);
    assert.deepEqual(store.planItems.get(plan.planId), plan);
    const proposals = [...governance.items.values()];
    assert.equal(proposals.length, 1);
    assert.deepEqual(
      [proposals[0]?.proposalId, proposals[0]?.target, proposals[0]?.status, proposals[0]?.parameters.planHash],
      [plan.proposalId, `migration/${plan.planId}`, 'pending', plan.planHash],
    );
    assert.equal(gate.started.length, 1);
    const [created] = plansCreated();
    assert.deepEqual(
      [created?.detail.planId, created?.detail.proposalId, created?.detail.route, created?.detail.proposalStatus],
      [plan.planId, plan.proposalId, 'human-approval', 'pending'],
    );
  });

  it('proposes nothing when the plan cannot be stored: no orphan proposal, no gate started', async () => {
    store.failWrite(1);
    await assert.rejects(createPlan('acme', INPUT, alice, deps()), DependencyError);
    assert.equal(store.planItems.size, 0);
    assert.equal(governance.items.size, 0);
    assert.deepEqual(gate.started, []);
    assert.deepEqual(outbox.published, []);
  });

  it('leaves a plan that names its one proposal when the write after proposing fails, and it can still run', async () => {
    store.failWrite(2);
    await assert.rejects(createPlan('acme', INPUT, alice, deps()), DependencyError);
    const [plan] = [...store.planItems.values()];
    assert.ok(plan);
    assert.equal(plan.proposalId, proposalIdOf(plan.planId));
    assert.deepEqual(
      [...governance.items.values()].map((p) => [p.proposalId, p.target]),
      [[plan.proposalId, `migration/${plan.planId}`]],
    );
    const run = await startRun('acme', plan.planId, 'alice', { ...deps(), starter: { start: async (name) => `arn:…:${name}` } });
    assert.equal(run.status, 'pending');
  });

  it('never makes a second proposal for a plan: a propose under the same plan id is a conflict', async () => {
    const again = () => '00000001-plan';
    await createPlan('acme', INPUT, alice, { ...deps(), newId: again });
    await assert.rejects(createPlan('acme', INPUT, alice, { ...deps(), newId: again }), ConflictError);
    assert.equal(governance.items.size, 1);
    assert.equal(gate.started.length, 1);
  });

  it('answers 423 under the kill switch with the plan on record naming its refused proposal, so it can never run', async () => {
    governance.settingsOf.set('acme', {
      ...defaultSettings('acme'),
      killSwitch: { enabled: true, reason: 'freeze', by: 'root', at: T0.toISOString() },
    });
    await assert.rejects(createPlan('acme', INPUT, alice, deps()), LockedError);
    const [plan] = [...store.planItems.values()];
    assert.ok(plan?.proposalId);
    assert.equal(governance.items.get(`acme/${plan.proposalId}`)?.status, 'refused');
    assert.deepEqual(gate.started, []);
    assert.equal(plansCreated()[0]?.detail.proposalStatus, 'refused');
  });
});

describe('cancelling a run waiting at the gate', () => {
  /** A plan proposed, a run started, its approval opened and the machine waiting at the gate (token `gate-token`). */
  async function waiting(): Promise<{ plan: PlanRecord; run: RunRecord }> {
    const plan = await createPlan('acme', INPUT, alice, deps());
    const proposalId = plan.proposalId ?? '';
    const run = await startRun('acme', plan.planId, 'alice', { ...deps(), starter: { start: async (name) => `arn:…:${name}` } });
    const proposal = await governance.proposal('acme', proposalId);
    assert.ok(proposal);
    const request = approvalRequestSchema.parse({
      taskToken: 'approval-token',
      executionArn: 'arn:aws:states:us-east-1:000000000000:execution:gate:x',
      tenant: 'acme',
      proposalId,
      approvalId: approvalIdOf(proposalId),
      round: 1,
      timeoutSeconds: 3600,
    });
    await openOrEscalate(request, approvalSubjectOf(proposal, 1), { store: approvals, outbox, now: T0 });
    const state: LoopState = {
      tenant: 'acme',
      runId: run.runId,
      planId: plan.planId,
      proposalId,
      index: 0,
      steps: plan.steps.length,
      next: 'gate',
      reason: 'waiting',
      gateTimeoutSeconds: 3600,
      waitSeconds: 0,
    };
    const output = { state: { ...state, next: 'check' } };
    await waits.put({ tenant: 'acme', proposalId, taskToken: 'gate-token', owner: MIGRATION_GATE_OWNER, output, expiresAt: 0 });
    return { plan, run };
  }

  // Governance's gate waits in memory; `machine` records what resumed the waiting run.
  let waits: ReturnType<typeof memoryGateWaits>;
  let machine: ReturnType<typeof recordingWorkflow>;
  beforeEach(() => {
    waits = memoryGateWaits();
    machine = recordingWorkflow();
  });
  const resumed = () =>
    machine.calls.map((call) => [call.kind, call.token, call.kind === 'succeed' ? (call.output as { state: LoopState }).state.next : '']);
  const cancelDeps = () => ({
    ...deps(),
    gate: { waits, callbacks: machine },
    withdrawal: { store: governance, outbox, approvals, approvalOutbox: outbox, workflow, now: T0 },
  });

  it('by its proposer: the run ends cancelled with nothing executed, the machine resumed to its check step (which finds it cancelled), the proposal withdrawn and its gate ended', async () => {
    const { plan, run } = await waiting();
    const cancelled = await cancelRun('acme', run.runId, { actor: 'alice', roles: ['operator'] }, cancelDeps());
    assert.equal(cancelled.status, 'cancelled');
    assert.deepEqual(cancelled.records, []);
    assert.match(cancelled.reason, /^cancelled by alice; proposal mig-\S+ withdrawn$/);
    assert.deepEqual(resumed(), [['succeed', 'gate-token', 'check']]);
    assert.equal(waits.items.size, 0, 'the wait went with the resume');
    const proposal = await governance.proposal('acme', plan.proposalId ?? '');
    assert.ok(isWithdrawn(proposal));
    assert.equal(proposal?.reasons.at(-1), `withdrawn by alice: run ${run.runId} cancelled`);
    assert.equal((await approvals.get('acme', approvalIdOf(plan.proposalId ?? '')))?.status, 'refused');
    assert.deepEqual(
      workflow.calls.map((call) => [call.kind, call.token, call.kind === 'fail' ? call.error : '']),
      [['fail', 'approval-token', PROPOSAL_WITHDRAWN]],
    );
    const completed = outbox.published.find((event) => event.detailType === 'migration.run.completed');
    assert.deepEqual([completed?.detail.outcome, completed?.detail.completed], ['cancelled', 0]);
    assert.equal(store.planItems.get(plan.planId)?.activeRunId, undefined, 'the plan is released');
  });

  it("by another operator: the run is cancelled, the proposer's proposal stays pending and the reason says why", async () => {
    const { plan, run } = await waiting();
    const cancelled = await cancelRun('acme', run.runId, { actor: 'bob', roles: ['operator'] }, cancelDeps());
    assert.equal(cancelled.status, 'cancelled');
    assert.match(cancelled.reason, /stays pending \(only its proposer alice or an admin may withdraw it\)/);
    assert.equal((await governance.proposal('acme', plan.proposalId ?? ''))?.status, 'pending');
    assert.deepEqual(workflow.calls, []);
    assert.deepEqual(resumed(), [['succeed', 'gate-token', 'check']], 'the run stops waiting all the same');
  });

  it('by an admin who did not propose it: withdrawn', async () => {
    const { plan, run } = await waiting();
    await cancelRun('acme', run.runId, { actor: 'root', roles: ['admin'] }, cancelDeps());
    assert.ok(isWithdrawn(await governance.proposal('acme', plan.proposalId ?? '')));
  });

  it('refuses a running or ended run (409) and writes nothing more', async () => {
    const { run } = await waiting();
    await cancelRun('acme', run.runId, { actor: 'alice', roles: ['operator'] }, cancelDeps());
    const published = outbox.published.length;
    await assert.rejects(cancelRun('acme', run.runId, { actor: 'alice', roles: ['operator'] }, cancelDeps()), ConflictError);
    assert.equal(outbox.published.length, published);
  });
});
