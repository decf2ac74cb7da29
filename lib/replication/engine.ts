/**
 * The Replication engine: per component, the Kubernetes HPA rule on its metrics (hpa.ts), the
 * capacity its load forecast asks for (predictive.ts, on the Observation engine's ETS forecasts),
 * the N+1 check across zones (redundancy.ts), min/max; a change of count is a governance proposal
 * (`replication:scale`, an L3-route action: autonomous with validation) that the Execution engine's
 * executor carries out once approved (Lambda reserved concurrency, a SageMaker variant's instance
 * count). Every decision is recorded on the component's record with its `replication.decision.made`
 * event (an outbox: ledger, then bus).
 *
 * One evaluation: settle the previous decision if it waited at the gate → read the count (the
 * request, else through the executor) → the metrics (the request, else the newest point of each
 * metric's series) → forecast → HPA → N+1 → decide → propose → wait for the gate (at most
 * `gateWaitMs`) → run → record. A decision left at the gate is finished by the next evaluation.
 */

import { DomainError, ForbiddenError, LockedError, NotFoundError, ValidationError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import type { Binding } from '../execution/bindings.ts';
import type { ExecutionDeps } from '../execution/engine.ts';
import { executionIdOf, run } from '../execution/engine.ts';
import { type OutboxEntry, type OutboxPort, type Proposal, type ProposalDeps, type Proposer, propose } from '../governance/proposals.ts';
import type { RecentPoint } from '../observation/ports.ts';
import type { RegistryStore } from '../reflex/registry.ts';
import { type BehaviorInput, evaluate as hpaEvaluate, type MetricObservation, withDefaults } from './hpa.ts';
import { compareForecasts, type ForecastOnlyReport, forecastCapacity, predictiveFloor } from './predictive.ts';
import { checkRedundancy } from './redundancy.ts';
import {
  type ComponentConfig,
  type Decision,
  type EvaluateInput,
  evaluateInputSchema,
  MAX_DECISIONS,
  MAX_RECORDED_FORECASTS,
  type ReplicationBinding,
  type ReplicationRecord,
} from './schemas.ts';

/** The engine's service principal: what governance and Cedar see as the proposer. */
export function replicationProposer(tenant: string): Proposer {
  return { kind: 'engine', id: 'engine:replication', tenant, roles: [] };
}
/** Who runs the approved scale (the Execution engine's run records it). */
export const RUN_ACTOR = 'engine:replication';

/** Component records, each write conditional and carrying its events (an outbox). */
export interface ReplicationStore {
  get(tenant: string, component: string): Promise<ReplicationRecord | undefined>;
  /** @throws ConflictError when the stored record is not at `expectedVersion` (`undefined`: absent). */
  put(next: ReplicationRecord, expectedVersion: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
}

/** The newest points of a tenant's Observation series (oldest first), or undefined without such a series. */
export interface SeriesPoints {
  recent(tenant: string, series: string): Promise<RecentPoint[] | undefined>;
}

/** What the engine needs. */
export interface ReplicationDeps {
  store: ReplicationStore;
  series: SeriesPoints;
  registry: Pick<RegistryStore, 'registry'>;
  /** Governance's proposal path (without its clock and ids: the engine supplies them). */
  governance: Omit<ProposalDeps, 'now' | 'newId'>;
  execution: ExecutionDeps;
  outbox: OutboxPort;
  now: () => Date;
  newId: () => string;
  /** How long an evaluation waits for the gate's L3 validation before leaving the decision pending (default 20 s). */
  gateWaitMs?: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Replaces a component's configuration (its HPA history, decisions and forecasts stay).
 * @throws ConflictError (from the store) when the record changed meanwhile.
 */
export async function putConfig(
  tenant: string,
  config: ComponentConfig,
  actor: string,
  deps: Pick<ReplicationDeps, 'store' | 'now'>,
): Promise<ReplicationRecord> {
  const current = await deps.store.get(tenant, config.component);
  const next: ReplicationRecord = {
    ...(current ?? { tenant, component: config.component, recommendations: [], events: [], decisions: [], forecast: null, recorded: [] }),
    tenant,
    config,
    updatedAt: deps.now().toISOString(),
    updatedBy: actor,
    version: current ? current.version + 1 : 0,
  };
  await deps.store.put(next, current?.version, []);
  return next;
}

async function mustGet(tenant: string, component: string, deps: Pick<ReplicationDeps, 'store'>): Promise<ReplicationRecord> {
  const record = await deps.store.get(tenant, component);
  if (!record) throw new NotFoundError(`Component ${component} has no replication configuration; PUT /replication/config first`);
  return record;
}

/** The binding that sets the count: the configuration's, else the Reflex registry's `scale-out` binding of the component. */
export async function bindingOf(
  tenant: string,
  config: ComponentConfig,
  deps: Pick<ReplicationDeps, 'registry'>,
): Promise<ReplicationBinding> {
  if (config.executor) return config.executor;
  const registry = await deps.registry.registry(tenant);
  const bound = registry.components.find((component) => component.id === config.component)?.bindings['scale-out'];
  if (bound?.kind === 'lambda-concurrency') return { kind: 'lambda-concurrency', resource: bound.resource, parameters: {} };
  if (bound?.kind === 'sagemaker-endpoint' && typeof bound.parameters.variantName === 'string') {
    return { kind: 'sagemaker-endpoint', resource: bound.resource, parameters: { variantName: bound.parameters.variantName } };
  }
  throw new ValidationError([
    {
      path: 'body.parameters.executor',
      message: `component ${config.component} has no executor: give one, or register a lambda-concurrency or sagemaker-endpoint (with parameters.variantName) scale-out binding in /reflex/components`,
    },
  ]);
}

/** The executor parameters that set `replicas` on a binding. */
export function scaleParameters(binding: ReplicationBinding, replicas: number): Record<string, unknown> {
  return binding.kind === 'lambda-concurrency'
    ? { replicas, concurrency: replicas }
    : { replicas, variants: [{ variantName: binding.parameters.variantName, instanceCount: replicas }] };
}

/** Reads the count now through the executor's dry run (its plan's state before). */
async function readCurrent(
  tenant: string,
  component: string,
  binding: ReplicationBinding,
  deps: Pick<ReplicationDeps, 'execution'>,
): Promise<number> {
  const executor = deps.execution.executors[binding.kind];
  if (!executor)
    throw new ValidationError([
      { path: 'body.parameters.executor.kind', message: `no ${binding.kind} executor is configured in this stage` },
    ]);
  const parameters = (executor as { parameters(action: string, raw: Record<string, unknown>): unknown }).parameters(
    'replication:scale',
    scaleParameters(binding, 1),
  );
  const plan = await (executor as unknown as { dryRun(request: unknown): Promise<{ before: Record<string, unknown> }> }).dryRun({
    tenant,
    action: 'replication:scale',
    target: component,
    binding: binding as Binding,
    parameters,
  });
  if (binding.kind === 'lambda-concurrency') {
    const reserved = plan.before.reservedConcurrency;
    if (typeof reserved !== 'number')
      throw new ValidationError([
        { path: 'body.parameters.current', message: `${binding.resource} has no reserved concurrency to read; give current` },
      ]);
    return reserved;
  }
  const variants = plan.before.variants as Record<string, { instanceCount: number }>;
  return variants[binding.parameters.variantName]?.instanceCount ?? 0;
}

/** The metric observations: the request's values, else the newest point of each metric's series. */
async function observations(
  tenant: string,
  config: ComponentConfig,
  input: ReturnType<typeof evaluateInputSchema.parse>,
  deps: Pick<ReplicationDeps, 'series'>,
): Promise<MetricObservation[]> {
  const unknown = input.metrics.filter((metric) => !config.metrics.some((configured) => configured.name === metric.name));
  if (unknown.length > 0)
    throw new ValidationError(
      unknown.map((metric) => ({
        path: 'body.parameters.metrics',
        message: `metric ${metric.name} is not configured for ${config.component} (it has ${config.metrics.map((m) => m.name).join(', ') || 'none'})`,
      })),
    );
  return Promise.all(
    config.metrics.map(async (metric) => {
      const given = input.metrics.find((entry) => entry.name === metric.name);
      const base = { name: metric.name, kind: metric.kind, target: metric.target };
      if (given?.replicas) return { ...base, replicas: given.replicas };
      if (given?.value !== undefined) return { ...base, value: given.value };
      const points = metric.series ? await deps.series.recent(tenant, metric.series) : undefined;
      const last = points?.at(-1);
      return last ? { ...base, value: last[1] } : base;
    }),
  );
}

/** A decision's event. */
function decisionEvent(tenant: string, component: string, decision: Decision): BusEvent {
  return busEvent('replication.decision.made', {
    tenant,
    component,
    decisionId: decision.decisionId,
    trigger: decision.trigger,
    current: decision.current,
    recommended: decision.recommended,
    reactive: decision.reactive,
    predictive: decision.predictive,
    desired: decision.desired,
    redundancyOk: decision.redundancy?.ok ?? null,
    status: decision.status,
    ...(decision.proposalId ? { proposalId: decision.proposalId } : {}),
    reason: decision.reason.slice(0, 1000),
    decisionMs: decision.decisionMs,
    decidedAt: decision.at,
  });
}

/** Waits for a proposal to leave `pending` (the gate's L3 validation), at most `waitMs`. */
async function awaitDecision(tenant: string, proposalId: string, waitMs: number, deps: ReplicationDeps): Promise<Proposal | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const proposal = await deps.governance.store.proposal(tenant, proposalId);
    if (proposal?.status !== 'pending' || Date.now() >= deadline) return proposal;
    await (deps.sleep ?? defaultSleep)(deps.pollMs ?? 250);
  }
}

/** Runs an approved scale through the executor; the decision's status from the run. */
async function execute(
  tenant: string,
  record: ReplicationRecord,
  decision: Decision,
  proposal: Proposal,
  binding: ReplicationBinding,
  deps: ReplicationDeps,
): Promise<Decision> {
  if (proposal.status === 'pending')
    return { ...decision, status: 'pending', detail: `proposal ${proposal.proposalId} waits at the gate (${proposal.route})` };
  if (proposal.status !== 'approved')
    return {
      ...decision,
      status: proposal.status === 'executed' ? 'executed' : proposal.status === 'failed' ? 'failed' : 'rejected',
      detail: proposal.reasons.join('; ').slice(0, 2000),
    };
  try {
    const { run: done } = await run(
      tenant,
      { proposalId: proposal.proposalId, executor: binding as Binding, target: record.component, parameters: {}, dryRun: false },
      RUN_ACTOR,
      deps.execution,
    );
    return {
      ...decision,
      status: done.status === 'succeeded' ? 'executed' : 'failed',
      executionId: done.executionId,
      detail: (done.plan?.changes.join('; ') || done.reasons.join('; ') || 'no change needed').slice(0, 2000),
    };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return {
      ...decision,
      status: error instanceof LockedError ? 'refused' : 'failed',
      executionId: executionIdOf(proposal.proposalId),
      detail: error.message.slice(0, 2000),
    };
  }
}

/** The newest decision whose proposal was left at the gate (later decisions are `blocked` behind it), if any. */
export function waitingDecision(decisions: readonly Decision[]): Decision | undefined {
  return decisions.findLast((decision) => decision.status === 'pending' && decision.proposalId !== undefined);
}

/**
 * Finishes the decision left at the gate once its proposal is decided (runs it when approved).
 * Returns the decisions and the one still waiting, if its proposal is still pending.
 */
async function settlePending(
  record: ReplicationRecord,
  deps: ReplicationDeps,
): Promise<{ decisions: Decision[]; settled: Decision | undefined; waiting: Decision | undefined }> {
  const pending = waitingDecision(record.decisions);
  if (!pending?.proposalId) return { decisions: record.decisions, settled: undefined, waiting: undefined };
  const proposal = await deps.governance.store.proposal(record.tenant, pending.proposalId);
  if (!proposal) return { decisions: record.decisions, settled: undefined, waiting: undefined };
  if (proposal.status === 'pending') return { decisions: record.decisions, settled: undefined, waiting: pending };
  const binding = await bindingOf(record.tenant, record.config, deps);
  const settled = await execute(record.tenant, record, pending, proposal, binding, deps);
  return {
    decisions: record.decisions.map((decision) => (decision.decisionId === pending.decisionId ? settled : decision)),
    settled,
    waiting: undefined,
  };
}

/** The newest {@link MAX_DECISIONS} decisions, never dropping the one still waiting at the gate (it is settled later). */
function keepNewest(decisions: Decision[]): Decision[] {
  if (decisions.length <= MAX_DECISIONS) return decisions;
  const waiting = waitingDecision(decisions);
  const newest = decisions.slice(-MAX_DECISIONS);
  return waiting && !newest.includes(waiting) ? [waiting, ...newest.slice(1)] : newest;
}

/** The outcome of one evaluation. */
export interface EvaluationOutcome {
  component: string;
  decision: Decision;
  /** The decision that had waited at the gate, settled by this evaluation (run, or dropped when rejected). */
  settled: Decision | undefined;
}

/**
 * Evaluates a component once and acts on the decision through governance and the executor.
 *
 * @throws NotFoundError (404) when the component has no configuration.
 * @throws ValidationError (400) naming an unknown metric, a missing executor, or a count that cannot be read.
 * @throws ConflictError (409) when another evaluation of the component wrote first.
 * @example
 * const { decision } = await evaluateComponent('acme', { component: 'chat-api', metrics: [{ name: 'cpu', value: 200 }] }, 'user:alice', deps);
 * decision.desired // e.g. 4, decision.status 'executed'
 */
export async function evaluateComponent(
  tenant: string,
  raw: EvaluateInput,
  trigger: string,
  deps: ReplicationDeps,
): Promise<EvaluationOutcome> {
  const started = Date.now();
  const input = evaluateInputSchema.parse(raw);
  const record = await mustGet(tenant, input.component, deps);
  const { config } = record;
  const { decisions, settled, waiting } = await settlePending(record, deps);
  const binding = input.current === undefined || !input.dryRun ? await bindingOf(tenant, config, deps) : undefined;
  const current = input.current ?? (await readCurrent(tenant, config.component, binding as ReplicationBinding, deps));
  const metrics = await observations(tenant, config, input, deps);
  const now = deps.now();
  const nowMs = now.getTime();

  // Predictive: a fresh plan from the load series' forecast; in forecast-and-scale mode its floor applies.
  let forecast = record.forecast;
  let recorded = record.recorded;
  let predictive: number | null = null;
  let forecastNote = '';
  const settings = config.predictive;
  if (settings && settings.mode !== 'off') {
    const points = (await deps.series.recent(tenant, settings.series)) ?? [];
    try {
      const { report, plan } = forecastCapacity(points, settings, { min: config.min, max: config.max });
      forecast = { at: now.toISOString(), model: report.model, intervalMs: report.intervalMs, plan };
      // The next period's forecast is what this evaluation would have acted on: keep it for the report.
      const next = plan[0];
      if (next) recorded = [...recorded.filter((point) => point.time !== next.time), next].slice(-MAX_RECORDED_FORECASTS);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      forecastNote = `; no forecast: ${error.issues.map((issue) => issue.message).join('; ')}`;
    }
    if (forecast) predictive = predictiveFloor(forecast.plan, nowMs, settings.leadSeconds, forecast.intervalMs) ?? null;
  }
  const floor = settings?.mode === 'forecast-and-scale' && predictive !== null ? predictive : undefined;
  const behavior = withDefaults(config.behavior as BehaviorInput);
  const hpa = hpaEvaluate({
    current,
    min: config.min,
    max: config.max,
    metrics,
    behavior,
    recommendations: record.recommendations,
    events: record.events,
    now: nowMs,
    ...(floor !== undefined ? { floor } : {}),
  });

  let desired = hpa.desired;
  let redundancy: Decision['redundancy'] = null;
  if (config.zones.length > 0) {
    const verdict = checkRedundancy({ desired, needed: desired, zones: config.zones, max: config.max, mode: config.redundancy });
    redundancy = { ok: verdict.ok, afterZoneLoss: verdict.afterZoneLoss, spread: verdict.spread, reason: verdict.reason };
    desired = verdict.replicas;
  }
  // One change in flight per component: while a proposal waits at the gate, a new one would race it.
  const blocked = waiting !== undefined && !input.dryRun;
  const events = hpa.events.filter((event) => event.at !== nowMs);
  if (desired !== current && !input.dryRun && !blocked) events.push({ at: nowMs, change: desired - current });
  const forecastOnly = settings?.mode === 'forecast-only' && predictive !== null ? `; forecast-only: would pre-scale to ${predictive}` : '';
  let decision: Decision = {
    decisionId: deps.newId(),
    at: now.toISOString(),
    trigger: trigger.slice(0, 256),
    current,
    recommended: hpa.recommended,
    stabilized: hpa.stabilized,
    reactive: hpa.desired,
    predictive,
    desired,
    ...(hpa.limitedBy ? { limitedBy: hpa.limitedBy } : {}),
    redundancy,
    perMetric: hpa.perMetric.map((entry) => ({ ...entry })),
    reason: `${hpa.reason}${redundancy && desired !== hpa.desired ? `; ${redundancy.reason}` : ''}${forecastOnly}${forecastNote}`.slice(
      0,
      1000,
    ),
    status: blocked ? 'blocked' : desired === current ? 'no-change' : input.dryRun ? 'recorded' : 'pending',
    ...(blocked
      ? {
          blockedBy: waiting.proposalId,
          detail: `proposal ${waiting.proposalId} (${waiting.current} → ${waiting.desired}, decision ${waiting.decisionId}) still waits at the gate${waiting.route ? ` (${waiting.route})` : ''}: nothing is proposed until it is approved or rejected`,
        }
      : {}),
    decisionMs: Date.now() - started,
    totalMs: 0,
  };

  if (decision.status === 'pending') {
    const parameters = scaleParameters(binding as ReplicationBinding, desired);
    try {
      const { proposal } = await propose(
        {
          engine: 'replication',
          action: 'scale',
          target: config.component,
          environment: config.environment,
          parameters,
          reason: `scale ${config.component} ${current} → ${desired}: ${decision.reason}`.slice(0, 2000),
          evidence: {
            decisionId: decision.decisionId,
            current,
            recommended: decision.recommended,
            reactive: decision.reactive,
            predictive,
            desired,
            perMetric: decision.perMetric,
          },
        },
        replicationProposer(tenant),
        { ...deps.governance, now, newId: deps.newId },
      );
      decision = { ...decision, proposalId: proposal.proposalId, route: proposal.route };
      // Only the gate's L3 validation is worth waiting for; people answer later (the next evaluation settles it).
      const decided =
        proposal.status === 'pending' && proposal.route === 'l3-validation'
          ? await awaitDecision(tenant, proposal.proposalId, deps.gateWaitMs ?? 20_000, deps)
          : proposal;
      decision = await execute(tenant, record, decision, decided ?? proposal, binding as ReplicationBinding, deps);
    } catch (error) {
      if (!(error instanceof LockedError || error instanceof ForbiddenError)) throw error;
      decision = { ...decision, status: 'refused', detail: error.message.slice(0, 2000) };
    }
  }
  decision = { ...decision, totalMs: Date.now() - started };
  const next: ReplicationRecord = {
    ...record,
    recommendations: input.dryRun ? record.recommendations : hpa.recommendations,
    events: decision.status === 'executed' || decision.status === 'pending' ? events : events.filter((event) => event.at !== nowMs),
    decisions: keepNewest([...decisions, decision]),
    forecast,
    recorded,
    updatedAt: now.toISOString(),
    updatedBy: trigger.slice(0, 256),
    version: record.version + 1,
  };
  const decided = [...(settled ? [settled] : []), decision].map((entry) => decisionEvent(tenant, config.component, entry));
  const entries = await deps.store.put(next, record.version, decided);
  const first = entries[0];
  if (first) await deps.outbox.record(first);
  await deps.outbox.deliver(entries);
  return { component: config.component, decision, settled };
}

/**
 * Loop 1's step after a promotion: evaluates the promoted component with its stored configuration,
 * its metrics read from their series, so the new version gets the capacity its load needs.
 * @throws as {@link evaluateComponent}.
 * @example await replicateAfterPromotion('acme', { component: 'chat-api', promotionId: 'p-1' }, deps)
 */
export function replicateAfterPromotion(
  tenant: string,
  input: { component: string; promotionId?: string },
  deps: ReplicationDeps,
): Promise<EvaluationOutcome> {
  return evaluateComponent(
    tenant,
    { component: input.component },
    `engine:promotion${input.promotionId ? `:${input.promotionId}` : ''}`,
    deps,
  );
}

/** A component's status. */
export interface ReplicationStatus {
  component: string;
  config: ComponentConfig;
  current: number | null;
  desired: number | null;
  /** Recommendations within the scale-down stabilisation window, oldest first. */
  window: { at: string; replicas: number }[];
  decisions: Decision[];
  forecast: ReplicationRecord['forecast'];
  /** Forecast vs actual load, predictive vs reactive capacity, for the periods that have passed. */
  report: ForecastOnlyReport | null;
  /** The decision whose proposal waits at the gate: while it does, evaluations are `blocked` and propose nothing. */
  waiting: WaitingProposal | null;
  updatedAt: string;
}

/** A proposal left at the gate, as the status shows it. */
export interface WaitingProposal {
  decisionId: string;
  proposalId: string;
  since: string;
  from: number;
  to: number;
  /** The proposal's state now (`pending`, or decided since: the next evaluation runs or drops it); null when it cannot be read. */
  proposalStatus: string | null;
  route: string | null;
  /** Evaluations recorded `blocked` behind it. */
  blockedEvaluations: number;
  message: string;
}

/** What a waiting proposal means for the next evaluation, in words. */
function waitingMessage(waiting: Decision, proposal: Proposal | undefined): string {
  const what = `proposal ${waiting.proposalId} (scale ${waiting.current} → ${waiting.desired})`;
  if (!proposal) return `${what} cannot be read; the next evaluation leaves it and decides afresh`;
  if (proposal.status === 'pending')
    return `${what} waits at the gate (${proposal.route}): evaluations are recorded as blocked and propose nothing until it is approved or rejected (GET /governance/approvals)`;
  return `${what} is ${proposal.status}: the next evaluation ${proposal.status === 'approved' ? 'runs it' : 'records that'} before it decides again`;
}

/**
 * A component's status: the newest decision's counts, the recommendations in the stabilisation
 * window, the decisions, the forecast, (predictive on) the forecast-only report, and the proposal
 * waiting at the gate, if any, with what it means for the next evaluation.
 * @throws NotFoundError (404) when the component has no configuration.
 */
export async function replicationStatus(
  tenant: string,
  component: string,
  deps: Pick<ReplicationDeps, 'store' | 'series' | 'now'> & { proposals: Pick<ReplicationDeps['governance']['store'], 'proposal'> },
): Promise<ReplicationStatus> {
  const record = await mustGet(tenant, component, deps);
  const nowMs = deps.now().getTime();
  const windowMs = withDefaults(record.config.behavior as BehaviorInput).scaleDown.stabilizationWindowSeconds * 1000;
  const last = record.decisions.at(-1);
  let report: ForecastOnlyReport | null = null;
  const settings = record.config.predictive;
  if (settings && settings.mode !== 'off' && record.forecast) {
    const actual = (await deps.series.recent(tenant, settings.series)) ?? [];
    const reactive = record.decisions.map((decision) => ({
      at: Date.parse(decision.at),
      replicas: decision.status === 'executed' || decision.status === 'no-change' ? decision.desired : decision.current,
    }));
    report = compareForecasts(record.recorded, actual, reactive, settings, record.forecast.intervalMs, nowMs);
  }
  const pending = waitingDecision(record.decisions);
  let waiting: WaitingProposal | null = null;
  if (pending?.proposalId) {
    const proposal = await deps.proposals.proposal(tenant, pending.proposalId);
    waiting = {
      decisionId: pending.decisionId,
      proposalId: pending.proposalId,
      since: pending.at,
      from: pending.current,
      to: pending.desired,
      proposalStatus: proposal?.status ?? null,
      route: proposal?.route ?? pending.route ?? null,
      blockedEvaluations: record.decisions.filter((decision) => decision.blockedBy === pending.proposalId).length,
      message: waitingMessage(pending, proposal),
    };
  }
  return {
    component,
    config: record.config,
    current: last ? (last.status === 'executed' ? last.desired : last.current) : null,
    desired: last?.desired ?? null,
    window: record.recommendations
      .filter((entry) => entry.at > nowMs - windowMs)
      .map((entry) => ({ at: new Date(entry.at).toISOString(), replicas: entry.replicas })),
    decisions: record.decisions,
    forecast: record.forecast,
    report,
    waiting,
    updatedAt: record.updatedAt,
  };
}
