/**
 * The typed `awslambda` global (lib/adapters/aws/response-stream.ts): the runtime's helpers when it
 * provides them, the runtime's own mark on the handler when it does not, even where another library
 * created a bare `awslambda` object (Powertools' invoke store does).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { HANDLER_STREAMING, httpResponseStream, type ResponseStream, streamifyResponse } from '../../lib/adapters/aws/response-stream.ts';

const holder = globalThis as { awslambda?: unknown };
const saved = holder.awslambda;
afterEach(() => {
  holder.awslambda = saved;
});

describe('the awslambda global', () => {
  it('marks the handler as the runtime does when no runtime helpers exist, also beside a bare awslambda object', async () => {
    for (const global of [undefined, { InvokeStore: {} }]) {
      holder.awslambda = global;
      const handler = streamifyResponse(async () => {});
      assert.equal((handler as unknown as Record<symbol, unknown>)[HANDLER_STREAMING], 'response');
      assert.throws(() => httpResponseStream({} as ResponseStream, { statusCode: 200 }), /provided by the Lambda runtime/);
    }
  });

  it("uses the runtime's streamifyResponse and HttpResponseStream.from when it provides them", () => {
    const calls: string[] = [];
    const stream = {} as ResponseStream;
    holder.awslambda = {
      streamifyResponse: (handler: unknown) => {
        calls.push('streamify');
        return handler;
      },
      HttpResponseStream: {
        from: (given: unknown, metadata: { statusCode: number }) => {
          calls.push(`from ${metadata.statusCode}`);
          return given;
        },
      },
    };
    streamifyResponse(async () => {});
    assert.equal(httpResponseStream(stream, { statusCode: 201 }), stream);
    assert.deepEqual(calls, ['streamify', 'from 201']);
  });
});
