/**
 * The Execution engine (L3): runs an approved governance proposal through an executor binding.
 *
 * One run: the binding in scope → the proposal `approved` for this target and an action the
 * executor serves, with the parameters it approved → the kill switches → the run claimed once
 * under its execution id (derived from the proposal: the same proposal never acts twice) → dry run
 * → the kill switches again, just before acting → execute → read-back → `succeeded` only when the
 * read-back shows every field the change asked for. The run's final state is written with its
 * `execution.run.completed` event (an outbox), recorded in the ledger and published; the outcome
 * goes to governance (`reportOutcome`: executed or failed), which feeds later risk assessments.
 */
import { busEvent } from '../events/publisher.ts';
import type { BusEvent } from '../events/publisher.ts';
import { ConflictError, ForbiddenError, LockedError, NotFoundError, ValidationError } from '../errors.ts';
import { type ActuationId, checkBounds, findActuation } from '../governance/actuations.ts';
import { type GovernanceStore, type LedgerRef, type OutboxEntry, type OutboxPort, type Proposal, reportOutcome } from '../governance/proposals.ts';
import { assertActuationAllowed } from '../governance/settings.ts';
import { type Binding, checkScope, type StageScope } from './bindings.ts';
import { type ExecutionPlan, type ExecutionRequest, type ExecutionResult, type Executor, type ExecutorRegistry, mismatches } from './executor.ts';
import type { Run, RunInput, UndoInput } from './schemas.ts';

/** Storage of runs: each write conditional and carrying its events (an outbox). */
export interface RunStore {
  get(tenant: string, executionId: string): Promise<Run | undefined>;
  /** @throws ConflictError when the stored run is not at `expectedVersion` (`undefined`: absent). */
  put(next: Run, expectedVersion: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
  /** Removes a claim that never acted (refused by a kill switch before the change). @throws ConflictError when it moved on. */
  release(tenant: string, executionId: string, expectedVersion: number): Promise<void>;
}

/** What running needs. */
export interface ExecutionDeps {
  executors: ExecutorRegistry;
  runs: RunStore;
  /** Governance state: proposals, settings, the global kill switch, outcomes. */
  governance: GovernanceStore;
  /** Records events in the ledger and publishes them (governance's outbox port). */
  outbox: OutboxPort;
  stage: StageScope;
  now: () => Date;
  /** A `running` record older than this is a crashed run and may be taken over (default 5 minutes). */
  leaseMs?: number;
}

/** The reply to a run. */
export interface RunOutcome {
  run: Run;
  /** True when the execution id had run already: nothing acted this time. */
  replayed: boolean;
}

/** A dry run's reply: the plan, nothing changed or recorded. */
export interface DryRunOutcome {
  executionId: string;
  plan: ExecutionPlan;
  parameters: Record<string, unknown>;
}

const DEFAULT_LEASE_MS = 5 * 60_000;

/**
 * The execution id of a proposal: one proposal, one execution, however often it is asked.
 * @example executionIdOf('3f1c…') // 'exec-3f1c…'
 */
export function executionIdOf(proposalId: string): string {
  return `exec-${proposalId}`;
}

/** The id an undo of an execution runs under (one undo per execution). */
export function undoIdOf(executionId: string): string {
  return `undo-${executionId}`;
}

function executorOf(deps: Pick<ExecutionDeps, 'executors'>, kind: Binding['kind']): Executor<Record<string, unknown>> {
  const executor = deps.executors[kind] as Executor<Record<string, unknown>> | undefined;
  if (!executor) throw new ValidationError([{ path: 'body.parameters.executor.kind', message: `no ${kind} executor is configured in this stage` }]);
  return executor;
}

/**
 * Checks the request against the proposal and builds the executor's request.
 * @throws ForbiddenError (403) when the binding is outside the executor's scope.
 * @throws NotFoundError (404) when the proposal does not exist (or is another tenant's).
 * @throws ConflictError (409) when the proposal is not approved, names another target or action, or approved other parameters.
 * @throws ValidationError (400) for parameters the executor or the actuation's bounds refuse.
 */
async function prepare(tenant: string, input: RunInput, deps: ExecutionDeps, allowFinished: boolean): Promise<{ proposal: Proposal; executor: Executor<Record<string, unknown>>; request: ExecutionRequest<Record<string, unknown>> }> {
  const executor = executorOf(deps, input.executor.kind);
  const outside = checkScope(input.executor, deps.stage);
  if (outside) throw new ForbiddenError(`The ${input.executor.kind} executor may not act on this binding: ${outside}`);
  const proposal = await deps.governance.proposal(tenant, input.proposalId);
  if (!proposal) throw new NotFoundError(`Proposal ${input.proposalId} not found`);
  const finished = proposal.status === 'executed' || proposal.status === 'failed';
  if (proposal.status !== 'approved' && !(allowFinished && finished)) {
    throw new ConflictError(`Proposal ${proposal.proposalId} is ${proposal.status}; only an approved proposal runs`);
  }
  if (proposal.target !== input.target) throw new ConflictError(`Proposal ${proposal.proposalId} was approved for target ${proposal.target}, not ${input.target}`);
  const action = `${proposal.engine}:${proposal.action}` as ActuationId;
  if (!executor.actions.includes(action)) {
    throw new ConflictError(`Proposal ${proposal.proposalId} approved ${action}, which the ${executor.kind} executor does not carry out (it serves ${executor.actions.join(', ')})`);
  }
  const raw = { ...input.executor.parameters, ...input.parameters };
  // What people or policy approved is what runs: a parameter the proposal named may not change here.
  const changed = Object.keys(proposal.parameters).filter((key) => key in raw && JSON.stringify(raw[key]) !== JSON.stringify(proposal.parameters[key]));
  if (changed.length > 0) throw new ConflictError(`Proposal ${proposal.proposalId} approved other values for ${changed.join(', ')}; propose again to change them`);
  const merged = { ...proposal.parameters, ...raw };
  const parameters = executor.parameters(action, merged);
  const actuation = findActuation(proposal.engine, proposal.action);
  const outOfBounds = actuation ? checkBounds(actuation, parameters) : [];
  if (outOfBounds.length > 0) throw new ValidationError(outOfBounds.map((issue) => ({ ...issue, path: `body.${issue.path}` })));
  return { proposal, executor, request: { tenant, action, target: input.target, binding: input.executor, parameters } };
}

async function assertUnlocked(tenant: string, deps: Pick<ExecutionDeps, 'governance'>): Promise<void> {
  const [settings, global] = await Promise.all([deps.governance.settings(tenant), deps.governance.globalKillSwitch()]);
  assertActuationAllowed(settings, global);
}

function completedEvent(run: Run, mode: 'execute' | 'undo', outcome: 'succeeded' | 'failed', verified: boolean, reasons: string[], actor: string, at: string): BusEvent {
  return busEvent(
    'execution.run.completed',
    {
      tenant: run.tenant,
      executionId: run.executionId,
      proposalId: run.proposalId,
      engine: run.engine,
      action: run.action,
      target: run.target,
      executor: run.executor,
      resource: run.resource,
      mode,
      outcome,
      verified,
      changes: (run.plan?.changes ?? []).slice(0, 50),
      reasons: reasons.slice(0, 20),
      actor,
      completedAt: at,
    },
    { resources: run.executor === 'webhook' ? [] : [run.resource] },
  );
}

/** Writes a run with its event, records the event in the ledger, publishes it. */
async function commit(deps: Pick<ExecutionDeps, 'runs' | 'outbox'>, next: Run, expected: number | undefined, events: BusEvent[]): Promise<Run> {
  const entries = await deps.runs.put(next, expected, events);
  let stored = next;
  const first = entries[0];
  if (first) {
    const ledger: LedgerRef | undefined = await deps.outbox.record(first);
    if (ledger) {
      const withLedger = { ...next, ledger, version: next.version + 1 };
      // Best effort: the entry is in the ledger either way; only the pointer on the run would be missing.
      await deps.runs.put(withLedger, next.version, []).then(
        () => {
          stored = withLedger;
        },
        () => {},
      );
    }
  }
  await deps.outbox.deliver(entries);
  return stored;
}

const errorText = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 1000);

/**
 * Plans a run without changing or recording anything (the executor's dry run).
 * @throws as {@link run} before it acts (403, 404, 409, 400).
 */
export async function planRun(tenant: string, input: RunInput, deps: ExecutionDeps): Promise<DryRunOutcome> {
  const { executor, request } = await prepare(tenant, input, deps, true);
  return { executionId: executionIdOf(input.proposalId), plan: await executor.dryRun(request), parameters: request.parameters };
}

/**
 * Runs an approved proposal once: dry run, kill switch, execute, read-back; records the outcome
 * (run, ledger, governance). A second call with the same proposal returns the first run (`replayed`).
 * An executor failure or a read-back that does not verify is a `failed` run (and a `failed`
 * proposal), not an error.
 *
 * @throws ForbiddenError (403) when the binding is outside the executor's scope.
 * @throws NotFoundError (404) when the proposal does not exist.
 * @throws ConflictError (409) when the proposal is not approved for this target and action, or the run is in progress.
 * @throws LockedError (423) while a kill switch is on (nothing acted).
 * @throws ValidationError (400) for parameters the executor or the actuation's bounds refuse.
 * @example
 * const { run } = await run('acme', { proposalId, executor: binding, target: 'fn/chat', parameters: {}, dryRun: false }, 'engine:reflex', deps);
 */
export async function run(tenant: string, input: RunInput, actor: string, deps: ExecutionDeps): Promise<RunOutcome> {
  const executionId = executionIdOf(input.proposalId);
  const existing = await deps.runs.get(tenant, executionId);
  const lease = deps.leaseMs ?? DEFAULT_LEASE_MS;
  if (existing && existing.status !== 'running') return { run: existing, replayed: true };
  if (existing && deps.now().getTime() - Date.parse(existing.startedAt) < lease) {
    throw new ConflictError(`Execution ${executionId} is running since ${existing.startedAt}; read it with GET /execution/runs?executionId=${executionId}`);
  }
  const { proposal, executor, request } = await prepare(tenant, input, deps, false);
  await assertUnlocked(tenant, deps);

  const startedAt = deps.now().toISOString();
  const claim: Run = {
    tenant,
    executionId,
    proposalId: proposal.proposalId,
    engine: proposal.engine,
    action: proposal.action,
    target: proposal.target,
    executor: input.executor.kind,
    resource: input.executor.resource,
    parameters: request.parameters,
    status: 'running',
    actor,
    verified: false,
    detail: '',
    reasons: [],
    startedAt,
    version: existing ? existing.version + 1 : 0,
  };
  try {
    await deps.runs.put(claim, existing?.version, []);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    const winner = await deps.runs.get(tenant, executionId);
    if (winner && winner.status !== 'running') return { run: winner, replayed: true };
    throw new ConflictError(`Execution ${executionId} was claimed by another run at the same time; read it with GET /execution/runs?executionId=${executionId}`);
  }

  let plan: ExecutionPlan | undefined;
  let result: ExecutionResult | undefined;
  let observed: Record<string, unknown> | undefined;
  const reasons: string[] = [];
  try {
    plan = await executor.dryRun(request);
    // The kill switch is read again just before the executor acts (no cache: it reaches this run at once).
    try {
      await assertUnlocked(tenant, deps);
    } catch (error) {
      if (error instanceof LockedError) await deps.runs.release(tenant, executionId, claim.version).catch(() => {});
      throw error;
    }
    result = await executor.execute(request, executionId, plan);
    observed = await executor.readBack(request, result);
    reasons.push(...mismatches(result.after, observed).map((line) => `read-back: ${line}`));
  } catch (error) {
    if (error instanceof LockedError) throw error;
    reasons.push(`${result ? 'read-back' : plan ? 'execute' : 'dry run'} failed: ${errorText(error)}`);
  }
  const verified = result !== undefined && observed !== undefined && reasons.length === 0;
  const finishedAt = deps.now().toISOString();
  const final: Run = {
    ...claim,
    status: verified ? 'succeeded' : 'failed',
    ...(plan ? { plan: { before: plan.before, after: plan.after, changes: plan.changes.slice(0, 50) } } : {}),
    ...(observed ? { observed } : {}),
    verified,
    detail: (result?.detail ?? '').slice(0, 2000),
    reasons: reasons.slice(0, 20),
    finishedAt,
    version: claim.version + 1,
  };
  const stored = await commit(deps, final, claim.version, [completedEvent(final, 'execute', final.status === 'succeeded' ? 'succeeded' : 'failed', verified, final.reasons, actor, finishedAt)]);
  const detail = verified ? `${executor.kind} on ${input.executor.resource}: ${plan?.changes.join('; ') || 'no change needed'} (verified)` : final.reasons.join('; ');
  try {
    await reportOutcome(tenant, { proposalId: proposal.proposalId, outcome: verified ? 'executed' : 'failed', detail: `${executionId}: ${detail}`.slice(0, 1000) }, actor, { store: deps.governance, outbox: deps.outbox, now: deps.now() });
  } catch (error) {
    // Someone reported another outcome meanwhile (PUT /governance/proposals): the run keeps what it saw.
    if (!(error instanceof ConflictError)) throw error;
  }
  return { run: stored, replayed: false };
}

/**
 * Restores what a succeeded run changed (the executor's undo, then a read-back of the state before),
 * once per run; the outcome is recorded on the run, in the ledger and on the bus.
 *
 * @throws NotFoundError (404) when there is no such run.
 * @throws ConflictError (409) when the run did not succeed or its executor has no undo.
 * @throws LockedError (423) while a kill switch is on (nothing acted).
 */
export async function undo(tenant: string, input: UndoInput, actor: string, deps: ExecutionDeps): Promise<Run> {
  const current = await deps.runs.get(tenant, input.executionId);
  if (!current) throw new NotFoundError(`Execution ${input.executionId} not found`);
  if (current.undo) return current;
  if (current.status !== 'succeeded' || !current.plan) throw new ConflictError(`Execution ${input.executionId} is ${current.status}; only a succeeded run can be undone`);
  const executor = executorOf(deps, current.executor);
  if (!executor.undo) throw new ConflictError(`The ${executor.kind} executor has no undo`);
  await assertUnlocked(tenant, deps);
  const binding = { kind: current.executor, resource: current.resource, parameters: {} } as Binding;
  const request: ExecutionRequest<Record<string, unknown>> = { tenant, action: `${current.engine}:${current.action}` as ActuationId, target: current.target, binding, parameters: current.parameters };
  const previous: ExecutionResult = { before: current.plan.before, after: current.plan.after, detail: current.detail };
  const undoId = undoIdOf(current.executionId);
  const reasons: string[] = [`undo: ${input.reason}`];
  let observed: Record<string, unknown> | undefined;
  let ok = false;
  try {
    const restored = await executor.undo(request, previous, undoId);
    observed = await executor.readBack(request, restored);
    const wrong = mismatches(restored.after, observed);
    reasons.push(...wrong.map((line) => `read-back: ${line}`));
    ok = wrong.length === 0;
  } catch (error) {
    reasons.push(`undo failed: ${errorText(error)}`);
  }
  const at = deps.now().toISOString();
  const next: Run = {
    ...current,
    undo: { undoId, status: ok ? 'succeeded' : 'failed', actor, ...(observed ? { observed } : {}), reasons: reasons.slice(0, 20), at },
    version: current.version + 1,
  };
  return commit(deps, next, current.version, [completedEvent(next, 'undo', ok ? 'succeeded' : 'failed', ok, reasons, actor, at)]);
}
