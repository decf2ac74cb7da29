/**
 * `npm test`: boots a fresh local cloud on free ports and runs the unit and integration suites with
 * node's test runner against it, while it packages the dev stage for the files that read its bundles
 * (run once it is done); then stops the cloud. Pass file paths or globs to run only those:
 * `npm test -- test/unit/engines.test.ts`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { glob, mkdtemp, readFile, rm } from 'node:fs/promises';
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

const patterns = process.argv.slice(2);
const files: string[] = [];
for await (const file of glob(patterns.length > 0 ? patterns : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'], { cwd: root }))
  files.push(file);
files.sort();
if (files.length === 0) throw new Error(`no test file matches ${patterns.join(' ')}`);

/** Where the dev stage is packaged (its template and one zip per function). */
const devPackageDir = path.join(root, '.local', 'package', 'dev');

/**
 * The files that read the dev stage packaged with its bundles (AUTONOMY_TEST_DEV_TEMPLATE) or package
 * it themselves (the packaging is cached, so they reuse this run's). Packaging dev bundles every
 * function (a minute or two on 2 cores), so these run on their own once it is done, beside the rest,
 * which start as soon as the cloud is up; a run without them does not package.
 */
const readsDevPackage = /AUTONOMY_TEST_DEV_TEMPLATE|packageTemplate\(root, 'dev'/;
const packagedFiles: string[] = [];
for (const file of files) if (readsDevPackage.test(await readFile(path.resolve(root, file), 'utf8'))) packagedFiles.push(file);
const cloudFiles = files.filter((file) => !packagedFiles.includes(file));

const booting = startLocalCloud({
  root,
  dataDir,
  ports: await freePorts(),
  functionOutput: { file: functionLog },
  log: process.env.LOCAL_CLOUD_VERBOSE ? log : () => {},
});
// Settles to the packaging's error, or undefined once packaged (handled from the start: it may fail before the cloud is up).
const packaging: Promise<unknown> =
  packagedFiles.length > 0
    ? packageTemplate(root, 'dev', devPackageDir, log).then(
        () => undefined,
        (error: unknown) => error ?? new Error('packaging failed'),
      )
    : Promise.resolve(undefined);
const cloud = await booting.catch(async (error: unknown) => {
  await packaging;
  await rm(dataDir, { recursive: true, force: true });
  throw error;
});
log(`local cloud ready in ${((performance.now() - started) / 1000).toFixed(1)} s (data in ${dataDir})`);
// The whole suite sweeps every route several times over (auth, fuzz, tenant isolation), often two files at
// once: started cold, each function would start once per concurrent caller. Warm, one environment each,
// started two at a time (beside the dev packaging), the sweeps find them running.
if (patterns.length === 0 || process.env.AUTONOMY_TEST_WARM === '1') {
  const warmed = await cloud.lambda.warm();
  log(`${warmed} functions warm in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const env = {
  ...process.env,
  ...cloud.env,
  AUTONOMY_TEST_API_URL: cloud.apiUrl,
  AUTONOMY_TEST_DATA_DIR: dataDir,
  AUTONOMY_TEST_FUNCTION_LOG: functionLog,
  AUTONOMY_TEST_STAGE: cloud.stage,
  AUTONOMY_TEST_RESOURCES: JSON.stringify(cloud.resources),
  AUTONOMY_TEST_DEV_TEMPLATE: path.join(devPackageDir, 'cloudformation-template-update-stack.json'),
};
const reporters = [
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  // The slowest files at the end of the run: where the CI budget goes.
  '--test-reporter=./test/helpers/file-times-reporter.ts',
  '--test-reporter-destination=stdout',
];
const children = new Set<ChildProcess>();
let stopping = false;
// Stopped from outside (a CI timeout, Ctrl-C): stop the test runners, then the cloud, as on a normal end.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    stopping = true;
    for (const child of children) child.kill(signal);
  });
/** Runs node's test runner on `list`; with `quiet`, its output is held and printed when it ends (not interleaved). */
function runTests(list: string[], quiet = false): Promise<number> {
  if (list.length === 0) return Promise.resolve(0);
  if (stopping) return Promise.resolve(1);
  const child = spawn(process.execPath, ['--test', ...reporters, '--test-concurrency=2', ...list], {
    cwd: root,
    stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    env,
  });
  children.add(child);
  const held: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => held.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => held.push(chunk));
  return new Promise<number>((resolve) =>
    child.on('close', (exit) => {
      children.delete(child);
      if (held.length > 0) process.stdout.write(Buffer.concat(held));
      resolve(exit ?? 1);
    }),
  );
}
const onCloud = runTests(cloudFiles);
const onPackage = packaging.then((error) => {
  if (error !== undefined) {
    console.error(`[test] FAIL: packaging the dev stage failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  if (packagedFiles.length > 0)
    log(`dev stage packaged in ${((performance.now() - started) / 1000).toFixed(1)} s; running ${packagedFiles.join(', ')}`);
  return runTests(packagedFiles, true);
});
const codes = [await onCloud, await onPackage];
let code = codes.find((exit) => exit !== 0) ?? 0;
await cloud.stop();
const leaked = leakedCredentials(await readFile(functionLog, 'utf8').catch(() => ''));
if (leaked.length > 0) {
  console.error(`[test] FAIL: the functions logged ${leaked.length} credential(s) during the run: ${leaked.slice(0, 10).join(', ')}`);
  code = code || 1;
}
await rm(dataDir, { recursive: true, force: true });
process.exit(code);
