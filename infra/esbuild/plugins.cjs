// esbuild plugins for `sls package` (serverless-esbuild loads this file with require()).
const path = require('node:path');

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

module.exports = [zodEnglishOnly];
