/**
 * `npm run schema-diff`, spawned as a separate process on the fixture schemas in
 * test/fixtures/versioning/ (a tool's input schema: v1, an additive v2, a breaking draft-07 v3).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('../../scripts/run.mjs', import.meta.url));
const cli = fileURLToPath(new URL('../../scripts/schema-diff.ts', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/versioning/${name}`, import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [runner, cli, ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run schema-diff', () => {
  it('prints exactly one JSON object with the bump and each change for --json (breaking)', async () => {
    const { code, stdout } = await run([fixture('tool-v2-additive.schema.json'), fixture('tool-v3-breaking.schema.json'), '--json']);
    assert.equal(code, 0);
    const result = JSON.parse(stdout) as { bump: string; breaking: boolean; changes: Array<Record<string, unknown>> };
    assert.deepEqual(Object.keys(result), ['bump', 'breaking', 'changes']);
    assert.equal(result.bump, 'major');
    assert.equal(result.breaking, true);
    for (const change of result.changes) assert.deepEqual(Object.keys(change), ['path', 'kind', 'breaking']);
    assert.ok(result.changes.some((c) => c.path === '/required/1' && c.kind === 'required-added' && c.breaking === true));
    assert.ok(result.changes.some((c) => c.path === '/properties/days/maximum' && c.kind === 'bound-tightened'));
  });
  it('prints each change and a minor bump for an additive version, exit 0', async () => {
    const { code, stdout } = await run([fixture('tool-v1.schema.json'), fixture('tool-v2-additive.schema.json')]);
    assert.equal(code, 0);
    assert.match(stdout, /\/properties\/units\/enum\/2 {2}enum-value-added/);
    assert.match(stdout, /0 breaking: bump minor\n$/);
  });
  it('exits 2 with a clear message and no stack for a missing file, bad JSON, a non-schema or a missing argument', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'schema-diff-'));
    writeFileSync(join(dir, 'bad.json'), '{');
    writeFileSync(join(dir, 'array.json'), '[1]');
    const cases: Array<[string[], RegExp]> = [
      [[join(dir, 'missing.json'), fixture('tool-v1.schema.json')], /cannot read the old schema .*missing\.json: ENOENT/],
      [[join(dir, 'bad.json'), fixture('tool-v1.schema.json')], /the old schema .*bad\.json is not JSON/],
      [[fixture('tool-v1.schema.json'), join(dir, 'array.json')], /the new schema is not a JSON Schema/],
      [[fixture('tool-v1.schema.json')], /two schema files are required/],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await run(args);
      assert.equal(code, 2, stderr);
      assert.equal(stdout, '');
      assert.match(stderr, message);
      assert.doesNotMatch(stderr, /\n\s+at /);
    }
  });
});
