/**
 * The Promotion engine (L4 over L3): moves a version of a component to the next stage
 * (dev → staging → prod) through canary steps judged statistically, with automatic roll-back.
 *
 *   start: the version gate (a breaking version needs people) → the Execution engine's dry run of
 *   the first step (the target exists, the executor accepts the change, the traffic before is read
 *   for roll-back) → one governance proposal for the whole plan (prod: people, through the approval
 *   gate; staging: by the tenant's autonomy level) → the state machine, which calls {@link advance}:
 *
 *   approval ─► shift (step weight through the executor, read back) ─► bake ─► judge
 *        ▲          ▲ pass: next weight                                      │
 *        │          └────────────────────────────────────────────────────────┤
 *        └── marginal: a proposal for people (approve → next weight, reject → roll back)
 *                      fail: roll back (the canary's weight back to 0) ──► end
 *   100%: promoted ──► end.   DELETE (abort): roll back at once.
 *
 * One approval covers the plan: its steps and weights are the proposal's parameters, so what people
 * approved is what shifts; each shift is the Execution engine's executor (dry run, kill switches
 * just before, change, read-back) and lands in the ledger as `promotion.traffic.shifted`, each
 * judgement as `promotion.canary.judged`. A kill switch stops the promotion where it stands.
 *
 * Timing: `timing.bakeMs` (time between a shift and its judgement) and `timing.peopleMs` (waiting
 * for a person's decision) are counted apart; `deploymentMs` = total − bake − people.
 */
import { ConflictError, LockedError, NotFoundError, ValidationError } from '../errors.ts';
import type { BusEvent } from '../events/publisher.ts';
import { busEvent } from '../events/publisher.ts';
import { checkScope } from '../execution/bindings.ts';
import { type Executor, mismatches } from '../execution/executor.ts';
import type { ActuationId } from '../governance/actuations.ts';
import { type Proposer, propose, reportOutcome, type WithdrawDeps, withdraw } from '../governance/proposals.ts';
import { assertActuationAllowed } from '../governance/settings.ts';
import { type Judgement, judge, type MetricSamples } from './judge.ts';
import { PRIMARY_ONLY, rollBackChange, shiftChange, type TrafficChange } from './plan.ts';
import type { PromotionDeps } from './ports.ts';
import type { StepReport } from './report-schemas.ts';
import {
  type AbortInput,
  type MetricsInput,
  originalTrafficSchema,
  type Promotion,
  type PromotionInput,
  promotionViewSchema,
  type Stage,
  type StatusInput,
} from './schemas.ts';

/** Who shifts traffic and judges, as the ledger names it. */
export const PROMOTION_ACTOR = 'system:promotion';
/**
 * Seconds between looks at a pending approval at first; the gap then grows to a tenth of the time
 * waited (at most 5 minutes), so a day's wait costs a few hundred looks.
 */
export const DEFAULT_APPROVAL_POLL_SECONDS = 1;

/** A promotion as the API shows it. */
export type PromotionView = Omit<Promotion, 'version'>;

/** The stage a version comes from. */
export function previousStage(stage: 'staging' | 'prod'): Stage {
  return stage === 'prod' ? 'staging' : 'dev';
}

/** The governance target of a component. */
export function targetOf(component: string): string {
  return `component/${component}`;
}

/** The state machine's execution name of a promotion (unique per tenant and promotion, ≤ 80 characters). */
export function promotionExecutionName(tenant: string, promotionId: string): string {
  return `${tenant}-${promotionId}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
}

function view(promotion: Promotion): PromotionView {
  return promotionViewSchema.parse(promotion);
}

function executorFor(deps: Pick<PromotionDeps, 'executors'>, kind: Promotion['target']['kind']): Executor<Record<string, unknown>> {
  const executor = deps.executors[kind] as Executor<Record<string, unknown>> | undefined;
  if (!executor) throw new ValidationError([{ path: 'body.target.kind', message: `no ${kind} executor is configured in this stage` }]);
  return executor;
}

function requestOf(
  tenant: string,
  promotion: Pick<Promotion, 'component' | 'target'>,
  change: TrafficChange,
  executor: Executor<Record<string, unknown>>,
) {
  return {
    tenant,
    action: change.action,
    target: targetOf(promotion.component),
    binding: { kind: promotion.target.kind, resource: promotion.target.resource, parameters: {} },
    parameters: executor.parameters(change.action, change.parameters),
  } as const;
}

/**
 * Starts a promotion: version gate, the executor's dry run, the governance proposal, the record
 * and its `promotion.canary.started` event, then the state machine.
 * @throws ValidationError (400) when the target is refused by the executor (names the field).
 * @throws ForbiddenError (403) when the binding is outside the executors' scope or policy forbids it.
 * @throws NotFoundError (404) when the target resource does not exist.
 * @throws LockedError (423) while a kill switch is on.
 * @example
 * const { promotion } = await startPromotion('acme', promotionInputSchema.parse(body), proposer, deps);
 */
export async function startPromotion(
  tenant: string,
  input: PromotionInput,
  proposer: Proposer,
  deps: PromotionDeps,
): Promise<{ promotion: PromotionView; statusCode: 202 }> {
  const binding = { kind: input.target.kind, resource: input.target.resource, parameters: {} };
  const outside = checkScope(binding, deps.stage);
  if (outside)
    throw new ValidationError([{ path: 'body.target.resource', message: `outside the ${input.target.kind} executor's scope: ${outside}` }]);
  const executor = executorFor(deps, input.target.kind);
  // The Execution engine's dry run of the first step: the resource exists, the change is one the
  // executor accepts; its `before` is the traffic a roll-back restores.
  const probe = shiftChange(input.target, input.steps[0] ?? 100, { functionVersion: '1' });
  const plan = await executor.dryRun(requestOf(tenant, { component: input.component, target: input.target }, probe, executor));
  const original = originalTrafficSchema.parse(plan.before);
  if (input.target.kind === 'lambda-alias' && original.functionVersion === input.target.canaryVersion) {
    throw new ValidationError([
      { path: 'body.target.canaryVersion', message: `version ${input.target.canaryVersion} already serves the alias; nothing to promote` },
    ]);
  }
  shiftChange(input.target, input.steps[0] ?? 100, original);

  const verdict = input.artifact && deps.versions ? await deps.versions.check(tenant, input.artifact, input.stage) : undefined;
  if (input.artifact && deps.versions && !verdict) {
    throw new ValidationError([
      { path: 'body.artifact', message: `the Versioning engine has no version ${input.artifact.version} of ${input.artifact.name}` },
    ]);
  }
  if (verdict && !verdict.promotable) {
    throw new ConflictError(`Version ${input.artifact?.version} of ${input.artifact?.name} cannot be promoted: ${verdict.detail}`);
  }
  const versionCheck = verdict && { breaking: verdict.breaking, detail: verdict.detail.slice(0, 2000) };
  const promotionId = deps.newId();
  const fromStage = previousStage(input.stage);
  const { proposal } = await propose(
    {
      engine: 'promotion',
      action: 'promote',
      target: targetOf(input.component),
      environment: input.stage,
      parameters: { promotionId, version: input.version, fromStage, stage: input.stage, steps: input.steps, weight: 100 },
      reason:
        `${input.reason}: ${input.component} ${input.version} ${fromStage} → ${input.stage} in steps ${input.steps.join(' → ')}%`.slice(
          0,
          2000,
        ),
    },
    proposer,
    deps.governance,
  );
  const now = deps.now().toISOString();
  const waiting = proposal.status === 'pending';
  const promotion: Promotion = {
    tenant,
    promotionId,
    component: input.component,
    release: input.version,
    fromStage,
    stage: input.stage,
    ...(input.artifact ? { artifact: input.artifact } : {}),
    target: input.target,
    steps: input.steps,
    bakeSeconds: input.bakeSeconds,
    dataWaitSeconds: input.dataWaitSeconds ?? input.bakeSeconds,
    metrics: input.metrics,
    judge: input.judge,
    metricsSource: input.metricsSource,
    series: input.series ?? input.component,
    requestedBy: proposer.id,
    reason: input.reason,
    status: waiting ? 'awaiting-approval' : 'running',
    next: waiting ? 'approval' : 'shift',
    step: waiting ? -1 : 0,
    weights: PRIMARY_ONLY,
    proposalId: proposal.proposalId,
    route: proposal.route,
    ...(versionCheck ? { versionCheck } : {}),
    original,
    reports: [],
    waitSeconds: 0,
    timing: { bakeMs: 0, peopleMs: 0, ...(waiting && proposal.route === 'human-approval' ? { waitingSince: now } : {}) },
    execution: promotionExecutionName(tenant, promotionId),
    outcomeReason: waiting ? `waiting for governance (${proposal.route})` : 'approved; shifting the first step',
    createdAt: now,
    updatedAt: now,
    version: 0,
  };
  const started = busEvent('promotion.canary.started', {
    tenant,
    promotionId,
    component: input.component,
    release: input.version,
    fromStage: fromStage === 'dev' ? 'dev' : 'staging',
    stage: input.stage,
    targetKind: input.target.kind,
    resource: input.target.resource,
    steps: input.steps,
    bakeSeconds: input.bakeSeconds,
    metrics: input.metrics.map((metric) => metric.name),
    proposalId: proposal.proposalId,
    route: proposal.route,
    breaking: versionCheck ? versionCheck.breaking : null,
    requestedBy: proposer.id,
    startedAt: now,
  });
  const entries = await deps.promotions.put(promotion, undefined, [started]);
  await deps.outbox.deliver(entries);
  await deps.starter.start(promotion.execution ?? promotionId, { tenant, promotionId });
  return { promotion: view(promotion), statusCode: 202 };
}

/** What one advance answers the state machine. */
export interface AdvanceResult {
  next: Promotion['next'];
  waitSeconds: number;
  status: Promotion['status'];
}

function finished(promotion: Promotion): boolean {
  return ['promoted', 'rolled-back', 'refused', 'failed'].includes(promotion.status);
}

function withTiming(promotion: Promotion, nowIso: string): Promotion {
  const totalMs = Math.max(0, Date.parse(nowIso) - Date.parse(promotion.createdAt));
  const deploymentMs = Math.max(0, totalMs - promotion.timing.bakeMs - promotion.timing.peopleMs);
  return { ...promotion, finishedAt: nowIso, timing: { ...promotion.timing, totalMs, deploymentMs } };
}

function endedEvent(promotion: Promotion): BusEvent {
  return busEvent('promotion.canary.ended', {
    tenant: promotion.tenant,
    promotionId: promotion.promotionId,
    outcome: promotion.status as 'promoted' | 'rolled-back' | 'refused' | 'failed',
    reason: promotion.outcomeReason.slice(0, 2000),
    judged: promotion.reports.length,
    weights: promotion.weights,
    timing: {
      totalMs: promotion.timing.totalMs ?? 0,
      deploymentMs: promotion.timing.deploymentMs ?? 0,
      bakeMs: promotion.timing.bakeMs,
      peopleMs: promotion.timing.peopleMs,
    },
    endedAt: promotion.finishedAt ?? promotion.updatedAt,
  });
}

async function save(deps: PromotionDeps, next: Promotion, expected: number, events: BusEvent[]): Promise<Promotion> {
  const stored = { ...next, version: expected + 1 };
  const entries = await deps.promotions.put(stored, expected, events);
  await deps.outbox.deliver(entries);
  return stored;
}

/** Sets traffic through the executor: dry run, kill switches just before, change, read-back. */
async function applyTraffic(
  promotion: Promotion,
  change: TrafficChange,
  step: number,
  deps: PromotionDeps,
): Promise<{ verified: boolean; changes: string[]; reasons: string[]; event: BusEvent }> {
  const executor = executorFor(deps, promotion.target.kind);
  const request = requestOf(promotion.tenant, promotion, change, executor);
  const plan = await executor.dryRun(request);
  const [settings, global] = await Promise.all([
    deps.governance.store.settings(promotion.tenant),
    deps.governance.store.globalKillSwitch(),
  ]);
  assertActuationAllowed(settings, global);
  const executionId = `promo-${promotion.promotionId}-${change.action === 'promotion:roll-back' ? 'rb' : step}`;
  const result = await executor.execute(request, executionId, plan);
  const observed = await executor.readBack(request, result);
  const reasons = mismatches(plan.after, observed);
  const at = deps.now().toISOString();
  const event = busEvent(
    'promotion.traffic.shifted',
    {
      tenant: promotion.tenant,
      promotionId: promotion.promotionId,
      step,
      action: change.action === 'promotion:roll-back' ? 'roll-back' : 'promote',
      weights: change.weights,
      executor: promotion.target.kind,
      resource: promotion.target.resource,
      changes: plan.changes.slice(0, 50).map((line) => line.slice(0, 500)),
      verified: reasons.length === 0,
      reasons: reasons.slice(0, 20).map((line) => line.slice(0, 1000)),
      actor: PROMOTION_ACTOR,
      shiftedAt: at,
    },
    { resources: [promotion.target.resource] },
  );
  return { verified: reasons.length === 0, changes: plan.changes, reasons, event };
}

async function settleProposal(
  promotion: Promotion,
  proposalId: string | undefined,
  outcome: 'executed' | 'failed',
  detail: string,
  deps: PromotionDeps,
): Promise<void> {
  if (!proposalId) return;
  const proposal = await deps.governance.store.proposal(promotion.tenant, proposalId);
  if (proposal?.status !== 'approved') return;
  await reportOutcome(promotion.tenant, { proposalId, outcome, detail: detail.slice(0, 1000) }, PROMOTION_ACTOR, deps.governance);
}

async function rollBack(promotion: Promotion, reason: string, deps: PromotionDeps): Promise<Promotion> {
  const now = deps.now().toISOString();
  let events: BusEvent[] = [];
  let status: Promotion['status'] = 'rolled-back';
  let outcomeReason = `rolled back: ${reason}`;
  if (promotion.step >= 0 && promotion.original) {
    try {
      const applied = await applyTraffic(promotion, rollBackChange(promotion.target, promotion.original), promotion.step, deps);
      events = [applied.event];
      if (!applied.verified) {
        status = 'failed';
        outcomeReason = `roll-back not verified (${applied.reasons.join('; ')}): ${reason}`;
      }
    } catch (error) {
      if (!(error instanceof LockedError)) throw error;
      status = 'failed';
      outcomeReason = `halted by a kill switch before rolling back (${error.message}); traffic left at canary ${promotion.weights.canary}%: ${reason}`;
    }
  } else outcomeReason = `ended before any traffic moved: ${reason}`;
  await settleProposal(promotion, promotion.pauseProposalId, 'failed', outcomeReason, deps);
  await settleProposal(promotion, promotion.proposalId, 'failed', outcomeReason, deps);
  const ended = withTiming(
    {
      ...promotion,
      status,
      next: 'end',
      weights: status === 'rolled-back' ? PRIMARY_ONLY : promotion.weights,
      waitSeconds: 0,
      outcomeReason: outcomeReason.slice(0, 2000),
      updatedAt: now,
    },
    now,
  );
  return save(deps, ended, promotion.version, [...events, endedEvent(ended)]);
}

async function samplesOf(
  promotion: Promotion,
  step: number,
  window: { from: string; to: string },
  deps: PromotionDeps,
): Promise<Record<string, MetricSamples>> {
  if (promotion.metricsSource === 'posted') return deps.posted.read(promotion.tenant, promotion.promotionId, step);
  const from = Date.parse(window.from);
  const to = Date.parse(window.to);
  const out: Record<string, MetricSamples> = {};
  await Promise.all(
    promotion.metrics.map(async (metric) => {
      const [canary, baseline] = await Promise.all([
        deps.series.values(promotion.tenant, `${promotion.series}.canary.${metric.name}`, from, to),
        deps.series.values(promotion.tenant, `${promotion.series}.baseline.${metric.name}`, from, to),
      ]);
      out[metric.name] = { canary, baseline };
    }),
  );
  return out;
}

function reportOf(step: number, weight: number, judgement: Judgement, window: { from: string; to: string }, at: string): StepReport {
  return {
    step,
    weight,
    score: judgement.score,
    decision: judgement.decision,
    criticalFailures: judgement.criticalFailures,
    reason: judgement.reason.slice(0, 2000),
    metrics: judgement.metrics.map((metric) => ({ ...metric, reason: metric.reason.slice(0, 2000) })),
    window,
    judgedAt: at,
  };
}

/**
 * One step of a promotion's state machine: does what `next` says and answers what comes after
 * (and how long to wait before it). Idempotent under retries: each write is conditional on the
 * version read, and the executor sets absolute weights.
 * @throws NotFoundError when the promotion does not exist.
 */
export async function advance(input: { tenant: string; promotionId: string }, deps: PromotionDeps): Promise<AdvanceResult> {
  const promotion = await deps.promotions.get(input.tenant, input.promotionId);
  if (!promotion) throw new NotFoundError(`Promotion ${input.promotionId} not found`);
  const done = await step(promotion, deps);
  return { next: done.next, waitSeconds: done.waitSeconds, status: done.status };
}

async function step(promotion: Promotion, deps: PromotionDeps): Promise<Promotion> {
  if (finished(promotion)) return { ...promotion, next: 'end', waitSeconds: 0 };
  if (promotion.abort) return rollBack(promotion, `aborted by ${promotion.abort.by}: ${promotion.abort.reason}`, deps);
  const nowDate = deps.now();
  const now = nowDate.toISOString();
  const poll = deps.approvalPollSeconds ?? DEFAULT_APPROVAL_POLL_SECONDS;
  switch (promotion.next) {
    case 'approval': {
      const pausing = promotion.pauseProposalId !== undefined;
      const proposalId = promotion.pauseProposalId ?? promotion.proposalId;
      const proposal = proposalId ? await deps.governance.store.proposal(promotion.tenant, proposalId) : undefined;
      const waited = promotion.timing.waitingSince ? Math.max(0, nowDate.getTime() - Date.parse(promotion.timing.waitingSince)) : 0;
      // People take minutes to hours: look less often the longer they take (a tenth of the wait, at most 5 minutes),
      // so a long approval stays far inside the state machine's history limit.
      if (proposal?.status === 'pending') return { ...promotion, waitSeconds: Math.max(poll, Math.min(300, Math.floor(waited / 10_000))) };
      const timing = { bakeMs: promotion.timing.bakeMs, peopleMs: promotion.timing.peopleMs + waited };
      const decided = { ...promotion, timing, updatedAt: now };
      if (proposal?.status !== 'approved') {
        const why = `${pausing ? 'the paused step' : 'the promotion'} was ${proposal?.status ?? 'lost'} at governance (${(proposal?.reasons ?? []).slice(-1)[0] ?? 'no reason'})`;
        if (pausing) return rollBack(decided, why, deps);
        const ended = withTiming({ ...decided, status: 'refused', next: 'end', waitSeconds: 0, outcomeReason: why.slice(0, 2000) }, now);
        return save(deps, ended, promotion.version, [endedEvent(ended)]);
      }
      if (pausing) await settleProposal(promotion, promotion.pauseProposalId, 'executed', 'a person let the canary go on', deps);
      const { pauseProposalId: _pause, ...rest } = decided;
      const next: Promotion = {
        ...rest,
        status: 'running',
        next: 'shift',
        step: pausing ? promotion.step + 1 : 0,
        waitSeconds: 0,
        outcomeReason: pausing ? `a person approved going on after step ${promotion.step}` : 'approved; shifting the first step',
      };
      return save(deps, next, promotion.version, []);
    }
    case 'shift': {
      const weight = promotion.steps[promotion.step] ?? 100;
      let applied: Awaited<ReturnType<typeof applyTraffic>>;
      const change = shiftChange(promotion.target, weight, promotion.original ?? {});
      try {
        applied = await applyTraffic(promotion, change, promotion.step, deps);
      } catch (error) {
        if (!(error instanceof LockedError)) throw error;
        const ended = withTiming(
          {
            ...promotion,
            status: 'failed',
            next: 'end',
            waitSeconds: 0,
            outcomeReason: `halted by a kill switch: ${error.message}`.slice(0, 2000),
            updatedAt: now,
          },
          now,
        );
        return save(deps, ended, promotion.version, [endedEvent(ended)]);
      }
      const shifted: Promotion = { ...promotion, weights: change.weights, updatedAt: now };
      if (!applied.verified) {
        const saved = await save(deps, shifted, promotion.version, [applied.event]);
        return rollBack(saved, `the read-back did not show step ${promotion.step} (${applied.reasons.join('; ')})`, deps);
      }
      if (weight >= 100) {
        await settleProposal(promotion, promotion.proposalId, 'executed', `promoted ${promotion.release} to ${promotion.stage}`, deps);
        const ended = withTiming(
          {
            ...shifted,
            status: 'promoted',
            next: 'end',
            waitSeconds: 0,
            outcomeReason: `${promotion.release} serves 100% of ${promotion.component} in ${promotion.stage}`,
          },
          now,
        );
        return save(deps, ended, promotion.version, [applied.event, endedEvent(ended)]);
      }
      const bake = { from: now, to: new Date(nowDate.getTime() + promotion.bakeSeconds * 1000).toISOString() };
      const baking: Promotion = {
        ...shifted,
        status: 'baking',
        next: 'judge',
        bake,
        waitSeconds: promotion.bakeSeconds,
        outcomeReason: `step ${promotion.step}: canary at ${weight}%, baking ${promotion.bakeSeconds} s`,
      };
      return save(deps, baking, promotion.version, [applied.event]);
    }
    case 'judge': {
      const bake = promotion.bake ?? { from: promotion.updatedAt, to: now };
      const window = { from: bake.from, to: now };
      const bakeMs = promotion.timing.bakeMs + Math.max(0, nowDate.getTime() - Date.parse(bake.from));
      const observed = await samplesOf(promotion, promotion.step, window, deps);
      const judgement = judge(promotion.metrics, observed, promotion.judge);
      // Samples arrive late (a collector's batch, a quiet hour): a metric short of data holds the step
      // for at most `dataWaitSeconds` past its bake, looking again every bake time (at most 30 s).
      const dataUntil = Date.parse(bake.to) + (promotion.dataWaitSeconds ?? promotion.bakeSeconds) * 1000;
      if (judgement.metrics.some((metric) => metric.verdict === 'nodata') && nowDate.getTime() < dataUntil) {
        const left = Math.ceil((dataUntil - nowDate.getTime()) / 1000);
        return { ...promotion, waitSeconds: Math.max(1, Math.min(promotion.bakeSeconds, 30, left)) };
      }
      const weight = promotion.steps[promotion.step] ?? 100;
      const report = reportOf(promotion.step, weight, judgement, window, now);
      const judged: Promotion = {
        ...promotion,
        reports: [...promotion.reports, report].slice(-10),
        timing: { ...promotion.timing, bakeMs },
        updatedAt: now,
      };
      let pauseProposalId: string | null = null;
      let next: Promotion;
      if (judgement.decision === 'pass') {
        next = {
          ...judged,
          status: 'running',
          next: 'shift',
          step: promotion.step + 1,
          waitSeconds: 0,
          outcomeReason: `step ${promotion.step} passed (score ${judgement.score})`,
        };
      } else if (judgement.decision === 'marginal') {
        const nextWeight = promotion.steps[promotion.step + 1] ?? 100;
        const { proposal } = await propose(
          {
            engine: 'promotion',
            action: 'promote',
            target: targetOf(promotion.component),
            environment: promotion.stage,
            parameters: { promotionId: promotion.promotionId, step: promotion.step + 1, weight: nextWeight, score: judgement.score },
            reason:
              `marginal canary of ${promotion.component} ${promotion.release} at ${weight}%: ${judgement.reason}; approve to go on to ${nextWeight}%, reject to roll back`.slice(
                0,
                2000,
              ),
            escalate: `marginal canary score ${judgement.score}`,
          },
          { kind: 'engine', id: 'engine:promotion', tenant: promotion.tenant, roles: [] },
          { ...deps.governance, now: nowDate },
        );
        pauseProposalId = proposal.proposalId;
        next = {
          ...judged,
          status: 'paused',
          next: 'approval',
          pauseProposalId: proposal.proposalId,
          waitSeconds: poll,
          timing: { ...judged.timing, waitingSince: now },
          outcomeReason: `step ${promotion.step} marginal (score ${judgement.score}); paused for a person (proposal ${proposal.proposalId})`,
        };
      } else {
        next = {
          ...judged,
          next: 'rollback',
          waitSeconds: 0,
          outcomeReason: `step ${promotion.step} failed: ${judgement.reason}`.slice(0, 2000),
        };
      }
      const event = busEvent('promotion.canary.judged', {
        tenant: promotion.tenant,
        promotionId: promotion.promotionId,
        step: promotion.step,
        weight,
        score: judgement.score,
        decision: judgement.decision,
        criticalFailures: judgement.criticalFailures,
        reason: report.reason,
        metrics: report.metrics,
        window,
        pauseProposalId,
        judgedAt: now,
      });
      const saved = await save(deps, next, promotion.version, [event]);
      return judgement.decision === 'fail' ? rollBack(saved, saved.outcomeReason, deps) : saved;
    }
    case 'rollback':
      return rollBack(promotion, promotion.outcomeReason, deps);
    case 'pause':
      return { ...promotion, next: 'approval', waitSeconds: poll };
    case 'end':
      return promotion;
  }
}

/** Who aborts: the caller's id and roles (an admin may withdraw anyone's pending proposal). */
export interface Aborter {
  id: string;
  roles: readonly string[];
}

/**
 * Aborts a promotion: the canary's traffic goes back at once (the running machine then ends), and a
 * proposal it was waiting on is withdrawn, so no approval is left open for people to answer: the
 * pause of a marginal step (the engine's own, always), or the promotion's own proposal when the
 * aborter proposed it or is an admin (otherwise it stays pending for its proposer, and the outcome
 * says so).
 * @throws NotFoundError (404) when the tenant has no such promotion.
 * @throws ConflictError (409) when it has already ended.
 */
export async function abortPromotion(
  tenant: string,
  input: AbortInput,
  aborter: Aborter,
  deps: PromotionDeps & { withdrawal: WithdrawDeps },
): Promise<PromotionView> {
  const actor = aborter.id;
  const promotion = await deps.promotions.get(tenant, input.promotionId);
  if (!promotion) throw new NotFoundError(`Promotion ${input.promotionId} not found`);
  if (finished(promotion)) throw new ConflictError(`Promotion ${input.promotionId} has ended (${promotion.status}); nothing to abort`);
  const now = deps.now().toISOString();
  const marked = await save(
    deps,
    { ...promotion, abort: { by: actor, reason: input.reason, at: now }, updatedAt: now },
    promotion.version,
    [],
  );
  const note = await withdrawWaiting(promotion, aborter, input.reason, deps.withdrawal);
  return view(await rollBack(marked, `aborted by ${actor}: ${input.reason}${note}`, deps));
}

/** Withdraws the pending proposal an aborted promotion waits on; answers a note for its outcome. */
async function withdrawWaiting(promotion: Promotion, aborter: Aborter, reason: string, deps: WithdrawDeps): Promise<string> {
  const pausing = promotion.pauseProposalId !== undefined;
  const proposalId = promotion.pauseProposalId ?? (promotion.status === 'awaiting-approval' ? promotion.proposalId : undefined);
  if (!proposalId) return '';
  const proposal = await deps.store.proposal(promotion.tenant, proposalId);
  if (proposal?.status !== 'pending') return '';
  // The pause is the engine's own proposal: the engine withdraws it for whoever may abort.
  const by = pausing ? { actor: PROMOTION_ACTOR, roles: ['admin'] } : { actor: aborter.id, roles: [...aborter.roles] };
  if (!pausing && proposal.requestedBy !== aborter.id && !aborter.roles.includes('admin'))
    return `; proposal ${proposalId} stays pending (only its proposer ${proposal.requestedBy} or an admin may withdraw it)`;
  try {
    await withdraw(promotion.tenant, proposalId, { ...by, reason: `promotion aborted by ${aborter.id}: ${reason}`.slice(0, 1000) }, deps);
    return `; proposal ${proposalId} withdrawn`;
  } catch (error) {
    // Decided in the moment between: the promotion is aborted all the same.
    if (error instanceof ConflictError) return '';
    throw error;
  }
}

/** `GET /promotion/status`: one promotion, or the tenant's newest. @throws NotFoundError (404) for an unknown id. */
export async function promotionStatus(
  tenant: string,
  input: StatusInput,
  deps: Pick<PromotionDeps, 'promotions'>,
): Promise<{ promotions: PromotionView[] }> {
  if (input.promotionId) {
    const promotion = await deps.promotions.get(tenant, input.promotionId);
    if (!promotion) throw new NotFoundError(`Promotion ${input.promotionId} not found`);
    return { promotions: [view(promotion)] };
  }
  return { promotions: (await deps.promotions.list(tenant, input.limit)).map(view) };
}

/**
 * `POST /promotion/metrics`: samples for one step of a promotion whose source is `posted`.
 * @throws NotFoundError (404) when the tenant has no such promotion.
 * @throws ValidationError (400) for a step the plan does not have, or metrics it does not judge.
 */
export async function postMetrics(
  tenant: string,
  input: MetricsInput,
  deps: Pick<PromotionDeps, 'promotions' | 'posted'>,
): Promise<{ accepted: number }> {
  const promotion = await deps.promotions.get(tenant, input.promotionId);
  if (!promotion) throw new NotFoundError(`Promotion ${input.promotionId} not found`);
  if (input.step >= promotion.steps.length)
    throw new ValidationError([{ path: 'body.step', message: `the promotion has steps 0-${promotion.steps.length - 1}` }]);
  const known = new Set(promotion.metrics.map((metric) => metric.name));
  const unknown = Object.keys(input.metrics).filter((name) => !known.has(name));
  if (unknown.length > 0)
    throw new ValidationError(
      unknown.map((name) => ({ path: `body.metrics.${name}`, message: `not a metric of this promotion (${[...known].join(', ')})` })),
    );
  await deps.posted.add(tenant, input.promotionId, input.step, input.metrics);
  return { accepted: Object.values(input.metrics).reduce((sum, m) => sum + m.canary.length + m.baseline.length, 0) };
}

/** The actuation a traffic change carries out (for readers of the ledger). */
export type PromotionActuation = Extract<ActuationId, 'promotion:promote' | 'promotion:roll-back'>;
