/**
 * The functions' deployment packages: the handlers bundled many to an esbuild build (each entry still
 * its own complete bundle: no code splitting), so the modules most functions share (the AWS SDK,
 * zod, Powertools…) are parsed once per build rather than once per function; then one zip per
 * function holding its bundle and source map at the handler's path (`functions/x/y.handler` runs
 * `functions/x/y.mjs`). Zips are deterministic: entries sorted, fixed times and modes, so the same
 * code gives the same bytes. Used by the Serverless plugin infra/serverless/bundle.cjs.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import pLimit from 'p-limit';
import { ZipFile } from 'yazl';
import { z } from 'zod';

/** Options this module sets itself for every build: a configuration naming one is refused. */
const RESERVED_OPTIONS = [
  'entryPoints',
  'outdir',
  'outfile',
  'outbase',
  'write',
  'metafile',
  'splitting',
  'stdin',
  'absWorkingDir',
] as const;

/**
 * serverless.yml's `custom.esbuild`: esbuild build options, passed on as they are (esbuild checks
 * them), except `plugins`, the path (from the service folder) of a CommonJS module exporting an
 * array of esbuild plugins, and `entriesPerBuild` (default {@link DEFAULT_ENTRIES_PER_BUILD}).
 */
export const bundleOptionsSchema = z
  .looseObject({
    plugins: z.string().min(1).max(1024).optional(),
    entriesPerBuild: z.int().min(1).max(10_000).optional(),
    outExtension: z.record(z.string().max(16), z.string().max(16)).optional(),
  })
  .superRefine((options, ctx) => {
    for (const key of RESERVED_OPTIONS) {
      if (key in options)
        ctx.addIssue({ code: 'custom', path: [key], message: `set by infra/serverless/bundle.ts for every function; remove it` });
    }
  });
/** Parsed `custom.esbuild`. */
export type BundleOptions = z.infer<typeof bundleOptionsSchema>;

/**
 * Handlers bundled by one esbuild build. A build parses the modules its entries share once, but holds
 * every entry's output until it ends: the dev stage's 134 handlers in one build peaked at 13.4 GB
 * (esbuild's RSS). 16 to a build: 9 builds, 2.1 GB at most (as much as serverless-esbuild's four
 * one-handler builds at a time) for a third of their CPU time (esbuild 85 s against 249 s).
 */
export const DEFAULT_ENTRIES_PER_BUILD = 16;

/** A function to package: its name in serverless.yml and its handler (`functions/x/y.handler`). */
export interface FunctionToBundle {
  name: string;
  handler: string;
}

/** Extensions a handler's file may have, in the order they are looked for. */
const SOURCE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'] as const;

/** Every zip entry's time: the earliest a zip's DOS time can hold, in whatever time zone packages. */
const ZIP_ENTRY_TIME = new Date(1980, 0, 1, 0, 0, 0);
/** Every zip entry's mode: a regular file, rw-r--r--. */
const ZIP_ENTRY_MODE = 0o100644;
/**
 * Deflate level 1, as serverless-esbuild's zips had (the same compressed sizes): over the dev stage's
 * 1.4 GB of bundles and maps, level 6 saves 10 % of the zips' bytes for 2.4 times the CPU time.
 */
const ZIP_COMPRESSION_LEVEL = 1;

/** Raised when the functions or the options cannot be bundled; the message names the function or option. */
export class BundleError extends Error {
  override name = 'BundleError';
}

/**
 * The source file of a handler, relative to `root`: `functions/x/y.handler` → `functions/x/y.ts`
 * (or `.mts`, `.js`, `.mjs`, the first that exists).
 * @throws BundleError naming the function and the files looked for when none exists.
 */
export function handlerSource(root: string, fn: FunctionToBundle): string {
  const dot = fn.handler.lastIndexOf('.');
  const base = dot > 0 ? fn.handler.slice(0, dot) : '';
  if (!base || path.isAbsolute(base) || path.normalize(base).startsWith('..')) {
    throw new BundleError(`function ${fn.name}: handler "${fn.handler}" is not <file path>.<export> inside the service folder`);
  }
  const candidates = SOURCE_EXTENSIONS.map((extension) => `${base}${extension}`);
  const found = candidates.find((file) => existsSync(path.join(root, file)));
  if (!found) throw new BundleError(`function ${fn.name}: no handler file ${candidates.join(', ')}`);
  return path.posix.normalize(found.split(path.sep).join('/'));
}

/** Loads the esbuild plugins `custom.esbuild.plugins` names (a CommonJS module exporting an array). */
function loadPlugins(root: string, file: string | undefined): Plugin[] {
  if (file === undefined) return [];
  const loaded: unknown = createRequire(path.join(root, 'package.json'))(path.resolve(root, file));
  const plugins = Array.isArray(loaded) ? loaded : undefined;
  if (!plugins?.every((plugin) => typeof plugin?.name === 'string' && typeof plugin?.setup === 'function')) {
    throw new BundleError(`custom.esbuild.plugins: ${file} does not export an array of esbuild plugins`);
  }
  return plugins as Plugin[];
}

/**
 * Writes a zip of `entries` to `file`: entries in name order, each deflated, with
 * {@link ZIP_ENTRY_TIME} and {@link ZIP_ENTRY_MODE}, so equal entries always give equal bytes.
 */
export async function writeZip(file: string, entries: ReadonlyArray<{ name: string; data: Buffer }>): Promise<void> {
  const zip = new ZipFile();
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of sorted)
    zip.addBuffer(entry.data, entry.name, {
      mtime: ZIP_ENTRY_TIME,
      mode: ZIP_ENTRY_MODE,
      compressionLevel: ZIP_COMPRESSION_LEVEL,
      forceDosTimestamp: true,
    });
  zip.end();
  await finished(zip.outputStream.pipe(createWriteStream(file)));
}

/** What {@link bundleFunctions} did: each function's zip (absolute path), the builds it ran and how long they took. */
export interface BundleResult {
  zips: Map<string, string>;
  builds: number;
  buildMs: number;
  totalMs: number;
}

/**
 * Bundles the functions' handlers, {@link BundleOptions.entriesPerBuild} to an esbuild build (one
 * build when they are fewer), into `<workDir>/build` (outputs mirroring the handlers' paths), and
 * writes `<workDir>/<function>.zip` per function: its bundle and that bundle's source map, nothing
 * else. A batch's zips are written while the next batch builds. Functions sharing a handler file share
 * one build entry. The work folder's previous contents are removed first.
 * @throws BundleError for a bad option or handler, or an output no zip would hold; esbuild's own
 *   error (listing the failed imports) when a build fails.
 */
export async function bundleFunctions(options: {
  root: string;
  functions: readonly FunctionToBundle[];
  esbuild: unknown;
  workDir: string;
  zipConcurrency?: number;
}): Promise<BundleResult> {
  const parsed = bundleOptionsSchema.safeParse(options.esbuild ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BundleError(`custom.esbuild${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`);
  }
  const { plugins: pluginsFile, entriesPerBuild = DEFAULT_ENTRIES_PER_BUILD, ...esbuildOptions } = parsed.data;
  const plugins = loadPlugins(options.root, pluginsFile);
  const sources = new Map(options.functions.map((fn) => [fn.name, handlerSource(options.root, fn)]));
  // Sorted, so a batch holds neighbouring handlers (an engine's), which share most of their modules.
  const entries = [...new Set(sources.values())].sort();
  const buildDir = path.join(options.workDir, 'build');
  await rm(options.workDir, { recursive: true, force: true });
  await mkdir(buildDir, { recursive: true });

  const started = performance.now();
  let buildMs = 0;
  const limit = pLimit(options.zipConcurrency ?? 4);
  const zips = new Map<string, string>();
  const zipping: Array<Promise<void>> = [];
  const zipFunction = async (fn: FunctionToBundle, files: readonly string[]) => {
    const zipEntries = await Promise.all(
      files.map(async (file) => {
        const absolute = path.resolve(options.root, file);
        return { name: path.relative(buildDir, absolute).split(path.sep).join('/'), data: await readFile(absolute) };
      }),
    );
    const zipPath = path.join(options.workDir, `${fn.name}.zip`);
    await writeZip(zipPath, zipEntries);
    zips.set(fn.name, zipPath);
  };
  try {
    for (let first = 0; first < entries.length; first += entriesPerBuild) {
      const batch = entries.slice(first, first + entriesPerBuild);
      const buildStarted = performance.now();
      const result = await build({
        ...(esbuildOptions as BuildOptions),
        absWorkingDir: options.root,
        entryPoints: batch.map((source) => ({ in: source, out: source.slice(0, -path.extname(source).length) })),
        outdir: buildDir,
        splitting: false,
        write: true,
        metafile: true,
        plugins,
      });
      buildMs += performance.now() - buildStarted;
      // Each entry's outputs: its bundle (metafile names its entry point) and that bundle's source map.
      const outputsOf = new Map<string, string[]>();
      const claimed = new Set<string>();
      const outputs = Object.entries(result.metafile.outputs);
      for (const [output, meta] of outputs) {
        if (meta.entryPoint === undefined) continue;
        const files = [output, ...(result.metafile.outputs[`${output}.map`] ? [`${output}.map`] : [])];
        outputsOf.set(meta.entryPoint, files);
        for (const file of files) claimed.add(file);
      }
      const stray = outputs.map(([output]) => output).filter((output) => !claimed.has(output));
      if (stray.length > 0) throw new BundleError(`esbuild wrote ${stray.join(', ')}, which no function's zip would hold`);
      for (const fn of options.functions) {
        const source = sources.get(fn.name) ?? '';
        if (!batch.includes(source)) continue;
        const files = outputsOf.get(source);
        if (!files) throw new BundleError(`function ${fn.name}: esbuild produced no bundle for ${source}`);
        const zipped = limit(() => zipFunction(fn, files));
        // Awaited below; handled now, so a zip failing while the next batch builds is not an unhandled rejection.
        zipped.catch(() => {});
        zipping.push(zipped);
      }
    }
  } finally {
    await Promise.allSettled(zipping);
  }
  await Promise.all(zipping);
  await rm(buildDir, { recursive: true, force: true });
  return { zips, builds: Math.ceil(entries.length / entriesPerBuild), buildMs, totalMs: performance.now() - started };
}
