/**
 * The Encapsulation engine's operations on its ports: {@link analyse} (the graph from the Reflex
 * registry and the ledger's correlated trace entries, or an explicit graph; cycles, modules, scores
 * and interfaces, stored as the tenant's latest analysis with `encapsulation.analysis.completed` in
 * the ledger), {@link latestAnalysis}, and {@link exposeInterface}: a module's interface goes through
 * governance (an `encapsulation:expose-interface` proposal, L3 validation at least) and is tagged as
 * a version of a schema artifact by the Versioning engine in process (its schema diff derives the
 * bump; a breaking version is proposed to people), then recorded with `encapsulation.interface.exposed`.
 */
import { canonicalJson, sha256Hex } from '../audit/digest.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import type { ProposalInput } from '../governance/model.ts';
import type { OutboxEntry, OutboxPort, ProposalOutcome, Proposer } from '../governance/proposals.ts';
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
  /** Saves an exposure record, with its events. */
  saveExposure(tenant: string, exposure: Exposure, events: BusEvent[]): Promise<OutboxEntry[]>;
}

/** What the engine reads and calls. */
export interface EncapsulationDeps {
  store: EncapsulationStore;
  /** The tenant's registered components (the Reflex registry). */
  components(tenant: string): Promise<{ id: string; kind: string; dependsOn: string[] }[]>;
  /** The newest `limit` entries of each stream, with their payloads (expired payloads left out). */
  traces(tenant: string, streams: readonly string[], limit: number): Promise<TraceEntry[]>;
  outbox: OutboxPort;
  /** Governance's proposal path (the proposer is the caller, proposerOf(principal)). */
  propose(input: ProposalInput, proposer: Proposer): Promise<ProposalOutcome>;
  /** The Versioning engine, in process. */
  versioning: VersioningDeps;
  now: () => Date;
  newId: () => string;
}

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
    const list = (golden[key] ??= []);
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

/**
 * Exposes a module's interface from the latest analysis (see the module comment). Every check comes
 * before the first write: the module, the artifact, and whether the interface differs from the
 * artifact's latest version.
 * @throws NotFoundError without an analysis or module; ConflictError when the interface equals the
 * latest version; ForbiddenError / LockedError from governance (nothing of the engine's written).
 */
export async function exposeInterface(tenant: string, input: ExposeInput, proposer: Proposer, deps: EncapsulationDeps): Promise<Exposure> {
  const analysis = await latestAnalysis(tenant, deps.store);
  const module = analysis.modules.find((m) => m.id === input.module) ?? analysis.modules.find((m) => m.name === input.module);
  if (!module) throw new NotFoundError(`The latest analysis (${analysis.analysisId}) has no module '${input.module}'`);
  if (module.entryPoints.length === 0)
    throw new ValidationError([
      { path: 'body.parameters.module', message: `module ${module.id} (${module.name}) has no entry point to expose` },
    ]);
  const artifact = input.artifact ?? interfaceArtifact(module.name);
  const body = module.interfaceSchema;
  const hash = sha256Hex(canonicalJson(body));
  const head = await deps.versioning.store.head(tenant, artifact);
  if (head) {
    if (head.kind !== 'schema')
      throw new ValidationError([{ path: 'body.parameters.artifact', message: `${artifact} is a ${head.kind} artifact` }]);
    const latest = await deps.versioning.store.version(tenant, artifact, head.latest);
    if (latest?.hash === hash)
      throw new ConflictError(`The interface of ${module.name} equals version ${latest.version} of ${artifact}: nothing to expose`);
  }
  const golden: unknown[] = [];
  for (const entry of module.entryPoints)
    for (const request of analysis.golden[entryPointKey(entry.component, entry.operation)] ?? [])
      if (golden.length < MAX_GOLDEN) golden.push({ [entryPointKey(entry.component, entry.operation)]: request });
  while (golden.length > 0 && JSON.stringify(golden).length > MAX_GOLDEN_BYTES) golden.pop();

  const { proposal } = await deps.propose(
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
  );
  const tagged = await tagVersion(
    tenant,
    {
      artifact,
      kind: 'schema',
      body,
      ...(golden.length > 0 ? { golden } : {}),
      note: `Interface of ${module.name}, analysis ${analysis.analysisId}, proposal ${proposal.proposalId}`.slice(0, 500),
    },
    proposer.id,
    deps.versioning,
  );
  const record = tagged.record;
  const exposure: Exposure = {
    analysisId: analysis.analysisId,
    module: module.id,
    name: module.name,
    artifact,
    version: record.version,
    bump: record.bump,
    breaking: record.breaking,
    hash: record.hash,
    proposal: { proposalId: proposal.proposalId, route: proposal.route, status: proposal.status },
    ...(record.approval ? { versionApproval: { proposalId: record.approval.proposalId, status: record.approval.status } } : {}),
    openapi: { ...module.openapi, info: { ...(module.openapi.info as Record<string, unknown>), version: record.version } },
    exposedAt: deps.now().toISOString(),
    exposedBy: proposer.id.slice(0, 256),
  };
  const event = busEvent('encapsulation.interface.exposed', {
    tenant,
    analysisId: exposure.analysisId,
    module: exposure.module,
    name: exposure.name,
    artifact,
    artifactVersion: exposure.version,
    bump: exposure.bump,
    breaking: exposure.breaking,
    hash: exposure.hash,
    proposalId: proposal.proposalId,
    route: proposal.route,
    proposalStatus: proposal.status,
    ...(exposure.versionApproval ? { versionApproval: exposure.versionApproval } : {}),
    exposedBy: exposure.exposedBy,
  });
  await deliver(deps.outbox, await deps.store.saveExposure(tenant, exposure, [event]));
  return exposure;
}
