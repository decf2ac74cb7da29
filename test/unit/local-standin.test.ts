/**
 * The local model stand-ins (infra/local/sagemaker/standin.ts): deterministic and honest replies,
 * every directive, the wire formats (Messages API, TGI, TEI), and the endpoint list.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localModels } from '../../infra/local/sagemaker/endpoints.ts';
import { ModelBackendError } from '../../infra/local/sagemaker/runtime.ts';
import { parseDirectives, readStandInBody, StandIn, standInBackend, streamParts } from '../../infra/local/sagemaker/standin.ts';
import { cosineSimilarity, lexicalEmbedding } from '../../lib/gateway/lexical-embedding.ts';
import { renderPrompt } from '../../lib/gateway/payloads.ts';

const QUESTION =
  'The checkout service returns errors after the deploy at noon; latency rose from 80 ms to 900 ms and the database connection pool is exhausted. What should we roll back first?';
const noWait = async () => {};

describe('stand-in replies', () => {
  it('answers the same input the same way, and two seeds with related but different replies', () => {
    const a = new StandIn({ name: 'standin-a', seed: 'a' });
    const b = new StandIn({ name: 'standin-b', seed: 'b' });
    const input = { messages: [{ role: 'user' as const, content: QUESTION }], maxTokens: 500 };
    const first = a.chat(input);
    assert.deepEqual(a.chat(input), first, 'deterministic');
    assert.deepEqual(new StandIn({ name: 'other', seed: 'a' }).chat(input).text, first.text, 'the seed decides, not the instance');
    const other = b.chat(input);
    assert.notEqual(first.text, other.text);
    const questionWords = new Set(QUESTION.toLowerCase().match(/[\p{L}\p{N}]+/gu));
    for (const word of first.text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
      assert.ok(questionWords.has(word), `${word} is quoted from the input`);
    const similarity = cosineSimilarity(lexicalEmbedding(first.text), lexicalEmbedding(other.text));
    assert.ok(similarity > 0.4 && similarity < 0.99, `related but different: cosine ${similarity.toFixed(3)}`);
    assert.equal(first.pieces.length, 31, 'as many words as the question has (31)');
    assert.equal(first.promptTokens, 31);
  });

  it('obeys tokens=, echo, refuse, and cuts at max tokens and at stop strings', () => {
    const standIn = new StandIn({ name: 's' });
    const long = standIn.chat({ messages: [{ role: 'user', content: `${QUESTION} [[standin: tokens=3000]]` }], maxTokens: 5000 });
    assert.equal(long.pieces.length, 3000);
    assert.equal(long.finish, 'stop');
    const capped = standIn.chat({ messages: [{ role: 'user', content: `${QUESTION} [[standin: tokens=3000]]` }], maxTokens: 100 });
    assert.equal(capped.pieces.length, 100);
    assert.equal(capped.finish, 'length');
    const echo = standIn.chat({
      messages: [{ role: 'user', content: 'Card 4111 1111 1111 1111, mail jane@example.com [[standin: echo]]' }],
      maxTokens: 50,
    });
    assert.equal(echo.text, 'Card 4111 1111 1111 1111, mail jane@example.com');
    const refused = standIn.chat({ messages: [{ role: 'user', content: 'x [[standin: refuse]]' }], maxTokens: 50 });
    assert.equal(refused.finish, 'refusal');
    assert.equal(refused.text, "I can't help with that request.");
    const stopped = standIn.chat({
      messages: [{ role: 'user', content: 'alpha beta gamma delta [[standin: echo]]' }],
      maxTokens: 50,
      stop: [' gamma'],
    });
    assert.equal(stopped.text, 'alpha beta');
    assert.equal(stopped.pieces.join(''), 'alpha beta');
    assert.equal(stopped.stopSequence, true);
  });

  it('reads directives only from the last user message, and refuses unknown or malformed ones (422)', () => {
    assert.deepEqual(parseDirectives('Hi [[standin: tokens=5, latency=10 refuse]] and [[ STANDIN: stream-chunk=7 ]]').directives, {
      tokens: 5,
      latencyMs: 10,
      refuse: true,
      streamChunk: 7,
    });
    assert.throws(
      () => parseDirectives('[[standin: colour=blue]]'),
      (error: unknown) =>
        error instanceof ModelBackendError && error.statusCode === 422 && /unknown stand-in directive "colour"/.test(error.message),
    );
    assert.throws(() => parseDirectives('[[standin: error=200]]'), /error needs a whole number in 400\.\.599/);
    const standIn = new StandIn({ name: 's' });
    const turn = standIn.chat({
      messages: [
        { role: 'user', content: 'old [[standin: refuse]]' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: 'new question here' },
      ],
      maxTokens: 50,
    });
    assert.notEqual(turn.finish, 'refusal');
  });

  it('finds the last user turn in TGI prompts of each template', () => {
    const standIn = new StandIn({ name: 's' });
    const messages = [
      { role: 'system' as const, content: 'Be helpful' },
      { role: 'user' as const, content: 'first [[standin: refuse]]' },
      { role: 'assistant' as const, content: 'fine' },
      { role: 'user' as const, content: 'second turn [[standin: echo]]' },
    ];
    for (const template of ['chatml', 'llama3', 'mistral'] as const) {
      assert.equal(standIn.chat({ prompt: renderPrompt(messages, template), maxTokens: 20 }).text, 'second turn', template);
    }
  });

  it('refuses an input over its context like TGI (422), and an embedding stand-in refuses to chat (400)', () => {
    const small = new StandIn({ name: 's', contextTokens: 30 });
    assert.throws(
      () => small.chat({ messages: [{ role: 'user', content: QUESTION }], maxTokens: 5 }),
      /must be <= 30\. Given: 31 `inputs` tokens and 5 `max_new_tokens`/,
    );
    assert.throws(
      () => new StandIn({ name: 'e', kind: 'embed' }).chat({ messages: [], maxTokens: 1 }),
      (error: unknown) => error instanceof ModelBackendError && error.statusCode === 400,
    );
  });

  it('embeds with the lexical embedding, truncating past 512 words unless told not to (413)', () => {
    const standIn = new StandIn({ name: 'e', kind: 'embed' });
    assert.deepEqual(standIn.embed(['Cache is cold']), [lexicalEmbedding('Cache is cold')]);
    const long = Array.from({ length: 600 }, (_, i) => `w${i}`).join(' ');
    const [vector] = standIn.embed([long]);
    assert.deepEqual(vector, lexicalEmbedding(Array.from({ length: 512 }, (_, i) => `w${i}`).join(' ')));
    assert.throws(() => standIn.embed([long], false), /must have less than 512 tokens/);
  });
});

describe('stand-in wire formats', () => {
  const backend = standInBackend(new StandIn({ name: 'standin-a', seed: 'a', sleep: noWait }));
  const call = async (body: unknown) => {
    const reply = await backend.invoke({ body: Buffer.from(JSON.stringify(body)), contentType: 'application/json', accept: '*/*' });
    return { json: JSON.parse(reply.body.toString()) as Record<string, unknown> & unknown[], attributes: reply.customAttributes };
  };

  it('says it is a stand-in in every reply: metadata and custom attributes', async () => {
    const messages = await call({ messages: [{ role: 'user', content: 'hello there' }], max_tokens: 10 });
    assert.deepEqual(messages.json.standin, {
      name: 'standin-a',
      seed: 'a',
      note: 'deterministic local stand-in, not a model (infra/local/sagemaker/standin.ts)',
    });
    assert.equal(messages.attributes, 'standin=standin-a; seed=a; not-a-model');
    assert.equal(messages.json.model, 'standin-a');
    const tgi = await call({
      inputs: '<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n',
      parameters: { max_new_tokens: 10 },
    });
    assert.equal((tgi.json[0] as { standin: { name: string } }).standin.name, 'standin-a');
  });

  it('answers Messages API refusals with refusal and content_filter, and TGI with details', async () => {
    const refused = await call({ messages: [{ role: 'user', content: '[[standin: refuse]]' }], max_tokens: 10 });
    const choice = (refused.json.choices as Array<{ message: { content: unknown; refusal: string }; finish_reason: string }>)[0];
    assert.equal(choice?.message.content, null);
    assert.equal(choice?.finish_reason, 'content_filter');
    const tgi = await call({
      inputs: 'one two three four five six seven eight nine ten',
      parameters: { max_new_tokens: 3, return_full_text: true },
    });
    assert.deepEqual((tgi.json[0] as { details: unknown }).details, { finish_reason: 'length', generated_tokens: 3, seed: null });
    assert.match((tgi.json[0] as { generated_text: string }).generated_text, /^one two three four five six seven eight nine ten/);
  });

  it('fails before output on error=STATUS, after latency=MS', async () => {
    const waits: number[] = [];
    const slow = standInBackend(new StandIn({ name: 's', sleep: async (ms) => void waits.push(ms) }));
    await assert.rejects(
      slow.invoke({
        body: Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: '[[standin: latency=800 error=503]]' }] })),
        contentType: 'application/json',
        accept: '*/*',
      }),
      (error: unknown) =>
        error instanceof ModelBackendError && error.statusCode === 503 && /stand-in error on demand/.test(error.originalMessage),
    );
    assert.deepEqual(waits, [800]);
  });

  it('streams in N-byte parts on stream-chunk=N (splitting UTF-8 characters), pacing events on interval=MS, failing on fail-after=N', async () => {
    const waits: number[] = [];
    const standIn = new StandIn({ name: 's', sleep: async (ms) => void waits.push(ms) });
    const events = ['data: {"x":"Grüße 🙂"}\n\n', 'data: [DONE]\n\n'];
    const parts: Buffer[] = [];
    for await (const part of streamParts(standIn, events, { streamChunk: 7, intervalMs: 25 })) parts.push(part);
    assert.ok(parts.slice(0, -1).every((part) => part.length === 7));
    assert.equal(Buffer.concat(parts).toString('utf8'), events.join(''));
    assert.deepEqual(waits, [25]);
    const seen: Buffer[] = [];
    await assert.rejects(
      (async () => {
        for await (const part of streamParts(standIn, events, { failAfter: 1 })) seen.push(part);
      })(),
      /stand-in failure on demand after 1 events/,
    );
    assert.equal(seen.length, 1);
  });

  it('reads TEI bodies as embeddings, on a generating stand-in too', async () => {
    const embedded = await call({ inputs: ['a b', 'c'] });
    assert.deepEqual(embedded.json, [lexicalEmbedding('a b'), lexicalEmbedding('c')]);
    assert.throws(() => readStandInBody('{"prompt":"x"}'), /must have "messages"/);
  });
});

describe('local endpoints', () => {
  it('always has echo and the four stand-ins; AUTONOMY_LOCAL_MODELS adds or replaces entries', () => {
    assert.deepEqual(Object.keys(localModels('').endpoints).sort(), ['echo', 'standin-a', 'standin-b', 'standin-embed', 'standin-tgi']);
    const custom = localModels('standin-a=openai:http://127.0.0.1:11434#llama3.2, extra=standin:x, vec=standin-embed');
    assert.deepEqual(
      Object.keys(custom.standIns).sort(),
      ['extra', 'standin-b', 'standin-embed', 'standin-tgi', 'vec'],
      'standin-a is a real server now, not a stand-in',
    );
    assert.equal(custom.standIns.extra?.seed, 'x');
    assert.equal(custom.standIns.vec?.kind, 'embed');
    assert.throws(() => localModels('bad=gpu'), /must be name=echo, name=standin/);
  });
});
