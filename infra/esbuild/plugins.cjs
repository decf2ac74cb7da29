// esbuild plugins for `sls package` (serverless-esbuild loads this file with require()).
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

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

module.exports = [zodEnglishOnly, cedarWasmInline];
