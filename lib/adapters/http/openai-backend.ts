/**
 * The gateway's {@link ModelBackend} on an OpenAI-compatible server (vLLM, LM Studio, llama.cpp,
 * Ollama's `/v1`, hosted APIs): `POST /v1/chat/completions` (JSON, or server-sent events when
 * streaming) and `POST /v1/embeddings`, with `Authorization: Bearer <key>` when the model has a key.
 * Payloads: lib/gateway/payloads.ts; failures: lib/adapters/http/model-http.ts.
 */
import type { GenerateRequest, GenerateResult, ModelBackend, StreamEvent } from '../../gateway/backend.ts';
import { modelInfo, type OpenAiModelConfig } from '../../gateway/models.ts';
import {
  messagesBody,
  messagesStreamChunk,
  openAiEmbeddingsBody,
  parseMessagesReply,
  parseOpenAiEmbeddings,
} from '../../gateway/payloads.ts';
import { type Fetch, postJson, postStream, readText } from './model-http.ts';

/** Options of {@link openAiBackend}. */
export interface OpenAiBackendOptions {
  /** The API key, read when first needed (e.g. from Secrets Manager); undefined: no key sent. */
  apiKey?: () => Promise<string | undefined>;
  fetch?: Fetch;
}

/** `http://host:8000` and `http://host:8000/v1/` both become `http://host:8000/v1`. */
export function openAiApiBase(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return base.endsWith('/v1') ? base : `${base}/v1`;
}

/**
 * A backend on the OpenAI-compatible server of `model`. Embeds when the model has `embeddings`.
 * @example
 * const backend = openAiBackend({ ...config, baseUrl: 'http://127.0.0.1:8000', model: 'meta-llama/Llama-3.1-8B-Instruct' });
 */
export function openAiBackend(model: OpenAiModelConfig, options: OpenAiBackendOptions = {}): ModelBackend {
  const name = model.name;
  const api = openAiApiBase(model.baseUrl);
  const fetchImpl = options.fetch ?? fetch;
  const headers = async (): Promise<Record<string, string>> => {
    const key = await options.apiKey?.();
    return key ? { authorization: `Bearer ${key}` } : {};
  };

  const backend: ModelBackend = {
    info: modelInfo(model),

    async generate(request: GenerateRequest): Promise<GenerateResult> {
      const url = `${api}/chat/completions`;
      const response = await postJson(fetchImpl, url, messagesBody(request, { model: model.model, stream: false }), {
        model: name,
        signal: request.signal,
        headers: await headers(),
      });
      return parseMessagesReply(await readText(response, name, url, request.signal), name);
    },

    async *stream(request: GenerateRequest): AsyncGenerator<StreamEvent> {
      const signal = request.signal;
      yield* postStream(
        fetchImpl,
        `${api}/chat/completions`,
        messagesBody(request, { model: model.model, stream: true }),
        { model: name, ...(signal ? { signal } : {}), headers: await headers() },
        { framing: 'sse', parse: (data) => messagesStreamChunk(data, name) },
      );
    },
  };
  if (model.embeddings) {
    backend.embed = async (texts: string[], signal?: AbortSignal): Promise<number[][]> => {
      if (texts.length === 0) return [];
      const url = `${api}/embeddings`;
      const response = await postJson(fetchImpl, url, openAiEmbeddingsBody(texts, model.model), {
        model: name,
        ...(signal ? { signal } : {}),
        headers: await headers(),
      });
      return parseOpenAiEmbeddings(await readText(response, name, url, signal), texts.length, name);
    };
  }
  return backend;
}
