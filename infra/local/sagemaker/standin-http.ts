/**
 * The local stand-ins (./standin.ts) over the HTTP APIs of model servers, so the gateway's
 * OpenAI-compatible and Ollama backends have a real server to talk to on this machine:
 *
 * - OpenAI-compatible: `POST /v1/chat/completions` (JSON, or SSE when `stream: true`),
 *   `POST /v1/embeddings`, `GET /v1/models`;
 * - Ollama: `POST /api/chat` (NDJSON stream unless `stream: false`, as Ollama), `POST /api/embed`,
 *   `GET /api/tags`.
 *
 * The body's `model` names the stand-in (`standin-a`, …); an unknown one is a 404 worded as each
 * server words it. With `apiKey` set, OpenAI routes want `Authorization: Bearer <apiKey>` (401
 * otherwise). Failures after the first byte go in-band (an SSE `data: {"error": …}` event, an NDJSON
 * `{"error": …}` line) and end the response, as vLLM and Ollama do.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { completionEvents, completionJson, type StandIn, type StandInChat, StandInError, streamParts } from './standin.ts';

/** Options of {@link StandInHttpService}. */
export interface StandInHttpOptions {
  /** The stand-ins by model name. */
  standIns: Record<string, StandIn>;
  /** When set, OpenAI routes require this bearer token. */
  apiKey?: string;
  log?: (line: string) => void;
}

const ROUTES = new Set([
  'POST /v1/chat/completions',
  'POST /v1/embeddings',
  'GET /v1/models',
  'POST /api/chat',
  'POST /api/embed',
  'GET /api/tags',
]);

class HttpFailure extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Serves the stand-ins over the OpenAI-compatible and Ollama APIs. */
export class StandInHttpService {
  readonly #options: StandInHttpOptions;
  #sequence = 0;

  constructor(options: StandInHttpOptions) {
    this.#options = options;
  }

  /** Serves one request if it is one of the routes above; returns false otherwise (for the next service). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = `${req.method} ${path}`;
    if (!ROUTES.has(route)) return false;
    const ollama = path.startsWith('/api/');
    try {
      if (!ollama && this.#options.apiKey !== undefined && req.headers.authorization !== `Bearer ${this.#options.apiKey}`) {
        throw new HttpFailure(401, 'Incorrect API key provided');
      }
      if (req.method === 'GET') {
        const names = Object.keys(this.#options.standIns);
        const body = ollama
          ? { models: names.map((name) => ({ name, model: name, details: { family: 'standin' } })) }
          : { object: 'list', data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'autonomy-standin' })) };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        return true;
      }
      const json = await readJson(req);
      const model = typeof json.model === 'string' ? json.model : '';
      const standIn = this.#options.standIns[model];
      if (!standIn)
        throw new HttpFailure(404, ollama ? `model "${model}" not found, try pulling it first` : `The model \`${model}\` does not exist`);
      if (path === '/v1/embeddings' || path === '/api/embed') {
        const input =
          typeof json.input === 'string'
            ? [json.input]
            : Array.isArray(json.input) && json.input.every((item) => typeof item === 'string')
              ? (json.input as string[])
              : undefined;
        if (!input) throw new HttpFailure(400, '"input" must be a string or an array of strings');
        const vectors = standIn.embed(input, json.truncate !== false);
        const body = ollama
          ? { model, embeddings: vectors, standin: standIn.metadata }
          : {
              object: 'list',
              model,
              data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
              usage: { prompt_tokens: 0, total_tokens: 0 },
              standin: standIn.metadata,
            };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        return true;
      }
      await (ollama ? this.#ollamaChat(standIn, json, res) : this.#openAiChat(standIn, json, res));
    } catch (error) {
      this.#fail(res, error, ollama);
    }
    return true;
  }

  async #openAiChat(standIn: StandIn, json: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const chat = chatOf(json, json.max_tokens ?? json.max_completion_tokens, json.stop);
    const turn = standIn.chat(chat);
    await standIn.act(turn.directives);
    this.#sequence += 1;
    const id = `chatcmpl-standin-${this.#sequence}`;
    if (json.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completionJson(standIn, turn, id)));
      return;
    }
    const includeUsage = isRecord(json.stream_options) && json.stream_options.include_usage === true;
    await this.#pipe(
      res,
      'text/event-stream',
      streamParts(standIn, completionEvents(standIn, turn, id, includeUsage), turn.directives),
      (message) => `data: ${JSON.stringify({ error: { message, type: 'server_error' } })}\n\n`,
    );
  }

  async #ollamaChat(standIn: StandIn, json: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const options = isRecord(json.options) ? json.options : {};
    const chat = chatOf(json, options.num_predict, options.stop);
    const turn = standIn.chat(chat);
    await standIn.act(turn.directives);
    const doneReason = turn.finish === 'length' ? 'length' : 'stop';
    const final = {
      model: standIn.name,
      created_at: '1970-01-01T00:00:00Z',
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: doneReason,
      prompt_eval_count: turn.promptTokens,
      eval_count: turn.pieces.length,
      standin: standIn.metadata,
    };
    if (json.stream === false) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ...final, message: { role: 'assistant', content: turn.text } }));
      return;
    }
    const lines = turn.pieces.map(
      (piece) =>
        `${JSON.stringify({ model: standIn.name, created_at: '1970-01-01T00:00:00Z', message: { role: 'assistant', content: piece }, done: false })}\n`,
    );
    lines.push(`${JSON.stringify(final)}\n`);
    await this.#pipe(
      res,
      'application/x-ndjson',
      streamParts(standIn, lines, turn.directives),
      (message) => `${JSON.stringify({ error: message })}\n`,
    );
  }

  /** Writes the parts as they come; a failure after the headers goes in-band; a client that leaves stops the stand-in. */
  async #pipe(res: ServerResponse, contentType: string, parts: AsyncGenerator<Buffer>, inBand: (message: string) => string): Promise<void> {
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache' });
    let gone = false;
    res.once('close', () => {
      if (!res.writableFinished) gone = true;
    });
    try {
      for await (const part of parts) {
        if (gone) break;
        if (!res.write(part)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
      }
    } catch (error) {
      if (!gone) res.write(inBand(error instanceof StandInError ? error.originalMessage : 'stand-in failed'));
    }
    res.end();
  }

  #fail(res: ServerResponse, error: unknown, ollama: boolean): void {
    const status = error instanceof HttpFailure ? error.status : error instanceof StandInError ? error.statusCode : 500;
    const message =
      error instanceof StandInError ? error.originalMessage : error instanceof HttpFailure ? error.message : 'stand-in failed';
    if (!(error instanceof HttpFailure || error instanceof StandInError))
      this.#options.log?.(`[standin-http] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = ollama
      ? { error: message }
      : {
          error: {
            message,
            type: status === 401 ? 'invalid_request_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
            code: status === 404 ? 'model_not_found' : null,
          },
        };
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}

/** A chat request of the OpenAI or Ollama APIs. */
function chatOf(json: Record<string, unknown>, maxTokens: unknown, stop: unknown): StandInChat {
  if (!Array.isArray(json.messages)) throw new HttpFailure(400, '"messages" must be an array');
  const messages = json.messages.map((item, index) => {
    if (!isRecord(item) || !['system', 'user', 'assistant'].includes(String(item.role)) || typeof item.content !== 'string') {
      throw new HttpFailure(400, `messages[${index}] must be { role: system|user|assistant, content: string }`);
    }
    return { role: item.role as 'system' | 'user' | 'assistant', content: item.content };
  });
  const chat: StandInChat = {
    messages,
    maxTokens: typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens > 0 ? maxTokens : 256,
  };
  const stops =
    typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop.filter((item): item is string => typeof item === 'string') : [];
  if (stops.length > 0) chat.stop = stops;
  return chat;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 8 * 1024 * 1024) throw new HttpFailure(413, 'request body over 8 MiB');
    chunks.push(chunk as Buffer);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpFailure(400, 'request body is not valid JSON');
  }
  if (!isRecord(json)) throw new HttpFailure(400, 'request body must be a JSON object');
  return json;
}
