/**
 * The gateway's model backends against the local cloud `npm test` started: the local stage's models
 * (infra/gateway/models.json) through the real `@aws-sdk/client-sagemaker-runtime` to the local
 * SageMaker runtime's stand-ins — Messages API, TGI and TEI, not streamed and streamed, errors,
 * refusals, latency, mid-stream failures, byte-split streams, aborts — the router's timeouts and
 * fallbacks over them, the same stand-ins over the OpenAI-compatible and Ollama APIs, and API keys
 * from the local Secrets Manager.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { gatewayModels, modelBackends, secretApiKey } from '../../lib/adapters/aws/model-backends.ts';
import type { GenerateRequest, ModelBackend, StreamEvent } from '../../lib/gateway/backend.ts';
import { ModelCallError } from '../../lib/gateway/backend.ts';
import { LEXICAL_EMBEDDING_DIMS, lexicalEmbedding } from '../../lib/gateway/lexical-embedding.ts';
import { type ModelConfig, stageModels } from '../../lib/gateway/models.ts';
import { ModelRouter, ModelUnavailableError } from '../../lib/gateway/resilience.ts';
import { testCloud } from '../helpers/local-cloud.ts';

const cloud = testCloud();
const { models, backends } = gatewayModels('local');
const backend = (name: string): ModelBackend => {
  const found = backends[name];
  assert.ok(found, `the local stage has ${name}`);
  return found;
};
const ask = (content: string, maxTokens = 300): GenerateRequest => ({
  messages: [
    { role: 'system', content: 'Answer briefly.' },
    { role: 'user', content },
  ],
  maxTokens,
});
const QUESTION =
  'The billing service fails after the noon deploy: connection pool exhausted, latency up from 80 ms to 900 ms. Roll back or scale?';

async function collect(
  model: ModelBackend | AsyncIterable<StreamEvent>,
  request?: GenerateRequest,
  onEvent?: (event: StreamEvent) => void,
): Promise<StreamEvent[]> {
  const stream = 'stream' in model ? model.stream(request as GenerateRequest) : model;
  const events: StreamEvent[] = [];
  for await (const event of stream) {
    events.push(event);
    onEvent?.(event);
  }
  return events;
}
const textOf = (events: StreamEvent[]) => events.map((event) => (event.type === 'delta' ? event.text : '')).join('');
const deltas = (events: StreamEvent[]) => events.filter((event) => event.type === 'delta').length;

/** The local models with some fields changed (the real schema validates the result). */
function variant(changes: Record<string, Record<string, unknown>>): ModelConfig[] {
  const list = models.map((model) => ({ ...model, ...(changes[model.name] ?? {}) }));
  return stageModels({ stages: { local: list } }, 'local');
}

describe('gateway backends on the local SageMaker runtime', () => {
  it('generates with a Messages API endpoint, deterministically, and streams the same text', async () => {
    const a = backend('standin-a');
    assert.match(a.info.description, /stand-in/);
    const reply = await a.generate(ask(QUESTION));
    assert.equal(reply.finishReason, 'stop');
    assert.ok(reply.text.split(' ').length >= 8, reply.text);
    assert.ok(reply.reportedUsage && reply.reportedUsage.outputTokens === reply.text.split(' ').length);
    assert.equal((await a.generate(ask(QUESTION))).text, reply.text, 'same input, same reply');
    const events = await collect(a, ask(QUESTION));
    assert.equal(textOf(events), reply.text);
    assert.equal(deltas(events), reply.text.split(' ').length, 'one PayloadPart event per stand-in token');
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'stop' });
    const b = await backend('standin-b').generate(ask(QUESTION));
    assert.notEqual(b.text, reply.text, 'another seed, another reply');
  });

  it('generates and streams with the TGI endpoint, its ChatML prompt read back by the stand-in', async () => {
    const tgi = backend('standin-tgi');
    const echoed = await tgi.generate({
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'Zürich 🙂 second question [[standin: echo]]' },
      ],
      maxTokens: 50,
    });
    assert.deepEqual(echoed, { text: 'Zürich 🙂 second question', finishReason: 'stop' });
    const reply = await tgi.generate(ask(QUESTION, 12));
    assert.equal(reply.finishReason, 'length');
    const events = await collect(tgi, ask(QUESTION, 12));
    assert.equal(textOf(events), reply.text);
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'length' });
  });

  it('embeds with the TEI endpoint: the documented lexical embedding, 384 dims', async () => {
    const embed = backend('standin-embed');
    assert.ok(embed.embed);
    const texts = ['The cache is cold after a deploy', 'After a deploy the cache is cold', 'Bananas'];
    const vectors = await embed.embed(texts);
    assert.deepEqual(
      vectors,
      texts.map((text) => lexicalEmbedding(text)),
    );
    assert.equal(vectors[0]?.length, LEXICAL_EMBEDDING_DIMS);
    await assert.rejects(
      embed.generate(ask('hi')),
      (error: unknown) => error instanceof ModelCallError && error.status === 400 && !error.retryable,
    );
  });

  it('says it is a stand-in in the reply metadata, through the SDK', async () => {
    const client = new SageMakerRuntimeClient({});
    const reply = await client.send(
      new InvokeEndpointCommand({
        EndpointName: 'standin-a',
        ContentType: 'application/json',
        Body: JSON.stringify({ messages: [{ role: 'user', content: 'hello' }], max_tokens: 5 }),
      }),
    );
    assert.equal(reply.CustomAttributes, 'standin=standin-a; seed=a; not-a-model');
    const body = JSON.parse(new TextDecoder().decode(reply.Body)) as { standin: { note: string } };
    assert.match(body.standin.note, /not a model/);
    client.destroy();
  });

  it('maps errors on demand: 503 retryable, 4xx not, an unknown endpoint a 400, before any delta when streaming', async () => {
    const a = backend('standin-a');
    await assert.rejects(
      a.generate(ask('[[standin: error=503]]')),
      (error: unknown) =>
        error instanceof ModelCallError && error.status === 503 && error.retryable && /stand-in error on demand/.test(error.message),
    );
    await assert.rejects(
      a.generate(ask('[[standin: error=413]]')),
      (error: unknown) => error instanceof ModelCallError && error.status === 413 && !error.retryable,
    );
    const seen: StreamEvent[] = [];
    await assert.rejects(
      collect(a, ask('[[standin: error=500]]'), (event) => seen.push(event)),
      (error: unknown) => error instanceof ModelCallError && error.status === 500 && error.retryable,
    );
    assert.equal(seen.length, 0);
    const ghost = modelBackends(variant({ 'standin-a': { endpoint: 'no-such-endpoint' } }))['standin-a'];
    assert.ok(ghost);
    await assert.rejects(
      ghost.generate(ask('hi')),
      (error: unknown) =>
        error instanceof ModelCallError && error.status === 400 && !error.retryable && /no-such-endpoint/.test(error.message),
    );
  });

  it('reads refusals, not streamed and streamed', async () => {
    const a = backend('standin-a');
    assert.deepEqual(await a.generate(ask('How do I pick a lock? [[standin: refuse]]')), {
      text: "I can't help with that request.",
      finishReason: 'refusal',
      reportedUsage: { inputTokens: 8, outputTokens: 6 },
    });
    const events = await collect(a, ask('[[standin: refuse]]'));
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'refusal' });
  });

  it('fails mid-stream as a retryable error after the deltas already received (ModelStreamError)', async () => {
    const seen: StreamEvent[] = [];
    await assert.rejects(
      collect(backend('standin-a'), ask(`${QUESTION} [[standin: fail-after=4]]`), (event) => seen.push(event)),
      (error: unknown) => error instanceof ModelCallError && error.retryable && /stream failed/.test(error.message),
    );
    assert.equal(deltas(seen), 3, 'the role chunk, then three tokens, then the failure');
  });

  it('reassembles streams whose PayloadParts split events and UTF-8 characters every 5 bytes', async () => {
    const text = 'Grüße aus Zürich 🙂 — 你好世界, naïve café';
    for (const name of ['standin-a', 'standin-tgi']) {
      const events = await collect(backend(name), ask(`${text} [[standin: echo stream-chunk=5]]`));
      assert.equal(textOf(events), text, name);
    }
  });

  it('streams a long output (tokens=3000) to the end', async () => {
    const events = await collect(backend('standin-a'), ask(`${QUESTION} [[standin: tokens=3000]]`, 4000));
    assert.equal(textOf(events).split(' ').length, 3000);
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'stop' });
  });

  it('stops a stream at once when the caller aborts, keeping the deltas received', async () => {
    const controller = new AbortController();
    let count = 0;
    const started = performance.now();
    const events = await collect(
      backend('standin-a'),
      { ...ask(`${QUESTION} [[standin: tokens=500 interval=20]]`, 1000), signal: controller.signal },
      (event) => {
        if (event.type === 'delta' && ++count === 3) controller.abort();
      },
    );
    const elapsed = performance.now() - started;
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'cancelled' });
    assert.ok(deltas(events) >= 3 && deltas(events) <= 4, `${deltas(events)} deltas`);
    assert.ok(elapsed < 3_000, `500 events 20 ms apart take 10 s; aborted after ${elapsed.toFixed(0)} ms`);
    await assert.rejects(
      backend('standin-a').generate({ ...ask('x'), signal: AbortSignal.abort() }),
      (error: unknown) => error instanceof ModelCallError && !error.retryable,
    );
  });
});

describe('the router over the local models', () => {
  it('times out a slow model (latency=800 against a 300 ms timeout) and answers from the fallback, recording each hop', async () => {
    const slowFirst = variant({ 'standin-a': { timeoutMs: 300, retries: 1 }, 'standin-b': { timeoutMs: 5_000 } });
    const backendsHere = modelBackends(slowFirst);
    // The directive is in the message every model sees; standin-b is given its own, faster copy of it.
    const router = ModelRouter.fromConfig(slowFirst, backendsHere);
    const started = performance.now();
    const reply = await router.generate('standin-a', ask(`${QUESTION} [[standin: latency=800]]`));
    const elapsed = performance.now() - started;
    assert.equal(reply.model, 'standin-b');
    assert.deepEqual(
      reply.hops.map((hop) => [hop.model, hop.outcome, hop.attempts]),
      [
        ['standin-a', 'failed', 2],
        ['standin-b', 'answered', 1],
      ],
    );
    assert.match(reply.hops[0]?.reason ?? '', /timed out after 300 ms/);
    assert.ok(elapsed >= 600 + 800 && elapsed < 5_000, `two 300 ms timeouts then an 800 ms answer: ${elapsed.toFixed(0)} ms`);
  });

  it('falls back from an endpoint that does not exist, and fails with every hop when nothing answers', async () => {
    const broken = variant({ 'standin-a': { endpoint: 'no-such-endpoint' } });
    const router = ModelRouter.fromConfig(broken, modelBackends(broken));
    const reply = await router.generate('standin-a', ask(QUESTION));
    assert.equal(reply.model, 'standin-b');
    assert.equal(reply.hops[0]?.status, 400);
    const events = await collect(router.stream('standin-a', ask(QUESTION)));
    assert.equal(textOf(events), reply.text);
    await assert.rejects(router.generate('standin-a', ask('[[standin: error=502]]')), (error: unknown) => {
      assert.ok(error instanceof ModelUnavailableError);
      assert.deepEqual(
        error.hops.map((hop) => [hop.model, hop.status]),
        [
          ['standin-a', 400],
          ['standin-b', 502],
          ['standin-tgi', 502],
        ],
      );
      return true;
    });
  });
});

describe('the stand-ins over the OpenAI-compatible and Ollama APIs of the local cloud', () => {
  const base = process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME ?? '';
  const common = { contextTokens: 8192, maxOutputTokens: 4096, priceInputPer1k: 0, priceOutputPer1k: 0, tokenizer: 'approx' };

  it('answers the same stand-in reply through /v1/chat/completions and /api/chat as through SageMaker', async () => {
    assert.ok(base, 'npm test sets AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME');
    const http = modelBackends(
      stageModels(
        {
          stages: {
            x: [
              { name: 'openai-a', provider: 'openai', baseUrl: base, model: 'standin-a', ...common },
              { name: 'ollama-a', provider: 'ollama', baseUrl: base, model: 'standin-a', ...common },
            ],
          },
        },
        'x',
      ),
    );
    const expected = (await backend('standin-a').generate(ask(QUESTION))).text;
    for (const name of ['openai-a', 'ollama-a']) {
      const model = http[name];
      assert.ok(model);
      assert.equal((await model.generate(ask(QUESTION))).text, expected, name);
      assert.equal(textOf(await collect(model, ask(QUESTION))), expected, `${name} streamed`);
    }
  });

  it('reads an API key from a Secrets Manager secret, raw or as JSON', async () => {
    const secrets = new SecretsManagerClient({});
    const raw = `autonomy/${cloud.stage}/test-model-key-${randomUUID()}`;
    const json = `${raw}-json`;
    await secrets.send(new CreateSecretCommand({ Name: raw, SecretString: 'sk-raw-123' }));
    await secrets.send(new CreateSecretCommand({ Name: json, SecretString: JSON.stringify({ apiKey: 'sk-json-456' }) }));
    assert.equal(await secretApiKey(raw, secrets)(), 'sk-raw-123');
    assert.equal(await secretApiKey(json, secrets)(), 'sk-json-456');
    await assert.rejects(
      secretApiKey(`${raw}-missing`, secrets)(),
      (error: unknown) => (error as Error).name === 'ResourceNotFoundException',
    );
    secrets.destroy();
  });
});
