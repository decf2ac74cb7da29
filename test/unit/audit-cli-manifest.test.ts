/**
 * The outside verifier on an export to S3 downloaded as is (`--manifest`): it reads the parts one
 * at a time and reaches the verdict it reaches on the parts concatenated, intact or tampered.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runExport } from '../../lib/audit/export-job.ts';
import {
  MemoryCheckpointStore,
  MemoryExportJobStore,
  MemoryExportObjectStore,
  MemoryLedgerStore,
  MemoryPayloadStore,
  MemoryPublishedKeyStore,
} from '../../lib/audit/memory-store.ts';
import { buildStream } from '../helpers/audit-stream.ts';

const bin = fileURLToPath(new URL('../../bin/autonomy-verify.mjs', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

describe('autonomy-verify --manifest', () => {
  const stream = buildStream(17, { checkpointEvery: 6 });
  let dir = '';
  let keysPath = '';
  let partNames: string[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-manifest-'));
    keysPath = path.join(dir, 'keys.json');
    await writeFile(keysPath, JSON.stringify(stream.keys));
    const ledger = new MemoryLedgerStore();
    ledger.load(stream.entries);
    const payloads = new MemoryPayloadStore();
    for (const [hash, payload] of stream.payloads) if (payload !== 'expired') await payloads.put('acme', hash, payload);
    const checkpoints = new MemoryCheckpointStore();
    for (const checkpoint of stream.checkpoints) await checkpoints.put(checkpoint);
    const publishedKeys = new MemoryPublishedKeyStore();
    await publishedKeys.publishAll('acme', stream.keys);
    const objects = new MemoryExportObjectStore();
    const deps = {
      ledger,
      payloads,
      checkpoints,
      publishedKeys,
      jobs: new MemoryExportJobStore(),
      objects,
      now: () => new Date('2025-06-01T12:00:00.000Z'),
    };
    const done = await runExport(deps, { tenant: 'acme', stream: 'ops' }, { pageSize: 5 });
    assert.equal(done.status, 'complete');
    // As `aws s3 cp --recursive` lays them out: every object under its last key segment.
    for (const key of objects.keys()) await writeFile(path.join(dir, path.basename(key)), (await objects.get(key)) ?? '');
    partNames = done.parts.map((part) => path.basename(part.key));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A copy of the downloaded export in its own folder, with one part edited or removed. */
  async function copy(
    name: string,
    edit?: { part: string; change: (text: string) => string | undefined },
  ): Promise<{ manifest: string; concatenated: string }> {
    const target = path.join(dir, name);
    await rm(target, { recursive: true, force: true });
    await mkdir(target);
    for (const part of [...partNames, 'manifest.json'])
      await writeFile(path.join(target, part), await readFile(path.join(dir, part), 'utf8'));
    if (edit !== undefined) {
      const file = path.join(target, edit.part);
      const changed = edit.change(await readFile(file, 'utf8'));
      if (changed === undefined) await unlink(file);
      else await writeFile(file, changed);
    }
    const concatenated = path.join(target, 'all.jsonl');
    const texts = await Promise.all(partNames.map((part) => readFile(path.join(target, part), 'utf8').catch(() => '')));
    await writeFile(concatenated, texts.join(''));
    return { manifest: path.join(target, 'manifest.json'), concatenated };
  }

  it('verifies an intact export part by part, reporting what it reports on the parts concatenated', async () => {
    const { manifest, concatenated } = await copy('intact');
    const paged = await run(['--manifest', manifest, '--keys', keysPath]);
    assert.equal(paged.code, 0, paged.stderr);
    assert.match(paged.stdout, /^INTACT acme\/ops \(seq 0\.\.16\)\n {2}entries verified: +17\n {2}checkpoints verified: +3 /);
    const whole = await run(['--export', concatenated, '--keys', keysPath]);
    assert.equal(whole.stdout, paged.stdout);
  });

  it('names the first bad seq and reason a tampered page gives, as on the parts concatenated', async () => {
    const edits = [
      { part: 'page-000002.jsonl', change: (text: string) => text.replace('"text":"event 7', '"text":"event 7!') },
      { part: 'page-000003.jsonl', change: (text: string) => text.split('\n').slice(1).join('\n') },
      { part: 'page-000001.jsonl', change: (text: string) => text.replace('"actor":"user-1"', '"actor":"user-9"') },
    ];
    const expected = ['first bad seq 7, reason payload-mismatch', 'first bad seq 10, reason gap', 'first bad seq 1, reason hash-mismatch'];
    for (const [index, edit] of edits.entries()) {
      const { manifest, concatenated } = await copy(`tampered-${index}`, edit);
      const paged = await run(['--manifest', manifest, '--keys', keysPath]);
      assert.equal(paged.code, 1, paged.stdout + paged.stderr);
      assert.match(paged.stdout, new RegExp(`^BROKEN acme/ops: ${expected[index]}\\n`));
      assert.equal((await run(['--export', concatenated, '--keys', keysPath])).stdout, paged.stdout);
    }
  });

  it('exits 2 when a part is missing, 3 for a malformed manifest or a page holding other lines, 2 for --export with --manifest', async () => {
    const missing = await copy('missing', { part: 'page-000002.jsonl', change: () => undefined });
    assert.equal((await run(['--manifest', missing.manifest, '--keys', keysPath])).code, 2);
    const badManifest = await copy('bad-manifest', {
      part: 'manifest.json',
      change: (text) => text.replace('"autonomy-audit-export-manifest/1"', '"v2"'),
    });
    const malformed = await run(['--manifest', badManifest.manifest, '--keys', keysPath]);
    assert.deepEqual([malformed.code, /malformed manifest .*format/.test(malformed.stderr)], [3, true]);
    const checkpointInPage = await copy('page-with-checkpoint', {
      part: 'page-000001.jsonl',
      change: (text) => `${text}${JSON.stringify({ type: 'checkpoint', checkpoint: stream.checkpoints[0] })}\n`,
    });
    const mixed = await run(['--manifest', checkpointInPage.manifest, '--keys', keysPath]);
    assert.deepEqual([mixed.code, /page .*page-000001\.jsonl: line 6: a page holds entry lines only/.test(mixed.stderr)], [3, true]);
    assert.equal((await run(['--manifest', missing.manifest, '--export', missing.concatenated, '--keys', keysPath])).code, 2);
  });
});
