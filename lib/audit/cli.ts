/**
 * `autonomy-verify`: the outside verifier. Needs only an export file and the published public
 * keys; proves the chain, every proof, checkpoint signatures and consistency. I/O is injected so
 * this module stays pure; bin/autonomy-verify.mjs wires it to the file system and the process.
 *
 * Exit codes: 0 intact; 1 broken (names the first bad seq and the reason); 2 usage error
 * (bad arguments, unreadable file); 3 malformed input (the export or key file does not parse).
 */
import { DomainError } from '../errors.ts';
import { exportVerifyInput, parseExport } from './export.ts';
import { publicKeySetSchema } from './schemas.ts';
import { verifyStream } from './verify.ts';

/** What the CLI needs from the outside world. */
export interface CliIo {
  readFile(path: string): Promise<string>;
  stdout(line: string): void;
  stderr(line: string): void;
}

/** Exit statuses of `autonomy-verify`. */
export const EXIT = { intact: 0, broken: 1, usage: 2, malformed: 3 } as const;

const USAGE = `usage: autonomy-verify --export <file.jsonl> --keys <keys.json>

Verifies an Autonomy Plane audit export (autonomy-audit-export/1) against the published keys:
the reply of GET /audit/keys saved to a file (the whole reply, or just its result). Exit 0 intact, 1 broken, 2 usage error, 3 malformed input.`;

function parseArgs(argv: readonly string[]): { exportPath: string; keysPath: string } | { help: true } | { error: string } {
  const values: Record<string, string> = {};
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? '';
    if (arg === '--help' || arg === '-h') return { help: true };
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag !== '--export' && flag !== '--keys') return { error: `unknown argument ${arg}` };
    const value = inline ?? argv[index + 1];
    if (inline === undefined) index += 1;
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('--')))
      return { error: `${flag} needs a file path` };
    if (values[flag] !== undefined) return { error: `${flag} given twice` };
    values[flag] = value;
  }
  const exportPath = values['--export'];
  const keysPath = values['--keys'];
  if (exportPath === undefined || keysPath === undefined) return { error: 'both --export and --keys are required' };
  return { exportPath, keysPath };
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
  let exportText: string;
  let keysText: string;
  try {
    [exportText, keysText] = await Promise.all([io.readFile(args.exportPath), io.readFile(args.keysPath)]);
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
  let parsed: ReturnType<typeof parseExport>;
  try {
    parsed = parseExport(exportText);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    io.stderr(`autonomy-verify: malformed export ${args.exportPath}: ${error.message}`);
    return EXIT.malformed;
  }
  const result = verifyStream(exportVerifyInput(parsed, keys.data));
  const { tenant, stream, from, to } = parsed.header;
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
