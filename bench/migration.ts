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
 *
 * Migration time: plans of 1, 5 and 20 Lambda workloads (each: provision check, canary shift, drain,
 * release) carried out step by step (lib/migration/runner.ts) through the real lambda-alias executor on
 * the local emulated Lambda control plane (test/helpers/local-aws.ts: our Lambda stand-in, in process),
 * each step read back and latency-checked; then one plan rolled back. Against the seed's 2-minute target.
 * This is the executors' and checks' time, not the state machine's or a gate's (not measured here).
 */

import { parseArgs } from 'node:util';
import { CreateAliasCommand, PublishVersionCommand, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { lambdaAliasExecutor } from '../lib/adapters/aws/executors.ts';
import type { ExecutorRegistry } from '../lib/execution/executor.ts';
import { defaultSettings } from '../lib/governance/settings.ts';
import { illustrativeCatalogue } from '../lib/migration/catalogue.ts';
import { bestFitDecreasing, firstFitDecreasing, optimalPlacement, type Placement } from '../lib/migration/placement.ts';
import { buildSteps } from '../lib/migration/plan.ts';
import { randomProblem } from '../lib/migration/random-problems.ts';
import { type RunnerDeps, rollBack, runStep, type StepRecord } from '../lib/migration/runner.ts';
import { type Pool, workloadSchema } from '../lib/migration/schemas.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, startLocalAws } from '../test/helpers/local-aws.ts';

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

console.log('\nMigration time through the lambda-alias executor on the local emulated Lambda (seed target < 120 s):\n');
console.log('| workloads moved | steps | wall time (s) | share of the 120 s target |');
console.log('|---|---|---|---|');
const SIZES = [1, 5, 20];
const names = Array.from({ length: SIZES.reduce((a, b) => a + b, 0) + 1 }, (_, i) => `svc-${i}`);
const aws = await startLocalAws(names);
try {
  for (const name of names) {
    await aws.lambda.send(new PublishVersionCommand({ FunctionName: name }));
    await aws.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, MemorySize: 512 }));
    await aws.lambda.send(new PublishVersionCommand({ FunctionName: name }));
    await aws.lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '1' }));
  }
  const lambdaPool = (id: string, price: number): Pool => ({
    id,
    platform: 'lambda',
    instanceType: id,
    region: 'us-east-1',
    zone: 'us-east-1a',
    vcpu: 6,
    memoryGiB: 10,
    accelerators: 0,
    latencyClasses: ['standard', 'batch'],
    pricePerHour: price,
    maxInstances: 100,
  });
  const pools = [lambdaPool('lambda/big', 0.6), lambdaPool('lambda/small', 0.12)];
  const fast = new Map<string, number[]>();
  const deps: RunnerDeps = {
    executors: { 'lambda-alias': lambdaAliasExecutor(aws.lambda) } as ExecutorRegistry,
    stage: { accountId: LOCAL_ACCOUNT, region: LOCAL_REGION, webhookAllowList: [] },
    governance: {
      settings: async (tenant) => defaultSettings(tenant),
      globalKillSwitch: async () => undefined,
      proposal: async () => undefined,
    },
    latency: { newest: async (_tenant, series) => fast.get(series) ?? [100, 100, 100] },
    pools: async () => pools,
    now: () => new Date(),
  };
  let offset = 0;
  for (const n of SIZES) {
    const workloads = names.slice(offset, offset + n).map((name) =>
      workloadSchema.parse({
        id: name,
        needs: { vcpu: 0.25, memoryGiB: 0.5 },
        current: 'lambda/big',
        traffic: {
          kind: 'lambda-alias',
          resource: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}:live`,
          versions: { 'lambda/big': '1', 'lambda/small': '2' },
        },
        latencySeries: `${name}.latency`,
      }),
    );
    offset += n;
    const steps = buildSteps(pools, workloads, {
      slots: Object.fromEntries(workloads.map((w) => [w.id, { pool: 'lambda/small', instance: 0 }])),
    });
    const start = process.hrtime.bigint();
    for (const step of steps) {
      const record = await runStep('bench', `bench-${n}`, step, deps);
      if (record.status !== 'succeeded') throw new Error(`step ${step.index} failed: ${record.reasons.join('; ')}`);
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(`| ${n} | ${steps.length} | ${seconds.toFixed(2)} | ${((100 * seconds) / 120).toFixed(2)} % |`);
  }
  // A failed post-check on the drain of the last workload, and the rollback of everything that acted.
  const last = names[names.length - 1] ?? '';
  const w = workloadSchema.parse({
    id: last,
    needs: { vcpu: 0.25, memoryGiB: 0.5 },
    current: 'lambda/big',
    traffic: {
      kind: 'lambda-alias',
      resource: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${last}:live`,
      versions: { 'lambda/big': '1', 'lambda/small': '2' },
    },
    latencySeries: `${last}.latency`,
    latencyBoundMs: 500,
  });
  const steps = buildSteps(pools, [w], { slots: { [last]: { pool: 'lambda/small', instance: 0 } } });
  const start = process.hrtime.bigint();
  const records: StepRecord[] = [];
  for (const step of steps) {
    if (step.kind === 'drain') fast.set(`${last}.latency`, [900, 100, 100]);
    const record = await runStep('bench', 'bench-rollback', step, deps);
    records.push(record);
    if (record.status === 'failed') break;
  }
  const undone = await rollBack('bench', 'bench-rollback', steps, records, deps);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const ok = undone.filter((r) => r.undo?.status === 'succeeded').length;
  console.log(
    `\nA failed drain post-check and the rollback of ${ok} step(s) that acted: ${seconds.toFixed(2)} s (${((100 * seconds) / 120).toFixed(2)} % of 120 s)`,
  );
} finally {
  await aws.stop();
}
