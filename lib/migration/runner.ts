/**
 * Carrying out a migration plan through the L3 Execution engine's executors, one step at a time
 * (so each step can be one task of the migration state machine), and undoing it in reverse when a
 * check fails.
 *
 * A step: the kill switches (read on every step, no cache) → its pre-checks (the target instance
 * still holds what the plan puts there, against the pool catalogue as it is now; each dependency's
 * latency within its bound) → the executor's scope check, dry run, execute and read-back (the
 * `health` post-check: the read-back shows every field asked for) → the `latency` post-check (the
 * newest points of the workload's series, read from Observation, within the bound). A failed check
 * fails the step; {@link rollBack} then undoes every step that acted, last first, each read back.
 *
 * The plan runs under one governance proposal (`migration:migrate` on `migration/<planId>`, which
 * the seeds route through L3 validation at least); {@link assertApproved} checks it before the
 * first step. Pure: the executors, governance state and series are ports.
 */
import { ConflictError, LockedError, NotFoundError } from '../errors.ts';
import { checkScope, type StageScope } from '../execution/bindings.ts';
import { type ExecutionRequest, type Executor, type ExecutorRegistry, mismatches, type ResourceState } from '../execution/executor.ts';
import type { GovernanceStore, Proposal } from '../governance/proposals.ts';
import { assertActuationAllowed } from '../governance/settings.ts';
import { type PlanStep, undoOrder } from './plan.ts';
import type { Pool } from './schemas.ts';

/** The governed actuation a migration runs under. */
export const MIGRATE_ACTION = 'migration:migrate' as const;
/** Points of a latency series the post-check reads (the newest). */
export const LATENCY_POINTS = 3;

/** The newest values of a series, newest first (Observation's record). */
export interface LatencyPort {
  newest(tenant: string, series: string, count: number): Promise<number[]>;
}

/** What running steps needs. */
export interface RunnerDeps {
  executors: ExecutorRegistry;
  stage: StageScope;
  governance: Pick<GovernanceStore, 'settings' | 'globalKillSwitch' | 'proposal'>;
  latency: LatencyPort;
  /** The tenant's pool catalogue now (capacity pre-checks). */
  pools(tenant: string): Promise<readonly Pool[]>;
  now(): Date;
}

/** What one step did. */
export interface StepRecord {
  index: number;
  status: 'succeeded' | 'failed';
  /** The state the dry run read (what undo restores) and the state asked for; absent for a check-only step. */
  before?: ResourceState;
  after?: ResourceState;
  observed?: ResourceState;
  changes: string[];
  reasons: string[];
  startedAt: string;
  finishedAt: string;
  /** Set once the step was undone. */
  undo?: { status: 'succeeded' | 'failed'; reasons: string[]; at: string };
}

/** The proposal target of a plan. */
export function planTarget(planId: string): string {
  return `migration/${planId}`;
}

/**
 * Checks that the plan's proposal is approved for this plan as it stands.
 * @throws NotFoundError when the proposal does not exist; ConflictError when it is not approved, or approved another plan or hash.
 */
export async function assertApproved(
  tenant: string,
  proposalId: string,
  planId: string,
  planHash: string,
  deps: Pick<RunnerDeps, 'governance'>,
): Promise<Proposal> {
  const proposal = await deps.governance.proposal(tenant, proposalId);
  if (!proposal) throw new NotFoundError(`Proposal ${proposalId} not found`);
  if (`${proposal.engine}:${proposal.action}` !== MIGRATE_ACTION || proposal.target !== planTarget(planId))
    throw new ConflictError(`Proposal ${proposalId} is not the migration of plan ${planId}`);
  if (proposal.parameters.planHash !== planHash)
    throw new ConflictError(`Proposal ${proposalId} approved another version of plan ${planId}`);
  if (proposal.status !== 'approved')
    throw new ConflictError(`Proposal ${proposalId} is ${proposal.status}; only an approved migration runs`);
  return proposal;
}

/** @throws LockedError while the tenant's or the global kill switch is on (or a constitution waits). */
export async function assertUnlocked(tenant: string, deps: Pick<RunnerDeps, 'governance'>): Promise<void> {
  const [settings, global] = await Promise.all([deps.governance.settings(tenant), deps.governance.globalKillSwitch()]);
  assertActuationAllowed(settings, global);
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error).slice(0, 500);
}

async function latencyIssues(
  tenant: string,
  series: string,
  boundMs: number,
  deps: Pick<RunnerDeps, 'latency'>,
  what: string,
): Promise<string[]> {
  const values = await deps.latency.newest(tenant, series, LATENCY_POINTS);
  if (values.length === 0) return [`${what}: no points in ${series}`];
  const over = values.filter((value) => value > boundMs);
  return over.length > 0 ? [`${what}: ${series} at ${over.map((v) => Math.round(v)).join(', ')} ms, over the ${boundMs} ms bound`] : [];
}

/** The pre-checks of a step: capacity against the catalogue now, dependencies within their bounds (no points: a failed check). */
export async function preCheckIssues(tenant: string, step: PlanStep, deps: RunnerDeps): Promise<string[]> {
  const issues: string[] = [];
  for (const check of step.preChecks) {
    if (check.kind === 'capacity') {
      const pool = (await deps.pools(tenant)).find((p) => p.id === check.pool);
      if (!pool) issues.push(`capacity: pool ${check.pool} is no longer in the catalogue`);
      else if (
        check.instance >= pool.maxInstances ||
        check.vcpu > pool.vcpu + 1e-9 ||
        check.memoryGiB > pool.memoryGiB + 1e-9 ||
        check.accelerators > pool.accelerators
      ) {
        issues.push(
          `capacity: ${check.pool} #${check.instance} cannot hold ${check.vcpu} vCPU, ${check.memoryGiB} GiB, ${check.accelerators} accelerators any more`,
        );
      }
    } else issues.push(...(await latencyIssues(tenant, check.series, check.boundMs, deps, `dependency ${check.workload}`)));
  }
  return issues;
}

function requestOf(tenant: string, planId: string, step: PlanStep, deps: Pick<RunnerDeps, 'executors'>) {
  const binding = step.binding;
  if (!binding) return undefined;
  const executor = deps.executors[binding.kind] as Executor<Record<string, unknown>> | undefined;
  if (!executor) throw new ConflictError(`no ${binding.kind} executor is configured in this stage`);
  if (!executor.actions.includes(MIGRATE_ACTION))
    throw new ConflictError(`the ${binding.kind} executor does not carry out ${MIGRATE_ACTION}`);
  const request: ExecutionRequest<Record<string, unknown>> = {
    tenant,
    action: MIGRATE_ACTION,
    target: planTarget(planId),
    binding,
    parameters: executor.parameters(MIGRATE_ACTION, binding.parameters),
  };
  return { executor, request };
}

/** Options of {@link runStep}. */
export interface RunStepOptions {
  /** Run the latency post-check in the step (default true); the state machine runs it as its own task ({@link latencyPostCheck}). */
  latency?: boolean;
}

/**
 * Runs one step: kill switches, pre-checks, executor (dry run, execute, read-back), post-checks.
 * A failed check or executor error is a `failed` record (whatever acted is in `before`/`after`, for
 * the undo); the kill switch is thrown, so nothing acts.
 * @throws LockedError while a kill switch is on (nothing acted).
 * @example await runStep('acme', plan.planId, plan.steps[0], deps)
 */
export async function runStep(
  tenant: string,
  planId: string,
  step: PlanStep,
  deps: RunnerDeps,
  options: RunStepOptions = {},
): Promise<StepRecord> {
  const startedAt = deps.now().toISOString();
  await assertUnlocked(tenant, deps);
  const done = (status: StepRecord['status'], reasons: string[], extra: Partial<StepRecord> = {}): StepRecord => ({
    index: step.index,
    status,
    changes: [],
    reasons: reasons.slice(0, 20),
    startedAt,
    finishedAt: deps.now().toISOString(),
    ...extra,
  });
  const pre = await preCheckIssues(tenant, step, deps);
  if (pre.length > 0)
    return done(
      'failed',
      pre.map((issue) => `pre-check ${issue}`),
    );
  let prepared: ReturnType<typeof requestOf>;
  try {
    prepared = requestOf(tenant, planId, step, deps);
  } catch (error) {
    return done('failed', [errorText(error)]);
  }
  if (!prepared) return done('succeeded', []);
  const { executor, request } = prepared;
  const outside = checkScope(request.binding, deps.stage);
  if (outside) return done('failed', [`scope: ${outside}`]);
  let plan: Awaited<ReturnType<typeof executor.dryRun>> | undefined;
  let acted = false;
  try {
    plan = await executor.dryRun(request);
    // The kill switch again just before acting.
    await assertUnlocked(tenant, deps);
    const result = await executor.execute(request, `migration-${planId}-${step.index}`, plan);
    acted = true;
    const observed = await executor.readBack(request, result);
    const health = mismatches(result.after, observed).map((line) => `post-check health: ${line}`);
    const latency = health.length === 0 && options.latency !== false ? await latencyPostCheck(tenant, step, deps) : [];
    const reasons = [...health, ...latency];
    return done(reasons.length === 0 ? 'succeeded' : 'failed', reasons, {
      before: result.before,
      after: result.after,
      observed,
      changes: plan.changes.slice(0, 20),
    });
  } catch (error) {
    if (error instanceof LockedError && !acted) throw error;
    return done(
      'failed',
      [`${acted ? 'read-back' : plan ? 'execute' : 'dry run'} failed: ${errorText(error)}`],
      plan && acted ? { before: plan.before, after: plan.after, changes: plan.changes.slice(0, 20) } : {},
    );
  }
}

/** The latency post-checks of a step: the newest points of each series within its bound (no points: a failed check). */
export async function latencyPostCheck(tenant: string, step: PlanStep, deps: Pick<RunnerDeps, 'latency'>): Promise<string[]> {
  const issues: string[] = [];
  for (const check of step.postChecks)
    if (check.kind === 'latency') issues.push(...(await latencyIssues(tenant, check.series, check.boundMs, deps, 'post-check latency')));
  return issues;
}

/**
 * Undoes every step that acted (a record with `before`), last first: the executor restores the
 * state its dry run read, then reads it back. Returns the records with their `undo` set.
 * Undo runs under a kill switch too: putting back what this migration changed is what the switch
 * wants (the Execution engine's own undo route refuses instead, as nothing asked for it).
 */
export async function rollBack(
  tenant: string,
  planId: string,
  steps: readonly PlanStep[],
  records: readonly StepRecord[],
  deps: RunnerDeps,
): Promise<StepRecord[]> {
  const out = records.map((record) => ({ ...record }));
  const acted = out
    .filter((record) => record.before !== undefined && record.after !== undefined && !record.undo)
    .map((record) => record.index);
  for (const index of undoOrder(steps, acted)) {
    const step = steps[index];
    const record = out.find((r) => r.index === index);
    if (!step || !record?.before || !record.after) continue;
    const reasons: string[] = [];
    let ok = false;
    try {
      const prepared = requestOf(tenant, planId, step, deps);
      if (!prepared?.executor.undo) throw new ConflictError(`the ${step.binding?.kind} executor has no undo`);
      const restored = await prepared.executor.undo(
        prepared.request,
        { before: record.before, after: record.after, detail: '' },
        `migration-${planId}-${index}-undo`,
      );
      const observed = await prepared.executor.readBack(prepared.request, restored);
      reasons.push(...mismatches(restored.after, observed).map((line) => `read-back: ${line}`));
      ok = reasons.length === 0;
    } catch (error) {
      reasons.push(`undo failed: ${errorText(error)}`);
    }
    record.undo = { status: ok ? 'succeeded' : 'failed', reasons, at: deps.now().toISOString() };
  }
  return out;
}
