/**
 * Placement quality and planning time: first-fit and best-fit decreasing against the exact branch
 * and bound (lib/migration/placement.ts) on seeded random problems (lib/migration/random-problems.ts:
 * ~12 pools drawn from the illustrative SageMaker/Lambda catalogue, workloads of six shapes, half
 * running somewhere now, groups with anti-affinity, a quarter with residency).
 *   npm run bench:migration [-- --seeds 30 --sizes 6,8,10,12 --large 50,200]
 *
 * Per size: the heuristics' gap to the optimum ((heuristic − optimal) / optimal, objective = cost +
 * risk), the share of problems where each is optimal, and the median planning time of each. Problems
 * the exact search did not finish within its node limit are counted apart (their "optimum" is only
 * the best found). Large sizes: the heuristics' planning time only (the exact search is exponential).
 */
import { parseArgs } from 'node:util';
import { illustrativeCatalogue } from '../lib/migration/catalogue.ts';
import { bestFitDecreasing, firstFitDecreasing, optimalPlacement, type Placement } from '../lib/migration/placement.ts';
import { randomProblem } from '../lib/migration/random-problems.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '30' },
    sizes: { type: 'string', default: '6,8,10,12,16' },
    large: { type: 'string', default: '50,200' },
  },
});
const seeds = Number(values.seeds);
const sizes = values.sizes.split(',').map(Number);
const large = values.large.split(',').map(Number);

const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN);
};
const timed = (f: () => Placement): [Placement, number] => {
  const start = process.hrtime.bigint();
  const result = f();
  return [result, Number(process.hrtime.bigint() - start) / 1e6];
};
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

console.log(`Placement: FFD and BFD vs the exact branch and bound, ${seeds} seeded problems per size (objective = cost + risk, $/h)\n`);
console.log(
  '| workloads | compared (feasible, solved exactly) | FFD gap mean / p95 / max | FFD optimal | BFD gap mean / p95 / max | BFD optimal | median time FFD / BFD / exact (ms) |',
);
console.log('|---|---|---|---|---|---|---|');
for (const n of sizes) {
  const gaps = { ffd: [] as number[], bfd: [] as number[] };
  const times = { ffd: [] as number[], bfd: [] as number[], optimal: [] as number[] };
  let proven = 0;
  let compared = 0;
  for (let seed = 1; seed <= seeds; seed += 1) {
    const problem = randomProblem(seed * 1000 + n, n);
    const [ffd, tf] = timed(() => firstFitDecreasing(problem));
    const [bfd, tb] = timed(() => bestFitDecreasing(problem));
    const [optimal, to] = timed(() => optimalPlacement(problem));
    times.ffd.push(tf);
    times.bfd.push(tb);
    times.optimal.push(to);
    if (optimal.unplaced.length > 0 || ffd.unplaced.length > 0 || bfd.unplaced.length > 0) continue;
    if (!optimal.proven) continue;
    proven += 1;
    compared += 1;
    const best = optimal.objective.total;
    gaps.ffd.push((ffd.objective.total - best) / best);
    gaps.bfd.push((bfd.objective.total - best) / best);
  }
  const row = (xs: number[]) =>
    `${pct(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length))} / ${pct(quantile(xs, 0.95))} / ${pct(Math.max(0, ...xs))}`;
  const share = (xs: number[]) => pct(xs.filter((g) => g < 1e-9).length / Math.max(1, xs.length));
  console.log(
    `| ${n} | ${proven} of ${seeds} | ${row(gaps.ffd)} | ${share(gaps.ffd)} | ${row(gaps.bfd)} | ${share(gaps.bfd)} | ${quantile(times.ffd, 0.5).toFixed(3)} / ${quantile(times.bfd, 0.5).toFixed(3)} / ${quantile(times.optimal, 0.5).toFixed(1)} |`,
  );
  if (compared === 0) console.log(`  (size ${n}: no problem solved exactly within the node limit)`);
}

console.log('\nHeuristics on large problems (planning time, median of the seeds; ratio BFD/FFD objective):\n');
console.log('| workloads | FFD ms | BFD ms | BFD objective / FFD objective (median) |');
console.log('|---|---|---|---|');
for (const n of large) {
  const tf: number[] = [];
  const tb: number[] = [];
  const ratio: number[] = [];
  for (let seed = 1; seed <= Math.min(seeds, 10); seed += 1) {
    const problem = randomProblem(seed * 7 + n, n, { pools: illustrativeCatalogue(Math.ceil(n / 2)) });
    const [ffd, a] = timed(() => firstFitDecreasing(problem));
    const [bfd, b] = timed(() => bestFitDecreasing(problem));
    tf.push(a);
    tb.push(b);
    if (ffd.unplaced.length === 0 && bfd.unplaced.length === 0) ratio.push(bfd.objective.total / ffd.objective.total);
  }
  console.log(`| ${n} | ${quantile(tf, 0.5).toFixed(2)} | ${quantile(tb, 0.5).toFixed(2)} | ${quantile(ratio, 0.5).toFixed(3)} |`);
}
