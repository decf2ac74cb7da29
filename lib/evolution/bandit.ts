/**
 * The Evolution engine's decision, pure: Thompson sampling over a service's declared arms with a
 * tenant-composed reward, a traffic split bounded by governance, posterior summaries and a regret
 * estimate. Plain data in, plain data out; the same input and seed give the same decision.
 *
 * **Reward** of an arm, per request, from one draw of each posterior:
 *
 *   θ = w_success · p − w_latency · (μ_latency / latencyScale) − w_cost · (μ_cost / costScale)
 *
 * where p is the success rate (Beta draw) and μ the mean latency and cost (Normal–Gamma draws), in
 * units of the tenant's scales (lib/evolution/posteriors.ts). A metric with weight 0 is not drawn.
 *
 * **Split** (probability matching, Thompson's allocation): `draws` joint draws of every arm's θ;
 * an arm's share is the fraction of draws in which it had the highest θ (its P(best)). Then the
 * governance bounds, in order:
 * 1. only declared arms get traffic (a suggested configuration outside the set gets none);
 * 2. the primary (the arm given most traffic) is the tested arm — or the current arm — with the
 *    highest P(best): an untested arm (fewer than `minObservations`) is never primary;
 * 3. all untested arms together get at most `explorationShare` (the current arm is exempt: it
 *    serves the traffic already); what is cut goes to the tested arms in proportion to their shares
 *    (to the primary when they have none);
 * 4. the arms other than the primary together get at most the `evolution:tune` actuation's
 *    `trafficShare` bound (0.5, lib/governance/actuations.ts): cut in proportion, given to the primary;
 * 5. shares are rounded to 4 decimals, the rounding remainder to the primary.
 *
 * **Regret** from the same draws: E[max_a θ_a − Σ_a share_a·θ_a] for the split and
 * E[max_a θ_a − θ_primary] for the primary, in reward units per request.
 *
 * **Change**: moving the primary off the current arm, or a split more than `splitTolerance` (total
 * variation) from the last proposed one, is a `tune` (an `evolution:tune` proposal, parameters within
 * the declared set); a primary whose components differ from the current arm's, or a suggested
 * configuration outside the declared set, is a `restructure` (`evolution:restructure`, which
 * governance always routes to people).
 */
import { findActuation } from '../governance/actuations.ts';
import type { ProposalInput } from '../governance/model.ts';
import { seededRandom } from '../sampling.ts';
import {
  betaPosterior,
  betaSummary,
  emptyStats,
  type NormalGamma,
  normalGammaPosterior,
  normalGammaSummary,
  sampleBeta,
  sampleNormalGammaMean,
} from './posteriors.ts';
import type { ArmStats, ArmSummary, Candidate, Interval, Regret, ServiceConfig } from './schemas.ts';

/** Joint posterior draws per decision, unless told otherwise. */
export const DEFAULT_DRAWS = 2000;

/** The largest share of traffic off the primary: the `evolution:tune` actuation's `trafficShare` bound. */
export const MAX_OFF_PRIMARY_SHARE = findActuation('evolution', 'tune')?.bounds?.trafficShare?.max ?? 0.5;

/** What the reward needs of a service's configuration. */
export type RewardSpec = Pick<ServiceConfig, 'weights' | 'scales'>;

/** An arm's posteriors, ready to draw from. */
export interface ArmPosterior {
  arm: string;
  n: number;
  success: { alpha: number; beta: number };
  latency: NormalGamma;
  cost: NormalGamma;
}

/** The posteriors of an arm from its statistics. */
export function armPosterior(arm: string, stats: ArmStats, spec: RewardSpec): ArmPosterior {
  return {
    arm,
    n: stats.count,
    success: betaPosterior(stats),
    latency: normalGammaPosterior(stats.latency, spec.scales.latencyMs),
    cost: normalGammaPosterior(stats.cost, spec.scales.cost),
  };
}

/**
 * One draw of an arm's reward θ (see the module comment).
 * @example drawReward(posterior, { weights: { success: 1, latency: 0.5, cost: 0 }, scales }, random)
 */
export function drawReward(posterior: ArmPosterior, spec: RewardSpec, random: () => number): number {
  const { weights } = spec;
  let reward = 0;
  if (weights.success > 0) reward += weights.success * sampleBeta(posterior.success, random);
  if (weights.latency > 0) reward -= weights.latency * sampleNormalGammaMean(posterior.latency, random);
  if (weights.cost > 0) reward -= weights.cost * sampleNormalGammaMean(posterior.cost, random);
  return reward;
}

/**
 * The expected reward of known rates and means (the simulator's truth, a posterior's means).
 * @example expectedReward({ success: 0.9, latencyMs: 200, cost: 0 }, { weights: { success: 1, latency: 1, cost: 0 }, scales: { latencyMs: 1000, cost: 1 } }) // 0.7
 */
export function expectedReward(means: { success: number; latencyMs: number; cost: number }, spec: RewardSpec): number {
  const { weights, scales } = spec;
  return (
    weights.success * means.success - weights.latency * (means.latencyMs / scales.latencyMs) - weights.cost * (means.cost / scales.cost)
  );
}

/** What {@link thompsonSplit} takes. */
export interface SplitInput {
  config: Pick<ServiceConfig, 'arms' | 'current' | 'weights' | 'scales' | 'explorationShare' | 'minObservations'>;
  /** Statistics per arm id; an arm without an entry has none. */
  stats: Readonly<Record<string, ArmStats>>;
  seed: string;
  draws?: number;
}

/** A split with what it was made from. */
export interface SplitOutcome {
  primary: string;
  split: Record<string, number>;
  pBest: Record<string, number>;
  regret: Regret;
  /** Per arm: the 2.5%, mean and 97.5% of its reward draws. */
  reward: Record<string, Omit<Interval, 'n'>>;
}

const round4 = (value: number) => Math.round(value * 10_000) / 10_000;

/**
 * Thompson sampling's traffic split over the declared arms, within the governance bounds (see the
 * module comment), with P(best), regret and reward intervals from the same draws.
 * @example
 * const { primary, split } = thompsonSplit({ config, stats, seed: 'acme/svc/1' });
 * split // { a: 0.93, b: 0.07 } (say); every share ≥ 0, summing to 1, untested ones within explorationShare
 */
export function thompsonSplit(input: SplitInput): SplitOutcome {
  const { config } = input;
  const draws = input.draws ?? DEFAULT_DRAWS;
  const arms = config.arms.map((arm) => arm.id);
  const k = arms.length;
  const posteriors = arms.map((arm) => armPosterior(arm, input.stats[arm] ?? emptyStats(), config));
  const random = seededRandom(input.seed);
  const theta = new Float64Array(draws * k);
  const wins = new Array<number>(k).fill(0);
  for (let d = 0; d < draws; d += 1) {
    let best = 0;
    for (let a = 0; a < k; a += 1) {
      const value = drawReward(posteriors[a] as ArmPosterior, config, random);
      theta[d * k + a] = value;
      if (value > (theta[d * k + best] as number)) best = a;
    }
    wins[best] = (wins[best] as number) + 1;
  }
  const pBest = wins.map((w) => w / draws);
  const tested = arms.map((arm, a) => (posteriors[a] as ArmPosterior).n >= config.minObservations || arm === config.current);

  // 2. The primary: the eligible arm most often best (the current arm first on ties, then declaration order).
  const currentIndex = arms.indexOf(config.current);
  let primary = currentIndex;
  for (let a = 0; a < k; a += 1) if (tested[a] && (pBest[a] as number) > (pBest[primary] as number)) primary = a;

  // 3. Untested arms together within explorationShare.
  const shares = [...pBest];
  const untested = shares.reduce((sum, share, a) => (tested[a] ? sum : sum + share), 0);
  if (untested > config.explorationShare) {
    const keep = config.explorationShare / untested;
    const cut = untested - config.explorationShare;
    const testedTotal = shares.reduce((sum, share, a) => (tested[a] ? sum + share : sum), 0);
    for (let a = 0; a < k; a += 1) {
      if (!tested[a]) shares[a] = (shares[a] as number) * keep;
      else if (testedTotal > 0) shares[a] = (shares[a] as number) + (cut * (shares[a] as number)) / testedTotal;
    }
    if (testedTotal === 0) shares[primary] = (shares[primary] as number) + cut;
  }
  // 4. The others together within the tune bound.
  const off = 1 - (shares[primary] as number);
  if (off > MAX_OFF_PRIMARY_SHARE) {
    const keep = MAX_OFF_PRIMARY_SHARE / off;
    for (let a = 0; a < k; a += 1) if (a !== primary) shares[a] = (shares[a] as number) * keep;
    shares[primary] = 1 - MAX_OFF_PRIMARY_SHARE;
  }
  // 5. Rounded; the remainder to the primary (rounding down keeps every bound).
  const rounded = shares.map((share, a) => (a === primary ? 0 : Math.floor(share * 10_000) / 10_000));
  rounded[primary] = round4(1 - rounded.reduce((sum, share) => sum + share, 0));

  let splitRegret = 0;
  let primaryRegret = 0;
  const column = (a: number) => Array.from({ length: draws }, (_, d) => theta[d * k + a] as number).sort((x, y) => x - y);
  for (let d = 0; d < draws; d += 1) {
    let max = Number.NEGATIVE_INFINITY;
    let mixed = 0;
    for (let a = 0; a < k; a += 1) {
      const value = theta[d * k + a] as number;
      if (value > max) max = value;
      mixed += (rounded[a] as number) * value;
    }
    splitRegret += max - mixed;
    primaryRegret += max - (theta[d * k + primary] as number);
  }
  const reward: Record<string, Omit<Interval, 'n'>> = {};
  arms.forEach((arm, a) => {
    const sorted = column(a);
    const mean = sorted.reduce((sum, v) => sum + v, 0) / draws;
    reward[arm] = {
      mean: Number(mean.toPrecision(6)),
      lower: Number((sorted[Math.floor(0.025 * (draws - 1))] as number).toPrecision(6)),
      upper: Number((sorted[Math.ceil(0.975 * (draws - 1))] as number).toPrecision(6)),
    };
  });
  return {
    primary: arms[primary] as string,
    split: Object.fromEntries(arms.map((arm, a) => [arm, rounded[a] as number])),
    pBest: Object.fromEntries(arms.map((arm, a) => [arm, round4(pBest[a] as number)])),
    regret: {
      split: Math.max(0, Number((splitRegret / draws).toPrecision(6))),
      primary: Math.max(0, Number((primaryRegret / draws).toPrecision(6))),
    },
    reward,
  };
}

/** Posterior summaries of every declared arm, with its P(best) and share. */
export function armSummaries(config: SplitInput['config'], stats: SplitInput['stats'], outcome: SplitOutcome): ArmSummary[] {
  return config.arms.map((arm) => {
    const s = stats[arm.id] ?? emptyStats();
    const posterior = armPosterior(arm.id, s, config);
    const reward = outcome.reward[arm.id] ?? { mean: 0, lower: 0, upper: 0 };
    return {
      arm: arm.id,
      tested: s.count >= config.minObservations,
      success: betaSummary(posterior.success, s.successes + s.failures),
      latencyMs: normalGammaSummary(posterior.latency, config.scales.latencyMs, s.latency.n),
      cost: normalGammaSummary(posterior.cost, config.scales.cost, s.cost.n),
      reward: { ...reward, n: s.count },
      pBest: outcome.pBest[arm.id] ?? 0,
      share: outcome.split[arm.id] ?? 0,
    };
  });
}

/** Total variation distance between two splits (½ Σ |a − b|; an arm missing from one has share 0 there). */
export function totalVariation(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): number {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  let sum = 0;
  for (const key of keys) sum += Math.abs((a[key] ?? 0) - (b[key] ?? 0));
  return sum / 2;
}

/** What {@link decide} takes: everything the decision depends on, as plain data. */
export interface DecideInput {
  tenant: string;
  config: ServiceConfig;
  stats: Readonly<Record<string, ArmStats>>;
  seed: string;
  draws?: number;
  /** The split last proposed (undefined: none yet, so the current arm has all the traffic). */
  lastSplit?: Readonly<Record<string, number>>;
  /** A configuration suggested from outside the declared set: a structural change, never given traffic. */
  candidate?: Candidate;
  /** Identifies the decision in the proposal's evidence. */
  decisionId: string;
}

/** What {@link decide} returns. */
export interface DecideOutcome {
  primary: string;
  split: Record<string, number>;
  arms: ArmSummary[];
  regret: Regret;
  change: 'none' | 'tune' | 'restructure';
  reasons: string[];
  /** The governance proposal to make (absent when nothing changes or the autonomy is `recommend`). */
  proposal?: ProposalInput;
}

const sameComponents = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join('\u0000') === [...b].sort().join('\u0000');

/**
 * The Evolution decision for one service, pure: the bounded Thompson split, posterior summaries,
 * regret, and what it changes (see the module comment), with the governance proposal it becomes.
 * This is the function the Loop 1 state machine's evolution step calls.
 * @example
 * const outcome = decide({ tenant: 'acme', config, stats, seed: 'acme/svc/3', decisionId: 'd-3' });
 * outcome.change // 'tune'; outcome.proposal?.action // 'tune'; outcome.split // { fast: 0.9, slow: 0.1 }
 */
export function decide(input: DecideInput): DecideOutcome {
  const { config } = input;
  const outcome = thompsonSplit({ config, stats: input.stats, seed: input.seed, ...(input.draws ? { draws: input.draws } : {}) });
  const arms = armSummaries(config, input.stats, outcome);
  const primaryArm = config.arms.find((arm) => arm.id === outcome.primary);
  const currentArm = config.arms.find((arm) => arm.id === config.current);
  const lastSplit = input.lastSplit ?? { [config.current]: 1 };
  const moved = totalVariation(outcome.split, lastSplit);
  const summary = arms.map((a) => ({ arm: a.arm, n: a.reward.n, reward: a.reward.mean, pBest: a.pBest, share: a.share }));
  const evidence = { decisionId: input.decisionId, seed: input.seed, regret: outcome.regret, arms: summary };
  const reasons: string[] = [];
  let change: DecideOutcome['change'] = 'none';
  let proposal: ProposalInput | undefined;
  const escalate = config.autonomy === 'ask-people' ? { escalate: 'the service asks people for every Evolution change' } : {};

  if (input.candidate) {
    change = 'restructure';
    reasons.push(
      `configuration ${input.candidate.id} is outside the declared set: a structural change for people, no traffic until it is declared`,
    );
    proposal = {
      engine: 'evolution',
      action: 'restructure',
      target: config.service,
      environment: config.environment,
      parameters: { service: config.service, candidate: input.candidate },
      reason: `Evolution: add configuration ${input.candidate.id} to ${config.service} (outside the declared set)`,
      evidence,
    };
  } else if (primaryArm && currentArm && primaryArm.id !== currentArm.id && !sameComponents(primaryArm.components, currentArm.components)) {
    change = 'restructure';
    reasons.push(`${primaryArm.id} runs on other components than ${currentArm.id}: a topology change for people`);
    proposal = {
      engine: 'evolution',
      action: 'restructure',
      target: config.service,
      environment: config.environment,
      parameters: { service: config.service, arm: primaryArm.id, components: primaryArm.components, split: outcome.split },
      reason: `Evolution: move ${config.service} from ${currentArm.id} to ${primaryArm.id} (P(best) ${outcome.pBest[primaryArm.id]}), whose components differ`,
      evidence,
    };
  } else if (primaryArm && (primaryArm.id !== config.current || moved > config.splitTolerance)) {
    change = 'tune';
    const trafficShare = round4(1 - (outcome.split[primaryArm.id] ?? 0));
    reasons.push(
      primaryArm.id !== config.current
        ? `${primaryArm.id} is most probably best (P(best) ${outcome.pBest[primaryArm.id]}); it becomes primary`
        : `the split moved by ${round4(moved)} (total variation) since the last proposed one`,
    );
    proposal = {
      engine: 'evolution',
      action: 'tune',
      target: config.service,
      environment: config.environment,
      parameters: { ...primaryArm.parameters, service: config.service, arm: primaryArm.id, trafficShare, split: outcome.split },
      reason: `Evolution: ${config.service} primary ${primaryArm.id} with ${trafficShare} of traffic exploring (expected regret ${outcome.regret.split} per request)`,
      evidence,
    };
  } else {
    reasons.push(`${outcome.primary} stays primary and the split moved by ${round4(moved)} only`);
  }
  if (proposal && config.autonomy === 'recommend') {
    reasons.push('autonomy is recommend: nothing is proposed');
    proposal = undefined;
  } else if (proposal) proposal = { ...proposal, ...escalate };
  return {
    primary: outcome.primary,
    split: outcome.split,
    arms,
    regret: outcome.regret,
    change,
    reasons,
    ...(proposal ? { proposal } : {}),
  };
}
