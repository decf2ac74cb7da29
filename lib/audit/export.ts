/**
 * The audit export format `autonomy-audit-export/1`: JSON Lines, one object per line.
 *
 *   {"type":"header","format":"autonomy-audit-export/1","tenant":…,"stream":…,"from":0,"to":N,"exportedAt":…}
 *   {"type":"entry","entry":{…},"payload":{…}}            or  …,"payloadExpired":true}
 *   {"type":"checkpoint","checkpoint":{…}}                 every checkpoint of the stream, oldest first
 *   {"type":"proof","kind":"consistency","fromSize":a,"toSize":b,"path":[hex…]}   consecutive checkpoints
 *   {"type":"proof","kind":"inclusion","seq":s,"treeSize":t,"path":[hex…]}        each exported entry the
 *                                                                                  latest checkpoint covers
 * `from` is inclusive and `to` exclusive (seq numbers). With the public key set, the file alone
 * proves itself: see `verifyStream` and bin/autonomy-verify.mjs.
 */
import { ValidationError } from '../errors.ts';
import { payloadHash } from './chain.ts';
import { canonicalJson } from './digest.ts';
import { ExportFormatError } from './errors.ts';
import { MerkleTree } from './merkle.ts';
import {
  type Checkpoint,
  type ConsistencyProofLine,
  consistencyProofLineSchema,
  EXPORT_FORMAT,
  type ExportEntryLine,
  type ExportHeaderLine,
  exportCheckpointLineSchema,
  exportEntryLineSchema,
  exportHeaderLineSchema,
  type InclusionProofLine,
  inclusionProofLineSchema,
  type LedgerEntry,
  type Payload,
  type PublicKeySet,
} from './schemas.ts';
import type { VerifyStreamInput } from './verify.ts';

/** Input of `writeExport`. */
export interface WriteExportInput {
  tenant: string;
  stream: string;
  /** A contiguous run of entries, ascending by seq. */
  entries: readonly LedgerEntry[];
  /** Payloads by `payloadHash`; a missing one or `'expired'` is written as `payloadExpired: true`. */
  payloads: ReadonlyMap<string, Payload | 'expired'>;
  /** Every checkpoint of the stream, oldest first. */
  checkpoints: readonly Checkpoint[];
  /** The stream's tree, covering at least the latest checkpoint; built from `entries` when they start at seq 0. */
  tree?: MerkleTree;
  exportedAt: string;
  /**
   * First seq of the range (default: the first entry's seq, else 0). Give it when exporting from
   * storage: an entry missing at the start of the range then shows as a gap, not a shorter range.
   */
  from?: number;
  /** One past the last seq the range must reach (default: `from` + the number of entries). */
  to?: number;
  /**
   * Write what can be proven when the tree is shorter than the latest checkpoint (a ledger that
   * lost entries) instead of refusing: the verifier then reports the break. Default false.
   */
  partialProofs?: boolean;
}

/**
 * The line of one entry: with its payload, or marked `payloadExpired` when retention deleted it
 * (absent from `payloads`, or `'expired'`).
 *
 * @example JSON.stringify(exportEntryLine(entry, payloads)) // {"type":"entry","entry":{…},"payload":{…}}
 */
export function exportEntryLine(entry: LedgerEntry, payloads: ReadonlyMap<string, Payload | 'expired'>): ExportEntryLine {
  const payload = payloads.get(entry.payloadHash);
  return payload === undefined || payload === 'expired'
    ? { type: 'entry', entry, payloadExpired: true }
    : { type: 'entry', entry, payload };
}

/**
 * Writes an export: header, entries with payloads, checkpoints, then consistency proofs between
 * consecutive checkpoints and inclusion proofs of the exported entries in the latest checkpoint.
 *
 * @throws ValidationError when no tree covering the latest checkpoint is available.
 * @example
 * const text = writeExport({ tenant, stream, entries, payloads, checkpoints, exportedAt: now });
 * await artifacts.put(`${tenant}/audit/exports/${stream}/${now}.jsonl`, text);
 */
export function writeExport(input: WriteExportInput): string {
  const { entries, checkpoints } = input;
  const from = input.from ?? entries[0]?.seq ?? 0;
  const latest = checkpoints.at(-1);
  let tree = input.tree;
  if (tree === undefined && from === 0) tree = MerkleTree.fromLeaves(entries.map((entry) => Buffer.from(entry.hash, 'hex')));
  if (latest !== undefined && (tree === undefined || tree.size < latest.treeSize) && input.partialProofs !== true) {
    throw new ValidationError([
      { path: 'tree', message: `a tree of at least ${latest.treeSize} leaves is needed to prove the latest checkpoint` },
    ]);
  }
  const header: ExportHeaderLine = {
    type: 'header',
    format: EXPORT_FORMAT,
    tenant: input.tenant,
    stream: input.stream,
    from,
    to: input.to ?? from + entries.length,
    exportedAt: input.exportedAt,
  };
  const lines: unknown[] = [header];
  for (const entry of entries) lines.push(exportEntryLine(entry, input.payloads));
  for (const checkpoint of checkpoints) lines.push({ type: 'checkpoint', checkpoint });
  if (tree !== undefined) {
    for (let index = 1; index < checkpoints.length; index += 1) {
      const fromSize = checkpoints[index - 1]?.treeSize ?? 0;
      const toSize = checkpoints[index]?.treeSize ?? 0;
      if (fromSize === 0 || fromSize > toSize || toSize > tree.size) continue;
      const proof: ConsistencyProofLine = {
        type: 'proof',
        kind: 'consistency',
        fromSize,
        toSize,
        path: tree.consistencyProof(fromSize, toSize).map((hash) => hash.toString('hex')),
      };
      lines.push(proof);
    }
    if (latest !== undefined && latest.treeSize <= tree.size) {
      for (const entry of entries) {
        if (entry.seq >= latest.treeSize) break;
        const proof: InclusionProofLine = {
          type: 'proof',
          kind: 'inclusion',
          seq: entry.seq,
          treeSize: latest.treeSize,
          path: tree.inclusionProof(entry.seq, latest.treeSize).map((hash) => hash.toString('hex')),
        };
        lines.push(proof);
      }
    }
  }
  // JSON.stringify, not canonical JSON: lines are read back with JSON.parse and hashes are always
  // recomputed from the parsed values, so key order in the file does not matter.
  return `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`;
}

/** A parsed export. */
export interface ParsedExport {
  header: ExportHeaderLine;
  entries: LedgerEntry[];
  /** Payloads by `payloadHash`; `'expired'` where the export marks them deleted by retention. */
  payloads: Map<string, Payload | 'expired'>;
  checkpoints: Checkpoint[];
  proofs: { inclusion: InclusionProofLine[]; consistency: ConsistencyProofLine[] };
}

function describeIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || '(line)'}: ${issue.message}`).join('; ');
}

function parseLine<T>(
  schema: {
    safeParse(
      value: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  value: unknown,
  line: number,
  what: string,
): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ExportFormatError(line, `invalid ${what}: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

function matchesHash(payload: Payload, hash: string): boolean {
  try {
    return payloadHash(payload) === hash;
  } catch {
    return false;
  }
}

/**
 * Adds an entry line's entry, and its payload (or the mark that it expired), to what was parsed so
 * far. Two lines that carry different payloads under one payloadHash keep the one that does not
 * match it, so verification cannot be fooled by the duplicate.
 */
function addEntryLine(parsed: ExportEntryLine, entries: LedgerEntry[], payloads: Map<string, Payload | 'expired'>): void {
  entries.push(parsed.entry);
  const key = parsed.entry.payloadHash;
  if ('payload' in parsed) {
    const existing = payloads.get(key);
    if (existing === undefined || existing === 'expired') payloads.set(key, parsed.payload);
    else if (canonicalJson(existing) !== canonicalJson(parsed.payload)) {
      // At most one of two different payloads can match the hash: keep a mismatching one.
      if (matchesHash(existing, key)) payloads.set(key, parsed.payload);
    }
  } else if (!payloads.has(key)) payloads.set(key, 'expired');
}

function jsonObjectRows(text: string, onRow: (value: object, line: number) => void): void {
  const rows = text.split(/\r?\n/);
  if (rows.at(-1) === '') rows.pop();
  for (const [index, row] of rows.entries()) {
    const line = index + 1;
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch (error) {
      throw new ExportFormatError(line, `not JSON: ${(error as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ExportFormatError(line, 'not a JSON object');
    onRow(value, line);
  }
}

/**
 * Parses one page of an export to S3 (`page-NNNNNN.jsonl`): entry lines only. Payloads are those
 * the page carries, as the export job checked them page by page.
 *
 * @throws ExportFormatError naming the 1-based line (within the page) of the first malformed or non-entry line.
 * @example const { entries, payloads } = parseExportPage(readFileSync('page-000001.jsonl', 'utf8'));
 */
export function parseExportPage(text: string): { entries: LedgerEntry[]; payloads: Map<string, Payload | 'expired'> } {
  const entries: LedgerEntry[] = [];
  const payloads = new Map<string, Payload | 'expired'>();
  jsonObjectRows(text, (value, line) => {
    const type = (value as { type?: unknown }).type;
    if (type !== 'entry') throw new ExportFormatError(line, `a page holds entry lines only, found type ${JSON.stringify(type)}`);
    addEntryLine(parseLine(exportEntryLineSchema, value, line, 'entry line'), entries, payloads);
  });
  return { entries, payloads };
}

/**
 * Parses and validates an export. Structure only: whether it proves anything is `verifyStream`'s
 * job (see `exportVerifyInput`). Two lines that carry different payloads under one payloadHash
 * keep the one that does not match it, so verification cannot be fooled by the duplicate.
 *
 * @throws ExportFormatError naming the 1-based line of the first malformed line.
 * @example const parsed = parseExport(readFileSync('stream.jsonl', 'utf8'));
 */
export function parseExport(text: string): ParsedExport {
  let header: ExportHeaderLine | undefined;
  const entries: LedgerEntry[] = [];
  const payloads = new Map<string, Payload | 'expired'>();
  const checkpoints: Checkpoint[] = [];
  const inclusion: InclusionProofLine[] = [];
  const consistency: ConsistencyProofLine[] = [];
  jsonObjectRows(text, (value, line) => {
    const type = (value as { type?: unknown }).type;
    if (line === 1) {
      if (type !== 'header') throw new ExportFormatError(line, `the first line must be the header, found type ${JSON.stringify(type)}`);
      header = parseLine(exportHeaderLineSchema, value, line, 'header');
      return;
    }
    switch (type) {
      case 'entry':
        addEntryLine(parseLine(exportEntryLineSchema, value, line, 'entry line'), entries, payloads);
        break;
      case 'checkpoint':
        checkpoints.push(parseLine(exportCheckpointLineSchema, value, line, 'checkpoint line').checkpoint);
        break;
      case 'proof': {
        const kind = (value as { kind?: unknown }).kind;
        if (kind === 'inclusion') inclusion.push(parseLine(inclusionProofLineSchema, value, line, 'inclusion proof'));
        else if (kind === 'consistency') consistency.push(parseLine(consistencyProofLineSchema, value, line, 'consistency proof'));
        else throw new ExportFormatError(line, `unknown proof kind ${JSON.stringify(kind)}`);
        break;
      }
      case 'header':
        throw new ExportFormatError(line, 'a second header');
      default:
        throw new ExportFormatError(line, `unknown line type ${JSON.stringify(type)}`);
    }
  });
  if (header === undefined) throw new ExportFormatError(1, 'empty export: no header');
  if (header.to < header.from) throw new ExportFormatError(1, `invalid header: to (${header.to}) is below from (${header.from})`);
  return { header, entries, payloads, checkpoints, proofs: { inclusion, consistency } };
}

/**
 * The `verifyStream` input that checks a parsed export against a public key set: the chain from
 * `header.from` to `header.to`, the header's tenant and stream, every checkpoint and every proof.
 *
 * @example const result = verifyStream(exportVerifyInput(parseExport(text), keys));
 */
export function exportVerifyInput(parsed: ParsedExport, keys: PublicKeySet): VerifyStreamInput {
  return {
    entries: parsed.entries,
    payloads: parsed.payloads,
    checkpoints: parsed.checkpoints,
    keys,
    tenant: parsed.header.tenant,
    stream: parsed.header.stream,
    from: parsed.header.from,
    to: parsed.header.to,
    proofs: parsed.proofs,
  };
}
