/**
 * `npm test`: packages the dev stage (for the template test), boots a fresh local cloud on free
 * ports, runs the unit and integration suites with node's test runner against it, then stops it.
 * Pass file paths or globs to run only those: `npm test -- test/unit/engines.test.ts`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalCloud } from '../infra/local/cloud.ts';
import { freePorts } from '../infra/local/ports.ts';
import { packageTemplate } from '../infra/local/template.ts';
import { leakedCredentials } from './helpers/log-scan.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-test-'));
const log = (line: string) => console.log(`[test] ${line}`);
const started = performance.now();
// Everything the functions print during the run, scanned for credentials at the end (and by test/integration/security.test.ts).
const functionLog = path.join(dataDir, 'function-output.log');

const files = process.argv.slice(2);
const patterns = files.length > 0 ? files : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'];

/**
 * Whether the run needs the dev stage packaged with its bundles (the template and bundle tests read
 * it through AUTONOMY_TEST_DEV_TEMPLATE): the whole suite, a glob, or a named file that reads it.
 * Packaging dev bundles every function; a run of one integration file need not wait for that.
 */
async function needsDevPackage(): Promise<boolean> {
  if (files.length === 0) return true;
  for (const file of files) {
    const text = await readFile(path.resolve(root, file), 'utf8').catch(() => undefined);
    if (text === undefined || text.includes('AUTONOMY_TEST_DEV_TEMPLATE')) return true;
  }
  return false;
}

const booting = startLocalCloud({
  root,
  dataDir,
  ports: await freePorts(),
  functionOutput: { file: functionLog },
  log: process.env.LOCAL_CLOUD_VERBOSE ? log : () => {},
});
const packaging = (await needsDevPackage())
  ? packageTemplate(root, 'dev', path.join(root, '.local', 'package', 'dev'), log)
  : Promise.resolve();
const [booted, packaged] = await Promise.allSettled([booting, packaging]);
// A failed packaging must not leave the cloud's emulators (DynamoDB Local's JVM among them) running.
if (booted.status === 'rejected' || packaged.status === 'rejected') {
  if (booted.status === 'fulfilled') await booted.value.stop();
  await rm(dataDir, { recursive: true, force: true });
  throw booted.status === 'rejected' ? booted.reason : (packaged as PromiseRejectedResult).reason;
}
const cloud = booted.value;
log(`local cloud ready in ${((performance.now() - started) / 1000).toFixed(1)} s (data in ${dataDir})`);
const child = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...patterns], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    ...cloud.env,
    AUTONOMY_TEST_API_URL: cloud.apiUrl,
    AUTONOMY_TEST_DATA_DIR: dataDir,
    AUTONOMY_TEST_FUNCTION_LOG: functionLog,
    AUTONOMY_TEST_STAGE: cloud.stage,
    AUTONOMY_TEST_RESOURCES: JSON.stringify(cloud.resources),
    AUTONOMY_TEST_DEV_TEMPLATE: path.join(root, '.local', 'package', 'dev', 'cloudformation-template-update-stack.json'),
  },
});
// Stopped from outside (a CI timeout, Ctrl-C): stop the test runner, then the cloud, as on a normal end.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => child.kill(signal));
let code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? 1)));
await cloud.stop();
const leaked = leakedCredentials(await readFile(functionLog, 'utf8').catch(() => ''));
if (leaked.length > 0) {
  console.error(`[test] FAIL: the functions logged ${leaked.length} credential(s) during the run: ${leaked.slice(0, 10).join(', ')}`);
  code = code || 1;
}
await rm(dataDir, { recursive: true, force: true });
process.exit(code);
