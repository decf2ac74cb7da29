/**
 * Response streaming on the local Lambda runtime and function URLs (infra/local/lambda/worker.ts,
 * runtime.ts, infra/local/function-url.ts): the `awslambda` global in the execution environment, the
 * prelude framed as the Node.js runtime frames it (JSON, then 8 null bytes), the status and headers
 * and then the body chunks reaching an HTTP client as they are written, a client that disconnects
 * seen by the handler, buffered replies, and function errors before and after the first byte.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FunctionUrls } from '../../infra/local/function-url.ts';
import { LambdaRuntime } from '../../infra/local/lambda/runtime.ts';

const root = path.resolve(import.meta.dirname, '../..');
const file = path.join(root, 'test/fixtures/local-cloud/streaming.ts');
const scratch = mkdtempSync(path.join(tmpdir(), 'lambda-streaming-'));
const marker = path.join(scratch, 'until-closed.json');

let runtime: LambdaRuntime;
let server: Server;
let urls: FunctionUrls;

before(async () => {
  runtime = new LambdaRuntime({ sharedEnv: {}, output: 'silent' });
  for (const exportName of ['ticker', 'untilClosed', 'plain', 'buffered', 'unfinished', 'failsFirst']) {
    runtime.deploy({
      logicalId: exportName,
      name: exportName,
      arn: `arn:aws:lambda:us-east-1:000000000000:function:${exportName}`,
      file,
      exportName,
      environment: { MARKER_FILE: marker },
      timeoutSeconds: 20,
      memoryMb: 128,
    });
  }
  server = createServer((req, res) => {
    void urls.handle(req, res).then((served) => {
      if (!served) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  urls = new FunctionUrls({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accountId: '000000000000',
    invoker: runtime,
    log: () => {},
  });
  for (const name of ['ticker', 'untilClosed', 'plain', 'unfinished', 'failsFirst']) urls.add(name, 'RESPONSE_STREAM');
  urls.add('buffered', 'BUFFERED');
});

after(async () => {
  await runtime.stop();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(scratch, { recursive: true, force: true });
});

/** Reads a reply's body chunk by chunk, with when each arrived (ms after the request). */
async function timedChunks(
  url: string,
  init: RequestInit = {},
): Promise<{ response: Response; chunks: Array<{ at: number; text: string }> }> {
  const started = performance.now();
  const response = await fetch(url, init);
  const reader = response.body?.getReader();
  assert.ok(reader);
  const chunks: Array<{ at: number; text: string }> = [];
  const decoder = new TextDecoder();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    chunks.push({ at: performance.now() - started, text: decoder.decode(read.value, { stream: true }) });
  }
  return { response, chunks };
}

describe('the local Lambda runtime, streaming', () => {
  it('frames a streamified handler’s output as the runtime does: JSON prelude, 8 null bytes, then each write as it comes', async () => {
    const chunks: Array<{ at: number; bytes: Buffer; contentType: string }> = [];
    let ended = '';
    const started = Date.now();
    const result = await runtime.invokeStreaming(
      'ticker',
      {},
      {
        write: (bytes, contentType) => chunks.push({ at: Date.now() - started, bytes, contentType }),
        end: (contentType) => {
          ended = contentType;
        },
      },
    );
    assert.deepEqual(result, { ok: true, payload: null });
    assert.equal(ended, 'application/vnd.awslambda.http-integration-response');
    const all = Buffer.concat(chunks.map((chunk) => chunk.bytes));
    const delimiter = all.indexOf(Buffer.alloc(8));
    assert.deepEqual(JSON.parse(all.subarray(0, delimiter).toString()), {
      statusCode: 201,
      headers: { 'content-type': 'text/event-stream', 'x-tick': 'yes' },
      cookies: ['session=abc'],
    });
    assert.equal(all.subarray(delimiter + 8).toString(), 'tick 0\ntick 1\ntick 2\ntick 3\ntick 4\n');
    const ticks = chunks.filter((chunk) => chunk.bytes.toString().startsWith('tick'));
    assert.equal(ticks.length, 5, 'one chunk per write');
    assert.ok(
      (ticks[4]?.at ?? 0) - (ticks[0]?.at ?? 0) >= 350,
      `writes passed on as written: ${ticks.map((tick) => tick.at).join(', ')} ms`,
    );
  });

  it('returns a handler’s payload when it is not streamified', async () => {
    const result = await runtime.invokeStreaming(
      'buffered',
      {},
      { write: () => assert.fail('no stream'), end: () => assert.fail('no stream') },
    );
    assert.deepEqual(result, { ok: true, payload: { statusCode: 202, headers: { 'x-mode': 'buffered' }, body: 'buffered reply' } });
  });

  it('fails an invocation whose handler returned without ending its stream', async () => {
    const result = await runtime.invokeStreaming('unfinished', {}, { write: () => {}, end: () => {} });
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.error.errorMessage, /Response stream is not finished/);
  });
});

describe('function URLs on the local cloud', () => {
  it('sends the prelude’s status, headers and cookies, then the body in chunks as the function writes them', async () => {
    const { response, chunks } = await timedChunks(urls.url('ticker'));
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    assert.equal(response.headers.get('x-tick'), 'yes');
    assert.equal(response.headers.get('set-cookie'), 'session=abc');
    assert.equal(response.headers.get('transfer-encoding'), 'chunked');
    assert.equal(chunks.map((chunk) => chunk.text).join(''), 'tick 0\ntick 1\ntick 2\ntick 3\ntick 4\n');
    assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
    const first = chunks[0]?.at ?? 0;
    const last = chunks.at(-1)?.at ?? 0;
    assert.ok(last - first >= 300, `chunks spread over ${Math.round(last - first)} ms (first at ${Math.round(first)} ms)`);
  });

  it('passes the path after the prefix as the event’s rawPath, and the stream’s own content type without a prelude', async () => {
    const response = await fetch(`${urls.url('plain')}some/path?x=1`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain');
    assert.equal(await response.text(), 'hello from /some/path');
  });

  it('tells the handler when the client disconnects: its stream closes and it stops', async () => {
    rmSync(marker, { force: true });
    const client = new AbortController();
    const response = await fetch(urls.url('untilClosed'), { signal: client.signal });
    const reader = response.body?.getReader();
    assert.ok(reader);
    await reader.read();
    const cut = Date.now();
    client.abort();
    const deadline = Date.now() + 5_000;
    while (!existsSync(marker) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(existsSync(marker), 'the handler finished');
    const seen = JSON.parse(readFileSync(marker, 'utf8')) as { closed: boolean; error: string; writes: number };
    assert.equal(seen.closed, true);
    assert.match(seen.error, /client closed/);
    assert.ok(seen.writes < 100, `stopped after ${seen.writes} writes`);
    assert.ok(Date.now() - cut < 2_000, 'soon after the client left');
  });

  it('answers a buffered function URL with the payload v2 reply', async () => {
    const response = await fetch(urls.url('buffered'), { method: 'POST', body: '{}' });
    assert.equal(response.status, 202);
    assert.equal(response.headers.get('x-mode'), 'buffered');
    assert.equal(await response.text(), 'buffered reply');
  });

  it('answers 502 for a function that fails before its first byte, 404 for a function without a URL', async () => {
    const failed = await fetch(urls.url('failsFirst'));
    assert.equal(failed.status, 502);
    assert.deepEqual(await failed.json(), { Message: 'Internal Server Error' });
    assert.equal((await fetch(urls.url('nothing-here'))).status, 404);
  });
});
