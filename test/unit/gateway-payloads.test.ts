/**
 * The gateway's payload codecs (lib/gateway/payloads.ts): request bodies, replies, stream chunks of
 * the Messages API, TGI, Ollama and TEI, and the SSE / NDJSON framings under arbitrary byte splits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { StreamEvent } from '../../lib/gateway/backend.ts';
import { ModelCallError } from '../../lib/gateway/backend.ts';
import {
  decodeStream,
  errorMessage,
  messagesBody,
  messagesStreamChunk,
  NdjsonDecoder,
  ollamaChatBody,
  ollamaStreamChunk,
  parseMessagesReply,
  parseOllamaChat,
  parseOllamaEmbed,
  parseOpenAiEmbeddings,
  parseTeiReply,
  parseTgiReply,
  renderPrompt,
  SseDecoder,
  tgiBody,
  tgiStreamChunk,
} from '../../lib/gateway/payloads.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

/** `bytes` cut at the given offsets (sorted, deduplicated, within bounds). */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((offset) => offset % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    parts.push(bytes.subarray(start, point));
    start = point;
  }
  parts.push(bytes.subarray(start));
  return parts;
}

async function* from(parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield part;
}

async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

const textOf = (events: StreamEvent[]) => events.map((event) => (event.type === 'delta' ? event.text : '')).join('');

// Text with 2-, 3- and 4-byte UTF-8 characters, quotes and newlines escaped by JSON.
const TOKENS = ['Grüße', ' 你好', ' 🙂', ' naïve', ' "quoted"', '\n', ' €5', ' 𝔘𝔫𝔦𝔠𝔬𝔡𝔢', ' end'];

function messagesSse(tokens: string[], lineEnd = '\n'): string {
  const events = tokens.map(
    (token) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: token }, finish_reason: null }] })}`,
  );
  events.push(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'length' }] })}`);
  events.push(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: tokens.length } })}`);
  events.push('data: [DONE]');
  return events.map((event) => `${event}${lineEnd}${lineEnd}`).join('');
}

function tgiSse(tokens: string[]): string {
  return tokens
    .map((token, index) => {
      const last = index === tokens.length - 1;
      return `data:${JSON.stringify({ index, token: { id: index, text: token, special: false }, generated_text: last ? tokens.join('') : null, details: last ? { finish_reason: 'eos_token', generated_tokens: tokens.length } : null })}\n\n`;
    })
    .join('');
}

function ollamaNdjson(tokens: string[]): string {
  const lines = tokens.map((token) => JSON.stringify({ model: 'm', message: { role: 'assistant', content: token }, done: false }));
  lines.push(
    JSON.stringify({
      model: 'm',
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 11,
      eval_count: tokens.length,
    }),
  );
  return `${lines.join('\n')}\n`;
}

describe('SSE and NDJSON framing under arbitrary splits', () => {
  it('decodes a Messages API stream cut at any byte offsets (inside multi-byte characters too) to the same events', async () => {
    const bytes = utf8(messagesSse(TOKENS));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (offsets) => {
        const events = await collect(
          decodeStream(from(cut(bytes, offsets)), { framing: 'sse', parse: (data) => messagesStreamChunk(data, 'm'), model: 'm' }),
        );
        assert.equal(textOf(events), TOKENS.join(''));
        assert.deepEqual(events.at(-1), {
          type: 'done',
          finishReason: 'length',
          reportedUsage: { inputTokens: 7, outputTokens: TOKENS.length },
        });
        assert.equal(events.filter((event) => event.type === 'done').length, 1);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes CRLF-framed SSE with a CR and its LF in different parts, and one-byte parts', async () => {
    const bytes = utf8(messagesSse(TOKENS, '\r\n'));
    const oneByte = Array.from(bytes, (byte) => Uint8Array.of(byte));
    const events = await collect(
      decodeStream(from(oneByte), { framing: 'sse', parse: (data) => messagesStreamChunk(data, 'm'), model: 'm' }),
    );
    assert.equal(textOf(events), TOKENS.join(''));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 60 }), async (offsets) => {
        const split = await collect(
          decodeStream(from(cut(bytes, offsets)), { framing: 'sse', parse: (data) => messagesStreamChunk(data, 'm'), model: 'm' }),
        );
        assert.equal(textOf(split), TOKENS.join(''));
      }),
      { numRuns: 200 },
    );
  });

  it('decodes a TGI stream cut anywhere, taking the last token from the final event and not its generated_text twice', async () => {
    const bytes = utf8(tgiSse(TOKENS));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (offsets) => {
        const events = await collect(
          decodeStream(from(cut(bytes, offsets)), { framing: 'sse', parse: (data) => tgiStreamChunk(data, 'm'), model: 'm' }),
        );
        assert.equal(textOf(events), TOKENS.join(''));
        assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'stop' });
      }),
      { numRuns: 300 },
    );
  });

  it('decodes an Ollama NDJSON stream cut anywhere, with the final counts', async () => {
    const bytes = utf8(ollamaNdjson(TOKENS));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (offsets) => {
        const events = await collect(
          decodeStream(from(cut(bytes, offsets)), { framing: 'ndjson', parse: (line) => ollamaStreamChunk(line, 'm'), model: 'm' }),
        );
        assert.equal(textOf(events), TOKENS.join(''));
        assert.deepEqual(events.at(-1), {
          type: 'done',
          finishReason: 'stop',
          reportedUsage: { inputTokens: 11, outputTokens: TOKENS.length },
        });
      }),
      { numRuns: 300 },
    );
  });

  it('joins multi-line data, skips comments and other fields, and flushes an event without its blank line at the end', () => {
    const sse = new SseDecoder();
    assert.deepEqual(sse.push(utf8(': keep-alive\n\nevent: message\nid: 1\ndata: a\ndata:b\n\ndata: tail')), ['a\nb']);
    assert.deepEqual(sse.end(), ['tail']);
    const ndjson = new NdjsonDecoder();
    assert.deepEqual(ndjson.push(utf8('{"a":1}\r\n\n{"b"')), ['{"a":1}']);
    assert.deepEqual(ndjson.end(), ['{"b"']);
  });
});

describe('stream decoding: ends, errors, cancellation', () => {
  const parse = (data: string) => messagesStreamChunk(data, 'm');

  it('fails retryably when the stream stops before any end marker or finish reason', async () => {
    const cutShort = utf8('data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n');
    const events: StreamEvent[] = [];
    await assert.rejects(
      async () => {
        for await (const event of decodeStream(from([cutShort]), { framing: 'sse', parse, model: 'm' })) events.push(event);
      },
      (error: unknown) => error instanceof ModelCallError && error.retryable && error.status === 502 && /ended before/.test(error.message),
    );
    assert.equal(textOf(events), 'Hel', 'the text received before the cut was delivered');
  });

  it('throws an in-stream error as a retryable ModelCallError after the text before it', async () => {
    const body = utf8(`data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {"error":{"message":"CUDA out of memory"}}\n\n`);
    await assert.rejects(
      collect(decodeStream(from([body]), { framing: 'sse', parse, model: 'm' })),
      (error: unknown) => error instanceof ModelCallError && error.retryable && /CUDA out of memory/.test(error.message),
    );
    const tgi = utf8('data:{"error":"Request failed during generation: Server error: OOM","error_type":"generation"}\n\n');
    await assert.rejects(
      collect(decodeStream(from([tgi]), { framing: 'sse', parse: (data) => tgiStreamChunk(data, 'm'), model: 'm' })),
      /OOM/,
    );
  });

  it('ends with done/cancelled, keeping what arrived, when the signal aborts mid-stream', async () => {
    const controller = new AbortController();
    async function* slow(): AsyncIterable<Uint8Array> {
      yield utf8('data: {"choices":[{"delta":{"content":"one "}}]}\n\n');
      controller.abort();
      yield utf8('data: {"choices":[{"delta":{"content":"two"}}]}\n\n');
      throw new Error('never read');
    }
    const events = await collect(decodeStream(slow(), { framing: 'sse', parse, model: 'm', signal: controller.signal }));
    assert.deepEqual(events, [
      { type: 'delta', text: 'one ' },
      { type: 'done', finishReason: 'cancelled' },
    ]);
  });

  it('maps a transport failure with mapError, and a failure after an abort to cancelled', async () => {
    async function* broken(): AsyncIterable<Uint8Array> {
      yield utf8('data: {"choices":[{"delta":{"content":"x"}}]}\n\n');
      throw new Error('socket hang up');
    }
    await assert.rejects(
      collect(decodeStream(broken(), { framing: 'sse', parse, model: 'm', mapError: () => new ModelCallError('mapped', 'm', 0, true) })),
      /mapped/,
    );
    const controller = new AbortController();
    async function* abortedRead(): AsyncIterable<Uint8Array> {
      yield utf8('data: {"choices":[{"delta":{"content":"x"}}]}\n\n');
      controller.abort();
      throw new Error('AbortError');
    }
    const events = await collect(decodeStream(abortedRead(), { framing: 'sse', parse, model: 'm', signal: controller.signal }));
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'cancelled' });
  });

  it('marks a refusal anywhere in the stream as finish reason refusal', async () => {
    const body = utf8(
      `data: {"choices":[{"delta":{"refusal":"I can't help with that."}}]}\n\ndata: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`,
    );
    const events = await collect(decodeStream(from([body]), { framing: 'sse', parse, model: 'm' }));
    assert.equal(textOf(events), "I can't help with that.");
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'refusal' });
  });
});

describe('Messages API', () => {
  const request = {
    messages: [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hi' },
    ],
    maxTokens: 64,
    temperature: 0,
    stop: ['\n\n'],
  };

  it('builds the body with the model only when given, and usage asked for only when streaming', () => {
    assert.deepEqual(messagesBody(request, { stream: false }), {
      messages: request.messages,
      max_tokens: 64,
      temperature: 0,
      stop: ['\n\n'],
      stream: false,
    });
    const streamed = messagesBody({ messages: request.messages, maxTokens: 5 }, { model: 'llama3.2', stream: true, includeUsage: true });
    assert.equal(streamed.model, 'llama3.2');
    assert.deepEqual(streamed.stream_options, { include_usage: true });
    assert.equal('stop' in streamed, false);
  });

  it('reads a completion: text, finish reason, usage; refusals and content filters are refusals', () => {
    const reply = JSON.stringify({
      id: 'x',
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 },
    });
    assert.deepEqual(parseMessagesReply(reply, 'm'), {
      text: 'Hello',
      finishReason: 'length',
      reportedUsage: { inputTokens: 9, outputTokens: 1 },
    });
    const refused = JSON.stringify({ choices: [{ message: { content: null, refusal: 'No.' }, finish_reason: 'stop' }] });
    assert.deepEqual(parseMessagesReply(refused, 'm'), { text: 'No.', finishReason: 'refusal' });
    const filtered = JSON.stringify({ choices: [{ message: { content: '' }, finish_reason: 'content_filter' }] });
    assert.equal(parseMessagesReply(filtered, 'm').finishReason, 'refusal');
  });

  it('refuses a reply that is not a completion, naming the field, as a non-retryable 502', () => {
    assert.throws(
      () => parseMessagesReply('[{"generated_text":"x"}]', 'standin-a'),
      (error: unknown) =>
        error instanceof ModelCallError && !error.retryable && error.status === 502 && /standin-a.*Messages API/.test(error.message),
    );
    assert.throws(() => parseMessagesReply('{"choices":[]}', 'm'), /choices/);
    assert.throws(() => parseMessagesReply('<html>', 'm'), /not JSON/);
  });
});

describe('TGI', () => {
  it('renders ChatML, Llama 3 and Mistral prompts', () => {
    const messages = [
      { role: 'system' as const, content: 'S' },
      { role: 'user' as const, content: 'U1' },
      { role: 'assistant' as const, content: 'A1' },
      { role: 'user' as const, content: 'U2' },
    ];
    assert.equal(
      renderPrompt(messages, 'chatml'),
      '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nU2<|im_end|>\n<|im_start|>assistant\n',
    );
    assert.equal(
      renderPrompt(messages, 'llama3'),
      '<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU1<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nA1<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU2<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    assert.equal(renderPrompt(messages, 'mistral'), '[INST] S\n\nU1 [/INST]A1</s>[INST] U2 [/INST]');
    assert.equal(
      renderPrompt(
        [
          { role: 'assistant', content: 'A' },
          { role: 'user', content: 'U' },
          { role: 'user', content: 'V' },
        ],
        'mistral',
      ),
      '[INST]  [/INST]A</s>[INST] U\n\nV [/INST]',
    );
  });

  it('builds the body: greedy at temperature 0, sampling above, template stop first, at most 4 stops, stream flag', () => {
    const body = tgiBody(
      { messages: [{ role: 'user', content: 'Hi' }], maxTokens: 20, temperature: 0, stop: ['a', 'b', 'c', 'd'] },
      'chatml',
      true,
    );
    assert.deepEqual(body, {
      inputs: '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
      parameters: { max_new_tokens: 20, return_full_text: false, details: true, do_sample: false, stop: ['<|im_end|>', 'a', 'b', 'c'] },
      stream: true,
    });
    const sampled = tgiBody({ messages: [{ role: 'user', content: 'Hi' }], maxTokens: 20, temperature: 0.7 }, 'mistral', false) as {
      parameters: Record<string, unknown>;
    };
    assert.equal(sampled.parameters.do_sample, true);
    assert.equal(sampled.parameters.temperature, 0.7);
    assert.equal('stop' in sampled.parameters, false);
    assert.equal('stream' in sampled, false);
  });

  it('reads TGI and LMI replies and maps the finish reason', () => {
    assert.deepEqual(parseTgiReply('[{"generated_text":"ok","details":{"finish_reason":"length","generated_tokens":2}}]', 'm'), {
      text: 'ok',
      finishReason: 'length',
    });
    assert.deepEqual(parseTgiReply('{"generated_text":"ok"}', 'm'), { text: 'ok', finishReason: 'stop' });
    assert.throws(() => parseTgiReply('{"error":"Input validation error","error_type":"validation"}', 'm'), /Input validation error/);
  });

  it('skips special tokens in a stream', () => {
    assert.deepEqual(tgiStreamChunk('{"token":{"id":2,"text":"</s>","special":true},"generated_text":"x","details":null}', 'm'), {
      finishReason: 'stop',
      end: true,
    });
  });
});

describe('Ollama, TEI and OpenAI embeddings', () => {
  it('builds /api/chat bodies and reads replies', () => {
    assert.deepEqual(ollamaChatBody({ messages: [{ role: 'user', content: 'Hi' }], maxTokens: 9, stop: ['x'] }, 'llama3.2', false), {
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: false,
      options: { num_predict: 9, stop: ['x'] },
    });
    assert.deepEqual(
      parseOllamaChat(
        '{"message":{"role":"assistant","content":"Hey"},"done":true,"done_reason":"length","prompt_eval_count":3,"eval_count":9}',
        'm',
      ),
      {
        text: 'Hey',
        finishReason: 'length',
        reportedUsage: { inputTokens: 3, outputTokens: 9 },
      },
    );
    assert.throws(() => parseOllamaChat('{"error":"model \\"x\\" not found"}', 'm'), /not found/);
  });

  it('reads embeddings, checking the count and the lengths', () => {
    assert.deepEqual(parseTeiReply('[[1,0],[0,1]]', 2, 'e'), [
      [1, 0],
      [0, 1],
    ]);
    assert.throws(() => parseTeiReply('[[1,0]]', 2, 'e'), /1 vectors for 2 texts/);
    assert.throws(() => parseTeiReply('[[1,0],[1]]', 2, 'e'), /different or zero lengths/);
    assert.deepEqual(parseOllamaEmbed('{"model":"m","embeddings":[[0.5,0.5]]}', 1, 'e'), [[0.5, 0.5]]);
    assert.deepEqual(
      parseOpenAiEmbeddings('{"data":[{"index":1,"embedding":[2]},{"index":0,"embedding":[1]}]}', 2, 'e'),
      [[1], [2]],
      'put in index order',
    );
  });

  it('finds the message in every error body shape', () => {
    assert.equal(errorMessage('{"error":{"message":"bad key","type":"auth"}}'), 'bad key');
    assert.equal(errorMessage('{"error":"overloaded","error_type":"overloaded"}'), 'overloaded');
    assert.equal(errorMessage('{"message":"Endpoint x not found"}'), 'Endpoint x not found');
    assert.equal(errorMessage('upstream down'), 'upstream down');
    assert.equal(errorMessage('x'.repeat(1000)).length, 300);
  });
});
