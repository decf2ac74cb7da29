/**
 * The self-repair loop's steps (lib/reflex/loop.ts) on in-memory ports, with Reflex's real
 * diagnosis, governance's real propose() and the Execution engine's real run(): the pure rules
 * (execution names, the gate's verdict, the next round, the recovery judgement, the finish) and the
 * steps chained as the state machine chains them: recovered, executor failure → next playbook,
 * not recovered → people asked, a kill switch, a gate that waits and is resumed once.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { catalogEntry } from '../../events/catalog.ts';
import { ConflictError, NotFoundError } from '../../lib/errors.ts';
import type { BusEvent } from '../../lib/events/publisher.ts';
import type { ExecutionDeps, RunStore } from '../../lib/execution/engine.ts';
import type { Executor, ExecutorRegistry } from '../../lib/execution/executor.ts';
import type { Run } from '../../lib/execution/schemas.ts';
import { GateClosedError, type WorkflowCallbacks } from '../../lib/governance/approvals.ts';
import { resumeSettled } from '../../lib/governance/gate-wait.ts';
import type { PolicyDecision, ProposalState } from '../../lib/governance/model.ts';
import type { Proposal } from '../../lib/governance/proposals.ts';
import { defaultSettings } from '../../lib/governance/settings.ts';
import type { ClusterStats } from '../../lib/reflex/cases.ts';
import { type CaseStore, type IncidentStore, onIncidentClosed, type ReflexDeps } from '../../lib/reflex/incidents.ts';
import {
  awaitGate,
  checkStep,
  diagnoseStep,
  executeStep,
  finishStep,
  gateVerdict,
  judgeRecovery,
  type LoopState,
  loopExecutionName,
  loopInputOf,
  loopStateSchema,
  nextRound,
  type RecoveryFacts,
  recordStep,
  type SeriesHealth,
  stopWaiting,
  verifyStep,
} from '../../lib/reflex/loop.ts';
import type { Point } from '../../lib/reflex/rca.ts';
import { componentGraph, type RegistryStore } from '../../lib/reflex/registry.ts';
import {
  type Case,
  type ClosedMarker,
  type Component,
  componentSchema,
  type Incident,
  type IncidentOpened,
  incidentIdOf,
} from '../../lib/reflex/schemas.ts';
import { DEFAULT_LOOP_CONFIG, type LoopConfigStore, type StoredLoopConfig, updateLoopConfig } from '../../lib/reflex/settings.ts';
import {
  fixedPolicy,
  type MemoryGovernanceStore,
  type MemoryOutbox,
  memoryApprovalStore,
  memoryGateWaits,
  memoryGovernanceStore,
  memoryOutbox,
  recordingGate,
} from '../helpers/governance-memory.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T10:00:00Z');
const ALLOW: PolicyDecision = { decision: 'allow', policies: ['base/engines-actuate'], errors: [], version: 0, breakGlass: false };
const SERIES = 'svc.latency';
const START = new Date(T0 + 40 * MINUTE).toISOString();
const INCIDENT = incidentIdOf(SERIES, START);

/** A service with two playbooks through the webhook executor (the fake below); `broken` URLs fail to plan. */
const component = (bindings: Record<string, string>): Component =>
  componentSchema.parse({
    id: 'svc',
    kind: 'service',
    environment: 'dev',
    series: [SERIES],
    bindings: Object.fromEntries(Object.entries(bindings).map(([playbook, url]) => [playbook, { kind: 'webhook', resource: url }])),
  });

/** An executor port that records what it changed; a resource with `broken` in it cannot be read. */
function fakeExecutor(applied: string[]): Executor<Record<string, unknown>> {
  return {
    kind: 'webhook',
    description: 'test executor',
    actions: ['reflex:restart', 'reflex:roll-back', 'reflex:scale-out', 'reflex:fail-over', 'reflex:throttle', 'reflex:quarantine'],
    scope: 'ops.example',
    parameters: (_action, raw) => raw,
    async dryRun(request) {
      if (request.binding.resource.includes('broken')) throw new NotFoundError(`${request.binding.resource} does not answer`);
      return { before: { applied: false }, after: { applied: true }, changes: [`${request.action} on ${request.binding.resource}`] };
    },
    async execute(request) {
      applied.push(`${request.action} ${request.binding.resource}`);
      return { before: { applied: false }, after: { applied: true }, detail: 'done' };
    },
    async readBack() {
      return { applied: true };
    },
  };
}

function memoryIncidents(outbox: MemoryOutbox): IncidentStore & { items: Map<string, Incident> } {
  const items = new Map<string, Incident>();
  const markers = new Map<string, ClosedMarker>();
  return {
    items,
    async closedMarker(tenant, id) {
      const marker = markers.get(`${tenant}/${id}`);
      return marker && structuredClone(marker);
    },
    async putClosedMarker(marker) {
      const key = `${marker.tenant}/${marker.incidentId}`;
      if (!markers.has(key)) markers.set(key, structuredClone(marker));
    },
    async incident(tenant, id) {
      const item = items.get(`${tenant}/${id}`);
      return item && structuredClone(item);
    },
    async putIncident(next, expected, events) {
      if (items.get(`${next.tenant}/${next.incidentId}`)?.version !== expected)
        throw new ConflictError(`Incident ${next.incidentId} changed`);
      items.set(`${next.tenant}/${next.incidentId}`, structuredClone(next));
      return outbox.save(next.tenant, events);
    },
    async incidents(tenant, query) {
      return [...items.values()].filter((item) => item.tenant === tenant && item.open === query.open).map((item) => structuredClone(item));
    },
  };
}

function memoryCases(): CaseStore & { list: Case[] } {
  const list: Case[] = [];
  const stats = new Map<string, ClusterStats>();
  return {
    list,
    async cases(_tenant, limit) {
      return structuredClone(list.slice(-limit).reverse());
    },
    async clusterStats(_tenant, cluster) {
      return structuredClone(stats.get(cluster) ?? {});
    },
    async addCase(_tenant, entry) {
      if (list.some((existing) => existing.caseId === entry.caseId)) return;
      list.push(structuredClone(entry));
    },
  };
}

function memoryRuns(outbox: MemoryOutbox): RunStore {
  const items = new Map<string, Run>();
  return {
    async get(tenant, id) {
      const item = items.get(`${tenant}/${id}`);
      return item && structuredClone(item);
    },
    async put(next, expected, events: BusEvent[]) {
      if (items.get(`${next.tenant}/${next.executionId}`)?.version !== expected) throw new ConflictError('changed');
      items.set(`${next.tenant}/${next.executionId}`, structuredClone(next));
      return outbox.save(next.tenant, events);
    },
    async release(tenant, id) {
      items.delete(`${tenant}/${id}`);
    },
  };
}

/** Callbacks that record what resumed the machine; `closed` makes every call find the task gone. */
function recordingCallbacks(): WorkflowCallbacks & { sent: Array<{ token: string; state: LoopState }>; closed: boolean } {
  const sent: Array<{ token: string; state: LoopState }> = [];
  const callbacks = {
    sent,
    closed: false,
    async succeed(token: string, output: unknown) {
      if (callbacks.closed) throw new GateClosedError('The gate does not wait any more (TaskTimedOut)');
      sent.push({ token, state: loopStateSchema.parse((output as { state: unknown }).state) });
    },
    async fail() {},
    async heartbeat() {},
  };
  return callbacks;
}

interface World {
  outbox: MemoryOutbox;
  governance: MemoryGovernanceStore;
  incidents: ReturnType<typeof memoryIncidents>;
  cases: ReturnType<typeof memoryCases>;
  reflex: ReflexDeps;
  execution: ExecutionDeps;
  config: LoopConfigStore & { stored: StoredLoopConfig };
  health: Map<string, SeriesHealth>;
  waits: ReturnType<typeof memoryGateWaits>;
  callbacks: ReturnType<typeof recordingCallbacks>;
  applied: string[];
  clock: { now: number };
}

let world: World;

function build(bindings: Record<string, string>, overrides: Partial<StoredLoopConfig> = {}): World {
  const outbox = memoryOutbox();
  const governance = memoryGovernanceStore(outbox);
  const incidents = memoryIncidents(outbox);
  const cases = memoryCases();
  const clock = { now: T0 + 41 * MINUTE };
  const registryStore: Pick<RegistryStore, 'registry'> = {
    registry: async (tenant) => ({ tenant, generation: 1, components: [component(bindings)] }),
  };
  const points: Point[] = Array.from({ length: 60 }, (_, step) => [T0 + step * MINUTE, 100 + (step % 3) * 0.1 + (step >= 40 ? 40 : 0)]);
  const reflex: ReflexDeps = {
    registry: registryStore,
    incidents,
    cases,
    series: { recent: async () => new Map([[SERIES, points]]) },
    outbox,
    governance: {
      store: governance,
      policy: fixedPolicy(ALLOW),
      components: componentGraph(registryStore),
      gate: recordingGate(),
      outbox,
      now: new Date(clock.now),
      newId: () => 'unused',
    },
    now: new Date(clock.now),
  };
  const applied: string[] = [];
  const execution: ExecutionDeps = {
    executors: { webhook: fakeExecutor(applied) } as ExecutorRegistry,
    runs: memoryRuns(outbox),
    governance,
    outbox,
    stage: { accountId: '123456789012', region: 'us-east-1', webhookAllowList: ['https://ops.example/'] },
    now: () => new Date(clock.now),
  };
  const config = {
    stored: { ...DEFAULT_LOOP_CONFIG, version: 0, ...overrides },
    async loopConfig() {
      return structuredClone(config.stored);
    },
    async putLoopConfig(_tenant: string, next: StoredLoopConfig, expected: number) {
      if (config.stored.version !== expected) throw new ConflictError('changed');
      config.stored = structuredClone(next);
    },
  };
  return {
    outbox,
    governance,
    incidents,
    cases,
    reflex,
    execution,
    config,
    health: new Map([[SERIES, { count: 212, openIncidentStart: Date.parse(START), flags: Array(12).fill(1) }]]),
    waits: memoryGateWaits(),
    callbacks: recordingCallbacks(),
    applied,
    clock,
  };
}

const opened = (tenant = 'acme'): IncidentOpened => ({ tenant, series: SERIES, detector: 'ewma', start: START });
const loopDeps = () => ({
  reflex: { ...world.reflex, now: new Date(world.clock.now) },
  config: world.config,
  now: new Date(world.clock.now),
});
const gateDeps = () => ({
  gate: { waits: world.waits, proposals: world.governance, callbacks: world.callbacks, now: new Date(world.clock.now) },
  store: world.governance,
  outbox: world.outbox,
  approvals: memoryApprovalStore(world.outbox),
  approvalOutbox: world.outbox,
  incidents: world.incidents,
  now: new Date(world.clock.now),
});
const checkDeps = () => ({ store: world.governance, incidents: world.incidents, now: new Date(world.clock.now) });
/** What governance's gate-resume does on the proposal's settled event. */
const settled = (proposalId: string | undefined, status: ProposalState) =>
  resumeSettled({ tenant: 'acme', proposalId: proposalId ?? '', status }, gateDeps().gate);
const actDeps = () => ({
  incidents: world.incidents,
  series: { health: async (_tenant: string, series: string) => structuredClone(world.health.get(series)) },
  execution: world.execution,
  now: () => new Date(world.clock.now),
});
const published = (detailType: string) =>
  world.outbox.published.filter((event) => event.detailType === detailType).map((event) => event.detail);
const later = (seconds: number) => {
  world.clock.now += seconds * 1000;
};

/** Runs the gate step and returns the state it resumed the loop with (it must resume at once), bound for the check step. */
async function gate(state: LoopState): Promise<LoopState> {
  const before = world.callbacks.sent.length;
  assert.equal(await awaitGate({ taskToken: `token-${state.round}`, state }, gateDeps()), 'resumed');
  const resumed = world.callbacks.sent.at(before);
  assert.ok(resumed);
  return resumed.state;
}

/** Verify steps until a verdict, advancing the clock by each wait. */
async function verifyUntilJudged(state: LoopState, onWait: (state: LoopState) => void = () => {}): Promise<LoopState> {
  let current = state;
  for (let looks = 0; current.next === 'verify'; looks += 1) {
    assert.ok(looks < 100, 'the verify step ends within its window');
    later(current.waitSeconds);
    onWait(current);
    current = await verifyStep(current, actDeps());
  }
  return current;
}

describe('self-repair loop: rules', () => {
  it('names executions after tenant and incident: ≤ 80 of A-Z a-z 0-9 _ -, stable, distinct for incidents that share a long prefix', () => {
    const long = `${'x'.repeat(150)}@2026-12-01T10:00:00.000Z`;
    const names = [
      loopExecutionName('acme', INCIDENT),
      loopExecutionName('acme', long),
      loopExecutionName('acme', `${'x'.repeat(150)}@2026-12-01T10:01:00.000Z`),
      loopExecutionName('globex', INCIDENT),
    ];
    for (const name of names) assert.match(name, /^[A-Za-z0-9_-]{1,80}$/);
    assert.equal(new Set(names).size, names.length);
    assert.equal(loopExecutionName('acme', INCIDENT), names[0]);
    assert.match(names[0] ?? '', /^acme-svc-latency-2026-12-01T10-40-00-000Z-[0-9a-f]{16}$/);
  });

  it("gives the gate's verdict: a kill switch ends the loop whatever the proposal; approved (or run already) goes on; pending waits; the rest end", () => {
    const proposal = (status: Proposal['status']) => ({ proposalId: 'p-1', status, reasons: ['why'] }) as Proposal;
    assert.deepEqual(gateVerdict(proposal('approved'), 'The kill switch of tenant acme is on'), {
      next: 'end',
      outcome: 'halted',
      reason: 'The kill switch of tenant acme is on',
    });
    for (const status of ['approved', 'executed', 'failed'] as const)
      assert.deepEqual(gateVerdict(proposal(status), undefined), { next: 'check' });
    assert.deepEqual(gateVerdict(proposal('pending'), undefined), { next: 'wait' });
    const ends = (['rejected', 'timed-out', 'refused'] as const).map((status) => {
      const verdict = gateVerdict(proposal(status), undefined);
      return verdict.next === 'end' ? verdict.outcome : verdict.next;
    });
    assert.deepEqual(ends, ['rejected', 'timed-out', 'refused']);
    assert.deepEqual(gateVerdict(undefined, undefined), { next: 'end', outcome: 'failed', reason: 'the proposal was not found' });
  });

  it('judges recovery: Observation closed the incident, or the newest calm points since the run; not recovered once the window is over; pending waits at most to the deadline', () => {
    const facts: RecoveryFacts = {
      incidentStart: Date.parse(START),
      health: { count: 220, openIncidentStart: Date.parse(START), flags: [1, 1, 1, 1, 1, 1, 0, 0, 0, 0] },
      reflexOpen: true,
      baseline: 212,
      calmPoints: 5,
      now: T0,
      executedAt: T0 - 30_000,
      deadline: T0 + 25_000,
      intervalSeconds: 10,
      windowSeconds: 55,
    };
    const pending = judgeRecovery(facts);
    assert.equal(pending.status, 'pending');
    assert.equal(pending.waitSeconds, 10);
    assert.deepEqual([pending.evidence.pointsSince, pending.evidence.calmPoints, pending.evidence.trackerOpen], [8, 4, true]);
    assert.equal(judgeRecovery({ ...facts, now: T0 + 22_500 }).waitSeconds, 3, 'never past the deadline');

    const closed = judgeRecovery({ ...facts, health: { ...(facts.health as SeriesHealth), openIncidentStart: null } });
    assert.deepEqual([closed.status, closed.evidence.reasons], ['recovered', ['Observation closed the incident']]);
    assert.equal(judgeRecovery({ ...facts, reflexOpen: false }).status, 'recovered', 'Reflex heard it close');
    const another = judgeRecovery({ ...facts, health: { ...(facts.health as SeriesHealth), openIncidentStart: T0 } });
    assert.equal(another.status, 'recovered', 'a newer incident is not this one');

    const calm = judgeRecovery({
      ...facts,
      health: { count: 221, openIncidentStart: Date.parse(START), flags: [1, 1, 1, 1, 1, 0, 0, 0, 0, 0] },
    });
    assert.equal(calm.status, 'recovered');
    assert.match(calm.evidence.reasons[0] ?? '', /last 5 points since the run are within the detector's band/);
    // Calm points from before the run do not count.
    const old = judgeRecovery({
      ...facts,
      baseline: 218,
      health: { count: 221, openIncidentStart: Date.parse(START), flags: [0, 0, 0, 0, 0, 0, 0, 1, 0, 0] },
    });
    assert.equal(old.status, 'pending');
    assert.equal(old.evidence.calmPoints, 2);

    const over = judgeRecovery({ ...facts, now: facts.deadline });
    assert.equal(over.status, 'not-recovered');
    assert.match(over.evidence.reasons.join('; '), /still open after the 55 s recovery window/);
    assert.equal(
      judgeRecovery({ ...facts, health: undefined, now: facts.deadline }).status,
      'not-recovered',
      'a series gone: Reflex decides',
    );
  });

  it("changes a tenant's settings field by field, versioned, retried after a lost race", async () => {
    world = build({ restart: 'https://ops.example/a' });
    let races = 1;
    const store: LoopConfigStore = {
      loopConfig: world.config.loopConfig,
      async putLoopConfig(tenant, next, expected) {
        if (races > 0) {
          races -= 1;
          world.config.stored = { ...world.config.stored, calmPoints: 9, version: world.config.stored.version + 1 };
        }
        return world.config.putLoopConfig(tenant, next, expected);
      },
    };
    const next = await updateLoopConfig('acme', { recoveryWindowSeconds: 60 }, 'alice', { store, now: new Date(T0) });
    assert.deepEqual([next.recoveryWindowSeconds, next.calmPoints, next.version, next.updatedBy], [60, 9, 2, 'alice']);
    assert.equal(next.verifyIntervalSeconds, DEFAULT_LOOP_CONFIG.verifyIntervalSeconds);
  });
});

describe('self-repair loop: the steps chained as the machine chains them', () => {
  beforeEach(() => {
    world = build({ restart: 'https://ops.example/restart', 'roll-back': 'https://ops.example/roll-back' }, { recoveryWindowSeconds: 60 });
  });

  it('diagnoses, proposes (autonomous), passes the gate at once, runs the playbook, sees the incident close, records the recovery and finishes once', async () => {
    const input = loopInputOf(opened());
    const execution = loopExecutionName('acme', input.incidentId);
    let state = await diagnoseStep({ ...input, execution }, loopDeps());
    assert.equal(state.next, 'gate');
    assert.equal(state.round, 1);
    assert.equal(state.gateTimeoutSeconds, 86_400 * 2 + 300);
    assert.deepEqual(state.settings, { recoveryWindowSeconds: 60, verifyIntervalSeconds: 10, calmPoints: 5, maxFailedPlaybooks: 3 });
    assert.equal((await world.governance.proposal('acme', state.proposalId ?? ''))?.status, 'approved');
    assert.deepEqual(await diagnoseStep({ ...input, execution }, loopDeps()), state, 'a retried diagnosis proposes nothing new');

    state = await gate(state);
    assert.equal(state.next, 'check');
    state = await checkStep(state, checkDeps());
    assert.equal(state.next, 'execute');
    state = await executeStep(state, actDeps());
    assert.equal(state.next, 'verify');
    assert.equal(world.applied.length, 1, 'the playbook acted once');
    assert.equal(state.run?.baseline, 212);
    assert.equal((await world.governance.proposal('acme', state.proposalId ?? ''))?.status, 'executed');

    state = await verifyUntilJudged(state, (waiting) => {
      // Three looks later the series is back and Observation closes the incident.
      if (Date.parse(waiting.run?.executedAt ?? '') + 25_000 <= world.clock.now) {
        world.health.set(SERIES, { count: 230, openIncidentStart: null, flags: Array(12).fill(0) });
      }
    });
    assert.equal(state.next, 'record');
    assert.equal(state.recovery, 'recovered');
    assert.equal(state.evidence?.trackerOpen, false);
    assert.equal(state.evidence?.executionId, `exec-${state.proposalId}`);
    state = await recordStep(state, loopDeps());
    assert.deepEqual([state.next, state.outcome], ['end', 'recovered']);
    assert.deepEqual(
      world.cases.list.map((entry) => entry.outcome),
      ['recovered'],
    );

    const finish = { execution, state: { tenant: 'acme', incidentId: input.incidentId, loop: { state } } };
    assert.deepEqual(await finishStep(finish, { incidents: world.incidents, outbox: world.outbox, now: new Date(world.clock.now) }), {
      outcome: 'recovered',
      reason: state.reason,
      rounds: 1,
    });
    await finishStep(finish, { incidents: world.incidents, outbox: world.outbox, now: new Date(world.clock.now) });
    const incident = await world.incidents.incident('acme', input.incidentId);
    assert.equal(incident?.loop?.outcome, 'recovered');
    assert.equal(incident?.loop?.execution, execution);
    assert.deepEqual(Object.keys(incident?.loop?.timeline ?? {}), ['started', 'diagnosed', 'decided', 'executed', 'verified']);

    // Every step in the ledger, each event catalogued.
    const recorded = world.outbox.recorded.map((entry) => entry.event.detailType);
    for (const detailType of [
      'reflex.incident.diagnosed',
      'reflex.playbook.chosen',
      'governance.proposal.evaluated',
      'execution.run.completed',
      'reflex.recovery.verified',
      'reflex.loop.completed',
    ]) {
      assert.ok(recorded.includes(detailType), `${detailType} recorded`);
    }
    assert.equal(published('reflex.loop.completed').length, 1, 'finished once');
    const [verified] = published('reflex.recovery.verified');
    const detail = catalogEntry('reflex.recovery.verified').schema.parse(verified);
    assert.deepEqual([detail.outcome, detail.actor, detail.evidence.method], ['recovered', 'system:self-repair', 'observed']);
  });

  it('records an executor failure as not recovered and proposes the next playbook; that one recovers by calm points', async () => {
    world = build({ restart: 'https://ops.example/broken', 'roll-back': 'https://ops.example/roll-back' }, { recoveryWindowSeconds: 60 });
    const input = loopInputOf(opened());
    let state = await diagnoseStep({ ...input, execution: 'x' }, loopDeps());
    const first = (await world.incidents.incident('acme', input.incidentId))?.attempts[0];
    // Make round 1 the broken one whatever the draw chose.
    if (first?.playbook !== 'restart') {
      world = build({ restart: 'https://ops.example/roll-back', 'roll-back': 'https://ops.example/broken' }, { recoveryWindowSeconds: 60 });
      state = await diagnoseStep({ ...input, execution: 'x' }, loopDeps());
    }
    state = await checkStep(await gate(state), checkDeps());
    state = await executeStep(state, actDeps());
    assert.deepEqual(
      [state.next, state.recovery, state.evidence?.method, state.evidence?.run],
      ['record', 'not-recovered', 'executor-failed', 'failed'],
    );
    assert.match(state.evidence?.reasons.join('; ') ?? '', /does not answer/);
    assert.equal(world.applied.length, 0, 'nothing changed');
    state = await recordStep(state, loopDeps());
    assert.deepEqual([state.next, state.round], ['gate', 2]);

    state = await checkStep(await gate(state), checkDeps());
    state = await executeStep(state, actDeps());
    assert.equal(state.next, 'verify');
    // Six calm points since the run, the tracker still open: back within the band.
    world.health.set(SERIES, { count: 218, openIncidentStart: Date.parse(START), flags: [...Array(6).fill(1), ...Array(6).fill(0)] });
    state = await verifyUntilJudged(state);
    assert.deepEqual([state.recovery, state.evidence?.calmPoints], ['recovered', 6]);
    state = await recordStep(state, loopDeps());
    assert.deepEqual([state.next, state.outcome], ['end', 'recovered']);
    assert.deepEqual(
      world.cases.list.map((entry) => entry.outcome),
      ['not-recovered', 'recovered'],
    );
  });

  it('asks people after the tenant’s maxFailedPlaybooks failures: the next proposal waits for them; with nothing left the loop ends escalated', async () => {
    world.config.stored = { ...world.config.stored, maxFailedPlaybooks: 1, recoveryWindowSeconds: 30 };
    const input = loopInputOf(opened());
    let state = await diagnoseStep({ ...input, execution: 'x' }, loopDeps());
    state = await executeStep(await checkStep(await gate(state), checkDeps()), actDeps());
    state = await verifyUntilJudged(state);
    assert.equal(state.recovery, 'not-recovered', 'the series stays shifted through the window');
    assert.equal(state.evidence?.trackerOpen, true);
    state = await recordStep(state, loopDeps());
    assert.deepEqual([state.next, state.round], ['gate', 2]);
    const second = await world.governance.proposal('acme', state.proposalId ?? '');
    assert.deepEqual([second?.route, second?.status], ['human-approval', 'pending'], 'people decide round 2');
    assert.equal((await world.incidents.incident('acme', input.incidentId))?.state, 'escalated');
    assert.equal(await awaitGate({ taskToken: 't2', state }, gateDeps()), 'waiting');

    // Approved by people (the gate settles it): resumed once, by the settled event.
    await world.governance.putProposal(
      { ...(second as Proposal), status: 'approved', version: (second?.version ?? 0) + 1 },
      second?.version,
      [],
    );
    assert.equal(await settled(state.proposalId, 'approved'), 'resumed');
    state = world.callbacks.sent.at(-1)?.state as LoopState;
    state = await executeStep(await checkStep(state, checkDeps()), actDeps());
    state = await recordStep(await verifyUntilJudged(state), loopDeps());
    assert.deepEqual([state.next, state.outcome], ['end', 'escalated']);
    assert.match(state.reason, /no playbook left|people are asked/);
  });

  it('ends halted when a kill switch is on: at the gate, or just before acting (nothing runs)', async () => {
    const input = loopInputOf(opened());
    const state = await diagnoseStep({ ...input, execution: 'x' }, loopDeps());
    const settings = await world.governance.settings('acme');
    const killSwitch = { enabled: true, reason: 'incident review', by: 'root', at: new Date(T0).toISOString() };
    await world.governance.putSettings({ ...settings, killSwitch, version: settings.version + 1 }, settings.version, []);
    const atGate = await checkStep(await gate(state), checkDeps());
    assert.deepEqual([atGate.next, atGate.outcome], ['end', 'halted']);
    assert.match(atGate.reason, /kill switch of tenant acme is on/);
    const beforeActing = await checkStep({ ...state, next: 'check' }, checkDeps());
    assert.deepEqual([beforeActing.next, beforeActing.outcome], ['end', 'halted']);
    assert.equal(world.applied.length, 0);
  });

  it('resumes a waiting gate once: nothing while pending, the check step reads the verdict after, and a loop that moved on is left alone', async () => {
    const state: LoopState = {
      ...(await diagnoseStep({ ...loopInputOf(opened()), execution: 'x' }, loopDeps())),
    };
    const proposal = (await world.governance.proposal('acme', state.proposalId ?? '')) as Proposal;
    await world.governance.putProposal({ ...proposal, status: 'pending', version: proposal.version + 1 }, proposal.version, []);
    assert.equal(await awaitGate({ taskToken: 'tk', state }, gateDeps()), 'waiting');
    assert.equal(await settled(state.proposalId, 'pending'), 'waiting');
    assert.equal(await settled('other', 'rejected'), 'none');
    const pending = (await world.governance.proposal('acme', state.proposalId ?? '')) as Proposal;
    await world.governance.putProposal(
      { ...pending, status: 'rejected', reasons: ['not now'], version: pending.version + 1 },
      pending.version,
      [],
    );
    assert.equal(await settled(state.proposalId, 'rejected'), 'resumed');
    const resumed = world.callbacks.sent.at(-1);
    assert.deepEqual([resumed?.token, resumed?.state.next], ['tk', 'check']);
    const checked = await checkStep(resumed?.state as LoopState, checkDeps());
    assert.deepEqual([checked.next, checked.outcome], ['end', 'rejected']);
    assert.ok(checked.timeline.decided, 'the check step marks when the loop learned the decision');
    assert.equal(await settled(state.proposalId, 'rejected'), 'none', 'the wait went with the resume');
    world.callbacks.closed = true;
    assert.equal(await awaitGate({ taskToken: 'tk-2', state }, gateDeps()), 'gone');
  });

  it('ends closed without proposing or acting when Observation closed the incident before the diagnose step, also when the step runs again', async () => {
    const input = loopInputOf(opened());
    assert.equal(await onIncidentClosed({ tenant: 'acme', series: SERIES, start: START, end: START }, world.reflex), undefined);
    const state = await diagnoseStep({ ...input, execution: 'x' }, loopDeps());
    assert.deepEqual([state.next, state.outcome, state.proposalId], ['end', 'closed', undefined]);
    const again = await diagnoseStep({ ...input, execution: 'x' }, loopDeps());
    assert.deepEqual([again.next, again.outcome], ['end', 'closed']);
    const finished = await finishStep(
      { execution: 'x', state: { tenant: 'acme', incidentId: input.incidentId, loop: { state } } },
      { incidents: world.incidents, outbox: world.outbox, now: new Date(world.clock.now) },
    );
    assert.equal(finished.outcome, 'closed');
    const incident = await world.incidents.incident('acme', input.incidentId);
    assert.deepEqual([incident?.open, incident?.state, incident?.attempts.length, incident?.loop?.outcome], [false, 'closed', 0, 'closed']);
    assert.deepEqual(world.applied, []);
    assert.equal(published('reflex.playbook.chosen').length, 0);
  });

  it('ends closed at the check step when the close comes after the diagnose step (the record exists: closed as before)', async () => {
    const input = loopInputOf(opened());
    const state = await diagnoseStep({ ...input, execution: 'x' }, loopDeps());
    assert.equal(state.next, 'gate');
    const closed = await onIncidentClosed({ tenant: 'acme', series: SERIES, start: START }, world.reflex);
    assert.equal(closed?.open, false);
    const checked = await checkStep(await gate(state), checkDeps());
    assert.deepEqual([checked.next, checked.outcome], ['end', 'closed']);
    assert.deepEqual(world.applied, []);
  });

  it('stops waiting for a proposal when the incident ends meanwhile: resumed on the close, its proposal withdrawn, ended closed', async () => {
    const input = loopInputOf(opened());
    const state = await diagnoseStep({ ...input, execution: 'x' }, loopDeps());
    const proposal = (await world.governance.proposal('acme', state.proposalId ?? '')) as Proposal;
    await world.governance.putProposal({ ...proposal, status: 'pending', version: proposal.version + 1 }, proposal.version, []);
    assert.equal(await awaitGate({ taskToken: 'tk', state }, gateDeps()), 'waiting');
    const incident = (await world.incidents.incident('acme', input.incidentId)) as Incident;
    await world.incidents.putIncident({ ...incident, open: false, state: 'closed', version: incident.version + 1 }, incident.version, []);
    assert.equal(await stopWaiting('acme', state.proposalId ?? '', gateDeps()), 'resumed');
    const checked = await checkStep(world.callbacks.sent.at(-1)?.state as LoopState, checkDeps());
    assert.deepEqual([checked.next, checked.outcome], ['end', 'closed']);
    // The proposal nobody decided is withdrawn (governance refuses it); its settled event finds no loop waiting.
    const withdrawn = (await world.governance.proposal('acme', state.proposalId ?? '')) as Proposal;
    assert.deepEqual(
      [withdrawn.status, withdrawn.reasons.at(-1)],
      ['refused', 'withdrawn by engine:reflex: incident closed before a decision'],
    );
    assert.equal(await settled(state.proposalId, 'refused'), 'none');
    assert.equal(await stopWaiting('acme', state.proposalId ?? '', gateDeps()), 'none');
  });

  it('withdraws and resumes at once when the incident closed before the gate step kept its wait', async () => {
    const input = loopInputOf(opened());
    const state = await diagnoseStep({ ...input, execution: 'x' }, loopDeps());
    const proposal = (await world.governance.proposal('acme', state.proposalId ?? '')) as Proposal;
    await world.governance.putProposal({ ...proposal, status: 'pending', version: proposal.version + 1 }, proposal.version, []);
    const incident = (await world.incidents.incident('acme', input.incidentId)) as Incident;
    await world.incidents.putIncident({ ...incident, open: false, state: 'closed', version: incident.version + 1 }, incident.version, []);
    // The close came first and found no loop waiting.
    assert.equal(await stopWaiting('acme', state.proposalId ?? '', gateDeps()), 'none');
    assert.equal(await awaitGate({ taskToken: 'tk', state }, gateDeps()), 'resumed');
    assert.equal((await world.governance.proposal('acme', state.proposalId ?? ''))?.status, 'refused');
    const checked = await checkStep(world.callbacks.sent.at(-1)?.state as LoopState, checkDeps());
    assert.deepEqual([checked.next, checked.outcome], ['end', 'closed']);
  });

  it('leaves the next round alone when the incident closed meanwhile; finishes a failed step as failed, people asked after a timeout', async () => {
    const input = loopInputOf(opened());
    const state = await diagnoseStep({ ...input, execution: 'x' }, loopDeps());
    const incident = (await world.incidents.incident('acme', input.incidentId)) as Incident;
    await world.incidents.putIncident({ ...incident, open: false, state: 'closed', version: incident.version + 1 }, incident.version, []);
    const closed = await checkStep(await gate(state), checkDeps());
    assert.deepEqual([closed.next, closed.outcome], ['end', 'closed']);
    assert.deepEqual(nextRound({ ...incident, state: 'unassigned' }, state, 1).outcome, 'unassigned');

    const failed = await finishStep(
      {
        execution: 'e-1',
        state: {
          tenant: 'acme',
          incidentId: input.incidentId,
          outcome: 'failed',
          failure: { Error: 'DependencyError', Cause: 'DynamoDB unavailable' },
        },
      },
      { incidents: world.incidents, outbox: world.outbox, now: new Date(T0) },
    );
    assert.equal(failed.outcome, 'failed');
    assert.match(failed.reason, /DependencyError: DynamoDB unavailable/);
    const open = (await world.incidents.incident('acme', input.incidentId)) as Incident;
    await world.incidents.putIncident(
      { ...open, open: true, state: 'proposed', loop: undefined, version: open.version + 1 },
      open.version,
      [],
    );
    const timedOut = await finishStep(
      { execution: 'e-2', state: { tenant: 'acme', incidentId: input.incidentId, outcome: 'timed-out', loop: { state } } },
      { incidents: world.incidents, outbox: world.outbox, now: new Date(T0) },
    );
    assert.equal(timedOut.outcome, 'timed-out');
    assert.equal((await world.incidents.incident('acme', input.incidentId))?.state, 'escalated');
    for (const detail of published('reflex.loop.completed')) catalogEntry('reflex.loop.completed').schema.parse(detail);
    assert.equal(defaultSettings('acme').config.approvalTimeoutSeconds, 86_400);
  });
});
