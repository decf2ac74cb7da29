import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validatingPublisher } from '../../lib/events/publisher.ts';
import { parseSeriesCsv } from '../../lib/observation/csv.ts';
import { ingest } from '../../lib/observation/ingest.ts';
import { memorySeriesStore } from '../../lib/observation/memory-store.ts';

const script = fileURLToPath(new URL('../../scripts/replay.ts', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'replay-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function csvFile(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function replay(...args: string[]) {
  return spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
}

const lines = ['timestamp,value'];
for (let i = 0; i < 80; i += 1)
  lines.push(`${new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString()},${10 + (i % 3) * 0.1 + (i === 60 ? 50 : 0)}`);
const series = csvFile('series.csv', `${lines.join('\n')}\n`);

describe('replay CLI', () => {
  it('prints timestamp,value,score,anomaly for each row and flags the spike', () => {
    const result = replay('--file', series, '--detector', 'robust', '--config', '{"threshold":4}');
    assert.equal(result.status, 0, result.stderr);
    const out = result.stdout.trim().split('\n');
    assert.equal(out[0], 'timestamp,value,score,anomaly');
    assert.equal(out.length, 81);
    const flagged = out.slice(1).filter((line) => line.endsWith(',true'));
    assert.deepEqual(
      flagged.map((line) => line.split(',')[0]),
      ['2026-01-01T01:00:00.000Z'],
    );
  });

  it('replays exactly what a new series gets without --detector, with an alert column where ingest opens incidents', async () => {
    // 400 minutes of a noisy level with two shifts; replayed by the CLI and ingested in batches of 100.
    const rows: string[] = ['timestamp,value'];
    const points: { series: string; timestamp: string; value: number }[] = [];
    let seed = 3;
    for (let i = 0; i < 400; i += 1) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const value =
        Math.round((50 + 4 * (seed / 2147483648) + (i >= 200 && i < 215 ? 30 : 0) + (i >= 330 && i < 340 ? -25 : 0)) * 1000) / 1000;
      const timestamp = new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString();
      rows.push(`${timestamp},${value}`);
      points.push({ series: 'shifts', timestamp, value });
    }
    const result = replay('--file', csvFile('shifts.csv', `${rows.join('\n')}\n`));
    assert.equal(result.status, 0, result.stderr);
    const out = result.stdout.trim().split('\n');
    assert.equal(out[0], 'timestamp,value,score,anomaly,alert');
    assert.equal(out.length, 401);
    const alerts = out
      .slice(1)
      .filter((line) => line.endsWith(',1'))
      .map((line) => line.split(',')[0]);

    const sent: { detailType: string; detail: string }[] = [];
    const deps = {
      store: memorySeriesStore(),
      publisher: validatingPublisher({
        async putEvents(entries) {
          sent.push(...entries);
          return entries.map((_, i) => ({ eventId: `e${sent.length + i}` }));
        },
      }),
      now: () => new Date(Date.UTC(2026, 0, 2)),
    };
    for (let start = 0; start < points.length; start += 100) await ingest('acme', points.slice(start, start + 100), deps);
    const opened = sent
      .filter((entry) => entry.detailType === 'observation.incident.opened')
      .map((entry) => JSON.parse(entry.detail).start);
    assert.deepEqual(alerts, opened);
    assert.ok(alerts.includes('2026-01-01T03:20:00.000Z'), `the shift at minute 200 opens an incident: ${alerts.join(', ')}`);
  });

  it('refuses --config without --detector', () => {
    const result = replay('--file', series, '--config', '{"threshold":4}');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--config needs --detector/);
  });

  it('accepts epoch-second timestamps without a header', () => {
    const file = csvFile('epoch.csv', '1767225600,1\n1767225660,2\n');
    const result = replay('--file', file, '--detector', 'ewma');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^timestamp,value,score,anomaly\n2026-01-01T00:00:00.000Z,1,0,false\n/);
  });

  it('exits 2 naming a missing file', () => {
    const result = replay('--file', path.join(dir, 'absent.csv'), '--detector', 'robust');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /file not found/);
  });

  it('exits 2 naming an unknown detector', () => {
    const result = replay('--file', series, '--detector', 'prophet');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown detector 'prophet'/);
  });

  it('exits 2 with the line number of a malformed line', () => {
    const file = csvFile('bad.csv', 'timestamp,value\n2026-01-01T00:00:00Z,1\n2026-01-01T00:01:00Z,abc\n');
    const result = replay('--file', file, '--detector', 'robust');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /line 3: invalid value 'abc'/);
  });

  it('exits 2 on an invalid config', () => {
    assert.equal(replay('--file', series, '--detector', 'robust', '--config', '{bad').status, 2);
    const invalid = replay('--file', series, '--detector', 'robust', '--config', '{"threshold":-1}');
    assert.equal(invalid.status, 2);
    assert.match(invalid.stderr, /config\.threshold/);
  });
});

describe('parseSeriesCsv', () => {
  it('reads quoted ISO timestamps, epoch ms and extra columns', () => {
    const rows = parseSeriesCsv('"2026-01-01 00:00:00",1,0\n1767225660000,2,1\n');
    assert.deepEqual(
      rows.map((r) => [r.timestamp, r.value, r.extra]),
      [
        [Date.UTC(2026, 0, 1), 1, ['0']],
        [Date.UTC(2026, 0, 1, 0, 1), 2, ['1']],
      ],
    );
  });
  it('rejects a bad timestamp with its line number', () => {
    assert.throws(() => parseSeriesCsv('t,v\nnot-a-time,1\n'), /line 2: invalid timestamp/);
  });
});
