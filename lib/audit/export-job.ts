/**
 * Exports to S3: a whole stream written to the artifacts bucket as JSON Lines objects instead of
 * one Lambda reply, verified on the way.
 *
 *   <tenant>/audit-exports/<stream>/<exportId>/head.jsonl          header line + every checkpoint line
 *   <tenant>/audit-exports/<stream>/<exportId>/page-000001.jsonl   entry lines (with payloads), seqs [0, pageSize)
 *   …                                                               one page per `pageSize` seqs, up to `to`
 *   <tenant>/audit-exports/<stream>/<exportId>/manifest.json       written last: parts in order, the verdict
 *
 * The parts concatenated in order are one `autonomy-audit-export/1` file of the whole stream (the
 * format allows checkpoints before entries, and a whole-stream export needs no proofs: the
 * verifier recomputes every root), so `cat head.jsonl page-*.jsonl` feeds `autonomy-verify` as is.
 *
 * An export runs in steps within a time budget: each call writes whole pages, one page of entries
 * and payloads in memory at a time, then saves where it stands (the next page and the position of
 * the chain walk, O(log n) hashes) in the export's record, compare-and-swap on its step. A call
 * that runs out of budget answers `running`; the caller asks again with the export id and the
 * export goes on from the saved page. When the last page is written, the walk's verdict (the same
 * one `GET /audit/verify` and the outside verifier reach) goes into the manifest.
 */
import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError } from '../errors.ts';
import { ChainWalker } from './chain-walk.ts';
import { loadPayloads, type ReadDeps } from './engine.ts';
import { LedgerStateError } from './errors.ts';
import { exportEntryLine, parseExport } from './export.ts';
import { tenantKeySet } from './keys.ts';
import type { ExportJobStore, ExportObjectStore, StreamRef } from './ports.ts';
import {
  type Checkpoint,
  EXPORT_FORMAT,
  EXPORT_MANIFEST_FORMAT,
  type ExportHeaderLine,
  type ExportJob,
  type ExportManifest,
  type ExportPart,
  exportJobSchema,
  MAX_EXPORT_PAGE_SIZE,
} from './schemas.ts';
import { type VerifyResult, verifyWalked } from './verify.ts';

/** The content type of every part. */
export const NDJSON = 'application/x-ndjson';

/** How long one call keeps writing pages by default: well inside API Gateway's 29 s. */
export const EXPORT_STEP_BUDGET_MS = 20_000;

/** The key prefix of an export's objects. */
export function exportPrefix(tenant: string, stream: string, exportId: string): string {
  return `${tenant}/audit-exports/${stream}/${exportId}/`;
}

/** The key of an export's head part (header and checkpoints). */
export function exportHeadKey(prefix: string): string {
  return `${prefix}head.jsonl`;
}

/** The key of page `page` (1-based) of an export. */
export function exportPageKey(prefix: string, page: number): string {
  return `${prefix}page-${String(page).padStart(6, '0')}.jsonl`;
}

/** The key of an export's manifest. */
export function exportManifestKey(prefix: string): string {
  return `${prefix}manifest.json`;
}

/**
 * A new export id: the start time (UTC, to the second) and 8 random hex digits, so a tenant's
 * exports list in the order they started.
 *
 * @example newExportId(new Date('2025-06-01T12:00:00Z')) // '20250601-120000-1a2b3c4d'
 */
export function newExportId(now: Date, random: () => string = () => randomBytes(4).toString('hex')): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 15).replace('T', '-');
  return `${stamp}-${random()}`;
}

/** Pages of an export of `to` seqs in pages of `pageSize`. */
export function exportPageCount(to: number, pageSize: number): number {
  return Math.ceil(to / pageSize);
}

/** The parts of an export written so far (the head, then its pages), in concatenation order. */
export function exportParts(job: ExportJob): ExportPart[] {
  const prefix = exportPrefix(job.tenant, job.stream, job.exportId);
  const parts: ExportPart[] = [{ key: exportHeadKey(prefix), kind: 'head' }];
  for (let page = 1; page < job.nextPage; page += 1) {
    const from = (page - 1) * job.pageSize;
    parts.push({ key: exportPageKey(prefix, page), kind: 'entries', from, to: Math.min(from + job.pageSize, job.to) });
  }
  return parts;
}

/** Where an export stands: what `POST /audit/export` answers. */
export interface ExportStatus {
  exportId: string;
  tenant: string;
  stream: string;
  status: 'running' | 'complete';
  /** Key prefix of every object of the export. */
  prefix: string;
  /** Where the manifest is (written once the export is complete). */
  manifestKey: string;
  from: 0;
  to: number;
  pageSize: number;
  /** Page objects the export has in all, and those written so far. */
  pages: number;
  pagesWritten: number;
  createdAt: string;
  completedAt: string | null;
  /** The objects written so far, in concatenation order. */
  parts: ExportPart[];
  /** The verdict of the walk over the exported entries, once complete. */
  verification: VerifyResult | null;
  /** The published keys the verdict was reached with. */
  keyIds: string[];
}

function statusOf(job: ExportJob): ExportStatus {
  const prefix = exportPrefix(job.tenant, job.stream, job.exportId);
  return {
    exportId: job.exportId,
    tenant: job.tenant,
    stream: job.stream,
    status: job.status,
    prefix,
    manifestKey: exportManifestKey(prefix),
    from: 0,
    to: job.to,
    pageSize: job.pageSize,
    pages: exportPageCount(job.to, job.pageSize),
    pagesWritten: job.nextPage - 1,
    createdAt: job.createdAt,
    completedAt: job.completedAt ?? null,
    parts: exportParts(job),
    verification: job.verification ?? null,
    keyIds: job.keyIds ?? [],
  };
}

/** What exporting to S3 needs. */
export interface ExportDeps extends ReadDeps {
  jobs: ExportJobStore;
  objects: ExportObjectStore;
  now: () => Date;
}

/** What the caller asks: a new export (optionally with a page size), or the one named. */
export interface ExportRequest {
  exportId?: string;
  pageSize?: number;
}

/** Options of {@link runExport}. */
export interface ExportRunOptions {
  /** Stop writing pages once the next one would likely end after this many ms (default {@link EXPORT_STEP_BUDGET_MS}). At least one page is written per call. */
  budgetMs?: number;
  /** Stop after this many pages in this call (default: no limit but the budget). */
  maxPages?: number;
  /** A monotonic clock in ms (default `performance.now`). */
  clock?: () => number;
  /** New export ids (default {@link newExportId}). */
  newId?: (now: Date) => string;
}

/** Starts an export: the head part (header and the checkpoints as they are now) and the record. */
async function startExport(
  deps: ExportDeps,
  ref: StreamRef,
  pageSize: number,
  newId: (now: Date) => string,
): Promise<{ job: ExportJob; checkpoints: Checkpoint[] }> {
  // Checkpoints first: every one listed then covers entries the later read of the head can see.
  const checkpoints = await deps.checkpoints.list(ref.tenant, ref.stream);
  const last = await deps.ledger.latest(ref.tenant, ref.stream);
  // The range reaches the latest checkpoint too, so entries lost at the end show as a gap.
  const to = Math.max(last === undefined ? 0 : last.seq + 1, checkpoints.at(-1)?.treeSize ?? 0);
  const now = deps.now();
  const exportId = newId(now);
  const header: ExportHeaderLine = {
    type: 'header',
    format: EXPORT_FORMAT,
    tenant: ref.tenant,
    stream: ref.stream,
    from: 0,
    to,
    exportedAt: now.toISOString(),
  };
  const lines = [header, ...checkpoints.map((checkpoint) => ({ type: 'checkpoint', checkpoint }))];
  await deps.objects.put(
    exportHeadKey(exportPrefix(ref.tenant, ref.stream, exportId)),
    `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`,
    NDJSON,
  );
  const walker = new ChainWalker({ tenant: ref.tenant, stream: ref.stream, roots: checkpoints });
  const job: ExportJob = {
    exportId,
    tenant: ref.tenant,
    stream: ref.stream,
    createdAt: now.toISOString(),
    pageSize,
    to,
    checkpoints: checkpoints.length,
    status: 'running',
    step: 0,
    nextPage: 1,
    walk: walker.position(),
  };
  if (!(await deps.jobs.put(job, undefined)))
    throw new ConflictError(`export ${exportId} of ${ref.tenant}/${ref.stream} already exists; start another`);
  return { job, checkpoints };
}

/** The checkpoints an export's head part holds (the snapshot taken when it started). */
async function headCheckpoints(deps: ExportDeps, job: ExportJob): Promise<Checkpoint[]> {
  const key = exportHeadKey(exportPrefix(job.tenant, job.stream, job.exportId));
  const text = await deps.objects.get(key);
  const checkpoints = text === undefined ? undefined : parseExport(text).checkpoints;
  if (checkpoints === undefined || checkpoints.length !== job.checkpoints) {
    throw new LedgerStateError(`the head part of export ${job.exportId} (${key}) is missing or changed; start a new export`);
  }
  return checkpoints;
}

/** Saves `next` over `job`, or fails when another request saved the export first. */
async function save(deps: ExportDeps, job: ExportJob, next: ExportJob): Promise<ExportJob> {
  if (!(await deps.jobs.put(next, job.step))) {
    throw new ConflictError(`another request is writing export ${job.exportId} of ${job.tenant}/${job.stream}; ask again for its status`);
  }
  return next;
}

/**
 * Starts an export of a whole stream to S3, or goes on with the one named, writing pages until
 * it is done or the call's budget is spent; the answer says where it stands and where the objects
 * are. Ask again with the `exportId` while the status is `running`.
 *
 * @throws NotFoundError when the named export does not exist (for this tenant and stream).
 * @throws ConflictError when another request is writing the same export.
 * @throws LedgerStateError when the export's head part is gone or was changed.
 * @example
 * let status = await runExport(deps, { tenant, stream: 'events.observation' }, {});
 * while (status.status === 'running') status = await runExport(deps, ref, { exportId: status.exportId });
 */
export async function runExport(
  deps: ExportDeps,
  ref: StreamRef,
  request: ExportRequest,
  options: ExportRunOptions = {},
): Promise<ExportStatus> {
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  let job: ExportJob;
  let checkpoints: Checkpoint[];
  if (request.exportId === undefined) {
    ({ job, checkpoints } = await startExport(
      deps,
      ref,
      request.pageSize ?? MAX_EXPORT_PAGE_SIZE,
      options.newId ?? ((now) => newExportId(now)),
    ));
  } else {
    const stored = await deps.jobs.get(ref.tenant, ref.stream, request.exportId);
    if (stored === undefined) throw new NotFoundError(`${ref.tenant}/${ref.stream} has no export ${request.exportId}`);
    job = exportJobSchema.parse(stored);
    if (job.status === 'complete') return statusOf(job);
    checkpoints = await headCheckpoints(deps, job);
  }
  const prefix = exportPrefix(job.tenant, job.stream, job.exportId);
  const walker = new ChainWalker({ tenant: job.tenant, stream: job.stream, roots: checkpoints, position: job.walk });
  const pages = exportPageCount(job.to, job.pageSize);
  const budgetMs = options.budgetMs ?? EXPORT_STEP_BUDGET_MS;
  const maxPages = options.maxPages ?? Number.POSITIVE_INFINITY;
  let written = 0;
  let slowest = 0;
  while (job.nextPage <= pages) {
    const pageStarted = clock();
    const from = (job.nextPage - 1) * job.pageSize;
    const entries = await deps.ledger.read(job.tenant, job.stream, from, Math.min(from + job.pageSize, job.to));
    const payloads = await loadPayloads(deps.payloads, job.tenant, entries);
    const lines = entries.map((entry) => `${JSON.stringify(exportEntryLine(entry, payloads))}\n`);
    await deps.objects.put(exportPageKey(prefix, job.nextPage), lines.join(''), NDJSON);
    // The walk checks what was just written; after a first break it checks nothing more.
    for (const entry of entries) walker.push(entry, payloads);
    job = await save(deps, job, { ...job, step: job.step + 1, nextPage: job.nextPage + 1, walk: walker.position() });
    written += 1;
    slowest = Math.max(slowest, clock() - pageStarted);
    if (written >= maxPages || clock() - started + slowest > budgetMs) break;
  }
  if (job.nextPage <= pages) return statusOf(job);
  const keys = await tenantKeySet(deps.publishedKeys, job.tenant);
  const verification = verifyWalked(walker, { checkpoints, keys, tenant: job.tenant, stream: job.stream, to: job.to });
  const completedAt = deps.now().toISOString();
  const keyIds = keys.keys.map((key) => key.keyId);
  const done: ExportJob = { ...job, status: 'complete', step: job.step + 1, completedAt, verification, keyIds };
  const manifest: ExportManifest = {
    format: EXPORT_MANIFEST_FORMAT,
    exportFormat: EXPORT_FORMAT,
    exportId: job.exportId,
    tenant: job.tenant,
    stream: job.stream,
    from: 0,
    to: job.to,
    pageSize: job.pageSize,
    createdAt: job.createdAt,
    completedAt,
    parts: exportParts(done),
    verification,
    keyIds,
  };
  await deps.objects.put(exportManifestKey(prefix), `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
  return statusOf(await save(deps, job, done));
}
