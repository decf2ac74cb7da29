/**
 * Proposal evaluation in process, with real Cedar: p50/p95/p99 over 5,000 proposals of
 *  1. `assessRisk` alone (the six factors, the route),
 *  2. `PolicyEngine.evaluateActuation` alone (the stage's engine from `policyEngine()`, its schema
 *     generated from the actuation catalog and every API route; the policy set compiled once per
 *     tenant, as a warm container has it),
 *  3. `propose()` whole, on in-memory ports: settings, global kill switch, component graph and
 *     outcome history read, risk, Cedar, the proposal written with its event (records JSON
 *     round-tripped as the DynamoDB adapter marshals them, writes conditional on the version), the
 *     event checked against the catalog by the publisher every function uses, a gate "started".
 * What is not in process (DynamoDB, the bus, the ledger append, Step Functions) is not timed here;
 * bench/governance-killswitch.ts and bench/governance-approvals.ts time the path on the local cloud.
 *
 * The policy set is a tenant's realistic document: the base profile, a team layer of 40 policies
 * (forbids on engines, targets, principals, risk, blast radius; permits for agents and API keys,
 * most with `when`/`unless`), and prod and staging layers. Eight tenants hold their own copy (a
 * frozen-target list of their own), so eight sets are compiled and the LRU serves them all.
 * Proposals mix 20 actuations, four environments, users, API keys, engines and agents, targets
 * with 0-30 transitive dependents and some with a failure history; some are refused by a forbid.
 *
 * Figures are printed against the seed's decision target (< 5 s) and the issue's aim (< 5 ms).
 * Run alone: `node bench/governance-proposals.ts [--proposals 5000]`.
 */
import './quiet-powertools.ts';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { policyEngine } from '../lib/adapters/aws/governance-deps.ts';
import { ConflictError, ForbiddenError } from '../lib/errors.ts';
import { validatingPublisher } from '../lib/events/publisher.ts';
import { actuations, findActuation } from '../lib/governance/actuations.ts';
import { type AutonomyLevel, type Environment, type ProposalInput, proposalInputSchema } from '../lib/governance/model.ts';
import { validatePolicies } from '../lib/governance/policy.ts';
import { type PolicyLayers, policyLayersSchema } from '../lib/governance/profiles.ts';
import {
  type ComponentGraph,
  type GovernanceStore,
  OUTCOME_HISTORY,
  type OutboxEntry,
  type OutboxPort,
  outcomeKey,
  type PolicyPort,
  type Proposal,
  type Proposer,
  policyRequestOf,
  propose,
} from '../lib/governance/proposals.ts';
import { assessRisk, transitiveDependents } from '../lib/governance/risk.ts';
import { defaultSettings, type TenantSettings } from '../lib/governance/settings.ts';

/** The seed's decision target. */
const DECISION_TARGET_MS = 5_000;
/** The issue's aim for an in-process evaluation. */
const AIM_MS = 5;
const TENANTS = 8;
const WARM_UP = 500;

/** The team layer: 40 policies, as a platform team writes them; `frozen` names this tenant's frozen targets. */
function teamLayer(frozen: readonly string[]): string {
  const handWritten = `
@id("no-terminate-protected")
forbid (principal, action == Autonomy::Action::"closure:terminate", resource)
when { resource.tags.contains("protected") };

@id("restructure-admins-only")
forbid (principal, action in [Autonomy::Action::"evolution:restructure", Autonomy::Action::"encapsulation:restructure"], resource)
unless { principal.roles.contains("admin") };

@id("blast-radius-cap")
forbid (principal, action in Autonomy::Action::"actuation", resource)
when { context.blastRadius > 25 };

@id("risk-ceiling")
forbid (principal, action in Autonomy::Action::"actuation", resource)
when { context.riskScore >= 950 };

@id("legal-hold")
forbid (principal, action in [Autonomy::Action::"compression:delete-context", Autonomy::Action::"compression:compress"], resource)
when { resource.tags.contains("legal-hold") };

@id("agents-no-high-risk")
forbid (principal is Autonomy::Agent, action in Autonomy::Action::"actuation", resource)
when { context.riskLevel == "high" };

@id("api-keys-reversible-in-prod")
forbid (principal is Autonomy::ApiKey, action in Autonomy::Action::"actuation", resource)
when { context.environment == "prod" && !context.reversible };

@id("no-quarantine-tier0")
forbid (principal, action == Autonomy::Action::"reflex:quarantine", resource)
when { resource.tags.contains("tier-0") };

@id("ledger-db-stays")
forbid (principal, action == Autonomy::Action::"migration:migrate", resource == Autonomy::Target::"db/ledger");

@id("fixed-capacity")
forbid (principal, action in [Autonomy::Action::"replication:scale", Autonomy::Action::"reflex:scale-out"], resource)
when { resource.tags.contains("fixed-capacity") };

@id("playbooks-by-people-or-reflex")
forbid (principal, action == Autonomy::Action::"execution:run-playbook", resource)
unless { principal is Autonomy::User || (principal is Autonomy::Engine && principal.roles.contains("reflex")) };

@id("promotion-engine-only-in-prod")
forbid (principal, action == Autonomy::Action::"promotion:promote", resource)
when { context.environment == "prod" && !(principal is Autonomy::Engine) && !principal.roles.contains("admin") };

@id("no-expose-at-level-4")
forbid (principal, action == Autonomy::Action::"encapsulation:expose-interface", resource)
when { context.autonomyLevel >= 4 && context.environment == "prod" };

@id("wide-irreversible")
forbid (principal, action in Autonomy::Action::"actuation", resource)
when { !context.reversible && context.blastRadius >= 10 };

@id("capsules-tune-only")
forbid (principal is Autonomy::Capsule, action in Autonomy::Action::"actuation", resource)
unless { action == Autonomy::Action::"evolution:tune" };

@id("archive-not-prod-db")
forbid (principal, action == Autonomy::Action::"closure:archive", resource)
when { context.environment == "prod" && resource.tags.contains("database") };

@id("agents-restart")
permit (principal is Autonomy::Agent, action in [Autonomy::Action::"reflex:restart", Autonomy::Action::"reflex:throttle"], resource is Autonomy::Target)
when { principal.tenant == resource.tenant && principal.roles.contains("runner") && context.riskScore < 400 };

@id("agents-compress")
permit (principal is Autonomy::Agent, action == Autonomy::Action::"compression:compress", resource is Autonomy::Target)
when { principal.tenant == resource.tenant && context.environment != "prod" };

@id("ci-keys-promote")
permit (principal is Autonomy::ApiKey, action in [Autonomy::Action::"versioning:publish", Autonomy::Action::"promotion:promote"], resource is Autonomy::Target)
when { principal.tenant == resource.tenant && principal.roles.contains("ci") };

@id("capsules-tune")
permit (principal is Autonomy::Capsule, action == Autonomy::Action::"evolution:tune", resource is Autonomy::Target)
when { principal.tenant == resource.tenant && context.riskLevel == "low" };

@id("observation-for-viewers")
permit (principal, action == Autonomy::Action::"observation:configure", resource is Autonomy::Target)
when { principal.tenant == resource.tenant && principal.roles.contains("viewer") };

@id("no-delete-context-outside-dev")
forbid (principal, action == Autonomy::Action::"compression:delete-context", resource)
when { context.environment != "dev" && !principal.roles.contains("admin") };

@id("failover-not-at-level-1")
forbid (principal is Autonomy::Engine, action == Autonomy::Action::"reflex:fail-over", resource)
when { context.autonomyLevel == 1 };

@id("prod-throttle-below-medium-risk")
forbid (principal, action == Autonomy::Action::"reflex:throttle", resource)
when { context.environment == "prod" && context.riskScore >= 600 };

@id("migration-low-blast")
forbid (principal, action == Autonomy::Action::"migration:migrate", resource)
when { context.blastRadius > 12 && context.environment == "prod" };
`;
  const generated = frozen.map(
    (target, index) => `
@id("frozen-${index}")
forbid (principal, action in Autonomy::Action::"actuation", resource == Autonomy::Target::"${target}")
unless { action == Autonomy::Action::"observation:configure" };`,
  );
  return `${handWritten}${generated.join('\n')}\n`;
}

const ENVIRONMENT_LAYERS = {
  prod: `
@id("prod-no-high-risk-from-engines")
forbid (principal is Autonomy::Engine, action in Autonomy::Action::"actuation", resource)
when { context.riskScore >= 850 };

@id("prod-terminate-people-only")
forbid (principal, action == Autonomy::Action::"closure:terminate", resource)
unless { principal is Autonomy::User };

@id("prod-no-agents-irreversible")
forbid (principal is Autonomy::Agent, action in Autonomy::Action::"actuation", resource)
when { !context.reversible };

@id("prod-scale-cap")
forbid (principal, action == Autonomy::Action::"replication:scale", resource)
when { context.blastRadius > 20 };
`,
  staging: `
@id("staging-no-restructure")
forbid (principal, action in [Autonomy::Action::"evolution:restructure", Autonomy::Action::"encapsulation:restructure"], resource);

@id("staging-tagged-frozen")
forbid (principal, action in Autonomy::Action::"actuation", resource)
when { resource.tags.contains("frozen") };
`,
};

const tenantName = (t: number) => `bench-${t}`;

/** A tenant's document (15 frozen targets of its own), validated strictly like `PUT /governance/policies`. */
function documentOf(tenant: number): PolicyLayers {
  const frozen = Array.from({ length: 15 }, (_, i) => `endpoint/frozen-${tenant}-${i}`);
  return policyLayersSchema.parse({ team: teamLayer(frozen), environments: ENVIRONMENT_LAYERS });
}

/** A component graph of 60 components: a few shared databases and queues at the bottom, services and endpoints above. */
function componentGraph(): { id: string; dependsOn: string[] }[] {
  const graph: { id: string; dependsOn: string[] }[] = [];
  for (let i = 0; i < 6; i += 1) graph.push({ id: `db/store-${i}`, dependsOn: [] });
  for (let i = 0; i < 24; i += 1)
    graph.push({ id: `service/svc-${i}`, dependsOn: [`db/store-${i % 6}`, ...(i >= 6 ? [`service/svc-${i - 6}`] : [])] });
  for (let i = 0; i < 30; i += 1) graph.push({ id: `endpoint/ep-${i}`, dependsOn: [`service/svc-${i % 24}`] });
  return graph;
}

/** A deterministic generator (mulberry32), so every run proposes the same mix. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const PARAMETERS: Record<string, Record<string, unknown>> = {
  'reflex:scale-out': { replicas: 6 },
  'reflex:throttle': { concurrency: 50 },
  'evolution:tune': { batchSize: 32, trafficShare: 0.1 },
  'versioning:publish': { bump: 'minor' },
  'promotion:promote': { weight: 10 },
  'replication:scale': { replicas: 8 },
  'compression:compress': { budgetTokens: 32_000 },
};

/** How often each actuation is proposed (Reflex's repairs most, structural changes rarely); the rest of the catalog weighs 1. */
const ACTUATION_WEIGHTS: Record<string, number> = {
  'reflex:restart': 14,
  'reflex:scale-out': 8,
  'reflex:roll-back': 6,
  'reflex:fail-over': 4,
  'reflex:throttle': 5,
  'reflex:quarantine': 3,
  'replication:scale': 10,
  'evolution:tune': 8,
  'promotion:promote': 8,
  'versioning:publish': 6,
  'compression:compress': 6,
  'execution:run-playbook': 4,
  'closure:archive': 4,
  'closure:terminate': 4,
  'migration:migrate': 3,
  'observation:configure': 3,
};

/** Who proposes, and how often: engines' service principals and operators most. */
const PRINCIPAL_WEIGHTS: [Omit<Proposer, 'tenant'>, number][] = [
  [{ kind: 'engine', id: 'engine:reflex', roles: ['operator', 'reflex'] }, 35],
  [{ kind: 'user', id: 'alice', roles: ['operator'] }, 30],
  [{ kind: 'api-key', id: 'key-ci', roles: ['operator', 'ci'] }, 12],
  [{ kind: 'engine', id: 'engine:promotion', roles: ['operator'] }, 10],
  [{ kind: 'agent', id: 'agent-7', roles: ['runner'] }, 8],
  [{ kind: 'user', id: 'root', roles: ['admin'] }, 5],
];

/** The proposals of the run, each with its proposer (the same mix every run). */
function proposalMix(count: number): { input: ProposalInput; proposer: Proposer }[] {
  const next = random(9);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const weighted = <T>(items: readonly (readonly [T, number])[]): T => {
    let roll = next() * items.reduce((sum, [, weight]) => sum + weight, 0);
    for (const [item, weight] of items) {
      roll -= weight;
      if (roll < 0) return item;
    }
    return (items.at(-1) as readonly [T, number])[0];
  };
  const catalog = actuations.map((entry) => [entry, ACTUATION_WEIGHTS[`${entry.engine}:${entry.action}`] ?? 1] as const);
  const graph = componentGraph();
  const environments: Environment[] = ['dev', 'test', 'staging', 'prod', 'prod', 'staging'];
  return Array.from({ length: count }, (_, n) => {
    const actuation = weighted(catalog);
    const tenant = n % TENANTS;
    // Most targets are components of the graph; a few are frozen, a few are the ledger database.
    const roll = next();
    const target = roll < 0.05 ? `endpoint/frozen-${tenant}-${Math.floor(next() * 15)}` : roll < 0.06 ? 'db/ledger' : pick(graph).id;
    const input = proposalInputSchema.parse({
      engine: actuation.engine,
      action: actuation.action,
      target,
      environment: pick(environments),
      parameters: { ...PARAMETERS[`${actuation.engine}:${actuation.action}`], ...(next() < 0.05 ? { critical: true } : {}) },
      reason: 'p95 latency above the SLO for 10 minutes',
      evidence: { series: `${target}.latency`, window: '10m' },
    });
    return { input, proposer: { ...weighted(PRINCIPAL_WEIGHTS), tenant: tenantName(tenant) } };
  });
}

/** Settings, proposals and outcomes in maps; records JSON round-tripped, writes conditional on the version. */
class MemoryGovernanceStore implements GovernanceStore {
  readonly #settings = new Map<string, string>();
  readonly #proposals = new Map<string, string>();
  readonly #outcomes = new Map<string, ('executed' | 'failed')[]>();
  #outboxed = 0;

  /** Outbox entries written with the state (what the DynamoDB adapter writes in the same transaction). */
  get outboxed(): number {
    return this.#outboxed;
  }

  async settings(tenant: string): Promise<TenantSettings> {
    const stored = this.#settings.get(tenant);
    return stored ? (JSON.parse(stored) as TenantSettings) : defaultSettings(tenant);
  }

  async putSettings(next: TenantSettings, expectedVersion: number, events: OutboxEntry['event'][]): Promise<OutboxEntry[]> {
    const current = await this.settings(next.tenant);
    if (current.version !== expectedVersion) throw new ConflictError(`The governance settings of ${next.tenant} were changed concurrently`);
    this.#settings.set(next.tenant, JSON.stringify(next));
    return this.#entries(next.tenant, events);
  }

  async globalKillSwitch() {
    return (await this.settings('system')).killSwitch;
  }

  async proposal(tenant: string, proposalId: string): Promise<Proposal | undefined> {
    const stored = this.#proposals.get(`${tenant}#${proposalId}`);
    return stored ? (JSON.parse(stored) as Proposal) : undefined;
  }

  async putProposal(next: Proposal, expectedVersion: number | undefined, events: OutboxEntry['event'][]): Promise<OutboxEntry[]> {
    const key = `${next.tenant}#${next.proposalId}`;
    const current = this.#proposals.get(key);
    const version = current === undefined ? undefined : (JSON.parse(current) as Proposal).version;
    if (version !== expectedVersion) throw new ConflictError(`Proposal ${next.proposalId} was changed concurrently`);
    this.#proposals.set(key, JSON.stringify(next));
    return this.#entries(next.tenant, events);
  }

  async proposals(): Promise<Proposal[]> {
    throw new Error('not read by propose()');
  }

  async outcomes(tenant: string, key: string): Promise<('executed' | 'failed')[]> {
    return (this.#outcomes.get(`${tenant}#${key}`) ?? []).slice(0, OUTCOME_HISTORY);
  }

  async addOutcome(tenant: string, key: string, outcome: 'executed' | 'failed'): Promise<void> {
    this.#outcomes.set(`${tenant}#${key}`, [outcome, ...(this.#outcomes.get(`${tenant}#${key}`) ?? [])].slice(0, OUTCOME_HISTORY));
  }

  #entries(tenant: string, events: OutboxEntry['event'][]): OutboxEntry[] {
    this.#outboxed += events.length;
    // The entry as the outbox item stores it (JSON), read back for delivery.
    return events.map((event, index) => {
      const { time, ...rest } = event;
      return {
        tenant,
        id: `${randomUUID()}#${index}`,
        event: { ...(JSON.parse(JSON.stringify(rest)) as typeof rest), ...(time ? { time } : {}) },
      };
    });
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/** Wall-clock samples (sorted, ms) and the CPU time this process spent per item (ms, mean). */
interface Timing {
  sorted: number[];
  cpuMs: number;
}

/**
 * Times `run` once per item after a warm-up over the first items (then `warmedUp` is called). The
 * CPU time per item is what the process used (user + system) over the timed pass: on a shared
 * machine the wall-clock tail carries time slices given to other processes, the CPU time does not.
 */
async function timeEach<T>(
  items: readonly T[],
  run: (item: T) => Promise<unknown> | unknown,
  warmedUp: () => void = () => {},
): Promise<Timing> {
  for (const item of items.slice(0, WARM_UP)) await run(item);
  warmedUp();
  const samples: number[] = new Array(items.length);
  const cpu = process.cpuUsage();
  for (const [index, item] of items.entries()) {
    const started = process.hrtime.bigint();
    await run(item);
    samples[index] = Number(process.hrtime.bigint() - started) / 1e6;
  }
  const used = process.cpuUsage(cpu);
  return { sorted: samples.sort((a, b) => a - b), cpuMs: (used.user + used.system) / 1000 / items.length };
}

const ratio = (value: number, of: number) => {
  const r = value / of;
  return r >= 0.1 ? `${r.toFixed(2)}×` : r >= 0.001 ? `${r.toFixed(4)}×` : `${r.toExponential(1)}×`;
};

function row(name: string, { sorted, cpuMs }: Timing): string {
  const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(sorted, p)) as [number, number, number];
  return `| ${name} | ${p50.toFixed(3)} | ${p95.toFixed(3)} | ${p99.toFixed(3)} | ${(sorted.at(-1) ?? 0).toFixed(2)} | ${cpuMs.toFixed(3)} | ${ratio(p95, AIM_MS)} | ${ratio(p99, AIM_MS)} | ${ratio(p99, DECISION_TARGET_MS)} |`;
}

/** Runs the bench and prints its table; returns the p95 of `propose()` in ms. */
export async function benchGovernanceProposals(count = 5_000): Promise<number> {
  const loadBefore = os
    .loadavg()
    .map((load) => load.toFixed(1))
    .join(' ');
  const engine = policyEngine();
  const layers = Array.from({ length: TENANTS }, (_, t) => documentOf(t));
  const validation = validatePolicies(layers[0], engine.schema);
  if (!validation.ok) throw new Error(`the bench's policy document does not validate: ${JSON.stringify(validation.errors)}`);
  const teamCount = validation.policyIds.filter((id) => id.startsWith('team/')).length;
  const envCount = validation.policyIds.filter((id) => id.startsWith('env/')).length;

  const graph = componentGraph();
  const store = new MemoryGovernanceStore();
  const autonomyLevels: AutonomyLevel[] = [2, 2, 3, 3, 4, 1, 2, 3];
  for (let t = 0; t < TENANTS; t += 1) {
    const tenant = tenantName(t);
    const current = await store.settings(tenant);
    await store.putSettings({ ...current, autonomyLevel: autonomyLevels[t] ?? 2, policyVersion: 1, version: 1 }, 0, []);
  }
  const mix = proposalMix(count);
  // A failure history for a third of what is proposed (the failure-rate factor reads it).
  for (const { input, proposer } of mix.filter((_, n) => n % 3 === 0))
    await store.addOutcome(
      proposer.tenant,
      outcomeKey(input.engine, input.action, input.target),
      input.target.length % 4 === 0 ? 'failed' : 'executed',
    );

  const documents = new Map(layers.map((document, t) => [tenantName(t), document]));
  const policy: PolicyPort = {
    evaluateActuation: async (tenant, version, request) => engine.evaluateActuation(documents.get(tenant), version, request),
  };
  const components: ComponentGraph = { dependents: async (_tenant, target) => transitiveDependents(graph, target) };
  const publisher = validatingPublisher({ putEvents: async (entries) => entries.map((_, i) => ({ eventId: String(i) })) });
  let ledgerSeq = 0;
  const outbox: OutboxPort = {
    deliver: (entries) => publisher.publish(entries.map((entry) => entry.event)),
    record: async (entry) => ({ tenant: entry.tenant, stream: 'governance', seq: ledgerSeq++ }),
  };
  let gates = 0;
  const deps = {
    store,
    policy,
    components,
    gate: { start: async (name: string) => `arn:aws:states:local:000000000000:execution:gate:${name}#${gates++}` },
    outbox,
    newId: randomUUID,
  };

  // The first evaluation of each tenant's set compiles it (Cedar parses and preparses the document).
  const compile: number[] = [];
  for (const { input, proposer } of mix.slice(0, TENANTS)) {
    const actuation = findActuation(input.engine, input.action);
    if (!actuation) throw new Error(`${input.engine}:${input.action} is not in the catalog`);
    const assessment = assessRisk({
      actuation,
      environment: input.environment,
      parameters: input.parameters,
      dependents: 0,
      autonomyLevel: 2,
    });
    const started = performance.now();
    engine.evaluateActuation(documents.get(proposer.tenant), 1, policyRequestOf(input, proposer, actuation, assessment, 0));
    compile.push(performance.now() - started);
  }

  // What Cedar is asked, built once so its timing is Cedar's alone.
  const prepared = await Promise.all(
    mix.map(async ({ input, proposer }) => {
      const actuation = findActuation(input.engine, input.action);
      if (!actuation) throw new Error(`${input.engine}:${input.action} is not in the catalog`);
      const dependents = (await components.dependents(proposer.tenant, input.target)).length;
      const history = await store.outcomes(proposer.tenant, outcomeKey(input.engine, input.action, input.target));
      const risk = {
        actuation,
        environment: input.environment,
        parameters: input.parameters,
        dependents,
        recentFailureRate: history.length === 0 ? undefined : history.filter((outcome) => outcome === 'failed').length / history.length,
        autonomyLevel: (await store.settings(proposer.tenant)).autonomyLevel,
      };
      return { input, proposer, actuation, risk, request: policyRequestOf(input, proposer, actuation, assessRisk(risk), dependents) };
    }),
  );

  // Who refuses, in the mix (untimed).
  const refusers = new Map<string, number>();
  for (const item of prepared) {
    const decision = engine.evaluateActuation(documents.get(item.proposer.tenant), 1, item.request);
    if (decision.decision === 'allow') continue;
    for (const id of decision.policies.length > 0 ? decision.policies : ['(no permit)']) {
      const name = id.replace(/frozen-\d+$/, 'frozen-*');
      refusers.set(name, (refusers.get(name) ?? 0) + 1);
    }
  }

  const risk = await timeEach(prepared, (item) => assessRisk(item.risk));
  const cedar = await timeEach(prepared, (item) => engine.evaluateActuation(documents.get(item.proposer.tenant), 1, item.request));
  const outcomes = { approved: 0, pending: 0, refused: 0 };
  const routes: Record<string, number> = {};
  const whole = await timeEach(
    mix,
    async ({ input, proposer }) => {
      try {
        const { proposal } = await propose(input, proposer, { ...deps, now: new Date() });
        outcomes[proposal.status === 'approved' ? 'approved' : 'pending'] += 1;
        routes[proposal.route] = (routes[proposal.route] ?? 0) + 1;
      } catch (error) {
        if (!(error instanceof ForbiddenError)) throw error;
        outcomes.refused += 1;
      }
    },
    // Only the timed pass is counted.
    () => {
      Object.assign(outcomes, { approved: 0, pending: 0, refused: 0 });
      for (const name of Object.keys(routes)) delete routes[name];
    },
  );

  const actions = Object.keys(engine.schema.Autonomy?.actions ?? {}).length;
  console.log(
    `# Governance: proposal evaluation in process (${count.toLocaleString('en-US')} proposals, ${WARM_UP} warm-up; real Cedar, schema of ${actions} actions; one core)\n`,
  );
  console.log(
    `Policy set per tenant: base 3 + team ${teamCount} + prod/staging ${envCount} policies (${TENANTS} tenants, each its own document). ` +
      `Mix: ${outcomes.approved} approved autonomously, ${outcomes.pending} sent to a gate, ${outcomes.refused} refused by Cedar (403); ` +
      `routes ${Object.entries(routes)
        .map(([name, n]) => `${name} ${n}`)
        .join(', ')}.`,
  );
  console.log(
    `Refused by: ${[...refusers]
      .sort((a, b) => b[1] - a[1])
      .map(([id, n]) => `${id} ${n}`)
      .join(', ')}.`,
  );
  console.log(
    `First evaluation of a tenant's set (compile): median ${percentile(
      [...compile].sort((a, b) => a - b),
      50,
    ).toFixed(1)} ms, max ${Math.max(...compile).toFixed(1)} ms.\n`,
  );
  console.log('| step | p50 ms | p95 ms | p99 ms | max ms | CPU ms (mean) | p95 ÷ aim 5 ms | p99 ÷ aim 5 ms | p99 ÷ target 5 s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  console.log(row('assessRisk', risk));
  console.log(row('PolicyEngine.evaluateActuation (Cedar)', cedar));
  console.log(row('propose() on in-memory ports', whole));
  if (store.outboxed === 0) throw new Error('propose() wrote no outbox entry: the bench measured nothing');
  console.log(
    `\nload average ${os
      .loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')} on ${os.cpus().length} cores (before the run: ${loadBefore})`,
  );
  return percentile(whole.sorted, 95);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { proposals: { type: 'string', default: '5000' } } });
  const count = Number(values.proposals);
  if (!Number.isInteger(count) || count < 1 || count > 1_000_000)
    throw new Error(`--proposals must be an integer 1..1,000,000 (got ${values.proposals})`);
  await benchGovernanceProposals(count);
}
