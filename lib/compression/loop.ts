/**
 * Loop 3 (Compression → Observation → Compression) as a state machine
 * (statemachines/compression-loop.asl.json), one execution per window of feedback, its steps here on
 * ports:
 *
 *   observe  read the tenant's recent retrieval effectiveness (the answer-found reports since the last
 *            judged window) and its settings; the window's found-rate goes to Observation as a point of
 *            the series {@link FOUND_RATE_SERIES}, so it is watched like any metric
 *   check    the kill switches (the tenant's and the global one): on, nothing is proposed or applied
 *   tune     the pure tuner (lib/compression/tuner.ts): too few reports, no change, or one bounded step
 *   propose  the step as a `compression:tune` governance proposal (autonomous when its risk is low at
 *            the tenant's autonomy level; otherwise it waits for people and this run ends
 *            `awaiting-approval`, applying nothing: the proposal's settlement starts a resumed run)
 *   apply    the kill switches again, then the settings through the engine's own write
 *            (`compression.config.changed`, `by: 'loop'`, with the execution and the proposal), only if
 *            no one changed them since observe; the proposal reported executed
 *   record   `compression.loop.completed` on every path (a failed step too), and a judged window
 *            taken off the count of reports waiting for the next run; once per execution (a retried
 *            record finds its execution recorded and writes nothing)
 *
 * A step that waited for people is applied by a resumed run: on the proposal's
 * `governance.proposal.settled` ({@link resumeOnSettled}, the compression/loop-settled rule target) a
 * run named {@link resumeExecutionName} starts at `resume` instead of `observe`:
 *
 *   resume   the proposal as settled ({@link resumeStep}): approved → apply the step it carries (the
 *            patch and the settings version it was observed over); rejected, timed out or refused →
 *            recorded `refused`, nothing applied
 *   apply, record as above (the window was judged by the run that proposed it already)
 *
 * Runs start from the feedback route when {@link TUNE_EVERY} reports have accumulated, and from a
 * schedule for every tenant with at least that many reports not judged yet (a start that failed, a
 * run halted by a kill switch or failed: tried again at the next tick); the execution is named after the tenant and
 * its effectiveness record's version (lib/compression/engine.ts `loopExecutionName`), so both starts
 * of the same window are one run.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type CompressionLoopCompleted, compressionLoopOutcomeSchema } from '../../events/compression.ts';
import { tenantSchema } from '../../events/ids.ts';
import { ConflictError, ForbiddenError, LockedError, ValidationError } from '../errors.ts';
import { busEvent } from '../events/publisher.ts';
import type { ProposalInput } from '../governance/model.ts';
import type { GovernanceStore, OutboxPort, Proposal, ProposalOutcome, Proposer } from '../governance/proposals.ts';
import { actuationLock } from '../governance/settings.ts';
import type { MetricPointInput } from '../observation/schemas.ts';
import { type CompressionStore, deliver, type LoopStarter, type StoredEffectiveness, TUNE_EVERY, updateSettings } from './engine.ts';
import { DEFAULT_COMPRESSION_SETTINGS } from './schemas.ts';
import { tuneSettings } from './tuner.ts';

/** Observation's series of a tenant's answer-found rate over each observed window. */
export const FOUND_RATE_SERIES = 'compression.found-rate';
/** Who proposes and applies the loop's steps. */
export const LOOP_ACTOR = 'engine:compression';
const MAX_EXECUTION_NAME = 80;
/** Governance keeps proposal ids of at most 64 characters (lib/governance/proposals.ts). */
const MAX_PROPOSAL_ID = 64;
/** Executions remembered in the effectiveness record, so a retried record step writes nothing twice. */
export const RECORDED_EXECUTIONS = 32;

/** The proposer of the loop's steps. */
export function loopProposer(tenant: string): Proposer {
  return { kind: 'engine', id: LOOP_ACTOR, tenant, roles: [] };
}

/**
 * The `compression:tune` proposal of a run: `<execution>-tune`, so a retried propose step finds its
 * proposal; a longer name keeps its head and a hash of the whole, within governance's 64 characters.
 */
export function tuneProposalId(execution: string): string {
  const plain = `${execution}-tune`;
  if (plain.length <= MAX_PROPOSAL_ID) return plain;
  const hash = createHash('sha256').update(execution).digest('hex').slice(0, 10);
  return `${execution.slice(0, MAX_PROPOSAL_ID - 16)}-${hash}-tune`;
}

/** The run that resumes a step that waited for people, once its proposal settled: one per proposal. */
export function resumeExecutionName(proposalId: string): string {
  return `${proposalId}-settled`;
}

const executionSchema = z
  .string()
  .min(1)
  .max(MAX_EXECUTION_NAME)
  .regex(/^[A-Za-z0-9_-]+$/);
const windowSchema = z.object({ samples: z.number().int().min(0).max(1000), found: z.number().int().min(0).max(1000) });
/** The settings the tuner moves. */
const tunableSchema = z.object({
  relevanceWeight: z.number().min(0).max(1),
  itemWeight: z.number().min(0).max(1),
  summariseAboveTokens: z.number().int().min(0).max(1_000_000),
});
/** The settings the tuner moves. */
export type Tunable = z.infer<typeof tunableSchema>;

/** What starts a run: reports (`feedback`, `schedule`), or a settled proposal (`settled`, with its id: a resumed run). */
export const loopInputSchema = z.object({
  tenant: tenantSchema,
  trigger: z.enum(['feedback', 'schedule', 'settled']),
  proposalId: z.string().min(1).max(MAX_PROPOSAL_ID).optional(),
});
/** What starts a run. */
export type LoopInput = z.infer<typeof loopInputSchema>;

/** How a run ended. */
export type LoopOutcome = z.infer<typeof compressionLoopOutcomeSchema>;

/** The state the machine carries from step to step. */
export const loopStateSchema = z.object({
  tenant: tenantSchema,
  execution: executionSchema,
  trigger: loopInputSchema.shape.trigger,
  next: z.enum(['check', 'tune', 'propose', 'apply', 'record']),
  window: windowSchema,
  foundRate: z.number().min(0).max(1).nullable(),
  /** The settings as observed, and their version (apply writes only over that version). */
  settings: tunableSchema,
  settingsVersion: z.number().int().min(0).max(1e9),
  /** The tuner's step, when it changes something. */
  patch: tunableSchema.nullable(),
  changes: z.array(z.string().min(1).max(200)).max(16),
  proposalId: z.string().min(1).max(80).nullable(),
  outcome: compressionLoopOutcomeSchema.optional(),
  reason: z.string().max(1000),
});
/** The state the machine carries from step to step. */
export type LoopState = z.infer<typeof loopStateSchema>;

const clip = (text: string) => text.slice(0, 1000);
const ended = (state: LoopState, outcome: LoopOutcome, reason: string): LoopState => ({
  ...state,
  next: 'record',
  outcome,
  reason: clip(reason),
});

/** What observe needs. */
export interface ObserveDeps {
  store: Pick<CompressionStore, 'settings' | 'effectiveness'>;
  /** Observation's ingest in process (lib/observation/ingest.ts). */
  observe: (tenant: string, points: MetricPointInput[]) => Promise<unknown>;
  now: () => Date;
}

/**
 * Step "observe": the reports since the last judged window (at most the effectiveness record's
 * recent ones) and the settings; the window's found-rate published to Observation.
 */
export async function observeStep(input: LoopInput & { execution: string }, deps: ObserveDeps): Promise<LoopState> {
  const [effectiveness, stored] = await Promise.all([deps.store.effectiveness(input.tenant), deps.store.settings(input.tenant)]);
  const samples = Math.min(effectiveness.sinceTune, effectiveness.recent.length);
  const found = effectiveness.recent.slice(effectiveness.recent.length - samples).filter(Boolean).length;
  const foundRate = samples > 0 ? found / samples : null;
  if (foundRate !== null)
    await deps.observe(input.tenant, [
      { series: FOUND_RATE_SERIES, timestamp: deps.now().toISOString(), value: foundRate, labels: { trigger: input.trigger } },
    ]);
  const { relevanceWeight, itemWeight, summariseAboveTokens } = stored;
  return {
    tenant: input.tenant,
    execution: input.execution,
    trigger: input.trigger,
    next: 'check',
    window: { samples, found },
    foundRate,
    settings: { relevanceWeight, itemWeight, summariseAboveTokens },
    settingsVersion: stored.version,
    patch: null,
    changes: [],
    proposalId: null,
    reason: clip(`observed ${found} of ${samples} answers found${foundRate === null ? '' : ` (${foundRate.toFixed(2)})`}`),
  };
}

/** Step "check": a kill switch on ends the run with nothing proposed or applied. */
export async function checkStep(
  state: LoopState,
  deps: { governance: Pick<GovernanceStore, 'settings' | 'globalKillSwitch'> },
): Promise<LoopState> {
  const locked = await actuationLock(deps.governance, state.tenant);
  if (locked) return ended(state, 'halted', `kill switch: ${locked}; nothing proposed or applied`);
  return { ...state, next: 'tune', reason: clip(`${state.reason}; no kill switch`) };
}

/** Step "tune": the pure tuner over the observed window (`minSamples` {@link TUNE_EVERY}). Pure. */
export function tuneStep(state: LoopState): LoopState {
  const tuned = tuneSettings({ ...DEFAULT_COMPRESSION_SETTINGS, ...state.settings }, state.window, { minSamples: TUNE_EVERY });
  if (state.window.samples < TUNE_EVERY)
    return ended(state, 'too-few', `${state.window.samples} report(s), fewer than the ${TUNE_EVERY} a window needs; nothing changes`);
  if (tuned.changes.length === 0)
    return ended(state, 'unchanged', `found-rate ${tuned.foundRate.toFixed(2)} over ${state.window.samples} reports: the settings stay`);
  const { relevanceWeight, itemWeight, summariseAboveTokens } = tuned.settings;
  return {
    ...state,
    next: 'propose',
    patch: { relevanceWeight, itemWeight, summariseAboveTokens },
    changes: tuned.changes,
    reason: clip(`found-rate ${tuned.foundRate.toFixed(2)} over ${state.window.samples} reports: ${tuned.changes.join('; ')}`),
  };
}

/** What propose needs. */
export interface ProposeDeps {
  /** Governance's `propose` in process, with this proposal id. */
  propose: (input: ProposalInput, proposer: Proposer, proposalId: string) => Promise<ProposalOutcome>;
  proposal: (tenant: string, proposalId: string) => Promise<Proposal | undefined>;
}

/**
 * Step "propose": the step as `compression:tune` on `compression/settings` (id `<execution>-tune`, so a
 * retried step finds its proposal). Approved at once → apply; waiting for people → the run ends
 * `awaiting-approval`; a kill switch or the tenant's policies refusing it → `halted` / `refused`.
 */
export async function proposeStep(state: LoopState, deps: ProposeDeps): Promise<LoopState> {
  if (!state.patch) return ended(state, 'unchanged', 'no step to propose');
  const proposalId = tuneProposalId(state.execution);
  const input: ProposalInput = {
    engine: 'compression',
    action: 'tune',
    target: 'compression/settings',
    environment: 'prod',
    parameters: { ...state.patch, settingsVersion: state.settingsVersion },
    reason: clip(`Loop 3 (${state.execution}): ${state.reason}`),
    evidence: { window: state.window, foundRate: state.foundRate, before: state.settings, changes: state.changes },
  };
  let proposal: Proposal | undefined;
  try {
    proposal = (await deps.propose(input, loopProposer(state.tenant), proposalId)).proposal;
  } catch (error) {
    if (error instanceof LockedError) return ended({ ...state, proposalId }, 'halted', error.message);
    if (error instanceof ForbiddenError) return ended({ ...state, proposalId }, 'refused', error.message);
    if (!(error instanceof ConflictError)) throw error;
    // A retried step: the proposal was written already.
    proposal = await deps.proposal(state.tenant, proposalId);
    if (!proposal) throw error;
  }
  const next = { ...state, proposalId: proposal.proposalId };
  if (proposal.status === 'approved' || proposal.status === 'executed')
    return {
      ...next,
      next: 'apply',
      reason: clip(`${state.reason}; proposal ${proposal.proposalId} ${proposal.status} (${proposal.route})`),
    };
  if (proposal.status === 'pending')
    return ended(next, 'awaiting-approval', `proposal ${proposal.proposalId} waits at the ${proposal.route} gate; nothing applied`);
  return ended(next, 'refused', `proposal ${proposal.proposalId} is ${proposal.status}: ${proposal.reasons.join('; ')}`);
}

/** What apply needs. */
export interface ApplyDeps {
  store: CompressionStore;
  outbox: OutboxPort;
  governance: Pick<GovernanceStore, 'settings' | 'globalKillSwitch'>;
  /** Reports the proposal executed (governance's `reportOutcome`). */
  executed: (tenant: string, proposalId: string, detail: string) => Promise<unknown>;
  now: () => Date;
}

/**
 * Step "apply": the kill switches once more, then the settings written through the engine's own path,
 * over the version observed (a change by someone else in between → `superseded`, nothing written).
 * A retried step that finds its own write done does not write again.
 */
export async function applyStep(state: LoopState, deps: ApplyDeps): Promise<LoopState> {
  if (!state.patch || !state.proposalId) return ended(state, 'unchanged', 'nothing to apply');
  const locked = await actuationLock(deps.governance, state.tenant);
  if (locked) return ended(state, 'halted', `kill switch before applying: ${locked}; nothing applied`);
  const current = await deps.store.settings(state.tenant);
  const patch = state.patch;
  const mine =
    current.version === state.settingsVersion + 1 &&
    current.updatedBy === LOOP_ACTOR &&
    (Object.keys(patch) as (keyof Tunable)[]).every((key) => current[key] === patch[key]);
  let version = current.version;
  if (!mine) {
    if (current.version !== state.settingsVersion)
      return ended(
        state,
        'superseded',
        `the settings moved from v${state.settingsVersion} to v${current.version} since observed; nothing applied`,
      );
    const written = await updateSettings(state.tenant, patch, LOOP_ACTOR, 'loop', { ...deps, now: deps.now() }, state.window, {
      expectedVersion: state.settingsVersion,
      execution: state.execution,
      proposalId: state.proposalId,
    });
    version = written.version;
  }
  await deps.executed(state.tenant, state.proposalId, `settings v${version}: ${state.changes.join('; ')}`.slice(0, 500));
  return {
    ...state,
    settingsVersion: version,
    outcome: 'tuned',
    next: 'record',
    reason: clip(`${state.reason}; applied as settings v${version}`),
  };
}

/** The resume step's input: the settled proposal, and the resumed run. */
export const resumeInputSchema = z.object({
  tenant: tenantSchema,
  proposalId: z.string().min(1).max(MAX_PROPOSAL_ID),
  execution: executionSchema,
});
/** The resume step's input. */
export type ResumeInput = z.infer<typeof resumeInputSchema>;

/** What a loop's `compression:tune` proposal carries: the step and the settings version it was observed over. */
const tuneParametersSchema = tunableSchema.extend({ settingsVersion: z.number().int().min(0).max(1e9) });
/** …and the window it judged, with the settings before the step. */
const tuneEvidenceSchema = z.object({
  window: windowSchema,
  foundRate: z.number().min(0).max(1).nullable(),
  before: tunableSchema,
  changes: z.array(z.string().min(1).max(200)).max(16),
});

/** Whether `proposal` is a step of Loop 3 (`compression:tune` by {@link LOOP_ACTOR}) that went to a gate rather than running autonomously. */
export function isGatedTune(proposal: Proposal): boolean {
  return (
    proposal.engine === 'compression' &&
    proposal.action === 'tune' &&
    proposal.target === 'compression/settings' &&
    proposal.requestedBy === LOOP_ACTOR &&
    proposal.route !== 'autonomous'
  );
}

/**
 * Step "resume", first step of a resumed run: the state rebuilt from the settled proposal (the step it
 * carries, the settings version it was observed over, the window it judged). Approved → apply;
 * rejected, timed out, refused or failed → the run ends `refused` with the proposal's reasons; still
 * pending → `awaiting-approval`. Nothing is read but the proposal: what people approved is what applies.
 * @throws ValidationError when the proposal is not a gated step of Loop 3, or does not carry one.
 */
export async function resumeStep(input: ResumeInput, deps: Pick<ProposeDeps, 'proposal'>): Promise<LoopState> {
  const proposal = await deps.proposal(input.tenant, input.proposalId);
  if (!proposal || !isGatedTune(proposal))
    throw new ValidationError([
      { path: 'proposalId', message: `${input.proposalId} is not a compression:tune step of Loop 3 that waited at a gate` },
    ]);
  const parameters = tuneParametersSchema.safeParse(proposal.parameters);
  const evidence = tuneEvidenceSchema.safeParse(proposal.evidence ?? {});
  if (!parameters.success || !evidence.success)
    throw new ValidationError([
      { path: parameters.success ? 'evidence' : 'parameters', message: `proposal ${proposal.proposalId} carries no step of Loop 3` },
    ]);
  const { settingsVersion, relevanceWeight, itemWeight, summariseAboveTokens } = parameters.data;
  const state: LoopState = {
    tenant: input.tenant,
    execution: input.execution,
    trigger: 'settled',
    next: 'apply',
    window: evidence.data.window,
    foundRate: evidence.data.foundRate,
    settings: evidence.data.before,
    settingsVersion,
    patch: { relevanceWeight, itemWeight, summariseAboveTokens },
    changes: evidence.data.changes,
    proposalId: proposal.proposalId,
    reason: clip(`proposal ${proposal.proposalId} ${proposal.status} (${proposal.route}): ${evidence.data.changes.join('; ')}`),
  };
  if (proposal.status === 'approved' || proposal.status === 'executed') return state;
  if (proposal.status === 'pending')
    return ended(state, 'awaiting-approval', `proposal ${proposal.proposalId} still waits at the ${proposal.route} gate; nothing applied`);
  return ended(
    state,
    'refused',
    `proposal ${proposal.proposalId} is ${proposal.status}: ${proposal.reasons.join('; ') || 'no reason given'}; nothing applied`,
  );
}

/** Gate outcomes that end a step's wait for people. */
const GATE_OUTCOMES: ReadonlySet<string> = new Set(['approved', 'rejected', 'timed-out', 'refused']);

/** `governance.proposal.settled` as the resume reads it. */
export const settledDetailSchema = z.looseObject({
  tenant: tenantSchema,
  proposalId: z.string().min(1).max(MAX_PROPOSAL_ID),
  status: z.string().min(1).max(32),
});

/**
 * On `governance.proposal.settled`: a gated step of Loop 3 whose gate ended starts its resumed run
 * ({@link resumeExecutionName}, so a settlement delivered twice is one run), which applies the step
 * when approved and records the refusal otherwise. Any other proposal, or a later state (`executed`,
 * `failed`, reported by the apply itself), starts nothing.
 * @returns the resumed run's execution name, or undefined.
 */
export async function resumeOnSettled(
  detail: z.infer<typeof settledDetailSchema>,
  deps: Pick<ProposeDeps, 'proposal'> & { loops: LoopStarter },
): Promise<string | undefined> {
  if (!GATE_OUTCOMES.has(detail.status)) return undefined;
  const proposal = await deps.proposal(detail.tenant, detail.proposalId);
  if (!proposal || !isGatedTune(proposal) || proposal.status === 'pending') return undefined;
  const execution = resumeExecutionName(proposal.proposalId);
  await deps.loops.start(execution, { tenant: detail.tenant, trigger: 'settled', proposalId: proposal.proposalId });
  return execution;
}

/** The record step's input: the machine's whole state (the last step's state, a failure the machine caught). */
export const recordInputSchema = z.object({
  execution: executionSchema,
  state: z.object({
    tenant: tenantSchema,
    trigger: loopInputSchema.shape.trigger,
    loop: z.object({ state: loopStateSchema }).optional(),
    /** Set by the machine when a step failed after its retries. */
    outcome: z.literal('failed').optional(),
    failure: z.object({ Error: z.string().max(256).optional(), Cause: z.string().max(32_768).optional() }).nullish(),
  }),
});
/** The record step's input. */
export type RecordInput = z.infer<typeof recordInputSchema>;

/** Outcomes after which the observed window counts as judged (its reports leave the next window). */
const JUDGED: ReadonlySet<LoopOutcome> = new Set(['tuned', 'unchanged', 'superseded', 'refused', 'awaiting-approval']);

/**
 * The effectiveness record after recording `execution`: a judged window's `judged` reports off the
 * count waiting, the execution remembered (the last {@link RECORDED_EXECUTIONS}); undefined when
 * `execution` was recorded already (a retried record step). Pure.
 */
export function afterRecord(current: StoredEffectiveness, execution: string, judged: number): StoredEffectiveness | undefined {
  const recorded = current.recorded ?? [];
  if (recorded.includes(execution)) return undefined;
  return {
    ...current,
    sinceTune: Math.max(0, current.sinceTune - judged),
    recorded: [...recorded, execution].slice(-RECORDED_EXECUTIONS),
    version: current.version + 1,
  };
}

/**
 * Step "record", on every path: `compression.loop.completed` in the ledger (through the outbox, with
 * the effectiveness write), and a judged window's reports taken off the count waiting for the next run.
 * Once per execution: the write is conditional on the effectiveness version and remembers the
 * execution, so a retried step (its first write done, its reply lost) finds it and writes nothing.
 * A resumed run (`settled`) judges no window: the run that proposed its step did.
 */
export async function recordStep(
  input: RecordInput,
  deps: { store: CompressionStore; outbox: OutboxPort; now: () => Date },
): Promise<Omit<CompressionLoopCompleted, 'version'>> {
  const last = input.state.loop?.state;
  const failed = input.state.outcome === 'failed' || !last?.outcome;
  const failure = input.state.failure;
  const why = failure ? `${failure.Error ?? 'Error'}: ${(failure.Cause ?? '').slice(0, 600)}` : 'no outcome';
  const outcome: LoopOutcome = failed ? 'failed' : (last.outcome as LoopOutcome);
  const window = last?.window ?? { samples: 0, found: 0 };
  const detail = {
    tenant: input.state.tenant,
    execution: input.execution,
    trigger: input.state.trigger,
    outcome,
    window,
    foundRate: last?.foundRate ?? null,
    changes: last?.changes ?? [],
    proposalId: last?.proposalId ?? null,
    settingsVersion: last?.settingsVersion ?? 0,
    reason: clip(failed ? `a step failed after its retries: ${why}` : (last?.reason ?? '')),
    completedAt: deps.now().toISOString(),
  };
  const event = busEvent('compression.loop.completed', detail);
  const judged = JUDGED.has(outcome) && input.state.trigger !== 'settled' ? window.samples : 0;
  let entries: Awaited<ReturnType<CompressionStore['putEffectiveness']>> = [];
  for (let attempt = 1; ; attempt++) {
    try {
      const current = await deps.store.effectiveness(input.state.tenant);
      const next = afterRecord(current, input.execution, judged);
      if (!next) return detail;
      entries = await deps.store.putEffectiveness(input.state.tenant, next, current.version, [event]);
      break;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 5) throw error;
    }
  }
  await deliver(deps.outbox, entries);
  return detail;
}
