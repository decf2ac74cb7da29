/**
 * The stdio bridge (bin/autonomy-mcp.mjs) as a client runs it: a child process fed lines on stdin,
 * talking to a small HTTP endpoint in this process that records what arrives and answers as told.
 * The edge cases of forwarding: malformed lines, notifications, the negotiated protocol version,
 * credentials, HTTP failures turned into JSON-RPC errors with the request's id, SSE replies, an
 * unreachable endpoint, bad arguments; stdout carries protocol only.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BRIDGE = fileURLToPath(new URL('../../bin/autonomy-mcp.mjs', import.meta.url));

interface Received {
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A message the bridge wrote to stdout. */
interface Written {
  jsonrpc: string;
  id?: unknown;
  method?: string;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

type Answer = (message: Record<string, unknown>, response: ServerResponse) => void;

const received: Received[] = [];
let answer: Answer = () => {};
let server: Server;
let endpoint: string;

before(async () => {
  server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => {
      text += chunk;
    });
    request.on('end', () => {
      const body = JSON.parse(text);
      received.push({ headers: request.headers, body });
      answer(body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
});
after(() => server.close());

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** The MCP server's usual answers: initialize negotiates 2025-11-25, notifications get 202, the rest echo. */
const usual: Answer = (message, response) => {
  if (message.id === undefined) {
    response.writeHead(202);
    response.end();
  } else if (message.method === 'initialize') {
    json(response, 200, { jsonrpc: '2.0', id: message.id, result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: {} } });
  } else json(response, 200, { jsonrpc: '2.0', id: message.id, result: { echoed: message.method } });
};

/** Runs the bridge with `args`, writes `lines` to its stdin, closes it, and collects its output. */
async function run(lines: string[], args: string[], env: Record<string, string> = {}) {
  received.length = 0;
  const child = spawn(process.execPath, [BRIDGE, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // One line at a time, each after the previous one's effect, as a client waits for its replies.
  for (const line of lines) child.stdin.write(`${line}\n`);
  child.stdin.end();
  const code = await exited;
  const outLines = stdout.split('\n').filter((line) => line !== '');
  // stdout is protocol only: every line is one JSON-RPC 2.0 message.
  const messages = outLines.map((line) => JSON.parse(line) as Written);
  for (const message of messages) assert.equal(message.jsonrpc, '2.0', JSON.stringify(message));
  return { code, messages, stderr };
}

const byId = (messages: Written[], id: unknown) => messages.find((message) => message.id === id);

describe('autonomy-mcp stdio bridge', () => {
  it('answers a malformed line with a parse error (id null) and goes on with the next line', async () => {
    answer = usual;
    const { code, messages, stderr } = await run(
      ['{"jsonrpc":"2.0","id":1,', '', '{"jsonrpc":"2.0","id":2,"method":"ping"}'],
      ['--endpoint', endpoint, '--key', 'apk_t_k_secret'],
    );
    assert.equal(code, 0);
    assert.equal(messages.length, 2);
    const parse = messages.find((message) => message.error);
    assert.equal(parse?.id, null);
    assert.equal(parse?.error?.code, -32700);
    assert.deepEqual(byId(messages, 2)?.result, { echoed: 'ping' });
    assert.equal(received.length, 1, 'neither the malformed nor the blank line reaches the endpoint');
    assert.ok(!stderr.includes('    at '), 'no stack on stderr either');
  });

  it('forwards with the API key, switches to the negotiated protocol version, and writes nothing for a notification', async () => {
    answer = usual;
    const { messages } = await run(
      [
        JSON.stringify({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: '2025-11-25' } }),
        JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      ],
      ['--endpoint', endpoint],
      { AUTONOMY_API_KEY: 'apk_t_k_fromenv' },
    );
    assert.deepEqual(
      messages.map((message) => message.id),
      ['init'],
    );
    assert.equal(received.length, 2, 'the notification is forwarded');
    const [init, notification] = received;
    assert.equal(init?.headers['x-api-key'], 'apk_t_k_fromenv');
    assert.equal(init?.headers.authorization, undefined);
    assert.equal(init?.headers['content-type'], 'application/json');
    assert.match(String(init?.headers.accept), /application\/json/);
    assert.match(String(init?.headers.accept), /text\/event-stream/);
    assert.equal(init?.headers['mcp-protocol-version'], '2025-06-18');
    assert.equal(notification?.headers['mcp-protocol-version'], '2025-11-25');
    assert.deepEqual(notification?.body, { jsonrpc: '2.0', method: 'notifications/initialized' });
  });

  it('sends a token as a bearer credential, the flag winning over the environment', async () => {
    answer = usual;
    const { messages } = await run(
      [JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' })],
      ['--endpoint', endpoint, '--token', 'eyJ.flag.sig'],
      { AUTONOMY_TOKEN: 'eyJ.env.sig' },
    );
    assert.deepEqual(byId(messages, 7)?.result, { echoed: 'tools/list' });
    assert.equal(received[0]?.headers.authorization, 'Bearer eyJ.flag.sig');
    assert.equal(received[0]?.headers['x-api-key'], undefined);
  });

  it("turns the API's 401 envelope into a JSON-RPC error with the request's id, the reason and the challenge", async () => {
    answer = (_message, response) =>
      json(
        response,
        401,
        { error: 'UnauthorizedError', message: 'The API key is not valid', correlationId: 'c-1' },
        { 'www-authenticate': 'Bearer resource_metadata="http://x/.well-known/oauth-protected-resource", error="invalid_token"' },
      );
    const { messages, stderr } = await run(
      [JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'initialize', params: {} })],
      ['--endpoint', endpoint, '--key', 'apk_bad'],
    );
    const reply = byId(messages, 3);
    assert.equal(reply?.error?.code, -32000);
    assert.match(String(reply?.error?.message), /^HTTP 401 Unauthorized: UnauthorizedError: The API key is not valid \(check the API key/);
    assert.deepEqual(reply?.error?.data, {
      httpStatus: 401,
      wwwAuthenticate: 'Bearer resource_metadata="http://x/.well-known/oauth-protected-resource", error="invalid_token"',
      correlationId: 'c-1',
    });
    assert.match(stderr, /HTTP 401/);
    assert.ok(!stderr.includes('apk_bad'), 'the key is never logged');
  });

  it("passes the endpoint's own JSON-RPC error on a 4xx with the request's id, and a 502 page as an error naming the status", async () => {
    answer = (message, response) => {
      if (message.id === 1) json(response, 403, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Forbidden: Origin x' } });
      else {
        response.writeHead(502, { 'content-type': 'text/html' });
        response.end('<html>Bad Gateway</html>');
      }
    };
    const { messages } = await run(
      [JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' })],
      ['--endpoint', endpoint, '--key', 'k'],
    );
    assert.equal(byId(messages, 1)?.error?.message, 'Forbidden: Origin x');
    assert.deepEqual(byId(messages, 1)?.error?.data, { httpStatus: 403 });
    assert.equal(byId(messages, 2)?.error?.code, -32000);
    assert.match(String(byId(messages, 2)?.error?.message), /^HTTP 502 Bad Gateway/);
    assert.equal(messages.length, 2);
  });

  it('reads a reply sent as an SSE stream, and answers a 200 without a JSON-RPC reply with an error', async () => {
    answer = (message, response) => {
      if (message.id === 1) {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(
          `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n` +
            `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { via: 'sse' } })}\n\n`,
        );
      } else json(response, 200, { ok: true });
    };
    const { messages } = await run(
      [JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call' }), JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' })],
      ['--endpoint', endpoint, '--key', 'k'],
    );
    assert.deepEqual(byId(messages, 1)?.result, { via: 'sse' });
    assert.ok(messages.some((message) => message.method === 'notifications/progress'));
    assert.match(String(byId(messages, 2)?.error?.message), /answered HTTP 200 without a JSON-RPC reply/);
  });

  it('answers every request with an error when the endpoint cannot be reached, and stays quiet for notifications', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { code, messages, stderr } = await run(
      [JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }), JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })],
      ['--endpoint', `http://127.0.0.1:${port}/mcp`, '--key', 'k'],
    );
    assert.equal(code, 0);
    assert.equal(messages.length, 1);
    assert.equal(byId(messages, 9)?.error?.code, -32000);
    assert.match(String(byId(messages, 9)?.error?.message), /Cannot reach the MCP endpoint .*ECONNREFUSED/);
    assert.match(stderr, /ECONNREFUSED/);
  });

  it('refuses bad arguments with exit code 2, the reason and the usage on stderr, and nothing on stdout', async () => {
    for (const [args, reason] of [
      [[], /endpoint is missing/],
      [['--endpoint', endpoint], /no credentials/],
      [['--endpoint', 'ftp://x/mcp', '--key', 'k'], /http\(s\) URL/],
      [['--endpoint', 'not a url', '--key', 'k'], /is not a URL/],
      [['--endpoint', endpoint, '--key', 'k', '--token', 't'], /either an API key or a token/],
      [['--endpoint', endpoint, '--key'], /--key needs a value/],
      [['--endpoint', endpoint, '--bogus'], /unknown argument "--bogus"/],
    ] as Array<[string[], RegExp]>) {
      const { code, messages, stderr } = await run([], args);
      assert.equal(code, 2, args.join(' '));
      assert.equal(messages.length, 0);
      assert.match(stderr, reason);
      assert.match(stderr, /Usage: autonomy-mcp/);
    }
  });
});
