/**
 * The gateway pipeline in process, for unit tests: the local stage's models (infra/gateway/models.json)
 * behind in-process {@link ModelBackend}s over the local cloud's stand-in logic
 * (infra/local/sagemaker/standin.ts: the same deterministic replies, directives and embeddings the
 * SageMaker stand-ins give), the real router, tokenizers, safety rules and PII filter, and the
 * gateway's ports in memory.
 */
import modelsFile from '../../infra/gateway/models.json' with { type: 'json' };
import { defaultStandIns, type StandIn, StandInError } from '../../infra/local/sagemaker/standin.ts';
import { type ModelBackend, ModelCallError, type StreamEvent } from '../../lib/gateway/backend.ts';
import { type ChatCaller, type ChatDeps, piiCounts } from '../../lib/gateway/engine.ts';
import {
  MemoryBudgetStore,
  MemoryConversationStore,
  MemoryDocumentStore,
  MemoryInflightLimiter,
  MemoryRequestRegistry,
  MemorySettingsStore,
  memoryGatewayLedger,
} from '../../lib/gateway/memory-store.ts';
import { type ModelConfig, modelInfo, stageModels } from '../../lib/gateway/models.ts';
import { ModelRouter } from '../../lib/gateway/resilience.ts';
import { classifySafety } from '../../lib/gateway/safety.ts';

/** A stand-in's failure as a backend reports it (5xx, 408 and 429 retryable). */
function callError(error: unknown, model: string): ModelCallError {
  if (error instanceof StandInError) {
    const status = error.statusCode;
    return new ModelCallError(
      `${model}: ${error.originalMessage}`,
      model,
      status,
      status === 0 || status === 408 || status === 429 || status >= 500,
    );
  }
  return new ModelCallError(`${model}: ${error instanceof Error ? error.message : String(error)}`, model, 0, true);
}

/** A {@link ModelBackend} in process over a stand-in: its replies as the SageMaker stand-in gives them, streamed word by word. */
export function standInModelBackend(model: ModelConfig, standIn: StandIn): ModelBackend {
  return {
    info: modelInfo(model),
    async generate(request) {
      try {
        const turn = standIn.chat({
          messages: request.messages,
          maxTokens: request.maxTokens,
          ...(request.stop ? { stop: request.stop } : {}),
        });
        await standIn.act(turn.directives);
        return { text: turn.text, finishReason: turn.finish };
      } catch (error) {
        throw callError(error, model.name);
      }
    },
    async *stream(request): AsyncGenerator<StreamEvent> {
      let turn: ReturnType<StandIn['chat']>;
      try {
        turn = standIn.chat({ messages: request.messages, maxTokens: request.maxTokens, ...(request.stop ? { stop: request.stop } : {}) });
        await standIn.act(turn.directives);
      } catch (error) {
        throw callError(error, model.name);
      }
      let sent = 0;
      for (const piece of turn.pieces) {
        if (request.signal?.aborted) {
          yield { type: 'done', finishReason: 'cancelled' };
          return;
        }
        if (turn.directives.failAfter !== undefined && sent >= turn.directives.failAfter)
          throw new ModelCallError(`${model.name}: failed mid-stream on demand`, model.name, 500, true);
        if (turn.directives.intervalMs) await new Promise((resolve) => setTimeout(resolve, turn.directives.intervalMs));
        sent += 1;
        yield { type: 'delta', text: piece };
      }
      yield { type: 'done', finishReason: turn.finish };
    },
    embed: async (texts) => standIn.embed(texts),
  };
}

/** A backend that always fails with `status` (a model that is down). */
export function failingBackend(model: ModelConfig, status = 503): ModelBackend {
  const fail = () => new ModelCallError(`${model.name}: unavailable (HTTP ${status})`, model.name, status, status >= 500);
  return {
    info: modelInfo(model),
    generate: async () => {
      throw fail();
    },
    // biome-ignore lint/correctness/useYield: it fails before any event, as a model that is down does
    stream: async function* () {
      throw fail();
    },
  };
}

/** The local stage's models. */
export const localModels: ModelConfig[] = stageModels(modelsFile, 'local');

/** The in-process gateway and its memory stores. */
export function gatewayTestDeps(options: { backends?: Record<string, ModelBackend>; cancelPollMs?: number } = {}) {
  const standIns = defaultStandIns();
  const backends: Record<string, ModelBackend> = {};
  for (const model of localModels) {
    const standIn = standIns[model.name];
    if (standIn) backends[model.name] = standInModelBackend(model, standIn);
  }
  Object.assign(backends, options.backends);
  // Fast retries: the resilience itself is tested in gateway-resilience.test.ts.
  const router = ModelRouter.fromConfig(localModels, backends, { backoff: { baseDelayMs: 1, maxDelayMs: 2 } });
  const stores = {
    budgets: new MemoryBudgetStore(),
    inflight: new MemoryInflightLimiter(),
    settings: new MemorySettingsStore(),
    conversations: new MemoryConversationStore(),
    requests: new MemoryRequestRegistry(),
    documents: new MemoryDocumentStore(),
    ledger: memoryGatewayLedger(),
  };
  const pauses: Array<Parameters<ChatDeps['pauses']>[0]> = [];
  const deps: ChatDeps = {
    models: new Map(localModels.map((model) => [model.name, model])),
    stream: (model, request, options) => router.stream(model, request, options),
    embed: (model, texts, signal) => router.embed(model, texts, signal),
    ...stores,
    safety: (text, signal) => classifySafety(text, [], signal),
    pii: piiCounts,
    pauses: async (crossing) => {
      pauses.push(crossing);
      await stores.budgets.recordPause(crossing.tenant, crossing.window);
    },
    now: () => new Date(),
    cancelPollMs: options.cancelPollMs ?? 0,
  };
  const embed = (model: string, texts: string[], signal?: AbortSignal) =>
    router.embed(model, texts, signal).then((result) => result.vectors);
  return { deps, stores, pauses, router, embed };
}

/** A caller of tenant `tenant`. */
export function caller(tenant = 'acme', actor = 'alice'): ChatCaller {
  return { tenant, actor, correlationId: `corr-${Math.random().toString(36).slice(2, 10)}` };
}
