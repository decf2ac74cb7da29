/**
 * Pure payload codecs of the model gateway: the request bodies, replies and stream chunks of the
 * wire formats model servers speak, and the framings their streams come in. Backends
 * (lib/adapters/) move the bytes; everything about what the bytes mean is here, so it is tested
 * without a network.
 *
 * | Format            | Request                                   | Reply                       | Stream                                               |
 * |-------------------|-------------------------------------------|-----------------------------|------------------------------------------------------|
 * | Messages API      | `{ messages, max_tokens, stream, … }`     | OpenAI chat completion JSON | SSE `data: {chunk}` … `data: [DONE]`                 |
 * | TGI               | `{ inputs, parameters, stream }`          | `[{ generated_text }]`      | SSE `data:{"token":{"text"}}`, last has `generated_text` |
 * | Ollama /api/chat  | `{ model, messages, stream, options }`    | `{ message, done_reason }`  | NDJSON, last line `done: true`                       |
 * | Ollama /api/embed | `{ model, input: [...] }`                 | `{ embeddings: [[...]] }`   | —                                                    |
 * | TEI               | `{ inputs: [...], normalize, truncate }`  | `[[...]]`                   | —                                                    |
 * | OpenAI embeddings | `{ model, input: [...] }`                 | `{ data: [{ embedding, index }] }` | —                                             |
 *
 * The Messages API is the OpenAI chat completions format that the TGI and LMI containers (and vLLM,
 * LM Studio, Ollama's `/v1`) serve. TGI's own `inputs` format takes a prompt string: the messages are
 * rendered with the model's chat template ({@link renderPrompt}).
 *
 * Stream framings ({@link SseDecoder}, {@link NdjsonDecoder}) accept bytes cut anywhere, including
 * inside a multi-byte UTF-8 character, as SageMaker `PayloadPart`s and HTTP chunks are.
 */
import { z } from 'zod';
import type { ChatMessage, FinishReason, GenerateRequest, GenerateResult, StreamEvent, Usage } from './backend.ts';
import { ModelCallError } from './backend.ts';

// ---------------------------------------------------------------------------------------------
// Framings
// ---------------------------------------------------------------------------------------------

/**
 * Server-sent events, decoded incrementally: feed bytes as they come with {@link SseDecoder.push},
 * get the `data` of each complete event (multi-line data joined by `\n`, as the SSE specification
 * says); {@link SseDecoder.end} flushes the last event even without its blank line. Lines end with
 * LF, CRLF or CR, a CR at the end of one chunk and its LF at the start of the next included.
 * Comments (`:`), `event:`, `id:` and `retry:` lines are ignored.
 * @example
 * const sse = new SseDecoder();
 * sse.push(bytes('data: {"a"')); // []
 * sse.push(bytes(':1}\n\n'));    // ['{"a":1}']
 */
export class SseDecoder {
  readonly #text = new TextDecoder('utf-8');
  #buffer = '';
  #data: string[] = [];

  /** The data of every event completed by `bytes`. */
  push(bytes: Uint8Array): string[] {
    this.#buffer += this.#text.decode(bytes, { stream: true });
    return this.#drain(false);
  }

  /** The data of the events left when the stream ends (an unterminated last line or event included). */
  end(): string[] {
    this.#buffer += this.#text.decode();
    const events = this.#drain(true);
    if (this.#data.length > 0) events.push(this.#data.join('\n'));
    this.#data = [];
    return events;
  }

  #drain(final: boolean): string[] {
    const events: string[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      // A CR last in the buffer may be the first half of a CRLF split across chunks.
      if (!match || (!final && match[0] === '\r' && match.index === this.#buffer.length - 1)) break;
      this.#line(this.#buffer.slice(0, match.index), events);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
    }
    if (final && this.#buffer !== '') {
      this.#line(this.#buffer, events);
      this.#buffer = '';
    }
    return events;
  }

  #line(line: string, events: string[]): void {
    if (line === '') {
      if (this.#data.length > 0) events.push(this.#data.join('\n'));
      this.#data = [];
      return;
    }
    if (line.startsWith('data:')) this.#data.push(line.slice(5).replace(/^ /, ''));
    else if (line === 'data') this.#data.push('');
  }
}

/**
 * Newline-delimited JSON (Ollama's streams), decoded incrementally: each complete non-blank line
 * (CRLF tolerated); {@link NdjsonDecoder.end} flushes a last line without its newline.
 */
export class NdjsonDecoder {
  readonly #text = new TextDecoder('utf-8');
  #buffer = '';

  /** The lines completed by `bytes`. */
  push(bytes: Uint8Array): string[] {
    this.#buffer += this.#text.decode(bytes, { stream: true });
    const lines = this.#buffer.split('\n');
    this.#buffer = lines.pop() ?? '';
    return lines.map((line) => line.replace(/\r$/, '')).filter((line) => line.trim() !== '');
  }

  /** The last line, if the stream did not end with a newline. */
  end(): string[] {
    const rest = (this.#buffer + this.#text.decode()).replace(/\r$/, '');
    this.#buffer = '';
    return rest.trim() === '' ? [] : [rest];
  }
}

/** What one stream message (an SSE event's data, an NDJSON line) says. */
export interface StreamChunk {
  /** Generated text in this chunk (may be empty). */
  text?: string;
  finishReason?: FinishReason;
  usage?: Usage;
  /** The stream's end marker (`[DONE]`, TGI's final event, Ollama's `done: true`): nothing more follows. */
  end?: boolean;
}

/** Options of {@link decodeStream}. */
export interface DecodeStreamOptions {
  framing: 'sse' | 'ndjson';
  /** Reads one message; throws {@link ModelCallError} for an error the server reports in-stream. */
  parse: (message: string) => StreamChunk;
  /** The gateway's model name, for errors. */
  model: string;
  /** When aborted, reading stops and the stream ends with `done` / `cancelled` (what was received stays received). */
  signal?: AbortSignal;
  /** Turns a transport failure while reading `parts` into the error to throw (a backend's own mapping). */
  mapError?: (error: unknown) => Error;
}

/**
 * Turns a byte stream of one of the formats into the port's {@link StreamEvent}s: a `delta` per
 * non-empty text, then exactly one `done`. It ends at the format's end marker (closing `parts`),
 * or at the end of `parts` if a finish reason was seen. A stream that stops before either is cut
 * short: {@link ModelCallError} (retryable, status 502). A refusal anywhere in the stream makes the
 * finish reason `refusal`.
 * @throws ModelCallError for an in-stream error or a truncated stream; `mapError(error)` for a transport failure.
 */
export async function* decodeStream(parts: AsyncIterable<Uint8Array>, options: DecodeStreamOptions): AsyncGenerator<StreamEvent> {
  const { signal } = options;
  const framing = options.framing === 'sse' ? new SseDecoder() : new NdjsonDecoder();
  let finishReason: FinishReason | undefined;
  let usage: Usage | undefined;
  const done = (reason: FinishReason): StreamEvent =>
    usage ? { type: 'done', finishReason: reason, reportedUsage: usage } : { type: 'done', finishReason: reason };
  /** Applies the chunks of some messages; true once the end marker was read. */
  function* apply(messages: string[]): Generator<StreamEvent, boolean> {
    for (const message of messages) {
      const chunk = options.parse(message);
      if (chunk.text) yield { type: 'delta', text: chunk.text };
      if (chunk.usage) usage = chunk.usage;
      if (chunk.finishReason && finishReason !== 'refusal') finishReason = chunk.finishReason;
      if (chunk.end) return true;
    }
    return false;
  }
  if (signal?.aborted) {
    yield done('cancelled');
    return;
  }
  try {
    for await (const bytes of parts) {
      if (signal?.aborted) {
        yield done('cancelled');
        return;
      }
      if (yield* apply(framing.push(bytes))) {
        yield done(finishReason ?? 'stop');
        return;
      }
    }
  } catch (error) {
    if (error instanceof ModelCallError) throw error;
    if (signal?.aborted) {
      yield done('cancelled');
      return;
    }
    throw options.mapError ? options.mapError(error) : error;
  }
  if (yield* apply(framing.end())) {
    yield done(finishReason ?? 'stop');
    return;
  }
  if (signal?.aborted) {
    yield done('cancelled');
    return;
  }
  if (finishReason) {
    yield done(finishReason);
    return;
  }
  throw new ModelCallError(`${options.model}: the stream ended before the model finished`, options.model, 502, true);
}

// ---------------------------------------------------------------------------------------------
// Shared reading helpers
// ---------------------------------------------------------------------------------------------

/** A reply that is not what the format promises: the server or the configuration is wrong (not retryable). */
function malformed(model: string, what: string, detail?: string): ModelCallError {
  return new ModelCallError(`${model}: the reply is not ${what}${detail ? ` (${detail})` : ''}`, model, 502, false);
}

function parseJson(text: string, model: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw malformed(model, what, `not JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
}

const usageOf = (input: unknown, output: unknown): Usage | undefined =>
  typeof input === 'number' && typeof output === 'number' && Number.isFinite(input) && Number.isFinite(output)
    ? { inputTokens: input, outputTokens: output }
    : undefined;

/**
 * The message an error body carries, from any of the formats: OpenAI `{ error: { message } }`, TGI
 * `{ error, error_type }`, Ollama `{ error }`, SageMaker `{ message }`, or the text itself (at most 300 characters).
 * @example errorMessage('{"error":"Input validation error: inputs too long","error_type":"validation"}') // 'Input validation error: inputs too long'
 */
export function errorMessage(body: string): string {
  let message = body.trim();
  try {
    const json = JSON.parse(body) as unknown;
    if (typeof json === 'object' && json !== null) {
      const record = json as Record<string, unknown>;
      const error = record.error;
      if (typeof error === 'string') message = error;
      else if (typeof error === 'object' && error !== null && typeof (error as Record<string, unknown>).message === 'string') {
        message = (error as { message: string }).message;
      } else if (typeof record.message === 'string') message = record.message;
      else if (typeof record.detail === 'string') message = record.detail;
    }
  } catch {
    // Not JSON: the text is the message.
  }
  return message.length > 300 ? `${message.slice(0, 297)}...` : message;
}

/** Whether an upstream HTTP status is worth retrying: 408, 409 (busy), 425, 429, 5xx, or none (0: timeout, unreachable). */
export function retryableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
}

// ---------------------------------------------------------------------------------------------
// Chat templates (TGI `inputs`)
// ---------------------------------------------------------------------------------------------

/**
 * Chat templates for models served through TGI's `inputs` (which takes a prompt, not messages):
 * - `chatml`: `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then `<|im_start|>assistant\n`
 *   (Qwen, Hermes, many fine-tunes); stop `<|im_end|>`.
 * - `llama3`: `<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>` per message, then
 *   the assistant header (Llama 3.x Instruct); stop `<|eot_id|>`. No `<|begin_of_text|>`: TGI's
 *   tokenizer adds it, and a second one degrades the output.
 * - `mistral`: `[INST] {user} [/INST]{assistant}</s>` (Mistral/Mixtral Instruct v0.1–v0.3); the system
 *   prompt is put before the first user message, consecutive messages of one role are joined by a
 *   blank line; no stop string (the model ends with `</s>`, which TGI stops on). No `<s>`, as for llama3.
 */
export type ChatTemplate = 'chatml' | 'llama3' | 'mistral';
/** The templates, for schemas. */
export const CHAT_TEMPLATES = ['chatml', 'llama3', 'mistral'] as const satisfies readonly ChatTemplate[];

/**
 * The prompt of `messages` in `template`, ending where the assistant's reply begins.
 * @example renderPrompt([{ role: 'user', content: 'Hi' }], 'chatml') // '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
 */
export function renderPrompt(messages: readonly ChatMessage[], template: ChatTemplate): string {
  switch (template) {
    case 'chatml':
      return `${messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('')}<|im_start|>assistant\n`;
    case 'llama3':
      return `${messages.map((m) => `<|start_header_id|>${m.role}<|end_header_id|>\n\n${m.content}<|eot_id|>`).join('')}<|start_header_id|>assistant<|end_header_id|>\n\n`;
    case 'mistral': {
      const system = messages
        .filter((m) => m.role === 'system')
        .map((m) => m.content)
        .join('\n\n');
      const turns: ChatMessage[] = [];
      for (const message of messages) {
        if (message.role === 'system') continue;
        const last = turns.at(-1);
        if (last && last.role === message.role) last.content = `${last.content}\n\n${message.content}`;
        else turns.push({ role: message.role, content: message.content });
      }
      if (turns[0]?.role !== 'user') turns.unshift({ role: 'user', content: '' });
      if (system && turns[0]) turns[0].content = turns[0].content ? `${system}\n\n${turns[0].content}` : system;
      return turns.map((turn) => (turn.role === 'user' ? `[INST] ${turn.content} [/INST]` : `${turn.content}</s>`)).join('');
    }
  }
}

/** The stop strings a template needs (its end-of-turn marker, when that is plain text to TGI). */
export function templateStops(template: ChatTemplate): string[] {
  return template === 'chatml' ? ['<|im_end|>'] : template === 'llama3' ? ['<|eot_id|>'] : [];
}

// ---------------------------------------------------------------------------------------------
// Messages API (OpenAI chat completions)
// ---------------------------------------------------------------------------------------------

/** Options of {@link messagesBody}. */
export interface MessagesBodyOptions {
  /** `model` sent upstream (an OpenAI-compatible server's model id); left out when undefined (SageMaker containers serve one model). */
  model?: string;
  stream: boolean;
  /** Ask for a final usage chunk when streaming (`stream_options.include_usage`; OpenAI, vLLM, Ollama and LM Studio know it). */
  includeUsage?: boolean;
}

/**
 * The Messages API request body of `request`.
 * @example messagesBody({ messages: [{ role: 'user', content: 'Hi' }], maxTokens: 50 }, { stream: false }) // { messages: [...], max_tokens: 50, stream: false }
 */
export function messagesBody(request: GenerateRequest, options: MessagesBodyOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (options.model !== undefined) body.model = options.model;
  body.messages = request.messages.map((message) => ({ role: message.role, content: message.content }));
  body.max_tokens = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.stop && request.stop.length > 0) body.stop = request.stop;
  body.stream = options.stream;
  if (options.stream && options.includeUsage) body.stream_options = { include_usage: true };
  return body;
}

const finishOf = (reason: unknown, refused: boolean): FinishReason | undefined => {
  if (refused || reason === 'content_filter') return 'refusal';
  if (reason === 'length' || reason === 'max_tokens') return 'length';
  if (typeof reason === 'string' && reason !== '') return 'stop';
  return undefined;
};

const usageSchema = z.looseObject({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() }).nullish();
const completionSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        message: z.looseObject({ content: z.string().nullish(), refusal: z.string().nullish() }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: usageSchema,
});
const chunkSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        delta: z.looseObject({ content: z.string().nullish(), refusal: z.string().nullish() }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: usageSchema,
});

/** An `error` a server put in a 200 reply or a stream event, as a retryable failure. */
function inBandError(json: unknown, model: string): ModelCallError | undefined {
  if (typeof json !== 'object' || json === null || !('error' in json) || (json as { error: unknown }).error == null) return undefined;
  return new ModelCallError(`${model}: the model failed: ${errorMessage(JSON.stringify(json))}`, model, 500, true);
}

/**
 * Reads a Messages API completion. `content_filter` or a `refusal` is finish reason `refusal` (its
 * text is the refusal's); `length` stays `length`; any other reason is `stop`.
 * @throws ModelCallError (502, not retryable) when the reply is not a completion; (500, retryable) when it reports an error.
 */
export function parseMessagesReply(text: string, model: string): GenerateResult {
  const json = parseJson(text, model, 'a Messages API completion');
  const failed = inBandError(json, model);
  if (failed) throw failed;
  const parsed = completionSchema.safeParse(json);
  if (!parsed.success) throw malformed(model, 'a Messages API completion', firstIssue(parsed.error));
  const [choice] = parsed.data.choices;
  const refusal = choice?.message.refusal ?? undefined;
  const result: GenerateResult = {
    text: choice?.message.content ?? refusal ?? '',
    finishReason: finishOf(choice?.finish_reason, Boolean(refusal)) ?? 'stop',
  };
  const usage = usageOf(parsed.data.usage?.prompt_tokens, parsed.data.usage?.completion_tokens);
  if (usage) result.reportedUsage = usage;
  return result;
}

/**
 * Reads one SSE event of a streamed Messages API completion: `[DONE]` ends the stream; a chunk's
 * `delta.content` (or `delta.refusal`) is text; `finish_reason` and a usage chunk are kept.
 * @throws ModelCallError for an in-stream error or a malformed chunk.
 */
export function messagesStreamChunk(data: string, model: string): StreamChunk {
  if (data.trim() === '[DONE]') return { end: true };
  const json = parseJson(data, model, 'a Messages API stream chunk');
  const failed = inBandError(json, model);
  if (failed) throw failed;
  const parsed = chunkSchema.safeParse(json);
  if (!parsed.success) throw malformed(model, 'a Messages API stream chunk', firstIssue(parsed.error));
  const choice = parsed.data.choices?.[0];
  const refusal = choice?.delta?.refusal ?? undefined;
  const chunk: StreamChunk = {};
  const text = (choice?.delta?.content ?? '') + (refusal ?? '');
  if (text) chunk.text = text;
  const finish = finishOf(choice?.finish_reason, Boolean(refusal));
  if (finish) chunk.finishReason = finish;
  const usage = usageOf(parsed.data.usage?.prompt_tokens, parsed.data.usage?.completion_tokens);
  if (usage) chunk.usage = usage;
  return chunk;
}

// ---------------------------------------------------------------------------------------------
// TGI (inputs / parameters)
// ---------------------------------------------------------------------------------------------

/** TGI's default `max_stop_sequences`: more stop strings are refused with a 422. */
export const TGI_MAX_STOP_SEQUENCES = 4;

/**
 * The TGI request body of `request`: the messages rendered with `template`, `max_new_tokens`, greedy
 * decoding unless a temperature above 0 is asked for (TGI refuses `temperature: 0`), the template's
 * stop string then the request's (at most {@link TGI_MAX_STOP_SEQUENCES} in all), `details` (for the
 * finish reason), and `stream: true` when streaming (the TGI container on SageMaker streams only then).
 */
export function tgiBody(request: GenerateRequest, template: ChatTemplate, stream: boolean): Record<string, unknown> {
  const parameters: Record<string, unknown> = { max_new_tokens: request.maxTokens, return_full_text: false, details: true };
  if (request.temperature !== undefined && request.temperature > 0) {
    parameters.do_sample = true;
    parameters.temperature = request.temperature;
  } else parameters.do_sample = false;
  const stop = [...new Set([...templateStops(template), ...(request.stop ?? [])])].slice(0, TGI_MAX_STOP_SEQUENCES);
  if (stop.length > 0) parameters.stop = stop;
  const body: Record<string, unknown> = { inputs: renderPrompt(request.messages, template), parameters };
  if (stream) body.stream = true;
  return body;
}

const tgiDetailsSchema = z.looseObject({ finish_reason: z.string().nullish(), generated_tokens: z.number().nullish() }).nullish();
const tgiGeneratedSchema = z.looseObject({ generated_text: z.string(), details: tgiDetailsSchema });
const tgiReplySchema = z.union([z.array(tgiGeneratedSchema).min(1), tgiGeneratedSchema]);
const tgiEventSchema = z.looseObject({
  token: z.looseObject({ text: z.string(), special: z.boolean().nullish() }).nullish(),
  generated_text: z.string().nullish(),
  details: tgiDetailsSchema,
});

/** TGI's `length` is `length`; `eos_token` and `stop_sequence` are `stop`. */
const tgiFinish = (reason: string | null | undefined): FinishReason => (reason === 'length' ? 'length' : 'stop');

/**
 * Reads a TGI reply: `[{ generated_text, details? }]` (TGI) or `{ generated_text }` (LMI). TGI has no
 * refusal signal and reports no input token count, so there is no `refusal` and no `reportedUsage`.
 * @throws ModelCallError when the reply is not TGI's or reports an error.
 */
export function parseTgiReply(text: string, model: string): GenerateResult {
  const json = parseJson(text, model, 'a TGI generation');
  const failed = inBandError(json, model);
  if (failed) throw failed;
  const parsed = tgiReplySchema.safeParse(json);
  if (!parsed.success) throw malformed(model, 'a TGI generation', firstIssue(parsed.error));
  const generated = Array.isArray(parsed.data) ? parsed.data[0] : parsed.data;
  return { text: generated?.generated_text ?? '', finishReason: tgiFinish(generated?.details?.finish_reason) };
}

/**
 * Reads one SSE event of a TGI stream: a token's text (special tokens skipped); the last event, the
 * one with `generated_text` (or `details`), ends the stream.
 * @throws ModelCallError for an in-stream error (`{"error": …}`) or a malformed event.
 */
export function tgiStreamChunk(data: string, model: string): StreamChunk {
  const json = parseJson(data, model, 'a TGI stream event');
  const failed = inBandError(json, model);
  if (failed) throw failed;
  const parsed = tgiEventSchema.safeParse(json);
  if (!parsed.success) throw malformed(model, 'a TGI stream event', firstIssue(parsed.error));
  const chunk: StreamChunk = {};
  if (parsed.data.token && !parsed.data.token.special && parsed.data.token.text) chunk.text = parsed.data.token.text;
  if (parsed.data.generated_text != null || parsed.data.details != null) {
    chunk.finishReason = tgiFinish(parsed.data.details?.finish_reason);
    chunk.end = true;
  }
  return chunk;
}

// ---------------------------------------------------------------------------------------------
// Ollama native API
// ---------------------------------------------------------------------------------------------

/** The `/api/chat` body: `num_predict` bounds the output; `options.temperature` and `stop` when given. */
export function ollamaChatBody(request: GenerateRequest, model: string, stream: boolean): Record<string, unknown> {
  const options: Record<string, unknown> = { num_predict: request.maxTokens };
  if (request.temperature !== undefined) options.temperature = request.temperature;
  if (request.stop && request.stop.length > 0) options.stop = request.stop;
  return { model, messages: request.messages.map((message) => ({ role: message.role, content: message.content })), stream, options };
}

const ollamaChatSchema = z.looseObject({
  message: z.looseObject({ content: z.string().nullish() }).nullish(),
  done: z.boolean().nullish(),
  done_reason: z.string().nullish(),
  prompt_eval_count: z.number().nullish(),
  eval_count: z.number().nullish(),
});

/** Ollama's `length` is `length`; `stop` (and anything else) is `stop`. */
const ollamaFinish = (reason: string | null | undefined): FinishReason => (reason === 'length' ? 'length' : 'stop');

/**
 * Reads an `/api/chat` reply (not streamed).
 * @throws ModelCallError when it is not one or reports an error.
 */
export function parseOllamaChat(text: string, model: string): GenerateResult {
  const json = parseJson(text, model, 'an Ollama chat reply');
  const failed = inBandError(json, model);
  if (failed) throw failed;
  const parsed = ollamaChatSchema.safeParse(json);
  if (!parsed.success || !parsed.data.message)
    throw malformed(model, 'an Ollama chat reply', parsed.success ? 'message: missing' : firstIssue(parsed.error));
  const result: GenerateResult = { text: parsed.data.message.content ?? '', finishReason: ollamaFinish(parsed.data.done_reason) };
  const usage = usageOf(parsed.data.prompt_eval_count, parsed.data.eval_count);
  if (usage) result.reportedUsage = usage;
  return result;
}

/**
 * Reads one NDJSON line of a streamed `/api/chat`: its `message.content`; `done: true` ends the stream
 * with `done_reason` and the token counts.
 * @throws ModelCallError for an in-stream `{ error }` or a malformed line.
 */
export function ollamaStreamChunk(line: string, model: string): StreamChunk {
  const json = parseJson(line, model, 'an Ollama stream line');
  const failed = inBandError(json, model);
  if (failed) throw failed;
  const parsed = ollamaChatSchema.safeParse(json);
  if (!parsed.success) throw malformed(model, 'an Ollama stream line', firstIssue(parsed.error));
  const chunk: StreamChunk = {};
  if (parsed.data.message?.content) chunk.text = parsed.data.message.content;
  if (parsed.data.done) {
    chunk.end = true;
    chunk.finishReason = ollamaFinish(parsed.data.done_reason);
    const usage = usageOf(parsed.data.prompt_eval_count, parsed.data.eval_count);
    if (usage) chunk.usage = usage;
  }
  return chunk;
}

/** The `/api/embed` body. */
export function ollamaEmbedBody(texts: readonly string[], model: string): Record<string, unknown> {
  return { model, input: [...texts] };
}

const vectorSchema = z.array(z.number());

/** Checks there is one vector per text, all of one length, and returns them. */
function checkedVectors(vectors: number[][], count: number, model: string, what: string): number[][] {
  if (vectors.length !== count) throw malformed(model, what, `${vectors.length} vectors for ${count} texts`);
  const size = vectors[0]?.length ?? 0;
  if (vectors.some((vector) => vector.length !== size || vector.length === 0))
    throw malformed(model, what, 'vectors of different or zero lengths');
  return vectors;
}

/**
 * Reads an `/api/embed` reply: `{ embeddings: [[...]] }`, one per text.
 * @throws ModelCallError when it is not one, or the count or lengths are wrong.
 */
export function parseOllamaEmbed(text: string, count: number, model: string): number[][] {
  const json = parseJson(text, model, 'an Ollama embed reply');
  const failed = inBandError(json, model);
  if (failed) throw failed;
  const parsed = z.looseObject({ embeddings: z.array(vectorSchema) }).safeParse(json);
  if (!parsed.success) throw malformed(model, 'an Ollama embed reply', firstIssue(parsed.error));
  return checkedVectors(parsed.data.embeddings, count, model, 'an Ollama embed reply');
}

// ---------------------------------------------------------------------------------------------
// Embeddings: TEI and OpenAI
// ---------------------------------------------------------------------------------------------

/** The TEI `/embed` body: normalised vectors, inputs longer than the model's window truncated (not refused). */
export function teiBody(texts: readonly string[]): Record<string, unknown> {
  return { inputs: [...texts], normalize: true, truncate: true };
}

/**
 * Reads a TEI reply: `[[...], ...]`, one vector per input.
 * @throws ModelCallError when it is not one, or the count or lengths are wrong.
 */
export function parseTeiReply(text: string, count: number, model: string): number[][] {
  const json = parseJson(text, model, 'a TEI embedding reply');
  const failed = inBandError(json, model);
  if (failed) throw failed;
  const parsed = z.array(vectorSchema).safeParse(json);
  if (!parsed.success) throw malformed(model, 'a TEI embedding reply', firstIssue(parsed.error));
  return checkedVectors(parsed.data, count, model, 'a TEI embedding reply');
}

/** The OpenAI `/v1/embeddings` body. */
export function openAiEmbeddingsBody(texts: readonly string[], model: string): Record<string, unknown> {
  return { model, input: [...texts] };
}

/**
 * Reads an OpenAI embeddings reply (`data[].embedding`, put in `index` order).
 * @throws ModelCallError when it is not one, or the count or lengths are wrong.
 */
export function parseOpenAiEmbeddings(text: string, count: number, model: string): number[][] {
  const json = parseJson(text, model, 'an OpenAI embeddings reply');
  const failed = inBandError(json, model);
  if (failed) throw failed;
  const parsed = z
    .looseObject({ data: z.array(z.looseObject({ embedding: vectorSchema, index: z.number().int().nonnegative().optional() })) })
    .safeParse(json);
  if (!parsed.success) throw malformed(model, 'an OpenAI embeddings reply', firstIssue(parsed.error));
  const ordered = parsed.data.data
    .map((item, position) => ({ index: item.index ?? position, embedding: item.embedding }))
    .sort((a, b) => a.index - b.index);
  return checkedVectors(
    ordered.map((item) => item.embedding),
    count,
    model,
    'an OpenAI embeddings reply',
  );
}
