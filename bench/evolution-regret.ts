/**
 * Evolution's bandit against a known simulator (lib/evolution/simulator.ts): k arms with fixed
 * Bernoulli success rates and lognormal latencies, reward = success − latency / 1 s. For each
 * scenario and seed the outcomes are pre-drawn per arm and round, so Thompson sampling (the engine's
 * own posteriors and reward), ε-greedy (ε = 0.1) and uniform random meet the same reward sequences.
 * Printed: the mean cumulative pseudo-regret of each policy over the seeds and the ratios TS / ε-greedy
 * and TS / uniform (below 1: Thompson loses less), then the time of one full decision (`decide`: 2,000
 * joint posterior draws, the bounded split, summaries, regret) per arm count, against the seed's
 * < 5 s decision target.
 *
 * Run: `npm run bench:evolution [-- --rounds 2000 --seeds 50]`.
 */
import { parseArgs } from 'node:util';
import { decide } from '../lib/evolution/bandit.ts';
import { addTo, emptyStats } from '../lib/evolution/posteriors.ts';
import { type ArmStats, serviceConfigSchema } from '../lib/evolution/schemas.ts';
import {
  cumulativeRegret,
  epsilonGreedyPolicy,
  preDraw,
  SCENARIOS,
  thompsonPolicy,
  trueRewards,
  uniformPolicy,
} from '../lib/evolution/simulator.ts';
import { seededRandom } from '../lib/sampling.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2000' }, seeds: { type: 'string', default: '50' } } });
const rounds = Number(values.rounds);
const seeds = Number(values.seeds);
const DECISION_TARGET_MS = 5000;

const fmt = (value: number, digits = 1) => value.toFixed(digits);
console.log(`Evolution regret: ${rounds} rounds × ${seeds} seeds per scenario; the same pre-drawn outcomes for every policy\n`);
console.log('| scenario | true rewards | TS regret | ε-greedy (0.1) | uniform | TS / ε-greedy | TS / uniform |');
console.log('|---|---|---|---|---|---|---|');
const started = performance.now();
for (const scenario of SCENARIOS) {
  let ts = 0;
  let eg = 0;
  let uniform = 0;
  for (let seed = 0; seed < seeds; seed += 1) {
    const outcomes = preDraw(scenario, rounds, `${scenario.name}/${seed}`);
    ts += cumulativeRegret(scenario, outcomes, thompsonPolicy(scenario.spec), `ts/${seed}`);
    eg += cumulativeRegret(scenario, outcomes, epsilonGreedyPolicy(scenario.spec, 0.1), `eg/${seed}`);
    uniform += cumulativeRegret(scenario, outcomes, uniformPolicy, `uniform/${seed}`);
  }
  const truth = trueRewards(scenario)
    .map((r) => r.toFixed(3))
    .join(', ');
  console.log(
    `| ${scenario.name} | ${truth} | ${fmt(ts / seeds)} | ${fmt(eg / seeds)} | ${fmt(uniform / seeds)} | ${fmt(ts / eg, 2)} | ${fmt(ts / uniform, 3)} |`,
  );
}
console.log(`\n(simulation ${fmt((performance.now() - started) / 1000)} s)\n`);

console.log('| arms | decide() p50 ms | p95 ms | max ms | p95 / 5 s target |');
console.log('|---|---|---|---|---|');
for (const k of [2, 8, 32]) {
  const random = seededRandom(`decide/${k}`);
  const arms = Array.from({ length: k }, (_, i) => ({ id: `arm-${i}`, parameters: { batchSize: 1 + i } }));
  const config = serviceConfigSchema.parse({
    service: 'svc/bench',
    arms,
    current: 'arm-0',
    weights: { success: 1, latency: 1, cost: 0.5 },
  });
  const stats: Record<string, ArmStats> = {};
  for (const arm of arms)
    stats[arm.id] = addTo(
      emptyStats(),
      Array.from({ length: 50 + Math.floor(random() * 200) }, () => ({
        success: random() < 0.8,
        latencyMs: 100 + 400 * random(),
        cost: random(),
      })),
    );
  const times: number[] = [];
  for (let i = 0; i < 60; i += 1) {
    const t0 = performance.now();
    decide({ tenant: 'bench', config, stats, seed: `bench/${k}/${i}`, decisionId: `d${i}` });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] as number;
  console.log(
    `| ${k} | ${fmt(at(0.5))} | ${fmt(at(0.95))} | ${fmt(times.at(-1) as number)} | ${(at(0.95) / DECISION_TARGET_MS).toExponential(1)} |`,
  );
}
