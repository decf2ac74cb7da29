import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportVerifyInput, parseExport, writeExport } from '../../lib/audit/export.ts';
import { EXPORT_FORMAT, type PublicKeySet } from '../../lib/audit/schemas.ts';
import { type VerifyResult, verifyStream } from '../../lib/audit/verify.ts';
import { buildStream, type TestStream } from '../helpers/audit-stream.ts';

const EXPORTED_AT = '2025-02-01T00:00:00.000Z';

function exportOf(stream: TestStream, from = 0, to = stream.entries.length): string {
  return writeExport({
    tenant: stream.tenant,
    stream: stream.stream,
    entries: stream.entries.slice(from, to),
    payloads: stream.payloads,
    checkpoints: stream.checkpoints,
    tree: stream.tree,
    exportedAt: EXPORTED_AT,
  });
}

function verifyText(text: string, keys: PublicKeySet): VerifyResult {
  return verifyStream(exportVerifyInput(parseExport(text), keys));
}

type Line = Record<string, unknown> & { type: string };

function editLines(text: string, edit: (lines: Line[]) => Line[]): string {
  const lines = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
  return `${edit(lines)
    .map((line) => JSON.stringify(line))
    .join('\n')}\n`;
}

function assertBroken(result: VerifyResult, reason: string, firstBadSeq: number): void {
  assert.equal(result.intact, false, 'expected the export to be reported broken');
  if (!result.intact) assert.deepEqual({ reason: result.reason, firstBadSeq: result.firstBadSeq }, { reason, firstBadSeq }, result.detail);
}

describe('export: writing and parsing', () => {
  const stream = buildStream(12, { checkpointEvery: 4 });

  it('writes a header, entries, checkpoints and proofs, one JSON object per line', () => {
    const text = exportOf(stream);
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Line);
    assert.deepEqual(lines[0], {
      type: 'header',
      format: EXPORT_FORMAT,
      tenant: 'acme',
      stream: 'ops',
      from: 0,
      to: 12,
      exportedAt: EXPORTED_AT,
    });
    assert.equal(lines.filter((line) => line.type === 'entry').length, 12);
    assert.equal(lines.filter((line) => line.type === 'checkpoint').length, 3);
    assert.equal(lines.filter((line) => line.type === 'proof' && line.kind === 'consistency').length, 2);
    assert.equal(lines.filter((line) => line.type === 'proof' && line.kind === 'inclusion').length, 12);
    assert.ok(text.endsWith('\n'));
  });

  it('round-trips: the parsed export equals what was written', () => {
    const parsed = parseExport(exportOf(stream));
    assert.deepEqual(parsed.entries, stream.entries);
    assert.deepEqual(parsed.checkpoints, stream.checkpoints);
    assert.deepEqual(parsed.payloads, stream.payloads);
    assert.deepEqual(verifyText(exportOf(stream), stream.keys), {
      intact: true,
      entries: 12,
      checkpoints: 3,
      expiredPayloads: 0,
      proofs: 14,
      checkpointedEntries: 12,
    });
  });

  it('marks payloads deleted by retention and still verifies', () => {
    const payloads = new Map(stream.payloads);
    payloads.set(stream.entries[3]?.payloadHash ?? '', 'expired');
    const text = writeExport({ ...stream, payloads, exportedAt: EXPORTED_AT });
    assert.match(text, /"payloadExpired":true/);
    const result = verifyText(text, stream.keys);
    assert.equal(result.intact && result.expiredPayloads, 1);
  });

  it('names the line of the first malformed line', () => {
    const text = exportOf(stream);
    const lines = text.trim().split('\n');
    assert.throws(() => parseExport([...lines.slice(0, 2), '{oops', ...lines.slice(3)].join('\n')), {
      name: 'ExportFormatError',
      message: /^line 3: not JSON/,
    });
    const badEntry = editLines(text, (all) =>
      all.map((line, index) => (index === 4 ? { ...line, entry: { ...(line.entry as object), seq: -1 } } : line)),
    );
    assert.throws(() => parseExport(badEntry), { message: /^line 5: invalid entry line: .*seq/ });
    assert.throws(() => parseExport(lines.slice(1).join('\n')), { message: /^line 1: the first line must be the header/ });
    assert.throws(() => parseExport(''), { message: /^line 1: empty export/ });
    assert.throws(() => parseExport(`${lines[0]}\n{"type":"gossip"}\n`), { message: /^line 2: unknown line type "gossip"/ });
    assert.throws(() => parseExport(`${lines[0]}\n${lines[0]}\n`), { message: /^line 2: a second header/ });
  });

  it('refuses to write proofs without a tree that covers the latest checkpoint', () => {
    assert.throws(
      () => writeExport({ ...stream, tree: undefined, entries: stream.entries.slice(2), exportedAt: EXPORTED_AT }),
      /tree of at least 12 leaves/,
    );
  });
});

describe('export: verification', () => {
  const stream = buildStream(12, { checkpointEvery: 4 });

  it('verifies a partial export (seq 4..9) through its inclusion and consistency proofs alone', () => {
    const result = verifyText(exportOf(stream, 4, 10), stream.keys);
    assert.deepEqual(result, { intact: true, entries: 6, checkpoints: 3, expiredPayloads: 0, proofs: 8, checkpointedEntries: 12 });
  });

  it('detects a forged consistency proof in a partial export: inconsistent-checkpoint', () => {
    const text = editLines(exportOf(stream, 4, 10), (lines) =>
      lines.map((line) =>
        line.kind === 'consistency' && line.toSize === 12 ? { ...line, path: (line.path as string[]).map(() => 'ab'.repeat(32)) } : line,
      ),
    );
    assertBroken(verifyText(text, stream.keys), 'inconsistent-checkpoint', 8);
  });

  it('detects a removed inclusion proof in a partial export: checkpoint-root-mismatch at its seq', () => {
    const text = editLines(exportOf(stream, 4, 10), (lines) => lines.filter((line) => !(line.kind === 'inclusion' && line.seq === 6)));
    assertBroken(verifyText(text, stream.keys), 'checkpoint-root-mismatch', 6);
  });

  it('detects a tampered inclusion proof even when the roots can be recomputed', () => {
    const text = editLines(exportOf(stream), (lines) =>
      lines.map((line) => (line.kind === 'inclusion' && line.seq === 9 ? { ...line, path: [...(line.path as string[])].reverse() } : line)),
    );
    assertBroken(verifyText(text, stream.keys), 'checkpoint-root-mismatch', 9);
  });

  it('detects entries cut from the end of the declared range: gap', () => {
    const text = editLines(exportOf(stream, 0, 10), (lines) =>
      lines.filter((line) => !(line.type === 'entry' && (line.entry as { seq: number }).seq === 9)),
    );
    assertBroken(verifyText(text, stream.keys), 'gap', 9);
  });

  it('detects entries of another tenant under the header: fork', () => {
    const text = editLines(exportOf(stream), (lines) =>
      lines.map((line) => (line.type === 'header' ? { ...line, tenant: 'globex' } : line)),
    );
    assertBroken(verifyText(text, stream.keys), 'fork', 0);
  });
});
