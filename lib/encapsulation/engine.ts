/**
 * The Encapsulation engine's operations on its ports: {@link analyse} (the graph from the Reflex
 * registry and the ledger's correlated trace entries, or an explicit graph; cycles, modules, scores
 * and interfaces, stored as the tenant's latest analysis with `encapsulation.analysis.completed` in
 * the ledger), {@link latestAnalysis}, and {@link exposeInterface}: a module's interface goes through
 * governance (an `encapsulation:expose-interface` proposal, L3 validation at least); only once the
 * proposal is approved is it tagged as a version of a schema artifact by the Versioning engine in
 * process (its schema diff derives the bump; a breaking version is proposed to people), recorded with
 * `encapsulation.interface.exposed`. A proposal not approved, or a failed tag, is recorded with
 * `encapsulation.exposure.failed`; one still at the gate is finished by the next call.
 */
import { canonicalJson, sha256Hex } from '../audit/digest.ts';
import { ConflictError, DomainError, ForbiddenError, LockedError, NotFoundError, ValidationError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import type { ProposalInput } from '../governance/model.ts';
import type { OutboxEntry, OutboxPort, Proposal, ProposalOutcome, Proposer } from '../governance/proposals.ts';
import { tagVersion } from '../versioning/engine.ts';
import type { VersioningDeps } from '../versioning/ports.ts';
import { MAX_GOLDEN, MAX_GOLDEN_BYTES } from '../versioning/schemas.ts';
import { analyseGraph, entryPointKey } from './analysis.ts';
import { buildGraph } from './graph.ts';
import { type AnalyseInput, type Analysis, type ExposeInput, type Exposure, MAX_CYCLES, MAX_DOCUMENT_BYTES } from './schemas.ts';
import { edgesFromEntries, type PayloadSample, type TraceEntry } from './traces.ts';

/** Stored analyses and exposures. */
export interface EncapsulationStore {
  /** The tenant's latest analysis, or undefined before the first. */
  latest(tenant: string): Promise<Analysis | undefined>;
  /** Saves an analysis as the tenant's latest, with its events (an outbox). */
  saveAnalysis(tenant: string, analysis: Analysis, events: BusEvent[]): Promise<OutboxEntry[]>;
  /** One stored analysis (exposure tags the interface of the analysis its proposal validated), or undefined. */
  analysis(tenant: string, analysisId: string): Promise<Analysis | undefined>;
  /** The artifact's current exposure with its revision, or undefined before the first. */
  exposure(tenant: string, artifact: string): Promise<{ exposure: Exposure; rev: number } | undefined>;
  /**
   * Saves the artifact's current exposure at revision `expectedRev + 1` (1 when absent), with its events.
   * @throws ConflictError when the stored one is not at `expectedRev` (`undefined`: absent).
   */
  putExposure(tenant: string, exposure: Exposure, expectedRev: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
}

/** What the engine reads and calls. */
export interface EncapsulationDeps {
  store: EncapsulationStore;
  /** The tenant's registered components (the Reflex registry). */
  components(tenant: string): Promise<{ id: string; kind: string; dependsOn: string[] }[]>;
  /** The newest `limit` entries of each stream, with their payloads (expired payloads left out). */
  traces(tenant: string, streams: readonly string[], limit: number): Promise<TraceEntry[]>;
  outbox: OutboxPort;
  /** Governance's proposal path under the given proposal id (the proposer is the caller, proposerOf(principal)). */
  propose(input: ProposalInput, proposer: Proposer, proposalId: string): Promise<ProposalOutcome>;
  /** A proposal as governance stores it, or undefined. */
  proposal(tenant: string, proposalId: string): Promise<Proposal | undefined>;
  /** The Versioning engine, in process. */
  versioning: VersioningDeps;
  now: () => Date;
  newId: () => string;
  /** How long an exposure waits for the gate's L3 validation before answering `pending` (default 0: no wait). */
  gateWaitMs?: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Most requests kept per entry point for the golden set. */
const GOLDEN_PER_ENTRY = 20;

async function deliver(outbox: OutboxPort, entries: OutboxEntry[]): Promise<void> {
  for (const entry of entries) await outbox.record(entry);
  await outbox.deliver(entries);
}

/**
 * Analyses the tenant's components (see the module comment) and stores the analysis as its latest.
 * @throws ValidationError naming `body.parameters.modules` when the generated documents exceed their bound.
 */
export async function analyse(tenant: string, input: AnalyseInput, actor: string, deps: EncapsulationDeps): Promise<Analysis> {
  const started = performance.now();
  let components: { id: string; kind: string; dependsOn: readonly string[] }[];
  let observed: { from: string; to: string; calls: number }[] = [];
  let samples: PayloadSample[] = input.samples.map((s) => ({ ...s }));
  let traces = 0;
  let traceEntries = 0;
  if (input.graph) {
    components = input.graph.components;
    observed = input.graph.edges;
  } else {
    components = await deps.components(tenant);
    const derived = edgesFromEntries(await deps.traces(tenant, input.streams, input.limit));
    observed = derived.edges;
    samples = [...samples, ...derived.samples];
    traces = derived.traces;
    traceEntries = derived.entries;
  }
  const result = analyseGraph(buildGraph(components, observed), samples, { seed: input.seed });
  const golden: Record<string, unknown[]> = {};
  for (const sample of samples) {
    if (sample.request === undefined) continue;
    const key = entryPointKey(sample.component, sample.operation);
    const list = golden[key] ?? [];
    golden[key] = list;
    if (list.length < GOLDEN_PER_ENTRY) list.push(sample.request);
  }
  const oversized = result.modules.findIndex(
    (m) =>
      Buffer.byteLength(JSON.stringify(m.openapi)) > MAX_DOCUMENT_BYTES ||
      Buffer.byteLength(JSON.stringify(m.interfaceSchema)) > MAX_DOCUMENT_BYTES,
  );
  if (oversized !== -1)
    throw new ValidationError([
      { path: 'body.parameters.samples', message: `module ${oversized + 1}'s interface documents exceed ${MAX_DOCUMENT_BYTES / 1024} KiB` },
    ]);
  const analysis: Analysis = {
    analysisId: deps.newId(),
    source: input.graph ? 'explicit' : 'registry',
    at: deps.now().toISOString(),
    by: actor.slice(0, 256),
    nodes: result.nodes,
    edges: result.edges,
    traces,
    traceEntries,
    samples: samples.length,
    cycles: result.cycles.slice(0, MAX_CYCLES),
    modularity: result.modularity,
    seed: result.seed,
    modules: result.modules,
    golden,
    analysisMs: Math.round((performance.now() - started) * 1000) / 1000,
  };
  const event = busEvent('encapsulation.analysis.completed', {
    tenant,
    analysisId: analysis.analysisId,
    source: analysis.source,
    nodes: analysis.nodes,
    edges: analysis.edges,
    traces,
    cycles: analysis.cycles.length,
    modules: analysis.modules.length,
    modularity: analysis.modularity,
    seed: analysis.seed,
    // Scores by module, the best first (at most 20).
    scores: [...analysis.modules]
      .sort((a, b) => b.reusability.score - a.reusability.score)
      .slice(0, 20)
      .map((m) => ({ module: m.id, name: m.name, score: m.reusability.score, members: m.members.length })),
    hash: sha256Hex(
      canonicalJson({ cycles: analysis.cycles, modules: analysis.modules.map((m) => [m.id, m.members, m.reusability.score]) }),
    ),
    analysedBy: analysis.by,
  });
  await deliver(deps.outbox, await deps.store.saveAnalysis(tenant, analysis, [event]));
  return analysis;
}

/**
 * The tenant's latest analysis.
 * @throws NotFoundError before the first.
 */
export async function latestAnalysis(tenant: string, store: Pick<EncapsulationStore, 'latest'>): Promise<Analysis> {
  const analysis = await store.latest(tenant);
  if (!analysis) throw new NotFoundError('No analysis yet: POST /encapsulation/analyse first');
  return analysis;
}

/** The versioned artifact of a module (`interfaces/<name>`, in the artifact id's alphabet). */
export function interfaceArtifact(name: string): string {
  return `interfaces/${name.replace(/^[^A-Za-z0-9]+/, '')}`.replace(/[^A-Za-z0-9._:/-]/g, '-').slice(0, 128);
}

/** How long an exposure whose proposal cannot be found may still be being filed by another call. */
export const UNFILED_GRACE_MS = 60_000;

/** What an exposure call did: 201 tagged now, 202 still waiting at the gate, 200 settled otherwise (rejected, tag failed). */
export interface ExposeOutcome {
  statusCode: 200 | 201 | 202;
  exposure: Exposure;
}

/** Proposal states that let the interface be tagged (L3 validation approved it). */
const APPROVED = new Set(['approved', 'executed']);

/** The module of an analysis by id or name. */
function moduleOf(analysis: Analysis, module: string) {
  return analysis.modules.find((m) => m.id === module) ?? analysis.modules.find((m) => m.name === module);
}

/** The observed requests of a module's entry points (its golden set), bounded as Versioning bounds them. */
function goldenOf(analysis: Analysis, module: Analysis['modules'][number]): unknown[] {
  const golden: unknown[] = [];
  for (const entry of module.entryPoints)
    for (const request of analysis.golden[entryPointKey(entry.component, entry.operation)] ?? [])
      if (golden.length < MAX_GOLDEN) golden.push({ [entryPointKey(entry.component, entry.operation)]: request });
  while (golden.length > 0 && JSON.stringify(golden).length > MAX_GOLDEN_BYTES) golden.pop();
  return golden;
}

/** Waits for a proposal to leave `pending` (the gate's L3 validation), at most `waitMs`. */
async function awaitProposal(tenant: string, proposalId: string, waitMs: number, deps: EncapsulationDeps): Promise<Proposal | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const proposal = await deps.proposal(tenant, proposalId);
    if ((proposal && proposal.status !== 'pending') || Date.now() >= deadline) return proposal;
    await (deps.sleep ?? defaultSleep)(deps.pollMs ?? 250);
  }
}

/** `encapsulation.exposure.failed` for a rejected exposure or a failed tag. */
function failedEvent(tenant: string, exposure: Exposure, actor: string): BusEvent {
  return busEvent('encapsulation.exposure.failed', {
    tenant,
    analysisId: exposure.analysisId,
    module: exposure.module,
    name: exposure.name,
    artifact: exposure.artifact,
    hash: exposure.hash,
    status: exposure.status as 'rejected' | 'tag-failed',
    proposalId: exposure.proposal.proposalId,
    proposalStatus: exposure.proposal.status,
    reasons: (exposure.reasons ?? []).slice(0, 20),
    settledBy: actor.slice(0, 256),
  });
}

/** Saves the exposure at the next revision with its events and delivers them. */
async function save(
  tenant: string,
  exposure: Exposure,
  rev: number | undefined,
  events: BusEvent[],
  deps: EncapsulationDeps,
): Promise<number> {
  await deliver(deps.outbox, await deps.store.putExposure(tenant, exposure, rev, events));
  return (rev ?? 0) + 1;
}

/** Settles an exposure that is not approved: recorded as `rejected` (nothing tagged). */
async function reject(
  tenant: string,
  exposure: Exposure,
  rev: number,
  reasons: string[],
  actor: string,
  deps: EncapsulationDeps,
): Promise<ExposeOutcome> {
  const rejected: Exposure = {
    ...exposure,
    status: 'rejected',
    reasons: reasons.slice(0, 20).map((r) => r.slice(0, 1000)),
    settledAt: deps.now().toISOString(),
  };
  await save(tenant, rejected, rev, [failedEvent(tenant, rejected, actor)], deps);
  return { statusCode: 200, exposure: rejected };
}

/**
 * Tags the interface an approved proposal validated: the module of the exposure's analysis, whose
 * schema must still hash to what was proposed. When the artifact's latest version already holds it
 * (a tag whose exposure write was lost), that version is the exposure's. A failed tag is recorded as
 * `tag-failed` with its reason (and the event), for the next call to retry.
 */
async function tag(tenant: string, exposure: Exposure, rev: number, actor: string, deps: EncapsulationDeps): Promise<ExposeOutcome> {
  const fail = async (reason: string): Promise<ExposeOutcome> => {
    const failed: Exposure = { ...exposure, status: 'tag-failed', reasons: [reason.slice(0, 1000)], settledAt: deps.now().toISOString() };
    await save(tenant, failed, rev, [failedEvent(tenant, failed, actor)], deps);
    return { statusCode: 200, exposure: failed };
  };
  const analysis = await deps.store.analysis(tenant, exposure.analysisId);
  const module = analysis ? moduleOf(analysis, exposure.module) : undefined;
  if (!analysis || !module) return fail(`analysis ${exposure.analysisId} or its ${exposure.module} is no longer stored`);
  if (sha256Hex(canonicalJson(module.interfaceSchema)) !== exposure.hash)
    return fail(`the interface of ${exposure.module} in analysis ${exposure.analysisId} no longer hashes to the proposed ${exposure.hash}`);
  let record: Awaited<ReturnType<typeof tagVersion>>['record'] | undefined;
  try {
    const head = await deps.versioning.store.head(tenant, exposure.artifact);
    const latest = head ? await deps.versioning.store.version(tenant, exposure.artifact, head.latest) : undefined;
    if (latest?.hash === exposure.hash) record = latest;
    else {
      const golden = goldenOf(analysis, module);
      ({ record } = await tagVersion(
        tenant,
        {
          artifact: exposure.artifact,
          kind: 'schema',
          body: module.interfaceSchema,
          ...(golden.length > 0 ? { golden } : {}),
          note: `Interface of ${module.name}, analysis ${analysis.analysisId}, proposal ${exposure.proposal.proposalId}`.slice(0, 500),
        },
        actor,
        deps.versioning,
      ));
    }
  } catch (error) {
    // A caller sees a domain error's message (never an internal one's); either way the exposure says so.
    return fail(`tagging failed: ${error instanceof DomainError ? error.message : 'internal error'}`);
  }
  const { reasons: _failedBefore, ...settled } = exposure;
  const exposed: Exposure = {
    ...settled,
    status: 'exposed',
    version: record.version,
    bump: record.bump,
    breaking: record.breaking,
    ...(record.approval ? { versionApproval: { proposalId: record.approval.proposalId, status: record.approval.status } } : {}),
    settledAt: deps.now().toISOString(),
  };
  const event = busEvent('encapsulation.interface.exposed', {
    tenant,
    analysisId: exposed.analysisId,
    module: exposed.module,
    name: exposed.name,
    artifact: exposed.artifact,
    artifactVersion: record.version,
    bump: record.bump,
    breaking: record.breaking,
    hash: exposed.hash,
    proposalId: exposed.proposal.proposalId,
    route: exposed.proposal.route ?? 'l3-validation',
    proposalStatus: exposed.proposal.status,
    ...(exposed.versionApproval ? { versionApproval: exposed.versionApproval } : {}),
    exposedBy: actor.slice(0, 256),
  });
  await save(tenant, exposed, rev, [event], deps);
  return {
    statusCode: 201,
    exposure: {
      ...exposed,
      openapi: { ...module.openapi, info: { ...(module.openapi.info as Record<string, unknown>), version: record.version } },
    },
  };
}

/**
 * Finishes an exposure once its proposal is decided: waits for it (at most `gateWaitMs`), tags the
 * interface when approved, records `rejected` when not, and leaves it `pending` (202) while it waits.
 */
async function settle(tenant: string, exposure: Exposure, rev: number, actor: string, deps: EncapsulationDeps): Promise<ExposeOutcome> {
  const { proposalId } = exposure.proposal;
  const proposal = await awaitProposal(tenant, proposalId, deps.gateWaitMs ?? 0, deps);
  if (!proposal) {
    if (deps.now().getTime() - Date.parse(exposure.proposedAt) < UNFILED_GRACE_MS) return { statusCode: 202, exposure };
    return reject(tenant, exposure, rev, [`proposal ${proposalId} was never filed; expose again`], actor, deps);
  }
  const current: Exposure = { ...exposure, proposal: { proposalId, route: proposal.route, status: proposal.status } };
  if (proposal.status === 'pending') {
    const changed = exposure.proposal.route !== proposal.route;
    if (changed) await save(tenant, current, rev, [], deps);
    return { statusCode: 202, exposure: current };
  }
  if (!APPROVED.has(proposal.status))
    return reject(tenant, current, rev, proposal.reasons.length > 0 ? proposal.reasons : [`proposal ${proposal.status}`], actor, deps);
  return tag(tenant, current, rev, actor, deps);
}

/**
 * Exposes a module's interface from the latest analysis: an `encapsulation:expose-interface` proposal
 * (L3 validation at least), then, once it is approved, the interface tagged as a version of a schema
 * artifact by the Versioning engine. The exposure is saved (`pending`) before the proposal is filed,
 * so each artifact has one at a time; the call waits for the gate at most `gateWaitMs` and answers
 * 202 with the proposal while it is still pending. A later call for the same artifact finishes a
 * `pending` exposure (tags it once approved, records it `rejected` otherwise) or retries a `tag-failed`
 * one, without filing a new proposal. Nothing is tagged for a proposal that is not approved.
 * @throws NotFoundError without an analysis or module; ValidationError naming `body.parameters.module`
 * (no entry point) or `body.parameters.artifact` (not a schema artifact); ConflictError when the
 * interface equals the latest version or another call exposes the artifact meanwhile;
 * ForbiddenError / LockedError from governance (the exposure is then recorded `rejected`).
 */
export async function exposeInterface(
  tenant: string,
  input: ExposeInput,
  proposer: Proposer,
  deps: EncapsulationDeps,
): Promise<ExposeOutcome> {
  const analysis = await latestAnalysis(tenant, deps.store);
  const module = moduleOf(analysis, input.module);
  if (!module) throw new NotFoundError(`The latest analysis (${analysis.analysisId}) has no module '${input.module}'`);
  const artifact = input.artifact ?? interfaceArtifact(module.name);
  const current = await deps.store.exposure(tenant, artifact);
  if (current && (current.exposure.status === 'pending' || current.exposure.status === 'tag-failed'))
    return settle(tenant, current.exposure, current.rev, proposer.id, deps);
  if (module.entryPoints.length === 0)
    throw new ValidationError([
      { path: 'body.parameters.module', message: `module ${module.id} (${module.name}) has no entry point to expose` },
    ]);
  const hash = sha256Hex(canonicalJson(module.interfaceSchema));
  const head = await deps.versioning.store.head(tenant, artifact);
  if (head) {
    if (head.kind !== 'schema')
      throw new ValidationError([{ path: 'body.parameters.artifact', message: `${artifact} is a ${head.kind} artifact` }]);
    const latest = await deps.versioning.store.version(tenant, artifact, head.latest);
    if (latest?.hash === hash)
      throw new ConflictError(`The interface of ${module.name} equals version ${latest.version} of ${artifact}: nothing to expose`);
  }
  const proposalId = deps.newId();
  const pending: Exposure = {
    status: 'pending',
    analysisId: analysis.analysisId,
    module: module.id,
    name: module.name,
    artifact,
    hash,
    environment: input.environment,
    proposal: { proposalId, status: 'pending' },
    proposedAt: deps.now().toISOString(),
    proposedBy: proposer.id.slice(0, 256),
  };
  // Saved first: the artifact's exposure names the proposal before it exists, so none is left unowned.
  const rev = await save(tenant, pending, current?.rev, [], deps);
  try {
    await deps.propose(
      {
        engine: 'encapsulation',
        action: 'expose-interface',
        target: artifact,
        environment: input.environment,
        parameters: { module: module.id, operations: module.entryPoints.length, hash },
        reason: (
          input.reason ??
          `Expose the interface of ${module.name} (${module.entryPoints.length} entry point(s), reusability ${module.reusability.score})`
        ).slice(0, 2000),
        evidence: {
          analysisId: analysis.analysisId,
          members: module.members.slice(0, 50),
          reusability: module.reusability,
          entryPoints: module.entryPoints.slice(0, 50),
        },
      },
      proposer,
      proposalId,
    );
  } catch (error) {
    // Refused by policy or a kill switch: governance stored the proposal refused; so is the exposure.
    if (error instanceof ForbiddenError || error instanceof LockedError) {
      await reject(tenant, { ...pending, proposal: { proposalId, status: 'refused' } }, rev, [error.message], proposer.id, deps);
    }
    throw error;
  }
  return settle(tenant, pending, rev, proposer.id, deps);
}
