/**
 * Lambda response streaming in Node.js: the `awslambda` global that the Lambda runtime (and the local
 * cloud's, infra/local/lambda/worker.ts) provides to handlers, typed. `streamifyResponse` marks a
 * handler so the runtime calls it as `(event, responseStream, context)`; `HttpResponseStream.from`
 * makes the stream answer a function URL with a status and headers: on the first write the runtime's
 * stream sends the JSON metadata, then 8 null bytes, then the body as written
 * (`application/vnd.awslambda.http-integration-response`). The global has no npm package (only the
 * ambient types of @types/aws-lambda); see https://docs.aws.amazon.com/lambda/latest/dg/config-rs-write-functions.html.
 */
import type { Writable } from 'node:stream';
import type { Context } from 'aws-lambda';

/** The writable the runtime hands a streaming handler. */
export interface ResponseStream extends Writable {
  /** Sets the stream's content type; only before the first write. */
  setContentType(contentType: string): void;
}

/** A function URL reply's status, headers and cookies (the prelude `HttpResponseStream.from` writes). */
export interface HttpResponseMetadata {
  statusCode: number;
  headers?: Record<string, string>;
  cookies?: string[];
}

/** A handler the runtime calls with a response stream. */
export type StreamingHandler<E> = (event: E, responseStream: ResponseStream, context: Context) => Promise<void>;

/** The part of the `awslambda` global used here. */
interface AwsLambdaGlobal {
  streamifyResponse<E>(handler: StreamingHandler<E>, options?: { highWaterMark?: number }): StreamingHandler<E>;
  HttpResponseStream: { from(stream: ResponseStream, metadata: HttpResponseMetadata): ResponseStream };
}

/** How the runtime recognises a streaming handler (what `awslambda.streamifyResponse` sets). */
export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');

/** The runtime's `awslambda`, when it has the streaming helpers (other libraries create the global too: Powertools' invoke store). */
function awsLambdaGlobal(): AwsLambdaGlobal | undefined {
  // Read as our own typing: @types/aws-lambda declares the global too, with looser metadata.
  const runtime = (globalThis as unknown as { awslambda?: Partial<AwsLambdaGlobal> }).awslambda;
  return typeof runtime?.streamifyResponse === 'function' && runtime.HttpResponseStream ? (runtime as AwsLambdaGlobal) : undefined;
}

/**
 * `awslambda.streamifyResponse(handler)`. Where no runtime provides the global (a module loaded by a
 * build or a test), the handler is marked as the runtime marks it, so loading never fails.
 */
export function streamifyResponse<E>(handler: StreamingHandler<E>): StreamingHandler<E> {
  const runtime = awsLambdaGlobal();
  if (runtime) return runtime.streamifyResponse(handler);
  return Object.assign(handler, { [HANDLER_STREAMING]: 'response' });
}

/**
 * `awslambda.HttpResponseStream.from(stream, metadata)`: the stream, answering with `metadata` first.
 * @throws Error when no Lambda runtime provides the `awslambda` global.
 */
export function httpResponseStream(stream: ResponseStream, metadata: HttpResponseMetadata): ResponseStream {
  const runtime = awsLambdaGlobal();
  if (!runtime) throw new Error('awslambda.HttpResponseStream is provided by the Lambda runtime; this code runs outside one');
  return runtime.HttpResponseStream.from(stream, metadata);
}
