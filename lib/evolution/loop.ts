/**
 * Loop 1, the improvement loop (issue 13), as the tasks of statemachines/improvement-loop.asl.json,
 * each carrying ids only ({@link LoopState}) and writing the run with an `evolution.loop.stepped`
 * event (ledger stream `events.evolution`) per step:
 *
 *   decide: the kill switches; observe (the service's posteriors now); Evolution decides (the arm most
 *     probably best, proposed to governance as `evolution:tune`) — or the arm a caller asked for —
 *     no better arm → no-improvement; a topology change or a proposal waiting for people → blocked
 *   version: Versioning tags the arm's configuration as a `configuration` artifact (the incumbent's
 *     first, when the artifact has none), records the loop's regression checks as its gate result, and
 *     asks promotable(): a breaking version without approval → waits (`approvalWaitSeconds`) or blocked
 *   promote: the kill switches; the Promotion engine's promotion of that version (its own state
 *     machine: canary steps judged, rolled back on its own, marginal steps paused for people)
 *   watch: looks at the promotion until it ends (the machine waits between looks)
 *   replicate: promoted → the Replication engine evaluates the component (skipped without a configuration)
 *   finish: promoted → the arm becomes the service's current one in Evolution (the next observations
 *     compare against it); the run's end with its total time.
 *
 * Every engine records its own decisions too (evolution.decision.made, versioning.version.tagged,
 * promotion.*, replication.decision.made); the loop's events tie them together by id.
 */
import { canonicalJson, sha256Hex } from '../audit/digest.ts';
import { ConflictError, ForbiddenError, LockedError, NotFoundError, ValidationError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import { checkBounds, findActuation } from '../governance/actuations.ts';
import type { OutboxEntry, OutboxPort, ProposalDeps } from '../governance/proposals.ts';
import { actuationLock } from '../governance/settings.ts';
import { startPromotion } from '../promotion/engine.ts';
import type { PromotionDeps, PromotionStore } from '../promotion/ports.ts';
import { promotionInputSchema } from '../promotion/schemas.ts';
import { type ReplicationDeps, replicateAfterPromotion } from '../replication/engine.ts';
import { promotable, recordGate, tagVersion } from '../versioning/engine.ts';
import type { VersioningDeps } from '../versioning/ports.ts';
import { artifactIdSchema } from '../versioning/schemas.ts';
import { evolutionProposer, makeDecision, putServiceConfig, serviceStatus } from './engine.ts';
import {
  type LoopInput,
  type LoopRun,
  type LoopState,
  type LoopStatus,
  type LoopStatusInput,
  type LoopStepName,
  type LoopView,
  loopViewSchema,
  MAX_LOOP_STEPS,
} from './loop-schemas.ts';
import type { EvolutionDeps } from './ports.ts';
import type { Arm, StoredService } from './schemas.ts';

/** Who the loop acts as in the ledger and at governance. */
export const LOOP_ACTOR = 'engine:evolution';
/** The regression suite the loop records on a configuration version (its own checks, see {@link loopChecks}). */
export const LOOP_SUITE = 'evolution-loop-checks';

/** The loop's runs, each write conditional on the `rev` read and carrying its events (an outbox). */
export interface LoopStore {
  get(tenant: string, loopId: string): Promise<LoopRun | undefined>;
  /** @throws ConflictError when the stored run is not at `expectedRev` (undefined: absent). */
  put(next: LoopRun, expectedRev: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
  /** The tenant's runs, newest first. */
  list(tenant: string, limit: number): Promise<LoopRun[]>;
}

/** Starts a run's state machine execution (the same name starts it once). */
export interface LoopStarter {
  start(name: string, input: { tenant: string; loopId: string }): Promise<string>;
}

/**
 * What the loop needs. The engines' own dependencies are built on demand, so each task function
 * builds (and is granted) only the engine it calls.
 */
export interface LoopDeps {
  loops: LoopStore;
  outbox: OutboxPort;
  /** The kill switches. */
  governance: Pick<ProposalDeps['store'], 'settings' | 'globalKillSwitch'>;
  evolution: () => EvolutionDeps;
  versioning: () => VersioningDeps;
  promotion: () => PromotionDeps;
  promotions: () => PromotionStore;
  replication: () => ReplicationDeps;
  starter: LoopStarter;
  now: () => Date;
  newId: () => string;
}

/** The state machine's execution name of a run (≤ 80 characters). */
export function loopExecutionName(tenant: string, loopId: string): string {
  return `${tenant}-${loopId}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
}

/** The configuration artifact a service's arm is versioned as: the arm's id, parameters and components. */
export function configurationOf(service: string, arm: Arm): Record<string, unknown> {
  return { service, arm: arm.id, parameters: arm.parameters, components: arm.components };
}

/**
 * The loop's regression checks on an arm before it is canaried: its parameters within the
 * `evolution:tune` actuation's declared bounds (now, not when declared), and the arm tested (at
 * least the service's `minObservations` observations). Pure.
 * @example loopChecks(arm, 40, 30) // { total: 2, failed: 0, failures: [] }
 */
export function loopChecks(arm: Arm, observations: number, minObservations: number): { total: number; failed: number; failures: string[] } {
  const tune = findActuation('evolution', 'tune');
  const failures = checkBounds(tune ?? {}, arm.parameters).map((issue) => `${issue.path}: ${issue.message}`);
  if (observations < minObservations) failures.push(`untested: ${observations} of ${minObservations} observations`);
  return { total: Object.keys(arm.parameters).length + 1, failed: failures.length, failures };
}

function view(run: LoopRun): LoopView {
  return loopViewSchema.parse(run);
}

function stateOf(run: LoopRun): LoopState {
  return { tenant: run.tenant, loopId: run.loopId, next: run.next, waitSeconds: run.waitSeconds, status: run.status };
}

const clip = (text: string, n = 2000) => text.slice(0, n);

/** Appends a step, with its `evolution.loop.stepped` event. */
function stepped(run: LoopRun, step: LoopStepName, detail: string, ms: number, at: string): { run: LoopRun; event: BusEvent } {
  const entry = { step, at, ms: Math.round(ms * 1000) / 1000, detail: clip(detail) };
  const next: LoopRun = { ...run, steps: [...run.steps, entry].slice(-MAX_LOOP_STEPS), updatedAt: at };
  const event = busEvent('evolution.loop.stepped', {
    tenant: run.tenant,
    loopId: run.loopId,
    service: run.service,
    component: run.component,
    step,
    status: next.status,
    ms: entry.ms,
    detail: entry.detail,
    chosen: next.chosen ?? null,
    decisionId: next.decision?.decisionId ?? null,
    artifactVersion: next.version?.version ?? null,
    promotionId: next.promotionId ?? null,
    at,
  });
  return { run: next, event };
}

async function save(
  deps: Pick<LoopDeps, 'loops' | 'outbox'>,
  run: LoopRun,
  expectedRev: number | undefined,
  events: BusEvent[],
): Promise<LoopRun> {
  const stored = { ...run, rev: (expectedRev ?? -1) + 1 };
  const entries = await deps.loops.put(stored, expectedRev, events);
  for (const entry of entries) await deps.outbox.record(entry);
  await deps.outbox.deliver(entries);
  return stored;
}

/** Saves `patch` on the run with one step recorded; answers the machine's state. */
async function step(
  deps: Pick<LoopDeps, 'loops' | 'outbox' | 'now'>,
  run: LoopRun,
  patch: Partial<LoopRun>,
  name: LoopStepName,
  detail: string,
  started: number,
): Promise<LoopRun> {
  const at = deps.now().toISOString();
  const { run: next, event } = stepped({ ...run, ...patch }, name, detail, performance.now() - started, at);
  return save(deps, next, run.rev, [event]);
}

const ending = (status: LoopStatus, reason: string): Partial<LoopRun> => ({
  status,
  next: 'finish',
  waitSeconds: 0,
  outcomeReason: clip(reason),
});

async function mustRun(input: { tenant: string; loopId: string }, deps: Pick<LoopDeps, 'loops'>): Promise<LoopRun> {
  const run = await deps.loops.get(input.tenant, input.loopId);
  if (!run) throw new NotFoundError(`Loop run ${input.loopId} not found`);
  return run;
}

async function serviceOf(tenant: string, service: string, deps: EvolutionDeps): Promise<StoredService> {
  const stored = await deps.store.service(tenant, service);
  if (!stored) throw new NotFoundError(`Service ${service} has no Evolution configuration (PUT /evolution/config first)`);
  return stored;
}

/**
 * `POST /evolution/loops`: checks the request against the service's arms, saves the run and starts
 * its state machine. Nothing is written when the request is refused.
 * @throws NotFoundError (404) when the service has no Evolution configuration.
 * @throws ValidationError (400) naming `body.deployments.<arm>`, `body.arm` or `body.artifact`.
 * @example const { loop } = await startLoop('acme', loopInputSchema.parse(body), 'alice', deps);
 */
export async function startLoop(
  tenant: string,
  input: LoopInput,
  actor: string,
  deps: LoopDeps,
): Promise<{ loop: LoopView; statusCode: 202 }> {
  const stored = await serviceOf(tenant, input.service, deps.evolution());
  const declared = new Set(stored.config.arms.map((arm) => arm.id));
  const issues = Object.keys(input.deployments)
    .filter((arm) => !declared.has(arm))
    .map((arm) => ({ path: `body.deployments.${arm}`, message: `${arm} is not a declared arm of ${input.service}` }));
  if (input.arm && !declared.has(input.arm))
    issues.push({ path: 'body.arm', message: `${input.arm} is not a declared arm of ${input.service}` });
  else if (input.arm && !input.deployments[input.arm])
    issues.push({ path: 'body.arm', message: `${input.arm} has no deployment in body.deployments` });
  const artifact = input.artifact ?? `evolution/${input.service}`;
  if (!artifactIdSchema.safeParse(artifact).success)
    issues.push({
      path: 'body.artifact',
      message: `evolution/${input.service} is no artifact id (at most 128 characters): give body.artifact`,
    });
  if (issues.length > 0) throw new ValidationError(issues);
  const loopId = deps.newId();
  const now = deps.now().toISOString();
  const run: LoopRun = {
    tenant,
    loopId,
    service: input.service,
    component: input.component,
    artifact,
    target: input.target,
    deployments: input.deployments,
    promotion: input.promotion,
    ...(input.arm ? { requestedArm: input.arm } : {}),
    approvalWaitSeconds: input.approvalWaitSeconds,
    reason: input.reason,
    requestedBy: actor.slice(0, 256),
    status: 'running',
    next: 'decide',
    waitSeconds: 0,
    steps: [],
    outcomeReason: 'started: observing',
    execution: loopExecutionName(tenant, loopId),
    createdAt: now,
    updatedAt: now,
    rev: 0,
  };
  const { run: first, event } = stepped(
    run,
    'requested',
    `${actor} asked for a run of ${input.service} (${input.component} on ${input.target.resource})${input.arm ? `, canarying arm ${input.arm}` : ''}: ${input.reason}`,
    0,
    now,
  );
  const saved = await save(deps, first, undefined, [event]);
  await deps.starter.start(saved.execution, { tenant, loopId });
  return { loop: view(saved), statusCode: 202 };
}

/** `GET /evolution/loops`: one run, or the tenant's newest. @throws NotFoundError (404) for an unknown id. */
export async function loopStatus(tenant: string, input: LoopStatusInput, deps: Pick<LoopDeps, 'loops'>): Promise<{ loops: LoopView[] }> {
  if (input.loopId) return { loops: [view(await mustRun({ tenant, loopId: input.loopId }, deps))] };
  return { loops: (await deps.loops.list(tenant, input.limit)).map(view) };
}

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));

/**
 * Task "decide": the kill switches, then observe and decide (or take the requested arm).
 * @throws NotFoundError when the run or the service's configuration is gone.
 */
export async function decideStep(input: { tenant: string; loopId: string }, deps: LoopDeps): Promise<LoopState> {
  const run = await mustRun(input, deps);
  if (run.next !== 'decide') return stateOf(run);
  const started = performance.now();
  const locked = await actuationLock(deps.governance, run.tenant);
  if (locked)
    return stateOf(
      await step(deps, run, ending('halted', `kill switch: ${locked}; nothing decided`), 'decided', `halted: ${locked}`, started),
    );
  const evolution = deps.evolution();
  const status = await serviceStatus(run.tenant, run.service, evolution);
  const observed = status.arms
    .map(
      (a) =>
        `${a.arm} n=${a.reward.n} latency ${fmt(a.latencyMs.mean)} ms success ${fmt(a.success.mean * 100)}% reward ${fmt(a.reward.mean, 3)}`,
    )
    .join('; ');
  const afterObserve = await step(deps, run, {}, 'observed', `current ${status.current}; ${observed}`, started);
  const decideStarted = performance.now();
  const stored = await serviceOf(run.tenant, run.service, evolution);
  const incumbent = stored.config.current;
  if (run.requestedArm) {
    const summary = status.arms.find((a) => a.arm === run.requestedArm);
    const patch: Partial<LoopRun> =
      run.requestedArm === incumbent
        ? ending('no-improvement', `arm ${run.requestedArm} already serves ${run.service}`)
        : {
            chosen: run.requestedArm,
            incumbent,
            next: 'version',
            outcomeReason: `arm ${run.requestedArm} requested by ${run.requestedBy}`,
          };
    return stateOf(
      await step(
        deps,
        afterObserve,
        patch,
        'decided',
        `arm ${run.requestedArm} requested by ${run.requestedBy} (Evolution's P(best) ${fmt(summary?.pBest ?? 0, 3)}, reward ${fmt(summary?.reward.mean ?? 0, 3)}); incumbent ${incumbent}`,
        decideStarted,
      ),
    );
  }
  const { decision } = await makeDecision(run.tenant, { service: run.service }, evolution);
  const chosen = decision.arms.find((a) => a.arm === decision.primary);
  const recorded: LoopRun['decision'] = {
    decisionId: decision.decisionId,
    seq: decision.seq,
    primary: decision.primary,
    change: decision.change,
    pBest: chosen?.pBest ?? 0,
    ...(decision.proposalId ? { proposalId: decision.proposalId } : {}),
    ...(decision.proposalStatus ? { proposalStatus: decision.proposalStatus } : {}),
    decisionMs: decision.decisionMs,
  };
  const what = `Evolution decision ${decision.seq}: primary ${decision.primary} (P(best) ${fmt(recorded.pBest, 3)}), ${decision.change}${decision.proposalId ? `, proposal ${decision.proposalStatus} (${decision.route})` : ''}; sampling ${decision.decisionMs} ms`;
  let patch: Partial<LoopRun>;
  if (decision.refused) patch = ending('refused', `governance refused Evolution's proposal: ${decision.refused}`);
  else if (decision.primary === incumbent)
    patch = ending('no-improvement', `${incumbent} stays the best arm: ${decision.reasons.join('; ')}`);
  else if (decision.change === 'restructure')
    patch = ending(
      'blocked',
      `${decision.primary} runs on other components than ${incumbent}: a structural change for people (proposal ${decision.proposalId ?? 'none'})`,
    );
  else if (!decision.proposalId) patch = ending('blocked', `nothing was proposed (${decision.reasons.join('; ')})`);
  else if (decision.proposalStatus === 'pending')
    patch = ending(
      'blocked',
      `Evolution's proposal ${decision.proposalId} waits for people (${decision.route}); run the loop again once it is decided`,
    );
  else if (decision.proposalStatus !== 'approved' && decision.proposalStatus !== 'executed')
    patch = ending('refused', `Evolution's proposal ${decision.proposalId} was ${decision.proposalStatus}`);
  else if (!run.deployments[decision.primary]) patch = ending('refused', `${decision.primary} has no deployment in the run's request`);
  else
    patch = { chosen: decision.primary, incumbent, next: 'version', outcomeReason: `${decision.primary} found better than ${incumbent}` };
  return stateOf(await step(deps, afterObserve, { decision: recorded, ...patch }, 'decided', what, decideStarted));
}

/**
 * Task "version" (and "approval", looking again): tags the chosen configuration, records the loop's
 * checks as its gate result, and asks whether it may be promoted.
 * @throws NotFoundError when the run, the service or the arm is gone.
 */
export async function versionStep(input: { tenant: string; loopId: string }, deps: LoopDeps): Promise<LoopState> {
  let run = await mustRun(input, deps);
  if (run.next !== 'version' && run.next !== 'approval') return stateOf(run);
  const started = performance.now();
  const versioning = deps.versioning();
  const evolution = deps.evolution();
  if (!run.version) {
    const stored = await serviceOf(run.tenant, run.service, evolution);
    const arm = stored.config.arms.find((a) => a.id === run.chosen);
    const incumbent = stored.config.arms.find((a) => a.id === run.incumbent);
    if (!arm || !incumbent) {
      return stateOf(
        await step(
          deps,
          run,
          ending('refused', `arm ${run.chosen} or ${run.incumbent} is no longer declared`),
          'versioned',
          'nothing tagged',
          started,
        ),
      );
    }
    const head = await versioning.store.head(run.tenant, run.artifact);
    let base = '';
    if (!head) {
      // The artifact's first version is the configuration serving now, so the chosen one is diffed against it.
      const first = await tagVersion(
        run.tenant,
        {
          artifact: run.artifact,
          kind: 'configuration',
          body: configurationOf(run.service, incumbent),
          note: `incumbent ${incumbent.id} (loop ${run.loopId})`,
        },
        LOOP_ACTOR,
        versioning,
      );
      base = `incumbent ${incumbent.id} tagged ${first.record.version} first; `;
    }
    const body = configurationOf(run.service, arm);
    const latest = head ? await versioning.store.version(run.tenant, run.artifact, head.latest) : undefined;
    let record = latest && latest.hash === sha256Hex(canonicalJson(body)) ? latest : undefined;
    if (!record) {
      record = (
        await tagVersion(
          run.tenant,
          { artifact: run.artifact, kind: 'configuration', body, note: `arm ${arm.id} chosen by loop ${run.loopId}` },
          LOOP_ACTOR,
          versioning,
        )
      ).record;
    } else base += `${arm.id}'s configuration is the latest version already; `;
    const stats = await evolution.store.stats(run.tenant, run.service);
    const checks = loopChecks(arm, stats[arm.id]?.count ?? 0, stored.config.minObservations);
    if (!record.gate.suite) {
      await recordGate(
        run.tenant,
        { artifact: run.artifact, version: record.version, suite: LOOP_SUITE, total: checks.total, failed: checks.failed },
        LOOP_ACTOR,
        versioning,
      );
    }
    run = await step(
      deps,
      run,
      {
        version: {
          artifact: run.artifact,
          version: record.version,
          ...(record.previous ? { previous: record.previous } : {}),
          bump: record.bump,
          breaking: record.breaking,
          ...(record.approval ? { approvalProposalId: record.approval.proposalId } : {}),
          tagMs: record.tagMs,
        },
      },
      'versioned',
      `${base}${run.artifact} ${record.version} (${record.bump}${record.breaking ? ', breaking' : ''}${record.previous ? ` from ${record.previous}` : ''}: ${
        record.changes
          .map((c) => `${c.kind} ${c.path}`)
          .slice(0, 5)
          .join(', ') || 'no change'
      }); checks ${checks.total - checks.failed}/${checks.total} passed${checks.failures.length ? ` (${checks.failures.join('; ')})` : ''}; tag ${record.tagMs} ms`,
      started,
    );
  }
  const version = run.version;
  if (!version) throw new NotFoundError(`Loop run ${run.loopId} has no version`);
  const lookStarted = performance.now();
  const answer = await promotable(run.tenant, run.artifact, version.version, versioning);
  if (answer.promotable) {
    return stateOf(
      await step(
        deps,
        run,
        { status: 'running', next: 'promote', waitSeconds: 0 },
        'approval',
        `${version.version} may be promoted${answer.breaking ? ' (breaking, approved)' : ''}`,
        lookStarted,
      ),
    );
  }
  const current = await versioning.store.version(run.tenant, run.artifact, version.version);
  const waitingForPeople = current?.breaking === true && current.approval?.status === 'pending';
  const nowDate = deps.now();
  const since = run.waitingSince ?? nowDate.toISOString();
  const waited = Math.max(0, nowDate.getTime() - Date.parse(since));
  const reasons = answer.reasons.join('; ');
  if (waitingForPeople && waited < run.approvalWaitSeconds * 1000) {
    const waitSeconds = Math.max(1, Math.min(60, Math.floor(waited / 10_000), run.approvalWaitSeconds));
    const patch: Partial<LoopRun> = {
      status: 'waiting-approval',
      next: 'approval',
      waitSeconds,
      waitingSince: since,
      outcomeReason: clip(reasons),
    };
    // The first look is a step; later looks only save when something changed.
    if (run.status === 'waiting-approval') return { ...stateOf(run), waitSeconds };
    return stateOf(await step(deps, run, patch, 'approval', `waiting up to ${run.approvalWaitSeconds} s: ${reasons}`, lookStarted));
  }
  const patch = waitingForPeople
    ? ending(
        'blocked',
        `${version.version} is breaking and not approved${run.approvalWaitSeconds > 0 ? ` within ${run.approvalWaitSeconds} s` : ''}: ${reasons}`,
      )
    : ending('refused', `${version.version} cannot be promoted: ${reasons}`);
  return stateOf(await step(deps, run, patch, 'approval', patch.outcomeReason ?? reasons, lookStarted));
}

/**
 * Task "promote": the kill switches, then the Promotion engine's promotion of the version on the
 * target (its own state machine runs it). A promotion refused at start ends the run refused.
 * @throws NotFoundError when the run is gone.
 */
export async function promoteStep(input: { tenant: string; loopId: string }, deps: LoopDeps): Promise<LoopState> {
  const run = await mustRun(input, deps);
  if (run.next !== 'promote') return stateOf(run);
  const started = performance.now();
  const locked = await actuationLock(deps.governance, run.tenant);
  if (locked)
    return stateOf(
      await step(deps, run, ending('halted', `kill switch: ${locked}; nothing promoted`), 'promoting', `halted: ${locked}`, started),
    );
  const version = run.version;
  const canaryVersion = run.chosen ? run.deployments[run.chosen] : undefined;
  if (!version || !canaryVersion) throw new NotFoundError(`Loop run ${run.loopId} has no version or deployment to promote`);
  const request = promotionInputSchema.parse({
    component: run.component,
    version: version.version,
    artifact: { name: run.artifact, version: version.version },
    target: { ...run.target, canaryVersion },
    ...run.promotion,
    reason: clip(`improvement loop ${run.loopId}: ${run.outcomeReason}`),
  });
  try {
    const { promotion } = await startPromotion(run.tenant, request, evolutionProposer(run.tenant), deps.promotion());
    return stateOf(
      await step(
        deps,
        run,
        {
          promotionId: promotion.promotionId,
          promotionStatus: promotion.status,
          next: 'watch',
          waitSeconds: 1,
          outcomeReason: clip(promotion.outcomeReason),
        },
        'promoting',
        `promotion ${promotion.promotionId} of ${run.artifact} ${version.version} (arm ${run.chosen}, Lambda version ${canaryVersion}) to ${promotion.stage} in steps ${promotion.steps.join(' → ')}%, bake ${promotion.bakeSeconds} s; proposal ${promotion.route}: ${promotion.outcomeReason}`,
        started,
      ),
    );
  } catch (error) {
    if (error instanceof LockedError)
      return stateOf(await step(deps, run, ending('halted', error.message), 'promoting', `halted: ${error.message}`, started));
    if (
      error instanceof ValidationError ||
      error instanceof ConflictError ||
      error instanceof ForbiddenError ||
      error instanceof NotFoundError
    ) {
      const why = error instanceof ValidationError ? error.issues.map((i) => `${i.path}: ${i.message}`).join('; ') : error.message;
      return stateOf(
        await step(deps, run, ending('refused', `the promotion was refused: ${why}`), 'promoting', `refused: ${why}`, started),
      );
    }
    throw error;
  }
}

const PROMOTION_ENDS: Record<string, LoopStatus> = {
  promoted: 'promoted',
  'rolled-back': 'rolled-back',
  refused: 'refused',
  failed: 'failed',
};

/**
 * Task "watch": the promotion's state; ended → replicate (promoted) or finish; else look again after
 * its bake time (1-60 s) or, while it waits for people, a tenth of the time waited (at most 5 minutes).
 * @throws NotFoundError when the run or its promotion is gone.
 */
export async function watchStep(input: { tenant: string; loopId: string }, deps: LoopDeps): Promise<LoopState> {
  const run = await mustRun(input, deps);
  if (run.next !== 'watch' || !run.promotionId) return stateOf(run);
  const started = performance.now();
  const promotion = await deps.promotions().get(run.tenant, run.promotionId);
  if (!promotion) throw new NotFoundError(`Promotion ${run.promotionId} not found`);
  const ended = PROMOTION_ENDS[promotion.status];
  const reports = promotion.reports.map((r) => `step ${r.step} at ${r.weight}%: ${r.decision} (score ${r.score})`).join('; ');
  if (!ended) {
    const people = promotion.status === 'paused' || promotion.status === 'awaiting-approval';
    const waited = promotion.timing.waitingSince ? Math.max(0, deps.now().getTime() - Date.parse(promotion.timing.waitingSince)) : 0;
    const waitSeconds = people ? Math.max(1, Math.min(300, Math.floor(waited / 10_000))) : Math.max(1, Math.min(60, promotion.waitSeconds));
    if (promotion.status === run.promotionStatus || !people) return { ...stateOf(run), waitSeconds };
    return stateOf(
      await step(
        deps,
        run,
        { promotionStatus: promotion.status, waitSeconds },
        'promotion',
        `promotion ${promotion.status}: ${clip(promotion.outcomeReason, 500)}${reports ? `; ${reports}` : ''}`,
        started,
      ),
    );
  }
  const timing = promotion.timing;
  const detail = `promotion ${promotion.status}: ${clip(promotion.outcomeReason, 800)}; ${reports || 'no step judged'}; deployment ${timing.deploymentMs ?? 0} ms, bake ${timing.bakeMs} ms, people ${timing.peopleMs} ms`;
  const patch: Partial<LoopRun> =
    ended === 'promoted'
      ? {
          status: 'promoted',
          promotionStatus: promotion.status,
          next: 'replicate',
          waitSeconds: 0,
          outcomeReason: clip(promotion.outcomeReason),
        }
      : { ...ending(ended, promotion.outcomeReason), promotionStatus: promotion.status };
  const elapsed = Math.max(0, Date.parse(promotion.finishedAt ?? promotion.updatedAt) - Date.parse(promotion.createdAt));
  const at = deps.now().toISOString();
  const { run: next, event } = stepped({ ...run, ...patch }, 'promotion', detail, elapsed, at);
  return stateOf(await save(deps, next, run.rev, [event]));
}

/**
 * Task "replicate": the Replication engine evaluates the promoted component (its decision in the
 * ledger; proposed and run through governance); skipped when the component has no configuration.
 * @throws NotFoundError when the run is gone.
 */
export async function replicateStep(input: { tenant: string; loopId: string }, deps: LoopDeps): Promise<LoopState> {
  const run = await mustRun(input, deps);
  if (run.next !== 'replicate') return stateOf(run);
  const started = performance.now();
  let replication: LoopRun['replication'];
  try {
    const { decision } = await replicateAfterPromotion(
      run.tenant,
      { component: run.component, ...(run.promotionId ? { promotionId: run.promotionId } : {}) },
      deps.replication(),
    );
    replication = {
      decisionId: decision.decisionId,
      status: decision.status,
      current: decision.current,
      desired: decision.desired,
      detail: clip(`${decision.reason}${decision.detail ? `; ${decision.detail}` : ''}`, 1000),
    };
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    replication = { status: 'skipped', current: null, desired: null, detail: clip(error.message, 1000) };
  }
  const detail =
    replication.status === 'skipped'
      ? `replication skipped: ${replication.detail}`
      : `replication ${replication.status}: ${replication.current} → ${replication.desired} (${replication.detail})`;
  return stateOf(await step(deps, run, { replication, next: 'finish' }, 'replicated', detail, started));
}

/**
 * Task "finish", on every path: a task that failed past its retries ends the run `failed`; a
 * promoted arm becomes the service's current one in Evolution (recorded); the run's end with its total time.
 * @throws NotFoundError when the run is gone.
 */
export async function finishStep(
  input: { tenant: string; loopId: string; failure?: { Error?: string; Cause?: string } | null },
  deps: LoopDeps,
): Promise<LoopState & { reason: string }> {
  let run = await mustRun(input, deps);
  if (run.finishedAt) return { ...stateOf(run), reason: run.outcomeReason };
  const started = performance.now();
  if (input.failure && (run.status === 'running' || run.status === 'waiting-approval' || run.next !== 'finish')) {
    const why = `${input.failure.Error ?? 'failed'}: ${clip(input.failure.Cause ?? 'no cause', 1000)}`;
    run = { ...run, ...ending(run.status === 'promoted' ? 'promoted' : 'failed', `a step failed after its retries (${why})`) };
  }
  if (run.status === 'promoted' && run.chosen) {
    const evolution = deps.evolution();
    const stored = await serviceOf(run.tenant, run.service, evolution);
    if (stored.config.current !== run.chosen && stored.config.arms.some((a) => a.id === run.chosen)) {
      const saved = await putServiceConfig(run.tenant, { ...stored.config, current: run.chosen }, LOOP_ACTOR, evolution);
      run = await step(
        deps,
        run,
        {},
        'recorded',
        `${run.chosen} is ${run.service}'s current arm in Evolution (configuration version ${saved.version}); the next observations compare against it`,
        started,
      );
    }
  }
  const now = deps.now();
  const totalMs = Math.max(0, now.getTime() - Date.parse(run.createdAt));
  const finished = await step(
    deps,
    run,
    {
      next: 'finish',
      waitSeconds: 0,
      finishedAt: now.toISOString(),
      totalMs,
      ...(run.status === 'running' ? { status: 'failed' as const } : {}),
    },
    'finished',
    `${run.status}: ${run.outcomeReason} (total ${totalMs} ms)`,
    started,
  );
  return { ...stateOf(finished), reason: finished.outcomeReason };
}
