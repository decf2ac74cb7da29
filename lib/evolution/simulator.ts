/**
 * A known simulator for bandit policies: k arms with fixed Bernoulli success rates and lognormal
 * latencies, outcomes pre-drawn per arm and round so every policy meets the same reward sequences
 * (at round t, whichever arm a policy picks returns that arm's pre-drawn outcome for t). Regret is
 * the pseudo-regret against the true expected rewards: Σ_t (θ* − θ_{a_t}).
 *
 * Policies: Thompson sampling (one draw per arm from the engine's own posteriors and reward,
 * lib/evolution/bandit.ts, the highest wins), ε-greedy (the best empirical mean reward, a random arm
 * with probability ε, each arm once first) and uniform random.
 */
import { normalSample, seededRandom } from '../sampling.ts';
import { armPosterior, drawReward, expectedReward, type RewardSpec } from './bandit.ts';
import { addTo, emptyStats } from './posteriors.ts';
import type { ArmStats } from './schemas.ts';

/** One simulated arm: success rate and lognormal latency (ms) parameters. */
export interface SimArm {
  p: number;
  /** Mean of log latency (ms). */
  mu: number;
  /** Standard deviation of log latency. */
  sigma: number;
}

/** A scenario: its arms and the reward they are judged by. */
export interface Scenario {
  name: string;
  arms: readonly SimArm[];
  spec: RewardSpec;
}

/** One pre-drawn outcome. */
export interface SimOutcome {
  success: boolean;
  latencyMs: number;
}

/** The true expected reward of each arm (E[latency] = exp(μ + σ²/2)). */
export function trueRewards(scenario: Scenario): number[] {
  return scenario.arms.map((arm) =>
    expectedReward({ success: arm.p, latencyMs: Math.exp(arm.mu + (arm.sigma * arm.sigma) / 2), cost: 0 }, scenario.spec),
  );
}

/** Outcomes per arm and round, from `seed`. */
export function preDraw(scenario: Scenario, rounds: number, seed: string): SimOutcome[][] {
  const random = seededRandom(`outcomes/${seed}`);
  return scenario.arms.map((arm) =>
    Array.from({ length: rounds }, () => ({ success: random() < arm.p, latencyMs: Math.exp(arm.mu + arm.sigma * normalSample(random)) })),
  );
}

/** A bandit policy: picks an arm from the statistics so far. */
export type Policy = (stats: readonly ArmStats[], random: () => number) => number;

/** Thompson sampling with the engine's posteriors and reward. */
export function thompsonPolicy(spec: RewardSpec): Policy {
  return (stats, random) => {
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    stats.forEach((s, a) => {
      const value = drawReward(armPosterior(String(a), s, spec), spec, random);
      if (value > bestValue) {
        bestValue = value;
        best = a;
      }
    });
    return best;
  };
}

/** ε-greedy on the empirical mean reward (each arm tried once first). */
export function epsilonGreedyPolicy(spec: RewardSpec, epsilon: number): Policy {
  return (stats, random) => {
    const untried = stats.findIndex((s) => s.count === 0);
    if (untried >= 0) return untried;
    if (random() < epsilon) return Math.floor(random() * stats.length);
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    stats.forEach((s, a) => {
      const value = expectedReward({ success: s.successes / s.count, latencyMs: s.latency.sum / s.latency.n, cost: 0 }, spec);
      if (value > bestValue) {
        bestValue = value;
        best = a;
      }
    });
    return best;
  };
}

/** Uniform random. */
export const uniformPolicy: Policy = (stats, random) => Math.floor(random() * stats.length);

/**
 * Cumulative pseudo-regret of `policy` on pre-drawn outcomes.
 * @example cumulativeRegret(scenario, preDraw(scenario, 2000, '1'), uniformPolicy, 'uniform/1')
 */
export function cumulativeRegret(scenario: Scenario, outcomes: readonly SimOutcome[][], policy: Policy, seed: string): number {
  const truth = trueRewards(scenario);
  const best = Math.max(...truth);
  const rounds = outcomes[0]?.length ?? 0;
  const random = seededRandom(`policy/${seed}`);
  const stats: ArmStats[] = scenario.arms.map(() => emptyStats());
  let regret = 0;
  for (let t = 0; t < rounds; t += 1) {
    const arm = policy(stats, random);
    const outcome = outcomes[arm]?.[t] as SimOutcome;
    stats[arm] = addTo(stats[arm] as ArmStats, [outcome]);
    regret += best - (truth[arm] as number);
  }
  return regret;
}

const spec: RewardSpec = { weights: { success: 1, latency: 1, cost: 0 }, scales: { latencyMs: 1000, cost: 1 } };

/** The bench's scenarios: well separated, close arms, many arms, and a latency-only trade-off. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'separated (3 arms)',
    spec,
    arms: [
      { p: 0.7, mu: Math.log(300), sigma: 0.5 },
      { p: 0.85, mu: Math.log(200), sigma: 0.5 },
      { p: 0.6, mu: Math.log(150), sigma: 0.5 },
    ],
  },
  {
    name: 'close (2 arms, Δθ ≈ 0.02)',
    spec,
    arms: [
      { p: 0.8, mu: Math.log(250), sigma: 0.4 },
      { p: 0.81, mu: Math.log(240), sigma: 0.4 },
    ],
  },
  {
    name: 'many (8 arms)',
    spec,
    arms: Array.from({ length: 8 }, (_, i) => ({ p: 0.6 + 0.04 * i, mu: Math.log(400 - 25 * i), sigma: 0.6 })),
  },
  {
    name: 'success vs latency trade-off',
    spec,
    arms: [
      { p: 0.95, mu: Math.log(600), sigma: 0.3 },
      { p: 0.8, mu: Math.log(150), sigma: 0.3 },
      { p: 0.9, mu: Math.log(350), sigma: 0.3 },
    ],
  },
];
