/**
 * Exports to S3 on the in-memory ports: pages and a manifest under the tenant's prefix, written in
 * steps that resume from the saved record, and a verdict that matches the outside verifier's on
 * the concatenated parts and GET /audit/verify's, intact or tampered.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { signCheckpoint } from '../../lib/audit/checkpoint.ts';
import { verifyStored } from '../../lib/audit/engine.ts';
import { type ExportDeps, exportPageKey, newExportId, runExport } from '../../lib/audit/export-job.ts';
import { exportVerifyInput, parseExport } from '../../lib/audit/export.ts';
import {
  MemoryCheckpointStore,
  MemoryExportJobStore,
  MemoryExportObjectStore,
  MemoryLedgerStore,
  MemoryPayloadStore,
  MemoryPublishedKeyStore,
} from '../../lib/audit/memory-store.ts';
import { type Checkpoint, exportManifestSchema, type LedgerEntry, type Payload } from '../../lib/audit/schemas.ts';
import { verifyStream } from '../../lib/audit/verify.ts';
import { buildStream, type TestStream } from '../helpers/audit-stream.ts';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const REF = { tenant: 'acme', stream: 'ops' };

async function world(
  stream: TestStream,
  stored: { entries?: LedgerEntry[]; payloads?: Map<string, Payload | 'expired'>; checkpoints?: Checkpoint[] } = {},
) {
  const ledger = new MemoryLedgerStore();
  ledger.load(stored.entries ?? stream.entries);
  const payloads = new MemoryPayloadStore();
  for (const [hash, payload] of stored.payloads ?? stream.payloads)
    if (payload !== 'expired') await payloads.put(REF.tenant, hash, payload);
  const checkpoints = new MemoryCheckpointStore();
  for (const checkpoint of stored.checkpoints ?? stream.checkpoints) await checkpoints.put(checkpoint);
  const publishedKeys = new MemoryPublishedKeyStore();
  await publishedKeys.publishAll(REF.tenant, stream.keys);
  const objects = new MemoryExportObjectStore();
  let ids = 0;
  const deps: ExportDeps = { ledger, payloads, checkpoints, publishedKeys, jobs: new MemoryExportJobStore(), objects, now: () => NOW };
  const newId = () => newExportId(NOW, () => (ids++).toString(16).padStart(8, '0'));
  return { deps, objects, ledger, newId };
}

/** The parts of a finished export concatenated, as `cat head.jsonl page-*.jsonl` gives them. */
async function concatenated(objects: MemoryExportObjectStore, keys: readonly string[]): Promise<string> {
  const texts = await Promise.all(keys.map((key) => objects.get(key)));
  return texts.map((text) => text ?? '').join('');
}

describe('export to S3: pages and manifest', () => {
  it('writes a head, pages of entries and a manifest under the tenant prefix, one step per call, resuming where it stopped', async () => {
    const stream = buildStream(25, { checkpointEvery: 7 });
    const { deps, objects, newId } = await world(stream);
    const first = await runExport(deps, REF, { pageSize: 10 }, { maxPages: 1, newId });
    const prefix = 'acme/audit-exports/ops/20250601-120000-00000000/';
    assert.deepEqual(
      [first.status, first.exportId, first.prefix, first.pages, first.pagesWritten, first.to],
      ['running', '20250601-120000-00000000', prefix, 3, 1, 25],
    );
    assert.deepEqual(first.parts, [
      { key: `${prefix}head.jsonl`, kind: 'head' },
      { key: `${prefix}page-000001.jsonl`, kind: 'entries', from: 0, to: 10 },
    ]);
    assert.equal(first.verification, null);
    const second = await runExport(deps, REF, { exportId: first.exportId }, { maxPages: 1 });
    assert.deepEqual([second.status, second.pagesWritten], ['running', 2]);
    const done = await runExport(deps, REF, { exportId: first.exportId }, { maxPages: 1 });
    assert.deepEqual([done.status, done.pagesWritten, done.completedAt], ['complete', 3, NOW.toISOString()]);
    assert.deepEqual(objects.keys(), [
      `${prefix}head.jsonl`,
      `${prefix}manifest.json`,
      ...[1, 2, 3].map((page) => exportPageKey(prefix, page)),
    ]);
    assert.equal(objects.contentType(`${prefix}page-000002.jsonl`), 'application/x-ndjson');
    const manifest = exportManifestSchema.parse(JSON.parse((await objects.get(done.manifestKey)) ?? ''));
    assert.deepEqual(manifest.parts, done.parts);
    assert.deepEqual(manifest.parts.at(-1), { key: `${prefix}page-000003.jsonl`, kind: 'entries', from: 20, to: 25 });
    assert.deepEqual(done.verification, {
      intact: true,
      entries: 25,
      checkpoints: stream.checkpoints.length,
      expiredPayloads: 0,
      proofs: 0,
      checkpointedEntries: 25,
    });
    const page = ((await objects.get(`${prefix}page-000003.jsonl`)) ?? '').trim().split('\n');
    assert.equal(page.length, 5);
    const whole = parseExport(
      await concatenated(
        objects,
        manifest.parts.map((part) => part.key),
      ),
    );
    assert.deepEqual([whole.entries.length, whole.checkpoints.length, whole.header.to], [25, stream.checkpoints.length, 25]);
    assert.deepEqual(whole.entries, stream.entries);
  });

  it('answers a finished export with its status again, writing nothing', async () => {
    const stream = buildStream(4);
    const { deps, objects, newId } = await world(stream);
    const done = await runExport(deps, REF, {}, { newId });
    assert.equal(done.status, 'complete');
    const written = objects.keys();
    assert.deepEqual(await runExport(deps, REF, { exportId: done.exportId }), done);
    assert.deepEqual(objects.keys(), written);
  });

  it('exports an empty stream as a head and a manifest', async () => {
    const stream = buildStream(1);
    const { deps, objects, newId } = await world(stream, { entries: [], payloads: new Map(), checkpoints: [] });
    const done = await runExport(deps, REF, {}, { newId });
    assert.deepEqual([done.status, done.to, done.pages, done.parts.length], ['complete', 0, 0, 1]);
    assert.equal(done.verification?.intact, true);
    assert.equal(objects.keys().length, 2);
  });

  it('covers the stream as it was when the export started, not entries appended since', async () => {
    const stream = buildStream(12, { checkpointEvery: 5 });
    const { deps, ledger, newId } = await world(stream, {
      entries: stream.entries.slice(0, 8),
      checkpoints: stream.checkpoints.slice(0, 1),
    });
    const first = await runExport(deps, REF, { pageSize: 3 }, { maxPages: 1, newId });
    ledger.load(stream.entries.slice(8));
    const done = await runExport(deps, REF, { exportId: first.exportId });
    assert.deepEqual(
      [done.to, done.pages, done.verification?.intact, done.verification?.intact && done.verification.entries],
      [8, 3, true, 8],
    );
  });

  it('writes at least one page per call, and stops at a page boundary once the next page would pass the budget', async () => {
    const stream = buildStream(9);
    const { deps, newId } = await world(stream);
    let now = 0;
    const clock = () => now;
    const ledger = deps.ledger;
    const slow: ExportDeps = {
      ...deps,
      ledger: {
        read: async (...args) => {
          now += 100;
          return ledger.read(...args);
        },
        latest: (tenant, stream) => ledger.latest(tenant, stream),
        append: (entry) => ledger.append(entry),
      },
    };
    const none = await runExport(slow, REF, { pageSize: 2 }, { budgetMs: 0, clock, newId });
    assert.equal(none.pagesWritten, 1);
    const some = await runExport(slow, REF, { exportId: none.exportId }, { budgetMs: 250, clock });
    assert.equal(some.pagesWritten, 1 + 2, 'two pages of 100 ms fit in 250 ms, a third would not');
    const rest = await runExport(slow, REF, { exportId: none.exportId }, { budgetMs: 10_000, clock });
    assert.deepEqual([rest.status, rest.pagesWritten], ['complete', 5]);
  });
});

describe('export to S3: refusals', () => {
  it('answers 404 for an export that does not exist, or belongs to another stream', async () => {
    const stream = buildStream(3);
    const { deps, newId } = await world(stream);
    await assert.rejects(runExport(deps, REF, { exportId: '20250601-120000-deadbeef' }), { name: 'NotFoundError' });
    const done = await runExport(deps, REF, {}, { newId });
    await assert.rejects(runExport(deps, { ...REF, stream: 'other' }, { exportId: done.exportId }), { name: 'NotFoundError' });
  });

  it('lets one of two requests continuing the same export write its next page; the other gets a conflict', async () => {
    const stream = buildStream(20);
    const { deps, newId } = await world(stream);
    const first = await runExport(deps, REF, { pageSize: 5 }, { maxPages: 1, newId });
    const outcomes = await Promise.allSettled([
      runExport(deps, REF, { exportId: first.exportId }, { maxPages: 1 }),
      runExport(deps, REF, { exportId: first.exportId }, { maxPages: 1 }),
    ]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ['fulfilled', 'rejected']);
    const rejected = outcomes.find((outcome) => outcome.status === 'rejected');
    assert.equal((rejected as PromiseRejectedResult).reason.name, 'ConflictError');
    const after = await deps.jobs.get(REF.tenant, REF.stream, first.exportId);
    assert.equal(after?.nextPage, 3);
  });

  it('refuses to go on when the head part was changed since the export started', async () => {
    const stream = buildStream(10, { checkpointEvery: 3 });
    const { deps, objects, newId } = await world(stream);
    const first = await runExport(deps, REF, { pageSize: 4 }, { maxPages: 1, newId });
    const head = first.parts[0]?.key ?? '';
    const text = (await objects.get(head)) ?? '';
    await objects.put(head, text.split('\n').slice(0, 2).join('\n'), 'application/x-ndjson');
    await assert.rejects(runExport(deps, REF, { exportId: first.exportId }), /head part of export .* is missing or changed/);
  });
});

describe('export to S3: the verdict', () => {
  it('reaches the verdict of the outside verifier on the concatenated parts and of GET /audit/verify, for any tampering and page size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom('none', 'delete-entry', 'alter-entry', 'alter-payload', 'expire-payload', 'resign-checkpoint'),
        fc.nat(),
        async (count, pageSize, kind, at) => {
          const stream = buildStream(count, { checkpointEvery: 4 });
          let entries = stream.entries.map((entry) => ({ ...entry }));
          const payloads = new Map(stream.payloads);
          const checkpoints = [...stream.checkpoints];
          const victim = entries[at % entries.length] as LedgerEntry;
          if (kind === 'delete-entry') entries = entries.filter((entry) => entry.seq !== victim.seq);
          if (kind === 'alter-entry') entries[victim.seq] = { ...victim, correlationId: 'forged' };
          if (kind === 'alter-payload') payloads.set(victim.payloadHash, { forged: true });
          if (kind === 'expire-payload') payloads.set(victim.payloadHash, 'expired');
          if (kind === 'resign-checkpoint') {
            const index = at % checkpoints.length;
            const { signature: _signature, ...body } = checkpoints[index] as Checkpoint;
            checkpoints[index] = signCheckpoint({ ...body, rootHash: 'cd'.repeat(32) }, stream.key);
          }
          const { deps, objects, newId } = await world(stream, { entries, payloads, checkpoints });
          let status = await runExport(deps, REF, { pageSize }, { maxPages: 2, newId });
          while (status.status === 'running') status = await runExport(deps, REF, { exportId: status.exportId }, { maxPages: 2 });
          const outside = verifyStream(
            exportVerifyInput(
              parseExport(
                await concatenated(
                  objects,
                  status.parts.map((part) => part.key),
                ),
              ),
              stream.keys,
            ),
          );
          assert.deepEqual(status.verification, outside);
          const { tenant: _t, stream: _s, keyIds, ...api } = await verifyStored(deps, REF);
          // GET /audit/verify names the same seq and reason; its detail may word a lost tail differently (no declared end).
          const gist = (result: typeof api | null) =>
            result === null || result.intact ? result : { seq: result.firstBadSeq, reason: result.reason };
          assert.deepEqual(gist(status.verification), gist(api));
          assert.deepEqual(status.keyIds, keyIds);
          assert.equal(outside.intact, kind === 'none' || kind === 'expire-payload');
        },
      ),
      { numRuns: 120 },
    );
  });
});
