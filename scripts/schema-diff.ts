/**
 * Compares two JSON Schemas (draft-07 or 2020-12) and prints every change, whether it breaks
 * consumers of data valid under the old schema, and the semver bump (lib/versioning/schema-diff.ts).
 *   npm run schema-diff -- <old.json> <new.json> [--json]
 *
 * With `--json`, stdout is exactly one object:
 * `{ "bump": "major|minor|patch", "breaking": true|false, "changes": [{ "path", "kind", "breaking" }] }`.
 * Exit codes: 0 compared (breaking or not: read `breaking`), 2 unreadable or invalid input, or usage.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { diffSchemas, SchemaDiffError } from '../lib/versioning/schema-diff.ts';

const USAGE = 'usage: npm run schema-diff -- <old.json> <new.json> [--json]';

function fail(message: string): never {
  process.stderr.write(`schema-diff: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function readSchema(file: string, which: string): unknown {
  let text: string;
  try {
    // npm runs scripts from the package root; relative paths are the caller's (INIT_CWD).
    text = readFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), file), 'utf8');
  } catch (error) {
    fail(`cannot read the ${which} schema ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    fail(`the ${which} schema ${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function main(): void {
  let parsed: { values: { json?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({ options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const [oldFile, newFile, ...extra] = parsed.positionals;
  if (oldFile === undefined || newFile === undefined || extra.length > 0) fail('two schema files are required');
  const oldSchema = readSchema(oldFile, 'old');
  const newSchema = readSchema(newFile, 'new');
  let result: ReturnType<typeof diffSchemas>;
  try {
    result = diffSchemas(oldSchema, newSchema);
  } catch (error) {
    if (error instanceof SchemaDiffError) fail(error.message);
    throw error;
  }
  if (parsed.values.json) {
    const changes = result.changes.map(({ path, kind, breaking }) => ({ path, kind, breaking }));
    process.stdout.write(`${JSON.stringify({ bump: result.bump, breaking: result.breaking, changes })}\n`);
    return;
  }
  for (const change of result.changes) {
    process.stdout.write(
      `${change.breaking ? 'BREAKING' : 'ok      '}  ${change.path || '/'}  ${change.kind}${change.detail ? `  (${change.detail})` : ''}\n`,
    );
  }
  const breakingCount = result.changes.filter((c) => c.breaking).length;
  process.stdout.write(`${result.changes.length} change(s), ${breakingCount} breaking: bump ${result.bump}\n`);
}

main();
