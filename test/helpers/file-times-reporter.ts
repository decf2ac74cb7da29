/**
 * A node:test reporter that prints, at the end of a run, how long each test file took (from its
 * first event to its last, wall time) — the slowest first — so a suite that grows past the CI
 * budget shows where the time went. `test/run.ts` adds it beside the spec reporter.
 */
import path from 'node:path';

interface TestEvent {
  type: string;
  data?: { file?: string };
}

/** The reporter: per-file spans, printed slowest first once the run ends. */
export default async function* fileTimes(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const spans = new Map<string, { first: number; last: number }>();
  const started = Date.now();
  for await (const event of source) {
    const file = event.data?.file;
    if (!file) continue;
    const now = Date.now();
    const span = spans.get(file);
    if (span) span.last = now;
    else spans.set(file, { first: now, last: now });
  }
  const rows = [...spans].map(([file, span]) => ({ file: path.relative(process.cwd(), file), seconds: (span.last - span.first) / 1000 }));
  rows.sort((a, b) => b.seconds - a.seconds);
  const total = (Date.now() - started) / 1000;
  yield `\n[test] wall time per file (${rows.length} files, run ${total.toFixed(0)} s), slowest first:\n`;
  for (const row of rows.slice(0, 25)) yield `[test] ${row.seconds.toFixed(1).padStart(7)} s  ${row.file}\n`;
}
