/**
 * The local SageMaker runtime driven by the real `@aws-sdk/client-sagemaker-runtime`: if the SDK
 * decodes our responses, headers, errors and event-stream frames into the documented shapes, the
 * code under test will see the same thing it sees against AWS.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  type InvokeEndpointWithResponseStreamCommandOutput,
  ModelError,
  ModelStreamError,
  SageMakerRuntimeClient,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { echoBackend, openAiCompatibleBackend } from '../../infra/local/sagemaker/backends.ts';
import { type ModelBackend, ModelBackendError, type ModelRequest, SageMakerRuntimeService } from '../../infra/local/sagemaker/runtime.ts';

/** Starts a server on an ephemeral 127.0.0.1 port and returns it with its base URL. */
async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function close(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

/** Collects the PayloadPart bytes of a stream; rethrows a stream error with the parts seen so far. */
async function collect(output: InvokeEndpointWithResponseStreamCommandOutput): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  assert.ok(output.Body);
  try {
    for await (const event of output.Body) {
      if (event.PayloadPart?.Bytes) parts.push(Buffer.from(event.PayloadPart.Bytes));
    }
  } catch (error) {
    Object.assign(error as object, { partsBeforeError: parts });
    throw error;
  }
  return parts;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the fake OpenAI-compatible server saw, for asserting what the proxy sent upstream. */
const upstreamCalls: { path: string; authorization: string | undefined; body: Record<string, unknown> }[] = [];

/**
 * A tiny OpenAI-compatible server: `/v1/chat/completions` and `/v1/completions`, JSON or SSE.
 * SSE events are written in awkward chunks (one event split across writes, two in one write) so the
 * proxy's event splitting is exercised, not just its happy path.
 */
async function fakeOpenAi(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  upstreamCalls.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
  const messages = (body.messages ?? []) as { content: string }[];
  const question = messages.at(-1)?.content ?? String(body.prompt ?? '');
  if (question === 'please fail') {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'fake upstream rejected the request', type: 'invalid_request_error' } }));
    return;
  }
  const words = ['Hello', ' from', ' fake'];
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url === '/v1/chat/completions') {
      res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: `${words.join('')}: ${question}` }, finish_reason: 'stop' }] }));
    } else {
      res.end(JSON.stringify({ id: 'cmpl-1', object: 'text_completion', model: body.model, choices: [{ index: 0, text: words.join(''), finish_reason: 'stop' }] }));
    }
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const events =
    req.url === '/v1/chat/completions'
      ? words.map((word) => `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: word } }] })}\n\n`)
      : words.map((word) => `data: ${JSON.stringify({ id: 'cmpl-1', object: 'text_completion', choices: [{ index: 0, text: word }] })}\n\n`);
  const first = events[0] ?? '';
  res.write(first.slice(0, 10));
  await sleep(5);
  res.write(first.slice(10));
  await sleep(5);
  res.write(`${events[1]}${events[2]}`);
  await sleep(5);
  res.end('data: [DONE]\n\n');
}

describe('local SageMaker runtime through the real SDK', () => {
  let runtimeServer: Server | undefined;
  let openAiServer: Server | undefined;
  let client: SageMakerRuntimeClient;
  let runtimeUrl = '';
  const logLines: string[] = [];
  const seen: ModelRequest[] = [];

  before(async () => {
    const upstream = await listen((req, res) => {
      fakeOpenAi(req, res).catch((error: unknown) => res.destroy(error as Error));
    });
    openAiServer = upstream.server;

    const spy: ModelBackend = {
      async invoke(req) {
        seen.push(req);
        return { body: Buffer.from('ok'), contentType: 'text/plain', variant: 'blue', customAttributes: `seen=${req.customAttributes ?? ''}` };
      },
    };
    const broken: ModelBackend = {
      async invoke() {
        throw new ModelBackendError(400, '{"error":"bad input"}');
      },
      stream() {
        throw new ModelBackendError(503, 'model is warming up');
      },
    };
    const flakyStream: ModelBackend = {
      async invoke() {
        throw new Error('not used');
      },
      async *stream() {
        yield Buffer.from('part-1 ');
        yield Buffer.from('part-2 ');
        throw new Error('GPU fell over');
      },
    };
    const invokeOnly: ModelBackend = {
      async invoke(req) {
        return { body: Buffer.from(`{"len":${req.body.length}}`), contentType: 'application/json' };
      },
    };

    const service = new SageMakerRuntimeService({
      endpoints: {
        echo: echoBackend(),
        spy,
        broken,
        'flaky-stream': flakyStream,
        'invoke-only': invokeOnly,
        llm: openAiCompatibleBackend({ baseUrl: upstream.url, model: 'fake-model', apiKey: 'sk-test' }),
        'llm-down': openAiCompatibleBackend({ baseUrl: 'http://127.0.0.1:1/v1', model: 'm' }),
      },
      accountId: '123456789012',
      log: (line) => logLines.push(line),
    });
    const runtime = await listen((req, res) => {
      service.handle(req, res).then(
        (handled) => {
          if (!handled) {
            res.writeHead(404, { 'content-type': 'text/plain' });
            res.end('not a runtime request');
          }
        },
        (error: unknown) => res.destroy(error as Error),
      );
    });
    runtimeServer = runtime.server;
    runtimeUrl = runtime.url;
    client = new SageMakerRuntimeClient({
      endpoint: runtimeUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
      maxAttempts: 1,
    });
  });

  after(async () => {
    client?.destroy();
    await close(runtimeServer);
    await close(openAiServer);
  });

  test('InvokeEndpoint round-trips body, content type and custom attributes (echo)', async () => {
    const out = await client.send(
      new InvokeEndpointCommand({ EndpointName: 'echo', Body: Buffer.from('{"x":1}'), ContentType: 'application/json', CustomAttributes: 'trace=abc' }),
    );
    assert.equal(Buffer.from(out.Body).toString('utf8'), '{"x":1}');
    assert.equal(out.ContentType, 'application/json');
    assert.equal(out.CustomAttributes, 'trace=abc');
    assert.equal(out.InvokedProductionVariant, 'AllTraffic');
  });

  test('request headers reach the backend and reply headers reach the SDK', async () => {
    const out = await client.send(
      new InvokeEndpointCommand({
        EndpointName: 'spy',
        Body: new Uint8Array([1, 2, 3]),
        ContentType: 'application/x-npy',
        Accept: 'text/plain',
        CustomAttributes: 'c=1',
        TargetVariant: 'blue',
        InferenceId: 'inf-42',
      }),
    );
    const request = seen.at(-1);
    assert.ok(request);
    assert.deepEqual([...request.body], [1, 2, 3]);
    assert.equal(request.contentType, 'application/x-npy');
    assert.equal(request.accept, 'text/plain');
    assert.equal(request.customAttributes, 'c=1');
    assert.equal(request.targetVariant, 'blue');
    assert.equal(request.inferenceId, 'inf-42');
    assert.equal(Buffer.from(out.Body).toString('utf8'), 'ok');
    assert.equal(out.ContentType, 'text/plain');
    assert.equal(out.InvokedProductionVariant, 'blue');
    assert.equal(out.CustomAttributes, 'seen=c=1');
  });

  test('an unknown endpoint is a ValidationError worded like AWS', async () => {
    await assert.rejects(client.send(new InvokeEndpointCommand({ EndpointName: 'nope', Body: Buffer.from('x') })), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.equal(error.message, 'Endpoint nope of account 123456789012 not found.');
      assert.equal(error.$metadata.httpStatusCode, 400);
      return true;
    });
  });

  test('an invalid endpoint name fails the service model constraint', async () => {
    await assert.rejects(client.send(new InvokeEndpointCommand({ EndpointName: 'bad_name', Body: Buffer.from('x') })), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.match(error.message, /^1 validation error detected: Value 'bad_name' at 'endpointName' failed to satisfy constraint/);
      return true;
    });
  });

  test('a body over 6 MiB is refused with a bare 413, as AWS does', async () => {
    const body = Buffer.alloc(6 * 1024 * 1024 + 1, 97);
    await assert.rejects(client.send(new InvokeEndpointCommand({ EndpointName: 'echo', Body: body })), (error: unknown) => {
      const failure = error as Error & { $metadata?: { httpStatusCode?: number } };
      assert.equal(failure.$metadata?.httpStatusCode, 413);
      assert.equal(failure.message, 'HTTP content length exceeded 6291456 bytes.');
      return true;
    });
    // Exactly 6 MiB still passes.
    const out = await client.send(new InvokeEndpointCommand({ EndpointName: 'invoke-only', Body: Buffer.alloc(6 * 1024 * 1024) }));
    assert.equal(Buffer.from(out.Body).toString('utf8'), `{"len":${6 * 1024 * 1024}}`);
  });

  test('a backend failure is a ModelError with the original status, message and log stream', async () => {
    await assert.rejects(client.send(new InvokeEndpointCommand({ EndpointName: 'broken', Body: Buffer.from('{}') })), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.equal(error.$metadata.httpStatusCode, 424);
      assert.equal(error.OriginalStatusCode, 400);
      assert.equal(error.OriginalMessage, '{"error":"bad input"}');
      assert.equal(error.LogStreamArn, 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/broken');
      assert.match(error.message, /^Received client error \(400\) from primary with message "\{"error":"bad input"\}"\. See https:\/\/us-east-1\.console/);
      assert.match(error.message, /in account 123456789012 for more information\.$/);
      return true;
    });
  });

  test('streaming delivers the echo as several PayloadParts with the stream headers', async () => {
    const input = 'The quick brown fox jumps over the lazy dog';
    const out = await client.send(
      new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'echo', Body: Buffer.from(input), ContentType: 'text/plain', Accept: 'text/plain', CustomAttributes: 'stream=1' }),
    );
    assert.equal(out.ContentType, 'text/plain');
    assert.equal(out.InvokedProductionVariant, 'AllTraffic');
    assert.equal(out.CustomAttributes, 'stream=1');
    const parts = await collect(out);
    assert.equal(parts.length, 3);
    assert.equal(Buffer.concat(parts).toString('utf8'), input);
  });

  test('streaming an invoke-only backend yields its whole answer as one PayloadPart', async () => {
    const out = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'invoke-only', Body: Buffer.from('abcd') }));
    assert.equal(out.ContentType, 'application/json');
    const parts = await collect(out);
    assert.deepEqual(parts.map((part) => part.toString('utf8')), ['{"len":4}']);
  });

  test('the streaming Accept header (X-Amzn-SageMaker-Accept) reaches the backend', async () => {
    const out = await client.send(
      new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'spy', Body: Buffer.from('q'), Accept: 'application/jsonlines', InferenceId: 'inf-s' }),
    );
    assert.equal(seen.at(-1)?.accept, 'application/jsonlines');
    assert.equal(seen.at(-1)?.inferenceId, 'inf-s');
    assert.equal(out.InvokedProductionVariant, 'blue');
    assert.deepEqual((await collect(out)).map((part) => part.toString('utf8')), ['ok']);
  });

  test('a failure before the first part is a ModelError, not a stream event', async () => {
    await assert.rejects(client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'broken', Body: Buffer.from('{}') })), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.equal(error.OriginalStatusCode, 503);
      assert.match(error.message, /^Received server error \(503\) from primary/);
      return true;
    });
  });

  test('a failure mid-stream arrives as ModelStreamError after the parts already sent', async () => {
    const out = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'flaky-stream', Body: Buffer.from('go') }));
    await assert.rejects(collect(out), (error: unknown) => {
      assert.ok(error instanceof ModelStreamError);
      assert.equal(error.ErrorCode, 'StreamBroken');
      assert.equal(error.message, 'GPU fell over');
      const parts = (error as unknown as { partsBeforeError: Buffer[] }).partsBeforeError;
      assert.deepEqual(parts.map((part) => part.toString('utf8')), ['part-1 ', 'part-2 ']);
      return true;
    });
    assert.ok(logLines.some((line) => line.includes('model stream failed after 2 part(s): GPU fell over')));
  });

  test('OpenAI-compatible backend: chat body is proxied to /v1/chat/completions', async () => {
    const body = { messages: [{ role: 'user', content: 'hi there' }], max_tokens: 32, model: 'ignored' };
    const out = await client.send(new InvokeEndpointCommand({ EndpointName: 'llm', Body: Buffer.from(JSON.stringify(body)), ContentType: 'application/json' }));
    const call = upstreamCalls.at(-1);
    assert.equal(call?.path, '/v1/chat/completions');
    assert.equal(call?.authorization, 'Bearer sk-test');
    assert.deepEqual(call?.body, { messages: body.messages, max_tokens: 32, model: 'fake-model', stream: false });
    assert.equal(out.ContentType, 'application/json');
    const reply = JSON.parse(Buffer.from(out.Body).toString('utf8')) as { choices: { message: { content: string } }[] };
    assert.equal(reply.choices[0]?.message.content, 'Hello from fake: hi there');
  });

  test('OpenAI-compatible backend: chat streaming yields one SSE event per PayloadPart', async () => {
    const body = { messages: [{ role: 'user', content: 'stream please' }] };
    const out = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'llm', Body: Buffer.from(JSON.stringify(body)), ContentType: 'application/json' }));
    assert.equal(out.ContentType, 'text/event-stream');
    assert.equal(upstreamCalls.at(-1)?.body.stream, true);
    const parts = (await collect(out)).map((part) => part.toString('utf8'));
    assert.equal(parts.length, 4);
    assert.ok(parts.every((part) => part.startsWith('data: ') && part.endsWith('\n\n')));
    assert.equal(parts.at(-1), 'data: [DONE]\n\n');
    const text = parts
      .slice(0, -1)
      .map((part) => (JSON.parse(part.slice(6)) as { choices: { delta: { content: string } }[] }).choices[0]?.delta.content)
      .join('');
    assert.equal(text, 'Hello from fake');
  });

  test('OpenAI-compatible backend: TGI body goes to /v1/completions and answers like TGI', async () => {
    const body = { inputs: 'Say hi', parameters: { max_new_tokens: 8, return_full_text: true } };
    const out = await client.send(new InvokeEndpointCommand({ EndpointName: 'llm', Body: Buffer.from(JSON.stringify(body)), ContentType: 'application/json' }));
    const call = upstreamCalls.at(-1);
    assert.equal(call?.path, '/v1/completions');
    assert.deepEqual(call?.body, { model: 'fake-model', prompt: 'Say hi', stream: false, max_tokens: 8, temperature: 0 });
    assert.deepEqual(JSON.parse(Buffer.from(out.Body).toString('utf8')), [{ generated_text: 'Say hiHello from fake' }]);
  });

  test('OpenAI-compatible backend: TGI streaming yields token events then the full text', async () => {
    const body = { inputs: 'Say hi', parameters: { do_sample: true, temperature: 0.7 } };
    const out = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'llm', Body: Buffer.from(JSON.stringify(body)) }));
    assert.deepEqual(upstreamCalls.at(-1)?.body, { model: 'fake-model', prompt: 'Say hi', stream: true, max_tokens: 100, temperature: 0.7 });
    const events = (await collect(out)).map((part) => JSON.parse(part.toString('utf8').replace(/^data:/, '')) as { token: { text: string }; generated_text: string | null });
    assert.deepEqual(events.map((event) => event.token.text), ['Hello', ' from', ' fake', '']);
    assert.equal(events.at(-1)?.generated_text, 'Hello from fake');
  });

  test('OpenAI-compatible backend: an upstream 400 is a ModelError carrying the server text', async () => {
    const body = { messages: [{ role: 'user', content: 'please fail' }] };
    await assert.rejects(client.send(new InvokeEndpointCommand({ EndpointName: 'llm', Body: Buffer.from(JSON.stringify(body)) })), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.equal(error.OriginalStatusCode, 400);
      assert.match(error.OriginalMessage ?? '', /fake upstream rejected the request/);
      return true;
    });
  });

  test('OpenAI-compatible backend: a body that is neither chat nor TGI is the container 422', async () => {
    await assert.rejects(client.send(new InvokeEndpointCommand({ EndpointName: 'llm', Body: Buffer.from('{"prompt":"x"}') })), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.equal(error.OriginalStatusCode, 422);
      return true;
    });
  });

  test('OpenAI-compatible backend: an unreachable server is a ModelError 500', async () => {
    const body = { messages: [{ role: 'user', content: 'anyone?' }] };
    await assert.rejects(client.send(new InvokeEndpointCommand({ EndpointName: 'llm-down', Body: Buffer.from(JSON.stringify(body)) })), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.equal(error.OriginalStatusCode, 500);
      assert.match(error.OriginalMessage ?? '', /OpenAI-compatible server at http:\/\/127\.0\.0\.1:1\/v1\/chat\/completions failed/);
      return true;
    });
  });

  test('handle() leaves requests that are not SageMaker runtime calls to the next service', async () => {
    const status = (path: string, headers: Record<string, string> = {}): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(`${runtimeUrl}${path}`, { method: 'POST', headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{}');
      });
    assert.equal(await status('/'), 404);
    assert.equal(await status('/endpoints/echo/other'), 404);
    // Same path, but signed for another service: not ours.
    const lambdaAuth = 'AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=abc';
    assert.equal(await status('/endpoints/echo/invocations', { authorization: lambdaAuth }), 404);
    // Unsigned but on our route: ours.
    assert.equal(await status('/endpoints/echo/invocations', { 'content-type': 'application/json' }), 200);
  });
});
