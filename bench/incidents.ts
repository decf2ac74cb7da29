/**
 * Incident alerts scored with the Numenta Anomaly Benchmark's standard profile on labelled public
 * corpora (not NAB's own data): the defaults every new series gets, against the per-point alarms.
 *   node bench/incidents.ts [--split held-out|tune|all] [--grid]
 *
 * Corpora: test/fixtures/observation/<corpus>/ with `timestamp,value,label` files, a SOURCE.md and a
 * split.json (tune / held-out, fixed before any score was computed). Each run of labelled rows is one
 * anomaly, labelled at its onset; windows, probation and scores follow lib/observation/nab-score.ts.
 * Rows whose timestamp does not increase are dropped first (the service ignores them as duplicates).
 *
 * Rows of the report:
 * - `incidents (defaults)`: what a new series gets (lib/observation/series-replay.ts): detections are
 *   the points where an incident opens;
 * - `per-point, old default (robust)`: every point the old default detector (`robust`, threshold 4) flagged;
 * - `per-point, default detector`: every point the new default detector flags on its own;
 * - `incidents, Numenta's short window (10)`: the tracker with Numenta's averaging window, for comparison.
 *
 * `--grid` prints the tuning grid's best settings on the tune split only (how the defaults were chosen).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseSeriesCsv } from '../lib/observation/csv.ts';
import { DEFAULT_DETECTOR, DEFAULT_DETECTOR_CONFIG, initSeriesState, updateSeriesState } from '../lib/observation/detector-registry.ts';
import { type IncidentConfig, initIncidents, updateIncidents } from '../lib/observation/incidents.ts';
import { anomalyWindows, labelOnsets, type NabSeriesScore, normalisedScore, scoreDetections } from '../lib/observation/nab-score.ts';
import { replayPoints } from '../lib/observation/series-replay.ts';

const fixtures = fileURLToPath(new URL('../test/fixtures/observation/', import.meta.url));
const CORPORA = ['microsoft-cloud-monitoring', 'smap-msl'] as const;
/** The published NAB scoreboard (standard profile), for the README's comparison. */
const NAB_BOARD = 'Numenta HTM 70.5, CAD OSE 69.9, KNN CAD 58.0, Random Cut Forest 51.7, windowed Gaussian 39.6';

interface Series {
  name: string;
  points: { timestamp: number; value: number }[];
  labels: boolean[];
}

type Split = 'tune' | 'held-out';

function loadCorpus(corpus: string, split: Split): Series[] {
  const files = (JSON.parse(readFileSync(`${fixtures}${corpus}/split.json`, 'utf8')) as Record<Split, string[]>)[split];
  return files.map((file) => {
    const points: Series['points'] = [];
    const labels: boolean[] = [];
    for (const row of parseSeriesCsv(readFileSync(`${fixtures}${corpus}/${file}`, 'utf8'))) {
      const last = points.at(-1);
      if (last && row.timestamp <= last.timestamp) continue;
      points.push({ timestamp: row.timestamp, value: row.value });
      labels.push(row.extra[0] === '1');
    }
    return { name: file, points, labels };
  });
}

function nab(series: Series, detections: readonly boolean[]): NabSeriesScore {
  const rows = series.points.length;
  return scoreDetections(rows, anomalyWindows(rows, labelOnsets(series.labels)), detections);
}

/** Detector scores of a series, computed once per detector setup. */
function detectorRun(series: Series, detector: string, config: Record<string, unknown>) {
  let state = initSeriesState(detector, config);
  return series.points.map((point) => {
    const update = updateSeriesState(state, point);
    state = update.state;
    return { score: update.score, anomaly: update.anomaly, scored: !update.evidence.warmingUp && update.evidence.skipped === undefined };
  });
}

function incidentAlerts(series: Series, run: ReturnType<typeof detectorRun>, settings: Partial<IncidentConfig>): boolean[] {
  let tracker = initIncidents(settings);
  return series.points.map((point, i) => {
    const decision = run[i];
    if (!decision?.scored) return false;
    const update = updateIncidents(tracker, { ...point, score: decision.score });
    tracker = update.state;
    return update.opened !== undefined;
  });
}

interface Row {
  label: string;
  detections: (series: Series) => boolean[];
}

const rows: Row[] = [
  { label: 'incidents (defaults)', detections: (series) => replayPoints(series.points, defaultSetup()).map((point) => point.alert) },
  { label: 'per-point, old default (robust)', detections: (series) => detectorRun(series, 'robust', {}).map((point) => point.anomaly) },
  {
    label: 'per-point, default detector',
    detections: (series) => detectorRun(series, DEFAULT_DETECTOR, { ...DEFAULT_DETECTOR_CONFIG }).map((point) => point.anomaly),
  },
  {
    label: "incidents, Numenta's short window (10)",
    detections: (series) =>
      incidentAlerts(series, detectorRun(series, DEFAULT_DETECTOR, { ...DEFAULT_DETECTOR_CONFIG }), { shortWindow: 10 }),
  },
];

function defaultSetup() {
  return { detector: DEFAULT_DETECTOR, config: { ...DEFAULT_DETECTOR_CONFIG } };
}

function report(split: Split): void {
  console.log(`## ${split} split (NAB standard profile, normalised: 0 = no detections, 100 = perfect)\n`);
  console.log('| corpus | series | windows | row | score | windows found | false positives | detections |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const corpus of CORPORA) {
    const data = loadCorpus(corpus, split);
    for (const row of rows) {
      const scores = data.map((series) => {
        const detections = row.detections(series);
        return { ...nab(series, detections), detections: detections.filter(Boolean).length };
      });
      const sum = (key: 'windows' | 'detectedWindows' | 'falsePositives' | 'detections') => scores.reduce((total, s) => total + s[key], 0);
      const score = normalisedScore(scores);
      console.log(
        `| ${corpus} | ${data.length} | ${sum('windows')} | ${row.label} | ${score === null ? 'n/a' : score.toFixed(1)} | ${sum('detectedWindows')} | ${sum('falsePositives')} | ${sum('detections')} |`,
      );
    }
  }
  console.log(`\nPublished NAB board (NAB's own corpus, for scale): ${NAB_BOARD}.\n`);
}

/** The tuning grid, on the tune split only: the default detector's settings × the tracker's main settings. */
function grid(): void {
  const data = Object.fromEntries(CORPORA.map((corpus) => [corpus, loadCorpus(corpus, 'tune')])) as Record<string, Series[]>;
  const detectors: Record<string, unknown>[] = [
    { lambda: 0.05 },
    { lambda: 0.02 },
    { lambda: 0.02, clip: 6 },
    { lambda: 0.02, clip: 6, warmup: 60 },
  ];
  const trackers: Partial<IncidentConfig>[] = [];
  for (const shortWindow of [1, 10])
    for (const openLevel of [0.4, 0.5, 0.6])
      for (const minScore of [0, 3]) for (const tailBins of [0, 10]) trackers.push({ shortWindow, openLevel, minScore, tailBins });
  const results: { line: string; worst: number }[] = [];
  for (const detector of detectors) {
    const runs = Object.fromEntries(
      CORPORA.map((corpus) => [corpus, (data[corpus] ?? []).map((series) => detectorRun(series, 'ewma', detector))]),
    );
    for (const tracker of trackers) {
      const scores = CORPORA.map(
        (corpus) =>
          normalisedScore((data[corpus] ?? []).map((series, i) => nab(series, incidentAlerts(series, runs[corpus]?.[i] ?? [], tracker)))) ??
          0,
      );
      results.push({
        worst: Math.min(...scores),
        line: `| ewma ${JSON.stringify(detector)} | ${JSON.stringify(tracker)} | ${scores.map((s) => s.toFixed(1)).join(' | ')} |`,
      });
    }
  }
  results.sort((a, b) => b.worst - a.worst);
  console.log('## Tuning grid, tune split only (best 10 by the worse of the two corpora)\n');
  console.log(`| detector | tracker | ${CORPORA.join(' | ')} |`);
  console.log(`|---|---|${CORPORA.map(() => '---').join('|')}|`);
  for (const { line } of results.slice(0, 10)) console.log(line);
  console.log('');
}

const { values } = parseArgs({ options: { split: { type: 'string', default: 'held-out' }, grid: { type: 'boolean', default: false } } });
if (!['tune', 'held-out', 'all'].includes(values.split)) {
  console.error('usage: node bench/incidents.ts [--split held-out|tune|all] [--grid]');
  process.exit(2);
}
console.log('# Incident alerts on labelled public corpora\n');
if (values.grid) grid();
for (const split of values.split === 'all' ? (['tune', 'held-out'] as const) : [values.split as Split]) report(split);
