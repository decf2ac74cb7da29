/**
 * `npm run pii`, spawned as a separate process exactly as a bulk job would run it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('../../scripts/run.mjs', import.meta.url));
const cli = fileURLToPath(new URL('../../scripts/pii.ts', import.meta.url));

function run(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('pii CLI', () => {
  it('writes one line per input with text, entities (UTF-16 offsets) and the redacted text', async () => {
    const result = await run(['--mode', 'tag'], `${JSON.stringify({ text: 'é ada@example.org' })}\n`);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(lines(result.stdout), [
      {
        text: 'é ada@example.org',
        entities: [{ type: 'EMAIL', start: 2, end: 17, score: 0.95 }],
        redacted: 'é <EMAIL>ada@example.org</EMAIL>',
      },
    ]);
  });

  it('reports a bad line by its number, goes on, and exits 1 at the end', async () => {
    const input = ['{"text":"call +1 415 555 2671"}', 'not json', '{"text": 5}', '', '{"text":"IBAN GB82WEST12345698765432"}'].join('\n');
    const result = await run(['--mode', 'redact'], input);
    assert.equal(result.code, 1);
    const out = lines(result.stdout);
    assert.equal(out.length, 4);
    assert.equal(out[0]?.redacted, 'call [PHONE]');
    assert.deepEqual(out[1], { line: 2, error: 'not valid JSON' });
    assert.deepEqual(out[2], { line: 3, error: 'expected an object with a string field "text"' });
    assert.equal(out[3]?.redacted, 'IBAN [IBAN]');
    assert.match(result.stderr, /2 of 5 lines had errors/);
  });

  it('streams a bulk input: 3,000 lines in, 3,000 lines out in order', async () => {
    const input = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ text: `row ${i} card 4111 1111 1111 1111` })).join('\n');
    const result = await run(['--mode', 'mask'], input);
    assert.equal(result.code, 0, result.stderr);
    const out = lines(result.stdout);
    assert.equal(out.length, 3000);
    assert.equal(out[2999]?.redacted, 'row 2999 card **** **** **** 1111');
  });

  it('hash mode with a key from the environment, and usage errors exit 2', async () => {
    const keyed = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [runner, cli, '--mode', 'hash', '--hash-key-env', 'PII_TEST_KEY'], {
        env: { ...process.env, PII_TEST_KEY: 'k' },
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
      });
      child.on('close', () => resolve(out));
      child.stdin.end('{"text":"ada@example.org"}\n');
    });
    assert.match(keyed, /\[EMAIL:[0-9a-f]{12}\]/);
    const bad = await run(['--mode', 'shred'], '');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown mode 'shred'/);
    const missing = await run([], '');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--mode is required/);
  });
});
