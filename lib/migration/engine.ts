/**
 * The Migration engine's API operations: the tenant's pool catalogue, plans (a placement, its ordered
 * steps and hash, one governance proposal `migration:migrate` on `migration/<planId>`), runs (one
 * execution of a stored plan through the migration state machine, statemachines/migration.asl.json,
 * whose steps are lib/migration/loop.ts), cancelling a run before its first step, and the status.
 *
 * Every write is conditional on the version read and carries its events (an outbox: ledger, then
 * bus). A refused request writes nothing: the plan is built and checked in memory first.
 */
import { canonicalHash } from '../audit/digest.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import { type GateWaitDeps, wake } from '../governance/gate-wait.ts';
import type { OutboxEntry, OutboxPort, Proposal, ProposalDeps, Proposer, WithdrawDeps } from '../governance/proposals.ts';
import { propose, withdraw } from '../governance/proposals.ts';
import { place } from './placement.ts';
import { buildSteps, type PlanStep } from './plan.ts';
import { MIGRATE_ACTION, planTarget } from './runner.ts';
import {
  type CatalogueRecord,
  MAX_STEPS,
  type PlanInput,
  type PlanRecord,
  type PoolsInput,
  type RunOutcome,
  type RunRecord,
} from './schemas.ts';

/** A write of a plan and/or a run, each conditional on the version read (`undefined`: absent). */
export interface MigrationWrite {
  plan?: { next: PlanRecord; expectedVersion: number | undefined };
  run?: { next: RunRecord; expectedVersion: number | undefined };
}

/** Who waits at governance's gate for a plan's proposal (lib/governance/gate-wait.ts). */
export const MIGRATION_GATE_OWNER = 'migration:run';

/** The engine's records on the state table. */
export interface MigrationStore {
  catalogue(tenant: string): Promise<CatalogueRecord | undefined>;
  /** @throws ConflictError when the stored catalogue is not at `expectedVersion`. */
  putCatalogue(next: CatalogueRecord, expectedVersion: number | undefined): Promise<void>;
  plan(tenant: string, planId: string): Promise<PlanRecord | undefined>;
  run(tenant: string, runId: string): Promise<RunRecord | undefined>;
  /** Newest first. */
  plans(tenant: string, limit: number): Promise<PlanRecord[]>;
  /** Newest first. */
  runs(tenant: string, limit: number): Promise<RunRecord[]>;
  /** Writes the plan and/or run and the events in one transaction. @throws ConflictError on a version mismatch. */
  write(tenant: string, write: MigrationWrite, events: BusEvent[]): Promise<OutboxEntry[]>;
}

/** Starts migration state machine executions (idempotent by name). */
export interface RunStarter {
  /** @returns the execution's ARN. */
  start(name: string, input: { tenant: string; runId: string }): Promise<string>;
}

/** What the API operations need. */
export interface MigrationDeps {
  store: MigrationStore;
  outbox: OutboxPort;
  now: () => Date;
  newId: () => string;
}

/** Writes and delivers the events (the first one recorded in the ledger now, as other engines do). */
export async function commit(
  deps: Pick<MigrationDeps, 'store' | 'outbox'>,
  tenant: string,
  write: MigrationWrite,
  events: BusEvent[],
): Promise<void> {
  const entries = await deps.store.write(tenant, write, events);
  const first = entries[0];
  if (first) await deps.outbox.record(first);
  await deps.outbox.deliver(entries);
}

/**
 * Replaces the tenant's pool catalogue (plans and runs read it as it is when they run).
 * @throws ConflictError when it changed meanwhile.
 */
export async function putPools(
  tenant: string,
  input: PoolsInput,
  actor: string,
  deps: Pick<MigrationDeps, 'store' | 'now'>,
): Promise<CatalogueRecord> {
  const current = await deps.store.catalogue(tenant);
  const next: CatalogueRecord = {
    tenant,
    pools: input.pools,
    updatedAt: deps.now().toISOString(),
    updatedBy: actor.slice(0, 256),
    version: current ? current.version + 1 : 0,
  };
  await deps.store.putCatalogue(next, current?.version);
  return next;
}

/** The hash a plan's proposal approves: the plan's canonical JSON without its bookkeeping. */
export function planHashOf(plan: Pick<PlanRecord, 'planId' | 'algorithm' | 'slots' | 'steps' | 'postCheckDelaySeconds'>): string {
  return canonicalHash({
    planId: plan.planId,
    algorithm: plan.algorithm,
    slots: plan.slots,
    steps: plan.steps,
    postCheckDelaySeconds: plan.postCheckDelaySeconds,
  });
}

/** The engine's service principal, for proposals made without a caller. */
export function migrationProposer(tenant: string): Proposer {
  return { kind: 'engine', id: 'engine:migration', tenant, roles: [] };
}

/**
 * The id of a plan's governance proposal, derived from the plan id: a plan has at most one proposal
 * (a second `propose` for the same plan is a conflict, never a second proposal). Plan ids are the
 * engine's own (46 characters), so the id stays within governance's 64.
 */
export function proposalIdOf(planId: string): string {
  return `mig-${planId}`;
}

/**
 * Plans a placement on the tenant's catalogue and proposes it: the placement (ffd, bfd or the exact
 * solver), the ordered steps with their checks, the plan's hash; the plan is stored first, naming its
 * proposal ({@link proposalIdOf}), then proposed to governance once (none when nothing moves), then
 * stored again with the proposal's route and `migration.plan.created`. Storing first means a proposal
 * only ever exists for a stored plan: a failed write proposes nothing (no orphan waits for approvers),
 * and a failure after proposing leaves a plan that names its one proposal.
 * @throws NotFoundError without a catalogue; ValidationError naming the workload that cannot be
 * placed or moved; LockedError (423) or ForbiddenError (403) from governance (the plan stays on record
 * naming its refused proposal, so it can never run).
 * @example await createPlan('acme', planInputSchema.parse({ workloads }), proposerOf(principal), deps)
 */
export async function createPlan(
  tenant: string,
  input: PlanInput,
  proposer: Proposer,
  deps: MigrationDeps & { governance: Omit<ProposalDeps, 'now' | 'newId'> },
): Promise<PlanRecord> {
  const catalogue = await deps.store.catalogue(tenant);
  if (!catalogue) throw new NotFoundError('The tenant has no pool catalogue; PUT /migration/pools first');
  const poolIds = new Set(catalogue.pools.map((pool) => pool.id));
  const unknown = input.workloads.flatMap((w, i) =>
    w.current !== undefined && !poolIds.has(w.current)
      ? [{ path: `body.parameters.workloads.${i}.current`, message: `pool ${w.current} is not in the catalogue` }]
      : [],
  );
  if (unknown.length > 0) throw new ValidationError(unknown);
  const placement = place(
    { pools: catalogue.pools, workloads: input.workloads, ...(input.weights ? { weights: input.weights } : {}) },
    input.algorithm,
  );
  if (placement.unplaced.length > 0) {
    const index = new Map(input.workloads.map((w, i) => [w.id, i]));
    throw new ValidationError(
      placement.unplaced.map((u) => ({
        path: `body.parameters.workloads.${index.get(u.workload) ?? 0}`,
        message: `${u.workload} fits no pool: ${u.reason}`,
      })),
    );
  }
  const steps: PlanStep[] = buildSteps(catalogue.pools, input.workloads, placement, { canaryWeight: input.canaryWeight });
  if (steps.length > MAX_STEPS)
    throw new ValidationError([
      {
        path: 'body.parameters.workloads',
        message: `the plan has ${steps.length} steps, over ${MAX_STEPS} (${MAX_STEPS / 4} moves): split it`,
      },
    ]);
  const now = deps.now();
  const planId = deps.newId();
  const base = {
    planId,
    algorithm: input.algorithm,
    slots: placement.slots,
    steps: steps.map((step) => ({ ...step })),
    postCheckDelaySeconds: input.postCheckDelaySeconds,
  };
  const planHash = planHashOf(base);
  const proposalId = steps.length > 0 ? proposalIdOf(planId) : undefined;
  const stored: PlanRecord = {
    tenant,
    ...base,
    planHash,
    environment: input.environment,
    canaryWeight: input.canaryWeight,
    objective: placement.objective,
    ...(proposalId ? { proposalId } : {}),
    createdAt: now.toISOString(),
    createdBy: proposer.id.slice(0, 256),
    version: 0,
  };
  const created = (plan: PlanRecord, proposal?: Pick<Proposal, 'proposalId' | 'route' | 'status'>) =>
    busEvent('migration.plan.created', {
      tenant,
      planId,
      planHash,
      algorithm: input.algorithm,
      environment: input.environment,
      objective: placement.objective,
      moves: placement.objective.moves,
      steps: steps.length,
      ...(proposal ? { proposalId: proposal.proposalId, route: proposal.route, proposalStatus: proposal.status } : {}),
      createdBy: plan.createdBy,
      createdAt: plan.createdAt,
    });
  if (!proposalId) {
    await commit(deps, tenant, { plan: { next: stored, expectedVersion: undefined } }, [created(stored)]);
    return stored;
  }
  // Stored before proposing: a write that fails here has proposed nothing.
  await deps.store.write(tenant, { plan: { next: stored, expectedVersion: undefined } }, []);
  let proposal: Proposal | undefined;
  let refusal: unknown;
  try {
    const outcome = await propose(
      {
        engine: 'migration',
        action: MIGRATE_ACTION.split(':')[1] ?? 'migrate',
        target: planTarget(planId),
        environment: input.environment,
        parameters: { planHash, moves: placement.objective.moves, steps: steps.length },
        reason: (input.reason ?? `move ${placement.objective.moves} workload(s) by ${input.algorithm}: ${steps.length} steps`).slice(
          0,
          2000,
        ),
        evidence: { objective: placement.objective, workloads: [...new Set(steps.map((s) => s.workload))].slice(0, 50) },
      },
      proposer,
      { ...deps.governance, now, newId: () => proposalId },
    );
    proposal = outcome.proposal;
  } catch (error) {
    refusal = error;
    // Governance records its refusals (kill switch, policy): the plan then names the refused proposal.
    proposal = await deps.governance.store.proposal(tenant, proposalId).catch(() => undefined);
  }
  if (!proposal) throw refusal;
  const plan: PlanRecord = { ...stored, route: proposal.route, version: stored.version + 1 };
  await commit(deps, tenant, { plan: { next: plan, expectedVersion: stored.version } }, [created(plan, proposal)]);
  if (refusal !== undefined) throw refusal;
  return plan;
}

/**
 * Starts a run of a stored plan: the run (pending) and the plan's hold on it in one write, then the
 * migration state machine (pre-checks, the gate, the steps). One run at a time per plan.
 * @throws NotFoundError for no such plan; ConflictError when it moves nothing, has a run going, or its stored hash no longer matches.
 */
export async function startRun(
  tenant: string,
  planId: string,
  actor: string,
  deps: MigrationDeps & { starter: RunStarter },
): Promise<RunRecord> {
  const plan = await deps.store.plan(tenant, planId);
  if (!plan) throw new NotFoundError(`Plan ${planId} not found`);
  if (plan.steps.length === 0 || !plan.proposalId) throw new ConflictError(`Plan ${planId} moves nothing: there is nothing to run`);
  if (plan.activeRunId) throw new ConflictError(`Plan ${planId} has run ${plan.activeRunId} going; wait for it or cancel it`);
  if (planHashOf(plan) !== plan.planHash) throw new ConflictError(`Plan ${planId} no longer matches its hash: plan again`);
  const now = deps.now().toISOString();
  const runId = deps.newId();
  const run: RunRecord = {
    tenant,
    runId,
    planId,
    planHash: plan.planHash,
    proposalId: plan.proposalId,
    status: 'pending',
    reason: 'started: pre-checks, then the governance gate',
    records: [],
    requestedBy: actor.slice(0, 256),
    timeline: { requested: now },
    version: 0,
  };
  await deps.store.write(
    tenant,
    {
      plan: { next: { ...plan, activeRunId: runId, version: plan.version + 1 }, expectedVersion: plan.version },
      run: { next: run, expectedVersion: undefined },
    },
    [],
  );
  let executionArn: string;
  try {
    executionArn = await deps.starter.start(runId, { tenant, runId });
  } catch (error) {
    // No machine runs it: the run must not look as if one did, nor hold the plan.
    await finishRecords(tenant, { ...run, version: 0 }, 'failed', 'the state machine could not be started; run again', deps).catch(
      () => {},
    );
    throw error;
  }
  const started: RunRecord = { ...run, executionArn, version: 1 };
  try {
    await deps.store.write(tenant, { run: { next: started, expectedVersion: 0 } }, []);
  } catch (error) {
    // The machine moved the run on already: its record stands; the ARN is derivable from the name.
    if (!(error instanceof ConflictError)) throw error;
  }
  return (await deps.store.run(tenant, runId)) ?? started;
}

/** The `migration.run.completed` event of a run that ended. */
export function runCompletedEvent(run: RunRecord, stepsTotal: number): BusEvent {
  return busEvent('migration.run.completed', {
    tenant: run.tenant,
    runId: run.runId,
    planId: run.planId,
    planHash: run.planHash,
    proposalId: run.proposalId,
    outcome: run.status as RunOutcome,
    reason: run.reason,
    steps: stepsTotal,
    completed: run.records.filter((record) => record.status === 'succeeded').length,
    migrationMs: run.migrationMs ?? null,
    rollback: run.rollback ?? null,
    finishedAt: run.timeline.finished ?? new Date(0).toISOString(),
  });
}

/**
 * Ends a run: its final status, the plan's hold released, `migration.run.completed` — one write.
 * A run that ended already is left as it is.
 * @returns the run as stored.
 */
export async function finishRecords(
  tenant: string,
  run: RunRecord,
  outcome: RunOutcome,
  reason: string,
  deps: Pick<MigrationDeps, 'store' | 'outbox' | 'now'>,
): Promise<RunRecord> {
  for (let attempt = 1; ; attempt += 1) {
    const current = attempt === 1 ? run : await deps.store.run(tenant, run.runId);
    if (!current) throw new NotFoundError(`Run ${run.runId} not found`);
    if (current.status !== 'pending' && current.status !== 'running') return current;
    const plan = await deps.store.plan(tenant, current.planId);
    const finished = deps.now();
    const started = current.timeline.started ? Date.parse(current.timeline.started) : undefined;
    const next: RunRecord = {
      ...current,
      status: outcome,
      reason: reason.slice(0, 1000),
      timeline: { ...current.timeline, finished: finished.toISOString() },
      ...(started !== undefined && current.records.length > 0 ? { migrationMs: Math.max(0, finished.getTime() - started) } : {}),
      version: current.version + 1,
    };
    const { activeRunId: _held, ...released } = plan ?? ({} as PlanRecord);
    const write: MigrationWrite = {
      run: { next, expectedVersion: current.version },
      ...(plan && plan.activeRunId === current.runId
        ? { plan: { next: { ...released, version: plan.version + 1 }, expectedVersion: plan.version } }
        : {}),
    };
    try {
      await commit(deps, tenant, write, [runCompletedEvent(next, plan?.steps.length ?? 0)]);
      return next;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 5) throw error;
    }
  }
}

/** Who cancels a run: the caller's identity and roles (governance lets the proposer or an admin withdraw a proposal). */
export interface Canceller {
  actor: string;
  roles: readonly string[];
}

/**
 * Cancels a run that has not taken its first step (pre-checks or waiting at the gate): it ends
 * `cancelled` with `migration.run.completed`, a run waiting at the gate is resumed to its end, and the
 * plan's pending proposal is withdrawn (governance's `withdraw`: refused with `withdrawn by <actor>`,
 * its approval refused, its gate ended) when the canceller is its proposer or an admin; otherwise it
 * stays pending for them, and the run's reason says so. The run ends first, so the withdrawal's
 * settled event finds it ended (the loop cannot end it `refused` instead). A withdrawn proposal
 * cannot approve a later run of the plan: plan again.
 * @throws NotFoundError for no such run; ConflictError once it is running or has ended (a running migration is stopped by the kill switch, which rolls it back).
 */
export async function cancelRun(
  tenant: string,
  runId: string,
  canceller: Canceller,
  deps: MigrationDeps & { gate: Pick<GateWaitDeps, 'waits' | 'callbacks'>; withdrawal: WithdrawDeps },
): Promise<RunRecord> {
  const { actor, roles } = canceller;
  const run = await deps.store.run(tenant, runId);
  if (!run) throw new NotFoundError(`Run ${runId} not found`);
  if (run.status !== 'pending')
    throw new ConflictError(
      run.status === 'running'
        ? `Run ${runId} is running: turn the kill switch on to halt it (its steps are rolled back)`
        : `Run ${runId} has ended (${run.status})`,
    );
  const proposal = await deps.withdrawal.store.proposal(tenant, run.proposalId);
  const pending = proposal?.status === 'pending';
  const mayWithdraw = pending && (proposal.requestedBy === actor || roles.includes('admin'));
  const note = mayWithdraw
    ? `; proposal ${run.proposalId} withdrawn`
    : pending
      ? `; proposal ${run.proposalId} stays pending (only its proposer ${proposal.requestedBy} or an admin may withdraw it)`
      : '';
  const cancelled = await finishRecords(tenant, run, 'cancelled', `cancelled by ${actor}${note}`.slice(0, 1000), deps);
  if (cancelled.status !== 'cancelled') throw new ConflictError(`Run ${runId} moved on (${cancelled.status})`);
  // A run waiting at the gate is resumed: its check step finds it cancelled (one run of a plan at a time waits).
  await wake(tenant, run.proposalId, MIGRATION_GATE_OWNER, deps.gate);
  if (mayWithdraw) {
    try {
      await withdraw(tenant, run.proposalId, { actor, roles: [...roles], reason: `run ${runId} cancelled` }, deps.withdrawal);
    } catch (error) {
      // Decided in the moment between (approved or refused): the run is cancelled all the same.
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  return cancelled;
}

/** A plan as the status shows it (its steps with the run's records when one is asked for). */
export interface MigrationStatus {
  pools: CatalogueRecord['pools'];
  poolsVersion: number | null;
  plans: PlanRecord[];
  runs: RunRecord[];
}

/**
 * The tenant's pools, plans and runs (newest first, with each step's state on the runs), or one plan
 * or run.
 * @throws NotFoundError when the plan or run asked for does not exist in the tenant.
 */
export async function migrationStatus(
  tenant: string,
  input: { planId?: string | undefined; runId?: string | undefined },
  deps: Pick<MigrationDeps, 'store'>,
): Promise<MigrationStatus> {
  const catalogue = await deps.store.catalogue(tenant);
  const pools = catalogue?.pools ?? [];
  const poolsVersion = catalogue?.version ?? null;
  if (input.runId) {
    const run = await deps.store.run(tenant, input.runId);
    if (!run) throw new NotFoundError(`Run ${input.runId} not found`);
    const plan = await deps.store.plan(tenant, run.planId);
    return { pools, poolsVersion, plans: plan ? [plan] : [], runs: [run] };
  }
  if (input.planId) {
    const plan = await deps.store.plan(tenant, input.planId);
    if (!plan) throw new NotFoundError(`Plan ${input.planId} not found`);
    const runs = (await deps.store.runs(tenant, 50)).filter((run) => run.planId === plan.planId);
    return { pools, poolsVersion, plans: [plan], runs };
  }
  const [plans, runs] = await Promise.all([deps.store.plans(tenant, 20), deps.store.runs(tenant, 20)]);
  return { pools, poolsVersion, plans, runs };
}
