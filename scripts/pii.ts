/**
 * PII detection and redaction over JSON Lines, streaming (bulk use: one line in, one line out, in order).
 *   npm run pii -- --mode tag|redact|mask|hash [--types EMAIL,PHONE] [--hash-key-env NAME] < in.jsonl > out.jsonl
 *
 * Each input line is `{"text": "…"}`; each output line is
 * `{"text", "entities": [{"type", "start", "end", "score"}], "redacted"}`, offsets in UTF-16 code
 * units into `text` (JavaScript string indices; see lib/gateway/pii.ts). A line that is not such an
 * object gets `{"line": n, "error": "…"}` instead (n counts from 1) and the run goes on; blank lines
 * are skipped. `--hash-key-env` names an environment variable holding the `hash` mode's HMAC key.
 * Exit codes: 0 every line done, 1 some line had an error, 2 usage error.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { type PiiType, piiTypeSchema, redactionModes, redactPii } from '../lib/gateway/pii.ts';

const USAGE = 'usage: npm run pii -- --mode tag|redact|mask|hash [--types EMAIL,PHONE,...] [--hash-key-env NAME] < in.jsonl';
const lineSchema = z.object({ text: z.string() });

function fail(message: string): never {
  process.stderr.write(`pii: ${message}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values: { mode?: string; types?: string; 'hash-key-env'?: string };
  try {
    ({ values } = parseArgs({
      options: { mode: { type: 'string' }, types: { type: 'string' }, 'hash-key-env': { type: 'string' } },
      strict: true,
    }));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const mode = redactionModes.find((m) => m === values.mode);
  if (!mode) fail(values.mode === undefined ? '--mode is required' : `unknown mode '${values.mode}' (known: ${redactionModes.join(', ')})`);
  let types: PiiType[] | undefined;
  if (values.types !== undefined) {
    types = values.types.split(',').map((t) => {
      const parsed = piiTypeSchema.safeParse(t.trim());
      if (!parsed.success) fail(`unknown type '${t}' (known: ${piiTypeSchema.options.join(', ')})`);
      return parsed.data;
    });
  }
  let hashKey: string | undefined;
  if (values['hash-key-env'] !== undefined) {
    hashKey = process.env[values['hash-key-env']];
    if (!hashKey) fail(`environment variable ${values['hash-key-env']} is empty or unset`);
  }

  let failed = 0;
  let n = 0;
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    n += 1;
    if (line.trim() === '') continue;
    let output: string;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    const record = lineSchema.safeParse(parsed);
    if (parsed === undefined) {
      failed += 1;
      output = JSON.stringify({ line: n, error: 'not valid JSON' });
    } else if (!record.success) {
      failed += 1;
      output = JSON.stringify({ line: n, error: 'expected an object with a string field "text"' });
    } else {
      const { text } = record.data;
      const result = redactPii(text, { mode, ...(types ? { types } : {}), ...(hashKey ? { hashKey } : {}) });
      output = JSON.stringify({
        text,
        entities: result.entities.map(({ type, start, end, score }) => ({ type, start, end, score })),
        redacted: result.text,
      });
    }
    // Respect back-pressure so a large input streams in bounded memory.
    if (!process.stdout.write(`${output}\n`)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
  }
  if (failed > 0) process.stderr.write(`pii: ${failed} of ${n} lines had errors\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
