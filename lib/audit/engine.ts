/**
 * The Audit engine's operations over its ports: recording (from the API and from the bus, the
 * latter exactly once per event), signing checkpoints, verifying, exporting and proving stored
 * streams, compliance evaluation and retention. Plain data in and out; storage only through the
 * ports, so the same code runs on DynamoDB and S3 or in memory.
 */
import { publishedAtLeastOnce } from '../../events/delivery.ts';
import { SYSTEM_TENANT } from '../../events/ids.ts';
import { mapLimit } from '../concurrency.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { busEvent, type EventPublisher } from '../events/publisher.ts';
import { appendRecord } from './chain.ts';
import { checkpointKey, createCheckpoint, type SigningKey } from './checkpoint.ts';
import { type ComplianceRule, defaultRules, evaluateCompliance } from './compliance.ts';
import { ChainWalker } from './chain-walk.ts';
import { canonicalHash } from './digest.ts';
import { DuplicateAppendError, LedgerStateError, MerkleRangeError } from './errors.ts';
import { writeExport } from './export.ts';
import { tenantKeySet } from './keys.ts';
import { MerkleTree } from './merkle.ts';
import type {
  AuditStateStore,
  CheckpointHeadStore,
  CheckpointStore,
  DedupingLedgerStore,
  FindingStore,
  LedgerStore,
  PayloadStore,
  PublishedKeyStore,
  StoredFinding,
  StreamRef,
  StreamRegistry,
} from './ports.ts';
import { expiredPayloadHashes } from './retention.ts';
import {
  type AppendInput,
  type Checkpoint,
  type LedgerEntry,
  type Payload,
  streamSchema,
  type TreeTip,
  tenantSchema,
  treeTipSchema,
} from './schemas.ts';
import { type VerifyResult, verifyWalked } from './verify.ts';

/**
 * The stream that records the Audit engine's own bus events (`autonomy.audit`). Nothing is
 * derived from it that would publish another event: no compliance findings about it, no
 * `audit.checkpoint.signed` for its checkpoints. That is what keeps auditing the auditor finite.
 */
export const AUDIT_EVENTS_STREAM = 'events.audit';

/** Appends retried after a lost race before giving up (each retry re-reads the head). */
export const DEFAULT_APPEND_RETRIES = 64;

/** A ledger store that registers a stream before storing its first entry. */
function registering<S extends LedgerStore>(store: S, registry: StreamRegistry, append: (entry: LedgerEntry) => Promise<void>): LedgerStore {
  return {
    append: async (entry) => {
      if (entry.seq === 0) await registry.register({ tenant: entry.tenant, stream: entry.stream });
      await append(entry);
    },
    read: (tenant, stream, fromSeq, toSeq) => store.read(tenant, stream, fromSeq, toSeq),
    latest: (tenant, stream) => store.latest(tenant, stream),
  };
}

/** What recording needs. */
export interface RecordDeps {
  ledger: LedgerStore;
  payloads: PayloadStore;
  registry: StreamRegistry;
}

/** Options of {@link record}. */
export interface RecordOptions {
  maxRetries?: number;
  /** The wait between attempts (the chain's jittered backoff on a real timer by default) and its jitter source; for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * Appends one record: payload first (content-addressed), then the entry with a conditional put,
 * retried with jittered backoff when another appender took the seq.
 *
 * @throws ValidationError when the input is malformed.
 * @throws ChainConflictError when every attempt lost the race (a 409 the caller may retry).
 * @example const entry = await record(deps, { tenant, stream: 'decisions', timestamp, actor, correlationId, payload });
 */
export function record(deps: RecordDeps, input: AppendInput, options: RecordOptions = {}): Promise<LedgerEntry> {
  const store = registering(deps.ledger, deps.registry, (entry) => deps.ledger.append(entry));
  return appendRecord(store, input, {
    payloads: deps.payloads,
    maxRetries: options.maxRetries ?? DEFAULT_APPEND_RETRIES,
    sleep: options.sleep,
    random: options.random,
  });
}

/**
 * Appends one record at most once per `dedupeKey`: a second call with the same key stores nothing
 * and reports `duplicate`.
 *
 * @throws ValidationError, ChainConflictError as {@link record}.
 * @example const outcome = await recordOnce(deps, input, `event#${envelope.id}`);
 */
export async function recordOnce(
  deps: RecordDeps & { ledger: DedupingLedgerStore },
  input: AppendInput,
  dedupeKey: string,
  options: RecordOptions = {},
): Promise<{ duplicate: false; entry: LedgerEntry } | { duplicate: true }> {
  const store = registering(deps.ledger, deps.registry, (entry) => deps.ledger.appendOnce(entry, dedupeKey));
  try {
    const entry = await appendRecord(store, input, {
      payloads: deps.payloads,
      maxRetries: options.maxRetries ?? DEFAULT_APPEND_RETRIES,
      sleep: options.sleep,
      random: options.random,
    });
    return { duplicate: false, entry };
  } catch (error) {
    if (error instanceof DuplicateAppendError) return { duplicate: true };
    throw error;
  }
}

/** The EventBridge envelope, as far as the ledger needs it. */
export interface BusEnvelopeLike {
  id: string;
  source: string;
  'detail-type': string;
  time: string;
  account?: string;
  region?: string;
  resources?: string[];
  detail: Record<string, unknown>;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/**
 * How a bus event is recorded: in the tenant of `detail.tenant` (`system` when it names none or
 * an invalid one), stream `events.<engine>` (per engine, so engines do not contend for one head),
 * the actor from `detail.actor` (else `system:<source>`), the correlation id from
 * `detail.correlationId` (else the event id), the whole event as the payload, deduplicated on
 * the event id — or, for events published at least once through an outbox (events/delivery.ts),
 * whose copies carry new ids, on the hash of their source, detail-type and detail.
 *
 * @example const { input, dedupeKey } = busEventRecord(envelope, new Date());
 */
export function busEventRecord(envelope: BusEnvelopeLike, now: Date): { input: AppendInput; dedupeKey: string } {
  const claimed = envelope.detail.tenant;
  const tenant = tenantSchema.safeParse(claimed).success ? (claimed as string) : SYSTEM_TENANT;
  const engine = envelope.source.replace(/^autonomy\./, '').toLowerCase().replace(/[^a-z0-9._-]/g, '-');
  const candidate = `events.${engine || 'unknown'}`;
  const stream = streamSchema.safeParse(candidate).success ? candidate : 'events.unknown';
  const payload: Payload = {
    eventId: envelope.id,
    source: envelope.source,
    detailType: envelope['detail-type'],
    time: envelope.time,
    account: envelope.account ?? null,
    region: envelope.region ?? null,
    resources: envelope.resources ?? [],
    detail: envelope.detail,
  };
  return {
    input: {
      tenant,
      stream,
      timestamp: now.toISOString(),
      actor: nonEmpty(envelope.detail.actor) ?? `system:${envelope.source}`,
      correlationId: nonEmpty(envelope.detail.correlationId) ?? `event:${envelope.id}`,
      payload,
    },
    dedupeKey: publishedAtLeastOnce(envelope['detail-type'])
      ? `detail#${canonicalHash({ source: envelope.source, detailType: envelope['detail-type'], detail: envelope.detail })}`
      : `event#${envelope.id}`,
  };
}

/** Payloads by hash; `'expired'` where retention deleted one. */
export type PayloadMap = Map<string, Payload | 'expired'>;

/**
 * A payload object that cannot hash to any payloadHash: stands for a stored payload that is not
 * JSON any more, so verification reports a payload mismatch rather than failing.
 */
export function unreadablePayload(raw: string): Payload {
  return { '!unreadable': raw };
}

/** Reads the payloads of `entries` (each hash once), `limit` at a time. */
export async function loadPayloads(payloads: PayloadStore, tenant: string, entries: readonly LedgerEntry[], limit = 32): Promise<PayloadMap> {
  const hashes = [...new Set(entries.map((entry) => entry.payloadHash))];
  const found = await mapLimit(hashes, limit, (hash) => payloads.get(tenant, hash));
  const map: PayloadMap = new Map();
  hashes.forEach((hash, index) => {
    map.set(hash, found[index] ?? 'expired');
  });
  return map;
}

/** What checkpointing needs. */
export interface CheckpointDeps {
  ledger: LedgerStore;
  checkpoints: CheckpointStore;
  heads: CheckpointHeadStore;
  /** The tenant's active signing key (its own, never another tenant's); called only when there is something to sign. */
  signingKey: (tenant: string) => Promise<SigningKey>;
  now: () => Date;
  publisher?: EventPublisher;
}

/** The outcome of {@link checkpointStream}. */
export interface CheckpointOutcome {
  /** True when a new checkpoint was signed by this call. */
  created: boolean;
  /** The stream's latest checkpoint after the call (undefined for an empty stream never signed). */
  checkpoint?: Checkpoint;
  /** Its object key in the artifacts bucket. */
  key?: string;
  /** Entries in the stream. */
  size: number;
  /** Entries this call read and verified: those since the previous checkpoint, or all of them on a full pass. */
  walked: number;
}

/** Options of {@link checkpointStream}. */
export interface CheckpointOptions {
  /** Signers to race before giving up (default 3). */
  attempts?: number;
  /**
   * Walk the stream from seq 0 instead of resuming from the head's tree tip (what a head without
   * a tip gets anyway). The stored chain is then checked in full, and the previous checkpoint's
   * root against it.
   */
  fullPass?: boolean;
}

/** Entries read per ledger query while walking a stream: what bounds a walk's memory. */
export const WALK_PAGE_SIZE = 5_000;

/** The head a signer extends, and the tree size the head register must still hold for it to win. */
interface SettledHead {
  previous?: Checkpoint;
  tip?: TreeTip;
  /** The register's tree size (undefined: no head item yet). */
  expected: number | undefined;
}

/**
 * The previous checkpoint as the head register knows it, writing it to the checkpoint store when
 * a signer stopped between advancing the head and storing the object. A stream signed before the
 * register existed has its latest stored checkpoint as predecessor and no head item yet.
 */
async function settledHead(deps: CheckpointDeps, ref: StreamRef): Promise<SettledHead> {
  const head = await deps.heads.get(ref.tenant, ref.stream);
  if (head === undefined) return { previous: await deps.checkpoints.latest(ref.tenant, ref.stream), expected: undefined };
  const { checkpoint, tip } = head;
  if (!(await deps.checkpoints.has(ref.tenant, ref.stream, checkpoint.treeSize))) await deps.checkpoints.put(checkpoint);
  return tip === undefined
    ? { previous: checkpoint, expected: checkpoint.treeSize }
    : { previous: checkpoint, tip, expected: checkpoint.treeSize };
}

/**
 * The walker positioned where the previous checkpoint ended, from the tree tip kept with it.
 *
 * @throws LedgerStateError when the tip does not describe the checkpoint's tree (wrong size, a
 * malformed frontier, or a root other than the signed one): the head was tampered with.
 */
function resumeAtTip(ref: StreamRef, previous: Checkpoint, tip: TreeTip): ChainWalker {
  const refuse = (why: string) =>
    new LedgerStateError(
      `the tree tip kept with the checkpoint of ${ref.tenant}/${ref.stream} at tree size ${previous.treeSize} ${why}; no checkpoint signed (was the head tampered with?)`,
    );
  const parsed = treeTipSchema.safeParse(tip);
  if (!parsed.success || parsed.data.treeSize !== previous.treeSize) throw refuse('does not describe that tree');
  let walker: ChainWalker;
  try {
    walker = ChainWalker.fromTip(parsed.data, { tenant: ref.tenant, stream: ref.stream });
  } catch (error) {
    if (error instanceof MerkleRangeError) throw refuse(`is malformed (${error.message})`);
    throw error;
  }
  if (walker.root()?.toString('hex') !== previous.rootHash) throw refuse('does not reproduce its signed root');
  return walker;
}

/**
 * Walks the entries a new checkpoint covers, page by page: from the previous checkpoint's tip when
 * there is one (only the new entries are read: their hashes, their links from the last checkpointed
 * entry, the frontier extended), else from seq 0, comparing the previous checkpoint's root on the way.
 *
 * @throws LedgerStateError when the chain is broken, or no longer matches the previous checkpoint.
 */
async function walkToSize(deps: CheckpointDeps, ref: StreamRef, head: SettledHead, size: number, fullPass: boolean): Promise<ChainWalker> {
  const { previous, tip } = head;
  const walker =
    previous !== undefined && tip !== undefined && !fullPass
      ? resumeAtTip(ref, previous, tip)
      : new ChainWalker({ tenant: ref.tenant, stream: ref.stream, roots: previous === undefined ? [] : [previous] });
  for (let from = walker.size; from < size && walker.failure === undefined; from += WALK_PAGE_SIZE) {
    const page = await deps.ledger.read(ref.tenant, ref.stream, from, Math.min(from + WALK_PAGE_SIZE, size));
    for (const entry of page) if (walker.push(entry) !== undefined) break;
  }
  const failure = walker.finish(size);
  if (failure !== undefined) {
    throw new LedgerStateError(
      `${ref.tenant}/${ref.stream} is broken at seq ${failure.firstBadSeq} (${failure.reason}); no checkpoint signed`,
    );
  }
  if (walker.rootMismatch !== undefined && previous !== undefined) {
    throw new LedgerStateError(
      `${ref.tenant}/${ref.stream} no longer matches its checkpoint at tree size ${previous.treeSize}; no checkpoint signed`,
    );
  }
  return walker;
}

/**
 * Signs a checkpoint of the stream if it grew since the last one, reading only what it must: the
 * entries appended since the previous checkpoint, resumed from the tree tip (Merkle frontier and
 * last entry hash) kept with it in the head register, so the cost follows the new entries, not the
 * stream. A head without a tip (stored before tips were kept), or none at all, costs one walk from
 * seq 0, after which the tip is kept. A checkpoint never vouches for a broken chain: the new
 * entries' hashes and links are checked, and a tip that does not reproduce the previous signed
 * root is refused. The head register serialises signers; a signer that loses the race re-reads and
 * tries again.
 *
 * @throws LedgerStateError when the new entries are broken, the stream shrank below or no longer
 * matches the last checkpoint, the head's tip was tampered with, or other signers kept winning.
 * @example const outcome = await checkpointStream(deps, { tenant: 'acme', stream: 'decisions' });
 */
export async function checkpointStream(deps: CheckpointDeps, ref: StreamRef, options: CheckpointOptions = {}): Promise<CheckpointOutcome> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const head = await settledHead(deps, ref);
    const { previous } = head;
    const last = await deps.ledger.latest(ref.tenant, ref.stream);
    const size = last === undefined ? 0 : last.seq + 1;
    if (size === 0 || size === previous?.treeSize) {
      return previous === undefined
        ? { created: false, size, walked: 0 }
        : { created: false, checkpoint: previous, key: checkpointKey(ref.tenant, ref.stream, previous.treeSize), size, walked: 0 };
    }
    if (previous !== undefined && previous.treeSize > size) {
      throw new LedgerStateError(
        `${ref.tenant}/${ref.stream} ends at seq ${size - 1}, below its checkpoint at tree size ${previous.treeSize}; no checkpoint signed`,
      );
    }
    const walker = await walkToSize(deps, ref, head, size, options.fullPass === true);
    const walked = size - (previous !== undefined && head.tip !== undefined && options.fullPass !== true ? previous.treeSize : 0);
    const root = walker.root();
    const tip = walker.tip();
    if (root === undefined || tip === undefined) throw new LedgerStateError(`${ref.tenant}/${ref.stream}: the walk kept no tree`);
    const key = await deps.signingKey(ref.tenant);
    const timestamp = deps.now().toISOString();
    const checkpoint = createCheckpoint({ tenant: ref.tenant, stream: ref.stream, root, treeSize: size, timestamp, previous }, key);
    if (!(await deps.heads.advance({ checkpoint, tip }, head.expected))) continue;
    await deps.checkpoints.put(checkpoint);
    const objectKey = checkpointKey(ref.tenant, ref.stream, checkpoint.treeSize);
    if (deps.publisher !== undefined && ref.stream !== AUDIT_EVENTS_STREAM) {
      await deps.publisher.publish([
        busEvent('audit.checkpoint.signed', {
          tenant: ref.tenant,
          stream: ref.stream,
          treeSize: checkpoint.treeSize,
          rootHash: checkpoint.rootHash,
          keyId: checkpoint.keyId,
          timestamp: checkpoint.timestamp,
          s3Key: objectKey,
        }),
      ]);
    }
    return { created: true, checkpoint, key: objectKey, size, walked };
  }
  throw new LedgerStateError(`another signer kept moving the checkpoint of ${ref.tenant}/${ref.stream}; retry`);
}

/** What reading a stored stream back needs. */
export interface ReadDeps {
  ledger: LedgerStore;
  payloads: PayloadStore;
  checkpoints: CheckpointStore;
  publishedKeys: PublishedKeyStore;
}

/** A verification of a stored stream. */
export type StoredVerifyResult = VerifyResult & { tenant: string; stream: string; keyIds: string[] };

/**
 * Verifies a stored stream: every entry, every payload still kept, every checkpoint, against the
 * tenant's published keys (`tenantKeySet`). The stream is walked page by page (`pageSize` entries
 * and their payloads at a time; the tree kept as a frontier), so memory does not grow with the
 * stream; time does.
 *
 * @throws NotFoundError never: an unknown stream verifies as an intact empty stream.
 * @example const result = await verifyStored(deps, { tenant, stream }); // { intact: true, … }
 */
export async function verifyStored(deps: ReadDeps, ref: StreamRef, options: { pageSize?: number } = {}): Promise<StoredVerifyResult> {
  const pageSize = options.pageSize ?? WALK_PAGE_SIZE;
  // Checkpoints first: every one listed then covers entries the later read of the head can see.
  const checkpoints = await deps.checkpoints.list(ref.tenant, ref.stream);
  const [last, keySet] = await Promise.all([deps.ledger.latest(ref.tenant, ref.stream), tenantKeySet(deps.publishedKeys, ref.tenant)]);
  const end = last === undefined ? 0 : last.seq + 1;
  const walker = new ChainWalker({ tenant: ref.tenant, stream: ref.stream, roots: checkpoints });
  for (let from = 0; from < end && walker.failure === undefined; from += pageSize) {
    const entries = await deps.ledger.read(ref.tenant, ref.stream, from, Math.min(from + pageSize, end));
    const payloads = await loadPayloads(deps.payloads, ref.tenant, entries);
    for (const entry of entries) if (walker.push(entry, payloads) !== undefined) break;
  }
  const result = verifyWalked(walker, { checkpoints, keys: keySet, tenant: ref.tenant, stream: ref.stream });
  return { ...result, tenant: ref.tenant, stream: ref.stream, keyIds: keySet.keys.map((key) => key.keyId) };
}

/**
 * The export of a stream range (`from` inclusive, `to` exclusive; default the whole stream) as
 * JSON Lines: entries with payloads, every checkpoint, consistency and inclusion proofs. A ledger
 * that lost entries still exports (with the proofs it can compute), so the verifier reports where.
 *
 * @throws ValidationError when the range is inverted.
 * @example const text = await exportStored(deps, { tenant, stream }, { now: new Date() });
 */
export async function exportStored(deps: ReadDeps, ref: StreamRef, range: { from?: number; to?: number; now: Date }): Promise<string> {
  const [entries, checkpoints] = await Promise.all([deps.ledger.read(ref.tenant, ref.stream, 0), deps.checkpoints.list(ref.tenant, ref.stream)]);
  // The range must reach the latest checkpoint too: a ledger that lost its last entries then
  // exports as a gap the verifier names, not as a shorter, intact-looking stream.
  const end = Math.max((entries.at(-1)?.seq ?? -1) + 1, checkpoints.at(-1)?.treeSize ?? 0);
  const from = range.from ?? 0;
  const to = Math.min(range.to ?? end, end);
  if (from > to) throw new ValidationError([{ path: 'query.from', message: `from (${from}) is beyond to (${to}); the stream has ${end} entries` }]);
  const slice = entries.filter((entry) => entry.seq >= from && entry.seq < to);
  const tree = MerkleTree.fromLeaves(entries.map((entry) => Buffer.from(entry.hash, 'hex')));
  const payloads = await loadPayloads(deps.payloads, ref.tenant, slice);
  return writeExport({
    tenant: ref.tenant,
    stream: ref.stream,
    entries: slice,
    payloads,
    checkpoints,
    tree,
    from,
    to,
    exportedAt: range.now.toISOString(),
    partialProofs: true,
  });
}

/** An inclusion proof of one entry against the latest checkpoint. */
export interface InclusionProofResult {
  tenant: string;
  stream: string;
  seq: number;
  entryHash: string;
  treeSize: number;
  rootHash: string;
  /** Audit path, hex, leaf to root (RFC 9162 §2.1.3). */
  path: string[];
  checkpoint: Checkpoint;
}

/**
 * An inclusion proof of entry `seq` in the tree of the latest checkpoint.
 *
 * @throws NotFoundError when the entry does not exist.
 * @throws LedgerStateError when no checkpoint covers it yet, or the stored entries no longer match the checkpoint.
 * @example const proof = await proveInclusion(deps, { tenant, stream }, 41);
 */
export async function proveInclusion(deps: Pick<ReadDeps, 'ledger' | 'checkpoints'>, ref: StreamRef, seq: number): Promise<InclusionProofResult> {
  const checkpoint = await deps.checkpoints.latest(ref.tenant, ref.stream);
  const entries = await deps.ledger.read(ref.tenant, ref.stream, 0, checkpoint === undefined ? seq + 1 : Math.max(seq + 1, checkpoint.treeSize));
  const entry = entries.find((candidate) => candidate.seq === seq);
  if (entry === undefined) throw new NotFoundError(`${ref.tenant}/${ref.stream} has no entry ${seq}`);
  if (checkpoint === undefined || seq >= checkpoint.treeSize) {
    throw new LedgerStateError(
      `entry ${seq} is not covered by a checkpoint yet (latest tree size ${checkpoint?.treeSize ?? 0}); sign one with POST /audit/checkpoint`,
    );
  }
  const covered = entries.filter((candidate) => candidate.seq < checkpoint.treeSize);
  const tree = MerkleTree.fromLeaves(covered.map((candidate) => Buffer.from(candidate.hash, 'hex')));
  if (tree.size !== checkpoint.treeSize || tree.root().toString('hex') !== checkpoint.rootHash) {
    throw new LedgerStateError(`the stored entries of ${ref.tenant}/${ref.stream} no longer match the latest checkpoint; run GET /audit/verify`);
  }
  return {
    tenant: ref.tenant,
    stream: ref.stream,
    seq,
    entryHash: entry.hash,
    treeSize: checkpoint.treeSize,
    rootHash: checkpoint.rootHash,
    path: tree.inclusionProof(seq, checkpoint.treeSize).map((hash) => hash.toString('hex')),
    checkpoint,
  };
}

/** What compliance evaluation needs. */
export interface ComplianceDeps {
  ledger: LedgerStore;
  payloads: PayloadStore;
  findings: FindingStore;
  state: AuditStateStore;
  publisher: EventPublisher;
  now: () => Date;
  rules?: readonly ComplianceRule[];
  /** Entries before the last evaluated one that are evaluated again, for rules that look back (default 5000). */
  lookback?: number;
}

/**
 * Evaluates the compliance rules over a stream that grew since the last run (a window reaching
 * `lookback` entries back), stores each new finding once and publishes `audit.finding.raised` for
 * it. The Audit engine's own event stream is never evaluated.
 *
 * @example const raised = await evaluateStream(deps, { tenant, stream: 'deployments' });
 */
export async function evaluateStream(deps: ComplianceDeps, ref: StreamRef): Promise<StoredFinding[]> {
  if (ref.stream === AUDIT_EVENTS_STREAM) return [];
  const done = await deps.state.cursor(ref, 'compliance');
  const head = await deps.ledger.latest(ref.tenant, ref.stream);
  const size = head === undefined ? 0 : head.seq + 1;
  if (size <= done) return [];
  const entries = await deps.ledger.read(ref.tenant, ref.stream, Math.max(0, done - (deps.lookback ?? 5000)), size);
  const payloads = await loadPayloads(deps.payloads, ref.tenant, entries);
  const findings = evaluateCompliance(
    entries.map((entry) => ({ entry, payload: payloads.get(entry.payloadHash) })),
    deps.rules ?? defaultRules,
  );
  const raisedAt = deps.now().toISOString();
  const raised: StoredFinding[] = [];
  for (const finding of findings) {
    const stored: StoredFinding = { ...finding, tenant: ref.tenant, stream: ref.stream, raisedAt };
    if (await deps.findings.add(stored)) raised.push(stored);
  }
  if (raised.length > 0) {
    await deps.publisher.publish(
      raised.map((finding) =>
        busEvent('audit.finding.raised', {
          tenant: finding.tenant,
          stream: finding.stream,
          ruleId: finding.ruleId,
          severity: finding.severity,
          seq: finding.seq,
          message: finding.message.slice(0, 2000),
        }),
      ),
    );
  }
  await deps.state.setCursor(ref, 'compliance', size);
  return raised;
}

/** What retention needs. */
export interface RetentionDeps {
  ledger: LedgerStore;
  payloads: PayloadStore;
  state: AuditStateStore;
  /** The window of tenants that set none. */
  defaultRetentionDays: number;
}

/** What a retention run did for one tenant. */
export interface RetentionOutcome {
  tenant: string;
  retentionDays: number;
  deleted: number;
}

/**
 * Deletes the payloads of a tenant's entries older than its retention window, across all its
 * streams at once (payloads are content-addressed per tenant, so a payload one stream still
 * needs is kept). Entries are never touched. Each stream's cursor (first entry not yet expired)
 * bounds the next run's reading.
 *
 * @example await applyRetention(deps, 'acme', [{ tenant: 'acme', stream: 'ops' }], new Date());
 */
export async function applyRetention(deps: RetentionDeps, tenant: string, refs: readonly StreamRef[], now: Date): Promise<RetentionOutcome> {
  const retentionDays = (await deps.state.retentionDays(tenant)) ?? deps.defaultRetentionDays;
  const cutoff = now.getTime() - retentionDays * 86_400_000;
  const windows = await Promise.all(
    refs.map(async (ref) => {
      const from = await deps.state.cursor(ref, 'retention');
      return { ref, entries: await deps.ledger.read(ref.tenant, ref.stream, from) };
    }),
  );
  const all = windows.flatMap((window) => window.entries);
  const expired = expiredPayloadHashes(all, { retentionDays, now });
  await mapLimit(expired, 16, (hash) => deps.payloads.delete(tenant, hash));
  for (const { ref, entries } of windows) {
    const firstKept = entries.find((entry) => Number.isNaN(Date.parse(entry.timestamp)) || Date.parse(entry.timestamp) >= cutoff);
    const last = entries.at(-1);
    if (last === undefined) continue;
    await deps.state.setCursor(ref, 'retention', firstKept?.seq ?? last.seq + 1);
  }
  return { tenant, retentionDays, deleted: expired.length };
}

/** Groups stream references by tenant. */
export function byTenant(refs: readonly StreamRef[]): Map<string, StreamRef[]> {
  const groups = new Map<string, StreamRef[]>();
  for (const ref of refs) groups.set(ref.tenant, [...(groups.get(ref.tenant) ?? []), ref]);
  return groups;
}
