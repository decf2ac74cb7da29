/**
 * Model backends for the local SageMaker runtime (`SageMakerRuntimeService` in `./runtime.ts`):
 * - {@link openAiCompatibleBackend}: a real proxy to an OpenAI-compatible server (vLLM, Ollama,
 *   llama.cpp server, …), playing the part of an LLM container behind a SageMaker endpoint;
 * - {@link echoBackend}: a fixed, deterministic stand-in for wire-protocol tests. It is not a model.
 */
import type { ModelBackend, ModelReply, ModelRequest, ModelStreamReply } from './runtime.ts';
import { ModelBackendError } from './runtime.ts';

/** Options of {@link openAiCompatibleBackend}. */
export interface OpenAiCompatibleBackendOptions {
  /**
   * The server's base URL, with or without the `/v1` suffix: `http://127.0.0.1:8000` (vLLM),
   * `http://127.0.0.1:11434` (Ollama).
   */
  baseUrl: string;
  /** Model name sent upstream; it replaces any `model` in the caller's body (an endpoint serves one model). */
  model: string;
  /** Sent as `Authorization: Bearer <apiKey>` when set. */
  apiKey?: string;
  /**
   * How long the server may take to answer (the whole body for `invoke`, the first byte for
   * `stream`). Defaults to 60 s, the time SageMaker gives a container to respond to an invocation.
   */
  timeoutMs?: number;
}

/** The message AWS gives when a container does not answer in time (reported with status 0). */
const TIMEOUT_MESSAGE =
  'Your invocation timed out while waiting for a response from container primary. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.';

/** TGI's `max_new_tokens` default; OpenAI-compatible servers default far lower (vLLM: 16) for completions. */
const TGI_DEFAULT_MAX_NEW_TOKENS = 100;

/** A parsed caller body: OpenAI chat ("Messages API") or Hugging Face TGI text generation. */
type CallerBody =
  | { kind: 'chat'; json: Record<string, unknown> }
  | { kind: 'tgi'; prompt: string; parameters: Record<string, unknown> };

/**
 * A backend that forwards each invocation to an OpenAI-compatible HTTP server, accepting the two
 * JSON bodies LLM containers on SageMaker accept:
 *
 * - OpenAI chat (`{ "messages": [...], ... }`, the "Messages API" of the TGI and LMI containers):
 *   sent to `POST /v1/chat/completions` with `model` replaced; the server's JSON (or, streaming,
 *   its SSE events, one event per `PayloadPart`, `data: [DONE]` included) is returned verbatim
 *   with content type `application/json` / `text/event-stream`.
 * - TGI text generation (`{ "inputs": "...", "parameters": {...} }`): sent to
 *   `POST /v1/completions` as a raw prompt (no chat template, as TGI does), mapping
 *   `max_new_tokens`→`max_tokens` (default 100), `temperature`, `top_p`, `stop`, `seed`, and
 *   greedy decoding (temperature 0) unless `do_sample` or `temperature` is given. The reply is
 *   TGI's `[{ "generated_text": ... }]` (prompt prepended if `return_full_text`); streaming yields
 *   TGI-style SSE events `data:{"token":{"text":...,"special":false},"generated_text":null,...}`
 *   and a last event carrying the full `generated_text`. Token ids, log-probabilities, `details`
 *   and the other TGI parameters (`top_k`, `repetition_penalty`, …) are not reproduced.
 *
 * Whether a call streams is decided by the operation (`invoke` never streams, `stream` always
 * does), not by a `stream` field in the body. Upstream non-2xx answers become
 * {@link ModelBackendError} (hence `ModelError` with the server's status and text); a timeout
 * becomes status 0 with AWS's timeout wording; an unreachable server is a plain error (`ModelError`
 * with status 500).
 */
export function openAiCompatibleBackend(options: OpenAiCompatibleBackendOptions): ModelBackend {
  const base = options.baseUrl.replace(/\/+$/, '');
  const apiBase = base.endsWith('/v1') ? base : `${base}/v1`;
  const timeoutMs = options.timeoutMs ?? 60_000;

  /** POSTs one upstream request; the caller clears `timer` once it has what the timeout guards. */
  const post = async (path: string, body: unknown, signal: AbortSignal): Promise<Response> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    let response: Response;
    try {
      response = await fetch(`${apiBase}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal });
    } catch (error) {
      throw upstreamFailure(error, signal, `${apiBase}${path}`);
    }
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw new ModelBackendError(response.status, text || response.statusText);
    }
    return response;
  };

  const upstreamRequest = (caller: CallerBody, stream: boolean): { path: string; body: Record<string, unknown> } => {
    if (caller.kind === 'chat') return { path: '/chat/completions', body: { ...caller.json, model: options.model, stream } };
    const p = caller.parameters;
    const body: Record<string, unknown> = {
      model: options.model,
      prompt: caller.prompt,
      stream,
      max_tokens: p.max_new_tokens ?? TGI_DEFAULT_MAX_NEW_TOKENS,
      // TGI decodes greedily unless sampling is asked for; OpenAI servers sample at temperature 1 by default.
      temperature: p.temperature ?? (p.do_sample === true ? undefined : 0),
      top_p: p.top_p,
      stop: p.stop,
      seed: p.seed,
    };
    for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
    return { path: '/completions', body };
  };

  return {
    async invoke(req: ModelRequest): Promise<ModelReply> {
      const caller = parseCallerBody(req);
      const { path, body } = upstreamRequest(caller, false);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        const response = await post(path, body, controller.signal);
        let text: string;
        try {
          text = await response.text();
        } catch (error) {
          throw upstreamFailure(error, controller.signal, `${apiBase}${path}`);
        }
        if (caller.kind === 'chat') {
          return { body: Buffer.from(text, 'utf8'), contentType: response.headers.get('content-type') ?? 'application/json' };
        }
        const completion = parseJson(text, 'completion response') as { choices?: { text?: unknown }[] };
        const generated = typeof completion.choices?.[0]?.text === 'string' ? completion.choices[0].text : '';
        const full = caller.parameters.return_full_text === true ? caller.prompt + generated : generated;
        return { body: Buffer.from(JSON.stringify([{ generated_text: full }]), 'utf8'), contentType: 'application/json' };
      } finally {
        clearTimeout(timer);
      }
    },

    async stream(req: ModelRequest): Promise<ModelStreamReply> {
      const caller = parseCallerBody(req);
      const { path, body } = upstreamRequest(caller, true);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      let response: Response;
      try {
        response = await post(path, body, controller.signal);
      } finally {
        // Only the wait for the first byte is bounded: a long generation is not a hung container.
        clearTimeout(timer);
      }
      const events = sseEvents(response, controller);
      return {
        contentType: 'text/event-stream',
        parts: caller.kind === 'chat' ? passThrough(events) : tgiEvents(events, caller),
      };
    },
  };
}

/** Options of {@link echoBackend}. */
export interface EchoBackendOptions {
  /** Into how many `PayloadPart`s a streamed echo is cut (default 3; fewer if the body is shorter). */
  parts?: number;
}

/**
 * A deterministic built-in endpoint for wire-protocol tests. It is NOT a model and infers nothing:
 * it answers with the request body, content type and custom attributes unchanged, and streams the
 * same body cut into several parts. It exists so the SageMaker runtime protocol (headers, errors,
 * event-stream framing) can be exercised end to end without a GPU or a model server.
 */
export function echoBackend(options: EchoBackendOptions = {}): ModelBackend {
  const partCount = Math.max(1, Math.floor(options.parts ?? 3));
  return {
    async invoke(req: ModelRequest): Promise<ModelReply> {
      const reply: ModelReply = { body: Buffer.from(req.body), contentType: req.contentType };
      if (req.customAttributes !== undefined) reply.customAttributes = req.customAttributes;
      return reply;
    },
    async stream(req: ModelRequest): Promise<ModelStreamReply> {
      const reply: ModelStreamReply = { contentType: req.contentType, parts: slices(Buffer.from(req.body), partCount) };
      if (req.customAttributes !== undefined) reply.customAttributes = req.customAttributes;
      return reply;
    },
  };
}

async function* slices(body: Buffer, count: number): AsyncIterable<Buffer> {
  const size = Math.max(1, Math.ceil(body.length / count));
  for (let offset = 0; offset < body.length; offset += size) yield body.subarray(offset, offset + size);
}

/** Parses the caller's JSON; a body no LLM container would accept is the container's 4xx. */
function parseCallerBody(req: ModelRequest): CallerBody {
  let json: unknown;
  try {
    json = JSON.parse(req.body.toString('utf8'));
  } catch {
    throw new ModelBackendError(400, 'Request body is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelBackendError(422, 'Request body must be a JSON object');
  }
  const record = json as Record<string, unknown>;
  if (Array.isArray(record.messages)) return { kind: 'chat', json: record };
  if (typeof record.inputs === 'string') {
    const parameters = record.parameters;
    return {
      kind: 'tgi',
      prompt: record.inputs,
      parameters: typeof parameters === 'object' && parameters !== null && !Array.isArray(parameters) ? (parameters as Record<string, unknown>) : {},
    };
  }
  throw new ModelBackendError(422, `Request body must have "messages" (OpenAI chat) or a string "inputs" (TGI text generation)`);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`The OpenAI-compatible server sent a ${what} that is not JSON: ${text.slice(0, 200)}`);
  }
}

/** Maps a failed fetch to a timeout {@link ModelBackendError} or a descriptive plain error. */
function upstreamFailure(error: unknown, signal: AbortSignal, url: string): Error {
  if (signal.aborted) return new ModelBackendError(0, TIMEOUT_MESSAGE);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return new Error(`OpenAI-compatible server at ${url} failed: ${error instanceof Error ? error.message : String(error)}${cause}`);
}

/**
 * Splits an SSE response into complete events (without their blank-line terminator). Closing the
 * iteration early aborts the upstream request, so a client that hangs up stops the generation.
 */
async function* sseEvents(response: Response, controller: AbortController): AsyncIterable<string> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  let finished = false;
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let boundary = /\r?\n\r?\n/.exec(buffer); boundary; boundary = /\r?\n\r?\n/.exec(buffer)) {
        const event = buffer.slice(0, boundary.index);
        buffer = buffer.slice(boundary.index + boundary[0].length);
        if (event.trim() !== '') yield event;
      }
    }
    buffer += decoder.decode();
    if (buffer.trim() !== '') yield buffer.replace(/\r?\n$/, '');
    finished = true;
  } finally {
    if (!finished) controller.abort();
  }
}

/** The `data:` payload of one SSE event (multi-line data joined by newlines), or undefined. */
function sseData(event: string): string | undefined {
  const lines = event
    .split(/\r?\n/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).replace(/^ /, ''));
  return lines.length > 0 ? lines.join('\n') : undefined;
}

/** Chat streaming: each upstream SSE event becomes one part, as the server wrote it. */
async function* passThrough(events: AsyncIterable<string>): AsyncIterable<Buffer> {
  for await (const event of events) yield Buffer.from(`${event}\n\n`, 'utf8');
}

/** TGI streaming: completion chunks re-worded as TGI token events, then the full text. */
async function* tgiEvents(events: AsyncIterable<string>, caller: Extract<CallerBody, { kind: 'tgi' }>): AsyncIterable<Buffer> {
  let generated = '';
  const frame = (value: unknown): Buffer => Buffer.from(`data:${JSON.stringify(value)}\n\n`, 'utf8');
  for await (const event of events) {
    const data = sseData(event);
    if (data === undefined) continue;
    if (data.trim() === '[DONE]') break;
    const chunk = parseJson(data, 'stream event') as { choices?: { text?: unknown }[]; error?: unknown };
    if (chunk.error !== undefined) throw new Error(`The OpenAI-compatible server failed mid-stream: ${JSON.stringify(chunk.error)}`);
    const text = chunk.choices?.[0]?.text;
    if (typeof text !== 'string' || text === '') continue;
    generated += text;
    yield frame({ token: { text, special: false }, generated_text: null, details: null });
  }
  const full = caller.parameters.return_full_text === true ? caller.prompt + generated : generated;
  yield frame({ token: { text: '', special: true }, generated_text: full, details: null });
}
