/**
 * The gateway's {@link ModelBackend} on a SageMaker endpoint: `InvokeEndpoint` for `generate` and
 * `embed`, `InvokeEndpointWithResponseStream` for `stream`, through
 * `@aws-sdk/client-sagemaker-runtime` (its endpoint from `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`, as
 * every client here). The payloads are the container's format (lib/gateway/payloads.ts): Messages
 * API, TGI with the model's chat template, or TEI embeddings.
 *
 * Failures become {@link ModelCallError}s, `retryable` when trying again may help:
 *
 * | SDK error                                               | status                  | retryable            |
 * |---------------------------------------------------------|-------------------------|----------------------|
 * | `ModelError` (the container answered an error)          | its `OriginalStatusCode`| 0, 408, 429, 5xx     |
 * | `ModelNotReadyException`, `ServiceUnavailable`          | 503                     | yes                  |
 * | `InternalFailure`, `InternalDependencyException`        | 500                     | yes                  |
 * | `ModelStreamError`, `InternalStreamFailure` (mid-stream)| 500                     | yes                  |
 * | throttling (`ThrottlingException`, HTTP 429)            | 429                     | yes                  |
 * | `ValidationError` (unknown endpoint, bad header)        | 400                     | no                   |
 * | network failures (refused, reset, timed out)            | 0                       | yes                  |
 * | anything else (`AccessDeniedException`, …)              | its HTTP status         | by status            |
 *
 * An abort of the request's signal stops the call: `generate` rejects (status 0, not retryable), a
 * stream ends with `done` / `cancelled` after the deltas already received.
 */
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  type ResponseStream,
  type SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import type { GenerateRequest, GenerateResult, ModelBackend, StreamEvent } from '../../gateway/backend.ts';
import { ModelCallError } from '../../gateway/backend.ts';
import { modelInfo, type SageMakerModelConfig } from '../../gateway/models.ts';
import {
  decodeStream,
  errorMessage,
  messagesBody,
  messagesStreamChunk,
  parseMessagesReply,
  parseTeiReply,
  parseTgiReply,
  retryableStatus,
  teiBody,
  tgiBody,
  tgiStreamChunk,
} from '../../gateway/payloads.ts';
import { sageMakerRuntimeClient } from './clients.ts';
import { classifyAwsError } from './errors.ts';

/** The parts of a SageMaker runtime error this mapping reads. */
interface RuntimeErrorLike {
  name?: string;
  message?: string;
  code?: string;
  OriginalStatusCode?: number;
  OriginalMessage?: string;
  ErrorCode?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/**
 * The {@link ModelCallError} of a failed SageMaker runtime call (see the table in the module comment).
 * Messages carry the container's own message, not AWS's wording around it (which names the account).
 * @example mapSageMakerError(Object.assign(new Error('…'), { name: 'ModelError', OriginalStatusCode: 503 }), 'standin-a').retryable // true
 */
export function mapSageMakerError(error: unknown, model: string): ModelCallError {
  if (error instanceof ModelCallError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as RuntimeErrorLike;
  const name = e.name ?? '';
  const fail = (status: number, retryable: boolean, text: string) => new ModelCallError(`${model}: ${text}`, model, status, retryable);
  switch (name) {
    case 'ModelError': {
      const status = e.OriginalStatusCode ?? 424;
      return fail(status, retryableStatus(status), `the model answered ${status}: ${errorMessage(e.OriginalMessage ?? e.message ?? '')}`);
    }
    case 'ModelNotReadyException':
    case 'ServiceUnavailable':
      return fail(503, true, `${name}: ${errorMessage(e.message ?? '')}`);
    case 'InternalFailure':
    case 'InternalDependencyException':
      return fail(500, true, `${name}: ${errorMessage(e.message ?? '')}`);
    case 'ModelStreamError':
    case 'InternalStreamFailure':
      return fail(500, true, `the stream failed (${e.ErrorCode ?? name}): ${errorMessage(e.message ?? '')}`);
    case 'ValidationError':
      return fail(400, false, `ValidationError: ${errorMessage(e.message ?? '')}`);
  }
  if (e.code && NETWORK_CODES.has(e.code)) return fail(0, true, `the SageMaker runtime is unreachable (${e.code})`);
  if (name === 'TimeoutError') return fail(0, true, 'the SageMaker runtime did not answer in time');
  const kind = classifyAwsError(error);
  if (kind === 'throttled') return fail(429, true, `throttled (${name || 'HTTP 429'})`);
  const status = e.$metadata?.httpStatusCode ?? 0;
  if (kind === 'unavailable') return fail(status, true, `the SageMaker runtime failed (${name || e.code || 'error'})`);
  return fail(status, status === 0 ? false : retryableStatus(status), `${name || 'Error'}: ${errorMessage(e.message ?? String(error))}`);
}

/** The caller's abort: not retryable, and not the model's fault. */
const cancelled = (model: string) => new ModelCallError(`${model}: cancelled`, model, 0, false);

/** The bytes of a response stream's `PayloadPart`s; a stream error event is thrown (mapped by the caller). */
async function* payloadBytes(body: AsyncIterable<ResponseStream>): AsyncGenerator<Uint8Array> {
  for await (const event of body) {
    if (event.PayloadPart?.Bytes) yield event.PayloadPart.Bytes;
    else if (event.ModelStreamError)
      throw Object.assign(new Error(event.ModelStreamError.Message ?? 'model stream error'), {
        name: 'ModelStreamError',
        ErrorCode: event.ModelStreamError.ErrorCode,
      });
    else if (event.InternalStreamFailure)
      throw Object.assign(new Error(event.InternalStreamFailure.Message ?? 'internal stream failure'), { name: 'InternalStreamFailure' });
  }
}

/**
 * A backend on the SageMaker endpoint of `model`.
 * @example
 * const backend = sageMakerBackend(stageModels(file, 'local').find((m) => m.name === 'standin-a'));
 * const { text } = await backend.generate({ messages: [{ role: 'user', content: 'Hi' }], maxTokens: 64 });
 */
export function sageMakerBackend(model: SageMakerModelConfig, client: SageMakerRuntimeClient = sageMakerRuntimeClient()): ModelBackend {
  const name = model.name;
  const decoder = new TextDecoder();
  const notChat = () => new ModelCallError(`${name} is an embedding model (TEI): it does not generate`, name, 400, false);

  const requestBody = (request: GenerateRequest, stream: boolean): Record<string, unknown> => {
    if (model.format === 'messages') return messagesBody(request, { ...(model.model ? { model: model.model } : {}), stream });
    return tgiBody(request, model.template ?? 'chatml', stream);
  };

  /** One InvokeEndpoint call: the reply body as text. */
  const invoke = async (body: unknown, signal: AbortSignal | undefined): Promise<string> => {
    if (signal?.aborted) throw cancelled(name);
    try {
      const output = await client.send(
        new InvokeEndpointCommand({
          EndpointName: model.endpoint,
          ContentType: 'application/json',
          Accept: 'application/json',
          Body: new TextEncoder().encode(JSON.stringify(body)),
          ...(model.targetVariant ? { TargetVariant: model.targetVariant } : {}),
        }),
        { abortSignal: signal },
      );
      return decoder.decode(output.Body ?? new Uint8Array());
    } catch (error) {
      if (signal?.aborted) throw cancelled(name);
      throw mapSageMakerError(error, name);
    }
  };

  const backend: ModelBackend = {
    info: modelInfo(model),

    async generate(request: GenerateRequest): Promise<GenerateResult> {
      if (model.format === 'tei') throw notChat();
      const text = await invoke(requestBody(request, false), request.signal);
      return model.format === 'messages' ? parseMessagesReply(text, name) : parseTgiReply(text, name);
    },

    async *stream(request: GenerateRequest): AsyncGenerator<StreamEvent> {
      if (model.format === 'tei') throw notChat();
      const signal = request.signal;
      if (signal?.aborted) {
        yield { type: 'done', finishReason: 'cancelled' };
        return;
      }
      let body: AsyncIterable<ResponseStream> | undefined;
      try {
        const output = await client.send(
          new InvokeEndpointWithResponseStreamCommand({
            EndpointName: model.endpoint,
            ContentType: 'application/json',
            Accept: 'text/event-stream',
            Body: new TextEncoder().encode(JSON.stringify(requestBody(request, true))),
            ...(model.targetVariant ? { TargetVariant: model.targetVariant } : {}),
          }),
          { abortSignal: signal },
        );
        body = output.Body;
      } catch (error) {
        if (signal?.aborted) {
          yield { type: 'done', finishReason: 'cancelled' };
          return;
        }
        throw mapSageMakerError(error, name);
      }
      if (!body) throw new ModelCallError(`${name}: the stream has no body`, name, 502, true);
      yield* decodeStream(payloadBytes(body), {
        framing: 'sse',
        parse: model.format === 'messages' ? (data) => messagesStreamChunk(data, name) : (data) => tgiStreamChunk(data, name),
        model: name,
        ...(signal ? { signal } : {}),
        mapError: (error) => mapSageMakerError(error, name),
      });
    },
  };
  if (model.format === 'tei') {
    backend.embed = async (texts: string[], signal?: AbortSignal): Promise<number[][]> => {
      if (texts.length === 0) return [];
      return parseTeiReply(await invoke(teiBody(texts), signal), texts.length, name);
    };
  }
  return backend;
}
