/**
 * Every package the code imports is declared in package.json, so a clean install (or a stricter
 * package manager that does not hoist) still resolves it. esbuild reads the imports: type-only
 * imports are erased, as at run time, and import-like text inside strings is not mistaken for one.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { LIBRARY_IMPORTS } from '../../infra/local/stepfunctions/interpreter-patch.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const codeDirs = ['bench', 'bin', 'events', 'functions', 'infra', 'lib', 'scripts', 'test'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') return [];
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts') ? [full] : [];
  });
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageName = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

describe('dependencies', () => {
  it('declares every package the code imports in package.json', async () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
    const entryPoints = codeDirs.flatMap((dir) => sourceFiles(path.join(root, dir)));
    const result = await build({
      entryPoints,
      bundle: true,
      write: false,
      metafile: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      outdir: 'out',
      logLevel: 'silent',
    });
    const importers = new Map<string, Set<string>>();
    for (const [file, input] of Object.entries(result.metafile.inputs)) {
      for (const imported of input.imports) {
        if (!imported.external || imported.path.startsWith('node:') || builtinModules.includes(imported.path)) continue;
        const name = packageName(imported.path);
        importers.set(name, (importers.get(name) ?? new Set()).add(file));
      }
    }
    for (const name of LIBRARY_IMPORTS)
      importers.set(name, (importers.get(name) ?? new Set()).add('infra/local/stepfunctions/interpreter-patch.ts'));
    assert.ok(importers.size > 10, `found only ${importers.size} imported packages: the scan is broken`);
    const undeclared = [...importers].filter(([name]) => !declared.has(name)).map(([name, files]) => `${name} (${[...files].join(', ')})`);
    assert.deepEqual(undeclared, []);
  });
});
