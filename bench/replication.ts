/**
 * The Replication engine's decision time against the seed's limit (a scale decision in < 1 min),
 * and the HPA arithmetic's throughput.
 *
 *  1. Pure decision: what one evaluation computes once its inputs are read — the HPA rule on 10
 *     metrics (one of them per replica, 50 samples with unready ones), a 300-entry stabilisation
 *     history and scale events, the load forecast (`auto`: every ETS model the Observation engine
 *     fits, on 168 hourly points with a daily season) and its capacity plan, the predictive floor,
 *     the N+1 check over 3 zones. Printed: p50 / p95 / max, each as a ratio of the 60 s limit.
 *  2. HPA arithmetic alone (`evaluate` of lib/replication/hpa.ts on 3 metrics with history, and the
 *     per-metric rule `replicasForMetric`): evaluations per second, and how many fit in the limit.
 *  3. With `--local-cloud`: the engine on the local cloud (booted in this process, stage `local`):
 *     `POST /replication/evaluate` on a stack function's reserved concurrency, each evaluation a
 *     change (2 → 4 → 2 …) proposed on the L3 route, validated by the gate, run by the executor.
 *     Printed: the engine's own `decisionMs` (request to decision, reads included) and `totalMs`
 *     (to the executor's read-back), and the HTTP round trip, as ratios of the 60 s limit.
 *
 * Run: `npm run bench:replication [-- --decisions 50 --local-cloud --evaluations 10]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { RecentPoint } from '../lib/observation/ports.ts';
import {
  withDefaults as behaviorDefaults,
  evaluate as hpaEvaluate,
  type MetricObservation,
  replicasForMetric,
} from '../lib/replication/hpa.ts';
import { forecastCapacity, predictiveFloor } from '../lib/replication/predictive.ts';
import { checkRedundancy } from '../lib/replication/redundancy.ts';
import { predictiveConfigSchema } from '../lib/replication/schemas.ts';

const { values } = parseArgs({
  options: {
    decisions: { type: 'string', default: '50' },
    'local-cloud': { type: 'boolean', default: false },
    evaluations: { type: 'string', default: '10' },
  },
});
const DECISIONS = Number(values.decisions);
const EVALUATIONS = Number(values.evaluations);
/** The seed's limit: a scale decision in under a minute. */
const LIMIT_MS = 60_000;
const HOUR = 3_600_000;

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
const ratio = (ms: number) => (ms / LIMIT_MS).toExponential(2);
const row = (name: string, samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const [p50, p95, max] = [percentile(sorted, 50), percentile(sorted, 95), sorted.at(-1) ?? Number.NaN];
  console.log(
    `| ${name} | ${samples.length} | ${p50.toFixed(2)} | ${p95.toFixed(2)} | ${max.toFixed(2)} | ${ratio(p50)} | ${ratio(p95)} | ${ratio(max)} |`,
  );
};
const header = () => {
  console.log('| what | n | p50 ms | p95 ms | max ms | p50 / 60 s | p95 / 60 s | max / 60 s |');
  console.log('|---|---|---|---|---|---|---|---|');
};

// Inputs: a week of hourly load with a daily cycle; 10 metrics; a full stabilisation history.
const now = Date.UTC(2026, 0, 8);
const load: RecentPoint[] = Array.from({ length: 168 }, (_, i) => [
  now - (168 - i) * HOUR,
  600 + 300 * Math.sin((2 * Math.PI * i) / 24) + ((i * 7919) % 37),
]);
const metrics: MetricObservation[] = [
  {
    name: 'cpu',
    kind: 'average',
    target: 60,
    replicas: Array.from({ length: 50 }, (_, i) => (i % 10 === 9 ? { ready: false } : { value: 55 + (i % 7) * 4 })),
  },
  ...Array.from(
    { length: 9 },
    (_, i): MetricObservation => ({ name: `m${i}`, kind: i % 2 ? 'total' : 'average', target: 100, value: 90 + i * 17 }),
  ),
];
const behavior = behaviorDefaults({});
const recommendations = Array.from({ length: 300 }, (_, i) => ({ at: now - (300 - i) * 1000, replicas: 8 + (i % 5) }));
const events = [
  { at: now - 10_000, change: 2 },
  { at: now - 40_000, change: -1 },
];
const predictive = predictiveConfigSchema.parse({ mode: 'forecast-and-scale', series: 'rps', targetPerReplica: 50, seasonLength: 24 });

const forecastOnce = () => {
  const { report, plan } = forecastCapacity(load, predictive, { min: 1, max: 50 });
  return predictiveFloor(plan, now, predictive.leadSeconds, report.intervalMs);
};
function reactiveOnce(floor: number | undefined): number {
  const hpa = hpaEvaluate({
    current: 10,
    min: 2,
    max: 50,
    metrics,
    behavior,
    recommendations,
    events,
    now,
    ...(floor !== undefined ? { floor } : {}),
  });
  return checkRedundancy({ desired: hpa.desired, needed: hpa.desired, zones: ['a', 'b', 'c'], max: 50, mode: 'raise' }).replicas;
}

console.log(`Replication decision time against the seed's limit of ${LIMIT_MS / 1000} s (ratios below 1: within it)\n`);
for (let i = 0; i < 3; i++) reactiveOnce(forecastOnce());
const pure: number[] = [];
const forecastPart: number[] = [];
const reactivePart: number[] = [];
for (let i = 0; i < DECISIONS; i++) {
  const started = performance.now();
  const floor = forecastOnce();
  const forecasted = performance.now();
  reactiveOnce(floor);
  const ended = performance.now();
  pure.push(ended - started);
  forecastPart.push(forecasted - started);
  reactivePart.push(ended - forecasted);
}
header();
row('pure decision (HPA on 10 metrics, 168-point auto forecast, N+1)', pure);
row('… of which the forecast (auto: every ETS model fitted)', forecastPart);
row('… of which HPA + N+1', reactivePart);

// HPA arithmetic alone.
const three = metrics.slice(0, 3);
const throughput = (run: () => void, minMs = 1000) => {
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < minMs) {
    for (let i = 0; i < 1000; i++) run();
    n += 1000;
  }
  return n / ((performance.now() - started) / 1000);
};
const evaluations = throughput(() => hpaEvaluate({ current: 10, min: 2, max: 50, metrics: three, behavior, recommendations, events, now }));
const perMetric = throughput(() => replicasForMetric(10, { name: 'rps', kind: 'total', target: 50, value: 430 }));
console.log('\n| HPA arithmetic | per second | per 60 s limit |');
console.log('|---|---|---|');
console.log(`| evaluate (3 metrics, 300-entry history) | ${evaluations.toFixed(0)} | ${(evaluations * 60).toExponential(2)} |`);
console.log(`| replicasForMetric (one total metric) | ${perMetric.toFixed(0)} | ${(perMetric * 60).toExponential(2)} |`);

if (values['local-cloud']) await onTheLocalCloud();
else console.log('\n(Through the engine on the local cloud: add --local-cloud; it boots one in this process, needs Java.)');

async function onTheLocalCloud(): Promise<void> {
  const { startLocalCloud } = await import('../infra/local/cloud.ts');
  const { loadOrCreateIdpKey, signLocalToken } = await import('../infra/local/idp.ts');
  const { freePorts } = await import('../infra/local/ports.ts');
  const { LambdaClient, PutFunctionConcurrencyCommand } = await import('@aws-sdk/client-lambda');
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-replication-bench-'));
  console.log('\nBooting the local cloud (stage local)…');
  const cloud = await startLocalCloud({ root, dataDir, ports: await freePorts(), stage: 'local', functionOutput: 'silent', log: () => {} });
  try {
    if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(cloud.apiUrl))
      throw new Error(`refusing to run against ${cloud.apiUrl}: loopback only`);
    const name = cloud.resources.functions.AuditComplianceLambdaFunction;
    if (!name) throw new Error('no AuditComplianceLambdaFunction in the stack');
    const { env } = cloud;
    const lambda = new LambdaClient({
      region: env.AWS_REGION,
      endpoint: env.AWS_ENDPOINT_URL_LAMBDA,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 2 }));
    lambda.destroy();
    const tenant = 'bench-replication';
    const token = await signLocalToken(await loadOrCreateIdpKey(dataDir), { tenant, subject: 'ops', roles: ['operator'] });
    const call = async (method: string, route: string, parameters: unknown) => {
      const reply = await fetch(`${cloud.apiUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ parameters }),
      });
      const body = (await reply.json()) as { result?: { decision?: { status: string; decisionMs: number; totalMs: number } } };
      if (reply.status !== 200) throw new Error(`${method} ${route}: ${reply.status} ${JSON.stringify(body)}`);
      return body;
    };
    await call('PUT', '/replication/config', {
      component: 'bench/fn',
      environment: 'dev',
      min: 2,
      max: 8,
      metrics: [{ name: 'cpu', target: 100 }],
      behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
      executor: { kind: 'lambda-concurrency', resource: `arn:aws:lambda:us-east-1:000000000000:function:${name}` },
    });
    const decision: number[] = [];
    const total: number[] = [];
    const roundTrip: number[] = [];
    const statuses: Record<string, number> = {};
    // The first evaluation warms every function on the path (a cold start each); not counted.
    for (let i = 0; i <= EVALUATIONS; i++) {
      const started = performance.now();
      const body = await call('POST', '/replication/evaluate', {
        component: 'bench/fn',
        metrics: [{ name: 'cpu', value: i % 2 ? 50 : 200 }],
      });
      const elapsed = performance.now() - started;
      const made = body.result?.decision;
      if (!made || i === 0) continue;
      statuses[made.status] = (statuses[made.status] ?? 0) + 1;
      decision.push(made.decisionMs);
      total.push(made.totalMs);
      roundTrip.push(elapsed);
    }
    console.log(
      `\nThrough the engine on the local cloud: ${EVALUATIONS} evaluations after a warm-up (${Object.entries(statuses)
        .map(([status, n]) => `${n} ${status}`)
        .join(', ')})\n`,
    );
    header();
    row('decisionMs (request → decision, reads included)', decision);
    row('totalMs (→ proposal, L3 gate, executor, read-back)', total);
    row('HTTP round trip', roundTrip);
  } finally {
    await cloud.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
