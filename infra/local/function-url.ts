/**
 * Lambda function URLs on the local cloud: each `AWS::Lambda::Url` of the template is served on the
 * gateway port under `/lambda-url/<function name>/` (on AWS, `https://<url-id>.lambda-url.<region>.on.aws/`),
 * the path after the prefix being the path the function sees. Requests become payload v2.0 events as
 * on AWS (AuthType NONE: no authorizer; the function authenticates).
 *
 * - `BUFFERED`: the function is invoked and its reply read as payload v2 (statusCode, headers, body).
 * - `RESPONSE_STREAM`: the function is invoked for a stream (a handler wrapped by
 *   `awslambda.streamifyResponse`, infra/local/lambda/worker.ts): its bytes go to the client as they
 *   are written, chunked. Once the handler used
 *   `awslambda.HttpResponseStream.from`, the bytes before the first 8 null bytes are the JSON prelude
 *   `{ statusCode, headers, cookies }`, sent as the reply's status and headers; otherwise the reply is
 *   200 with the stream's content type. A client that disconnects aborts the invocation's stream (the
 *   handler sees `close`). A function error before any byte is a 502; after, the connection is cut
 *   (on AWS the error goes into trailers the client does not see as a status).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { payloadV2Event, payloadV2Reply, readBody } from './http-api.ts';
import type { InvokeResult, ResponseStreamSink } from './lambda/runtime.ts';

/** The prefix of function URL paths on the gateway port. */
export const FUNCTION_URL_PREFIX = '/lambda-url/';

const METADATA_PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = Buffer.alloc(8);

/** A function URL's invoke mode. */
export type InvokeMode = 'BUFFERED' | 'RESPONSE_STREAM';

/** What the function URL service invokes with (the local Lambda runtime). */
export interface FunctionUrlInvoker {
  invoke(name: string, event: unknown): Promise<InvokeResult>;
  invokeStreaming(name: string, event: unknown, sink: ResponseStreamSink, signal?: AbortSignal): Promise<InvokeResult>;
}

/** Options of {@link FunctionUrls}. */
export interface FunctionUrlsOptions {
  /** `http://127.0.0.1:<gateway port>`. */
  baseUrl: string;
  accountId: string;
  invoker: FunctionUrlInvoker;
  log: (line: string) => void;
}

/**
 * Reads a streamed invocation's bytes into an HTTP reply: the prelude (when there is one) as status
 * and headers, the rest as chunks as they come.
 */
export class StreamedReply implements ResponseStreamSink {
  readonly #res: ServerResponse;
  #pending: Buffer | undefined = Buffer.alloc(0);
  #started = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  /** Whether the status and headers went out. */
  get started(): boolean {
    return this.#started;
  }

  write(chunk: Buffer, contentType: string): void {
    if (this.#res.destroyed || this.#res.writableEnded) return;
    if (this.#started) {
      this.#res.write(chunk);
      return;
    }
    if (contentType !== METADATA_PRELUDE_CONTENT_TYPE) {
      this.#start(200, { 'content-type': contentType });
      this.#res.write(chunk);
      return;
    }
    const pending = Buffer.concat([this.#pending ?? Buffer.alloc(0), chunk]);
    const at = pending.indexOf(DELIMITER);
    if (at === -1) {
      this.#pending = pending;
      return;
    }
    let metadata: { statusCode?: unknown; headers?: unknown; cookies?: unknown };
    try {
      metadata = JSON.parse(pending.subarray(0, at).toString('utf8')) as typeof metadata;
    } catch {
      this.#start(502, { 'content-type': 'application/json' });
      this.#res.end(JSON.stringify({ message: 'The function wrote a malformed response prelude' }));
      return;
    }
    const status = typeof metadata.statusCode === 'number' ? metadata.statusCode : 200;
    const headers = metadata.headers !== null && typeof metadata.headers === 'object' ? (metadata.headers as Record<string, string>) : {};
    if (Array.isArray(metadata.cookies) && metadata.cookies.length > 0) this.#res.setHeader('set-cookie', metadata.cookies.map(String));
    this.#start(status, headers);
    const rest = pending.subarray(at + DELIMITER.length);
    if (rest.length > 0) this.#res.write(rest);
  }

  end(contentType: string): void {
    if (this.#res.destroyed || this.#res.writableEnded) return;
    // Ended before any byte (or inside the prelude): the status the prelude would have given, or 200.
    if (!this.#started) this.#start(200, contentType === METADATA_PRELUDE_CONTENT_TYPE ? {} : { 'content-type': contentType });
    this.#res.end();
  }

  #start(status: number, headers: Record<string, string>): void {
    this.#started = true;
    this.#pending = undefined;
    this.#res.writeHead(status, headers);
    // Headers now: the client sees the status before the first body byte.
    this.#res.flushHeaders();
  }
}

/** The function URLs of the deployed template (see the module comment). */
export class FunctionUrls {
  readonly #options: FunctionUrlsOptions;
  readonly #served = new Map<string, { mode: InvokeMode; target: string }>();

  constructor(options: FunctionUrlsOptions) {
    this.#options = options;
  }

  /** Serves `functionName` at its URL, invoking `target` (an ARN with its alias or version, or the name); returns the URL. */
  add(functionName: string, mode: InvokeMode, target: string = functionName): string {
    this.#served.set(functionName, { mode, target });
    return this.url(functionName);
  }

  /** The URL of a function's function URL. */
  url(functionName: string): string {
    return `${this.#options.baseUrl}${FUNCTION_URL_PREFIX}${encodeURIComponent(functionName)}/`;
  }

  /** Function name → invoke mode, for the start-up banner. */
  list(): Map<string, InvokeMode> {
    return new Map([...this.#served].map(([name, served]) => [name, served.mode]));
  }

  /** Serves a request under {@link FUNCTION_URL_PREFIX}; false for any other path. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (!path.startsWith(FUNCTION_URL_PREFIX)) return false;
    const started = Date.now();
    const rest = path.slice(FUNCTION_URL_PREFIX.length);
    const slash = rest.indexOf('/');
    const functionName = decodeURIComponent(slash === -1 ? rest : rest.slice(0, slash));
    const rawPath = slash === -1 ? '/' : rest.slice(slash);
    const served = this.#served.get(functionName);
    const log = (status: number | string) =>
      this.#options.log(`${req.method} ${FUNCTION_URL_PREFIX}${functionName}${rawPath} → ${status} (${Date.now() - started} ms)`);
    if (!served) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ Message: `No function URL for ${functionName}` }));
      log(404);
      return true;
    }
    const read = await readBody(req);
    if (!('body' in read)) {
      res
        .writeHead(413, { 'content-type': 'application/json', connection: 'close' })
        .end(JSON.stringify({ Message: 'Request Entity Too Large' }));
      log(413);
      return true;
    }
    const requestId = randomUUID();
    const event = payloadV2Event(req, read.body, {
      routeKey: '$default',
      apiId: functionName
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '')
        .slice(0, 32),
      accountId: this.#options.accountId,
      requestId,
      rawPath,
    });
    const amzn = { 'x-amzn-requestid': requestId };
    if (served.mode === 'BUFFERED') {
      const result = await this.#options.invoker.invoke(served.target, event);
      if (!result.ok) {
        this.#options.log(`${functionName}: ${result.error.errorType}: ${result.error.errorMessage}`);
        res.writeHead(502, { 'content-type': 'application/json', ...amzn }).end(JSON.stringify({ Message: 'Internal Server Error' }));
        log(502);
        return true;
      }
      const reply = payloadV2Reply(result.payload);
      if (reply.cookies) res.setHeader('set-cookie', reply.cookies);
      res.writeHead(reply.statusCode, { 'content-type': 'application/json', ...reply.headers, ...amzn }).end(reply.body);
      log(reply.statusCode);
      return true;
    }
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    res.setHeader('x-amzn-requestid', requestId);
    const reply = new StreamedReply(res);
    const result = await this.#options.invoker.invokeStreaming(served.target, event, reply, gone.signal);
    if (gone.signal.aborted) {
      log('client closed');
      return true;
    }
    if (!result.ok) {
      this.#options.log(`${functionName}: ${result.error.errorType}: ${result.error.errorMessage}`);
      if (reply.started) res.destroy();
      else res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ Message: 'Internal Server Error' }));
      log(reply.started ? 'cut' : 502);
      return true;
    }
    // A handler that was not streamified answers with its payload, read as a buffered reply.
    if (!reply.started && !res.writableEnded) {
      const buffered = payloadV2Reply(result.payload);
      res.writeHead(buffered.statusCode, { 'content-type': 'application/json', ...buffered.headers }).end(buffered.body);
    }
    log(res.statusCode);
    return true;
  }
}
