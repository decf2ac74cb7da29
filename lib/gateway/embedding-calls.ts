/**
 * Embedding calls with their budget and their bill, as chat calls have theirs (lib/gateway/engine.ts
 * `callModel`): every embedding the gateway asks for (documents ingested, a retrieval query, the
 * candidates of an arbitration) reserves its worst case before the call, is settled to its exact usage
 * after it and leaves a `gateway.billing` entry in the tenant's ledger.
 *
 * Counting: an embedding has input tokens only. The input is the texts' tokens by the embedding model's
 * tokenizer, summed per text (no chat framing: the texts are sent as they are). The reservation counts
 * them with every tokenizer of the model's chain and holds the largest count at the chain's dearest
 * prices (`maxTokens` 0), so whichever model answers is covered; the settlement counts them again with
 * the tokenizer of the model that answered, at its prices. A call that fails releases its reservation
 * and is not billed.
 */
import type { Usage } from './backend.ts';
import { BudgetExceededError, type BudgetStore, type TokenPrices, tokenPrices, usdNumber } from './budgets.ts';
import { recordBilling } from './conversation-log.ts';
import type { Embedder } from './documents.ts';
import type { CallMetrics, PausePublisher } from './engine.ts';
import type { ModelConfig } from './models.ts';
import type { GatewayLedger } from './ports.ts';
import type { Hop } from './resilience.ts';
import type { Decision } from './schemas.ts';
import { tokenizer } from './tokenizer.ts';

/** An embedding call through the router (lib/gateway/resilience.ts `ModelRouter.embed`): the vectors, and the model that answered. */
export type RoutedEmbed = (
  model: string,
  texts: string[],
  signal?: AbortSignal,
) => Promise<{ vectors: number[][]; model: string; hops: Hop[] }>;

/** What a metered embedding needs. */
export interface EmbeddingDeps {
  models: ReadonlyMap<string, ModelConfig>;
  embed: RoutedEmbed;
  budgets: BudgetStore;
  ledger: GatewayLedger;
  pauses: PausePublisher;
  metrics?: (call: CallMetrics) => void;
  now: () => Date;
}

/** Why texts are embedded. */
export type EmbeddingPurpose = 'documents' | 'retrieval' | 'arbitration';

/** One embedding call. */
export interface EmbeddingCall {
  /** The embedding model asked for (its configured fallbacks may answer). */
  model: string;
  texts: string[];
  /** The call's own id: its reservation and its billing entry carry it (`<request>.e<n>`). */
  requestId: string;
  /** The conversation it serves, if any. */
  conversationId?: string;
  purpose: EmbeddingPurpose;
  signal?: AbortSignal;
}

/** Who pays. */
export interface EmbeddingCaller {
  tenant: string;
  actor: string;
  correlationId: string;
}

/** What one embedding call returned and cost. */
export interface EmbeddingOutcome {
  vectors: number[][];
  /** The model that answered. */
  model: string;
  usage: Usage;
  costPicoUsd: bigint;
}

/** The models an embedding of `model` may end up on: itself, then its configured fallbacks. */
function embeddingChain(models: ReadonlyMap<string, ModelConfig>, model: ModelConfig): ModelConfig[] {
  return [
    model,
    ...model.fallbacks.flatMap((name) => {
      const fallback = models.get(name);
      return fallback && fallback.name !== model.name ? [fallback] : [];
    }),
  ];
}

/** The dearest input price of a chain (an embedding has no output). */
function dearestInputPrices(chain: readonly ModelConfig[]): TokenPrices {
  let input = 0n;
  for (const model of chain) {
    const prices = tokenPrices(model);
    if (prices.inputPicoUsdPerToken > input) input = prices.inputPicoUsdPerToken;
  }
  return { inputPicoUsdPerToken: input, outputPicoUsdPerToken: 0n };
}

/**
 * Embeds `call.texts`, reserving, settling and billing the call (see the module comment).
 *
 * @throws BudgetExceededError (429) when the budget cannot cover the input; the router's errors
 *   (ModelUnavailableError 503, CallCancelledError) when no model embedded them, after releasing the reservation.
 * @example
 * const { vectors, usage } = await meteredEmbed({ model: 'standin-embed', texts: ['restart the pods'], requestId: 'req-1.e1', purpose: 'retrieval' }, caller, deps);
 */
export async function meteredEmbed(call: EmbeddingCall, caller: EmbeddingCaller, deps: EmbeddingDeps): Promise<EmbeddingOutcome> {
  const model = deps.models.get(call.model);
  if (!model) throw new RangeError(`no embedding model named ${call.model}`);
  if (call.texts.length === 0) return { vectors: [], model: model.name, usage: { inputTokens: 0, outputTokens: 0 }, costPicoUsd: 0n };
  const chain = embeddingChain(deps.models, model);
  const counters = await Promise.all(chain.map((each) => tokenizer(each.tokenizer)));
  const countWith = (index: number) => {
    const counter = counters[index] ?? counters[0];
    return call.texts.reduce((sum, text) => sum + (counter?.count(text) ?? 0), 0);
  };
  const worst = Math.max(...chain.map((_, index) => countWith(index)));
  const reservation = await deps.budgets
    .reserve({ tenant: caller.tenant, requestId: call.requestId, prices: dearestInputPrices(chain), inputTokens: worst, maxTokens: 0 })
    .catch(async (error: unknown) => {
      if (error instanceof BudgetExceededError && error.crossing) await deps.pauses(error.crossing, caller.actor, caller.correlationId);
      throw error;
    });
  const started = deps.now().getTime();
  let routed: Awaited<ReturnType<RoutedEmbed>>;
  try {
    routed = await deps.embed(model.name, call.texts, call.signal);
  } catch (error) {
    await deps.budgets.release(reservation).catch(() => false);
    deps.metrics?.({
      model: model.name,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      latencyMs: deps.now().getTime() - started,
      outcome: 'failed',
    });
    throw error;
  }
  const position = chain.findIndex((each) => each.name === routed.model);
  const answering = chain[position] ?? deps.models.get(routed.model) ?? model;
  const inputTokens = position >= 0 ? countWith(position) : await countWithModel(answering, call.texts);
  const usage: Usage = { inputTokens, outputTokens: 0 };
  const prices = tokenPrices(answering);
  const settled = await deps.budgets.settle({ ...reservation, prices }, usage);
  if (settled.paused) await deps.pauses(settled.paused, caller.actor, caller.correlationId);
  const costPicoUsd = settled.charged.costPicoUsd;
  await recordBilling(deps.ledger, caller.tenant, deps.now().toISOString(), caller.actor, caller.correlationId, {
    requestId: call.requestId,
    ...(call.conversationId ? { conversationId: call.conversationId } : {}),
    operation: 'embed',
    purpose: call.purpose,
    texts: call.texts.length,
    model: answering.name,
    tokenizer: answering.tokenizer,
    inputTokens: usage.inputTokens,
    outputTokens: 0,
    priceInputPer1k: answering.priceInputPer1k,
    priceOutputPer1k: answering.priceOutputPer1k,
    costPicoUsd: costPicoUsd.toString(),
    costUsd: usdNumber(costPicoUsd),
    finishReason: 'embedded',
  });
  deps.metrics?.({
    model: answering.name,
    inputTokens: usage.inputTokens,
    outputTokens: 0,
    costUsd: usdNumber(costPicoUsd),
    latencyMs: deps.now().getTime() - started,
    outcome: 'answered',
  });
  return { vectors: routed.vectors, model: answering.name, usage, costPicoUsd };
}

/** The texts' tokens by `model`'s tokenizer (a model outside the chain answered: the router's chain and ours differ). */
async function countWithModel(model: ModelConfig, texts: readonly string[]): Promise<number> {
  const counter = await tokenizer(model.tokenizer);
  return texts.reduce((sum, text) => sum + counter.count(text), 0);
}

/** The `embedding` decision of a call made for a chat request. */
export function embeddingDecision(
  purpose: Exclude<EmbeddingPurpose, 'documents'>,
  texts: number,
  outcome: EmbeddingOutcome,
): Extract<Decision, { step: 'embedding' }> {
  return {
    step: 'embedding',
    purpose,
    model: outcome.model,
    texts,
    inputTokens: outcome.usage.inputTokens,
    costUsd: usdNumber(outcome.costPicoUsd),
  };
}

/**
 * The embedding calls of one request (a chat's retrieval query and arbitration candidates, an ingest's
 * batches): each one metered ({@link meteredEmbed}, ids `<requestId>.e<n>`), their outcomes kept, so the
 * request's usage and cost include them and its decisions name them.
 * @example
 * const calls = new EmbeddingCalls({ requestId, conversationId }, caller, deps);
 * await retrieveInto(messages, index, { ...options, embed: calls.embedder('retrieval') });
 * ({ usage, costPicoUsd } = calls.addTo(usage, costPicoUsd));
 */
export class EmbeddingCalls {
  /** Each call that answered, in the order they ended. */
  readonly outcomes: Array<{ purpose: EmbeddingPurpose; texts: number; outcome: EmbeddingOutcome }> = [];
  readonly #pending = new Set<Promise<EmbeddingOutcome>>();
  #calls = 0;
  readonly #request: { requestId: string; conversationId?: string };
  readonly #caller: EmbeddingCaller;
  readonly #deps: Omit<EmbeddingDeps, 'embed'> & { embed?: RoutedEmbed };

  constructor(
    request: { requestId: string; conversationId?: string },
    caller: EmbeddingCaller,
    deps: Omit<EmbeddingDeps, 'embed'> & { embed?: RoutedEmbed },
  ) {
    this.#request = request;
    this.#caller = caller;
    this.#deps = deps;
  }

  /** An embedder for `purpose` (lib/gateway/documents.ts `Embedder`), or undefined when the stage makes no embedding calls. */
  embedder(purpose: EmbeddingPurpose): Embedder | undefined {
    const embed = this.#deps.embed;
    if (!embed) return undefined;
    return async (model, texts, signal) => {
      this.#calls += 1;
      const call = meteredEmbed(
        {
          model,
          texts,
          requestId: `${this.#request.requestId}.e${this.#calls}`,
          ...(this.#request.conversationId ? { conversationId: this.#request.conversationId } : {}),
          purpose,
          ...(signal ? { signal } : {}),
        },
        this.#caller,
        { ...this.#deps, embed },
      );
      this.#pending.add(call);
      try {
        const outcome = await call;
        this.outcomes.push({ purpose, texts: texts.length, outcome });
        return outcome.vectors;
      } finally {
        this.#pending.delete(call);
      }
    };
  }

  /** Waits for calls still running (one an arbitration stopped waiting for), so the totals are final. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  /** The `embedding` decisions of `purpose`'s calls. */
  decisions(purpose: Exclude<EmbeddingPurpose, 'documents'>): Decision[] {
    return this.outcomes.filter((each) => each.purpose === purpose).map((each) => embeddingDecision(purpose, each.texts, each.outcome));
  }

  /** How many calls answered, their input tokens and their cost. */
  total(): { calls: number; inputTokens: number; costPicoUsd: bigint } {
    return {
      calls: this.outcomes.length,
      inputTokens: this.outcomes.reduce((sum, { outcome }) => sum + outcome.usage.inputTokens, 0),
      costPicoUsd: this.outcomes.reduce((sum, { outcome }) => sum + outcome.costPicoUsd, 0n),
    };
  }

  /** `usage` and `costPicoUsd` with every embedding call's added. */
  addTo(usage: Usage, costPicoUsd: bigint): { usage: Usage; costPicoUsd: bigint } {
    const total = this.total();
    return {
      usage: { inputTokens: usage.inputTokens + total.inputTokens, outputTokens: usage.outputTokens },
      costPicoUsd: costPicoUsd + total.costPicoUsd,
    };
  }
}
