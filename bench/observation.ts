/**
 * Observation detectors: accuracy on labelled series, throughput, and state size.
 *   node bench/observation.ts
 *
 * Accuracy (event level, per series and detector):
 * - a labelled window is a maximal run of consecutive rows with label 1;
 * - a window that ends before the detector's warm-up is over cannot be detected and is excluded
 *   (reported as `skipped`);
 * - TP = windows with at least one detection inside; FN = windows with none;
 *   FP = detections (points) outside every window;
 * - precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = harmonic mean.
 * Throughput: points/s on one core, feeding a 200k-point synthetic stream through `update`
 * (includes the state copy each update makes). State size: bytes of `JSON.stringify(state)`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSeriesCsv } from '../lib/observation/csv.ts';
import { initSeriesState, type SeriesState, updateSeriesState } from '../lib/observation/detector-registry.ts';
import { type EtsSpec, fitEts } from '../lib/observation/ets.ts';
import { requireDataset } from './datasets.ts';

const fixtures = fileURLToPath(new URL('../test/fixtures/observation/', import.meta.url));

interface Setup {
  label: string;
  detector: string;
  config: Record<string, unknown>;
}

const setups: Setup[] = [
  { label: 'robust (w=64, t=4)', detector: 'robust', config: {} },
  { label: 'seasonal (m=24, t=4)', detector: 'seasonal', config: { seasonLength: 24, intervalMs: 3_600_000 } },
  { label: 'ewma (λ=0.05, t=4)', detector: 'ewma', config: {} },
];

const datasets = [{ file: 'ms-ecommerce-api-01.csv', name: 'ms-ecommerce-api-01 (hourly, real, 6 windows)' }];
requireDataset(
  'bench/observation.ts',
  fixtures,
  datasets.map((dataset) => dataset.file),
);

function warmupPoints(state: SeriesState): number {
  if (state.detector === 'seasonal') return state.config.seasonLength * state.config.warmupSeasons;
  return state.config.warmup;
}

function evaluate(file: string, setup: Setup) {
  const rows = parseSeriesCsv(readFileSync(`${fixtures}${file}`, 'utf8'));
  const labels = rows.map((row) => row.extra[0] === '1');
  const windows: [number, number][] = [];
  labels.forEach((on, i) => {
    if (!on) return;
    const last = windows.at(-1);
    if (last && last[1] === i - 1) last[1] = i;
    else windows.push([i, i]);
  });
  let state = initSeriesState(setup.detector, setup.config);
  const warm = warmupPoints(state);
  const detections: number[] = [];
  rows.forEach((row, i) => {
    const result = updateSeriesState(state, row);
    state = result.state;
    if (result.anomaly) detections.push(i);
  });
  const eligible = windows.filter(([, end]) => end >= warm);
  const tp = eligible.filter(([start, end]) => detections.some((d) => d >= start && d <= end)).length;
  const fp = detections.filter((d) => !windows.some(([start, end]) => d >= start && d <= end)).length;
  const fn = eligible.length - tp;
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = eligible.length === 0 ? 0 : tp / eligible.length;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return {
    windows: windows.length,
    skipped: windows.length - eligible.length,
    tp,
    fp,
    fn,
    precision,
    recall,
    f1,
    detections: detections.length,
  };
}

function throughput(setup: Setup, points: number): { perSecond: number; bytes: number } {
  let state = initSeriesState(setup.detector, setup.config);
  // Deterministic pseudo-noise + daily cycle + rare spikes, so every code path runs.
  let seed = 42;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const stream = Array.from({ length: points }, (_, i) => ({
    timestamp: 1_700_000_000_000 + i * 3_600_000,
    value: 100 + 20 * Math.sin((2 * Math.PI * i) / 24) + 5 * noise() + (i % 997 === 0 ? 80 : 0),
  }));
  const started = process.hrtime.bigint();
  for (const point of stream) state = updateSeriesState(state, point).state;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: points / seconds, bytes: Buffer.byteLength(JSON.stringify(state)) };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
console.log('# Observation detectors\n');
for (const dataset of datasets) {
  console.log(`## ${dataset.name}\n`);
  console.log('| detector | windows (skipped in warm-up) | TP | FN | FP points | precision | recall | F1 |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const setup of setups) {
    const r = evaluate(dataset.file, setup);
    console.log(
      `| ${setup.label} | ${r.windows} (${r.skipped}) | ${r.tp} | ${r.fn} | ${r.fp} | ${pct(r.precision)} | ${pct(r.recall)} | ${pct(r.f1)} |`,
    );
  }
  console.log('');
}
console.log('## Throughput (one core) and state size\n');
console.log('| detector | points/s | state bytes (JSON) |');
console.log('|---|---|---|');
const perf: Setup[] = [...setups, { label: 'seasonal (m=1440)', detector: 'seasonal', config: { seasonLength: 1440 } }];
for (const setup of perf) {
  throughput(setup, 20_000); // warm the JIT
  const r = throughput(setup, 200_000);
  console.log(`| ${setup.label} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.bytes.toLocaleString('en-US')} |`);
}

console.log('\n## Forecast fits (full optimiser budget, 512 points, m = 24, one core)\n');
console.log('| model | ms per fit | −2·loglik |');
console.log('|---|---|---|');
{
  const y = Array.from({ length: 512 }, (_, i) => 100 + 10 * Math.sin((2 * Math.PI * i) / 24) + i * 0.05 + ((i * 7919) % 13) / 3);
  const specs: Array<[string, EtsSpec]> = [
    ['AAN (Holt)', { error: 'A', trend: 'A', season: 'N', damped: false, seasonLength: 1 }],
    ['AAA (Holt-Winters additive)', { error: 'A', trend: 'A', season: 'A', damped: false, seasonLength: 24 }],
    ['MAM (Holt-Winters multiplicative)', { error: 'M', trend: 'A', season: 'M', damped: false, seasonLength: 24 }],
  ];
  for (const [label, spec] of specs) {
    fitEts(y, spec);
    const started = performance.now();
    const model = fitEts(y, spec);
    console.log(`| ${label} | ${(performance.now() - started).toFixed(0)} | ${(-2 * model.loglik).toFixed(2)} |`);
  }
}
