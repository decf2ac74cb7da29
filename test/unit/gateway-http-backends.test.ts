/**
 * The OpenAI-compatible and Ollama backends (lib/adapters/http/) against a real HTTP server: the
 * local stand-ins' OpenAI and Ollama APIs (infra/local/sagemaker/standin-http.ts) on a loopback
 * port. And the SageMaker runtime error mapping (lib/adapters/aws/sagemaker-backend.ts).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ModelError, ModelStreamError, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { defaultStandIns } from '../../infra/local/sagemaker/standin.ts';
import { StandInHttpService } from '../../infra/local/sagemaker/standin-http.ts';
import { mapSageMakerError } from '../../lib/adapters/aws/sagemaker-backend.ts';
import { ollamaBackend } from '../../lib/adapters/http/ollama-backend.ts';
import { openAiApiBase, openAiBackend } from '../../lib/adapters/http/openai-backend.ts';
import type { GenerateRequest, ModelBackend, StreamEvent } from '../../lib/gateway/backend.ts';
import { ModelCallError } from '../../lib/gateway/backend.ts';
import { lexicalEmbedding } from '../../lib/gateway/lexical-embedding.ts';
import { type OllamaModelConfig, type OpenAiModelConfig, stageModels } from '../../lib/gateway/models.ts';

const KEY = 'sk-test-standin';
let server: Server;
let baseUrl = '';

before(async () => {
  const service = new StandInHttpService({ standIns: defaultStandIns(), apiKey: KEY });
  server = createServer((req, res) => {
    void service.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A configured model of `provider` on the test server, validated by the real schema. */
function configured<P extends 'openai' | 'ollama'>(provider: P, model: string, extra: Record<string, unknown> = {}) {
  const [config] = stageModels(
    {
      stages: {
        test: [
          {
            name: `test-${model}`,
            provider,
            baseUrl,
            model,
            contextTokens: 8192,
            maxOutputTokens: 4096,
            priceInputPer1k: 0,
            priceOutputPer1k: 0,
            tokenizer: 'approx',
            ...extra,
          },
        ],
      },
    },
    'test',
  );
  return config as P extends 'openai' ? OpenAiModelConfig : OllamaModelConfig;
}

const ask = (content: string, maxTokens = 200): GenerateRequest => ({ messages: [{ role: 'user', content }], maxTokens });

async function collect(backend: ModelBackend, request: GenerateRequest, onEvent?: (event: StreamEvent) => void): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of backend.stream(request)) {
    events.push(event);
    onEvent?.(event);
  }
  return events;
}
const textOf = (events: StreamEvent[]) => events.map((event) => (event.type === 'delta' ? event.text : '')).join('');

/** Behaviour both HTTP backends share, run against each. */
function sharedCases(label: string, make: (model: string, extra?: Record<string, unknown>) => ModelBackend) {
  describe(`${label} backend`, () => {
    it('generates, and streams the same text deltas then one done', async () => {
      const backend = make('standin-a');
      const reply = await backend.generate(ask('Why is the cache cold after every deploy of the billing service?'));
      assert.ok(reply.text.length > 20);
      assert.equal(reply.finishReason, 'stop');
      const events = await collect(backend, ask('Why is the cache cold after every deploy of the billing service?'));
      assert.equal(textOf(events), reply.text);
      assert.ok(events.filter((event) => event.type === 'delta').length > 5);
      assert.deepEqual(events.at(-1)?.type, 'done');
    });

    it('reports length when the output reaches maxTokens', async () => {
      const reply = await make('standin-a').generate(ask('one two three [[standin: tokens=50]]', 7));
      assert.equal(reply.finishReason, 'length');
      assert.equal(reply.text.split(' ').length, 7);
    });

    it('keeps multi-byte characters whole when the server cuts its stream every 7 bytes', async () => {
      const text = 'Grüße aus Zürich 🙂 — 你好世界 ok';
      const events = await collect(make('standin-a'), ask(`${text} [[standin: echo stream-chunk=7]]`));
      assert.equal(textOf(events), text);
    });

    it('maps an upstream 503 to a retryable error, a 422 to a non-retryable one', async () => {
      const backend = make('standin-a');
      await assert.rejects(
        backend.generate(ask('[[standin: error=503]]')),
        (error: unknown) =>
          error instanceof ModelCallError && error.status === 503 && error.retryable && /stand-in error on demand/.test(error.message),
      );
      await assert.rejects(
        backend.generate(ask('[[standin: bogus]]')),
        (error: unknown) => error instanceof ModelCallError && error.status === 422 && !error.retryable,
      );
      const events: StreamEvent[] = [];
      await assert.rejects(
        collect(backend, ask('[[standin: error=429]]'), (event) => events.push(event)),
        (error: unknown) => error instanceof ModelCallError && error.status === 429 && error.retryable,
      );
      assert.deepEqual(events, []);
    });

    it('throws a retryable error after the deltas when the server fails mid-stream', async () => {
      const seen: StreamEvent[] = [];
      await assert.rejects(
        collect(make('standin-a'), ask('alpha beta gamma delta epsilon [[standin: echo fail-after=3]]'), (event) => seen.push(event)),
        (error: unknown) => error instanceof ModelCallError && error.retryable && /failure on demand/.test(error.message),
      );
      assert.ok(seen.length >= 1 && seen.every((event) => event.type === 'delta'));
    });

    it('aborts mid-stream within a few events, ending with done/cancelled', async () => {
      const controller = new AbortController();
      let deltas = 0;
      const started = performance.now();
      const events = await collect(
        make('standin-a'),
        { ...ask('tell me everything [[standin: tokens=400 interval=20]]', 1000), signal: controller.signal },
        (event) => {
          if (event.type === 'delta' && ++deltas === 3) controller.abort();
        },
      );
      const elapsed = performance.now() - started;
      assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'cancelled' });
      assert.ok(events.filter((event) => event.type === 'delta').length <= 4, 'stopped reading at once');
      assert.ok(elapsed < 2_000, `400 events 20 ms apart take 8 s; aborted after ${elapsed.toFixed(0)} ms`);
      await assert.rejects(
        make('standin-a').generate({ ...ask('x'), signal: AbortSignal.abort() }),
        (error: unknown) => error instanceof ModelCallError && !error.retryable && error.status === 0,
      );
    });

    it('embeds with the stand-in lexical embedding', async () => {
      const backend = make('standin-embed', { embeddings: true, chat: false, maxOutputTokens: 1, contextTokens: 512 });
      assert.ok(backend.embed);
      assert.deepEqual(await backend.embed(['cold cache', 'warm cache']), [lexicalEmbedding('cold cache'), lexicalEmbedding('warm cache')]);
    });

    it('says the model is unknown (404, not retryable) and an unreachable server is status 0, retryable', async () => {
      await assert.rejects(
        make('gpt-17').generate(ask('hi')),
        (error: unknown) => error instanceof ModelCallError && error.status === 404 && !error.retryable,
      );
      const gone =
        label === 'OpenAI-compatible'
          ? openAiBackend({ ...configured('openai', 'standin-a'), baseUrl: 'http://127.0.0.1:9' })
          : ollamaBackend({ ...configured('ollama', 'standin-a'), baseUrl: 'http://127.0.0.1:9' });
      await assert.rejects(
        gone.generate(ask('hi')),
        (error: unknown) =>
          error instanceof ModelCallError && error.status === 0 && error.retryable && /127\.0\.0\.1:9 failed/.test(error.message),
      );
    });
  });
}

sharedCases('OpenAI-compatible', (model, extra) => openAiBackend(configured('openai', model, extra), { apiKey: async () => KEY }));
sharedCases('Ollama', (model, extra) => ollamaBackend(configured('ollama', model, extra)));

describe('OpenAI-compatible specifics', () => {
  it('sends the API key (401 without it, not retryable) and accepts a base URL with or without /v1', async () => {
    await assert.rejects(
      openAiBackend(configured('openai', 'standin-a')).generate(ask('hi')),
      (error: unknown) => error instanceof ModelCallError && error.status === 401 && !error.retryable,
    );
    assert.equal(openAiApiBase('http://h:8000/v1/'), 'http://h:8000/v1');
    assert.equal(openAiApiBase('http://h:8000'), 'http://h:8000/v1');
    const withV1 = openAiBackend({ ...configured('openai', 'standin-a'), baseUrl: `${baseUrl}/v1` }, { apiKey: async () => KEY });
    assert.ok((await withV1.generate(ask('hello world'))).text.length > 0);
  });

  it('reads refusals and usage', async () => {
    const backend = openAiBackend(configured('openai', 'standin-b'), { apiKey: async () => KEY });
    const refused = await backend.generate(ask('[[standin: refuse]]'));
    assert.deepEqual(refused, {
      text: "I can't help with that request.",
      finishReason: 'refusal',
      reportedUsage: { inputTokens: 0, outputTokens: 6 },
    });
    const events = await collect(backend, ask('[[standin: refuse]]'));
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'refusal' });
    assert.equal(textOf(events), refused.text);
  });
});

describe('SageMaker runtime error mapping', () => {
  const meta = { $metadata: {} };
  it('keeps the container status of a ModelError and retries only what may pass', () => {
    const unavailable = mapSageMakerError(
      new ModelError({
        message: 'Received server error (503) from primary …',
        OriginalStatusCode: 503,
        OriginalMessage: '{"error":"overloaded"}',
        ...meta,
      }),
      'm',
    );
    assert.deepEqual(
      [unavailable.status, unavailable.retryable, unavailable.message],
      [503, true, 'm: the model answered 503: overloaded'],
    );
    const invalid = mapSageMakerError(
      new ModelError({ message: '…', OriginalStatusCode: 422, OriginalMessage: 'Input validation error', ...meta }),
      'm',
    );
    assert.deepEqual([invalid.status, invalid.retryable], [422, false]);
    const timeout = mapSageMakerError(
      new ModelError({ message: '…', OriginalStatusCode: 0, OriginalMessage: 'Your invocation timed out', ...meta }),
      'm',
    );
    assert.deepEqual([timeout.status, timeout.retryable], [0, true]);
  });

  it('maps validation, stream, throttling and network failures', () => {
    const validation = mapSageMakerError(new ValidationError({ message: 'Endpoint x of account 000000000000 not found.', ...meta }), 'm');
    assert.deepEqual([validation.status, validation.retryable], [400, false]);
    const stream = mapSageMakerError(new ModelStreamError({ message: 'broken', ErrorCode: 'StreamBroken', ...meta }), 'm');
    assert.deepEqual([stream.status, stream.retryable, stream.message], [500, true, 'm: the stream failed (StreamBroken): broken']);
    const throttled = mapSageMakerError(
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }),
      'm',
    );
    assert.deepEqual([throttled.status, throttled.retryable], [429, true]);
    const refused = mapSageMakerError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'm');
    assert.deepEqual([refused.status, refused.retryable], [0, true]);
    const denied = mapSageMakerError(
      Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }),
      'm',
    );
    assert.deepEqual([denied.status, denied.retryable], [403, false]);
  });
});
