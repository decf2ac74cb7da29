/**
 * The outside verifier, run as a separate process exactly as an auditor would run it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateSigningKey, signCheckpoint } from '../../lib/audit/checkpoint.ts';
import { writeExport } from '../../lib/audit/export.ts';
import { buildStream } from '../helpers/audit-stream.ts';

const bin = fileURLToPath(new URL('../../bin/autonomy-verify.mjs', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

type Line = Record<string, unknown> & { type: string };
type Edit = (lines: Line[]) => Line[];

const entrySeq = (line: Line) => (line.type === 'entry' ? (line.entry as { seq: number }).seq : -1);

describe('autonomy-verify CLI', () => {
  const stream = buildStream(12, { checkpointEvery: 4 });
  const text = writeExport({ ...stream, exportedAt: '2025-02-01T00:00:00.000Z' });
  let dir = '';
  let keysPath = '';

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-verify-'));
    keysPath = path.join(dir, 'keys.json');
    await writeFile(keysPath, JSON.stringify(stream.keys));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function exportFile(name: string, edit?: Edit): Promise<string> {
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Line);
    const file = path.join(dir, `${name}.jsonl`);
    await writeFile(file, `${(edit ? edit(lines) : lines).map((line) => JSON.stringify(line)).join('\n')}\n`);
    return file;
  }

  it('exits 0 with a summary when the export is intact', async () => {
    const result = await run(['--export', await exportFile('intact'), '--keys', keysPath]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^INTACT acme\/ops \(seq 0\.\.11\)/);
    assert.match(result.stdout, /entries verified: +12/);
    assert.match(result.stdout, /checkpoints verified: +3 \(latest covers 12 entries\)/);
    assert.match(result.stdout, /proofs verified: +14/);
  });

  const tamperings: { name: string; edit: Edit; seq: number; reason: string }[] = [
    {
      name: 'one changed byte of a payload',
      edit: (lines) =>
        lines.map((line) => (entrySeq(line) === 5 ? { ...line, payload: { ...(line.payload as object), text: 'event 5 ✗' } } : line)),
      seq: 5,
      reason: 'payload-mismatch',
    },
    {
      name: 'a changed entry field',
      edit: (lines) =>
        lines.map((line) => (entrySeq(line) === 7 ? { ...line, entry: { ...(line.entry as object), actor: 'mallory' } } : line)),
      seq: 7,
      reason: 'hash-mismatch',
    },
    { name: 'a deleted entry', edit: (lines) => lines.filter((line) => entrySeq(line) !== 5), seq: 5, reason: 'gap' },
    {
      name: 'two swapped entries',
      edit: (lines) => {
        const copy = [...lines];
        const five = copy.findIndex((line) => entrySeq(line) === 5);
        [copy[five], copy[five + 1]] = [copy[five + 1] as Line, copy[five] as Line];
        return copy;
      },
      seq: 5,
      reason: 'reorder',
    },
    {
      name: 'a replaced checkpoint',
      edit: (lines) =>
        lines.map((line) =>
          line.type === 'checkpoint' && (line.checkpoint as { treeSize: number }).treeSize === 8
            ? { ...line, checkpoint: { ...(line.checkpoint as object), rootHash: 'ab'.repeat(32) } }
            : line,
        ),
      seq: 4,
      reason: 'bad-signature',
    },
    {
      name: 'a checkpoint re-signed with a foreign key',
      edit: (lines) => {
        const foreign = generateSigningKey();
        return lines.map((line) => {
          if (line.type !== 'checkpoint' || (line.checkpoint as { treeSize: number }).treeSize !== 8) return line;
          const { signature: _signature, ...body } = line.checkpoint as Parameters<typeof signCheckpoint>[0] & { signature: string };
          return { ...line, checkpoint: signCheckpoint({ ...body, keyId: foreign.keyId }, foreign) };
        });
      },
      seq: 4,
      reason: 'unknown-key',
    },
  ];

  for (const tampering of tamperings) {
    it(`exits 1 naming seq ${tampering.seq} and ${tampering.reason} for ${tampering.name}`, async () => {
      const file = await exportFile(tampering.reason, tampering.edit);
      const result = await run(['--export', file, '--keys', keysPath]);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stdout, new RegExp(`^BROKEN acme/ops: first bad seq ${tampering.seq}, reason ${tampering.reason}\\n`));
    });
  }

  it('accepts a saved GET /audit/keys reply (the response envelope) as --keys', async () => {
    const envelopeKeys = path.join(dir, 'keys-envelope.json');
    await writeFile(
      envelopeKeys,
      JSON.stringify({ status: 'success', result: stream.keys, logs: [], provenance: [{ engine: 'audit', action: 'keys' }], timestamp: '2025-01-01T00:00:00.000Z' }),
    );
    const result = await run(['--export', await exportFile('envelope'), '--keys', envelopeKeys]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^INTACT acme\/ops/);
  });

  it('exits 3 naming the line of a malformed export, and for a malformed key file', async () => {
    const file = path.join(dir, 'malformed.jsonl');
    const lines = text.trim().split('\n');
    await writeFile(file, [...lines.slice(0, 3), '{"type":"entry"', ...lines.slice(4)].join('\n'));
    const result = await run(['--export', file, '--keys', keysPath]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /line 4: not JSON/);
    const badKeys = path.join(dir, 'bad-keys.json');
    await writeFile(badKeys, JSON.stringify({ keys: [{ keyId: 'nope' }] }));
    const keysResult = await run(['--export', await exportFile('for-bad-keys'), '--keys', badKeys]);
    assert.equal(keysResult.code, 3);
    assert.match(keysResult.stderr, /is not a key set: keys\.0\.keyId/);
  });

  it('exits 2 on usage errors', async () => {
    const file = await exportFile('usage');
    for (const args of [
      [],
      ['--export', file],
      ['--export', file, '--keys'],
      ['--export', file, '--keys', keysPath, '--fast'],
      ['--export', file, '--keys', path.join(dir, 'missing.json')],
    ]) {
      const result = await run(args);
      assert.equal(result.code, 2, `args ${args.join(' ')}`);
      assert.match(result.stderr, /autonomy-verify: /);
    }
  });

  it('prints usage and exits 0 for --help, and accepts --flag=value', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: autonomy-verify --export/);
    const inline = await run([`--export=${await exportFile('inline')}`, `--keys=${keysPath}`]);
    assert.equal(inline.code, 0, inline.stderr);
  });
});
