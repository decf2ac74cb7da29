/**
 * What the tokenizer's rank data costs a deploy bundle, with the `tiktoken-ranks-packed` esbuild
 * plugin (infra/esbuild/plugins.cjs: packed, brotli-compressed tokens, out of the source map) and
 * without it (js-tiktoken's rank modules as text, as before the plugin):
 * - size of the `.mjs`, its `.map`, and both deflated as the deploy's zip does (archiver's default
 *   level), for functions/gateway/chat.ts and for an entry that imports only lib/gateway/tokenizer.ts;
 * - cold start of the tokenizer-only bundle in fresh processes, runs of the two variants interleaved
 *   so machine load hits both alike: import ms, then first use of one family (load + one count) ms.
 * Bundled with the deploy's esbuild settings (serverless.yml custom.esbuild). Run:
 * `node bench/tokenizer-bundle.ts` (BENCH_COLD_RUNS, default 15).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { z } from 'zod';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 15);
const FAMILIES = ['cl100k_base', 'o200k_base'] as const;
const pluginSchema = z.array(
  z.custom<esbuild.Plugin>((value) => z.object({ name: z.string(), setup: z.function() }).safeParse(value).success, 'an esbuild plugin'),
);
const allPlugins = pluginSchema.parse(createRequire(import.meta.url)(path.join(root, 'infra/esbuild/plugins.cjs')));
const VARIANTS = {
  packed: allPlugins,
  text: allPlugins.filter((plugin) => plugin.name !== 'tiktoken-ranks-packed'),
};
type Variant = keyof typeof VARIANTS;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const kb = (bytes: number) => (bytes / 1024).toFixed(0);

/** Bundles `entry` with the deploy's settings; the sizes of the bundle, its map, and both deflated. */
async function build(entry: string, outfile: string, variant: Variant) {
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    sourcemap: true,
    keepNames: true,
    target: 'node22',
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    plugins: VARIANTS[variant],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'silent',
  });
  const [js, map] = await Promise.all([readFile(outfile), readFile(`${outfile}.map`)]);
  return { js: js.length, map: map.length, zip: deflateRawSync(js).length + deflateRawSync(map).length };
}

const coldSchema = z.object({ importMs: z.number(), firstUseMs: z.number() });

/** One fresh process: import the bundle, then load `family` and count one string. */
function coldRun(bundle: string, family: string) {
  const script = [
    'let t = performance.now();',
    `const { tokenizer } = await import(${JSON.stringify(bundle)});`,
    'const importMs = performance.now() - t;',
    't = performance.now();',
    `(await tokenizer(${JSON.stringify(family)})).count('hello world');`,
    'console.log(JSON.stringify({ importMs, firstUseMs: performance.now() - t }));',
  ].join('\n');
  return coldSchema.parse(JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })));
}

export async function benchTokenizerBundle(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'autonomy-tokenizer-bundle-bench-'));
  // The entry sits in the repository (in .local/, ignored) so packages resolve from its node_modules.
  await mkdir(path.join(root, '.local'), { recursive: true });
  const tokenizerEntry = path.join(root, '.local', 'bench-tokenizer-bundle-entry.ts');
  await writeFile(tokenizerEntry, "export { tokenizer } from '../lib/gateway/tokenizer.ts';\n");
  try {
    const entries = { 'functions/gateway/chat.ts': path.join(root, 'functions/gateway/chat.ts'), 'tokenizer only': tokenizerEntry };
    console.log("Rank data in a deploy bundle (esbuild as serverless.yml custom.esbuild; zip: deflate at archiver's default level)\n");
    console.log('| entry | rank data | .mjs KB | .map KB | zip KB |');
    console.log('|---|---|---:|---:|---:|');
    const bundles: Record<Variant, string> = { packed: '', text: '' };
    for (const [label, entry] of Object.entries(entries)) {
      for (const variant of ['text', 'packed'] as const) {
        const outfile = path.join(work, variant, label.replace(/[^a-z0-9]+/gi, '-'), 'entry.mjs');
        const size = await build(entry, outfile, variant);
        if (entry === tokenizerEntry) bundles[variant] = outfile;
        console.log(
          `| ${label} | ${variant === 'packed' ? 'packed, brotli (plugin)' : "js-tiktoken's text"} | ${kb(size.js)} | ${kb(size.map)} | ${kb(size.zip)} |`,
        );
      }
    }
    console.log(
      `\nCold start of the tokenizer-only bundle: median (min–max) of ${COLD_RUNS} fresh processes per cell, node ${process.version}\n`,
    );
    console.log('| family | rank data | import ms | first use ms (load + one count) |');
    console.log('|---|---|---:|---:|');
    for (const family of FAMILIES) {
      const runs: Record<Variant, Array<z.infer<typeof coldSchema>>> = { packed: [], text: [] };
      for (let run = 0; run < COLD_RUNS; run += 1) {
        for (const variant of run % 2 === 0 ? (['text', 'packed'] as const) : (['packed', 'text'] as const))
          runs[variant].push(coldRun(bundles[variant], family));
      }
      for (const variant of ['text', 'packed'] as const) {
        const cell = (values: number[]) =>
          `${median(values).toFixed(1)} (${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)})`;
        console.log(
          `| ${family} | ${variant} | ${cell(runs[variant].map((r) => r.importMs))} | ${cell(runs[variant].map((r) => r.firstUseMs))} |`,
        );
      }
    }
  } finally {
    await rm(tokenizerEntry, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchTokenizerBundle();
