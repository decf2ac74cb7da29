import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSeriesCsv } from '../../lib/observation/csv.ts';

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
