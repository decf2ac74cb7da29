/**
 * The Compression engine's actions, on ports: compress a context (settings read, tokens counted by
 * the gateway's tokenizer, {@link compress}, the run and its lineage recorded in the ledger through
 * the outbox, a governance proposal when critical items would have to go), read the status, change
 * the settings, and take answer-found feedback (every {@link TUNE_EVERY} reports start a run of Loop 3,
 * statemachines/compression-loop.asl.json and lib/compression/loop.ts, which judges those reports
 * with the tuner and applies its step through governance).
 *
 * State (one partition per tenant, `<tenant>#compression`): `settings`, `effectiveness` (totals and the
 * last {@link RECENT_REPORTS} reports) and `run#<compressionId>` (a run's figures and its feedback).
 */
import { createHash } from 'node:crypto';
import type { LedgerLocation } from '../api/route.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import type { TextTokenCounter } from '../gateway/retrieval.ts';
import type { TokenizerFamily } from '../gateway/tokenizer.ts';
import type { ProposalInput } from '../governance/model.ts';
import type { OutboxEntry, OutboxPort, Proposal, ProposalOutcome, Proposer } from '../governance/proposals.ts';
import { compress } from './compress.ts';
import type { StoredSettings } from './routes.ts';
import type { CompressionResult, CompressionSettings, CompressRequest } from './schemas.ts';

/** Reports kept in the effectiveness record. */
export const RECENT_REPORTS = 100;
/** Reports between two runs of Loop 3 (the tuner's minimum window). */
export const TUNE_EVERY = 20;

/** What starts a run of Loop 3: reports, or a settled proposal (a resumed run, with the proposal's id). */
export interface LoopStartInput {
  tenant: string;
  trigger: 'feedback' | 'schedule' | 'settled';
  proposalId?: string;
}

/** Starts runs of Loop 3: the same name is the same run (a name used already is not an error). */
export interface LoopStarter {
  start(name: string, input: LoopStartInput): Promise<string>;
}

/**
 * The execution judging the window that ends at effectiveness version `version`: the feedback route
 * and the schedule name the same window's run alike, so it runs once.
 */
export function loopExecutionName(tenant: string, version: number): string {
  return `${tenant}-c3-${version}`.slice(0, 80);
}

/** A compression as stored. */
export interface CompressionRun {
  tenant: string;
  compressionId: string;
  contextId: string;
  status: CompressionResult['status'];
  tokensIn: number;
  tokensOut: number;
  saved: number;
  proposalId: string | null;
  at: string;
  feedback?: { found: boolean; at: string; actor: string };
}

/** A tenant's effectiveness record as stored (version 0: none yet). */
export interface StoredEffectiveness {
  compressions: number;
  tokensIn: number;
  tokensOut: number;
  savedSum: number;
  /** Last reports, oldest first. */
  recent: boolean[];
  /** Reports not judged by a run of Loop 3 yet. */
  sinceTune: number;
  /** The last runs of Loop 3 recorded (execution names, oldest first): a retried record writes nothing twice. Absent in records written before. */
  recorded?: string[];
  version: number;
}

/** The empty effectiveness record. */
export const NO_EFFECTIVENESS: StoredEffectiveness = {
  compressions: 0,
  tokensIn: 0,
  tokensOut: 0,
  savedSum: 0,
  recent: [],
  sinceTune: 0,
  version: 0,
};

/** The engine's state. */
export interface CompressionStore {
  /** The stored settings, or the defaults at version 0. */
  settings(tenant: string): Promise<StoredSettings>;
  /** @throws ConflictError when the stored settings are not at `expectedVersion`. */
  putSettings(tenant: string, next: StoredSettings, expectedVersion: number, events: BusEvent[]): Promise<OutboxEntry[]>;
  effectiveness(tenant: string): Promise<StoredEffectiveness>;
  /** Saves a new run, the effectiveness it moves and its events, all or nothing. @throws ConflictError when effectiveness is not at `expectedVersion`. */
  putRun(run: CompressionRun, next: StoredEffectiveness, expectedVersion: number, events: BusEvent[]): Promise<OutboxEntry[]>;
  run(tenant: string, compressionId: string): Promise<CompressionRun | undefined>;
  /** Saves a run's feedback with the effectiveness it moves. @throws ConflictError when the run has feedback already or effectiveness is not at `expectedVersion`. */
  putFeedback(run: CompressionRun, next: StoredEffectiveness, expectedVersion: number): Promise<void>;
  /** Saves effectiveness with events (Loop 3's record step). @throws ConflictError when it is not at `expectedVersion`. */
  putEffectiveness(tenant: string, next: StoredEffectiveness, expectedVersion: number, events?: BusEvent[]): Promise<OutboxEntry[]>;
  /** Tenants that ever reported feedback (Loop 3's schedule). */
  feedbackTenants(): Promise<string[]>;
}

/** What the actions need. */
export interface CompressionDeps {
  store: CompressionStore;
  outbox: OutboxPort;
  now: Date;
  newId: () => string;
  /** The gateway tokenizer's counter for a family. */
  counter: (family: TokenizerFamily) => Promise<TextTokenCounter>;
  /** Governance in process: propose, and read a proposal. */
  propose: (input: ProposalInput, proposer: Proposer) => Promise<ProposalOutcome>;
  proposal: (tenant: string, proposalId: string) => Promise<Proposal | undefined>;
  /** Starts runs of Loop 3 (the feedback route). */
  loops?: LoopStarter;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const settingsOf = ({ version: _v, updatedAt: _a, updatedBy: _b, ...settings }: StoredSettings): CompressionSettings => settings;

/** Records entries in the ledger, then publishes them; the first entry's ledger location. */
export async function deliver(outbox: OutboxPort, entries: OutboxEntry[]): Promise<LedgerLocation | undefined> {
  let first: LedgerLocation | undefined;
  for (const entry of entries) {
    const ref = await outbox.record(entry);
    first ??= ref;
  }
  await outbox.deliver(entries);
  return first;
}

/** The reply to a compression. */
export type CompressOutcome = CompressionResult & {
  compressionId: string;
  contextId: string;
  proposalId: string | null;
  ledger?: LedgerLocation;
};

/**
 * Compresses `request` for `proposer.tenant` (see lib/compression/compress.ts) and records it.
 * @throws ConflictError when `approvedProposalId` is not an approved compression proposal for this context.
 * @example await compressContext({ goal: 'When did Rollo die?', items, budgetTokens: 512 }, proposer, deps);
 */
export async function compressContext(request: CompressRequest, proposer: Proposer, deps: CompressionDeps): Promise<CompressOutcome> {
  const tenant = proposer.tenant;
  const compressionId = deps.newId();
  const contextId = request.contextId ?? compressionId;
  const stored = await deps.store.settings(tenant);
  const settings = settingsOf(stored);
  const approvedDrops = request.approvedProposalId ? await approvedHashes(tenant, request.approvedProposalId, contextId, deps) : undefined;
  const count = await deps.counter(request.tokenizer ?? 'o200k_base');
  const budgetTokens = request.budgetTokens ?? settings.budgetTokens;
  const result = compress(
    { goal: request.goal, items: request.items, budgetTokens, ...(approvedDrops ? { approvedDrops } : {}) },
    settings,
    count,
  );

  let proposalId: string | null = null;
  if (result.status === 'needs-approval' && result.needsApproval) {
    const wouldDrop = result.needsApproval.items;
    const { proposal } = await deps.propose(
      {
        engine: 'compression',
        action: 'compress',
        target: `context/${contextId}`,
        environment: 'prod',
        parameters: { critical: true, compressionId, items: wouldDrop.map(({ id, hash }) => ({ id, hash })) },
        reason: `Fitting context ${contextId} to ${budgetTokens} tokens needs dropping ${wouldDrop.length} critical item(s) (${wouldDrop
          .map((item) => item.id)
          .join(', ')}); ${result.needsApproval.tokensOver} tokens over without them`.slice(0, 2000),
        evidence: { budgetTokens, tokensIn: result.tokensIn, tokensOver: result.needsApproval.tokensOver, items: wouldDrop },
        escalate: 'context marked critical by policy is dropped only with approval',
      },
      proposer,
    );
    proposalId = proposal.proposalId;
  }

  const at = deps.now.toISOString();
  const event = busEvent('compression.context.compressed', {
    tenant,
    compressionId,
    contextId,
    status: result.status,
    goalHash: sha256(request.goal),
    tokensIn: result.tokensIn,
    tokensOut: result.tokensOut,
    budgetTokens,
    ratio: result.ratio,
    lineage: result.items.map((item) => ({ id: item.id, hash: item.hash, from: item.from })),
    dropped: result.dropped.map(({ id, hash, reason, digested }) => ({ id, hash, reason, digested })),
    wouldDrop: (result.needsApproval?.items ?? []).map(({ id, hash }) => ({ id, hash })),
    proposalId,
    approvedProposalId: request.approvedProposalId ?? null,
    actor: proposer.id,
    compressedAt: at,
  });
  const run: CompressionRun = {
    tenant,
    compressionId,
    contextId,
    status: result.status,
    tokensIn: result.tokensIn,
    tokensOut: result.tokensOut,
    saved: result.saved,
    proposalId,
    at,
  };
  const entries = await withRetry(async () => {
    const current = await deps.store.effectiveness(tenant);
    const next: StoredEffectiveness = {
      ...current,
      compressions: current.compressions + 1,
      tokensIn: current.tokensIn + result.tokensIn,
      tokensOut: current.tokensOut + result.tokensOut,
      savedSum: current.savedSum + result.saved,
      version: current.version + 1,
    };
    return deps.store.putRun(run, next, current.version, [event]);
  });
  const ledger = await deliver(deps.outbox, entries);
  return { ...result, compressionId, contextId, proposalId, ...(ledger ? { ledger } : {}) };
}

/** The item hashes an approved proposal lets go. */
async function approvedHashes(tenant: string, proposalId: string, contextId: string, deps: CompressionDeps): Promise<Set<string>> {
  const proposal = await deps.proposal(tenant, proposalId);
  const items = proposal?.parameters.items;
  if (
    proposal?.engine !== 'compression' ||
    proposal.action !== 'compress' ||
    proposal.target !== `context/${contextId}` ||
    !['approved', 'executed'].includes(proposal.status) ||
    !Array.isArray(items)
  )
    throw new ConflictError(
      `Proposal ${proposalId} is not an approved compression of context ${contextId}; ask again without approvedProposalId`,
    );
  return new Set(items.map((item) => String((item as { hash?: unknown }).hash)));
}

async function withRetry<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 5) throw error;
    }
  }
}

/** The tenant's settings and effectiveness (`GET /compression/status`). */
export async function compressionStatus(tenant: string, store: CompressionStore) {
  const [settings, effectiveness] = await Promise.all([store.settings(tenant), store.effectiveness(tenant)]);
  const found = effectiveness.recent.filter(Boolean).length;
  return {
    settings,
    effectiveness: {
      compressions: effectiveness.compressions,
      tokensIn: effectiveness.tokensIn,
      tokensOut: effectiveness.tokensOut,
      meanSaved: effectiveness.compressions > 0 ? effectiveness.savedSum / effectiveness.compressions : 0,
      recent: effectiveness.recent,
      foundRate: effectiveness.recent.length > 0 ? found / effectiveness.recent.length : null,
    },
  };
}

/**
 * Changes some settings (`PUT /compression/config`, or Loop 3's apply step), recorded with
 * `compression.config.changed`. With `loop.expectedVersion`, only over that version.
 * @throws ConflictError after 5 lost races, or when the settings are not at `loop.expectedVersion`.
 */
export async function updateSettings(
  tenant: string,
  patch: Partial<CompressionSettings>,
  actor: string,
  by: 'operator' | 'loop',
  deps: Pick<CompressionDeps, 'store' | 'outbox' | 'now'>,
  window: { samples: number; found: number } | null = null,
  loop?: { expectedVersion: number; execution: string; proposalId: string },
): Promise<StoredSettings> {
  let written: StoredSettings | undefined;
  const entries = await withRetry(async () => {
    const current = await deps.store.settings(tenant);
    if (loop && current.version !== loop.expectedVersion)
      throw new ConflictError(`The compression settings of ${tenant} are at v${current.version}, not v${loop.expectedVersion}`);
    const next: StoredSettings = {
      ...current,
      ...patch,
      version: current.version + 1,
      updatedAt: deps.now.toISOString(),
      updatedBy: actor,
    };
    const changes = (Object.keys(patch) as (keyof CompressionSettings)[])
      .filter((key) => JSON.stringify(current[key]) !== JSON.stringify(next[key]))
      .map((key) => `${key}: ${JSON.stringify(current[key])} → ${JSON.stringify(next[key])}`.slice(0, 200));
    const event = busEvent('compression.config.changed', {
      tenant,
      by,
      settingsVersion: next.version,
      changes,
      window,
      ...(loop ? { execution: loop.execution, proposalId: loop.proposalId } : {}),
      actor,
      changedAt: deps.now.toISOString(),
    });
    written = next;
    return deps.store.putSettings(tenant, next, current.version, [event]);
  });
  await deliver(deps.outbox, entries);
  return written as StoredSettings;
}

/**
 * Records whether a later answer was found in a compression's output; every {@link TUNE_EVERY}
 * reports not judged yet start a run of Loop 3 (`deps.loops`), which judges them. A run that could
 * not be started is reported in `loop.error` (the report is kept; the schedule starts the run later).
 * @throws NotFoundError for an unknown compression; ConflictError when it was reported already.
 */
export async function recordFeedback(
  tenant: string,
  input: { compressionId: string; found: boolean },
  actor: string,
  deps: Pick<CompressionDeps, 'store' | 'outbox' | 'now' | 'loops'>,
) {
  const run = await deps.store.run(tenant, input.compressionId);
  if (!run) throw new NotFoundError(`No compression ${input.compressionId}`);
  if (run.feedback) throw new ConflictError(`Compression ${input.compressionId} has feedback already (found: ${run.feedback.found})`);
  const next = await withRetry(async () => {
    const fresh = await deps.store.run(tenant, input.compressionId);
    if (fresh?.feedback)
      throw new ConflictError(`Compression ${input.compressionId} has feedback already (found: ${fresh.feedback.found})`);
    const current = await deps.store.effectiveness(tenant);
    const moved: StoredEffectiveness = {
      ...current,
      recent: [...current.recent, input.found].slice(-RECENT_REPORTS),
      sinceTune: current.sinceTune + 1,
      version: current.version + 1,
    };
    await deps.store.putFeedback({ ...run, feedback: { found: input.found, at: deps.now.toISOString(), actor } }, moved, current.version);
    return moved;
  });
  const samples = Math.min(next.sinceTune, next.recent.length);
  const window = { samples, found: next.recent.slice(next.recent.length - samples).filter(Boolean).length };
  let loop: { execution: string; started: boolean; error?: string } | null = null;
  if (deps.loops && next.sinceTune >= TUNE_EVERY && next.sinceTune % TUNE_EVERY === 0) {
    const execution = loopExecutionName(tenant, next.version);
    try {
      await deps.loops.start(execution, { tenant, trigger: 'feedback' });
      loop = { execution, started: true };
    } catch (error) {
      loop = { execution, started: false, error: `${(error as Error).name}: ${(error as Error).message}`.slice(0, 300) };
    }
  }
  const settingsVersion = (await deps.store.settings(tenant)).version;
  return { compressionId: input.compressionId, window, loop, settingsVersion };
}
