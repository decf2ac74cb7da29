/**
 * A node:test reporter that prints, at the end of a run, how long each test file's tests took (the
 * sum of its top-level tests' and suites' durations; module-level hooks and loading are not in it),
 * the slowest first, so a suite that grows past the CI budget shows where the time went. `test/run.ts`
 * adds it beside the spec reporter.
 */
import path from 'node:path';

interface TestEvent {
  type: string;
  data?: { file?: string; nesting?: number; details?: { duration_ms?: number } };
}

/** The reporter: per-file durations, printed slowest first once the run ends. */
export default async function* fileTimes(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const seconds = new Map<string, number>();
  const started = Date.now();
  for await (const event of source) {
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data?.nesting !== 0 || !event.data.file) continue;
    const file = path.relative(process.cwd(), path.resolve(event.data.file));
    seconds.set(file, (seconds.get(file) ?? 0) + (event.data.details?.duration_ms ?? 0) / 1000);
  }
  const rows = [...seconds].sort((a, b) => b[1] - a[1]);
  yield `\n[test] time per file (${rows.length} files; the run took ${((Date.now() - started) / 1000).toFixed(0)} s), slowest first:\n`;
  for (const [file, total] of rows.slice(0, 25)) yield `[test] ${total.toFixed(1).padStart(7)} s  ${file}\n`;
}
