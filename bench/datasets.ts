/**
 * The public labelled data sets the quality benches score on (incident alerts, detectors, PII,
 * retrieval, context fitting). They are fetched from their public repositories, not committed: each
 * folder's SOURCE.md names the origin, commit, licence and the files to place there. A bench whose data
 * is absent says so and exits 0, so `npm run bench` still prints every other figure.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Returns when every file of `files` (relative to `folder`) is present; otherwise prints which are
 * missing and where their SOURCE.md is, and ends the process with exit code 0.
 */
export function requireDataset(bench: string, folder: string, files: readonly string[]): void {
  const missing = files.filter((file) => !existsSync(path.join(folder, file)));
  if (missing.length === 0) return;
  const shown = missing.slice(0, 3).join(', ') + (missing.length > 3 ? ` and ${missing.length - 3} more` : '');
  console.log(
    `${bench}: skipped, its public data set is not in this checkout (missing ${shown}); see ${path.join(folder, 'SOURCE.md')} for where to get it`,
  );
  process.exit(0);
}
