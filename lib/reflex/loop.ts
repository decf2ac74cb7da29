/**
 * The self-repair loop of one incident (Loop 2: Observation → Reflex → Governance → Execution →
 * Observation), one function per step of `statemachines/self-repair.asl.json`:
 *
 *   diagnose and propose (`onIncidentOpened`) → wait at governance's gate (a task token,
 *   lib/governance/gate-wait.ts, resumed when the proposal is decided) → read the decision, check the
 *   kill switches and that the incident is still open, just before acting → execute (the Execution engine's `run()`, in process) → verify (watch the
 *   component's series for the recovery window: Observation closed the incident, or the newest
 *   points since the action are back within the detector's band → recovered; the window ends first
 *   → not recovered) → record (the case base learns; not recovered proposes the next playbook, and
 *   Reflex asks people after the tenant's `maxFailedPlaybooks` failures) → back to the gate, or end.
 *
 * The steps pass one plain {@link LoopState} along (`{ state }` in, `{ state }` out); `next` names
 * the step the machine takes. Every step leaves its trace in the ledger through the outbox the
 * engines share: `reflex.incident.diagnosed` and `reflex.playbook.chosen` (diagnose, record),
 * governance's events (the gate), `execution.run.completed` (execute), `reflex.recovery.verified`
 * (record) and `reflex.loop.completed` (finish, with the loop's summary on the incident).
 *
 * Every step is idempotent: retried after a crash it finds what it did (proposal ids per incident
 * and round, one run per proposal, outcomes reported once, the summary written once).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isoTimestampSchema, MAX_TEXT_LENGTH } from '../../events/common.ts';
import { tenantSchema } from '../../events/ids.ts';
import { ConflictError, ForbiddenError, LockedError, NotFoundError, ValidationError } from '../errors.ts';
import { busEvent } from '../events/publisher.ts';
import { type ExecutionDeps, executionIdOf, run } from '../execution/engine.ts';
import { runInputSchema } from '../execution/schemas.ts';
import type { ApprovalOutbox, ApprovalStore } from '../governance/approvals.ts';
import { awaitSettlement, type GateWaitDeps, type GateWaitOutcome, gateDecision, wake } from '../governance/gate-wait.ts';
import { type GovernanceStore, type OutboxPort, type Proposal, withdraw } from '../governance/proposals.ts';
import { actuationLock, type GovernanceConfig } from '../governance/settings.ts';
import { type IncidentStore, onIncidentOpened, type ReflexDeps, reportIncidentOutcome } from './incidents.ts';
import {
  type Incident,
  type IncidentOpened,
  incidentIdOf,
  incidentIdSchema,
  incidentOpenedSchema,
  type LoopOutcome,
  loopOutcomeSchema,
  loopTimelineSchema,
  MAX_EXECUTION_NAME_LENGTH,
  type RecoveryEvidence,
  recoveryEvidenceSchema,
  recoveryOutcomeSchema,
} from './schemas.ts';
import { type LoopConfigStore, loopConfigSchema } from './settings.ts';

/** Who acts and verifies in the loop, as the ledger names it. */
export const LOOP_ACTOR = 'system:self-repair';
/** Who runs the playbooks (the Execution engine's run records it). */
export const RUN_ACTOR = 'engine:reflex';
/** Seconds the loop waits at a gate beyond the gate's own two timeouts (its settle step's retries, the event's delivery). */
export const GATE_MARGIN_SECONDS = 300;

/**
 * The loop's execution name for an incident: readable (tenant, series, start), at most 80 of
 * `A-Z a-z 0-9 _ -` as Step Functions allows, and unique per (tenant, incident) by a digest, so the
 * same incident never starts two loops (execution names are unique per state machine).
 * @example loopExecutionName('acme', 'db.latency@2026-12-01T10:00:00.000Z') // 'acme-db-latency-2026-12-01T10-00-00-000Z-<16 hex>'
 */
export function loopExecutionName(tenant: string, incidentId: string): string {
  const digest = createHash('sha256').update(`${tenant}\u0000${incidentId}`).digest('hex').slice(0, 16);
  const readable = `${tenant}-${incidentId}`
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .slice(0, MAX_EXECUTION_NAME_LENGTH - digest.length - 1)
    .replace(/-+$/, '');
  return `${readable}-${digest}`;
}

/** What a loop starts with: the incident as Observation announced it. */
export const loopInputSchema = z.object({
  tenant: tenantSchema,
  incidentId: incidentIdSchema,
  opened: incidentOpenedSchema,
});
/** A loop's input. */
export type LoopInput = z.infer<typeof loopInputSchema>;

/** The input of the loop of an opened incident (the same event gives the same input: starting twice starts once). */
export function loopInputOf(event: IncidentOpened): LoopInput {
  return { tenant: event.tenant, incidentId: incidentIdOf(event.series, event.start), opened: event };
}

/** Starts loop executions; the same name and input give the same execution. */
export interface LoopStarter {
  /** @returns the execution's ARN (also when it had started before). */
  start(name: string, input: LoopInput): Promise<string>;
}

/** The steps of the machine, as `next` names them. */
export const loopSteps = ['gate', 'check', 'execute', 'verify', 'record', 'end'] as const;

/** The run of the current round, as the verify step needs it. */
const runSummarySchema = z.object({
  executionId: z.string().min(1).max(80),
  status: z.enum(['succeeded', 'failed']),
  /** Points the incident's series had before the run (those after it are the ones watched). */
  baseline: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  executedAt: isoTimestampSchema,
  /** The end of the recovery window. */
  deadline: isoTimestampSchema,
});

/** What the steps pass along: plain JSON, small (a few KB at most). */
export const loopStateSchema = z.object({
  tenant: tenantSchema,
  incidentId: incidentIdSchema,
  execution: z.string().min(1).max(MAX_EXECUTION_NAME_LENGTH),
  /** The tenant's settings when the loop started (one loop, one set of rules). */
  settings: loopConfigSchema.omit({ enabled: true }),
  /** The current round (the attempt's), 0 before the first proposal. */
  round: z.number().int().min(0).max(20),
  proposalId: z.string().min(1).max(64).optional(),
  /** How long the gate may keep the loop waiting (its two timeouts and a margin). */
  gateTimeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 86_400),
  next: z.enum(loopSteps),
  /** Set when `next` is `end`. */
  outcome: loopOutcomeSchema.optional(),
  /** Set when `next` is `record`. */
  recovery: recoveryOutcomeSchema.optional(),
  evidence: recoveryEvidenceSchema.optional(),
  run: runSummarySchema.optional(),
  /** Seconds the machine waits before the next look at the series. */
  waitSeconds: z.number().int().min(0).max(3_600),
  /** Why the loop stands where it does, in words. */
  reason: z.string().max(MAX_TEXT_LENGTH),
  timeline: loopTimelineSchema,
});
/** A loop's state between steps. */
export type LoopState = z.infer<typeof loopStateSchema>;
/** The step a loop takes next. */
export type LoopStep = LoopState['next'];

/** A series' health as the verify step reads it from Observation's record. */
export interface SeriesHealth {
  /** Points the series has applied. */
  count: number;
  /** Epoch ms of the start of the incident its tracker has open, or null. */
  openIncidentStart: number | null;
  /** The detector's verdict on the newest applied points, oldest first (1: outside the band). */
  flags: Array<0 | 1>;
}

/** Reads series health from Observation's records. */
export interface SeriesHealthPort {
  /** Undefined when the series does not exist (any more). */
  health(tenant: string, series: string): Promise<SeriesHealth | undefined>;
}

const clip = (text: string, length = MAX_TEXT_LENGTH) => text.slice(0, length);
const iso = (ms: number) => new Date(ms).toISOString();

function ended(state: LoopState, outcome: LoopOutcome, reason: string): LoopState {
  return { ...withoutRound(state), next: 'end', outcome, reason: clip(reason), waitSeconds: 0 };
}

/** The state without the current round's results. */
function withoutRound(state: LoopState): LoopState {
  const { outcome: _o, recovery: _r, evidence: _e, run: _run, ...rest } = state;
  return rest;
}

/** Seconds the loop waits at a gate: the gate's approval and escalation timeouts, and {@link GATE_MARGIN_SECONDS}. */
export function gateTimeoutOf(config: Pick<GovernanceConfig, 'approvalTimeoutSeconds' | 'escalationTimeoutSeconds'>): number {
  return config.approvalTimeoutSeconds + config.escalationTimeoutSeconds + GATE_MARGIN_SECONDS;
}

/**
 * Where the loop goes with an incident as Reflex left it: to the gate of its latest proposal, or to
 * the end (unassigned, recovered, closed, or people asked with nothing left to run).
 */
export function nextRound(incident: Incident, state: LoopState, gateTimeoutSeconds: number): LoopState {
  const last = incident.attempts.at(-1);
  const why = incident.reasons.at(-1) ?? '';
  if (incident.state === 'unassigned')
    return ended(state, 'unassigned', why || `series ${incident.series} describes no registered component`);
  if (incident.state === 'recovered' || last?.outcome === 'recovered') {
    return ended(state, 'recovered', `round ${last?.round ?? state.round} (${last?.playbook ?? 'no playbook'}) recovered the incident`);
  }
  if (!incident.open)
    return ended(state, 'closed', `the incident closed (${incident.closedAt ?? 'at an unknown time'}) before a playbook recovered it`);
  if (!last || last.outcome || !last.proposalId) {
    return ended(state, 'escalated', why || 'no playbook is left to propose; people are asked');
  }
  return {
    ...withoutRound(state),
    round: last.round,
    proposalId: last.proposalId,
    gateTimeoutSeconds,
    next: 'gate',
    waitSeconds: 0,
    reason: clip(
      `round ${last.round}: ${last.playbook} on ${last.target} proposed (${last.proposalId}, ${last.route ?? 'refused'}${last.escalated ? ', people asked' : ''})`,
    ),
  };
}

/** What the loop's steps need. */
export interface LoopDeps {
  /** Reflex's ports (incidents, registry, cases, series points, outbox, governance's proposal path). */
  reflex: ReflexDeps;
  config: LoopConfigStore;
  now: Date;
}

/**
 * Step 1: diagnoses the incident and proposes its first playbook (Reflex's `onIncidentOpened`,
 * idempotent), then sends the loop to the proposal's gate, or ends it.
 */
export async function diagnoseStep(input: LoopInput & { execution: string; startedAt?: string }, deps: LoopDeps): Promise<LoopState> {
  const [incident, config, settings] = await Promise.all([
    onIncidentOpened(input.opened, deps.reflex),
    deps.config.loopConfig(input.tenant),
    deps.reflex.governance.store.settings(input.tenant),
  ]);
  const { enabled: _enabled, version: _version, updatedAt: _at, updatedBy: _by, ...rules } = config;
  const state: LoopState = {
    tenant: input.tenant,
    incidentId: incident.incidentId,
    execution: input.execution,
    settings: rules,
    round: 0,
    gateTimeoutSeconds: gateTimeoutOf(settings.config),
    next: 'gate',
    waitSeconds: 0,
    reason: '',
    timeline: { started: input.startedAt ?? deps.now.toISOString(), diagnosed: deps.now.toISOString() },
  };
  return nextRound(incident, state, state.gateTimeoutSeconds);
}

/** A gate's verdict on a proposal: go on (`check`), keep waiting, or end the loop. */
export type GateVerdict = { next: 'check' | 'wait' } | { next: 'end'; outcome: LoopOutcome; reason: string };

/**
 * What the loop does with a proposal in `proposal`'s state ({@link gateDecision}), with `locked` the
 * kill switches' reason (a switch ends the loop whatever the proposal). Approved proposals go on; so
 * do executed and failed ones (someone ran them: the run is replayed, not repeated).
 */
export function gateVerdict(proposal: Proposal | undefined, locked: string | undefined): GateVerdict {
  if (locked) return { next: 'end', outcome: 'halted', reason: locked };
  const decided = gateDecision(proposal);
  if (decided.decision === 'approved') return { next: 'check' };
  if (decided.decision === 'pending') return { next: 'wait' };
  if (decided.decision === 'missing') return { next: 'end', outcome: 'failed', reason: decided.reason };
  const asked = decided.decision === 'timed-out' ? '; people are asked' : '';
  return { next: 'end', outcome: decided.decision, reason: `${decided.reason}${asked}` };
}

/** Why the loop withdraws the pending proposal of an incident that closed (governance's `withdraw`, actor {@link RUN_ACTOR}). */
export const WITHDRAW_REASON = 'incident closed before a decision';

/** Withdraws the loop's pending proposal; a proposal decided meanwhile (409) is left as it is. */
async function withdrawPending(tenant: string, proposalId: string, deps: GateDeps): Promise<void> {
  try {
    await withdraw(tenant, proposalId, { actor: RUN_ACTOR, reason: WITHDRAW_REASON }, { ...deps, workflow: deps.gate.callbacks });
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
}

/** What the gate steps need: governance's gate waits, and for a closed incident's pending proposal its withdrawal. */
export interface GateDeps {
  /** Governance's gate waits (lib/governance/gate-wait.ts): the wait kept, the proposal read, the loop resumed. */
  gate: GateWaitDeps;
  store: GovernanceStore;
  outbox: OutboxPort;
  approvals: ApprovalStore;
  approvalOutbox: ApprovalOutbox;
  /** The incident, read while its proposal waits: a loop of an incident that ended stops waiting. */
  incidents: Pick<IncidentStore, 'incident'>;
  now: Date;
}

/** Who waits at governance's gate for a round's proposal. */
export const LOOP_OWNER = 'reflex:self-repair';

/** Whether the incident has nothing left to repair (closed or recovered); a missing record keeps the loop waiting. */
async function incidentEnded(state: LoopState, deps: GateDeps): Promise<boolean> {
  const incident = await deps.incidents.incident(state.tenant, state.incidentId);
  return incident !== undefined && (!incident.open || incident.state === 'recovered');
}

/**
 * Step 2 (a `.waitForTaskToken` task): waits at governance's gate for the round's proposal
 * (lib/governance/gate-wait.ts), resumed with `{ state }` bound for the check step, which reads the
 * decision. Resumed at once when the proposal is decided already (autonomous approvals, refusals), a
 * kill switch is on, or the incident ended meanwhile (its pending proposal withdrawn first: nothing
 * is left to repair); otherwise governance's gate-resume resumes it when the proposal settles.
 * @throws ValidationError when the state names no proposal.
 */
export async function awaitGate(input: { taskToken: string; state: LoopState }, deps: GateDeps): Promise<GateWaitOutcome> {
  const { state } = input;
  const proposalId = state.proposalId ?? '';
  const output = { state: { ...state, next: 'check' } };
  const request = {
    tenant: state.tenant,
    proposalId,
    taskToken: input.taskToken,
    owner: LOOP_OWNER,
    output,
    timeoutSeconds: state.gateTimeoutSeconds,
  };
  return awaitSettlement(request, deps.gate, async () => {
    if (await actuationLock(deps.store, state.tenant)) return true;
    if (!(await incidentEnded(state, deps))) return false;
    await withdrawPending(state.tenant, proposalId, deps);
    return true;
  });
}

/**
 * On the incident's close: a loop waiting at the gate for `proposalId` has nothing left to repair.
 * Its pending proposal is withdrawn (governance refuses it) and the loop resumed; its check step ends it `closed`.
 * @returns none when no loop waits for the proposal.
 */
export async function stopWaiting(tenant: string, proposalId: string, deps: GateDeps): Promise<'none' | 'resumed' | 'gone'> {
  const wait = await deps.gate.waits.get(tenant, proposalId);
  if (wait?.owner !== LOOP_OWNER) return 'none';
  await withdrawPending(tenant, proposalId, deps);
  return wake(tenant, proposalId, LOOP_OWNER, deps.gate);
}

/**
 * Step 3, after the gate and just before acting: the gate's decision read (rejected, timed out or
 * refused end the loop), the kill switches (the tenant's and the global one), the incident still
 * open (a closed one ends the loop `closed`, its withdrawn proposal too), the proposal still approved.
 */
export async function checkStep(
  gated: LoopState,
  deps: { store: GovernanceStore; incidents: Pick<IncidentStore, 'incident'>; now: Date },
): Promise<LoopState> {
  const state = { ...gated, timeline: { ...gated.timeline, decided: deps.now.toISOString() } };
  const [locked, incident, proposal] = await Promise.all([
    actuationLock(deps.store, state.tenant),
    deps.incidents.incident(state.tenant, state.incidentId),
    state.proposalId ? deps.store.proposal(state.tenant, state.proposalId) : Promise.resolve(undefined),
  ]);
  if (locked) return ended(state, 'halted', locked);
  if (!incident) return ended(state, 'failed', `incident ${state.incidentId} not found`);
  if (!incident.open || incident.state === 'recovered') return nextRound(incident, state, state.gateTimeoutSeconds);
  const verdict = gateVerdict(proposal, undefined);
  if (verdict.next === 'end') return ended(state, verdict.outcome, verdict.reason);
  if (verdict.next === 'wait') return ended(state, 'failed', `proposal ${state.proposalId} is pending again`);
  return {
    ...state,
    next: 'execute',
    reason: clip(`round ${state.round}: no kill switch, the incident is open, proposal ${state.proposalId} is ${proposal?.status}`),
  };
}

/** What the execute and verify steps need. */
export interface ActDeps {
  incidents: Pick<IncidentStore, 'incident'>;
  series: SeriesHealthPort;
  execution: ExecutionDeps;
  now: () => Date;
}

const errorText = (error: Error) => clip(`${error.name}: ${error.message}`, 1000);

/**
 * Step 4: runs the round's playbook through the Execution engine in process (`run()`: scope,
 * proposal, kill switches, dry run, execute, read-back; once per proposal). A failed run goes
 * straight to the record step (nothing changed, nothing to watch); a kill switch ends the loop.
 * @throws DependencyError (retried by the machine); ConflictError while another run of the proposal holds it.
 */
export async function executeStep(state: LoopState, deps: ActDeps): Promise<LoopState> {
  const incident = await deps.incidents.incident(state.tenant, state.incidentId);
  const attempt = incident?.attempts.find((entry) => entry.round === state.round && entry.proposalId === state.proposalId);
  if (!incident || !attempt || !state.proposalId)
    return ended(state, 'failed', `round ${state.round} of incident ${state.incidentId} has no proposal to run`);
  const before = await deps.series.health(state.tenant, incident.series);
  const executionId = executionIdOf(state.proposalId);
  let status: 'succeeded' | 'failed';
  let reasons: string[];
  try {
    const input = runInputSchema.parse({ proposalId: state.proposalId, target: attempt.target, executor: attempt.binding });
    const { run: done } = await run(state.tenant, input, RUN_ACTOR, deps.execution);
    status = done.status === 'succeeded' ? 'succeeded' : 'failed';
    reasons = done.reasons;
  } catch (error) {
    if (error instanceof LockedError) return ended(state, 'halted', error.message);
    const running = error instanceof ConflictError && (await deps.execution.runs.get(state.tenant, executionId))?.status === 'running';
    // A binding out of scope, a proposal that moved on, parameters out of bounds: the executor cannot act.
    if (
      running ||
      !(
        error instanceof ForbiddenError ||
        error instanceof ConflictError ||
        error instanceof NotFoundError ||
        error instanceof ValidationError
      )
    )
      throw error;
    status = 'failed';
    reasons = [errorText(error)];
  }
  const now = deps.now();
  const executedAt = now.toISOString();
  const timeline = { ...state.timeline, executed: executedAt };
  if (status === 'failed') {
    return {
      ...state,
      timeline,
      next: 'record',
      recovery: 'not-recovered',
      evidence: {
        method: 'executor-failed',
        executionId,
        run: 'failed',
        reasons: reasons.map((reason) => clip(reason, 1000)).slice(0, 20),
      },
      waitSeconds: 0,
      reason: clip(
        `round ${state.round}: the ${attempt.binding.kind} executor failed (${reasons.join('; ') || 'no reason given'}); nothing changed`,
      ),
    };
  }
  const windowMs = state.settings.recoveryWindowSeconds * 1000;
  return {
    ...state,
    timeline,
    next: 'verify',
    run: { executionId, status, baseline: before?.count ?? 0, executedAt, deadline: iso(now.getTime() + windowMs) },
    waitSeconds: Math.min(state.settings.verifyIntervalSeconds, state.settings.recoveryWindowSeconds),
    reason: clip(
      `round ${state.round}: ${attempt.playbook} ran on ${attempt.target} (${executionId}); watching ${incident.series} for ${state.settings.recoveryWindowSeconds} s`,
    ),
  };
}

/** What {@link judgeRecovery} reads. */
export interface RecoveryFacts {
  /** Epoch ms of the incident's start (its id's). */
  incidentStart: number;
  /** The series' health now; undefined when the series is gone. */
  health: SeriesHealth | undefined;
  /** Whether Reflex still has the incident open (it hears Observation's close on the bus). */
  reflexOpen: boolean;
  /** Points the series had before the run. */
  baseline: number;
  calmPoints: number;
  now: number;
  executedAt: number;
  deadline: number;
  intervalSeconds: number;
  windowSeconds: number;
}

/** A verdict on a round's effect, or `pending` with the seconds to wait before the next look. */
export interface RecoveryVerdict {
  status: 'recovered' | 'not-recovered' | 'pending';
  waitSeconds: number;
  evidence: Omit<RecoveryEvidence, 'executionId' | 'run'>;
}

/**
 * Judges a round's effect: recovered when Observation's tracker no longer has the incident open
 * (or Reflex heard it close), or when the newest `calmPoints` points since the run are all within
 * the detector's band; not recovered once the window is over; pending before.
 * @example
 * judgeRecovery({ incidentStart, health: { count: 230, openIncidentStart: null, flags }, reflexOpen: true, baseline: 212, calmPoints: 5, now, executedAt, deadline, intervalSeconds: 10, windowSeconds: 300 }).status // 'recovered'
 */
export function judgeRecovery(facts: RecoveryFacts): RecoveryVerdict {
  const trackerOpen = facts.health ? facts.health.openIncidentStart === facts.incidentStart : facts.reflexOpen;
  const pointsSince = facts.health ? Math.max(0, facts.health.count - facts.baseline) : 0;
  const since = facts.health ? facts.health.flags.slice(facts.health.flags.length - Math.min(pointsSince, facts.health.flags.length)) : [];
  let calm = 0;
  for (let index = since.length - 1; index >= 0 && since[index] === 0; index -= 1) calm += 1;
  const base = {
    windowSeconds: facts.windowSeconds,
    waitedMs: Math.max(0, Math.round(facts.now - facts.executedAt)),
    trackerOpen,
    pointsSince,
    calmPoints: calm,
  };
  if (!trackerOpen || !facts.reflexOpen) {
    return { status: 'recovered', waitSeconds: 0, evidence: { method: 'observed', ...base, reasons: ['Observation closed the incident'] } };
  }
  if (calm >= facts.calmPoints) {
    return {
      status: 'recovered',
      waitSeconds: 0,
      evidence: {
        method: 'observed',
        ...base,
        reasons: [`the last ${calm} points since the run are within the detector's band (${facts.calmPoints} needed)`],
      },
    };
  }
  if (facts.now >= facts.deadline) {
    return {
      status: 'not-recovered',
      waitSeconds: 0,
      evidence: {
        method: 'observed',
        ...base,
        reasons: [
          `the incident is still open after the ${facts.windowSeconds} s recovery window`,
          `${calm} of the ${facts.calmPoints} points needed since the run are within the band`,
        ],
      },
    };
  }
  const waitSeconds = Math.max(1, Math.min(facts.intervalSeconds, Math.ceil((facts.deadline - facts.now) / 1000), 3_600));
  return { status: 'pending', waitSeconds, evidence: { method: 'observed', ...base, reasons: [] } };
}

/** Step 5: looks at the series (again, every `verifyIntervalSeconds`) until the incident recovered or the window ends. */
export async function verifyStep(state: LoopState, deps: Omit<ActDeps, 'execution'>): Promise<LoopState> {
  const { run: ran } = state;
  if (!ran) return ended(state, 'failed', `round ${state.round} has no run to verify`);
  const incident = await deps.incidents.incident(state.tenant, state.incidentId);
  if (!incident) return ended(state, 'failed', `incident ${state.incidentId} not found`);
  const health = await deps.series.health(state.tenant, incident.series);
  const now = deps.now();
  const verdict = judgeRecovery({
    incidentStart: Date.parse(incident.startedAt),
    health,
    reflexOpen: incident.open,
    baseline: ran.baseline,
    calmPoints: state.settings.calmPoints,
    now: now.getTime(),
    executedAt: Date.parse(ran.executedAt),
    deadline: Date.parse(ran.deadline),
    intervalSeconds: state.settings.verifyIntervalSeconds,
    windowSeconds: state.settings.recoveryWindowSeconds,
  });
  if (verdict.status === 'pending') {
    return {
      ...state,
      next: 'verify',
      waitSeconds: verdict.waitSeconds,
      reason: clip(`round ${state.round}: watching ${incident.series}, ${verdict.evidence.pointsSince} points since the run`),
    };
  }
  return {
    ...state,
    next: 'record',
    recovery: verdict.status,
    evidence: { ...verdict.evidence, executionId: ran.executionId, run: ran.status },
    waitSeconds: 0,
    timeline: { ...state.timeline, verified: now.toISOString() },
    reason: clip(`round ${state.round}: ${verdict.status} (${verdict.evidence.reasons.join('; ')})`),
  };
}

/**
 * Step 6: writes the round's outcome (Reflex's `reportIncidentOutcome`: the case base learns it,
 * `reflex.recovery.verified` goes to the ledger; not recovered proposes the next playbook, for
 * people after the tenant's `maxFailedPlaybooks` failures), then goes to the next round's gate or
 * ends. A round whose outcome is known already (Reflex heard the incident close) is not reported again.
 */
export async function recordStep(state: LoopState, deps: LoopDeps): Promise<LoopState> {
  const current = await deps.reflex.incidents.incident(state.tenant, state.incidentId);
  if (!current) return ended(state, 'failed', `incident ${state.incidentId} not found`);
  const last = current.attempts.at(-1);
  let incident = current;
  if (state.recovery && last && last.round === state.round && !last.outcome) {
    incident = await reportIncidentOutcome(
      state.tenant,
      { incidentId: state.incidentId, outcome: state.recovery, detail: state.reason },
      deps.reflex,
      {
        actor: LOOP_ACTOR,
        evidence: state.evidence ?? { method: 'observed', reasons: [] },
        maxFailedPlaybooks: state.settings.maxFailedPlaybooks,
      },
    );
  }
  const settings = await deps.reflex.governance.store.settings(state.tenant);
  return nextRound(incident, state, gateTimeoutOf(settings.config));
}

/** The machine's state when it finishes: the loop's state when a step ended it, or the error a step failed with. */
export const finishInputSchema = z.object({
  execution: z.string().min(1).max(MAX_EXECUTION_NAME_LENGTH),
  state: z.object({
    tenant: tenantSchema,
    incidentId: incidentIdSchema,
    loop: z.object({ state: loopStateSchema }).optional(),
    /** Set by the machine when a timeout or a failure ended the loop. */
    outcome: loopOutcomeSchema.optional(),
    failure: z.object({ Error: z.string().max(256).optional(), Cause: z.string().max(32_768).optional() }).nullish(),
  }),
});
/** The finish step's input. */
export type FinishInput = z.infer<typeof finishInputSchema>;

/** The outcome and reason of a finished loop. */
export function finishOutcome(input: FinishInput): { outcome: LoopOutcome; reason: string } {
  const { state } = input;
  const loop = state.loop?.state;
  if (state.outcome === 'timed-out') {
    return {
      outcome: 'timed-out',
      reason: `the gate of proposal ${loop?.proposalId ?? 'unknown'} kept the loop waiting beyond ${loop?.gateTimeoutSeconds ?? '?'} s; people are asked`,
    };
  }
  if (state.outcome === 'failed' || !loop?.outcome) {
    const failure = state.failure ? `${state.failure.Error ?? 'Error'}: ${state.failure.Cause ?? ''}` : 'no outcome';
    return { outcome: 'failed', reason: clip(`a step failed after its retries (${failure})`) };
  }
  return { outcome: state.outcome ?? loop.outcome, reason: loop.reason };
}

/** Incident states a loop's end leaves: people asked after a rejection or a timeout, refused under a kill switch. */
const STATE_AFTER: Partial<Record<LoopOutcome, Incident['state']>> = {
  rejected: 'escalated',
  'timed-out': 'escalated',
  halted: 'refused',
  refused: 'refused',
};

/**
 * Step 7: the loop's summary on the incident with `reflex.loop.completed` (one write, an outbox),
 * recorded in the ledger and published; written once per execution.
 * @returns the outcome; undefined reason when the incident does not exist (nothing to record on).
 */
export async function finishStep(
  input: FinishInput,
  deps: { incidents: IncidentStore; outbox: OutboxPort; now: Date },
): Promise<{ outcome: LoopOutcome; reason: string; rounds: number }> {
  const { outcome, reason } = finishOutcome(input);
  const { tenant, incidentId } = input.state;
  for (let attempt = 1; ; attempt += 1) {
    const incident = await deps.incidents.incident(tenant, incidentId);
    if (!incident) return { outcome, reason, rounds: 0 };
    const rounds = incident.attempts.filter((entry) => entry.outcome !== undefined).length;
    if (incident.loop?.execution === input.execution)
      return { outcome: incident.loop.outcome, reason: incident.loop.reason, rounds: incident.loop.rounds };
    const at = deps.now.toISOString();
    const state = incident.open ? (STATE_AFTER[outcome] ?? incident.state) : incident.state;
    const timeline = input.state.loop?.state.timeline;
    const next: Incident = {
      ...incident,
      state,
      loop: { execution: input.execution, outcome, rounds, reason: clip(reason), ...(timeline ? { timeline } : {}), completedAt: at },
      reasons: [...incident.reasons, clip(`self-repair loop ${outcome}: ${reason}`)].slice(-20),
      updatedAt: at,
      version: incident.version + 1,
    };
    const event = busEvent('reflex.loop.completed', {
      tenant,
      incidentId,
      execution: input.execution,
      outcome,
      rounds,
      reason: clip(reason),
      completedAt: at,
    });
    try {
      const entries = await deps.incidents.putIncident(next, incident.version, [event]);
      for (const entry of entries) await deps.outbox.record(entry);
      await deps.outbox.deliver(entries);
      return { outcome, reason, rounds };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 5) throw error;
    }
  }
}
