/**
 * The Evolution engine's operations on its ports: a service's configuration (`PUT /evolution/config`),
 * observations added to its arms' statistics, decisions (the pure {@link decide} of
 * lib/evolution/bandit.ts, proposed to governance in process as `engine:evolution`, saved with an
 * `evolution.decision.made` event recorded in the tenant's ledger) and the status.
 *
 * A decision's id and its proposal's id are digests of (tenant, service, seq), so a retried decide
 * cannot propose twice; two decides racing for the same seq: one saves, the other gets a 409.
 */
import { createHash } from 'node:crypto';
import type { LedgerLocation } from '../api/route.ts';
import { ConflictError, type FieldIssue, ForbiddenError, LockedError, NotFoundError, ValidationError } from '../errors.ts';
import { busEvent } from '../events/publisher.ts';
import { checkBounds, findActuation } from '../governance/actuations.ts';
import { type Proposal, type Proposer, propose } from '../governance/proposals.ts';
import { armSummaries, DEFAULT_DRAWS, decide, thompsonSplit } from './bandit.ts';
import type { EvolutionDeps } from './ports.ts';
import { addTo, emptyStats } from './posteriors.ts';
import type { ArmStats, ArmSummary, Candidate, Decision, Observation, Regret, ServiceConfig, StoredService } from './schemas.ts';

/** Evolution's service principal: what governance and Cedar see as the proposer. */
export function evolutionProposer(tenant: string): Proposer {
  return { kind: 'engine', id: 'engine:evolution', tenant, roles: [] };
}

/** A UUID-shaped digest of (kind, tenant, service, seq). */
export function evolutionIdOf(kind: 'decision' | 'proposal', tenant: string, service: string, seq: number): string {
  const hex = createHash('sha256').update(`evolution\u0000${kind}\u0000${tenant}\u0000${service}\u0000${seq}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((Number.parseInt(hex.slice(16, 17), 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Saves a service's configuration. Each arm's parameters must hold the `evolution:tune` actuation's
 * declared bounds, and an arm id already declared keeps its parameters (its statistics describe them).
 * @throws ValidationError naming `arms.<i>.parameters.<name>` or `arms.<i>.id`; ConflictError after 5 lost races.
 */
export async function putServiceConfig(
  tenant: string,
  config: ServiceConfig,
  actor: string,
  deps: Pick<EvolutionDeps, 'store' | 'now'>,
): Promise<StoredService> {
  const tune = findActuation('evolution', 'tune');
  const issues: FieldIssue[] = config.arms.flatMap((arm, index) =>
    checkBounds(tune ?? {}, arm.parameters).map((issue) => ({ path: `arms.${index}.${issue.path}`, message: issue.message })),
  );
  if (issues.length > 0) throw new ValidationError(issues);
  for (let attempt = 1; ; attempt += 1) {
    const current = await deps.store.service(tenant, config.service);
    const before = new Map(current?.config.arms.map((arm) => [arm.id, arm]));
    const changed: FieldIssue[] = [];
    config.arms.forEach((arm, index) => {
      const old = before.get(arm.id);
      if (old && canonical(old.parameters) !== canonical(arm.parameters))
        changed.push({
          path: `arms.${index}.id`,
          message: `arm ${arm.id} was declared with other parameters; a new configuration needs a new id`,
        });
    });
    if (changed.length > 0) throw new ValidationError(changed);
    const next: StoredService = {
      tenant,
      config,
      version: (current?.version ?? 0) + 1,
      updatedAt: deps.now().toISOString(),
      updatedBy: actor,
    };
    try {
      await deps.store.putService(next, current?.version);
      return next;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 5) throw error;
    }
  }
}

const canonical = (value: Record<string, unknown>) =>
  JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

async function serviceOf(tenant: string, service: string, deps: Pick<EvolutionDeps, 'store'>): Promise<StoredService> {
  const stored = await deps.store.service(tenant, service);
  if (!stored) throw new NotFoundError(`Service ${service} has no Evolution configuration (PUT /evolution/config first)`);
  return stored;
}

/**
 * Adds observations to their arms' statistics (one atomic update for the whole request).
 * @throws NotFoundError when the service has no configuration; ValidationError naming
 *   `observations.<i>.arm` when an arm is not declared (nothing is added then).
 */
export async function recordObservations(
  tenant: string,
  input: { service: string; observations: readonly Observation[] },
  deps: Pick<EvolutionDeps, 'store'>,
): Promise<{ accepted: number; arms: Record<string, number> }> {
  const stored = await serviceOf(tenant, input.service, deps);
  const declared = new Set(stored.config.arms.map((arm) => arm.id));
  const issues = input.observations.flatMap((o, index) =>
    declared.has(o.arm) ? [] : [{ path: `observations.${index}.arm`, message: `${o.arm} is not a declared arm of ${input.service}` }],
  );
  if (issues.length > 0) throw new ValidationError(issues.slice(0, 20));
  const byArm = new Map<string, Observation[]>();
  for (const o of input.observations) byArm.set(o.arm, [...(byArm.get(o.arm) ?? []), o]);
  const increments: Record<string, ArmStats> = Object.fromEntries([...byArm].map(([arm, list]) => [arm, addTo(emptyStats(), list)]));
  await deps.store.addStats(tenant, input.service, increments);
  return { accepted: input.observations.length, arms: Object.fromEntries([...byArm].map(([arm, list]) => [arm, list.length])) };
}

/** What a decide call returns: the decision, the proposal it became, and where it was recorded. */
export interface DecisionOutcome {
  decision: Decision;
  proposal?: Proposal;
  ledger?: LedgerLocation;
}

/**
 * Decides for one service: the bounded Thompson split from the arms' posteriors; a change becomes a
 * governance proposal (`evolution:tune` within the declared set, `evolution:restructure` for people);
 * the decision with its posterior summaries is saved and recorded in the ledger (`evolution.decision.made`).
 * @throws NotFoundError when the service has no configuration; ConflictError when another decision was saved meanwhile.
 */
export async function makeDecision(
  tenant: string,
  input: { service: string; draws?: number; candidate?: Candidate },
  deps: EvolutionDeps,
): Promise<DecisionOutcome> {
  const stored = await serviceOf(tenant, input.service, deps);
  const [stats, latest] = await Promise.all([deps.store.stats(tenant, input.service), deps.store.latestDecision(tenant, input.service)]);
  const seq = (latest?.seq ?? 0) + 1;
  const decisionId = evolutionIdOf('decision', tenant, input.service, seq);
  const seed = `${tenant}/${input.service}/${seq}`;
  // The split last proposed: the latest decision's when it proposed one, else the one it compared with.
  const baseline = latest ? (latest.proposalId ? latest.split : latest.baseline) : { [stored.config.current]: 1 };
  const started = performance.now();
  const outcome = decide({
    tenant,
    config: stored.config,
    stats,
    seed,
    decisionId,
    ...(input.draws ? { draws: input.draws } : {}),
    lastSplit: baseline,
    ...(input.candidate ? { candidate: input.candidate } : {}),
  });
  const decisionMs = Math.round((performance.now() - started) * 1000) / 1000;
  const now = deps.now();

  let proposal: Proposal | undefined;
  let refused: string | undefined;
  if (outcome.proposal) {
    const proposalId = evolutionIdOf('proposal', tenant, input.service, seq);
    try {
      proposal = (await propose(outcome.proposal, evolutionProposer(tenant), { ...deps.governance, now, newId: () => proposalId }))
        .proposal;
    } catch (error) {
      if (error instanceof LockedError || error instanceof ForbiddenError) refused = error.message.slice(0, 1000);
      else if (error instanceof ConflictError) {
        // A retried decide: this seq was proposed already.
        proposal = await deps.governance.store.proposal(tenant, proposalId);
        if (!proposal) throw error;
      } else throw error;
    }
  }
  const decision: Decision = {
    tenant,
    service: input.service,
    decisionId,
    seq,
    configVersion: stored.version,
    seed,
    draws: input.draws ?? DEFAULT_DRAWS,
    primary: outcome.primary,
    current: stored.config.current,
    split: outcome.split,
    baseline,
    arms: outcome.arms,
    regret: outcome.regret,
    change: outcome.change,
    reasons: [...outcome.reasons, ...(refused ? [`refused by governance: ${refused}`.slice(0, 500)] : [])].slice(0, 10),
    ...(proposal ? { proposalId: proposal.proposalId, route: proposal.route, proposalStatus: proposal.status } : {}),
    ...(refused ? { refused } : {}),
    decisionMs,
    decidedAt: now.toISOString(),
  };
  const { tenant: _tenant, ...detail } = decision;
  const entries = await deps.store.putDecision(decision, latest?.seq, [busEvent('evolution.decision.made', { tenant, ...detail })]);
  let ledger: LedgerLocation | undefined;
  for (const entry of entries) ledger = (await deps.outbox.record(entry)) ?? ledger;
  await deps.outbox.deliver(entries);
  return { decision, ...(proposal ? { proposal } : {}), ...(ledger ? { ledger } : {}) };
}

/** What `GET /evolution/status` shows. */
export interface EvolutionStatus {
  service: string;
  configVersion: number;
  current: string;
  autonomy: ServiceConfig['autonomy'];
  explorationShare: number;
  minObservations: number;
  /** The posteriors now, with P(best) and the split Thompson sampling would give now. */
  arms: ArmSummary[];
  /** The latest decision's split (the current one), or all traffic on the current arm before any. */
  split: Record<string, number>;
  regret: Regret;
  latestDecision?: Pick<
    Decision,
    'decisionId' | 'seq' | 'primary' | 'change' | 'proposalId' | 'proposalStatus' | 'decidedAt' | 'decisionMs'
  >;
}

/**
 * A service's arms with their posteriors now, the current split and the regret estimate (from
 * posterior draws seeded by the statistics' totals, so a status read twice is the same).
 * @throws NotFoundError when the service has no configuration.
 */
export async function serviceStatus(tenant: string, service: string, deps: Pick<EvolutionDeps, 'store'>): Promise<EvolutionStatus> {
  const stored = await serviceOf(tenant, service, deps);
  const [stats, latest] = await Promise.all([deps.store.stats(tenant, service), deps.store.latestDecision(tenant, service)]);
  const total = Object.values(stats).reduce((sum, s) => sum + s.count, 0);
  const outcome = thompsonSplit({ config: stored.config, stats, seed: `${tenant}/${service}/status/${stored.version}/${total}` });
  return {
    service,
    configVersion: stored.version,
    current: stored.config.current,
    autonomy: stored.config.autonomy,
    explorationShare: stored.config.explorationShare,
    minObservations: stored.config.minObservations,
    arms: armSummaries(stored.config, stats, outcome),
    split: latest?.split ?? { [stored.config.current]: 1 },
    regret: outcome.regret,
    ...(latest
      ? {
          latestDecision: {
            decisionId: latest.decisionId,
            seq: latest.seq,
            primary: latest.primary,
            change: latest.change,
            ...(latest.proposalId ? { proposalId: latest.proposalId } : {}),
            ...(latest.proposalStatus ? { proposalStatus: latest.proposalStatus } : {}),
            decidedAt: latest.decidedAt,
            decisionMs: latest.decisionMs,
          },
        }
      : {}),
  };
}
