/**
 * Dual-model exchange (`POST /gateway/conversations`): two models talk, A first.
 *
 * The order is user → A → B → A → B …:
 * - A receives `promptA` as the first user message (after `systemA`, when given) and replies.
 * - B receives `promptB` as its system message and A's reply as a user message, and replies.
 * - Then each model in turn receives the other's latest reply as a user message, with the whole
 *   exchange so far as its history: its own replies as `assistant` messages, the other's as `user`.
 *
 * `exchanges` counts model replies (turns), not pairs: 1 is A alone, 3 is A, B, A.
 *
 * Pure: the model call is an injected {@link ChatCall} (the route gives one that applies templates,
 * budgets, safety and fallback), and the clock is injected. A failed call stops the exchange cleanly,
 * keeping the transcript so far; an aborted signal stops it between or during turns the same way.
 */
import { z } from 'zod';
import { DomainError } from '../errors.ts';
import { type ChatMessage, type FinishReason, ModelCallError, type Usage } from './backend.ts';

/** A model's name as callers give it. */
export const gatewayModelNameSchema = z.string().min(1).max(128);
/** Longest prompt of an exchange, in characters. */
export const MAX_EXCHANGE_PROMPT_CHARS = 32_000;
/** Most model turns of one exchange. */
export const MAX_EXCHANGES = 20;

/** `POST /gateway/conversations` (the exchange part; the route adds its own fields). */
export const exchangeRequestSchema = z.strictObject({
  modelA: gatewayModelNameSchema,
  modelB: gatewayModelNameSchema,
  /** A's first user message. */
  promptA: z.string().min(1).max(MAX_EXCHANGE_PROMPT_CHARS),
  /** B's system message: how B should take A's replies. */
  promptB: z.string().min(1).max(MAX_EXCHANGE_PROMPT_CHARS),
  /** Model replies in all, A first (1 = A alone; 3 = A, B, A). */
  exchanges: z.number().int().min(1).max(MAX_EXCHANGES),
  /** A's system message, if any (e.g. a rendered `base_system`). */
  systemA: z.string().min(1).max(MAX_EXCHANGE_PROMPT_CHARS).optional(),
});
/** A dual-model exchange request. */
export type ExchangeRequest = z.infer<typeof exchangeRequestSchema>;

/** What one model call returned, as the gateway's chat path reports it. */
export interface ChatCallResult<D = unknown> {
  text: string;
  finishReason: FinishReason;
  usage: Usage;
  /** The model that answered, when not the one asked (a fallback). */
  model?: string;
  /** What the gateway decided on the way (context dropped, fallback taken, output flagged …). */
  decisions?: D[];
}

/**
 * One model call: `messages` to `model`. Rejects on failure (a {@link ModelCallError}, or a domain
 * error such as a spent budget); must honour `signal`.
 */
export type ChatCall<D = unknown> = (messages: ChatMessage[], model: string, signal?: AbortSignal) => Promise<ChatCallResult<D>>;

/** The user's opening turn of an exchange. */
export interface ExchangeUserTurn {
  index: 0;
  speaker: 'user';
  role: 'user';
  text: string;
}

/** One model reply of an exchange. */
export interface ExchangeModelTurn<D = unknown> {
  /** 1, 2, 3 … in order. */
  index: number;
  speaker: 'A' | 'B';
  /** The model that answered (after any fallback). */
  model: string;
  role: 'assistant';
  text: string;
  finishReason: FinishReason;
  usage: Usage;
  /** Milliseconds the call took, by the injected clock. */
  latencyMs: number;
  decisions: D[];
}

/** A turn of an exchange transcript. */
export type ExchangeTurn<D = unknown> = ExchangeUserTurn | ExchangeModelTurn<D>;

/** Why an exchange stopped early. */
export interface ExchangeFailure {
  /** The model whose call failed. */
  model: string;
  /** Safe to show: a model-call or domain error's message, or a generic one. */
  message: string;
  retryable: boolean;
  /** The failure as thrown, for the caller's logs and status mapping; never send it as is. */
  cause?: unknown;
}

/** An exchange's outcome. */
export interface ExchangeResult<D = unknown> {
  /** `completed`: every turn ran; `failed`: a call failed or returned nothing; `cancelled`: the signal aborted. */
  status: 'completed' | 'failed' | 'cancelled';
  /** The user's turn then every model turn that ran (a cancelled turn's partial text included). */
  transcript: ExchangeTurn<D>[];
  /** Sum of the model turns' usage. */
  usage: Usage;
  /** Set when `status` is `failed`. */
  error?: ExchangeFailure;
}

/** Injected dependencies of {@link runExchange}. */
export interface ExchangeOptions<D = unknown> {
  /** Stops the exchange: no further turn starts, the running call is aborted. */
  signal?: AbortSignal;
  /** Milliseconds clock for latencies (default `performance.now`). */
  now?: () => number;
  /** Called after each model turn (to stream or log it); awaited before the next turn. */
  onTurn?: (turn: ExchangeModelTurn<D>) => void | Promise<void>;
}

/** The messages `speaker` sees before its next reply, from the model turns so far. */
export function exchangeMessages(
  request: ExchangeRequest,
  turns: readonly ExchangeModelTurn<unknown>[],
  speaker: 'A' | 'B',
): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (speaker === 'A') {
    if (request.systemA !== undefined) messages.push({ role: 'system', content: request.systemA });
    messages.push({ role: 'user', content: request.promptA });
  } else {
    messages.push({ role: 'system', content: request.promptB });
  }
  for (const turn of turns) messages.push({ role: turn.speaker === speaker ? 'assistant' : 'user', content: turn.text });
  return messages;
}

function failureOf(error: unknown, model: string): ExchangeFailure {
  if (error instanceof ModelCallError) return { model, message: error.message, retryable: error.retryable, cause: error };
  if (error instanceof DomainError) return { model, message: error.message, retryable: false, cause: error };
  return { model, message: `the call to model ${model} failed`, retryable: false, cause: error };
}

/**
 * Runs a dual-model exchange: user → A → B → A … for `request.exchanges` model turns.
 * Never rejects for a model failure or an abort: the result's `status` says how it ended and the
 * transcript keeps every turn that ran.
 *
 * @example
 * const result = await runExchange(
 *   { modelA: 'standin-chat', modelB: 'standin-critic', promptA: 'Propose a cache key for user sessions.', promptB: 'Challenge the proposal you are shown.', exchanges: 3 },
 *   gatewayChat,
 * );
 * result.transcript.map((turn) => turn.speaker); // ['user', 'A', 'B', 'A']
 */
export async function runExchange<D = unknown>(
  request: ExchangeRequest,
  chat: ChatCall<D>,
  options: ExchangeOptions<D> = {},
): Promise<ExchangeResult<D>> {
  const now = options.now ?? (() => performance.now());
  const { signal } = options;
  const turns: ExchangeModelTurn<D>[] = [];
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  const result = (status: ExchangeResult<D>['status'], error?: ExchangeFailure): ExchangeResult<D> => ({
    status,
    transcript: [{ index: 0, speaker: 'user', role: 'user', text: request.promptA }, ...turns],
    usage,
    ...(error ? { error } : {}),
  });

  for (let index = 1; index <= request.exchanges; index++) {
    if (signal?.aborted) return result('cancelled');
    const speaker = index % 2 === 1 ? 'A' : 'B';
    const model = speaker === 'A' ? request.modelA : request.modelB;
    const started = now();
    let reply: ChatCallResult<D>;
    try {
      reply = await chat(exchangeMessages(request, turns, speaker), model, signal);
    } catch (error) {
      return signal?.aborted ? result('cancelled') : result('failed', failureOf(error, model));
    }
    const turn: ExchangeModelTurn<D> = {
      index,
      speaker,
      model: reply.model ?? model,
      role: 'assistant',
      text: reply.text,
      finishReason: reply.finishReason,
      usage: { inputTokens: reply.usage.inputTokens, outputTokens: reply.usage.outputTokens },
      latencyMs: now() - started,
      decisions: reply.decisions ?? [],
    };
    turns.push(turn);
    usage.inputTokens += turn.usage.inputTokens;
    usage.outputTokens += turn.usage.outputTokens;
    await options.onTurn?.(turn);
    if (turn.finishReason === 'cancelled' || signal?.aborted) return result('cancelled');
    if (turn.text.trim() === '' && index < request.exchanges) {
      return result('failed', {
        model: turn.model,
        message: `model ${turn.model} returned an empty reply; the exchange cannot go on`,
        retryable: false,
      });
    }
  }
  return result('completed');
}
