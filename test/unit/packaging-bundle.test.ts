/**
 * Function packaging (infra/serverless/bundle.ts): handlers bundled in one esbuild build, each
 * function's zip holding its complete bundle and source map at the handler's path, byte-identical
 * from one packaging to the next. The real stage's bundles are checked by bundles.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { unzip } from '../../infra/local/zip.ts';
import { BundleError, bundleFunctions } from '../../infra/serverless/bundle.ts';

/** serverless.yml's options, less the repo's plugins (a plugin of the fixture's own stands in). */
const esbuild = {
  bundle: true,
  minify: true,
  sourcemap: true,
  keepNames: true,
  target: 'node22',
  platform: 'node',
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  mainFields: ['module', 'main'],
  plugins: './plugins.cjs',
};

/** Each central-directory record's DOS time, DOS date and Unix mode. */
function centralRecords(zip: Buffer): Array<{ time: number; date: number; mode: number }> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let offset = zip.readUInt32LE(eocd + 16);
  const records: Array<{ time: number; date: number; mode: number }> = [];
  for (let i = 0; i < zip.readUInt16LE(eocd + 10); i += 1) {
    records.push({ time: zip.readUInt16LE(offset + 12), date: zip.readUInt16LE(offset + 14), mode: zip.readUInt32LE(offset + 38) >>> 16 });
    offset += 46 + zip.readUInt16LE(offset + 28) + zip.readUInt16LE(offset + 30) + zip.readUInt16LE(offset + 32);
  }
  return records;
}

describe('function packaging', () => {
  let root = '';
  const functions = [
    { name: 'one', handler: 'functions/a/one.handler' },
    { name: 'two', handler: 'functions/b/two.handler' },
    // A second function on the same file: one build entry, two zips.
    { name: 'twoAgain', handler: 'functions/b/two.handler' },
  ];

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'autonomy-bundle-'));
    await mkdir(path.join(root, 'functions', 'a'), { recursive: true });
    await mkdir(path.join(root, 'functions', 'b'), { recursive: true });
    await mkdir(path.join(root, 'lib'), { recursive: true });
    await writeFile(path.join(root, 'lib', 'shared.ts'), 'export const greet = (who: string): string => `hello ${who}`;\n');
    await writeFile(
      path.join(root, 'functions', 'a', 'one.ts'),
      "import { greet } from '../../lib/shared.ts';\nimport answer from 'virtual:answer';\nexport const handler = async () => `${greet('one')} ${answer}`;\n",
    );
    await writeFile(
      path.join(root, 'functions', 'b', 'two.ts'),
      "import { greet } from '../../lib/shared.ts';\nexport const handler = async () => greet('two');\n",
    );
    await writeFile(
      path.join(root, 'plugins.cjs'),
      "module.exports = [{ name: 'answer', setup(build) { build.onResolve({ filter: /^virtual:answer$/ }, () => ({ path: 'answer', namespace: 'answer' })); build.onLoad({ filter: /.*/, namespace: 'answer' }, () => ({ contents: 'export default 42;', loader: 'js' })); } }];\n",
    );
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('writes one zip per function holding its whole bundle and source map at the handler path, sorted, with fixed times and modes', async () => {
    const { zips } = await bundleFunctions({ root, functions, esbuild, workDir: path.join(root, '.esbuild', 'test') });
    assert.deepEqual([...zips.keys()].sort(), ['one', 'two', 'twoAgain']);
    const expected: Record<string, [string, string]> = {
      one: ['functions/a/one', 'hello one 42'],
      two: ['functions/b/two', 'hello two'],
      twoAgain: ['functions/b/two', 'hello two'],
    };
    for (const [name, [base, reply]] of Object.entries(expected)) {
      const zip = await readFile(zips.get(name) ?? '');
      const entries = unzip(zip);
      assert.deepEqual(
        entries.map((entry) => entry.name),
        [`${base}.mjs`, `${base}.mjs.map`],
        name,
      );
      // 1980-01-01 00:00 as a DOS date and time; a regular file, rw-r--r--.
      for (const record of centralRecords(zip)) assert.deepEqual(record, { time: 0, date: (0 << 9) | (1 << 5) | 1, mode: 0o100644 });
      const map = JSON.parse(entries[1]?.data.toString('utf8') ?? '{}') as { sources?: string[] };
      assert.ok(
        map.sources?.some((source) => source.endsWith('lib/shared.ts')),
        `${name}: the map names the shared module`,
      );
      // The bundle runs on its own: the shared module and the plugin's module are inside it.
      const file = path.join(root, `${name}.mjs`);
      await writeFile(file, entries[0]?.data ?? '');
      const module = (await import(pathToFileURL(file).href)) as { handler: () => Promise<string> };
      assert.equal(await module.handler(), reply);
    }
  });

  it('gives byte-identical zips when the same code is packaged again, in one build or one build per handler', async () => {
    const first = await bundleFunctions({ root, functions, esbuild, workDir: path.join(root, '.esbuild', 'first') });
    const second = await bundleFunctions({ root, functions, esbuild, workDir: path.join(root, '.esbuild', 'second') });
    const apart = await bundleFunctions({
      root,
      functions,
      esbuild: { ...esbuild, entriesPerBuild: 1 },
      workDir: path.join(root, '.esbuild', 'apart'),
    });
    assert.deepEqual([first.builds, apart.builds], [1, 2]);
    for (const { name } of functions) {
      const zip = await readFile(first.zips.get(name) ?? '');
      assert.ok(zip.equals(await readFile(second.zips.get(name) ?? '')), `${name}: packaged again`);
      assert.ok(zip.equals(await readFile(apart.zips.get(name) ?? '')), `${name}: one build per handler`);
    }
  });

  it('names the function whose handler file does not exist, and the files looked for', async () => {
    await assert.rejects(
      bundleFunctions({
        root,
        functions: [...functions, { name: 'ghost', handler: 'functions/a/ghost.handler' }],
        esbuild,
        workDir: path.join(root, '.esbuild', 'ghost'),
      }),
      (error: unknown) => error instanceof BundleError && /function ghost: no handler file functions\/a\/ghost\.ts, /.test(error.message),
    );
  });

  it('refuses an option the packaging sets itself, naming it', async () => {
    await assert.rejects(
      bundleFunctions({ root, functions, esbuild: { ...esbuild, outdir: 'dist' }, workDir: path.join(root, '.esbuild', 'outdir') }),
      (error: unknown) => error instanceof BundleError && error.message.startsWith('custom.esbuild.outdir: '),
    );
  });
});
