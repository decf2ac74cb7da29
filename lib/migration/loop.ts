/**
 * Loop 4 (Migration → Execution → Observation → Migration) as the steps of the migration state
 * machine (statemachines/migration.asl.json), one task each, carrying ids only ({@link LoopState}):
 *
 *   plan (load the run and its plan, check the hash) → pre-check (kill switches; every provision
 *   step's capacity against the catalogue now) → gate (waits at governance's gate on a task token for
 *   the plan's proposal, `migration:migrate` on `migration/<planId>`, lib/governance/gate-wait.ts;
 *   resumed at once when decided, else by `governance.proposal.settled`) → for each step: check (the
 *   first one reads the gate's decision; kill switches, the run not cancelled, the proposal approved
 *   for this plan and hash) → execute (pre-checks, the L3
 *   executor's dry run, execute, read-back) → post-check (latency on Observation's series) →
 *   record (`migration.step.completed`) → … → finish (`migration.run.completed`, the proposal's
 *   outcome). A failed step, a kill switch turned on mid-run or a task that failed after its retries
 *   → rollback (undo in reverse, each read back) → finish.
 *
 * Rollback runs under a kill switch too: it puts back the state each step's dry run read, the
 * known-good direction (the Execution engine's own undo route refuses with 423 instead, as nothing
 * asked for it). Such a rollback is recorded as `rollback under kill switch` in the run and in the
 * ledger (the run's completed event).
 */
import { ConflictError, LockedError, NotFoundError } from '../errors.ts';
import { busEvent } from '../events/publisher.ts';
import { awaitSettlement, type GateWaitDeps, type GateWaitOutcome, gateDecision } from '../governance/gate-wait.ts';
import type { OutboxPort, ProposalDeps } from '../governance/proposals.ts';
import { reportOutcome } from '../governance/proposals.ts';
import { actuationLock, type GovernanceConfig } from '../governance/settings.ts';
import { commit, finishRecords, MIGRATION_GATE_OWNER, type MigrationStore } from './engine.ts';
import type { PlanStep } from './plan.ts';
import { assertApproved, latencyPostCheck, preCheckIssues, type RunnerDeps, rollBack, runStep, type StepRecord } from './runner.ts';
import type { LoopState, PlanRecord, RunOutcome, RunRecord } from './schemas.ts';

/** Who reports the proposal's outcome. */
export const MIGRATION_ACTOR = 'engine:migration';
/** Seconds a run waits at the gate beyond the gate's own approval and escalation timeouts. */
export const GATE_MARGIN_SECONDS = 300;

/** What the machine's steps need. */
export interface LoopDeps {
  store: MigrationStore;
  outbox: OutboxPort;
  runner: RunnerDeps;
  governance: Pick<ProposalDeps, 'store' | 'outbox'>;
  /** Governance's gate waits (lib/governance/gate-wait.ts). */
  gate: GateWaitDeps;
  now: () => Date;
}

const clip = (text: string) => text.slice(0, 1000);
const ended = (state: LoopState, outcome: RunOutcome, reason: string): LoopState => ({
  ...state,
  next: 'end',
  outcome,
  reason: clip(reason),
  waitSeconds: 0,
});

async function mustRun(state: Pick<LoopState, 'tenant' | 'runId'>, deps: Pick<LoopDeps, 'store'>): Promise<RunRecord> {
  const run = await deps.store.run(state.tenant, state.runId);
  if (!run) throw new NotFoundError(`Run ${state.runId} not found`);
  return run;
}

async function mustPlan(tenant: string, planId: string, deps: Pick<LoopDeps, 'store'>): Promise<PlanRecord> {
  const plan = await deps.store.plan(tenant, planId);
  if (!plan) throw new NotFoundError(`Plan ${planId} not found`);
  return plan;
}

function stepOf(plan: PlanRecord, index: number): PlanStep {
  const step = plan.steps[index];
  if (!step) throw new NotFoundError(`Plan ${plan.planId} has no step ${index}`);
  return step as PlanStep;
}

/** Seconds a run waits at the gate: the gate's approval and escalation timeouts and {@link GATE_MARGIN_SECONDS}. */
export function gateTimeoutOf(config: Pick<GovernanceConfig, 'approvalTimeoutSeconds' | 'escalationTimeoutSeconds'>): number {
  return config.approvalTimeoutSeconds + config.escalationTimeoutSeconds + GATE_MARGIN_SECONDS;
}

/** Writes the run (conditional on the version read). */
async function saveRun(
  run: RunRecord,
  deps: Pick<LoopDeps, 'store' | 'outbox'>,
  events: Parameters<MigrationStore['write']>[2] = [],
): Promise<RunRecord> {
  const next = { ...run, version: run.version + 1 };
  await commit(deps, run.tenant, { run: { next, expectedVersion: run.version } }, events);
  return next;
}

/**
 * Step "plan": loads the run and its plan, checks the plan still matches its hash; a run that
 * ended (cancelled) ends the machine.
 */
export async function planStep(input: { tenant: string; runId: string }, deps: LoopDeps): Promise<LoopState> {
  const run = await mustRun(input, deps);
  const plan = await mustPlan(input.tenant, run.planId, deps);
  const settings = await deps.runner.governance.settings(input.tenant);
  const state: LoopState = {
    tenant: input.tenant,
    runId: run.runId,
    planId: run.planId,
    proposalId: run.proposalId,
    index: run.records.length,
    steps: plan.steps.length,
    next: 'precheck',
    reason: `plan ${plan.planId}: ${plan.steps.length} steps`,
    gateTimeoutSeconds: gateTimeoutOf(settings.config),
    waitSeconds: plan.postCheckDelaySeconds,
  };
  if (run.status !== 'pending') return ended(state, run.status === 'running' ? 'failed' : run.status, `the run is ${run.status}`);
  if (plan.planHash !== run.planHash)
    return ended(state, 'failed', `plan ${plan.planId} changed since the run was started (hash mismatch)`);
  return state;
}

/**
 * Step "pre-check", before asking anyone: the kill switches (nothing acts while one is on) and every
 * provision step's capacity against the catalogue now.
 */
export async function precheckStep(state: LoopState, deps: LoopDeps): Promise<LoopState> {
  const run = await mustRun(state, deps);
  if (run.status !== 'pending') return ended(state, run.status === 'running' ? 'failed' : run.status, `the run is ${run.status}`);
  const locked = await actuationLock(deps.runner.governance, state.tenant);
  if (locked) return ended(state, 'halted', `kill switch: ${locked}; nothing acted`);
  const plan = await mustPlan(state.tenant, state.planId, deps);
  const issues: string[] = [];
  for (const step of plan.steps) {
    if (!step.preChecks.some((check) => check.kind === 'capacity')) continue;
    const capacity = { ...(step as PlanStep), preChecks: step.preChecks.filter((check) => check.kind === 'capacity') };
    issues.push(...(await preCheckIssues(state.tenant, capacity, deps.runner)).map((issue) => `step ${step.index}: ${issue}`));
  }
  if (issues.length > 0) return ended(state, 'pre-check-failed', `pre-check ${issues.slice(0, 5).join('; ')}`);
  return { ...state, next: 'gate', reason: clip(`pre-checks passed; waiting for proposal ${state.proposalId}`) };
}

/**
 * Step "gate" (`.waitForTaskToken`): waits at governance's gate for the plan's proposal
 * (lib/governance/gate-wait.ts), resumed with `{ state }` bound for the check step, which reads the
 * decision. Resumed at once when the proposal is decided already (an L3 validation that finished, a
 * refusal), the run is no longer pending (cancelled) or a kill switch is on; otherwise governance's
 * gate-resume resumes it when the proposal settles.
 */
export async function awaitGate(input: { taskToken: string; state: LoopState }, deps: LoopDeps): Promise<GateWaitOutcome> {
  const { state } = input;
  const request = {
    tenant: state.tenant,
    proposalId: state.proposalId,
    taskToken: input.taskToken,
    owner: MIGRATION_GATE_OWNER,
    output: { state: { ...state, next: 'check' } },
    timeoutSeconds: state.gateTimeoutSeconds,
  };
  return awaitSettlement(
    request,
    { ...deps.gate, now: deps.now() },
    async () =>
      (await mustRun(state, deps)).status !== 'pending' || (await actuationLock(deps.runner.governance, state.tenant)) !== undefined,
  );
}

const acted = (run: RunRecord) => run.records.some((record) => record.before !== undefined && record.after !== undefined && !record.undo);

/** Where a run goes when it must stop: rollback when a step acted, else the end. */
function stopping(state: LoopState, run: RunRecord, outcome: RunOutcome, reason: string): LoopState {
  return acted(run) ? { ...state, next: 'rollback', outcome, reason: clip(reason) } : ended(state, outcome, reason);
}

/**
 * Step "check", before each step: the kill switches, the run not cancelled, the proposal approved
 * for this plan and hash. The first check, after the gate, reads its decision (rejected, timed out
 * or refused end the run) and marks the run running.
 */
export async function checkStep(state: LoopState, deps: LoopDeps): Promise<LoopState> {
  let run = await mustRun(state, deps);
  if (run.status !== 'pending' && run.status !== 'running') return ended(state, run.status, `the run is ${run.status}`);
  const locked = await actuationLock(deps.runner.governance, state.tenant);
  if (locked) return stopping(state, run, 'halted', `kill switch before step ${state.index}: ${locked}`);
  if (run.status === 'pending') {
    // The first check, after the gate: a proposal rejected, timed out or refused ends the run with why (the rest, below).
    const decided = gateDecision(await deps.runner.governance.proposal(state.tenant, state.proposalId));
    if (decided.decision === 'rejected' || decided.decision === 'timed-out' || decided.decision === 'refused')
      return ended(state, decided.decision, decided.reason);
  }
  try {
    await assertApproved(state.tenant, state.proposalId, state.planId, run.planHash, { governance: deps.runner.governance });
  } catch (error) {
    if (error instanceof ConflictError || error instanceof NotFoundError) return stopping(state, run, 'failed', error.message);
    throw error;
  }
  if (run.status === 'pending') {
    const now = deps.now().toISOString();
    run = await saveRun({ ...run, status: 'running', reason: 'running', timeline: { ...run.timeline, approved: now, started: now } }, deps);
  }
  return { ...state, next: 'execute', reason: clip(`step ${state.index}: no kill switch, proposal ${state.proposalId} approved`) };
}

/** Puts the step's record on the run (replacing an earlier attempt's). */
function withRecord(run: RunRecord, record: StepRecord): RunRecord {
  return { ...run, records: [...run.records.filter((r) => r.index !== record.index), record].sort((a, b) => a.index - b.index) };
}

/**
 * Step "execute": the step's pre-checks and the L3 executor (scope, dry run, execute, read-back),
 * its record saved on the run at once (so a rollback knows what acted). A kill switch turned on
 * since the check stops the run before this step acts.
 */
export async function executeStep(state: LoopState, deps: LoopDeps): Promise<LoopState> {
  const run = await mustRun(state, deps);
  const existing = run.records.find((record) => record.index === state.index);
  // A retried task after the record was saved: the step ran; go on from its record.
  if (existing) return { ...state, next: existing.status === 'succeeded' ? 'postcheck' : 'record' };
  const plan = await mustPlan(state.tenant, state.planId, deps);
  let record: StepRecord;
  try {
    record = await runStep(state.tenant, state.planId, stepOf(plan, state.index), deps.runner, { latency: false });
  } catch (error) {
    if (error instanceof LockedError) return stopping(state, run, 'halted', `kill switch at step ${state.index}: ${error.message}`);
    throw error;
  }
  await saveRun(withRecord(run, record), deps);
  return {
    ...state,
    next: record.status === 'succeeded' ? 'postcheck' : 'record',
    reason: clip(record.reasons.join('; ') || `step ${state.index} executed`),
  };
}

/** Step "post-check": the latency post-checks of the step (Observation's newest points within the bound; no points fail). */
export async function postcheckStep(state: LoopState, deps: LoopDeps): Promise<LoopState> {
  const run = await mustRun(state, deps);
  const plan = await mustPlan(state.tenant, state.planId, deps);
  const record = run.records.find((r) => r.index === state.index);
  if (!record) throw new NotFoundError(`Run ${state.runId} has no record of step ${state.index}`);
  const issues = record.status === 'succeeded' ? await latencyPostCheck(state.tenant, stepOf(plan, state.index), deps.runner) : [];
  if (issues.length > 0) {
    const failed: StepRecord = {
      ...record,
      status: 'failed',
      reasons: [...record.reasons, ...issues].slice(0, 20),
      finishedAt: deps.now().toISOString(),
    };
    await saveRun(withRecord(run, failed), deps);
  }
  return { ...state, next: 'record', reason: clip(issues.join('; ') || `step ${state.index}: post-checks passed`) };
}

/**
 * Step "record": `migration.step.completed` for the step (saved with the run), then the next step,
 * the end, or rollback when it failed.
 */
export async function recordStep(state: LoopState, deps: LoopDeps): Promise<LoopState> {
  const run = await mustRun(state, deps);
  const plan = await mustPlan(state.tenant, state.planId, deps);
  const record = run.records.find((r) => r.index === state.index);
  if (!record) throw new NotFoundError(`Run ${state.runId} has no record of step ${state.index}`);
  const step = stepOf(plan, state.index);
  const event = busEvent('migration.step.completed', {
    tenant: state.tenant,
    runId: state.runId,
    planId: state.planId,
    index: step.index,
    workload: step.workload,
    kind: step.kind,
    from: step.from,
    to: step.to,
    status: record.status,
    changes: record.changes,
    reasons: record.reasons,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
  });
  await saveRun({ ...run, reason: clip(`step ${state.index} ${record.status}`) }, deps, [event]);
  if (record.status === 'failed')
    return stopping(state, run, 'rolled-back', `step ${state.index} (${step.kind} ${step.workload}) failed: ${record.reasons.join('; ')}`);
  const index = state.index + 1;
  if (index >= state.steps) return ended({ ...state, index }, 'succeeded', `${state.steps} steps succeeded`);
  return { ...state, index, next: 'check', reason: clip(`step ${state.index} succeeded`) };
}

/**
 * Step "rollback": undoes every step that acted, last first, each read back (lib/migration/runner.ts
 * rollBack), and records the rollback on the run; a kill switch on meanwhile does not stop it (the
 * undo goes toward the state before the run) and is recorded as `rollback under kill switch`.
 * A rollback that could not undo a step ends the run `failed` (people must look).
 */
export async function rollbackStep(state: LoopState, deps: LoopDeps): Promise<LoopState> {
  const run = await mustRun(state, deps);
  if (!acted(run)) return ended(state, state.outcome ?? 'failed', state.reason);
  if (run.rollback) return ended(state, run.rollback.succeeded ? (state.outcome ?? 'rolled-back') : 'failed', state.reason);
  const plan = await mustPlan(state.tenant, state.planId, deps);
  const locked = await actuationLock(deps.runner.governance, state.tenant);
  const undone = await rollBack(state.tenant, state.planId, plan.steps as PlanStep[], run.records, deps.runner);
  const steps = undone
    .filter((record) => record.undo && !run.records.find((r) => r.index === record.index)?.undo)
    .sort((a, b) => b.index - a.index)
    .map((record) => ({ index: record.index, status: record.undo?.status ?? 'failed', reasons: record.undo?.reasons ?? [] }));
  const succeeded = steps.every((step) => step.status === 'succeeded');
  const underKillSwitch = locked !== undefined;
  await saveRun(
    {
      ...run,
      records: undone,
      rollback: {
        underKillSwitch,
        note: underKillSwitch ? 'rollback under kill switch' : 'rollback',
        trigger: clip(state.reason),
        steps,
        succeeded,
        at: deps.now().toISOString(),
      },
    },
    deps,
  );
  const outcome = succeeded ? (state.outcome ?? 'rolled-back') : 'failed';
  const why = `${state.reason}; ${underKillSwitch ? 'rollback under kill switch' : 'rolled back'}: ${steps.length} step(s) undone${succeeded ? '' : ', some could not be: people must look'}`;
  return ended(state, outcome, why);
}

/**
 * Step "finish", on every path: the run's final status, the plan released, `migration.run.completed`
 * (with the rollback), and the proposal's outcome reported to governance (executed, or failed when
 * a step acted and the run did not succeed). A run ended already (cancelled) stays as it is.
 * `failure` is the Catch's error when a task failed after its retries.
 */
export async function finishStep(
  input: { state: LoopState; failure?: { Error?: string; Cause?: string } | undefined },
  deps: LoopDeps,
): Promise<{ outcome: RunOutcome; reason: string }> {
  const { state } = input;
  const run = await mustRun(state, deps);
  const failed = input.failure
    ? `a step failed after its retries: ${input.failure.Error ?? 'Error'} ${(input.failure.Cause ?? '').slice(0, 300)}`
    : undefined;
  const outcome: RunOutcome = failed && state.outcome === undefined ? 'failed' : (state.outcome ?? 'failed');
  const reason = failed ? `${failed}; ${state.reason}` : state.reason;
  const finished = await finishRecords(state.tenant, run, outcome, reason, deps);
  const final = finished.status as RunOutcome;
  if (final === 'succeeded' || run.records.length > 0) {
    try {
      await reportOutcome(
        state.tenant,
        {
          proposalId: state.proposalId,
          outcome: final === 'succeeded' ? 'executed' : 'failed',
          detail: clip(`run ${state.runId}: ${final}: ${finished.reason}`),
        },
        MIGRATION_ACTOR,
        { ...deps.governance, now: deps.now() },
      );
    } catch (error) {
      // A proposal that is no longer approved (reported already) keeps its state.
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  return { outcome: final, reason: finished.reason };
}
