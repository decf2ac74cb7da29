// esbuild plugins for `sls package` (infra/serverless/bundle.ts loads this file with require(), named by serverless.yml custom.esbuild.plugins).
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { promisify } = require('node:util');
const zlib = require('node:zlib');

const brotliCompress = promisify(zlib.brotliCompress);

/**
 * Zod v4 re-exports every locale as `z.locales`, a namespace esbuild cannot tree-shake: about 260 KB
 * of each bundle. We speak English only (zod configures `en` itself), so zod's locales index
 * resolves to English alone. Nothing here reads `z.locales`.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!args.importer.includes(`${path.sep}zod${path.sep}`)) return undefined;
      return { path: path.resolve(args.resolveDir, '../locales/en.js'), namespace: 'zod-locales' };
    });
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * Cedar's Node build (`@cedar-policy/cedar-wasm/nodejs`, used by lib/governance/policy.ts) reads
 * `cedar_wasm_bg.wasm` from `__dirname` when it loads: a bundle has neither the file nor
 * `__dirname`. This plugin rewrites those two lines of the glue to take the bytes from a module
 * that embeds them, gzipped (4.3 MB of wasm, 1.4 MB gzipped, 1.9 MB as base64 in the bundle),
 * loaded with esbuild's `binary` loader (so the bytes stay out of the source map) and gunzipped
 * once at cold start (~20 ms). Tests run the glue unbundled, reading the file as published: the
 * same import either way. A new glue that no longer has those lines fails the build, loudly.
 */
const CEDAR_GLUE = /[\\/]@cedar-policy[\\/]cedar-wasm[\\/]nodejs[\\/]cedar_wasm\.js$/;
const CEDAR_WASM_READ =
  /const wasmPath = `\$\{__dirname\}\/cedar_wasm_bg\.wasm`;\r?\nconst wasmBytes = require\('fs'\)\.readFileSync\(wasmPath\);/;
const CEDAR_WASM_MODULE = 'autonomy:cedar-wasm-gzip';
// Gzipped once per packaging run, not once per function that bundles Cedar.
const gzippedWasm = new Map();
const cedarWasmInline = {
  name: 'cedar-wasm-inline',
  setup(build) {
    build.onLoad({ filter: CEDAR_GLUE }, async (args) => {
      const glue = await fs.promises.readFile(args.path, 'utf8');
      if (!CEDAR_WASM_READ.test(glue)) {
        return {
          errors: [
            { text: `cedar-wasm-inline: ${args.path} no longer reads its .wasm as this plugin expects; update infra/esbuild/plugins.cjs` },
          ],
        };
      }
      const read = `const wasmBytes = require('node:zlib').gunzipSync(require(${JSON.stringify(CEDAR_WASM_MODULE)}));`;
      return { contents: glue.replace(CEDAR_WASM_READ, read), loader: 'js', resolveDir: path.dirname(args.path) };
    });
    build.onResolve({ filter: new RegExp(`^${CEDAR_WASM_MODULE}$`) }, (args) => ({
      path: path.join(path.dirname(args.importer), 'cedar_wasm_bg.wasm'),
      namespace: 'cedar-wasm-gzip',
    }));
    build.onLoad({ filter: /.*/, namespace: 'cedar-wasm-gzip' }, async (args) => {
      if (!gzippedWasm.has(args.path)) gzippedWasm.set(args.path, zlib.gzipSync(await fs.promises.readFile(args.path), { level: 9 }));
      return { contents: gzippedWasm.get(args.path), loader: 'binary' };
    });
  },
};

/**
 * js-tiktoken's rank modules (`js-tiktoken/ranks/cl100k_base` and `o200k_base`, imported by
 * lib/gateway/tokenizer/encodings.ts) are 3.4 MB of base64 text in JS strings, which a bundle with
 * `sourcemap: true` carries twice (the code, and the map's sourcesContent). This plugin replaces each
 * with the same tokens in the packed format `unpackRanks` reads (brotli over `tkr1`, the token count
 * as a uint32 LE, one length byte per token, the tokens' bytes in rank order), embedded with esbuild's
 * `binary` loader, so it stays out of the source map: 0.48 MB (cl100k_base) and 1.06 MB (o200k_base)
 * of base64. The module keeps its own dynamic import, so a process still decodes only the encodings
 * it uses. Data that is not one line of consecutive ranks from 0, or a token of 0 or over 255 bytes,
 * fails the build.
 */
const TIKTOKEN_RANKS = /[\\/]js-tiktoken[\\/]dist[\\/]ranks[\\/](cl100k_base|o200k_base)\.c?js$/;
const TIKTOKEN_PACKED_MODULE = 'autonomy:tiktoken-ranks-packed';
const PACKED_RANKS_MAGIC = 'tkr1'; // lib/gateway/tokenizer/encodings.ts PACKED_RANKS_MAGIC
const BASE64_TOKEN = /^[A-Za-z0-9+/]+={0,2}$/;
// Packed once per packaging run (brotli at quality 11 takes seconds), not once per function.
const packedRanks = new Map();

/** js-tiktoken's `bpe_ranks` text (`<first token> <first rank> <base64> <base64> …` per line) → the packed bytes, uncompressed. */
function packRanks(text, file) {
  const fail = (why) => {
    throw new Error(`tiktoken-ranks-packed: ${file}: ${why}; update infra/esbuild/plugins.cjs`);
  };
  const tokens = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [, first, ...encoded] = line.split(' ');
    if (Number(first) !== tokens.length) fail(`a line starts at rank ${first}, expected ${tokens.length}`);
    for (const token of encoded) {
      if (!BASE64_TOKEN.test(token)) fail(`token ${tokens.length} is not base64`);
      const bytes = Buffer.from(token, 'base64');
      if (bytes.length === 0 || bytes.length > 255) fail(`token ${tokens.length} has ${bytes.length} bytes`);
      tokens.push(bytes);
    }
  }
  if (tokens.length === 0) fail('no tokens');
  const header = Buffer.alloc(8);
  header.write(PACKED_RANKS_MAGIC, 0, 'latin1');
  header.writeUInt32LE(tokens.length, 4);
  return Buffer.concat([header, Buffer.from(tokens.map((token) => token.length)), ...tokens]);
}

/** The packed bytes of the rank module at `file` (its `bpe_ranks` string, packed and compressed). */
async function packRankModule(file) {
  const rankModule = await import(pathToFileURL(file).href);
  const text = rankModule.default?.bpe_ranks;
  if (typeof text !== 'string') throw new Error(`tiktoken-ranks-packed: ${file} has no bpe_ranks string; update infra/esbuild/plugins.cjs`);
  const packed = packRanks(text, file);
  return brotliCompress(packed, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: packed.length },
  });
}

const tiktokenRanksPacked = {
  name: 'tiktoken-ranks-packed',
  setup(build) {
    build.onLoad({ filter: TIKTOKEN_RANKS, namespace: 'file' }, (args) => ({
      contents: `import packedRanks from ${JSON.stringify(`${TIKTOKEN_PACKED_MODULE}:${args.path}`)};\nexport default { packedRanks };\n`,
      loader: 'js',
      resolveDir: path.dirname(args.path),
    }));
    build.onResolve({ filter: new RegExp(`^${TIKTOKEN_PACKED_MODULE}:`) }, (args) => ({
      path: args.path.slice(TIKTOKEN_PACKED_MODULE.length + 1),
      namespace: 'tiktoken-ranks-packed',
    }));
    build.onLoad({ filter: /.*/, namespace: 'tiktoken-ranks-packed' }, async (args) => {
      // The promise is kept, so functions bundled at the same time share one compression.
      if (!packedRanks.has(args.path)) packedRanks.set(args.path, packRankModule(args.path));
      try {
        return { contents: await packedRanks.get(args.path), loader: 'binary' };
      } catch (error) {
        return { errors: [{ text: error instanceof Error ? error.message : String(error) }] };
      }
    });
  },
};

/**
 * QuickJS for the capsule sandbox (lib/capsules/sandbox.ts): lib/capsules/sandbox/quickjs-wasm.ts
 * reads `@jitl/quickjs-wasmfile-release-sync`'s `.wasm` from node_modules, which a bundle does not
 * have. This plugin replaces that module with one exporting the same `loadQuickJSWasm` over the
 * bytes embedded gzipped (0.5 MB of wasm, about 0.2 MB gzipped), with esbuild's `binary` loader (so
 * the bytes stay out of the source map), gunzipped when the sandbox first compiles them. A loader
 * module that no longer exports `loadQuickJSWasm` over that file fails the build.
 */
const QUICKJS_LOADER = /[\\/]lib[\\/]capsules[\\/]sandbox[\\/]quickjs-wasm\.ts$/;
const QUICKJS_WASM_SPECIFIER = '@jitl/quickjs-wasmfile-release-sync/wasm';
const QUICKJS_WASM_MODULE = 'autonomy:quickjs-wasm-gzip';
const quickjsWasmInline = {
  name: 'quickjs-wasm-inline',
  setup(build) {
    build.onLoad({ filter: QUICKJS_LOADER }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      if (!/export async function loadQuickJSWasm\(\)/.test(source) || !source.includes(`'${QUICKJS_WASM_SPECIFIER}'`)) {
        return {
          errors: [
            {
              text: `quickjs-wasm-inline: ${args.path} no longer exports loadQuickJSWasm() over ${QUICKJS_WASM_SPECIFIER}; update infra/esbuild/plugins.cjs`,
            },
          ],
        };
      }
      const contents = [
        "import { gunzipSync } from 'node:zlib';",
        `import gzipped from ${JSON.stringify(QUICKJS_WASM_MODULE)};`,
        `export const QUICKJS_WASM_SPECIFIER = ${JSON.stringify(QUICKJS_WASM_SPECIFIER)};`,
        'export async function loadQuickJSWasm() { return gunzipSync(gzipped); }',
      ].join('\n');
      return { contents, loader: 'js', resolveDir: path.dirname(args.path) };
    });
    build.onResolve({ filter: new RegExp(`^${QUICKJS_WASM_MODULE}$`) }, (args) => ({
      path: require.resolve(QUICKJS_WASM_SPECIFIER, { paths: [args.resolveDir] }),
      namespace: 'quickjs-wasm-gzip',
    }));
    build.onLoad({ filter: /.*/, namespace: 'quickjs-wasm-gzip' }, async (args) => {
      if (!gzippedWasm.has(args.path)) gzippedWasm.set(args.path, zlib.gzipSync(await fs.promises.readFile(args.path), { level: 9 }));
      return { contents: gzippedWasm.get(args.path), loader: 'binary' };
    });
  },
};

module.exports = [zodEnglishOnly, cedarWasmInline, tiktokenRanksPacked, quickjsWasmInline];
