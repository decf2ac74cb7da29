/**
 * Runs AWS's DynamoDB Local (the jar shipped in the npm package `amplify-dynamodb-simulator`) with
 * Java, persisted under a data directory. The java process is started directly (no shell), so
 * stopping it by its own PID leaves nothing behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
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

/** Where the DynamoDB Local jar lives. */
export function dynamoDbLocalDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('amplify-dynamodb-simulator/package.json')), 'emulator');
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
export async function startDynamoDbLocal(options: { port: number; dataDir: string; timeoutMs?: number }): Promise<DynamoDbLocal> {
  const major = javaMajorVersion();
  if (major === undefined || major < 11) {
    throw new JavaMissingError('DynamoDB Local needs Java 11 or newer on PATH. On Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless');
  }
  const dir = dynamoDbLocalDir();
  if (!existsSync(path.join(dir, 'DynamoDBLocal.jar'))) throw new Error(`DynamoDBLocal.jar not found in ${dir}; run npm ci`);
  await mkdir(options.dataDir, { recursive: true });
  const child: ChildProcess = spawn(
    'java',
    [`-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`, '-Xmx512m', '-jar', path.join(dir, 'DynamoDBLocal.jar'), '-port', String(options.port), '-dbPath', options.dataDir, '-sharedDb'],
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
