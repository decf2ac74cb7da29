/**
 * `npm run bench:tokenizer`: the gateway tokenizer (lib/gateway/tokenizer.ts) against the npm
 * packages people use for the same job, in one run on the same text:
 *
 * 1. **Exactness**: how many of the 30 conformance cases (test/fixtures/conformance/tokenizer/) each
 *    passes, which ones it fails, and whether it runs from a Lambda bundle: each package's usual entry
 *    point is bundled with the deploy's esbuild settings and plugins (plus `__dirname`), then run in a
 *    fresh Node with file access only in the bundle's folder (`--permission`) and the network refused.
 * 2. **Throughput**: encoding speed (MB/s of UTF-8 and tokens/s) on three public texts, as a ratio to
 *    ours. Implementations take turns for {@link ROUNDS} rounds and each keeps its median round; time
 *    is this process's CPU time (user + system), which a busy shared machine disturbs less than the
 *    wall clock. Ids are not compared here (part 1 does that).
 * 3. **Cold start** of each bundle: import + first count, fresh process, median of {@link COLD_RUNS}.
 * 4. **The `approx` family**: its estimate against exact cl100k_base and o200k_base counts, and against
 *    two tokenizers we do not ship (Llama 2 and Mistral 7B's SentencePiece vocabularies, from the
 *    llama-tokenizer-js and mistral-tokenizer-js packages) on public text shipped in this repository
 *    and its locked dependencies (named per row). Ratio = estimate ÷ exact; under 1 is an under-count.
 *
 * Peers: js-tiktoken and @microsoft/tiktokenizer have no `<|im_start|>`/`<|im_end|>` in cl100k_base,
 * tiktoken and @dqbd/tiktoken neither: each is given them through its own extension API, as the
 * conformance vectors expect. @microsoft/tiktokenizer downloads its rank file at run time; for parts
 * 1 and 2 it is built from a `.tiktoken` file written from the same bytes we ship.
 *
 * Environment: BENCH_TOKENIZER_MS (time per implementation per round, default 400).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { get_encoding as dqbdGetEncoding } from '@dqbd/tiktoken';
import { createTokenizer, getRegexByEncoder, getSpecialTokensByEncoder } from '@microsoft/tiktokenizer';
import * as esbuild from 'esbuild';
import * as gptCl100k from 'gpt-tokenizer/encoding/cl100k_base';
import * as gptO200k from 'gpt-tokenizer/encoding/o200k_base';
import { getEncoding } from 'js-tiktoken';
import llama2 from 'llama-tokenizer-js';
import mistral from 'mistral-tokenizer-js';
import { get_encoding as tiktokenGetEncoding } from 'tiktoken';
import { z } from 'zod';
import { type ExactEncodingName, loadVocabulary } from '../lib/gateway/tokenizer/encodings.ts';
import { APPROX_RULE, tokenizer } from '../lib/gateway/tokenizer.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const conformance = path.join(root, 'test/fixtures/conformance/tokenizer');
const ROUNDS = 5;
const COLD_RUNS = 5;
const SLICE_MS = Number(process.env.BENCH_TOKENIZER_MS ?? 400);
const FAMILIES: ExactEncodingName[] = ['cl100k_base', 'o200k_base'];
const CHATML = { '<|im_start|>': 100264, '<|im_end|>': 100265 };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const version = async (pkg: string) =>
  z.object({ version: z.string() }).parse(JSON.parse(await readFile(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8'))).version;

/** One implementation under test: encode (with tiktoken's allowed_special) and decode, per family. */
interface Implementation {
  name: string;
  encode(family: ExactEncodingName, text: string, allowed?: 'all' | string[]): number[];
  decode(family: ExactEncodingName, ids: number[]): string;
}

async function implementations(work: string): Promise<Implementation[]> {
  const ours = { cl100k_base: await tokenizer('cl100k_base'), o200k_base: await tokenizer('o200k_base') };
  const js = { cl100k_base: getEncoding('cl100k_base', CHATML), o200k_base: getEncoding('o200k_base') };
  const gpt = { cl100k_base: gptCl100k, o200k_base: gptO200k };
  const wasm = { cl100k_base: tiktokenGetEncoding('cl100k_base', CHATML), o200k_base: tiktokenGetEncoding('o200k_base') };
  const dqbd = { cl100k_base: dqbdGetEncoding('cl100k_base', CHATML), o200k_base: dqbdGetEncoding('o200k_base') };
  const microsoft = Object.fromEntries(
    await Promise.all(
      FAMILIES.map(async (family) => {
        // The .tiktoken file @microsoft/tiktokenizer would download, written from our (hash-checked) data.
        const { bytes, starts, size } = await loadVocabulary(family);
        const lines: string[] = [];
        for (let rank = 0; rank < size; rank += 1)
          lines.push(`${Buffer.from(bytes.subarray(starts[rank], starts[rank + 1])).toString('base64')} ${rank}`);
        const file = path.join(work, `${family}.tiktoken`);
        await writeFile(file, `${lines.join('\n')}\n`);
        const specials = new Map([...getSpecialTokensByEncoder(family), ...(family === 'cl100k_base' ? Object.entries(CHATML) : [])]);
        return [family, { tokenizer: createTokenizer(file, specials, getRegexByEncoder(family)), specials: [...specials.keys()] }] as const;
      }),
    ),
  ) as Record<ExactEncodingName, { tokenizer: ReturnType<typeof createTokenizer>; specials: string[] }>;
  return [
    {
      name: 'ours (lib/gateway/tokenizer.ts)',
      encode: (f, text, allowed) => ours[f].encode(text, allowed === undefined ? undefined : { allowedSpecial: allowed }),
      decode: (f, ids) => ours[f].decode(ids),
    },
    {
      name: `js-tiktoken ${await version('js-tiktoken')}`,
      encode: (f, text, allowed) => js[f].encode(text, allowed ?? [], []),
      decode: (f, ids) => js[f].decode(ids),
    },
    {
      name: `gpt-tokenizer ${await version('gpt-tokenizer')}`,
      encode: (f, text, allowed) =>
        gpt[f].encode(text, { allowedSpecial: allowed === 'all' ? 'all' : new Set(allowed ?? []), disallowedSpecial: new Set() }),
      decode: (f, ids) => gpt[f].decode(ids),
    },
    {
      name: `tiktoken ${await version('tiktoken')} (wasm)`,
      encode: (f, text, allowed) => Array.from(wasm[f].encode(text, allowed ?? [], [])),
      decode: (f, ids) => new TextDecoder().decode(wasm[f].decode(Uint32Array.from(ids))),
    },
    {
      name: `@dqbd/tiktoken ${await version('@dqbd/tiktoken')} (wasm)`,
      encode: (f, text, allowed) => Array.from(dqbd[f].encode(text, allowed ?? [], [])),
      decode: (f, ids) => new TextDecoder().decode(dqbd[f].decode(Uint32Array.from(ids))),
    },
    {
      name: `@microsoft/tiktokenizer ${await version('@microsoft/tiktokenizer')}`,
      encode: (f, text, allowed) => microsoft[f].tokenizer.encode(text, allowed === 'all' ? microsoft[f].specials : (allowed ?? [])),
      decode: (f, ids) => microsoft[f].tokenizer.decode(ids),
    },
  ];
}

const caseSchema = z.object({
  encoding: z.enum(['cl100k_base', 'o200k_base']),
  method: z.enum(['encode', 'decode']),
  args: z.tuple([z.union([z.string(), z.array(z.number()), z.object({ file: z.string() })])]),
  kwargs: z.object({ allowed_special: z.union([z.literal('all'), z.array(z.string())]).optional() }).passthrough(),
  expected: z.union([z.string(), z.array(z.number()), z.object({ file: z.string(), count: z.number() })]),
});
type ConformanceCase = z.infer<typeof caseSchema>;

async function readCases(): Promise<{ testCase: ConformanceCase; input: string | number[]; expected: string | number[] }[]> {
  const raw = z.array(caseSchema).parse(JSON.parse(await readFile(path.join(conformance, 'token_cases.json'), 'utf8')));
  return Promise.all(
    raw.map(async (testCase) => {
      const [arg] = testCase.args;
      const input = typeof arg === 'object' && !Array.isArray(arg) ? await readFile(path.join(conformance, arg.file), 'utf8') : arg;
      const expected =
        typeof testCase.expected === 'object' && !Array.isArray(testCase.expected)
          ? z.array(z.number()).parse(JSON.parse(await readFile(path.join(conformance, testCase.expected.file), 'utf8')))
          : testCase.expected;
      return { testCase, input, expected };
    }),
  );
}

/** A case in a few words, for the failure list. */
const describeCase = (testCase: ConformanceCase, input: string | number[]) =>
  `${testCase.encoding === 'cl100k_base' ? 'cl100k' : 'o200k'} ${testCase.method} ${typeof input === 'string' ? JSON.stringify(input.length > 40 ? `${input.slice(0, 20)}…` : input) : JSON.stringify(input)}${testCase.kwargs.allowed_special ? ` allowed=${JSON.stringify(testCase.kwargs.allowed_special)}` : ''}`;

/** The entry point each package's README shows, counting "hello world" in cl100k_base. */
const BUNDLE_ENTRIES: Record<string, string> = {
  ours: `import { tokenizer } from ${JSON.stringify(path.join(root, 'lib/gateway/tokenizer.ts'))};\nexport const run = async () => (await tokenizer('cl100k_base')).count('hello world');`,
  'js-tiktoken':
    "import { getEncoding } from 'js-tiktoken';\nexport const run = async () => getEncoding('cl100k_base').encode('hello world').length;",
  'gpt-tokenizer':
    "import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';\nexport const run = async () => countTokens('hello world');",
  tiktoken:
    "import { get_encoding } from 'tiktoken';\nexport const run = async () => get_encoding('cl100k_base').encode('hello world').length;",
  '@dqbd/tiktoken':
    "import { get_encoding } from '@dqbd/tiktoken';\nexport const run = async () => get_encoding('cl100k_base').encode('hello world').length;",
  '@microsoft/tiktokenizer':
    "import { createByEncoderName } from '@microsoft/tiktokenizer';\nexport const run = async () => (await createByEncoderName('cl100k_base')).encode('hello world').length;",
};

/**
 * Bundles `source` as the deploy does and runs it sandboxed: the count, or why it failed; bundle size;
 * cold ms. The bundle sits one folder down in the sandbox, so a package that keeps files beside its
 * own folder (`../model`) may, and the first thing it cannot do is what it reports.
 */
async function runBundled(
  work: string,
  name: string,
  source: string,
): Promise<{ outcome: string; kb: number; coldMs: number | undefined }> {
  const dir = path.join(work, name.replace(/[^a-z0-9]+/gi, '-'));
  // The entry sits in the repository (in .local/, ignored) so packages resolve from its node_modules.
  await mkdir(path.join(root, '.local'), { recursive: true });
  const entry = path.join(root, '.local', `bench-tokenizer-${name.replace(/[^a-z0-9]+/gi, '-')}.ts`);
  await writeFile(entry, source);
  try {
    const require = createRequire(import.meta.url);
    await esbuild.build({
      entryPoints: [entry],
      outfile: path.join(dir, 'bundle', 'entry.mjs'),
      bundle: true,
      minify: true,
      keepNames: true,
      target: 'node22',
      platform: 'node',
      format: 'esm',
      mainFields: ['module', 'main'],
      plugins: require(path.join(root, 'infra/esbuild/plugins.cjs')),
      // The deploy's banner, plus __dirname/__filename, which some packages need to find their files.
      banner: {
        js: [
          "import { createRequire as __createRequire } from 'node:module';",
          "import { fileURLToPath as __fileURLToPath } from 'node:url';",
          "import { dirname as __pathDirname } from 'node:path';",
          'const require = __createRequire(import.meta.url);',
          'const __filename = __fileURLToPath(import.meta.url);',
          'const __dirname = __pathDirname(__filename);',
        ].join(' '),
      },
      logLevel: 'silent',
    });
  } finally {
    await rm(entry, { force: true });
  }
  const kb = (await stat(path.join(dir, 'bundle', 'entry.mjs'))).size / 1024;
  const script = [
    "const net = await import('node:net');",
    "net.Socket.prototype.connect = function () { throw new Error('network refused (socket)'); };",
    'globalThis.fetch = async (url) => { throw new Error(`network refused: fetch ${url}`); };',
    'const t0 = performance.now();',
    `const { run } = await import(${JSON.stringify(path.join(dir, 'bundle', 'entry.mjs'))});`,
    'const count = await run();',
    'console.log(JSON.stringify({ count, ms: performance.now() - t0 }));',
  ].join('\n');
  const times: number[] = [];
  for (let i = 0; i < COLD_RUNS; i += 1) {
    try {
      const sandbox = ['--permission', `--allow-fs-read=${dir}${path.sep}`, `--allow-fs-write=${dir}${path.sep}`];
      const out = execFileSync(process.execPath, [...sandbox, '--input-type=module', '-e', script], {
        cwd: path.join(dir, 'bundle'),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const result = z.object({ count: z.number(), ms: z.number() }).parse(JSON.parse(out.trim().split('\n').at(-1) ?? ''));
      if (result.count !== 2) return { outcome: `wrong count ${result.count}`, kb, coldMs: undefined };
      times.push(result.ms);
    } catch (error) {
      const stderr = z.object({ stderr: z.string() }).safeParse(error);
      const reason = (stderr.success ? stderr.data.stderr : String(error))
        .split('\n')
        .find((line) => /^\s*(\w*Error\b|Error:)/.test(line))
        ?.trim()
        .slice(0, 160);
      return { outcome: `fails: ${reason ?? 'unknown error'}`, kb, coldMs: undefined };
    }
  }
  return { outcome: 'runs', kb, coldMs: median(times) };
}

/** Median MB/s and tokens/s of `encode` on `text`, taking turns with the other implementations. */
function throughput(impls: Implementation[], family: ExactEncodingName, text: string): { mbps: number; tokensPerSecond: number }[] {
  const bytes = Buffer.byteLength(text);
  const rounds: { mbps: number; tokensPerSecond: number }[][] = impls.map(() => []);
  for (const impl of impls) for (let i = 0; i < 3; i += 1) impl.encode(family, text);
  for (let round = 0; round < ROUNDS; round += 1) {
    impls.forEach((impl, index) => {
      const start = process.cpuUsage();
      let runs = 0;
      let tokens = 0;
      let elapsed = 0;
      while (elapsed < SLICE_MS * 1000) {
        tokens += impl.encode(family, text).length;
        runs += 1;
        const used = process.cpuUsage(start);
        elapsed = used.user + used.system;
      }
      rounds[index]?.push({ mbps: (bytes * runs) / elapsed, tokensPerSecond: (tokens / elapsed) * 1e6 });
    });
  }
  return rounds.map((samples) => ({
    mbps: median(samples.map((s) => s.mbps)),
    tokensPerSecond: median(samples.map((s) => s.tokensPerSecond)),
  }));
}

/** Public text for throughput and the approximation: name → text. */
async function corpora(): Promise<{ throughput: [string, string][]; approx: [string, string, string][] }> {
  const nm = (file: string) => readFile(path.join(root, 'node_modules', file), 'utf8');
  const code = await readFile(path.join(conformance, 'mstok_lib.rs.txt'), 'utf8');
  const prose = `${await nm('typescript/LICENSE')}\n${await nm('jose/README.md')}`;
  const zodLocales = (await readdir(path.join(root, 'node_modules/zod/v4/locales'))).filter(
    (file) => file.endsWith('.js') && file !== 'index.js',
  );
  const localeStrings = async (file: string) => {
    const source = await nm(`zod/v4/locales/${file}`);
    // The messages: string literals with a non-ASCII letter or two words (not identifiers or keys).
    return [...source.matchAll(/"((?:[^"\\]|\\.)*)"|`((?:[^`\\]|\\.)*)`/g)]
      .map((match) => match[1] ?? match[2] ?? '')
      .filter((text) => /\P{ASCII}|[a-z]{3,} [a-z]{2,}/iu.test(text))
      .join('\n');
  };
  const multilingual = (await Promise.all(zodLocales.map(localeStrings))).join('\n');
  const approx: [string, string, string][] = [
    ['code', 'tiktoken src/lib.rs (conformance set)', code],
    ['code', 'zod 4 v4/core/schemas.js (first 40 KB)', (await nm('zod/v4/core/schemas.js')).slice(0, 40_000)],
    ['English', 'Apache-2.0 text (typescript/LICENSE)', await nm('typescript/LICENSE')],
  ];
  for (const pkg of ['zod', 'jose', 'typescript', 'fast-check', '@middy/core', 'canonicalize', 'esbuild', 'ajv', 'yargs', 'p-limit']) {
    const text = await nm(`${pkg}/README.md`).catch(() => undefined);
    if (text) approx.push(['English', `${pkg} README.md`, text.slice(0, 40_000)]);
  }
  approx.push(['JSON', 'typescript package.json', await nm('typescript/package.json')]);
  approx.push(['JSON', 'zod package.json', await nm('zod/package.json')]);
  for (const file of zodLocales) {
    const text = await localeStrings(file);
    if (text) approx.push(['languages (zod locales)', `zod locale ${file.replace('.js', '')}`, text]);
  }
  const yargsDir = path.join(root, 'node_modules/yargs/locales');
  for (const file of (await readdir(yargsDir).catch(() => [])).filter((f) => f.endsWith('.json') && f !== 'pirate.json')) {
    const values: string[] = [];
    const walk = (value: unknown): void => {
      if (typeof value === 'string') values.push(value);
      else if (value && typeof value === 'object') for (const inner of Object.values(value)) walk(inner);
    };
    walk(JSON.parse(await readFile(path.join(yargsDir, file), 'utf8')));
    approx.push(['languages (yargs locales, held out)', `yargs locale ${file.replace('.json', '')}`, values.join('\n')]);
  }
  return {
    throughput: [
      ['code: tiktoken lib.rs, 24 KB', code],
      ['English: Apache-2.0 + jose README', prose],
      [`${zodLocales.length} languages: zod locale messages`, multilingual],
    ],
    approx,
  };
}

function summary(ratios: number[]): string {
  const sorted = [...ratios].sort((a, b) => a - b);
  const under = ratios.filter((r) => r < 1).length;
  return `${(sorted[0] ?? 0).toFixed(2)} / ${median(sorted).toFixed(2)} / ${(sorted.at(-1) ?? 0).toFixed(2)}${under ? ` (${under} under)` : ''}`;
}

export async function benchTokenizer(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'autonomy-bench-tokenizer-'));
  try {
    const impls = await implementations(work);
    const cases = await readCases();

    console.log(`Tokenizers: exactness on the ${cases.length} conformance cases, and running from a Lambda bundle`);
    console.log("(bundle: the package's usual entry, esbuild as deployed, run with file access only in its folder and no network)\n");
    console.log('| implementation | cases passed | cases failed | from a bundle | bundle KB | cold import + first count, ms |');
    console.log('|---|---|---|---|---|---|');
    const bundleKeys = ['ours', 'js-tiktoken', 'gpt-tokenizer', 'tiktoken', '@dqbd/tiktoken', '@microsoft/tiktokenizer'];
    for (const [index, impl] of impls.entries()) {
      const failed: string[] = [];
      for (const { testCase, input, expected } of cases) {
        let got: unknown;
        try {
          got =
            testCase.method === 'encode'
              ? impl.encode(testCase.encoding, String(input), testCase.kwargs.allowed_special)
              : impl.decode(testCase.encoding, z.array(z.number()).parse(input));
        } catch (error) {
          got = `throws ${error instanceof Error ? error.message : String(error)}`;
        }
        if (JSON.stringify(got) !== JSON.stringify(expected)) failed.push(describeCase(testCase, input));
      }
      const key = bundleKeys[index] ?? '';
      const bundled = await runBundled(work, key, BUNDLE_ENTRIES[key] ?? '');
      console.log(
        `| ${impl.name} | ${cases.length - failed.length}/${cases.length} | ${failed.length ? [...new Set(failed)].join('; ') : '–'} | ${bundled.outcome} | ${bundled.kb.toFixed(0)} | ${bundled.coldMs === undefined ? '–' : bundled.coldMs.toFixed(0)} |`,
      );
    }

    const texts = await corpora();
    console.log(`\nThroughput: encode, CPU time, median of ${ROUNDS} rounds of ${SLICE_MS} ms each; × = ours ÷ theirs (MB/s)\n`);
    for (const family of FAMILIES) {
      console.log(`${family}\n`);
      console.log(`| implementation | ${texts.throughput.map(([name]) => name).join(' | ')} |`);
      console.log(`|---|${texts.throughput.map(() => '---').join('|')}|`);
      const results = texts.throughput.map(([, text]) => throughput(impls, family, text));
      for (const [index, impl] of impls.entries()) {
        const cells = results.map((perImpl) => {
          const mine = perImpl[0]?.mbps ?? 0;
          const theirs = perImpl[index] ?? { mbps: 0, tokensPerSecond: 0 };
          const ratio = index === 0 ? '' : `, ×${(mine / theirs.mbps).toFixed(1)}`;
          return `${theirs.mbps.toFixed(1)} MB/s, ${(theirs.tokensPerSecond / 1e6).toFixed(2)} M tok/s${ratio}`;
        });
        console.log(`| ${impl.name} | ${cells.join(' | ')} |`);
      }
      console.log('');
    }

    const [approxTok, cl100k, o200k] = await Promise.all([tokenizer('approx'), tokenizer('cl100k_base'), tokenizer('o200k_base')]);
    console.log(
      `approx family: ceil(${APPROX_RULE.o200kFactor} × o200k + ${APPROX_RULE.perTwoByteChar}/2-byte char + ${APPROX_RULE.perCjkChar}/CJK char + ${APPROX_RULE.perOtherThreeByteChar}/other 3-byte char + ${APPROX_RULE.perFourByteChar}/4-byte char)`,
    );
    console.log('estimate ÷ exact count, min / median / max per group (under 1 = under-count)\n');
    console.log(
      `| texts | n | vs o200k_base | vs cl100k_base | vs Llama 2 (llama-tokenizer-js ${await version('llama-tokenizer-js')}) | vs Mistral 7B (mistral-tokenizer-js ${await version('mistral-tokenizer-js')}) |`,
    );
    console.log('|---|---|---|---|---|---|');
    const groups = new Map<string, { o: number[]; c: number[]; l: number[]; m: number[]; under: string[] }>();
    for (const [group, name, text] of texts.approx) {
      const estimate = approxTok.count(text);
      const exact = {
        o: o200k.count(text),
        c: cl100k.count(text),
        l: llama2.encode(text, false).length,
        m: mistral.encode(text, false).length,
      };
      const row = groups.get(group) ?? { o: [], c: [], l: [], m: [], under: [] };
      row.o.push(estimate / exact.o);
      row.c.push(estimate / exact.c);
      row.l.push(estimate / exact.l);
      row.m.push(estimate / exact.m);
      const worst = Math.min(estimate / exact.o, estimate / exact.c, estimate / exact.l, estimate / exact.m);
      if (worst < 1) row.under.push(`${name} ${worst.toFixed(2)}`);
      groups.set(group, row);
    }
    for (const [group, row] of groups)
      console.log(`| ${group} | ${row.o.length} | ${summary(row.o)} | ${summary(row.c)} | ${summary(row.l)} | ${summary(row.m)} |`);
    const under = [...groups.values()].flatMap((row) => row.under);
    console.log(`\nunder-counts (lowest ratio across the four): ${under.length ? under.join('; ') : 'none'}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchTokenizer();
