/**
 * One Lambda execution environment: a worker thread with the function's own environment, which
 * loads the handler module once (the cold start) and runs one invocation at a time.
 *
 * Response streaming as the Node.js runtime does it: the `awslambda` global is there before the
 * handler module loads (`streamifyResponse` marks a handler, `HttpResponseStream.from` adds the
 * function URL prelude: the JSON metadata, then 8 null bytes, before the first body byte). A marked
 * handler invoked for a stream is called `(event, responseStream, context)`; what it writes goes to
 * the runtime as it is written (`chunk` messages, then `end`), and a client that disconnects destroys
 * the stream (`abort`), so the handler sees `close` and `error`.
 */
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

interface InvokeMessage {
  id: string;
  event: unknown;
  context: { functionName: string; functionVersion: string; awsRequestId: string; deadlineMs: number; invokedFunctionArn: string; memoryLimitInMB: string; logGroupName: string };
  /** Invoked for a streamed reply (a function URL in RESPONSE_STREAM mode). */
  stream?: boolean;
}

/** The client of a streamed invocation went away. */
interface AbortMessage {
  type: 'abort';
  id: string;
}

type Handler = ((event: unknown, context: unknown) => unknown) & { [HANDLER_STREAMING]?: string };
type StreamingHandler = (event: unknown, responseStream: LocalResponseStream, context: unknown) => unknown;

const { file, exportName } = workerData as { file: string; exportName: string };

const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const STREAM_RESPONSE = 'response';
const METADATA_PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER_LEN = 8;

/**
 * The response stream a streaming handler writes to, with the Node.js runtime's behaviour: content
 * type settable until the first write (default `application/octet-stream`), `_onBeforeFirstWrite`
 * run before the first byte, non-binary chunks written as JSON, each write passed on at once.
 */
class LocalResponseStream extends Writable {
  _onBeforeFirstWrite: ((write: (chunk: string | Uint8Array) => void) => void) | undefined;
  readonly #id: string;
  #contentType = 'application/octet-stream';
  #written = false;

  constructor(id: string) {
    super();
    this.#id = id;
    // The runtime's stream always has a listener: a destroyed stream never crashes the environment.
    this.on('error', () => {});
  }

  setContentType(contentType: string): void {
    if (this.#written) throw new Error('Cannot set content-type, too late.');
    this.#contentType = contentType;
  }

  override write(chunk: unknown, encoding?: BufferEncoding | ((error: Error | null | undefined) => void), callback?: (error: Error | null | undefined) => void): boolean {
    const data = typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    if (!this.#written && typeof this._onBeforeFirstWrite === 'function') {
      this.#written = true;
      this._onBeforeFirstWrite((part) => super.write(part));
    }
    this.#written = true;
    if (typeof encoding === 'function') return super.write(data, encoding);
    return encoding === undefined ? super.write(data, callback) : super.write(data, encoding, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    parentPort?.postMessage({ id: this.#id, type: 'chunk', contentType: this.#contentType, data: chunk });
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    parentPort?.postMessage({ id: this.#id, type: 'end', contentType: this.#contentType });
    callback();
  }
}

/** `awslambda.HttpResponseStream`: the function URL prelude before the body. */
const HttpResponseStream = {
  from(stream: LocalResponseStream, metadata: Record<string, unknown>): LocalResponseStream {
    stream.setContentType(METADATA_PRELUDE_CONTENT_TYPE);
    // JSON holds no null byte, so the first 8 null bytes end it.
    const prelude = JSON.stringify(metadata);
    stream._onBeforeFirstWrite = (write) => {
      write(prelude);
      write(new Uint8Array(DELIMITER_LEN));
    };
    return stream;
  },
};

if (process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA !== '1' && process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA !== 'true') {
  // Kept beside what is there already, as the runtime does (Powertools' invoke store adds itself to the same global).
  const existing = (globalThis as { awslambda?: object }).awslambda;
  Object.assign(globalThis, {
    awslambda: {
      ...existing,
      streamifyResponse: (handler: Handler) => Object.assign(handler, { [HANDLER_STREAMING]: STREAM_RESPONSE }),
      HttpResponseStream,
    },
  });
}

/** The streams of invocations in progress, for `abort`. */
const streams = new Map<string, LocalResponseStream>();

async function loadHandler(): Promise<Handler> {
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = module[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${file} does not export a function named ${exportName}`), { name: 'Runtime.HandlerNotFound' });
  }
  return handler as Handler;
}

// Init, as Lambda runs it when it creates an environment: the handler module loads before any
// invocation arrives, and the runtime hears when it is done (it does not count init against the timeout).
const handlerPromise: Promise<Handler> = loadHandler();
handlerPromise.then(
  () => parentPort?.postMessage({ type: 'init' }),
  () => parentPort?.postMessage({ type: 'init' }),
);

function serialiseError(error: unknown): { errorType: string; errorMessage: string; trace: string[] } {
  if (error instanceof Error) {
    return { errorType: error.name || 'Error', errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  }
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

parentPort?.on('message', async (message: InvokeMessage | AbortMessage) => {
  if ('type' in message) {
    streams.get(message.id)?.destroy(new Error('The client closed the connection'));
    return;
  }
  const { context } = message;
  const lambdaContext = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    awsRequestId: context.awsRequestId,
    logGroupName: context.logGroupName,
    logStreamName: `local/${context.functionName}`,
    getRemainingTimeInMillis: () => Math.max(0, context.deadlineMs - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
  try {
    const handler = await handlerPromise;
    if (message.stream && handler[HANDLER_STREAMING] === STREAM_RESPONSE) {
      const stream = new LocalResponseStream(message.id);
      streams.set(message.id, stream);
      try {
        const running = (handler as unknown as StreamingHandler)(message.event, stream, lambdaContext);
        if (typeof (running as Promise<unknown> | undefined)?.then !== 'function') throw new Error('Streaming does not support non-async handlers.');
        await running;
        // `end()` finishes asynchronously; the runtime waits for the end of the body before it judges.
        if (stream.writableEnded && !stream.writableFinished && !stream.destroyed) await finished(stream).catch(() => undefined);
        // As the runtime: a handler that returns before ending its stream has failed (unless its client left).
        if (!stream.writableFinished && !stream.destroyed) throw new Error('Response stream is not finished.');
      } finally {
        streams.delete(message.id);
      }
      parentPort?.postMessage({ id: message.id, ok: true, payload: null });
      return;
    }
    const result = await handler(message.event, lambdaContext);
    // A Lambda reply is JSON: round-trip it so the caller sees exactly what AWS would serialise.
    const payload = result === undefined ? null : JSON.parse(JSON.stringify(result));
    parentPort?.postMessage({ id: message.id, ok: true, payload });
  } catch (error) {
    parentPort?.postMessage({ id: message.id, ok: false, error: serialiseError(error) });
  }
});
