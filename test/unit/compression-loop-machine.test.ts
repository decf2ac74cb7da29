/**
 * statemachines/compression-loop.asl.json (Loop 3) on the local Step Functions service, its tasks the
 * real steps (lib/compression/loop.ts) in process over an in-memory compression store, Observation's
 * real ingest over its in-memory series store, and governance's real `propose` and `reportOutcome`
 * over in-memory governance: 20 reports through the feedback path start a run that observes, tunes,
 * proposes compression:tune (autonomous at autonomy level 2) and applies it; a good window changes
 * nothing; a kill switch on applies nothing; a failing task is caught and recorded; at autonomy level
 * 1 the run ends awaiting approval and the proposal's settlement (`resumeOnSettled` on the settled
 * event) starts a resumed run that applies an approved step and records a rejected one; a retried
 * record writes nothing twice. Runs from feedback are started by `recordFeedback` itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkDefinition } from '../../infra/local/stepfunctions/definition-checks.ts';
import { StepFunctionsService, type TaskInvoker } from '../../infra/local/stepfunctions/service.ts';
import {
  type CompressionRun,
  type CompressionStore,
  type LoopStarter,
  NO_EFFECTIVENESS,
  recordFeedback,
  type StoredEffectiveness,
} from '../../lib/compression/engine.ts';
import {
  afterRecord,
  applyStep,
  checkStep,
  FOUND_RATE_SERIES,
  loopInputSchema,
  loopStateSchema,
  observeStep,
  proposeStep,
  RECORDED_EXECUTIONS,
  recordInputSchema,
  recordStep,
  resumeExecutionName,
  resumeInputSchema,
  resumeOnSettled,
  resumeStep,
  settledDetailSchema,
  tuneProposalId,
  tuneStep,
} from '../../lib/compression/loop.ts';
import type { StoredSettings } from '../../lib/compression/routes.ts';
import { DEFAULT_COMPRESSION_SETTINGS } from '../../lib/compression/schemas.ts';
import { TUNER_BOUNDS } from '../../lib/compression/tuner.ts';
import { ConflictError } from '../../lib/errors.ts';
import { type BusEvent, validateEvents } from '../../lib/events/publisher.ts';
import { findActuation } from '../../lib/governance/actuations.ts';
import { propose, reportOutcome, transition } from '../../lib/governance/proposals.ts';
import { defaultSettings } from '../../lib/governance/settings.ts';
import { ingest } from '../../lib/observation/ingest.ts';
import { memorySeriesStore } from '../../lib/observation/memory-store.ts';
import { fixedPolicy, memoryGovernanceStore, memoryOutbox, recordingGate, staticGraph } from '../helpers/governance-memory.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ACCOUNT = '123456789012';
const fnArn = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;
const placeholders: Record<string, string> = {
  LoopObserveFunctionArn: fnArn('observe'),
  LoopCheckFunctionArn: fnArn('check'),
  LoopTuneFunctionArn: fnArn('tune'),
  LoopProposeFunctionArn: fnArn('propose'),
  LoopResumeFunctionArn: fnArn('resume'),
  LoopApplyFunctionArn: fnArn('apply'),
  LoopRecordFunctionArn: fnArn('record'),
};
const definition = readFileSync(path.join(root, 'statemachines', 'compression-loop.asl.json'), 'utf8').replaceAll(
  /\$\{(\w+)\}/g,
  (_match, name: string) => placeholders[name] ?? `unbound-${name}`,
);

/** The compression store in memory, conditional on versions as the DynamoDB one; its events go to `outbox`. */
function memoryCompressionStore(save: (tenant: string, events: readonly BusEvent[]) => ReturnType<typeof outbox.save>) {
  const settings = new Map<string, StoredSettings>();
  const effectiveness = new Map<string, StoredEffectiveness>();
  const runs = new Map<string, CompressionRun>();
  const moveEffectiveness = (tenant: string, next: StoredEffectiveness, expected: number) => {
    if ((effectiveness.get(tenant)?.version ?? 0) !== expected) throw new ConflictError(`effectiveness of ${tenant} moved`);
    effectiveness.set(tenant, structuredClone(next));
  };
  const store: CompressionStore = {
    settings: async (tenant) => structuredClone(settings.get(tenant) ?? { ...DEFAULT_COMPRESSION_SETTINGS, version: 0 }),
    async putSettings(tenant, next, expected, events) {
      if ((settings.get(tenant)?.version ?? 0) !== expected) throw new ConflictError(`settings of ${tenant} moved`);
      settings.set(tenant, structuredClone(next));
      return save(tenant, events);
    },
    effectiveness: async (tenant) => structuredClone(effectiveness.get(tenant) ?? { ...NO_EFFECTIVENESS }),
    async putRun(run, next, expected, events) {
      moveEffectiveness(run.tenant, next, expected);
      runs.set(`${run.tenant}/${run.compressionId}`, structuredClone(run));
      return save(run.tenant, events);
    },
    run: async (tenant, compressionId) => structuredClone(runs.get(`${tenant}/${compressionId}`)),
    async putFeedback(run, next, expected) {
      if (runs.get(`${run.tenant}/${run.compressionId}`)?.feedback) throw new ConflictError('reported already');
      moveEffectiveness(run.tenant, next, expected);
      runs.set(`${run.tenant}/${run.compressionId}`, structuredClone(run));
    },
    async putEffectiveness(tenant, next, expected, events = []) {
      moveEffectiveness(tenant, next, expected);
      return save(tenant, events);
    },
    feedbackTenants: async () => [...effectiveness.entries()].filter(([, each]) => each.recent.length > 0).map(([tenant]) => tenant),
  };
  return { store, runs };
}

const outbox = memoryOutbox();
const compression = memoryCompressionStore((tenant, events) => outbox.save(tenant, events));
const governance = memoryGovernanceStore(outbox);
const policy = fixedPolicy({ decision: 'allow', policies: ['engines-tune'], errors: [], version: 0, breakGlass: false });
const series = memorySeriesStore();
const observed: BusEvent[] = [];
/** Steps that fail (as a broken dependency would), by function name, with the error's name. */
const failing = new Map<string, string>();
/** The calls of each execution, by function name. */
const calls = new Map<string, string[]>();

const invokeTask: TaskInvoker = async ({ input, executionArn }) => {
  const { FunctionName, Payload } = input as { FunctionName: string; Payload: Record<string, unknown> };
  const fn = FunctionName.split(':').at(-1) ?? '';
  calls.set(executionArn, [...(calls.get(executionArn) ?? []), fn]);
  const broken = failing.get(fn);
  if (broken) throw Object.assign(new Error(`${fn} is broken`), { name: broken });
  const now = () => new Date();
  if (fn === 'observe') {
    const parsed = loopInputSchema.extend({ execution: loopStateSchema.shape.execution }).parse(Payload);
    const observe = (tenant: string, points: Parameters<typeof ingest>[1]) =>
      ingest(tenant, points, {
        store: series,
        publisher: {
          async publish(events) {
            validateEvents(events);
            observed.push(...events);
          },
        },
        now,
      });
    return { state: await observeStep(parsed, { store: compression.store, observe, now }) };
  }
  if (fn === 'record') return recordStep(recordInputSchema.parse(Payload), { store: compression.store, outbox, now });
  if (fn === 'resume') return { state: await resumeStep(resumeInputSchema.parse(Payload), { proposal: governance.proposal }) };
  const state = loopStateSchema.parse(Payload.state);
  if (fn === 'check') return { state: await checkStep(state, { governance }) };
  if (fn === 'tune') return { state: tuneStep(state) };
  if (fn === 'propose')
    return {
      state: await proposeStep(state, {
        propose: (proposal, proposer, proposalId) =>
          propose(proposal, proposer, {
            store: governance,
            policy,
            components: staticGraph(),
            gate: recordingGate(),
            outbox,
            now: new Date(),
            newId: () => proposalId,
          }),
        proposal: (tenant, proposalId) => governance.proposal(tenant, proposalId),
      }),
    };
  assert.equal(fn, 'apply');
  return {
    state: await applyStep(state, {
      store: compression.store,
      outbox,
      governance,
      executed: (tenant, proposalId, detail) =>
        reportOutcome(tenant, { proposalId, outcome: 'executed', detail }, 'engine:compression', {
          store: governance,
          outbox,
          now: new Date(),
        }),
      now,
    }),
  };
};

let service: StepFunctionsService;
let dataDir: string;
let machineArn: string;
let starter: LoopStarter;

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'compression-loop-machine-'));
  service = new StepFunctionsService({ dataDir, region: 'us-east-1', accountId: ACCOUNT, invokeTask });
  await service.start();
  machineArn = service.createStateMachine({ name: 'compression-loop', definition, roleArn: `arn:aws:iam::${ACCOUNT}:role/r` });
  starter = {
    async start(name, input) {
      const started = (await service
        .operations()
        .StartExecution?.({ stateMachineArn: machineArn, name, input: JSON.stringify(input) })) as {
        executionArn: string;
      };
      return started.executionArn;
    },
  };
});
after(async () => {
  await service.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** `reports` answer-found reports for `tenant` through the feedback path (each on a compression of its own); the run the last one started. */
async function feedback(tenant: string, reports: boolean[]) {
  let last: Awaited<ReturnType<typeof recordFeedback>> | undefined;
  for (const [index, found] of reports.entries()) {
    const compressionId = `c-${index}`;
    const run: CompressionRun = {
      tenant,
      compressionId,
      contextId: compressionId,
      status: 'compressed',
      tokensIn: 100,
      tokensOut: 40,
      saved: 0.6,
      proposalId: null,
      at: new Date().toISOString(),
    };
    const current = await compression.store.effectiveness(tenant);
    await compression.store.putRun(
      run,
      { ...current, compressions: current.compressions + 1, version: current.version + 1 },
      current.version,
      [],
    );
    last = await recordFeedback(tenant, { compressionId, found }, 'agent', {
      store: compression.store,
      outbox,
      now: new Date(),
      loops: starter,
    });
    if (index < reports.length - 1) assert.equal(last.loop, null, 'no run before the 20th report');
  }
  assert.ok(last?.loop?.started, 'the 20th report starts a run');
  return last.loop.execution;
}

/** Waits for the execution to end; its status, error, states entered and task calls. */
async function ended(name: string) {
  const ops = service.operations();
  const executionArn = `arn:aws:states:us-east-1:${ACCOUNT}:execution:compression-loop:${name}`;
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
  return { status: described.status, error: described.error, states, calls: calls.get(executionArn) ?? [] };
}

const eventsOf = (tenant: string, detailType: string) =>
  outbox.published.filter((event) => event.detailType === detailType && (event.detail as { tenant: string }).tenant === tenant);
const last = <T>(items: T[]): T => {
  const item = items.at(-1);
  assert.ok(item);
  return item;
};
const detailOf = (event: BusEvent) => event.detail as Record<string, unknown>;
const reports = (found: number, missed: number) => [...Array(found).fill(true), ...Array(missed).fill(false)] as boolean[];

describe('statemachines/compression-loop.asl.json (Loop 3)', () => {
  it('is valid ASL the local runner accepts, its placeholders bound, every task with Retry and Catch', () => {
    checkDefinition(definition);
    assert.ok(!definition.includes('unbound-'));
    const states = JSON.parse(definition).States as Record<string, { Type: string; Retry?: unknown[]; Catch?: unknown[] }>;
    const tasks = Object.entries(states).filter(([, state]) => state.Type === 'Task');
    assert.equal(tasks.length, 7);
    for (const [name, state] of tasks) assert.ok(state.Retry?.length && state.Catch?.length, name);
  });

  it("declares compression:tune within the tuner's own bounds", () => {
    assert.deepEqual(findActuation('compression', 'tune')?.bounds, TUNER_BOUNDS);
  });

  it('20 reports with too few answers found: observed into Observation, tuned, proposed (autonomous), applied through the engine, recorded', async () => {
    const tenant = 'acme';
    const execution = await feedback(tenant, reports(14, 6));
    const run = await ended(execution);
    assert.equal(run.status, 'SUCCEEDED', run.error ?? 'no error');
    assert.deepEqual(run.states, [
      'Start',
      'Observe',
      'CheckKillSwitch',
      'AfterCheck',
      'Tune',
      'AfterTune',
      'Propose',
      'AfterPropose',
      'Apply',
      'Record',
      'Outcome',
      'Tuned',
    ]);

    const settings = await compression.store.settings(tenant);
    assert.deepEqual(
      [settings.version, settings.relevanceWeight, settings.itemWeight, settings.summariseAboveTokens],
      [1, 0.75, 0.8, 2048],
    );
    assert.equal(settings.updatedBy, 'engine:compression');
    const proposal = await governance.proposal(tenant, `${execution}-tune`);
    assert.deepEqual([proposal?.action, proposal?.route, proposal?.status], ['tune', 'autonomous', 'executed']);

    const changed = detailOf(last(eventsOf(tenant, 'compression.config.changed')));
    assert.deepEqual(
      [changed.by, changed.execution, changed.proposalId, changed.settingsVersion],
      ['loop', execution, proposal?.proposalId, 1],
    );
    assert.deepEqual(changed.window, { samples: 20, found: 14 });
    const completed = detailOf(last(eventsOf(tenant, 'compression.loop.completed')));
    assert.deepEqual([completed.outcome, completed.trigger, completed.foundRate, completed.settingsVersion], ['tuned', 'feedback', 0.7, 1]);
    assert.ok(
      outbox.recorded.some((entry) => entry.event.detailType === 'compression.loop.completed' && entry.tenant === tenant),
      'in the ledger',
    );

    // Observation watches the found-rate like any metric: one point applied to the tenant's series.
    const record = await series.get(tenant, FOUND_RATE_SERIES);
    assert.ok(record, 'the found-rate series exists');
    assert.equal((await compression.store.effectiveness(tenant)).sinceTune, 0, 'the judged window leaves the count');
  });

  it('a window with enough answers found changes nothing, and records it', async () => {
    const tenant = 'steady';
    // 0.9 ≤ 18/20 < 0.95: neither more focus nor more breadth.
    const run = await ended(await feedback(tenant, reports(18, 2)));
    assert.equal(run.status, 'SUCCEEDED', run.error ?? 'no error');
    assert.deepEqual(run.states.slice(-4), ['AfterTune', 'Record', 'Outcome', 'Unchanged']);
    assert.ok(!run.calls.includes('propose'));
    assert.equal((await compression.store.settings(tenant)).version, 0);
    assert.equal(detailOf(last(eventsOf(tenant, 'compression.loop.completed'))).outcome, 'unchanged');
    assert.equal(
      (await governance.proposals(tenant, 'approved', 10)).length + (await governance.proposals(tenant, 'executed', 10)).length,
      0,
    );
  });

  it('with the kill switch on, proposes and applies nothing, and fails the run as halted', async () => {
    const tenant = 'frozen';
    governance.settingsOf.set(tenant, {
      ...defaultSettings(tenant),
      killSwitch: { enabled: true, by: 'admin@frozen.example', reason: 'incident review', at: new Date().toISOString() },
    });
    const run = await ended(await feedback(tenant, reports(5, 15)));
    assert.equal(run.status, 'FAILED');
    assert.equal(run.error, 'KillSwitchEngaged');
    assert.deepEqual(run.calls, ['observe', 'check', 'record']);
    assert.equal((await compression.store.settings(tenant)).version, 0, 'nothing applied');
    const completed = detailOf(last(eventsOf(tenant, 'compression.loop.completed')));
    assert.equal(completed.outcome, 'halted');
    assert.match(String(completed.reason), /kill switch/);
    assert.equal((await compression.store.effectiveness(tenant)).sinceTune, 20, 'the window waits for a later run');
  });

  it('catches a failing task (an error its Retry does not cover) and records the failure', async () => {
    const tenant = 'broken';
    failing.set('propose', 'ValidationError');
    try {
      const run = await ended(await feedback(tenant, reports(2, 18)));
      assert.equal(run.status, 'FAILED');
      assert.equal(run.error, 'LoopFailed');
      assert.deepEqual(run.states.slice(-5), ['Propose', 'StepFailed', 'Record', 'Outcome', 'LoopFailed']);
    } finally {
      failing.clear();
    }
    assert.equal((await compression.store.settings(tenant)).version, 0, 'nothing applied');
    const completed = detailOf(last(eventsOf(tenant, 'compression.loop.completed')));
    assert.equal(completed.outcome, 'failed');
    assert.match(String(completed.reason), /ValidationError: propose is broken/);
    assert.equal((await compression.store.effectiveness(tenant)).sinceTune, 20, 'the window waits for a later run');
  });

  it('at autonomy level 1 ends awaiting-approval with nothing applied; once people approve, the settlement resumes it and the step is applied', async () => {
    const tenant = 'careful';
    governance.settingsOf.set(tenant, { ...defaultSettings(tenant), autonomyLevel: 1 });
    const execution = await feedback(tenant, reports(14, 6));
    const waiting = await ended(execution);
    assert.equal(waiting.status, 'SUCCEEDED', waiting.error ?? 'no error');
    assert.deepEqual(waiting.states.slice(-3), ['Record', 'Outcome', 'AwaitingApproval']);
    assert.equal((await compression.store.settings(tenant)).version, 0, 'nothing applied while people decide');
    const proposalId = tuneProposalId(execution);
    assert.deepEqual([(await governance.proposal(tenant, proposalId))?.route], ['human-approval']);
    assert.equal((await compression.store.effectiveness(tenant)).sinceTune, 0, 'the window was judged by the run that proposed');

    await transition(
      tenant,
      proposalId,
      'approved',
      { reasons: ['quorum'], actor: 'approver@careful', from: ['pending'] },
      {
        store: governance,
        outbox,
        now: new Date(),
      },
    );
    const settled = last(eventsOf(tenant, 'governance.proposal.settled'));
    const resumed = await resumeOnSettled(settledDetailSchema.parse(settled.detail), { proposal: governance.proposal, loops: starter });
    assert.equal(resumed, resumeExecutionName(proposalId));
    const run = await ended(resumed);
    assert.equal(run.status, 'SUCCEEDED', run.error ?? 'no error');
    assert.deepEqual(run.states, ['Start', 'Resume', 'AfterResume', 'Apply', 'Record', 'Outcome', 'Tuned']);
    const settings = await compression.store.settings(tenant);
    assert.deepEqual(
      [settings.version, settings.relevanceWeight, settings.itemWeight, settings.summariseAboveTokens],
      [1, 0.75, 0.8, 2048],
    );
    assert.equal((await governance.proposal(tenant, proposalId))?.status, 'executed');
    const changed = detailOf(last(eventsOf(tenant, 'compression.config.changed')));
    assert.deepEqual([changed.by, changed.execution, changed.proposalId], ['loop', resumed, proposalId]);
    const completed = eventsOf(tenant, 'compression.loop.completed').map(detailOf);
    assert.deepEqual(
      completed.map((detail) => [detail.execution, detail.trigger, detail.outcome]),
      [
        [execution, 'feedback', 'awaiting-approval'],
        [resumed, 'settled', 'tuned'],
      ],
    );
    assert.equal((await compression.store.effectiveness(tenant)).sinceTune, 0, 'the resumed run judges no window twice');

    // The apply's own report (executed) settles the proposal again: no second run.
    const executed = last(eventsOf(tenant, 'governance.proposal.settled'));
    assert.equal(detailOf(executed).status, 'executed');
    assert.equal(
      await resumeOnSettled(settledDetailSchema.parse(executed.detail), { proposal: governance.proposal, loops: starter }),
      undefined,
    );
  });

  it('a rejected step is not applied: the resumed run records it refused', async () => {
    const tenant = 'doubtful';
    governance.settingsOf.set(tenant, { ...defaultSettings(tenant), autonomyLevel: 1 });
    const execution = await feedback(tenant, reports(2, 18));
    assert.equal((await ended(execution)).states.at(-1), 'AwaitingApproval');
    const proposalId = tuneProposalId(execution);
    await transition(
      tenant,
      proposalId,
      'rejected',
      { reasons: ['not during the audit'], actor: 'approver@doubtful', from: ['pending'] },
      {
        store: governance,
        outbox,
        now: new Date(),
      },
    );
    const settled = last(eventsOf(tenant, 'governance.proposal.settled'));
    const resumed = await resumeOnSettled(settledDetailSchema.parse(settled.detail), { proposal: governance.proposal, loops: starter });
    assert.ok(resumed);
    const run = await ended(resumed);
    assert.equal(run.status, 'FAILED');
    assert.equal(run.error, 'ProposalRefused');
    assert.deepEqual(run.calls, ['resume', 'record']);
    assert.equal((await compression.store.settings(tenant)).version, 0, 'nothing applied');
    const completed = detailOf(last(eventsOf(tenant, 'compression.loop.completed')));
    assert.deepEqual([completed.trigger, completed.outcome, completed.proposalId], ['settled', 'refused', proposalId]);
    assert.match(String(completed.reason), /rejected: .*not during the audit/);
  });

  it('a settlement starts nothing for a proposal that is not a gated step of Loop 3', async () => {
    const tenant = 'eager';
    // At the default autonomy level the step runs autonomously: its proposal was never gated.
    const execution = await feedback(tenant, reports(14, 6));
    assert.equal((await ended(execution)).states.at(-1), 'Tuned');
    const autonomous = await governance.proposal(tenant, tuneProposalId(execution));
    assert.ok(autonomous);
    assert.equal(autonomous.route, 'autonomous');
    const loops: LoopStarter = {
      start: async () => assert.fail('no run starts'),
    };
    const detail = (proposalId: string, status: string) => settledDetailSchema.parse({ tenant, proposalId, status });
    assert.equal(await resumeOnSettled(detail(autonomous.proposalId, 'approved'), { proposal: governance.proposal, loops }), undefined);
    assert.equal(await resumeOnSettled(detail('unknown-tune', 'approved'), { proposal: governance.proposal, loops }), undefined);
    await assert.rejects(
      resumeStep(
        { tenant, proposalId: autonomous.proposalId, execution: resumeExecutionName(autonomous.proposalId) },
        { proposal: governance.proposal },
      ),
      /not a compression:tune step of Loop 3 that waited at a gate/,
    );
  });

  it('a retried record writes compression.loop.completed once and takes the window off the count once', async () => {
    const tenant = 'retried';
    const execution = await feedback(tenant, reports(18, 2));
    await ended(execution);
    const before = eventsOf(tenant, 'compression.loop.completed').length;
    const effectiveness = await compression.store.effectiveness(tenant);
    assert.deepEqual(effectiveness.recorded, [execution]);
    // The machine's Retry after a lost reply: the same input again.
    const window = { samples: 20, found: 18 };
    const state = {
      tenant,
      execution,
      trigger: 'feedback' as const,
      next: 'record' as const,
      window,
      foundRate: 0.9,
      settings: { relevanceWeight: 0.7, itemWeight: 0.7, summariseAboveTokens: 1024 },
      settingsVersion: 0,
      patch: null,
      changes: [],
      proposalId: null,
      outcome: 'unchanged' as const,
      reason: 'steady',
    };
    const again = await recordStep(
      { execution, state: { tenant, trigger: 'feedback', loop: { state } } },
      { store: compression.store, outbox, now: () => new Date() },
    );
    assert.equal(again.outcome, 'unchanged');
    assert.equal(eventsOf(tenant, 'compression.loop.completed').length, before, 'no second event');
    assert.deepEqual(await compression.store.effectiveness(tenant), effectiveness, 'nothing written');
  });
});

describe('afterRecord', () => {
  const base = { compressions: 3, tokensIn: 30, tokensOut: 12, savedSum: 1.8, recent: [true, false], sinceTune: 25, version: 7 };
  it('takes a judged window off the count and remembers the execution', () => {
    assert.deepEqual(afterRecord(base, 'a-c3-7', 20), { ...base, sinceTune: 5, recorded: ['a-c3-7'], version: 8 });
  });
  it('never counts below zero', () => {
    assert.equal(afterRecord({ ...base, sinceTune: 3 }, 'a-c3-7', 20)?.sinceTune, 0);
  });
  it('answers undefined for an execution recorded already', () => {
    assert.equal(afterRecord({ ...base, recorded: ['x', 'a-c3-7'] }, 'a-c3-7', 20), undefined);
  });
  it(`keeps the last ${RECORDED_EXECUTIONS} executions`, () => {
    const many = Array.from({ length: RECORDED_EXECUTIONS }, (_, index) => `e-${index}`);
    const next = afterRecord({ ...base, recorded: many }, 'new', 0);
    assert.equal(next?.recorded?.length, RECORDED_EXECUTIONS);
    assert.deepEqual([next?.recorded?.[0], next?.recorded?.at(-1)], ['e-1', 'new']);
  });
});

describe('tuneProposalId', () => {
  it('is <execution>-tune within 64 characters', () => {
    assert.equal(tuneProposalId('acme-c3-42'), 'acme-c3-42-tune');
  });
  it('keeps a long execution unique within 64 characters', () => {
    const tenant = 'a'.repeat(63);
    const one = tuneProposalId(`${tenant}-c3-100`);
    const two = tuneProposalId(`${tenant}-c3-101`);
    assert.ok(one.length <= 64 && two.length <= 64 && one !== two, `${one} ${two}`);
    assert.ok(resumeExecutionName(one).length <= 80);
    assert.match(one, /-tune$/);
  });
});
