/**
 * The model gateway's one port to a model: {@link ModelBackend}. Every backend (SageMaker endpoints
 * in the formats of the common serving containers, OpenAI-compatible servers, Ollama's native API)
 * implements it; everything above it (budgets, arbitration, safety, retrieval, logs) talks only to it.
 * Pure types and errors: no AWS or HTTP here (backends live in lib/adapters/).
 */

/** Who said a message. */
export type ChatRole = 'system' | 'user' | 'assistant';

/** One message of a conversation. */
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Why a generation ended. `length`: it reached `maxTokens`; `refusal`: the model declined; `cancelled`: the caller aborted. */
export type FinishReason = 'stop' | 'length' | 'refusal' | 'cancelled';

/** Token counts of one call. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** One generation request as the gateway sends it to a backend (already templated, fitted and filtered). */
export interface GenerateRequest {
  messages: ChatMessage[];
  /** Upper bound of output tokens (the gateway reserved budget for exactly this many). */
  maxTokens: number;
  temperature?: number;
  stop?: string[];
  /** Aborts the call (caller gone, timeout); a backend stops reading and rejects or ends its stream. */
  signal?: AbortSignal;
}

/** A complete generation. */
export interface GenerateResult {
  text: string;
  finishReason: FinishReason;
  /** What the backend itself reported, when it did; the gateway counts tokens itself and keeps this for comparison. */
  reportedUsage?: Usage;
}

/** One event of a streamed generation: text deltas, then exactly one `done`. */
export type StreamEvent = { type: 'delta'; text: string } | { type: 'done'; finishReason: FinishReason; reportedUsage?: Usage };

/** Tokenizer families the gateway counts exactly, or `approx` (documented estimate) for the others. */
export type TokenizerFamily = 'cl100k_base' | 'o200k_base' | 'approx';

/** What the gateway knows of a model: limits, prices, tokenizer. Listed by `GET /gateway/models`. */
export interface ModelInfo {
  /** The gateway's name for the model (what callers put in `model`). */
  name: string;
  /** `sagemaker` | `openai` (OpenAI-compatible server) | `ollama`. */
  provider: 'sagemaker' | 'openai' | 'ollama';
  /** What serves it, in words (e.g. "SageMaker endpoint standin-chat, Messages API"); stand-ins say they are stand-ins. */
  description: string;
  /** Context window in tokens (input + output). */
  contextTokens: number;
  /** Largest `maxTokens` a call may ask for. */
  maxOutputTokens: number;
  /** USD per 1,000 input tokens. */
  priceInputPer1k: number;
  /** USD per 1,000 output tokens. */
  priceOutputPer1k: number;
  tokenizer: TokenizerFamily;
  /** Whether {@link ModelBackend.embed} works. */
  embeddings: boolean;
}

/**
 * One model behind one backend. `generate` and `stream` must honour `signal`; `stream` yields
 * deltas then one `done` event (a backend that cannot stream yields the whole text as one delta).
 */
export interface ModelBackend {
  readonly info: ModelInfo;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  stream(request: GenerateRequest): AsyncIterable<StreamEvent>;
  /** Embeddings of `texts`, one vector each (same length). Absent when `info.embeddings` is false. */
  embed?(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

/**
 * A failed model call, as every backend reports it. `retryable`: worth retrying on the same backend
 * (throttling, 5xx, timeouts, connection resets); otherwise the request itself is at fault (4xx) or
 * the model refused. `status` is the upstream HTTP status (0 for a timeout or unreachable server).
 */
export class ModelCallError extends Error {
  override readonly name = 'ModelCallError';
  readonly model: string;
  readonly status: number;
  readonly retryable: boolean;
  constructor(message: string, model: string, status: number, retryable: boolean) {
    super(message);
    this.model = model;
    this.status = status;
    this.retryable = retryable;
  }
}
