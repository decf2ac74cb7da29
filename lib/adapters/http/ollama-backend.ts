/**
 * The gateway's {@link ModelBackend} on Ollama's native API: `POST /api/chat` (one JSON reply, or
 * newline-delimited JSON when streaming) and `POST /api/embed`. Payloads: lib/gateway/payloads.ts;
 * failures: lib/adapters/http/model-http.ts.
 */
import type { GenerateRequest, GenerateResult, ModelBackend, StreamEvent } from '../../gateway/backend.ts';
import { modelInfo, type OllamaModelConfig } from '../../gateway/models.ts';
import { ollamaChatBody, ollamaEmbedBody, ollamaStreamChunk, parseOllamaChat, parseOllamaEmbed } from '../../gateway/payloads.ts';
import { type Fetch, postJson, postStream, readText } from './model-http.ts';

/** Options of {@link ollamaBackend}. */
export interface OllamaBackendOptions {
  fetch?: Fetch;
}

/**
 * A backend on the Ollama server of `model`. Embeds when the model has `embeddings`.
 * @example
 * const backend = ollamaBackend({ ...config, baseUrl: 'http://127.0.0.1:11434', model: 'llama3.2' });
 */
export function ollamaBackend(model: OllamaModelConfig, options: OllamaBackendOptions = {}): ModelBackend {
  const name = model.name;
  const base = model.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? fetch;

  const backend: ModelBackend = {
    info: modelInfo(model),

    async generate(request: GenerateRequest): Promise<GenerateResult> {
      const url = `${base}/api/chat`;
      const response = await postJson(fetchImpl, url, ollamaChatBody(request, model.model, false), {
        model: name,
        ...(request.signal ? { signal: request.signal } : {}),
      });
      return parseOllamaChat(await readText(response, name, url, request.signal), name);
    },

    stream(request: GenerateRequest): AsyncGenerator<StreamEvent> {
      const signal = request.signal;
      return postStream(
        fetchImpl,
        `${base}/api/chat`,
        ollamaChatBody(request, model.model, true),
        { model: name, ...(signal ? { signal } : {}) },
        { framing: 'ndjson', parse: (line) => ollamaStreamChunk(line, name) },
      );
    },
  };
  if (model.embeddings) {
    backend.embed = async (texts: string[], signal?: AbortSignal): Promise<number[][]> => {
      if (texts.length === 0) return [];
      const url = `${base}/api/embed`;
      const response = await postJson(fetchImpl, url, ollamaEmbedBody(texts, model.model), { model: name, ...(signal ? { signal } : {}) });
      return parseOllamaEmbed(await readText(response, name, url, signal), texts.length, name);
    };
  }
  return backend;
}
