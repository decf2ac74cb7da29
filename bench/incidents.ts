/**
 * Incident alerts scored with the Numenta Anomaly Benchmark's standard profile on labelled public
 * corpora (not NAB's own data): the defaults every new series gets, against the per-point alarms.
 *   node bench/incidents.ts [--split held-out|tune|all] [--grid] [--cv [--family <text>]]
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
 *
 * `--cv` cross-validates choices within the tune split only (held-out series are never loaded): the tune
 * series of each corpus are halved at random 100 times (seed fixed); for a family of settings, the
 * best on one half (by the mean of the two corpora's normalised scores) is scored on the other half,
 * both ways. The mean of those scores estimates what tuning within that family is worth on series it
 * did not see; the family's best on the whole tune split is printed beside it. Then each single change
 * to the defaults: its mean difference on the halves, and the difference when it is adopted only on
 * halves where it wins on the other half; and the same for "the best single change on one half".
 * Then other base detectors and ensembles against the defaults, paired on the same halves: the `knn`
 * detector (conformal k-nearest-neighbour distance of the recent shape) alone, and "either tracker":
 * the default `ewma` and its tracker beside a second detector with its own tracker, one incident at
 * a time (an alert where either opens while neither was open). `--family <text>` runs only the
 * families whose name contains the text (and the paired tables).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseSeriesCsv } from '../lib/observation/csv.ts';
import { DEFAULT_DETECTOR, DEFAULT_DETECTOR_CONFIG, initSeriesState, updateSeriesState } from '../lib/observation/detector-registry.ts';
import { type IncidentConfig, initIncidents, updateIncidents } from '../lib/observation/incidents.ts';
import { anomalyWindows, labelOnsets, type NabSeriesScore, normalisedScore, scoreDetections } from '../lib/observation/nab-score.ts';
import { replayPoints } from '../lib/observation/series-replay.ts';
import { requireDataset } from './datasets.ts';

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
  requireDataset('bench/incidents.ts', `${fixtures}${corpus}`, files);
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

/** A candidate setup for cross-validation: a detector with its settings, and tracker settings. */
interface Candidate {
  label: string;
  detector: string;
  config: Record<string, unknown>;
  tracker: Partial<IncidentConfig>;
  /** A second detector with its own tracker: an alert where either opens while neither was open. */
  second?: { detector: string; config: Record<string, unknown>; tracker: Partial<IncidentConfig> };
}

/**
 * Two detectors, each with its own tracker, as one alert stream: an alert where either tracker opens
 * an incident while neither had one open (the max of the two likelihoods, one incident at a time).
 */
function eitherTrackerAlerts(
  series: Series,
  first: ReturnType<typeof detectorRun>,
  firstSettings: Partial<IncidentConfig>,
  second: ReturnType<typeof detectorRun>,
  secondSettings: Partial<IncidentConfig>,
): boolean[] {
  let a = initIncidents(firstSettings);
  let b = initIncidents(secondSettings);
  return series.points.map((point, i) => {
    const wasOpen = a.open !== null || b.open !== null;
    let opened = false;
    const da = first[i];
    if (da?.scored) {
      const update = updateIncidents(a, { ...point, score: da.score });
      a = update.state;
      opened ||= update.opened !== undefined;
    }
    const db = second[i];
    if (db?.scored) {
      const update = updateIncidents(b, { ...point, score: db.score });
      b = update.state;
      opened ||= update.opened !== undefined;
    }
    return opened && !wasOpen;
  });
}

/** Settings of the `knn` detector tried under the tracker (window and calibration bound its state). */
const KNN_CONFIGS: Record<string, unknown>[] = combinations({ dim: [8, 16], k: [3, 5], window: [96, 192], calibration: [32, 96] });
/** Tracker settings tried with `knn` (its scores are heavier-tailed than a control chart's). */
const KNN_TRACKERS = combinations({ minScore: [3, 6, 10, 20], openLevel: [0.5, 0.7] }) as Partial<IncidentConfig>[];

/** Every combination of the values of each axis. */
function combinations(axes: Record<string, readonly unknown[]>): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(axes)) out = out.flatMap((partial) => values.map((value) => ({ ...partial, [key]: value })));
  return out;
}

/** A deterministic PRNG (mulberry32): the halvings are the same on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let r = Math.imul(state ^ (state >>> 15), state | 1);
    r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const CV_HALVINGS = 100;
const CV_SEED = 20261201;
const DEFAULT_EWMA = { ...DEFAULT_DETECTOR_CONFIG } as Record<string, unknown>;

/** The families of settings compared (each a plausible way to tune the defaults). */
function cvFamilies(): { name: string; candidates: Candidate[] }[] {
  const ewma = (config: Record<string, unknown>, tracker: Partial<IncidentConfig>, label: string): Candidate => ({
    label,
    detector: 'ewma',
    config,
    tracker,
  });
  const trackerGrid = combinations({ saturation: [8, 16, 32], minScore: [3, 4, 6], openLevel: [0.5, 0.6] }) as Partial<IncidentConfig>[];
  const withTrackers = (detector: string, config: Record<string, unknown>) =>
    trackerGrid.map((tracker) => ({
      label: `${detector} ${JSON.stringify(config)} ${JSON.stringify(tracker)}`,
      detector,
      config,
      tracker,
    }));
  const benchGrid: Candidate[] = [];
  for (const detector of [{ lambda: 0.05 }, { lambda: 0.02 }, { lambda: 0.02, clip: 6 }, { lambda: 0.02, clip: 6, warmup: 60 }])
    for (const tracker of combinations({ shortWindow: [1, 10], openLevel: [0.4, 0.5, 0.6], minScore: [0, 3], tailBins: [0, 10] }))
      benchGrid.push(ewma(detector, tracker, `${JSON.stringify(detector)} ${JSON.stringify(tracker)}`));
  return [
    { name: 'the defaults alone (chosen on the whole tune split: not an estimate)', candidates: [ewma(DEFAULT_EWMA, {}, 'defaults')] },
    { name: 'the --grid family (how the defaults were chosen)', candidates: benchGrid },
    {
      name: 'detector: ewma λ × clip × warm-up',
      candidates: combinations({ lambda: [0.01, 0.015, 0.02, 0.03, 0.05], clip: [3, 4, 6, 8], warmup: [30, 45, 60, 90] }).map((config) =>
        ewma(config, {}, JSON.stringify(config)),
      ),
    },
    {
      name: 'tracker: openLevel × minScore × saturation × tailBins',
      candidates: combinations({
        openLevel: [0.4, 0.5, 0.6, 0.7],
        minScore: [0, 3, 4, 5],
        saturation: [4, 8, 16],
        tailBins: [0, 10, 20],
      }).map((tracker) => ewma(DEFAULT_EWMA, tracker, JSON.stringify(tracker))),
    },
    {
      name: 'rarer incidents: openLevel × minScore',
      candidates: combinations({ openLevel: [0.5, 0.6, 0.7, 0.8, 0.9], minScore: [3, 4, 5, 6, 8] }).map((tracker) =>
        ewma(DEFAULT_EWMA, tracker, JSON.stringify(tracker)),
      ),
    },
    {
      name: "Numenta's settings (window 10, learning period, no histogram)",
      candidates: combinations({
        learningPeriod: [0, 100, 288],
        estimationSamples: [64, 100],
        openLevel: [0.4, 0.5, 0.6],
        saturation: [2, 8],
      }).map((tracker) =>
        ewma(DEFAULT_EWMA, { ...tracker, shortWindow: 10, tailBins: 0, minScore: 0, longWindow: 8640 }, JSON.stringify(tracker)),
      ),
    },
    {
      name: 'base detector: robust (median/MAD) × tracker',
      candidates: [32, 64, 128].flatMap((windowSize) => withTrackers('robust', { windowSize, warmup: Math.min(windowSize, 60) })),
    },
    {
      name: 'base detector: seasonal (m = 24) × tracker',
      candidates: [{ seasonLength: 24 }, { seasonLength: 24, huberK: 3, lambda: 0.02 }].flatMap((config) =>
        withTrackers('seasonal', config),
      ),
    },
    {
      name: 'suppression: closeAfter × closeLevel',
      candidates: combinations({ closeAfter: [1, 3, 5, 10, 30], closeLevel: [0.05, 0.1, 0.2, 0.3] }).map((tracker) =>
        ewma(DEFAULT_EWMA, tracker, JSON.stringify(tracker)),
      ),
    },
    {
      name: 'familiar transitions: familiarTransitions × familiarVisits × familiarMemory (0: rule off)',
      candidates: [
        ewma(DEFAULT_EWMA, { familiarTransitions: 0 }, 'rule off'),
        ...combinations({ familiarTransitions: [8, 16, 32, 64], familiarVisits: [1, 2, 3], familiarMemory: [500, 1000, 2000, 5000] }).map(
          (tracker) => ewma(DEFAULT_EWMA, tracker, JSON.stringify(tracker)),
        ),
      ],
    },
    {
      name: 'base detector: knn (conformal kNN of the recent shape) × tracker',
      candidates: KNN_CONFIGS.flatMap((config) =>
        KNN_TRACKERS.map((tracker) => ({
          label: `knn ${JSON.stringify(config)} ${JSON.stringify(tracker)}`,
          detector: 'knn',
          config,
          tracker,
        })),
      ),
    },
    {
      name: 'either tracker: defaults + knn × its tracker',
      candidates: KNN_CONFIGS.flatMap((config) =>
        KNN_TRACKERS.map((tracker) => ({
          ...ewma(DEFAULT_EWMA, {}, `+ knn ${JSON.stringify(config)} ${JSON.stringify(tracker)}`),
          second: { detector: 'knn', config, tracker },
        })),
      ),
    },
    {
      name: 'warm-up: detector warm-up × estimationSamples',
      candidates: combinations({ warmup: [30, 45, 60, 90], estimationSamples: [16, 32, 64, 96] }).map(({ warmup, ...tracker }) =>
        ewma({ ...DEFAULT_EWMA, warmup }, tracker, JSON.stringify({ warmup, ...tracker })),
      ),
    },
  ];
}

/** Single changes to the defaults, one setting at a time. */
function singleChanges(): Candidate[] {
  const changes: Candidate[] = [];
  const detectorAxes: Record<string, readonly number[]> = {
    lambda: [0.01, 0.015, 0.025, 0.03],
    clip: [3, 4, 5, 8],
    warmup: [30, 45, 75, 90],
  };
  for (const [key, values] of Object.entries(detectorAxes))
    for (const value of values)
      changes.push({ label: `${key} ${value}`, detector: 'ewma', config: { ...DEFAULT_EWMA, [key]: value }, tracker: {} });
  const trackerAxes: Record<string, readonly number[]> = {
    estimationSamples: [16, 32, 48, 96],
    openLevel: [0.4, 0.45, 0.55, 0.6],
    minScore: [2, 2.5, 3.5, 4],
    closeAfter: [1, 5, 10],
    shortWindow: [2, 10],
    longWindow: [250, 1000, 8640],
    saturation: [6, 10, 12],
    tailBins: [8, 12, 15],
    rangeTolerance: [0, 0.1],
    learningPeriod: [50, 150],
    familiarTransitions: [0, 8, 32],
    familiarVisits: [1, 3],
    familiarMemory: [1000, 5000],
    familiarScore: [0, 1],
  };
  for (const [key, values] of Object.entries(trackerAxes))
    for (const value of values)
      changes.push({ label: `${key} ${value}`, detector: 'ewma', config: DEFAULT_EWMA, tracker: { [key]: value } });
  // A second detector beside the defaults (either tracker): knn with its defaults, under a strict tracker.
  for (const tracker of [
    { minScore: 10, openLevel: 0.7 },
    { minScore: 20, openLevel: 0.7 },
    { minScore: 10, openLevel: 0.8 },
  ])
    changes.push({
      label: `+ knn, tracker ${JSON.stringify(tracker)}`,
      detector: 'ewma',
      config: DEFAULT_EWMA,
      tracker: {},
      second: { detector: 'knn', config: {}, tracker },
    });
  return changes;
}

interface CvSeries extends Series {
  corpus: number;
}

/** Leave-half-out cross-validation on the tune split (see the module comment). */
function crossValidate(familyFilter?: string): void {
  const data: CvSeries[] = CORPORA.flatMap((corpus, c) => loadCorpus(corpus, 'tune').map((series) => ({ ...series, corpus: c })));
  const runs = new Map<string, ReturnType<typeof detectorRun>[]>();
  const scored = new Map<string, NabSeriesScore[]>();
  const scoresOf = (candidate: Candidate): NabSeriesScore[] => {
    const key = `${candidate.detector} ${JSON.stringify(candidate.config)} ${JSON.stringify(candidate.tracker)} ${JSON.stringify(candidate.second ?? null)}`;
    const cached = scored.get(key);
    if (cached) return cached;
    const runOf = (detector: string, config: Record<string, unknown>) => {
      const runKey = `${detector} ${JSON.stringify(config)}`;
      let run = runs.get(runKey);
      if (!run) {
        run = data.map((series) => detectorRun(series, detector, config));
        runs.set(runKey, run);
      }
      return run;
    };
    const run = runOf(candidate.detector, candidate.config);
    const { second } = candidate;
    const secondRun = second ? runOf(second.detector, second.config) : [];
    const scores = data.map((series, i) =>
      nab(
        series,
        second
          ? eitherTrackerAlerts(series, run[i] ?? [], candidate.tracker, secondRun[i] ?? [], second.tracker)
          : incidentAlerts(series, run[i] ?? [], candidate.tracker),
      ),
    );
    scored.set(key, scores);
    return scores;
  };
  const random = mulberry32(CV_SEED);
  const halvings: boolean[][] = [];
  for (let h = 0; h < CV_HALVINGS; h += 1) {
    const inFirst = data.map(() => false);
    CORPORA.forEach((_, c) => {
      const members = data.flatMap((series, i) => (series.corpus === c ? [i] : []));
      for (let k = members.length - 1; k > 0; k -= 1) {
        const j = Math.floor(random() * (k + 1));
        [members[k], members[j]] = [members[j] as number, members[k] as number];
      }
      for (const i of members.slice(0, Math.floor(members.length / 2))) inFirst[i] = true;
    });
    halvings.push(inFirst);
  }
  // The score of a candidate on the series `keep` selects: per corpus, and their mean.
  const objective = (scores: readonly NabSeriesScore[], keep: (i: number) => boolean) => {
    const perCorpus = CORPORA.map((_, c) => normalisedScore(scores.filter((_, i) => data[i]?.corpus === c && keep(i))) ?? 0);
    return { perCorpus, mean: perCorpus.reduce((a, b) => a + b, 0) / perCorpus.length };
  };
  const folds = halvings.flatMap((inFirst) => [
    { select: (i: number) => inFirst[i] === true, judge: (i: number) => inFirst[i] !== true },
    { select: (i: number) => inFirst[i] !== true, judge: (i: number) => inFirst[i] === true },
  ]);
  const fmt = (x: number) => x.toFixed(1);
  console.log(`## Leave-half-out cross-validation, tune split only (${CV_HALVINGS} halvings × 2, seed ${CV_SEED})\n`);
  console.log(
    'Picked on one half by the mean of the two corpora, scored on the other half; "whole tune" is the family\'s best on all tune series.\n',
  );
  console.log(
    `| family | settings | whole tune: ${CORPORA.join(' | ')} | cross-validated: ${CORPORA.join(' | ')} | cross-validated mean |`,
  );
  console.log(`|---|---|${CORPORA.map(() => '---').join('|')}|${CORPORA.map(() => '---').join('|')}|---|`);
  for (const family of cvFamilies().filter((f) => familyFilter === undefined || f.name.includes(familyFilter))) {
    const table = family.candidates.map(scoresOf);
    const pick = (keep: (i: number) => boolean) => {
      let best = 0;
      let bestValue = Number.NEGATIVE_INFINITY;
      table.forEach((scores, k) => {
        const value = objective(scores, keep).mean;
        if (value > bestValue) {
          bestValue = value;
          best = k;
        }
      });
      return best;
    };
    const judged = folds.map((fold) => objective(table[pick(fold.select)] ?? [], fold.judge));
    const cvPer = CORPORA.map((_, c) => judged.reduce((sum, j) => sum + (j.perCorpus[c] ?? 0), 0) / judged.length);
    const whole = pick(() => true);
    const wholeScore = objective(table[whole] ?? [], () => true);
    console.log(
      `| ${family.name} (${family.candidates.length}) | ${family.candidates[whole]?.label} | ${wholeScore.perCorpus.map(fmt).join(' | ')} | ${cvPer.map(fmt).join(' | ')} | ${fmt(cvPer.reduce((a, b) => a + b, 0) / cvPer.length)} |`,
    );
  }
  const defaults = scoresOf({ label: 'defaults', detector: 'ewma', config: DEFAULT_EWMA, tracker: {} });
  const changes = singleChanges().filter((change) => familyFilter === undefined || change.label.includes(familyFilter));
  const changeScores = changes.map(scoresOf);
  console.log('\n### Single changes to the defaults (differences of the cross-validation mean; + is better than the defaults)\n');
  console.log('| change | whole tune (mean) | on the halves | adopted where it wins on the other half | halves it wins |');
  console.log('|---|---|---|---|---|');
  const base = folds.map((fold) => ({ select: objective(defaults, fold.select).mean, judge: objective(defaults, fold.judge).mean }));
  const rowsOut = changes.map((change, k) => {
    const scores = changeScores[k] ?? [];
    let paired = 0;
    let nested = 0;
    let wins = 0;
    folds.forEach((fold, f) => {
      const b = base[f] ?? { select: 0, judge: 0 };
      const judge = objective(scores, fold.judge).mean - b.judge;
      paired += judge;
      if (objective(scores, fold.select).mean > b.select) nested += judge;
      if (judge > 0) wins += 1;
    });
    return {
      change,
      whole: objective(scores, () => true).mean,
      paired: paired / folds.length,
      nested: nested / folds.length,
      wins: wins / folds.length,
    };
  });
  rowsOut.sort((a, b) => b.nested - a.nested);
  for (const row of rowsOut)
    console.log(
      `| ${row.change.label} | ${fmt(row.whole)} | ${row.paired >= 0 ? '+' : ''}${row.paired.toFixed(2)} | ${row.nested >= 0 ? '+' : ''}${row.nested.toFixed(2)} | ${Math.round(100 * row.wins)} % |`,
    );
  // The procedure "take the single change that does best on one half" (or none), judged on the other half.
  let greedy = 0;
  folds.forEach((fold, f) => {
    const b = base[f] ?? { select: 0, judge: 0 };
    let bestValue = b.select;
    let best = -1;
    changeScores.forEach((scores, k) => {
      const value = objective(scores, fold.select).mean;
      if (value > bestValue) {
        bestValue = value;
        best = k;
      }
    });
    if (best >= 0) greedy += objective(changeScores[best] ?? [], fold.judge).mean - b.judge;
  });
  console.log(
    `\nThe best single change on one half (or none), judged on the other half: ${greedy / folds.length >= 0 ? '+' : ''}${(greedy / folds.length).toFixed(2)} against the defaults.\n`,
  );
  // Other base detectors and ensembles: each family's pick on one half against the defaults on the other half.
  console.log('### Other detectors against the defaults, paired on the same halves (+ is better than the defaults)\n');
  console.log(`| setup (picked on one half) | cross-validated: ${CORPORA.join(' | ')} | mean | difference | halves it wins |`);
  console.log(`|---|${CORPORA.map(() => '---').join('|')}|---|---|---|`);
  for (const family of cvFamilies().filter((f) => f.name.startsWith('base detector: knn') || f.name.startsWith('either tracker'))) {
    const table = family.candidates.map(scoresOf);
    let diff = 0;
    let wins = 0;
    const per = CORPORA.map(() => 0);
    folds.forEach((fold, f) => {
      let best = 0;
      let bestValue = Number.NEGATIVE_INFINITY;
      table.forEach((scores, k) => {
        const value = objective(scores, fold.select).mean;
        if (value > bestValue) {
          bestValue = value;
          best = k;
        }
      });
      const judged = objective(table[best] ?? [], fold.judge);
      judged.perCorpus.forEach((value, c) => {
        per[c] = (per[c] ?? 0) + value / folds.length;
      });
      const d = judged.mean - (base[f]?.judge ?? 0);
      diff += d / folds.length;
      if (d > 0) wins += 1;
    });
    console.log(
      `| ${family.name} (${family.candidates.length}) | ${per.map(fmt).join(' | ')} | ${fmt(per.reduce((a, b) => a + b, 0) / per.length)} | ${diff >= 0 ? '+' : ''}${diff.toFixed(2)} | ${Math.round((100 * wins) / folds.length)} % |`,
    );
  }
  const defaultsPer = CORPORA.map(
    (_, c) => folds.reduce((sum, fold) => sum + (objective(defaults, fold.judge).perCorpus[c] ?? 0), 0) / folds.length,
  );
  console.log(
    `| the defaults (for reference; chosen on the whole tune split) | ${defaultsPer.map(fmt).join(' | ')} | ${fmt(defaultsPer.reduce((a, b) => a + b, 0) / defaultsPer.length)} | | |\n`,
  );
}

const { values } = parseArgs({
  options: {
    split: { type: 'string', default: 'held-out' },
    grid: { type: 'boolean', default: false },
    cv: { type: 'boolean', default: false },
    family: { type: 'string' },
  },
});
if (!['tune', 'held-out', 'all'].includes(values.split)) {
  console.error('usage: node bench/incidents.ts [--split held-out|tune|all] [--grid] [--cv [--family <text>]]');
  process.exit(2);
}
console.log('# Incident alerts on labelled public corpora\n');
if (values.grid) grid();
if (values.cv) crossValidate(values.family);
else for (const split of values.split === 'all' ? (['tune', 'held-out'] as const) : [values.split as Split]) report(split);
