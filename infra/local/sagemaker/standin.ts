/**
 * Honest local stand-ins for models: deterministic programs, not models, that speak the wire formats
 * of the serving containers so every path of the gateway can run on this machine (no weights can
 * be downloaded here). They say what they are: every reply carries `standin` metadata (and, through
 * SageMaker, `X-Amzn-SageMaker-Custom-Attributes: standin=<name>; not-a-model`), and the local
 * stage's model descriptions call them stand-ins.
 *
 * What a generating stand-in answers, for a given input and seed, always the same:
 * - by default an **extractive** reply: sentences of 4-9 consecutive words quoted from the last user
 *   message, starting at seeded positions, two neighbouring words sometimes swapped; as many words
 *   as the message has (at least 8, at most 64). Two stand-ins with different seeds quote the same
 *   words in different windows and orders: related but different answers (arbitration compares them).
 * - on demand, directives in the last user message, `[[standin: key=value flag …]]` (removed from
 *   the text before anything else reads it):
 *
 * | Directive        | Effect                                                                          |
 * |------------------|---------------------------------------------------------------------------------|
 * | `tokens=N`       | reply exactly N words (1-100000), cut at the request's max tokens (`length`)    |
 * | `echo`           | reply the message itself (directives removed)                                   |
 * | `refuse`         | refuse: Messages API `refusal` + `finish_reason: content_filter` (other formats: the text only) |
 * | `latency=MS`     | wait MS (≤ 120000) before answering (before the first streamed part)            |
 * | `interval=MS`    | wait MS (≤ 10000) between streamed events                                       |
 * | `error=STATUS`   | fail with that HTTP status (400-599) before any output: a SageMaker `ModelError` |
 * | `fail-after=N`   | streaming: fail after N events (a `ModelStreamError` mid-stream)                |
 * | `stream-chunk=N` | streaming: cut the byte stream into N-byte parts (1-65536), splitting events and UTF-8 characters |
 *
 * A stand-in token is one word of its output (punctuation stays on its word); usage counts input
 * words (all messages) and output words. It refuses (422, worded as TGI) an input whose words plus
 * the requested max tokens exceed its context (`contextTokens`, default 8192).
 *
 * Embeddings (TEI `{ inputs }` → `[[...]]`, and `/v1/embeddings`, `/api/embed`) are
 * {@link lexicalEmbedding}: hashed word unigrams and bigrams, 384 dims, signed, L2-normalised —
 * lexical similarity, not semantics (lib/gateway/lexical-embedding.ts). Inputs past 512 words are
 * truncated (`truncate: false` makes them a 413, as TEI does).
 */
import type { ChatMessage } from '../../../lib/gateway/backend.ts';
import { lexicalEmbedding, lexicalWords } from '../../../lib/gateway/lexical-embedding.ts';
import { type ModelBackend, ModelBackendError, type ModelReply, type ModelRequest, type ModelStreamReply } from './runtime.ts';

/** Options of a {@link StandIn}. */
export interface StandInOptions {
  /** The name it reports (the endpoint's or the served model's). */
  name: string;
  /** Varies the default reply; stand-ins with different seeds answer differently (default: the name). */
  seed?: string;
  /** `generate`: chat (Messages, TGI) and embeddings; `embed`: embeddings only (a TEI container). */
  kind?: 'generate' | 'embed';
  /** Input words + max tokens it accepts (default 8192). */
  contextTokens?: number;
  /** Waits (injected by tests; default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
}

/** The directives of one request (see the module comment). */
export interface StandInDirectives {
  tokens?: number;
  echo?: boolean;
  refuse?: boolean;
  latencyMs?: number;
  intervalMs?: number;
  error?: number;
  failAfter?: number;
  streamChunk?: number;
}

/** A chat request as a stand-in reads it, whatever the format. */
export interface StandInChat {
  /** The conversation (Messages, Ollama, OpenAI), or … */
  messages?: ChatMessage[];
  /** … a TGI prompt (the last user turn is found through the ChatML, Llama 3 or Mistral markup). */
  prompt?: string;
  maxTokens: number;
  stop?: string[];
}

/** What a stand-in answers to a chat request: its output as words (each with its leading space) and why it ended. */
export interface StandInTurn {
  pieces: string[];
  text: string;
  finish: 'stop' | 'length' | 'refusal';
  promptTokens: number;
  /** The output was cut at one of the request's stop strings. */
  stopSequence: boolean;
  directives: StandInDirectives;
}

/** The metadata every stand-in reply carries. */
export interface StandInMetadata {
  name: string;
  seed: string;
  note: string;
}

const NOTE = 'deterministic local stand-in, not a model (infra/local/sagemaker/standin.ts)';
const DIRECTIVE = /\[\[\s*standin\s*:([^\]]*)\]\]/gi;
const MAX_EMBED_WORDS = 512;
const REFUSAL = "I can't help with that request.";

/** A stand-in's own failure with an HTTP status (a container's 4xx/5xx). */
export class StandInError extends ModelBackendError {}

const intIn = (key: string, value: string | undefined, min: number, max: number): number => {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || n < min || n > max)
    throw new StandInError(422, `stand-in directive ${key} needs a whole number in ${min}..${max}, got ${JSON.stringify(value ?? '')}`);
  return n;
};

/**
 * The directives in `text` and the text without them.
 * @throws StandInError (422) naming an unknown or malformed directive.
 * @example parseDirectives('Hi [[standin: tokens=5 refuse]]') // { text: 'Hi ', directives: { tokens: 5, refuse: true } }
 */
export function parseDirectives(text: string): { text: string; directives: StandInDirectives } {
  const directives: StandInDirectives = {};
  for (const match of text.matchAll(DIRECTIVE)) {
    for (const item of (match[1] ?? '').split(/[\s,;]+/).filter(Boolean)) {
      const [key = '', value] = item.split('=', 2);
      switch (key.toLowerCase()) {
        case 'tokens':
          directives.tokens = intIn(key, value, 1, 100_000);
          break;
        case 'echo':
          directives.echo = true;
          break;
        case 'refuse':
          directives.refuse = true;
          break;
        case 'latency':
          directives.latencyMs = intIn(key, value, 0, 120_000);
          break;
        case 'interval':
          directives.intervalMs = intIn(key, value, 0, 10_000);
          break;
        case 'error':
          directives.error = intIn(key, value, 400, 599);
          break;
        case 'fail-after':
          directives.failAfter = intIn(key, value, 0, 100_000);
          break;
        case 'stream-chunk':
          directives.streamChunk = intIn(key, value, 1, 65_536);
          break;
        default:
          throw new StandInError(
            422,
            `unknown stand-in directive ${JSON.stringify(key)} (known: tokens, echo, refuse, latency, interval, error, fail-after, stream-chunk)`,
          );
      }
    }
  }
  return { text: text.replace(DIRECTIVE, ''), directives };
}

/** 32-bit FNV-1a of a string's UTF-8 bytes. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** mulberry32: a small seeded generator of floats in [0, 1). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The last user turn of a TGI prompt rendered with ChatML, Llama 3 or Mistral; the whole prompt otherwise. */
export function lastUserTurn(prompt: string): string {
  const patterns = [
    /<\|im_start\|>user\n([\s\S]*?)<\|im_end\|>/g,
    /<\|start_header_id\|>user<\|end_header_id\|>\n\n([\s\S]*?)<\|eot_id\|>/g,
    /\[INST\]([\s\S]*?)\[\/INST\]/g,
  ];
  for (const pattern of patterns) {
    const turns = [...prompt.matchAll(pattern)];
    const last = turns.at(-1)?.[1];
    if (last !== undefined) return last.trim();
  }
  return prompt;
}

const WORDS = /[\p{L}\p{N}\p{M}][\p{L}\p{N}\p{M}'’-]*/gu;

/** A deterministic program that answers like a model would, in every wire format. */
export class StandIn {
  readonly name: string;
  readonly seed: string;
  readonly kind: 'generate' | 'embed';
  readonly contextTokens: number;
  readonly sleep: (ms: number) => Promise<void>;

  constructor(options: StandInOptions) {
    this.name = options.name;
    this.seed = options.seed ?? options.name;
    this.kind = options.kind ?? 'generate';
    this.contextTokens = options.contextTokens ?? 8192;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** What every reply says about who answered. */
  get metadata(): StandInMetadata {
    return { name: this.name, seed: this.seed, note: NOTE };
  }

  /** The SageMaker custom attributes of every reply (ASCII, as the header must be). */
  get customAttributes(): string {
    return `standin=${this.name}; seed=${this.seed}; not-a-model`;
  }

  /**
   * The reply to a chat request (before any latency or error directive is acted on: see {@link StandIn.act}).
   * @throws StandInError for an embedding-only stand-in (400), bad directives or an input over the context (422).
   */
  chat(input: StandInChat): StandInTurn {
    if (this.kind === 'embed') throw new StandInError(400, `${this.name} is an embedding stand-in (TEI): send { "inputs": [...] }`);
    const lastUser = input.messages
      ? ([...input.messages].reverse().find((message) => message.role === 'user')?.content ?? '')
      : lastUserTurn(input.prompt ?? '');
    const { text: source, directives } = parseDirectives(lastUser);
    const everything = input.messages ? input.messages.map((message) => message.content).join('\n') : (input.prompt ?? '');
    const promptTokens = lexicalWords(everything.replace(DIRECTIVE, '')).length;
    if (promptTokens + input.maxTokens > this.contextTokens) {
      throw new StandInError(
        422,
        `Input validation error: \`inputs\` tokens + \`max_new_tokens\` must be <= ${this.contextTokens}. Given: ${promptTokens} \`inputs\` tokens and ${input.maxTokens} \`max_new_tokens\``,
      );
    }
    let pieces: string[];
    let finish: StandInTurn['finish'] = 'stop';
    if (directives.refuse) {
      pieces = REFUSAL.split(' ').map((word, i) => (i === 0 ? word : ` ${word}`));
      finish = 'refusal';
    } else if (directives.echo) {
      pieces = source.match(/\s*\S+/g) ?? [];
    } else {
      pieces = this.#extract(source, directives.tokens);
    }
    if (finish !== 'refusal' && pieces.length > input.maxTokens) {
      pieces = pieces.slice(0, input.maxTokens);
      finish = 'length';
    }
    let text = pieces.join('');
    const stops = (input.stop ?? []).filter(Boolean);
    const cutAt = Math.min(...stops.map((stop) => text.indexOf(stop)).filter((index) => index >= 0));
    const stopSequence = Number.isFinite(cutAt);
    if (stopSequence) {
      text = text.slice(0, cutAt);
      const kept: string[] = [];
      let length = 0;
      for (const piece of pieces) {
        if (length >= text.length) break;
        kept.push(piece.slice(0, text.length - length));
        length += piece.length;
      }
      pieces = kept;
      finish = 'stop';
    }
    return { pieces, text, finish, promptTokens, stopSequence, directives };
  }

  /** Waits and fails as the directives say, before any output. */
  async act(directives: StandInDirectives): Promise<void> {
    if (directives.latencyMs) await this.sleep(directives.latencyMs);
    if (directives.error !== undefined) throw new StandInError(directives.error, `stand-in error on demand (HTTP ${directives.error})`);
  }

  /**
   * Embeddings of `inputs` (see the module comment).
   * @throws StandInError (413) for an input over 512 words when `truncate` is false.
   */
  embed(inputs: string[], truncate = true): number[][] {
    return inputs.map((input) => {
      const words = [...input.matchAll(WORDS)];
      if (words.length > MAX_EMBED_WORDS) {
        if (!truncate)
          throw new StandInError(
            413,
            `Input validation error: \`inputs\` must have less than ${MAX_EMBED_WORDS} tokens. Given: ${words.length}`,
          );
        const cut = words[MAX_EMBED_WORDS]?.index ?? input.length;
        return lexicalEmbedding(input.slice(0, cut));
      }
      return lexicalEmbedding(input);
    });
  }

  /** The default reply: seeded windows of the source's words (see the module comment). */
  #extract(source: string, tokens: number | undefined): string[] {
    const found = source.match(WORDS) ?? [];
    const words = found.length > 0 ? found : ['nothing', 'to', 'quote'];
    const random = seeded(fnv1a(`${this.seed}\u0000${source}`));
    const target = tokens ?? Math.min(64, Math.max(8, found.length));
    const out: string[] = [];
    while (out.length < target) {
      const length = Math.min(4 + Math.floor(random() * 6), target - out.length);
      const start = Math.floor(random() * words.length);
      const sentence = Array.from({ length }, (_, i) => words[(start + i) % words.length] ?? '');
      if (length > 2 && random() < 0.5) {
        const i = 1 + Math.floor(random() * (length - 2));
        [sentence[i], sentence[i + 1]] = [sentence[i + 1] ?? '', sentence[i] ?? ''];
      }
      sentence[0] = (sentence[0] ?? '').charAt(0).toUpperCase() + (sentence[0] ?? '').slice(1);
      sentence[length - 1] = `${sentence[length - 1]}.`;
      out.push(...sentence);
    }
    return out.map((word, i) => (i === 0 ? word : ` ${word}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Wire formats
// ---------------------------------------------------------------------------------------------

/** The request bodies a stand-in reads. */
export type StandInBody =
  | { kind: 'messages'; chat: StandInChat; includeUsage: boolean; json: Record<string, unknown> }
  | { kind: 'tgi'; chat: StandInChat; returnFullText: boolean }
  | { kind: 'tei'; inputs: string[]; truncate: boolean };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const stopsOf = (value: unknown): string[] | undefined =>
  typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined;
const positive = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;

/** A message list as chat servers accept it: role and string content. */
function messagesOf(value: unknown): ChatMessage[] {
  if (!Array.isArray(value)) throw new StandInError(422, '"messages" must be an array');
  return value.map((item, index) => {
    if (!isRecord(item) || !['system', 'user', 'assistant'].includes(String(item.role)) || typeof item.content !== 'string') {
      throw new StandInError(422, `messages[${index}] must be { role: system|user|assistant, content: string }`);
    }
    return { role: item.role as ChatMessage['role'], content: item.content };
  });
}

/**
 * Reads a SageMaker request body: Messages API, TGI, or TEI.
 * @throws StandInError (400 not JSON, 422 neither format).
 */
export function readStandInBody(raw: Buffer | string): StandInBody {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch {
    throw new StandInError(400, 'Request body is not valid JSON');
  }
  if (!isRecord(json)) throw new StandInError(422, 'Request body must be a JSON object');
  if (Array.isArray(json.messages)) {
    const streamOptions = isRecord(json.stream_options) ? json.stream_options : {};
    const chat: StandInChat = {
      messages: messagesOf(json.messages),
      maxTokens: positive(json.max_tokens ?? json.max_completion_tokens, 256),
    };
    const stop = stopsOf(json.stop);
    if (stop) chat.stop = stop;
    return { kind: 'messages', chat, includeUsage: streamOptions.include_usage === true, json };
  }
  if (Array.isArray(json.inputs)) {
    if (!json.inputs.every((item) => typeof item === 'string')) throw new StandInError(422, '"inputs" must be strings');
    return { kind: 'tei', inputs: json.inputs as string[], truncate: json.truncate !== false };
  }
  if (typeof json.inputs === 'string') {
    const parameters = isRecord(json.parameters) ? json.parameters : {};
    const chat: StandInChat = { prompt: json.inputs, maxTokens: positive(parameters.max_new_tokens, 100) };
    const stop = stopsOf(parameters.stop);
    if (stop) chat.stop = stop;
    return { kind: 'tgi', chat, returnFullText: parameters.return_full_text === true };
  }
  throw new StandInError(422, 'Request body must have "messages" (Messages API), a string "inputs" (TGI) or an array "inputs" (TEI)');
}

const openAiFinish = (finish: StandInTurn['finish']) => (finish === 'refusal' ? 'content_filter' : finish);
const tgiFinish = (turn: StandInTurn) => (turn.finish === 'length' ? 'length' : turn.stopSequence ? 'stop_sequence' : 'eos_token');

/** A chat completion (Messages API / OpenAI) of a turn. */
export function completionJson(standIn: StandIn, turn: StandInTurn, id: string): Record<string, unknown> {
  const refused = turn.finish === 'refusal';
  return {
    id,
    object: 'chat.completion',
    created: 0,
    model: standIn.name,
    system_fingerprint: 'standin',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: refused ? null : turn.text, ...(refused ? { refusal: turn.text } : {}) },
        finish_reason: openAiFinish(turn.finish),
      },
    ],
    usage: {
      prompt_tokens: turn.promptTokens,
      completion_tokens: turn.pieces.length,
      total_tokens: turn.promptTokens + turn.pieces.length,
    },
    standin: standIn.metadata,
  };
}

/** The SSE events of a streamed completion (Messages API / OpenAI), `data: [DONE]` last. */
export function completionEvents(standIn: StandIn, turn: StandInTurn, id: string, includeUsage: boolean): string[] {
  const refused = turn.finish === 'refusal';
  const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model: standIn.name, system_fingerprint: 'standin', choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
  const events = [chunk({ role: 'assistant', content: '' }, null, { standin: standIn.metadata })];
  for (const piece of turn.pieces) events.push(chunk(refused ? { refusal: piece } : { content: piece }, null));
  events.push(chunk({}, openAiFinish(turn.finish)));
  if (includeUsage) {
    const usage = {
      prompt_tokens: turn.promptTokens,
      completion_tokens: turn.pieces.length,
      total_tokens: turn.promptTokens + turn.pieces.length,
    };
    events.push(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model: standIn.name, choices: [], usage })}\n\n`,
    );
  }
  events.push('data: [DONE]\n\n');
  return events;
}

/** TGI's reply of a turn: `[{ generated_text, details }]`. */
export function tgiJson(standIn: StandIn, turn: StandInTurn, prompt: string, returnFullText: boolean): unknown[] {
  return [
    {
      generated_text: returnFullText ? prompt + turn.text : turn.text,
      details: { finish_reason: tgiFinish(turn), generated_tokens: turn.pieces.length, seed: null },
      standin: standIn.metadata,
    },
  ];
}

/** TGI's SSE events of a turn: one per token; the last also carries `generated_text` and `details`. */
export function tgiEvents(standIn: StandIn, turn: StandInTurn): string[] {
  const pieces = turn.pieces.length > 0 ? turn.pieces : [''];
  return pieces.map((piece, index) => {
    const last = index === pieces.length - 1;
    const event = {
      index: index + 1,
      token: { id: index, text: piece, logprob: 0, special: false },
      generated_text: last ? turn.text : null,
      details: last ? { finish_reason: tgiFinish(turn), generated_tokens: turn.pieces.length, seed: null } : null,
      ...(index === 0 ? { standin: standIn.metadata } : {}),
    };
    return `data:${JSON.stringify(event)}\n\n`;
  });
}

/**
 * Yields `events` as bytes: one part per event, or `chunk`-byte parts when set; waits `intervalMs`
 * between events; fails (a plain error, a `ModelStreamError` through SageMaker) after `failAfter` events.
 */
export async function* streamParts(standIn: StandIn, events: string[], directives: StandInDirectives): AsyncGenerator<Buffer> {
  let pending = Buffer.alloc(0);
  for (let index = 0; index < events.length; index += 1) {
    if (directives.failAfter !== undefined && index >= directives.failAfter) {
      if (pending.length > 0) yield pending;
      throw new StandInError(500, `stand-in failure on demand after ${directives.failAfter} events`);
    }
    if (index > 0 && directives.intervalMs) await standIn.sleep(directives.intervalMs);
    const bytes = Buffer.from(events[index] ?? '', 'utf8');
    if (!directives.streamChunk) {
      yield bytes;
      continue;
    }
    pending = Buffer.concat([pending, bytes]);
    while (pending.length >= directives.streamChunk) {
      yield pending.subarray(0, directives.streamChunk);
      pending = pending.subarray(directives.streamChunk);
    }
  }
  if (pending.length > 0) yield pending;
}

/** A stable id for a reply: the stand-in and the body. */
const replyId = (standIn: StandIn, body: Buffer | string) =>
  `chatcmpl-standin-${fnv1a(`${standIn.name}\u0000${body.toString()}`).toString(16).padStart(8, '0')}`;

/**
 * The stand-in behind a local SageMaker endpoint (the runtime's {@link ModelBackend} port): Messages
 * API, TGI and TEI bodies, by shape. Whether it streams is decided by the operation, as for the
 * local runtime's other backends. Failures before output are `ModelBackendError`s (hence `ModelError`).
 */
export function standInBackend(standIn: StandIn): ModelBackend {
  return {
    async invoke(req: ModelRequest): Promise<ModelReply> {
      const body = readStandInBody(req.body);
      const reply = (json: unknown): ModelReply => ({
        body: Buffer.from(JSON.stringify(json), 'utf8'),
        contentType: 'application/json',
        customAttributes: standIn.customAttributes,
      });
      if (body.kind === 'tei') return reply(standIn.embed(body.inputs, body.truncate));
      const turn = standIn.chat(body.chat);
      await standIn.act(turn.directives);
      if (body.kind === 'messages') return reply(completionJson(standIn, turn, replyId(standIn, req.body)));
      return reply(tgiJson(standIn, turn, body.chat.prompt ?? '', body.returnFullText));
    },
    async stream(req: ModelRequest): Promise<ModelStreamReply> {
      const body = readStandInBody(req.body);
      if (body.kind === 'tei') {
        const vectors = Buffer.from(JSON.stringify(standIn.embed(body.inputs, body.truncate)), 'utf8');
        return {
          contentType: 'application/json',
          customAttributes: standIn.customAttributes,
          parts: (async function* () {
            yield vectors;
          })(),
        };
      }
      const turn = standIn.chat(body.chat);
      await standIn.act(turn.directives);
      const events =
        body.kind === 'messages'
          ? completionEvents(standIn, turn, replyId(standIn, req.body), body.includeUsage)
          : tgiEvents(standIn, turn);
      return {
        contentType: 'text/event-stream',
        customAttributes: standIn.customAttributes,
        parts: streamParts(standIn, events, turn.directives),
      };
    },
  };
}

/** The stand-ins the local cloud serves by default, by endpoint (and model) name. */
export function defaultStandIns(): Record<string, StandIn> {
  return {
    'standin-a': new StandIn({ name: 'standin-a', seed: 'a' }),
    'standin-b': new StandIn({ name: 'standin-b', seed: 'b' }),
    'standin-tgi': new StandIn({ name: 'standin-tgi', seed: 'tgi', contextTokens: 4096 }),
    'standin-embed': new StandIn({ name: 'standin-embed', kind: 'embed', contextTokens: 512 }),
  };
}
