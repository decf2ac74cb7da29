/**
 * `autonomy-verify`: the outside verifier. Needs only an export file and the published public
 * keys; proves the chain, every proof, checkpoint signatures and consistency. I/O is injected so
 * this module stays pure; bin/autonomy-verify.mjs wires it to the file system and the process.
 *
 * An export to S3 (`POST /audit/export`) is verified either as one file (its parts concatenated)
 * or with `--manifest`: the parts beside the manifest are read one at a time and walked in order,
 * so memory stays flat however long the stream. Each page's payloads are checked against the
 * entries of that page, as the export job checked them.
 *
 * Exit codes: 0 intact; 1 broken (names the first bad seq and the reason); 2 usage error
 * (bad arguments, unreadable file); 3 malformed input (the export or key file does not parse).
 */
import { basename, dirname, join } from 'node:path';
import { DomainError } from '../errors.ts';
import { ChainWalker } from './chain-walk.ts';
import { exportVerifyInput, parseExport, parseExportPage } from './export.ts';
import { type ExportHeaderLine, exportManifestSchema, type PublicKeySet, publicKeySetSchema } from './schemas.ts';
import { type VerifyResult, verifyStream, verifyWalked } from './verify.ts';

/** What the CLI needs from the outside world. */
export interface CliIo {
  readFile(path: string): Promise<string>;
  stdout(line: string): void;
  stderr(line: string): void;
}

/** Exit statuses of `autonomy-verify`. */
export const EXIT = { intact: 0, broken: 1, usage: 2, malformed: 3 } as const;

const USAGE = `usage: autonomy-verify --export <file.jsonl> --keys <keys.json>
       autonomy-verify --manifest <dir/manifest.json> --keys <keys.json>

Verifies an Autonomy Plane audit export (autonomy-audit-export/1) against the published keys:
the reply of GET /audit/keys saved to a file (the whole reply, or just its result). With --manifest,
an export to S3 downloaded as is (manifest.json beside head.jsonl and its pages), read a page at a time.
Exit 0 intact, 1 broken, 2 usage error, 3 malformed input.`;

type CliArgs = { exportPath: string; keysPath: string } | { manifestPath: string; keysPath: string };

function parseArgs(argv: readonly string[]): CliArgs | { help: true } | { error: string } {
  const values: Record<string, string> = {};
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? '';
    if (arg === '--help' || arg === '-h') return { help: true };
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag !== '--export' && flag !== '--manifest' && flag !== '--keys') return { error: `unknown argument ${arg}` };
    const value = inline ?? argv[index + 1];
    if (inline === undefined) index += 1;
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('--')))
      return { error: `${flag} needs a file path` };
    if (values[flag] !== undefined) return { error: `${flag} given twice` };
    values[flag] = value;
  }
  const exportPath = values['--export'];
  const manifestPath = values['--manifest'];
  const keysPath = values['--keys'];
  if (exportPath !== undefined && manifestPath !== undefined) return { error: 'give --export or --manifest, not both' };
  if ((exportPath === undefined && manifestPath === undefined) || keysPath === undefined)
    return { error: 'both --export (or --manifest) and --keys are required' };
  return exportPath !== undefined ? { exportPath, keysPath } : { manifestPath: manifestPath as string, keysPath };
}

/**
 * The key set inside a saved `GET /audit/keys` reply (`{ status, result: { keys }, … }`), or the
 * value itself when it is a bare key set: the verifier accepts either file.
 */
function unwrapEnvelope(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || 'keys' in value) return value;
  const result = (value as { result?: unknown }).result;
  return typeof result === 'object' && result !== null && 'keys' in result ? result : value;
}

/**
 * Runs the verifier and returns the exit status.
 *
 * @example process.exitCode = await runCli(process.argv.slice(2), { readFile: (p) => readFile(p, 'utf8'), stdout: console.log, stderr: console.error });
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv);
  if ('help' in args) {
    io.stdout(USAGE);
    return EXIT.intact;
  }
  if ('error' in args) {
    io.stderr(`autonomy-verify: ${args.error}\n\n${USAGE}`);
    return EXIT.usage;
  }
  let keysText: string;
  try {
    keysText = await io.readFile(args.keysPath);
  } catch (error) {
    io.stderr(`autonomy-verify: cannot read input: ${(error as Error).message}`);
    return EXIT.usage;
  }
  let keysJson: unknown;
  try {
    keysJson = JSON.parse(keysText);
  } catch (error) {
    io.stderr(`autonomy-verify: ${args.keysPath} is not JSON: ${(error as Error).message}`);
    return EXIT.malformed;
  }
  const keys = publicKeySetSchema.safeParse(unwrapEnvelope(keysJson));
  if (!keys.success) {
    io.stderr(
      `autonomy-verify: ${args.keysPath} is not a key set: ${keys.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
    return EXIT.malformed;
  }
  const outcome =
    'manifestPath' in args
      ? await verifyManifest(args.manifestPath, keys.data, io)
      : await verifyExportFile(args.exportPath, keys.data, io);
  if (typeof outcome === 'number') return outcome;
  return report(outcome.header, outcome.result, io);
}

/** A verdict and the header it is about, or an exit status when the input could not be read. */
type Verified = { header: ExportHeaderLine; result: VerifyResult } | number;

async function verifyExportFile(exportPath: string, keys: PublicKeySet, io: CliIo): Promise<Verified> {
  let exportText: string;
  try {
    exportText = await io.readFile(exportPath);
  } catch (error) {
    io.stderr(`autonomy-verify: cannot read input: ${(error as Error).message}`);
    return EXIT.usage;
  }
  let parsed: ReturnType<typeof parseExport>;
  try {
    parsed = parseExport(exportText);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    io.stderr(`autonomy-verify: malformed export ${exportPath}: ${error.message}`);
    return EXIT.malformed;
  }
  return { header: parsed.header, result: verifyStream(exportVerifyInput(parsed, keys)) };
}

/** Walks an export to S3 part by part: the head (header, checkpoints), then each page in order. */
async function verifyManifest(manifestPath: string, keys: PublicKeySet, io: CliIo): Promise<Verified> {
  const read = async (path: string): Promise<string | number> => {
    try {
      return await io.readFile(path);
    } catch (error) {
      io.stderr(`autonomy-verify: cannot read input: ${(error as Error).message}`);
      return EXIT.usage;
    }
  };
  const malformed = (what: string, message: string) => {
    io.stderr(`autonomy-verify: malformed ${what}: ${message}`);
    return EXIT.malformed;
  };
  const manifestText = await read(manifestPath);
  if (typeof manifestText === 'number') return manifestText;
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(manifestText);
  } catch (error) {
    return malformed(`manifest ${manifestPath}`, `not JSON: ${(error as Error).message}`);
  }
  const manifest = exportManifestSchema.safeParse(manifestJson);
  if (!manifest.success) {
    return malformed(
      `manifest ${manifestPath}`,
      manifest.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
    );
  }
  const [head, ...pages] = manifest.data.parts;
  if (head?.kind !== 'head' || pages.some((part) => part.kind !== 'entries'))
    return malformed(`manifest ${manifestPath}`, 'parts must be the head, then pages');
  // The parts lie beside the manifest, under the last segment of their keys.
  const local = (key: string) => join(dirname(manifestPath), basename(key));
  const headText = await read(local(head.key));
  if (typeof headText === 'number') return headText;
  let parsedHead: ReturnType<typeof parseExport>;
  try {
    parsedHead = parseExport(headText);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return malformed(`head ${local(head.key)}`, error.message);
  }
  const { header, checkpoints } = parsedHead;
  if (parsedHead.entries.length > 0) return malformed(`head ${local(head.key)}`, 'the head holds the header and checkpoints only');
  const walker = new ChainWalker({ tenant: header.tenant, stream: header.stream, from: header.from, roots: checkpoints });
  for (const page of pages) {
    const text = await read(local(page.key));
    if (typeof text === 'number') return text;
    let parsed: ReturnType<typeof parseExportPage>;
    try {
      parsed = parseExportPage(text);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return malformed(`page ${local(page.key)}`, error.message);
    }
    for (const entry of parsed.entries) walker.push(entry, parsed.payloads);
  }
  return { header, result: verifyWalked(walker, { checkpoints, keys, tenant: header.tenant, stream: header.stream, to: header.to }) };
}

function report(header: ExportHeaderLine, result: VerifyResult, io: CliIo): number {
  const { tenant, stream, from, to } = header;
  const range = to > from ? `seq ${from}..${to - 1}` : 'no entries';
  if (!result.intact) {
    io.stdout(`BROKEN ${tenant}/${stream}: first bad seq ${result.firstBadSeq}, reason ${result.reason}`);
    io.stdout(`  ${result.detail}`);
    return EXIT.broken;
  }
  io.stdout(`INTACT ${tenant}/${stream} (${range})`);
  io.stdout(`  entries verified:        ${result.entries}`);
  io.stdout(`  checkpoints verified:    ${result.checkpoints} (latest covers ${result.checkpointedEntries} entries)`);
  io.stdout(`  proofs verified:         ${result.proofs}`);
  io.stdout(`  payloads expired:        ${result.expiredPayloads}`);
  return EXIT.intact;
}
