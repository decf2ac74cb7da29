/**
 * The local HTTP API's payload limit over a kept-alive connection: a body over 10 MiB is refused
 * with 413 and `connection: close`, read to its end rather than cut off, so the client sees the
 * 413 and its next request (on a new connection) succeeds instead of failing with ECONNRESET. The
 * router runs on a real node:http server and is called by a real keep-alive `http.Agent`; the
 * function behind the route is a plain function that reports the body it received.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HttpApi } from '../../infra/local/http-api.ts';

const MIB = 1024 * 1024;
let server: http.Server;
let base = '';

before(async () => {
  const api = new HttpApi([{ routeKey: 'ANY /echo', functionName: 'echo' }], {
    apiId: 'local',
    accountId: '000000000000',
    cors: false,
    log: () => {},
    invoke: async (_name, event) => {
      const { body, isBase64Encoded } = event as { body?: string; isBase64Encoded: boolean };
      const bytes = body === undefined ? 0 : Buffer.byteLength(body, isBase64Encoded ? 'base64' : 'utf8');
      return { ok: true, payload: { statusCode: 200, body: JSON.stringify({ bytes }) } };
    },
  });
  server = http.createServer((req, res) => void api.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The local port of the client socket: the same port means the same connection. */
  localPort: number | undefined;
}

/** One request through `agent`; `body` is sent with a content-length, or chunked when `chunked`. */
function request(agent: http.Agent, method: string, body?: Buffer, chunked = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (body && !chunked) headers['content-length'] = body.length;
    const req = http.request(`${base}/echo`, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), localPort: req.socket?.localPort }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body && chunked) {
      // Several chunks, so the limit is crossed mid-stream.
      for (let offset = 0; offset < body.length; offset += MIB) req.write(body.subarray(offset, offset + MIB));
      req.end();
    } else req.end(body);
  });
}

describe('local HTTP API payload limit on a kept-alive connection', () => {
  it('answers 413 with connection: close to an 11 MiB body with a content-length, and the next request on the agent succeeds', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await request(agent, 'POST', Buffer.alloc(11 * MIB, 0x61));
      assert.equal(first.status, 413);
      assert.equal(first.headers.connection, 'close');
      assert.deepEqual(JSON.parse(first.body), { message: 'Request Entity Too Large' });
      const next = await request(agent, 'GET');
      assert.equal(next.status, 200, next.body);
      assert.deepEqual(JSON.parse(next.body), { bytes: 0 });
    } finally {
      agent.destroy();
    }
  });

  it('does the same for an 11 MiB chunked body, which crosses the limit mid-stream', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await request(agent, 'POST', Buffer.alloc(11 * MIB, 0x62), true);
      assert.equal(first.status, 413);
      assert.equal(first.headers.connection, 'close');
      const next = await request(agent, 'POST', Buffer.from('{"ok":true}'));
      assert.equal(next.status, 200, next.body);
      assert.deepEqual(JSON.parse(next.body), { bytes: 11 });
    } finally {
      agent.destroy();
    }
  });

  it('passes a body of exactly 10 MiB to the function and keeps the connection for the next request', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await request(agent, 'POST', Buffer.alloc(10 * MIB, 0x63));
      assert.equal(first.status, 200, first.body);
      assert.deepEqual(JSON.parse(first.body), { bytes: 10 * MIB });
      assert.equal(first.headers.connection, 'keep-alive');
      const next = await request(agent, 'GET');
      assert.equal(next.status, 200);
      assert.equal(next.localPort, first.localPort, 'the same connection');
    } finally {
      agent.destroy();
    }
  });
});
