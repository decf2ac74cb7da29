/**
 * JSON-RPC 2.0 framing against the specification's own examples (section 7, in
 * test/fixtures/conformance/jsonrpc-mcp/jsonrpc2_spec_examples.json), with the example server's
 * methods (subtract, sum, get_data; update, notify_hello and notify_sum as notifications).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import canonicalize from 'canonicalize';
import { dispatchTable, frameJsonRpc, InvalidParamsError, type JsonRpcParams, respondJsonRpc } from '../../lib/mcp/jsonrpc.ts';
import { conformancePath } from '../helpers/conformance.ts';

interface SpecCase {
  name: string;
  request: string;
  response: string | null;
  response_parsed?: unknown;
}
const spec = JSON.parse(readFileSync(conformancePath('jsonrpc-mcp', 'jsonrpc2_spec_examples.json'), 'utf8')) as { cases: SpecCase[] };

function numbers(params: JsonRpcParams | undefined): number[] {
  if (!Array.isArray(params) || !params.every((value) => typeof value === 'number'))
    throw new InvalidParamsError('params are numbers by position');
  return params as number[];
}

const received: string[] = [];
const exampleServer = dispatchTable({
  subtract: async (params) => {
    if (Array.isArray(params)) {
      const [minuend = 0, subtrahend = 0] = numbers(params);
      return minuend - subtrahend;
    }
    const named = params as { minuend?: unknown; subtrahend?: unknown } | undefined;
    if (typeof named?.minuend !== 'number' || typeof named.subtrahend !== 'number')
      throw new InvalidParamsError('minuend and subtrahend are numbers');
    return named.minuend - named.subtrahend;
  },
  sum: async (params) => numbers(params).reduce((total, value) => total + value, 0),
  get_data: async () => ['hello', 5],
  update: async () => received.push('update'),
  notify_hello: async () => received.push('notify_hello'),
  notify_sum: async () => received.push('notify_sum'),
});

/** Batch replies may come in any order: compare as multisets of canonical JSON (RFC 8785). */
function sorted(reply: unknown): unknown {
  return Array.isArray(reply) ? reply.map((entry) => canonicalize(entry)).sort() : reply;
}

describe('JSON-RPC 2.0 framing: the specification examples', () => {
  it('has the 15 examples of section 7', () => {
    assert.equal(spec.cases.length, 15);
  });
  for (const example of spec.cases) {
    it(`answers "${example.name}" as the specification does`, async () => {
      const reply = await respondJsonRpc(example.request, exampleServer, { batches: true });
      if (example.response === null) {
        assert.equal(reply, undefined, 'nothing is returned');
        return;
      }
      // Codes, ids and results exactly; the error objects carry their detail in `data`, which the spec leaves to the server.
      const withoutData = JSON.parse(JSON.stringify(reply), (key, value) => (key === 'data' ? undefined : value));
      assert.deepEqual(sorted(withoutData), sorted(example.response_parsed));
    });
  }
  it('runs the notifications of the examples and replies to none of them', async () => {
    received.length = 0;
    for (const example of spec.cases.filter((each) => each.response === null || each.name === 'rpc call Batch')) {
      await respondJsonRpc(example.request, exampleServer, { batches: true });
    }
    assert.deepEqual(received.sort(), ['notify_hello', 'notify_hello', 'notify_sum', 'update']);
  });
});

describe('JSON-RPC framing for MCP', () => {
  it('refuses a batch as a whole (MCP 2025-06-18 removed batching), naming why', () => {
    const framed = frameJsonRpc('[{"jsonrpc":"2.0","method":"ping","id":1}]', { batches: false, mcp: true });
    assert.equal(framed.kind, 'refused');
    assert.ok(framed.kind === 'refused');
    assert.equal(framed.response.error.code, -32600);
    assert.equal(framed.response.id, null);
    assert.match(JSON.stringify(framed.response.error.data), /batches are not supported/);
  });
  it('refuses a null request id, a fractional id and positional params under MCP, echoing a readable id', () => {
    const cases: Array<[string, unknown]> = [
      ['{"jsonrpc":"2.0","method":"ping","id":null}', null],
      ['{"jsonrpc":"2.0","method":"ping","id":1.5}', null],
      ['{"jsonrpc":"2.0","method":"ping","id":7,"params":[1]}', 7],
      ['{"jsonrpc":"1.0","method":"ping","id":"a"}', 'a'],
    ];
    for (const [body, id] of cases) {
      const framed = frameJsonRpc(body, { batches: false, mcp: true });
      assert.ok(framed.kind === 'refused', body);
      assert.deepEqual([framed.response.error.code, framed.response.id], [-32600, id], body);
    }
  });
  it('accepts the same null id and fractional id under plain JSON-RPC', () => {
    for (const body of ['{"jsonrpc":"2.0","method":"ping","id":null}', '{"jsonrpc":"2.0","method":"ping","id":1.5}']) {
      assert.equal(frameJsonRpc(body, { batches: false }).kind, 'messages', body);
    }
  });
  it('accepts replies (a client answering the server) and refuses malformed ones', () => {
    assert.equal(frameJsonRpc('{"jsonrpc":"2.0","id":3,"result":{}}', { batches: false, mcp: true }).kind, 'messages');
    for (const body of [
      '{"jsonrpc":"2.0","id":3,"result":{},"error":{"code":1,"message":"x"}}',
      '{"jsonrpc":"2.0","id":3,"error":{"code":"x","message":"y"}}',
      '{"jsonrpc":"2.0","result":1}',
    ]) {
      const framed = frameJsonRpc(body, { batches: false, mcp: true });
      assert.ok(framed.kind === 'refused', body);
      assert.equal(framed.response.error.code, -32600, body);
    }
  });
  it('answers a dispatcher that throws with -32603 and no message of its own', async () => {
    const reply = await respondJsonRpc(
      '{"jsonrpc":"2.0","method":"boom","id":1}',
      async () => {
        throw new Error('secret detail');
      },
      { batches: false },
    );
    assert.deepEqual(reply, { jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'Internal error' } });
  });
  it('answers a method whose params do not fit with -32602', async () => {
    const reply = await respondJsonRpc('{"jsonrpc":"2.0","method":"sum","params":{"a":1},"id":2}', exampleServer, { batches: false });
    assert.equal(reply && !Array.isArray(reply) && 'error' in reply ? reply.error.code : undefined, -32602);
  });
});
