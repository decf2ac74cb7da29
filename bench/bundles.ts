/**
 * Per-function bundle size and module import time in a fresh process (the cold-start proxy), on the
 * artifacts `sls package --stage dev` builds: the zip, the bundled .mjs, and the median import time
 * of that .mjs over several fresh `node` processes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageTemplate } from '../infra/local/template.ts';
import { unzip } from '../infra/local/zip.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 7);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export async function benchBundles(): Promise<void> {
  const outDir = path.join(root, '.local', 'package', 'dev');
  await packageTemplate(root, 'dev', outDir, (line) => console.log(line));
  const zips = (await readdir(outDir)).filter((file) => file.endsWith('.zip')).sort();
  const env = { ...process.env, STAGE: 'bench', STATE_TABLE: 't', IDEMPOTENCY_TABLE: 't', ARTIFACTS_BUCKET: 'b', EVENT_BUS_NAME: 'bus', AWS_REGION: 'us-east-1', LOG_LEVEL: 'WARN' };
  console.log(`\nBundles (sls package --stage dev, esbuild minified ESM, SDK bundled; import median of ${RUNS} fresh processes, node ${process.version})`);
  console.log('function            zip KB   .mjs KB   import ms (p50)   import ms (min)');
  for (const zip of zips) {
    const entries = unzip(await readFile(path.join(outDir, zip)));
    const bundle = entries.find((entry) => entry.name.endsWith('.mjs'));
    if (!bundle) continue;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-bundle-'));
    const file = path.join(dir, path.basename(bundle.name));
    await writeFile(file, bundle.data);
    const times: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`], { env, encoding: 'utf8' });
      times.push(Number(out.trim()));
    }
    await rm(dir, { recursive: true, force: true });
    const zipKb = (await stat(path.join(outDir, zip))).size / 1024;
    console.log(`${zip.replace('.zip', '').padEnd(18)} ${zipKb.toFixed(0).padStart(7)} ${(bundle.data.length / 1024).toFixed(0).padStart(9)} ${median(times).toFixed(1).padStart(17)} ${Math.min(...times).toFixed(1).padStart(17)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchBundles();
