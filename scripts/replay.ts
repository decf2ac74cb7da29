/**
 * Replays a `timestamp,value` CSV the way the service would see it.
 *   node scripts/replay.ts --file <series.csv>
 *     exactly what a new series gets (the default detector and settings, then the incident tracker):
 *     prints `timestamp,value,score,anomaly,alert`, `alert` 1 where an incident opens
 *     (`observation.incident.opened`), else 0;
 *   node scripts/replay.ts --file <series.csv> --detector <robust|seasonal|ewma> [--config '{"threshold":4}']
 *     one detector's per-point decisions: `timestamp,value,score,anomaly`.
 * Uses the same code as the service. Exit codes: 0 ok, 2 usage or input error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ValidationError } from '../lib/errors.ts';
import { CsvLineError, parseSeriesCsv } from '../lib/observation/csv.ts';
import {
  DEFAULT_DETECTOR,
  DEFAULT_DETECTOR_CONFIG,
  detectorNames,
  initSeriesState,
  isDetectorName,
  updateSeriesState,
} from '../lib/observation/detector-registry.ts';
import { replayPoints } from '../lib/observation/series-replay.ts';

const USAGE = "usage: node scripts/replay.ts --file <series.csv> [--detector <name> [--config '<json>']]";

function fail(message: string): never {
  process.stderr.write(`replay: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function main(): void {
  let values: { file?: string; detector?: string; config?: string };
  try {
    ({ values } = parseArgs({
      options: { file: { type: 'string' }, detector: { type: 'string' }, config: { type: 'string' } },
      strict: true,
    }));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (!values.file) fail('--file is required');
  if (values.detector === undefined && values.config !== undefined) fail('--config needs --detector');
  if (values.detector !== undefined && !isDetectorName(values.detector))
    fail(`unknown detector '${values.detector}' (known: ${detectorNames.join(', ')})`);

  let config: Record<string, unknown> = {};
  if (values.config !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(values.config);
    } catch {
      fail('--config is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('--config must be a JSON object');
    config = parsed as Record<string, unknown>;
  }

  let text: string;
  try {
    text = readFileSync(values.file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    fail(code === 'ENOENT' ? `file not found: ${values.file}` : `cannot read ${values.file} (${code ?? 'error'})`);
  }

  let state: ReturnType<typeof initSeriesState>;
  let rows: ReturnType<typeof parseSeriesCsv>;
  try {
    state =
      values.detector === undefined
        ? initSeriesState(DEFAULT_DETECTOR, { ...DEFAULT_DETECTOR_CONFIG })
        : initSeriesState(values.detector, config);
    rows = parseSeriesCsv(text);
  } catch (error) {
    if (error instanceof CsvLineError || error instanceof ValidationError) fail(error.message);
    throw error;
  }

  if (values.detector === undefined) {
    // What a new series gets: the default detector, then the incident tracker on every scored point.
    const replayed = replayPoints(rows, { detector: DEFAULT_DETECTOR, config: { ...DEFAULT_DETECTOR_CONFIG } });
    const lines = ['timestamp,value,score,anomaly,alert'];
    replayed.forEach((row) => {
      const score = row.score === null ? '' : Number(row.score.toPrecision(6)).toString();
      lines.push(`${new Date(row.timestamp).toISOString()},${row.value},${score},${row.anomaly},${row.alert ? 1 : 0}`);
    });
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }

  const out: string[] = ['timestamp,value,score,anomaly'];
  for (const row of rows) {
    const result = updateSeriesState(state, row);
    state = result.state;
    const score = result.evidence.skipped ? '' : Number(result.score.toPrecision(6)).toString();
    out.push(`${new Date(row.timestamp).toISOString()},${row.value},${score},${result.anomaly}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main();
