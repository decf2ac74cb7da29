/**
 * The deployable bundles `sls package --stage dev` built: each function's `.mjs` loads in a fresh
 * Node process with its deployed environment and exports a `handler` (so a bundling mistake, such as
 * a module the build dropped, fails here and not at the first cold start in AWS).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { unzip } from '../../infra/local/zip.ts';

const templatePath = process.env.AUTONOMY_TEST_DEV_TEMPLATE;

describe('bundles', { skip: templatePath ? false : 'needs the packaged dev stage: run with `npm test`' }, async () => {
  const packageDir = path.dirname(templatePath ?? '');
  const zips = (await readdir(packageDir).catch(() => [])).filter((file) => file.endsWith('.zip') && !file.startsWith('autonomy.zip'));
  const work = await mkdtemp(path.join(os.tmpdir(), 'autonomy-bundles-'));
  after(() => rm(work, { recursive: true, force: true }));
  const env = { PATH: process.env.PATH, STAGE: 'test', STATE_TABLE: 't', IDEMPOTENCY_TABLE: 'i', ARTIFACTS_BUCKET: 'b', EVENT_BUS_NAME: 'bus', LEDGER_TABLE: 'l', AUDIT_SIGNING_KEY_PREFIX: 'autonomy/test/audit-signing-keys/', AWS_REGION: 'us-east-1', LOG_LEVEL: 'ERROR' };

  it('found one zip per function', () => assert.ok(zips.length >= 20, `only ${zips.length} zips in ${packageDir}`));

  for (const zip of zips) {
    it(`${zip} loads and exports a handler`, async () => {
      const bundle = unzip(await readFile(path.join(packageDir, zip))).find((entry) => entry.name.endsWith('.mjs'));
      assert.ok(bundle, 'the zip holds an .mjs bundle');
      const file = path.join(work, `${zip}.mjs`);
      await writeFile(file, bundle.data);
      const type = execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(file)}); console.log(typeof m.handler);`], { env, encoding: 'utf8' }).trim();
      assert.equal(type, 'function');
    });
  }
});
