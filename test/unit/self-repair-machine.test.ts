/**
 * statemachines/self-repair.asl.json validated and run on the local Step Functions service, one
 * case per path: the happy path (with a second look at the series), each step ending the loop with
 * each outcome, the executor-failure round, a Retry, the Catch of a failing step, the gate's
 * timeout. The tasks are scripted through the service's task port (`invokeTask`,
 * the host's, not an AWS client); what the machine hands them is parsed with the steps' real
 * schemas, and the finish step's outcome is the real `finishOutcome`, so the wiring between the ASL
 * and lib/reflex/loop.ts is what is tested.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkDefinition } from '../../infra/local/stepfunctions/definition-checks.ts';
import { StepFunctionsService, type TaskInvoker } from '../../infra/local/stepfunctions/service.ts';
import { finishInputSchema, finishOutcome, type LoopState, type LoopStep, loopStateSchema } from '../../lib/reflex/loop.ts';
import type { LoopOutcome } from '../../lib/reflex/schemas.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ACCOUNT = '123456789012';
const fnArn = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;
const placeholders: Record<string, string> = {
  LoopDiagnoseFunctionArn: fnArn('diagnose'),
  LoopGateFunctionArn: fnArn('gate'),
  LoopCheckFunctionArn: fnArn('check'),
  LoopExecuteFunctionArn: fnArn('execute'),
  LoopVerifyFunctionArn: fnArn('verify'),
  LoopRecordFunctionArn: fnArn('record'),
  LoopFinishFunctionArn: fnArn('finish'),
};
const definition = readFileSync(path.join(root, 'statemachines', 'self-repair.asl.json'), 'utf8').replaceAll(
  /\$\{(\w+)\}/g,
  (_match, name: string) => placeholders[name] ?? `unbound-${name}`,
);

const base: LoopState = {
  tenant: 'acme',
  incidentId: 'svc.latency@2026-12-01T10:00:00.000Z',
  execution: 'acme-svc-latency',
  settings: { recoveryWindowSeconds: 30, verifyIntervalSeconds: 1, calmPoints: 5, maxFailedPlaybooks: 3 },
  round: 1,
  proposalId: 'p-1',
  gateTimeoutSeconds: 300,
  next: 'gate',
  waitSeconds: 0,
  reason: 'round 1',
  timeline: { started: '2026-12-01T10:00:00.000Z' },
};
const step = (next: LoopStep, extra: Partial<LoopState> = {}): LoopState => ({ ...base, ...extra, next });
const end = (outcome: LoopOutcome): LoopState => step('end', { outcome, reason: `ended ${outcome}` });

/** What a task does when called: return the next state, or throw a named error. */
type Script = Array<LoopState | Error | 'silent'>;
const failure = (name: string, message = name) => Object.assign(new Error(message), { name });

interface Run {
  scripts: Record<string, Script>;
  calls: Array<{ fn: string; payload: unknown }>;
  /** The finish step's input, parsed with the real schema. */
  finished?: ReturnType<typeof finishOutcome>;
}
const runs = new Map<string, Run>();
let service: StepFunctionsService;
let dataDir: string;
let machineArn: string;

const invokeTask: TaskInvoker = async ({ resource, input, taskToken, executionArn }) => {
  const run = runs.get(executionArn);
  assert.ok(run, `no script for ${executionArn}`);
  assert.ok(resource.startsWith('arn:aws:states:::lambda:invoke'), resource);
  const { FunctionName, Payload } = input as { FunctionName: string; Payload: Record<string, unknown> };
  const fn = FunctionName.split(':').at(-1) ?? '';
  run.calls.push({ fn, payload: Payload });
  if (fn === 'finish') {
    run.finished = finishOutcome(finishInputSchema.parse(Payload));
    return { ...run.finished, rounds: 1 };
  }
  if (fn === 'diagnose')
    assert.ok(typeof Payload.execution === 'string' && typeof Payload.startedAt === 'string', 'execution name and start');
  else loopStateSchema.parse(Payload.state);
  const next = run.scripts[fn]?.shift();
  assert.ok(next, `${fn} called more often than scripted`);
  if (next instanceof Error) throw next;
  if (fn === 'gate') {
    assert.ok(taskToken, 'the gate step gets a task token');
    // As reflex/loop-gate or governance/gate-resume do: resume the loop (or never: 'silent').
    if (next !== 'silent')
      setImmediate(() => service.operations().SendTaskSuccess?.({ taskToken, output: JSON.stringify({ state: next }) }));
    return { outcome: 'waiting' };
  }
  return { state: next };
};

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'self-repair-machine-'));
  service = new StepFunctionsService({ dataDir, region: 'us-east-1', accountId: ACCOUNT, invokeTask });
  await service.start();
  machineArn = service.createStateMachine({ name: 'self-repair', definition, roleArn: `arn:aws:iam::${ACCOUNT}:role/r` });
});
after(async () => {
  await service.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

let counter = 0;
/** Runs the machine with scripted tasks; returns its end, the states it passed and the run. */
async function execute(scripts: Record<string, Script>) {
  const name = `loop-${process.pid}-${counter++}`;
  const executionArn = `arn:aws:states:us-east-1:${ACCOUNT}:execution:self-repair:${name}`;
  const run: Run = { scripts, calls: [] };
  runs.set(executionArn, run);
  const ops = service.operations();
  const input = {
    tenant: 'acme',
    incidentId: base.incidentId,
    opened: { tenant: 'acme', series: 'svc.latency', start: '2026-12-01T10:00:00Z' },
  };
  await ops.StartExecution?.({ stateMachineArn: machineArn, name, input: JSON.stringify(input) });
  const deadline = Date.now() + 20_000;
  let described: { status?: string; error?: string };
  for (;;) {
    described = (await ops.DescribeExecution?.({ executionArn })) as { status?: string; error?: string };
    if (described.status !== 'RUNNING') break;
    assert.ok(Date.now() < deadline, 'the execution ends');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const read = (await ops.GetExecutionHistory?.({ executionArn, maxResults: 1000 })) as
    | { events: Array<Record<string, { name?: string }>> }
    | undefined;
  const history = read?.events ?? [];
  const states = history.flatMap((event) => (event.stateEnteredEventDetails?.name ? [event.stateEnteredEventDetails.name] : []));
  for (const script of Object.values(scripts)) assert.deepEqual(script, [], 'every scripted step ran');
  return { status: described.status, error: described.error, states, run };
}

describe('statemachines/self-repair.asl.json', () => {
  it('is valid ASL the local runner accepts, every placeholder bound in the stage', () => {
    checkDefinition(definition);
    const bindings = readFileSync(path.join(root, 'infra', 'resources', 'statemachine-bindings.yml'), 'utf8');
    for (const name of Object.keys(placeholders)) assert.match(bindings, new RegExp(`^\\s+${name}: !GetAtt `, 'm'), name);
    assert.doesNotMatch(definition, /unbound-/);
  });

  it('runs the happy path: diagnose → gate → check → execute → wait/verify twice → record → finish → Recovered', async () => {
    const ran = await execute({
      diagnose: [step('gate')],
      gate: [step('check')],
      check: [step('execute')],
      execute: [step('verify', { waitSeconds: 0 })],
      verify: [step('verify', { waitSeconds: 0 }), step('record', { recovery: 'recovered' })],
      record: [end('recovered')],
    });
    assert.equal(ran.status, 'SUCCEEDED');
    assert.deepEqual(
      ran.states.slice(0, -1).filter((name) => !name.startsWith('After')),
      [
        'Diagnose',
        'WaitForGate',
        'CheckBeforeActing',
        'Execute',
        'WaitForRecovery',
        'Verify',
        'WaitForRecovery',
        'Verify',
        'Record',
        'Finish',
        'Outcome',
      ],
    );
    assert.equal(ran.states.at(-1), 'Recovered');
    assert.deepEqual(ran.run.finished, { outcome: 'recovered', reason: 'ended recovered' });
    const gate = ran.run.calls.find((call) => call.fn === 'gate');
    assert.equal((gate?.payload as { state?: LoopState } | undefined)?.state?.proposalId, 'p-1', 'the gate gets the loop state');
  });

  it('goes from a failed run straight to record, then round 2 through the gate again', async () => {
    const ran = await execute({
      diagnose: [step('gate')],
      gate: [step('check'), step('check', { round: 2, proposalId: 'p-2' })],
      check: [step('execute'), step('execute', { round: 2 })],
      execute: [step('record', { recovery: 'not-recovered' }), step('verify', { round: 2 })],
      verify: [step('record', { round: 2, recovery: 'recovered' })],
      record: [step('gate', { round: 2, proposalId: 'p-2' }), end('recovered')],
    });
    assert.equal(ran.status, 'SUCCEEDED');
    assert.equal(ran.states.filter((name) => name === 'WaitForGate').length, 2);
    assert.equal(ran.states.filter((name) => name === 'Verify').length, 1, 'a failed run is not watched');
  });

  it('ends each outcome where it belongs, from whichever step ended the loop', async () => {
    const cases: Array<[LoopOutcome, string, string | undefined, Record<string, Script>]> = [
      ['unassigned', 'SUCCEEDED', undefined, { diagnose: [end('unassigned')] }],
      ['escalated', 'FAILED', 'IncidentEscalated', { diagnose: [end('escalated')] }],
      ['rejected', 'FAILED', 'ProposalRejected', { diagnose: [step('gate')], gate: [end('rejected')] }],
      ['refused', 'FAILED', 'ProposalRefused', { diagnose: [step('gate')], gate: [end('refused')] }],
      ['halted', 'FAILED', 'KillSwitchEngaged', { diagnose: [step('gate')], gate: [step('check')], check: [end('halted')] }],
      ['closed', 'SUCCEEDED', undefined, { diagnose: [step('gate')], gate: [step('check')], check: [end('closed')] }],
      [
        'halted',
        'FAILED',
        'KillSwitchEngaged',
        { diagnose: [step('gate')], gate: [step('check')], check: [step('execute')], execute: [end('halted')] },
      ],
      [
        'escalated',
        'FAILED',
        'IncidentEscalated',
        {
          diagnose: [step('gate')],
          gate: [step('check')],
          check: [step('execute')],
          execute: [step('verify')],
          verify: [step('record', { recovery: 'not-recovered' })],
          record: [end('escalated')],
        },
      ],
    ];
    for (const [outcome, status, error, scripts] of cases) {
      const ran = await execute(scripts);
      assert.deepEqual(
        [ran.status, ran.error, ran.run.finished?.outcome],
        [status, error, outcome],
        `${outcome} via ${Object.keys(scripts).at(-1)}`,
      );
    }
  });

  it('retries a step that failed with a DependencyError (and a Lambda fault), then goes on', async () => {
    const ran = await execute({
      diagnose: [failure('DependencyError'), failure('Lambda.ServiceException'), step('gate')],
      gate: [end('rejected')],
    });
    assert.equal(ran.error, 'ProposalRejected');
    assert.equal(ran.run.calls.filter((call) => call.fn === 'diagnose').length, 3);
  });

  it('catches a step that fails for good: the finish step records the loop as failed, with the error', async () => {
    const ran = await execute({
      diagnose: [step('gate')],
      gate: [step('check')],
      check: [step('execute')],
      execute: [failure('TypeError', 'x is undefined')],
    });
    assert.deepEqual([ran.status, ran.error], ['FAILED', 'LoopFailed']);
    assert.ok(ran.states.includes('StepFailed'));
    assert.equal(ran.run.finished?.outcome, 'failed');
    assert.match(ran.run.finished?.reason ?? '', /TypeError: x is undefined/);
  });

  it('times out at the gate after gateTimeoutSeconds: the finish step records timed-out, people are asked', async () => {
    const ran = await execute({ diagnose: [step('gate', { gateTimeoutSeconds: 1 })], gate: ['silent'] });
    assert.deepEqual([ran.status, ran.error], ['FAILED', 'ApprovalTimedOut']);
    assert.ok(ran.states.includes('GateTimedOut'));
    assert.equal(ran.run.finished?.outcome, 'timed-out');
  });
});
