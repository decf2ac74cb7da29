/**
 * What the HTTP model backends (OpenAI-compatible, Ollama) share: one JSON POST with the failures
 * mapped to {@link ModelCallError} the same way — an upstream non-2xx keeps its status (retryable:
 * 0, 408, 409, 425, 429, 5xx), an unreachable server is status 0 and retryable, the caller's abort
 * is status 0 and not retryable.
 */
import { ModelCallError, type StreamEvent } from '../../gateway/backend.ts';
import { type DecodeStreamOptions, decodeStream, errorMessage, retryableStatus } from '../../gateway/payloads.ts';

/** The `fetch` a backend uses (injectable; default the global one). */
export type Fetch = typeof fetch;

/** The caller's abort, as a backend reports it. */
export const cancelledCall = (model: string): ModelCallError => new ModelCallError(`${model}: cancelled`, model, 0, false);

/** A failed transfer: the caller's abort, or an unreachable or broken server (retryable). */
export function transportError(error: unknown, model: string, url: string, signal: AbortSignal | undefined): ModelCallError {
  if (error instanceof ModelCallError) return error;
  if (signal?.aborted) return cancelledCall(model);
  const cause =
    error instanceof Error && error.cause instanceof Error
      ? ` (${(error.cause as NodeJS.ErrnoException).code ?? error.cause.message})`
      : '';
  return new ModelCallError(
    `${model}: ${new URL(url).origin} failed: ${error instanceof Error ? error.message : String(error)}${cause}`,
    model,
    0,
    true,
  );
}

/**
 * POSTs `body` as JSON and returns the response when it is 2xx.
 * @throws ModelCallError for a non-2xx answer (with the server's message), an unreachable server or an abort.
 */
export async function postJson(
  fetchImpl: Fetch,
  url: string,
  body: unknown,
  options: { model: string; signal?: AbortSignal; headers?: Record<string, string> },
): Promise<Response> {
  const { model, signal } = options;
  if (signal?.aborted) throw cancelledCall(model);
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    throw transportError(error, model, url, signal);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    throw new ModelCallError(
      `${model}: the server answered ${response.status}: ${errorMessage(text) || response.statusText}`,
      model,
      response.status,
      retryableStatus(response.status),
    );
  }
  return response;
}

/**
 * The whole body of a 2xx response as text.
 * @throws ModelCallError when reading fails (an abort, a dropped connection).
 */
export async function readText(response: Response, model: string, url: string, signal: AbortSignal | undefined): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw transportError(error, model, url, signal);
  }
}

/** The body of a streaming response as byte chunks (empty when there is none). */
export async function* bodyBytes(response: Response): AsyncGenerator<Uint8Array> {
  if (!response.body) return;
  for await (const chunk of response.body) yield chunk;
}

/**
 * POSTs a streaming request and decodes its reply into the port's events (`framing` and `parse` as in
 * {@link decodeStream}). A caller's abort before the reply arrives ends the stream `cancelled`; read
 * failures become {@link ModelCallError}s naming `url`.
 */
export async function* postStream(
  fetchImpl: Fetch,
  url: string,
  body: unknown,
  options: { model: string; signal?: AbortSignal; headers?: Record<string, string> },
  decoding: Pick<DecodeStreamOptions, 'framing' | 'parse'>,
): AsyncGenerator<StreamEvent> {
  const { model, signal } = options;
  let response: Response;
  try {
    response = await postJson(fetchImpl, url, body, options);
  } catch (error) {
    if (signal?.aborted) {
      yield { type: 'done', finishReason: 'cancelled' };
      return;
    }
    throw error;
  }
  yield* decodeStream(bodyBytes(response), {
    ...decoding,
    model,
    ...(signal ? { signal } : {}),
    mapError: (error) => transportError(error, model, url, signal),
  });
}
