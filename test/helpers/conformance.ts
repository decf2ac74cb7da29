/**
 * Where the conformance sets live: `test/fixtures/conformance/<set>/` (see the README there).
 * They ship with the repository, so a missing set or file is an error, never a skip.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The sets in test/fixtures/conformance/. */
export type ConformanceSet =
  | 'eventbridge-patterns'
  | 'step-functions-asl'
  | 'merkle-rfc6962'
  | 'holt-winters'
  | 'jsonrpc-mcp'
  | 'tokenizer'
  | 'mann-whitney'
  | 'json-schema-diff';

/** Absolute path of test/fixtures/conformance/. */
export const CONFORMANCE_ROOT = fileURLToPath(new URL('../fixtures/conformance/', import.meta.url));

/**
 * Absolute path of a conformance set, or of a file or folder inside it.
 * @throws Error naming the path when it does not exist (a clone without the set must fail loudly).
 * @example readFileSync(conformancePath('merkle-rfc6962', 'rfc6962_tree_vectors.json'), 'utf8')
 */
export function conformancePath(set: ConformanceSet, ...parts: string[]): string {
  const path = join(CONFORMANCE_ROOT, set, ...parts);
  if (!existsSync(path)) {
    throw new Error(`conformance data missing: ${path} (it ships with the repository; see test/fixtures/conformance/README.md)`);
  }
  return path;
}
