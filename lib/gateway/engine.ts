/**
 * The gateway's chat pipeline: what happens to one request between the caller and a model. Pure
 * over injected ports (models, budgets, in-flight marks, safety, PII, logs, ledger, clock), so the
 * same code runs in a Lambda function on AWS, on the local cloud and in unit tests.
 *
 * One request, in order ({@link chat}):
 * 1. **Model**: the requested model must be a configured chat model (400 `body.model` otherwise).
 * 2. **Template**: the named template (the tenant's, else the built-in) rendered with `variables`
 *    before the caller's messages (400 naming `body.template` or `body.variables.<name>`).
 * 3. **Request and conversation**: the request id is registered (for `DELETE /gateway/chat`), and the
 *    conversation's lease taken (one turn at a time per conversation).
 * 4. **PII in the input** per the tenant's `piiInput` mode (what the model sees).
 * 5. **Context fitting** (lib/gateway/context.ts) to min(the smallest context window of the model's
 *    chain, the tenant's limit): the oldest turns dropped first, what was dropped recorded.
 * 6. **Budget**: the worst case (input + granted `maxTokens`, at the dearest prices of the chain)
 *    reserved atomically (429 naming the budget).
 * 7. **Model call** through the router (lib/gateway/resilience.ts): timeouts, retries, circuit
 *    breakers, fallback along the chain, each hop a decision. Each model is admitted before it is
 *    tried: one of its in-flight slots taken (shared by every container), a model at its mark skipped
 *    as busy, 429 with Retry-After when the whole chain is; the model that serves holds its slot until
 *    its stream ends. Streamed; between chunks the loop
 *    checks the request's cancellation flag (and the function's deadline) and aborts the call.
 * 8. **Counting**: usage is counted by the gateway's tokenizer of the model that answered (input as
 *    sent, output as received); output past the granted `maxTokens` is cut, so a call never spends
 *    more than it reserved.
 * 9. **Safety** on the output: severe → a refusal result (`finishReason: blocked`) naming the
 *    categories; moderate → flagged in the decisions.
 * 10. **PII in the output** per `piiOutput`.
 * 11. **Settlement** of the reservation to the counted usage (released when nothing was produced); a
 *    settlement that reaches the hard cap (lib/gateway/budgets.ts), or a refusal that does (spending
 *    alone left the request no room), pauses the tenant (event + ledger entry).
 * 12. **Records**: a billing entry (exact tokens and cost) and the turn (hashes, counts, decisions) in
 *    the ledger, the conversation log (content per `piiLog`) in S3, usage metrics.
 *
 * Embedding calls (a retrieval query, arbitration's candidates) are budgeted and billed as model calls
 * are (lib/gateway/embedding-calls.ts), and a reply's usage and cost include them.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { LedgerEntry, Payload } from '../audit/schemas.ts';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import { type ArbitrationConfigInput, arbitrationConfigSchema, runArbitrated } from './arbitration.ts';
import type { ChatMessage, FinishReason, GenerateRequest, StreamEvent, Usage } from './backend.ts';
import type { InflightLimiter, InflightSlot } from './backpressure.ts';
import {
  type Amount,
  BudgetExceededError,
  type BudgetStore,
  type CapCrossing,
  type Reservation,
  type TokenPrices,
  tokenPrices,
  usdNumber,
} from './budgets.ts';
import { type FitContextInput, type FitContextResult, fitContext } from './context.ts';
import { runExchange } from './conversation.ts';
import {
  CONVERSATIONS_STREAM,
  loggedMessage,
  recordBilling,
  recordTurn,
  seqsToRead,
  type UnrecordedTurn,
  verifyConversation,
  withoutContent,
  withTurn,
} from './conversation-log.ts';
import { type DocumentStore, retrieveInto } from './documents.ts';
import { EmbeddingCalls, type RoutedEmbed } from './embedding-calls.ts';
import { type ModelConfig, modelInfo } from './models.ts';
import { redactPii } from './pii.ts';
import type { ConversationStore, GatewayLedger, RequestRegistry, SettingsStore } from './ports.ts';
import type { Admission, Hop, StreamOptions } from './resilience.ts';
import { fallbackDecisions } from './resilience.ts';
import { type SafetyResult, safetyVerdict, severities } from './safety.ts';
import type {
  ChatInput,
  ChatResult,
  ConversationLog,
  ConversationView,
  Decision,
  ExchangeInput,
  exchangeResultSchema,
  GatewaySettings,
  modelViewSchema,
  ReplyFinishReason,
} from './schemas.ts';
import { OutputRelease, type OutputTap, type ReleaseOutcome } from './stream-release.ts';
import { applyTemplate, type TemplateLookup } from './templates.ts';
import { type Tokenizer, tokenizer } from './tokenizer.ts';

/** A model stream as the router gives it: events, the model answering once known, the hops so far. */
export interface ModelStream extends AsyncIterable<StreamEvent> {
  readonly model: string | undefined;
  readonly hops: Hop[];
}

/**
 * Starts a streamed call of `model` along its fallback chain (lib/gateway/resilience.ts
 * `ModelRouter.stream`), admitting each model through `options.admit` before trying it.
 */
export type StreamModel = (model: string, request: GenerateRequest, options?: StreamOptions) => ModelStream;

/** The output safety filter: the built-in rules and any external classifier, merged (lib/gateway/safety.ts `classifySafety`). */
export type SafetyFilter = (text: string, signal?: AbortSignal) => Promise<SafetyResult>;

/** PII handling of one text in one mode: the new text and how many entities of each type it held. */
export type PiiFilter = (text: string, mode: 'redact' | 'mask' | 'hash' | 'tag') => { text: string; counts: Record<string, number> };

/**
 * The {@link PiiFilter} of lib/gateway/pii.ts: `redactPii` in `mode`, and the entities found counted by type.
 * @example piiCounts('Mail ada@example.org', 'redact') // { text: 'Mail [EMAIL]', counts: { EMAIL: 1 } }
 */
export function piiCounts(text: string, mode: 'redact' | 'mask' | 'hash' | 'tag'): { text: string; counts: Record<string, number> } {
  const { text: out, entities } = redactPii(text, { mode });
  const counts: Record<string, number> = {};
  for (const entity of entities) counts[entity.type] = (counts[entity.type] ?? 0) + 1;
  return { text: out, counts };
}

/** Publishes a tenant's pause (the `gateway.tenant.paused` event and its ledger entry) and marks it recorded. */
export type PausePublisher = (crossing: CapCrossing, actor: string, correlationId: string) => Promise<void>;

/** What one model call cost and produced, for metrics. */
export interface CallMetrics {
  model: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: number;
  outcome: 'answered' | 'blocked' | 'cancelled' | 'failed';
}

/** What the pipeline needs. */
export interface ChatDeps {
  /** The stage's models by name. */
  models: ReadonlyMap<string, ModelConfig>;
  stream: StreamModel;
  budgets: BudgetStore;
  inflight: InflightLimiter;
  settings: SettingsStore;
  conversations: ConversationStore;
  requests: RequestRegistry;
  ledger: GatewayLedger;
  safety: SafetyFilter;
  pii: PiiFilter;
  pauses: PausePublisher;
  /** The tenants' retrieval indexes (`retrieval` in a request); without it, requests with `retrieval` are refused. */
  documents?: DocumentStore;
  /** The tenant's templates; built-ins only when absent. */
  templates?: (tenant: string) => TemplateLookup | undefined;
  /**
   * Embedding calls through the router (`ModelRouter.embed`), each reserved, settled and billed
   * (lib/gateway/embedding-calls.ts); without it, arbitration is refused and retrieval ranks by BM25 alone.
   */
  embed?: RoutedEmbed;
  metrics?: (call: CallMetrics) => void;
  now: () => Date;
  newId?: () => string;
  /** How often a streaming call checks its cancellation flag (ms, default 250). */
  cancelPollMs?: number;
}

/** Who asks, and until when the answer may take. */
export interface ChatCaller {
  tenant: string;
  actor: string;
  correlationId: string;
  /** When the model call must stop so the request can still settle and log (the function's deadline less a margin). */
  deadline?: Date;
}

/** A finished request: the reply, and the text deltas as the model streamed them (for server-sent events). */
export interface ChatOutcome {
  result: ChatResult;
  /**
   * The reply's text in the pieces it arrived in (what a stream sends before its `done` event); empty
   * when blocked. Streamed (`onDelta`): the pieces as released, also those that went out before a block.
   */
  deltas: string[];
  /** The exact cost in picodollars (`result.costUsd` is this as a number of USD). */
  costPicoUsd: bigint;
}

/** Seconds a conversation's lease lasts without a deadline: longer than any function runs, so a live request never loses it. */
export const CONVERSATION_LEASE_SECONDS = 960;
/** Seconds a lease outlives the caller's deadline (the request settles, bills and logs after it). */
export const LEASE_PAST_DEADLINE_SECONDS = 60;

/**
 * When a request's lease on its conversation ends: a minute past its deadline when it has one (so a
 * function stopped at its timeout blocks the conversation a minute, not a quarter of an hour), else
 * {@link CONVERSATION_LEASE_SECONDS} from now.
 */
export function leaseUntil(caller: Pick<ChatCaller, 'deadline'>, now: Date): Date {
  if (caller.deadline) return new Date(Math.max(now.getTime(), caller.deadline.getTime()) + LEASE_PAST_DEADLINE_SECONDS * 1000);
  return new Date(now.getTime() + CONVERSATION_LEASE_SECONDS * 1000);
}
/** Seconds a request's id is kept (its cancellation flag, and so it is not reused). */
export const REQUEST_ID_TTL_SECONDS = 86_400;
/** The text a blocked reply carries. */
export const BLOCKED_TEXT = 'The reply was withheld by the safety filter.';

const TEMPLATE_ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant']);

/** The deadline passed while the model was still answering: the partial reply is kept, `length`. */
class DeadlineReached extends Error {}
/** The caller went away (its `cancel` signal): the call stops, the partial reply is kept, `cancelled`. */
class CallerLeft extends Error {}
/** The streamed release withheld the rest of the reply (a safety check blocked): the call stops. */
class OutputWithheld extends Error {}

/**
 * The caller went away before the model produced anything: there is nothing to keep and no one to
 * answer; the reservation is released and no turn is logged. Only a streamed request (a caller's
 * `signal`) meets it.
 */
export class CallerGoneError extends DomainError {}

/**
 * The model `name` as a chat model.
 * @throws ValidationError naming `body.<field>` when no chat model of that name is configured.
 */
export function chatModel(models: ReadonlyMap<string, ModelConfig>, name: string, field = 'model'): ModelConfig {
  const model = models.get(name);
  if (!model?.chat) {
    const known = [...models.values()].filter((each) => each.chat).map((each) => each.name);
    throw new ValidationError([
      {
        path: `body.parameters.${field}`,
        message: `unknown model "${name}"; this stage's chat models: ${known.join(', ') || 'none'} (GET /gateway/models)`,
      },
    ]);
  }
  return model;
}

/** The models a call of `model` may end up on: itself, then its configured fallbacks that chat. */
export function chainOf(models: ReadonlyMap<string, ModelConfig>, model: ModelConfig): ModelConfig[] {
  return [
    model,
    ...model.fallbacks.flatMap((name) => {
      const fallback = models.get(name);
      return fallback?.chat && fallback.name !== model.name ? [fallback] : [];
    }),
  ];
}

/**
 * The dearest prices of a chain, per input and per output token: a reservation at these covers the
 * call whichever model of the chain answers.
 */
export function dearestPrices(chain: readonly ModelConfig[]): TokenPrices {
  let input = 0n;
  let output = 0n;
  for (const model of chain) {
    const prices = tokenPrices(model);
    if (prices.inputPicoUsdPerToken > input) input = prices.inputPicoUsdPerToken;
    if (prices.outputPicoUsdPerToken > output) output = prices.outputPicoUsdPerToken;
  }
  return { inputPicoUsdPerToken: input, outputPicoUsdPerToken: output };
}

/** The output `text` cut to at most `max` tokens of `tok` (exact families by ids, `approx` by a binary search on code points). */
export function cutToTokens(tok: Tokenizer, text: string, max: number): string {
  if (tok.count(text) <= max) return text;
  if (tok.exact) {
    let cut = tok.decode(tok.encode(text).slice(0, max));
    // A cut inside a multi-byte character decodes to U+FFFD; drop it, and re-check (decoding can merge differently).
    while (cut.endsWith('\uFFFD') || tok.count(cut) > max) cut = Array.from(cut).slice(0, -1).join('');
    return cut;
  }
  const points = Array.from(text);
  let low = 0;
  let high = points.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (tok.count(points.slice(0, middle).join('')) <= max) low = middle;
    else high = middle - 1;
  }
  return points.slice(0, low).join('');
}

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Splits `text` into pieces about as long as the original deltas were (a reply changed after it streamed: redacted output). */
function rechunk(text: string, pieces: number): string[] {
  if (text === '') return [];
  const points = Array.from(text);
  const size = Math.max(1, Math.ceil(points.length / Math.max(1, pieces)));
  const chunks: string[] = [];
  for (let i = 0; i < points.length; i += size) chunks.push(points.slice(i, i + size).join(''));
  return chunks;
}

/**
 * One of `name`'s in-flight slots, for the router to hold while it tries that model (and, when it
 * answers, until its stream ends).
 * @throws BackpressureError (429) when the model is at its mark: the router then skips it as busy.
 */
async function admitTo(deps: Pick<ChatDeps, 'inflight' | 'models'>, name: string): Promise<Admission> {
  const mark = deps.models.get(name)?.maxInFlight;
  if (mark === undefined) throw new RangeError(`no model named ${name}`);
  const slot: InflightSlot = await deps.inflight.acquire(name, mark);
  return {
    release: async () => {
      await deps.inflight.release(slot).catch(() => false);
    },
  };
}

/** PII handling of one text in the request's input mode: the new text and the entities found by type. */
export type Redactor = (text: string) => { text: string; counts: Record<string, number> };

/**
 * A {@link Redactor} over `pii` in `mode` that handles each distinct text once: a request's calls
 * (arbitration's candidates, the retrieval query) share what was already redacted.
 */
export function memoRedactor(pii: PiiFilter, mode: 'redact' | 'mask' | 'hash' | 'tag'): Redactor {
  const done = new Map<string, { text: string; counts: Record<string, number> }>();
  return (text) => {
    let result = done.get(text);
    if (!result) {
      result = pii(text, mode);
      done.set(text, result);
    }
    return result;
  };
}

/**
 * Fits the input to its budget and handles its PII, redacting only what is sent:
 * 1. fit the request as given (lib/gateway/context.ts);
 * 2. redact the messages kept (whole, before any cut, so a cut cannot split an entity and hide it);
 * 3. fit the redacted messages again, since redaction changes token counts (a hash can be longer than
 *    what it replaces): this can only drop more turns or cut the last message further;
 * 4. when redaction shrank the input, take back the newest dropped turns (redacted) that now fit, as a
 *    fit after redaction would have kept them, then fit once more to confirm.
 * Drops are reported with the request's own indexes. Only the messages kept, and at most one dropped
 * turn tried in step 4, are ever redacted. `piiCounts`: the entities of the messages sent.
 *
 * @throws ValidationError as `fitContext` when nothing fits.
 * @example const { fitted } = fitAndRedact({ messages, count, contextTokens: 8192, maxTokens: 256 }, memoRedactor(piiCounts, 'redact'));
 */
export function fitAndRedact(
  input: FitContextInput,
  redact: Redactor | undefined,
): { fitted: FitContextResult; piiCounts?: Record<string, number> } {
  const first = fitContext(input);
  if (!redact) return { fitted: first };
  const results = new Map<number, ReturnType<Redactor>>();
  const handle = (index: number) => {
    let result = results.get(index);
    if (!result) {
      result = redact((input.messages[index] as ChatMessage).content);
      results.set(index, result);
    }
    return result;
  };
  const redacted = (index: number): ChatMessage => ({ role: (input.messages[index] as ChatMessage).role, content: handle(index).text });
  const fitIndexes = (indexes: readonly number[]) => fitContext({ ...input, messages: indexes.map(redacted) });
  const droppedFirst = new Set(first.dropped.map((each) => each.index));
  let kept = input.messages.flatMap((_, index) => (droppedFirst.has(index) ? [] : [index]));
  const counts = (indexes: readonly number[]) => {
    const found: Record<string, number> = {};
    for (const index of indexes) addCounts(found, handle(index).counts);
    return found;
  };
  // Nothing to redact in what is sent: the first fit stands.
  if (kept.every((index) => handle(index).text === (input.messages[index] as ChatMessage).content))
    return { fitted: first, piiCounts: counts(kept) };
  let second = fitIndexes(kept);
  if (first.dropped.length > 0 && second.dropped.length === 0 && !second.truncated) {
    // Room left under the same target the fit drops to: take back whole turns, newest first, while they fit.
    let room = second.budgetTokens - second.forecastOutput - second.inputTokens;
    const base = input.count([]);
    const added: number[] = [];
    for (const turn of droppedTurns(input.messages, [...droppedFirst]).reverse()) {
      const cost = turn.reduce((sum, index) => sum + Math.max(0, input.count([redacted(index)]) - base), 0);
      if (cost > room) break;
      room -= cost;
      added.push(...turn);
    }
    if (added.length > 0) {
      kept = [...kept, ...added].sort((a, b) => a - b);
      second = fitIndexes(kept);
    }
  }
  const keptSet = new Set(kept);
  const original = (index: number) => kept[index] ?? index;
  const droppedSecond = new Set(second.dropped.map((each) => each.index));
  const piiCounts = counts(kept.filter((_, position) => !droppedSecond.has(position)));
  const { truncated, ...rest } = second;
  const fitted: FitContextResult = {
    ...rest,
    dropped: [
      ...first.dropped.filter((each) => !keptSet.has(each.index)),
      ...second.dropped.map((each) => ({ ...each, index: original(each.index) })),
    ].sort((a, b) => a.index - b.index),
    ...(truncated ? { truncated: { ...truncated, index: original(truncated.index) } } : {}),
  };
  return { fitted, piiCounts };
}

/** The dropped indexes grouped into turns as fitting drops them (a user message and what follows it), oldest first. */
function droppedTurns(messages: readonly ChatMessage[], dropped: readonly number[]): number[][] {
  const turns: number[][] = [];
  let current: number[] | undefined;
  let previous = -2;
  for (const index of [...dropped].sort((a, b) => a - b)) {
    if (messages[index]?.role === 'user' || current === undefined || index !== previous + 1) {
      current = [];
      turns.push(current);
    }
    current.push(index);
    previous = index;
  }
  return turns;
}

/** What one model call through the pipeline produced (before safety and PII on the output). */
export interface CallOutcome {
  text: string;
  deltas: string[];
  /** The model that answered. */
  model: string;
  /** Every model tried, in order. */
  models: string[];
  finishReason: FinishReason;
  usage: Usage;
  costPicoUsd: bigint;
  /** Messages as sent to the model (after fitting, and PII handled per `piiInput`). */
  sent: ChatMessage[];
  /** With `redact`: the PII entities handled in `sent`, by type (so the log need not look for them again). */
  sentPii?: Record<string, number>;
  decisions: Decision[];
  latencyMs: number;
}

/** Options of one model call. */
export interface CallRequest {
  model: ModelConfig;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  requestId: string;
  conversationId: string;
  settings: GatewaySettings;
  /** Output tokens of the conversation's recent replies (the forecast). */
  recentOutputTokens: number[];
  /** PII handling of the input (`settings.piiInput`), applied to what is sent only; absent when it is off. */
  redact?: Redactor;
  signal?: AbortSignal;
  /** Aborts when the caller is gone (a streamed reply's client disconnected): the call stops, keeping what was produced (`cancelled`). */
  cancel?: AbortSignal;
  /** Watches the output as it streams (lib/gateway/stream-release.ts: the streamed reply's release). */
  tap?: OutputTap;
}

/**
 * One model call with its budget: fit, reserve, stream (each model of the chain admitted through its
 * in-flight slot; checking cancellation and the deadline), count, settle, bill. The building block of {@link chat}, of each arbitration candidate
 * and of each turn of a dual exchange.
 *
 * @throws ValidationError when nothing fits the context; BudgetExceededError (429) when the budget
 *   cannot cover the worst case; ModelBusyError (429) when every model of the chain is at its mark; ModelUnavailableError
 *   (503) when no model of the chain answered; ConflictError when the request id was cancelled before it ran.
 */
export async function callModel(call: CallRequest, caller: ChatCaller, deps: ChatDeps): Promise<CallOutcome> {
  const chain = chainOf(deps.models, call.model);
  const decisions: Decision[] = [];
  const tok = await tokenizer(call.model.tokenizer);
  const chainTokenizers = await Promise.all(chain.map((model) => tokenizer(model.tokenizer)));
  const requested = Math.min(call.maxTokens ?? call.model.maxOutputTokens, ...chain.map((model) => model.maxOutputTokens));
  // Fit for the smallest window of the chain with the most generous count of its tokenizers, so any hop fits.
  const countAll = (messages: readonly ChatMessage[]) => Math.max(...chainTokenizers.map((each) => each.countChat(messages)));
  const { fitted, piiCounts: inputPii } = fitAndRedact(
    {
      messages: call.messages,
      count: countAll,
      contextTokens: Math.min(...chain.map((model) => model.contextTokens)),
      limitTokens: call.settings.contextTokens,
      maxTokens: requested,
      recentOutputTokens: call.recentOutputTokens,
    },
    call.redact,
  );
  if (inputPii && call.settings.piiInput !== 'off') {
    const decision = piiDecision('input', call.settings.piiInput, inputPii);
    if (decision) decisions.push(decision);
  }
  if (fitted.dropped.length > 0 || fitted.truncated || fitted.summarised) {
    const droppedTokens = fitted.dropped.reduce((sum, each) => sum + each.tokens, 0);
    const detail = [
      fitted.dropped.length > 0 ? `dropped the ${fitted.dropped.length} oldest messages (${droppedTokens} tokens)` : '',
      fitted.truncated ? `cut the last user message from ${fitted.truncated.fromTokens} to ${fitted.truncated.toTokens} tokens` : '',
      `to fit ${fitted.budgetTokens} tokens with ${fitted.maxTokens} for the reply (forecast ${fitted.forecastOutput})`,
    ]
      .filter(Boolean)
      .join('; ');
    decisions.push({
      step: 'context',
      limitTokens: fitted.budgetTokens,
      inputTokens: fitted.inputTokens,
      droppedMessages: fitted.dropped.length,
      droppedTokens,
      dropped: fitted.dropped.map((each) => each.index),
      summarised: fitted.summarised !== undefined,
      detail: detail.slice(0, 500),
    });
  }
  const sent = fitted.messages;
  const maxTokens = fitted.maxTokens;
  const reservedInput = fitted.inputTokens;
  const reservation: Reservation = await deps.budgets
    .reserve({ tenant: caller.tenant, requestId: call.requestId, prices: dearestPrices(chain), inputTokens: reservedInput, maxTokens })
    .catch(async (error: unknown) => {
      // The refusal that reached the hard cap (spending alone left the request no room) publishes the pause.
      if (error instanceof BudgetExceededError && error.crossing) await deps.pauses(error.crossing, caller.actor, caller.correlationId);
      throw error;
    });
  const started = deps.now().getTime();
  let text = '';
  const deltas: string[] = [];
  let finishReason: FinishReason = 'stop';
  let stream: ModelStream | undefined;
  let produced = false;
  let midStreamFailure: unknown;
  try {
    const controller = new AbortController();
    const signal = call.signal ? AbortSignal.any([call.signal, controller.signal]) : controller.signal;
    stream = deps.stream(
      call.model.name,
      {
        messages: sent,
        maxTokens,
        ...(call.temperature === undefined ? {} : { temperature: call.temperature }),
        signal,
      },
      { admit: (name) => admitTo(deps, name) },
    );
    const pollMs = deps.cancelPollMs ?? 250;
    let lastPoll = started;
    let cancelled = false;
    const deadline = caller.deadline?.getTime();
    const deadlineTimer =
      deadline === undefined
        ? undefined
        : setTimeout(() => controller.abort(new DeadlineReached('deadline')), Math.max(0, deadline - Date.now()));
    const leave = () => controller.abort(new CallerLeft('the caller is gone'));
    if (call.cancel?.aborted) leave();
    else call.cancel?.addEventListener('abort', leave, { once: true });
    const opened = stream;
    // The release counts what it may send with the tokenizer of the model answering (known once a hop streams).
    call.tap?.start(
      (output) => cutToTokens(chainTokenizers[chain.findIndex((each) => each.name === opened.model)] ?? tok, output, maxTokens),
      () => controller.abort(new OutputWithheld('withheld')),
    );
    const stopped = () => controller.signal.reason instanceof CallerLeft || controller.signal.reason instanceof OutputWithheld;
    try {
      for await (const event of stream) {
        if (event.type === 'delta') {
          produced = true;
          if (event.text !== '') {
            text += event.text;
            deltas.push(event.text);
            call.tap?.delta(event.text);
          }
          // A backend that does not end its stream on abort is left here.
          if (stopped()) {
            finishReason = 'cancelled';
            break;
          }
          const now = deps.now().getTime();
          if (now - lastPoll >= pollMs) {
            lastPoll = now;
            // A flag that cannot be read now is not a cancellation: the next poll reads it again.
            if (await deps.requests.cancelled(caller.tenant, call.requestId).catch(() => false)) {
              cancelled = true;
              controller.abort(new Error('cancelled'));
              finishReason = 'cancelled';
              break;
            }
          }
        } else {
          finishReason = event.finishReason;
          produced = true;
        }
      }
    } catch (error) {
      // Past the deadline with text already: keep it, as a reply cut for length.
      if (controller.signal.reason instanceof DeadlineReached && text !== '') finishReason = 'length';
      // Stopped by the gateway (caller gone, output withheld) with text already: keep it, cancelled.
      else if (stopped() && text !== '') finishReason = 'cancelled';
      else if (controller.signal.reason instanceof CallerLeft)
        throw new CallerGoneError('The caller left before the model produced any text');
      // Failed after text: what the model produced is charged and billed, then the failure is reported.
      else if (text !== '') {
        midStreamFailure = error;
        finishReason = 'length';
      } else throw error;
    } finally {
      if (deadlineTimer) clearTimeout(deadlineTimer);
      call.cancel?.removeEventListener('abort', leave);
    }
    // A backend that ends its stream quietly on abort, before any text: as if it had thrown.
    if (controller.signal.reason instanceof CallerLeft && text === '')
      throw new CallerGoneError('The caller left before the model produced any text');
    if (finishReason === 'cancelled' && controller.signal.reason instanceof CallerLeft) cancelled = true;
    if (cancelled) decisions.push({ step: 'cancelled', afterOutputTokens: 0 });
    if (controller.signal.reason instanceof DeadlineReached && finishReason === 'cancelled') finishReason = 'length';
  } catch (error) {
    if (stream) decisions.push(...fallbackDecisions(stream.hops));
    await deps.budgets.release(reservation).catch(() => false);
    deps.metrics?.({
      model: call.model.name,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      latencyMs: deps.now().getTime() - started,
      outcome: 'failed',
    });
    throw error;
  }
  const answered = stream.model ?? call.model.name;
  const answeringModel = deps.models.get(answered) ?? call.model;
  const answeringTok = answered === call.model.name ? tok : await tokenizer(answeringModel.tokenizer);
  // The reservation covered `maxTokens` by the gateway's count: a backend that wrote more is cut there.
  const kept = cutToTokens(answeringTok, text, maxTokens);
  if (kept !== text) {
    text = kept;
    if (finishReason === 'stop') finishReason = 'length';
  }
  const usage: Usage = { inputTokens: answeringTok.countChat(sent), outputTokens: answeringTok.count(text) };
  const cancelledDecision = decisions.find((decision) => decision.step === 'cancelled');
  if (cancelledDecision && cancelledDecision.step === 'cancelled') cancelledDecision.afterOutputTokens = usage.outputTokens;
  decisions.push(...fallbackDecisions(stream.hops));
  const prices = tokenPrices(answeringModel);
  let charged: Amount = { tokens: 0, costPicoUsd: 0n };
  let outcome: 'settled' | 'released' = 'settled';
  if (!produced && text === '') {
    await deps.budgets.release(reservation);
    outcome = 'released';
  } else {
    // Settled at the prices of the model that answered (the reservation held the chain's dearest).
    const settled = await deps.budgets.settle({ ...reservation, prices }, usage);
    charged = settled.charged;
    if (settled.paused) await deps.pauses(settled.paused, caller.actor, caller.correlationId);
  }
  decisions.push({
    step: 'budget',
    reservedTokens: reservation.amount.tokens,
    reservedCostUsd: usdNumber(reservation.amount.costPicoUsd),
    settledTokens: charged.tokens,
    settledCostUsd: usdNumber(charged.costPicoUsd),
    outcome,
  });
  const latencyMs = deps.now().getTime() - started;
  const models = stream.hops.length > 0 ? [...new Set(stream.hops.map((hop) => hop.model))] : [answered];
  if (outcome === 'settled') {
    await recordBilling(deps.ledger, caller.tenant, deps.now().toISOString(), caller.actor, caller.correlationId, {
      requestId: call.requestId,
      conversationId: call.conversationId,
      model: answered,
      tokenizer: answeringModel.tokenizer,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      priceInputPer1k: answeringModel.priceInputPer1k,
      priceOutputPer1k: answeringModel.priceOutputPer1k,
      costPicoUsd: charged.costPicoUsd.toString(),
      costUsd: usdNumber(charged.costPicoUsd),
      finishReason,
    });
  }
  if (midStreamFailure !== undefined) {
    deps.metrics?.({
      model: answered,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      costUsd: usdNumber(charged.costPicoUsd),
      latencyMs,
      outcome: 'failed',
    });
    throw midStreamFailure;
  }
  deps.metrics?.({
    model: answered,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    costUsd: usdNumber(charged.costPicoUsd),
    latencyMs,
    outcome: finishReason === 'cancelled' ? 'cancelled' : 'answered',
  });
  return {
    text,
    deltas,
    model: answered,
    models,
    finishReason,
    usage,
    costPicoUsd: charged.costPicoUsd,
    sent,
    decisions,
    latencyMs,
    ...(inputPii ? { sentPii: inputPii } : {}),
  };
}

/**
 * The safety decision of one output: the verdict (lib/gateway/safety.ts `safetyVerdict`: block
 * severe, flag moderate) and every category the classifiers found. A filter that fails withholds the
 * reply (block) rather than passing it unchecked.
 */
export async function safetyDecision(
  filter: SafetyFilter,
  text: string,
  signal?: AbortSignal,
): Promise<Extract<Decision, { step: 'safety' }>> {
  let result: SafetyResult;
  try {
    result = await filter(text, signal);
  } catch {
    return {
      step: 'safety',
      verdict: 'block',
      categories: [{ category: 'classifier-unavailable', severity: 'severe', score: 1 }],
      classifier: 'none',
    };
  }
  const verdict = safetyVerdict(result);
  return {
    step: 'safety',
    verdict: verdict.action,
    categories: result.categories
      .filter((each) => each.severity !== 'none')
      .slice(0, 32)
      .map((each) => ({ category: each.category, severity: each.severity, score: round(each.score) })),
    classifier: result.classifier.slice(0, 64),
  };
}

/** A safety result as arbitration reads it: severity none/low/moderate/severe as 0, ⅓, ⅔, 1. */
async function arbitrationSafety(
  filter: SafetyFilter,
  text: string,
  signal?: AbortSignal,
): Promise<{ categories: { category: string; severity: number }[] }> {
  const result = await filter(text, signal);
  return {
    categories: result.categories.map((each) => ({
      category: each.category,
      severity: severities.indexOf(each.severity) / (severities.length - 1),
    })),
  };
}

/** The content of the last user message (what retrieval searches for), or ''. */
function lastUserContent(messages: readonly ChatMessage[]): string {
  for (let index = messages.length - 1; index >= 0; index--) if (messages[index]?.role === 'user') return messages[index]?.content ?? '';
  return '';
}

/** The counts of a PII pass as a decision, or undefined when it found nothing. */
function piiDecision(
  where: 'input' | 'output' | 'log',
  mode: 'redact' | 'mask' | 'hash' | 'tag',
  counts: Record<string, number>,
): Decision | undefined {
  if (Object.keys(counts).length === 0) return undefined;
  return { step: 'pii', where, mode, entities: counts };
}

/** Adds `more` into `into` (entity counts by type). */
function addCounts(into: Record<string, number>, more: Record<string, number>): void {
  for (const [type, count] of Object.entries(more)) into[type] = (into[type] ?? 0) + count;
}

/** Everything {@link chat} takes beyond the route's parameters: arbitration settings, a streamed reply's sink. */
export interface ChatOptions {
  /** Arbitration settings (lib/gateway/arbitration.ts); defaults when absent. */
  arbitration?: ArbitrationConfigInput;
  /**
   * Streams the reply: receives each piece of text as the pipeline releases it while the model is
   * still writing (lib/gateway/stream-release.ts: the safety filter passed all the text up to it,
   * `piiOutput` handled it). Arbitrated, the chosen answer is released once chosen. Without it the
   * text is filtered whole once the call ends. Must not throw.
   */
  onDelta?: (text: string) => void;
  /**
   * Aborts when the caller is gone: the model call stops, and what it produced is kept as the reply
   * (`finishReason: cancelled`), logged and charged; before any text, the request ends with
   * {@link CallerGoneError} and its reservation is released.
   */
  signal?: AbortSignal;
}

/**
 * One chat request through the whole pipeline (see the module comment), logged as one turn of its
 * conversation. With `arbitrate`, both models answer (each call budgeted and billed) and the
 * arbitration (lib/gateway/arbitration.ts) chooses; the turn's usage and cost are those of every call.
 *
 * @throws ValidationError naming the field (model, template, variables, messages); ConflictError for a
 *   reused request id or a conversation with a turn in progress; BudgetExceededError and
 *   BackpressureError (429); ModelUnavailableError (503).
 * @example
 * const { result } = await chat({ model: 'standin-a', messages: [{ role: 'user', content: 'Hi' }], stream: false, debug: false }, caller, deps);
 */
export async function chat(input: ChatInput, caller: ChatCaller, deps: ChatDeps, options: ChatOptions = {}): Promise<ChatOutcome> {
  const model = chatModel(deps.models, input.model);
  const arbitrated = input.arbitrate?.models.map((name, index) => chatModel(deps.models, name, `arbitrate.models.${index}`));
  if (arbitrated && !deps.embed)
    throw new ValidationError([
      { path: 'body.parameters.arbitrate', message: 'arbitration needs an embedding model, and this stage has none' },
    ]);
  const settings = await deps.settings.get(caller.tenant);
  const templated = await applyTemplate(
    {
      messages: input.messages,
      ...(input.template ? { template: input.template } : {}),
      ...(input.variables ? { variables: input.variables } : {}),
    },
    deps.templates?.(caller.tenant),
    { path: 'body.parameters' },
  );
  const decisions: Decision[] = [];
  if (templated.template)
    decisions.push({ step: 'template', template: templated.template.name, variables: Object.keys(input.variables ?? {}).slice(0, 64) });
  const newId = deps.newId ?? randomUUID;
  const requestId = input.requestId ?? `req-${newId()}`;
  const conversationId = input.conversationId ?? `c-${newId()}`;
  const now = deps.now();
  await deps.requests.start(
    { tenant: caller.tenant, requestId, model: model.name, startedAt: now.toISOString() },
    new Date(now.getTime() + REQUEST_ID_TTL_SECONDS * 1000),
  );
  let outcomeLabel = 'failed';
  try {
    const { log } = await deps.conversations.begin(caller.tenant, conversationId, requestId, now, leaseUntil(caller, now));
    let committed = false;
    let release: OutputRelease | undefined;
    const embeddings = new EmbeddingCalls({ requestId, conversationId }, caller, deps);
    try {
      let messages = templated.messages.filter((message) => TEMPLATE_ROLES.has(message.role));
      // PII in the input is handled when each call is fitted, on what it sends (lib/gateway/engine.ts `fitAndRedact`).
      const redact = settings.piiInput === 'off' ? undefined : memoRedactor(deps.pii, settings.piiInput);
      if (input.retrieval) {
        if (!deps.documents)
          throw new ValidationError([{ path: 'body.parameters.retrieval', message: 'retrieval is not available on this stage' }]);
        const chain = chainOf(deps.models, model);
        const counters = await Promise.all(chain.map((each) => tokenizer(each.tokenizer)));
        const current = await deps.documents.current(caller.tenant);
        const retrieved = await retrieveInto(messages, current?.index, {
          k: input.retrieval.k,
          quota: input.retrieval.quota,
          budgetTokens: Math.min(settings.contextTokens, ...chain.map((each) => each.contextTokens)),
          count: (text) => Math.max(...counters.map((counter) => counter.count(text))),
          ...(deps.embed ? { embed: embeddings.embedder('retrieval') } : {}),
          // The query leaves the gateway (to the embedding model): with its PII handled as the input's.
          ...(redact ? { query: redact(lastUserContent(messages)).text } : {}),
        });
        messages = retrieved.messages;
        decisions.push(retrieved.decision, ...embeddings.decisions('retrieval'));
      }
      const recentOutputTokens = log.turns.slice(-8).map((turn) => turn.usage.outputTokens);
      const base = {
        messages,
        requestId,
        conversationId,
        settings,
        recentOutputTokens,
        ...(redact ? { redact } : {}),
        ...(input.maxTokens ? { maxTokens: input.maxTokens } : {}),
        ...(input.temperature === undefined ? {} : { temperature: input.temperature }),
        ...(options.signal ? { cancel: options.signal } : {}),
      };
      const piiOutput = settings.piiOutput;
      if (options.onDelta)
        release = new OutputRelease({
          check: (output) => safetyDecision(deps.safety, output),
          ...(piiOutput === 'off' ? {} : { pii: (output: string) => deps.pii(output, piiOutput) }),
          onRelease: options.onDelta,
        });
      let call: CallOutcome;
      let usage: Usage;
      let costPicoUsd: bigint;
      let scores: ChatResult['scores'];
      if (arbitrated) {
        const arbitration = await arbitrate(arbitrated as [ModelConfig, ModelConfig], base, caller, deps, options, input.debug, embeddings);
        call = arbitration.chosen;
        usage = arbitration.usage;
        costPicoUsd = arbitration.costPicoUsd;
        decisions.push(...arbitration.decisions);
        scores = arbitration.scores;
      } else {
        call = await callModel({ ...base, model, ...(release ? { tap: release } : {}) }, caller, deps);
        usage = call.usage;
        costPicoUsd = call.costPicoUsd;
        decisions.push(...call.decisions);
      }
      // The turn's usage and cost are every call's: the model calls' and the embeddings'.
      ({ usage, costPicoUsd } = embeddings.addTo(usage, costPicoUsd));
      let released: ReleaseOutcome | undefined;
      if (release) {
        if (arbitrated) release.delta(call.text);
        released = await release.finish(call.text);
      }
      const safety = released ? released.safety : await safetyDecision(deps.safety, call.text);
      if (safety.verdict !== 'allow') decisions.push(safety);
      const blocked = safety.verdict === 'block';
      let text = blocked
        ? `${BLOCKED_TEXT} Categories: ${safety.categories
            .filter((each) => each.severity === 'severe')
            .map((each) => each.category)
            .join(', ')}.`
        : (released?.text ?? call.text);
      // The output's own pass, when the log's mode is the same, is what the log keeps of the reply.
      let outputPass: { text: string; counts: Record<string, number> } | undefined;
      if (released) {
        // Handled segment by segment as it was released.
        const decision = settings.piiOutput === 'off' ? undefined : piiDecision('output', settings.piiOutput, released.piiCounts);
        if (decision) decisions.push(decision);
      } else if (!blocked && settings.piiOutput !== 'off') {
        outputPass = deps.pii(text, settings.piiOutput);
        text = outputPass.text;
        const decision = piiDecision('output', settings.piiOutput, outputPass.counts);
        if (decision) decisions.push(decision);
      }
      const finishReason: ReplyFinishReason = blocked ? 'blocked' : call.finishReason;
      // The log keeps what the model was sent and what it answered (PII per piiLog), also when blocked.
      const answerTok = await tokenizer(deps.models.get(call.model)?.tokenizer ?? model.tokenizer);
      const logMode = settings.piiLog;
      const logCounts: Record<string, number> = {};
      // Sent messages already handled in the log's mode (piiInput = piiLog) are logged as sent, not scanned again;
      // their entities are those the input pass found.
      const sentAsLogged = call.sentPii !== undefined && settings.piiInput === logMode;
      if (sentAsLogged && call.sentPii) addCounts(logCounts, call.sentPii);
      const logged = call.sent.map((message) => {
        if (sentAsLogged) return loggedMessage(message.role, message.content, answerTok.count(message.content));
        const filtered = deps.pii(message.content, logMode);
        addCounts(logCounts, filtered.counts);
        return loggedMessage(message.role, filtered.text, answerTok.count(message.content));
      });
      const answer = outputPass && settings.piiOutput === logMode ? outputPass : deps.pii(call.text, logMode);
      addCounts(logCounts, answer.counts);
      logged.push(loggedMessage('assistant', answer.text, answerTok.count(call.text)));
      const logDecision = piiDecision('log', logMode, logCounts);
      if (logDecision) decisions.push(logDecision);
      const bounded = decisions.slice(0, 64);
      const turn: UnrecordedTurn = {
        turn: log.turns.length,
        requestId,
        correlationId: caller.correlationId,
        actor: caller.actor,
        at: deps.now().toISOString(),
        model: call.model,
        models: call.models.slice(0, 8),
        template: templated.template?.name ?? null,
        messages: logged,
        usage,
        costUsd: usdNumber(costPicoUsd),
        finishReason,
        decisions: bounded,
      };
      const recorded = await recordTurn(deps.ledger, caller.tenant, conversationId, turn);
      const at = deps.now();
      const next: ConversationLog = withTurn(log, recorded, at);
      await deps.conversations.commit(next, requestId, new Date(at.getTime() + settings.retentionDays * 86_400_000));
      committed = true;
      outcomeLabel = finishReason;
      const deltas = released ? released.deltas : blocked ? [] : text === call.text ? call.deltas : rechunk(text, call.deltas.length);
      return {
        result: {
          text,
          model: call.model,
          usage,
          costUsd: usdNumber(costPicoUsd),
          finishReason,
          decisions: bounded,
          requestId,
          conversationId,
          turn: recorded.turn,
          ...(recorded.ledger ? { ledger: recorded.ledger } : {}),
          ...(scores && input.debug ? { scores } : {}),
        },
        deltas,
        costPicoUsd,
      };
    } finally {
      release?.abandon();
      if (!committed) await deps.conversations.abandon(caller.tenant, conversationId, requestId).catch(() => undefined);
    }
  } finally {
    await deps.requests.finish(caller.tenant, requestId, outcomeLabel).catch(() => undefined);
  }
}

/** What an arbitrated turn produced. */
interface ArbitratedTurn {
  chosen: CallOutcome;
  usage: Usage;
  costPicoUsd: bigint;
  decisions: Decision[];
  scores: ChatResult['scores'];
}

/** Both models answer through {@link callModel} (each billed), then lib/gateway/arbitration.ts chooses. */
async function arbitrate(
  models: [ModelConfig, ModelConfig],
  base: Omit<CallRequest, 'model'>,
  caller: ChatCaller,
  deps: ChatDeps,
  options: ChatOptions,
  debug: boolean,
  embeddings: EmbeddingCalls,
): Promise<ArbitratedTurn> {
  const embed = embeddings.embedder('arbitration');
  if (!embed) throw new ValidationError([{ path: 'body.parameters.arbitrate', message: 'arbitration needs an embedding model' }]);
  const outcomes: CallOutcome[] = [];
  const running = new Set<Promise<CallOutcome>>();
  let calls = 0;
  const chatCall = async (messages: ChatMessage[], name: string, signal?: AbortSignal) => {
    calls += 1;
    const model = chatModel(deps.models, name, 'arbitrate.models');
    const pending = callModel(
      { ...base, messages, model, requestId: `${base.requestId}.${calls}`, ...(signal ? { signal } : {}) },
      caller,
      deps,
    );
    running.add(pending);
    const outcome = await pending.finally(() => running.delete(pending));
    outcomes.push(outcome);
    return {
      text: outcome.text,
      finishReason: outcome.finishReason,
      usage: outcome.usage,
      model: outcome.model,
      decisions: outcome.decisions,
    };
  };
  const embedModel = models[0].embedModel ?? models[1].embedModel;
  if (!embedModel)
    throw new ValidationError([
      {
        path: 'body.parameters.arbitrate.models',
        message: `neither ${models[0].name} nor ${models[1].name} names an embedding model (embedModel)`,
      },
    ]);
  const { decision, candidates } = await runArbitrated(
    { modelA: models[0].name, modelB: models[1].name, messages: base.messages },
    chatCall,
    {
      embed: (texts, signal) => embed(embedModel, texts, signal),
      classifySafety: (text, signal) => arbitrationSafety(deps.safety, text, signal),
      chat: chatCall,
      ...(deps.templates?.(caller.tenant) ? { templates: deps.templates(caller.tenant) } : {}),
    },
    options.arbitration ?? {},
  );
  // Calls the arbitration stopped waiting for (aborted at its deadline) end now: what they spent is the turn's too.
  await Promise.allSettled([...running]);
  await embeddings.settled();
  const chosenText = candidates[decision.chosen].text;
  const chosen = outcomes.find((outcome) => outcome.model === decision.model && outcome.text === chosenText);
  if (!chosen)
    throw new ConflictError(
      `arbitration chose ${decision.model}, whose answer failed: ${candidates[decision.chosen].error ?? 'no answer'}`,
    );
  const usage = outcomes.reduce(
    (sum, outcome) => ({
      inputTokens: sum.inputTokens + outcome.usage.inputTokens,
      outputTokens: sum.outputTokens + outcome.usage.outputTokens,
    }),
    { inputTokens: 0, outputTokens: 0 },
  );
  const costPicoUsd = outcomes.reduce((sum, outcome) => sum + outcome.costPicoUsd, 0n);
  const scoreOf = (side: 'a' | 'b') => {
    const s = decision.scores[side];
    return {
      model: s.model,
      agreement: s.agreement ?? 0,
      coherence: s.coherence,
      safety: s.safety ?? 1,
      score: round(s.final),
      latencyMs: round(s.latencyMs, 1),
    };
  };
  const decisionsOut: Decision[] = [
    ...chosen.decisions,
    {
      step: 'arbitration',
      chosen: decision.model,
      candidates: [candidates.a.model, candidates.b.model],
      divergence: round(Math.min(2, Math.max(0, decision.divergence ?? 0))),
      critique: decision.critique !== undefined,
      reason: decision.explanation.slice(0, 500),
    },
    ...embeddings.decisions('arbitration'),
  ];
  const scores: ChatResult['scores'] = debug
    ? {
        candidates: [scoreOf('a'), scoreOf('b')],
        divergence: round(Math.min(2, Math.max(0, decision.divergence ?? 0))),
        threshold: decision.divergenceThreshold,
        weights: { ...arbitrationConfigSchema.parse(options.arbitration ?? {}).weights },
        overheadMs: round(decision.timings.overheadMs, 1),
      }
    : undefined;
  return { chosen, usage, costPicoUsd, decisions: decisionsOut, scores };
}

/** The reply of {@link exchange}. */
export type ExchangeOutcome = z.infer<typeof exchangeResultSchema>;

/** A turn's reply was withheld by the safety filter: the exchange stops there. */
class BlockedTurnError extends DomainError {}

/**
 * A dual-model exchange (lib/gateway/conversation.ts `runExchange`): user → A → B → A …, every turn a
 * full {@link chat} request of the same conversation (budget, safety, PII, billing, log and ledger),
 * request ids `<requestId>.t<n>`. It stops early, keeping the turns so far, when a call fails (the
 * budget included), a reply is empty, or the safety filter blocks one (that turn is in the transcript).
 *
 * @throws ValidationError naming `body.modelA` or `body.modelB` when either is not a chat model.
 */
export async function exchange(input: ExchangeInput, caller: ChatCaller, deps: ChatDeps): Promise<ExchangeOutcome> {
  chatModel(deps.models, input.modelA, 'modelA');
  chatModel(deps.models, input.modelB, 'modelB');
  const newId = deps.newId ?? randomUUID;
  const conversationId = input.conversationId ?? `c-${newId()}`;
  const base = `x-${newId()}`;
  const transcript: ExchangeOutcome['transcript'] = [];
  let costPicoUsd = 0n;
  const result = await runExchange(input, async (messages, model) => {
    const { result: reply, costPicoUsd: cost } = await chat(
      {
        model,
        messages,
        conversationId,
        requestId: `${base}.t${transcript.length + 1}`,
        stream: false,
        debug: false,
        ...(input.maxTokens ? { maxTokens: input.maxTokens } : {}),
      },
      caller,
      deps,
    );
    transcript.push({
      speaker: transcript.length % 2 === 0 ? 'A' : 'B',
      requestId: reply.requestId,
      model: reply.model,
      text: reply.text,
      usage: reply.usage,
      costUsd: reply.costUsd,
      finishReason: reply.finishReason,
      decisions: reply.decisions,
    });
    costPicoUsd += cost;
    if (reply.finishReason === 'blocked')
      throw new BlockedTurnError(`the safety filter withheld ${reply.model}'s reply (turn ${transcript.length})`);
    return { text: reply.text, finishReason: reply.finishReason, usage: reply.usage, model: reply.model };
  });
  const usage = transcript.reduce(
    (sum, turn) => ({ inputTokens: sum.inputTokens + turn.usage.inputTokens, outputTokens: sum.outputTokens + turn.usage.outputTokens }),
    { inputTokens: 0, outputTokens: 0 },
  );
  return {
    conversationId,
    transcript,
    usage,
    costUsd: usdNumber(costPicoUsd),
    status: result.status,
    ...(result.error ? { stoppedBy: `${result.error.model}: ${result.error.message}`.slice(0, 1000) } : {}),
  };
}

/** The `gateway.tenant.paused` event of a cap crossing. */
export function pausedEvent(crossing: CapCrossing): BusEvent {
  return busEvent('gateway.tenant.paused', {
    tenant: crossing.tenant,
    budget: crossing.budget,
    window: crossing.window.kind,
    windowStart: crossing.window.start.toISOString(),
    pausedUntil: crossing.window.end.toISOString(),
    limit: crossing.limit,
    spent: crossing.spent,
    requestId: crossing.requestId.slice(0, 128),
    pausedAt: crossing.pausedAt,
  });
}

/** A model as listed. */
export type ModelView = z.infer<typeof modelViewSchema>;

/** A model as `GET /gateway/models` lists it. */
export function modelView(model: ModelConfig): ModelView {
  return {
    ...modelInfo(model),
    chat: model.chat,
    ...(model.embedModel ? { embedModel: model.embedModel } : {}),
    fallbacks: model.fallbacks,
    maxInFlight: model.maxInFlight,
  };
}

/** What reading a conversation back needs. */
export interface ConversationReadDeps {
  conversations: Pick<ConversationStore, 'get'>;
  ledger: GatewayLedger;
}

/** The ledger entries at `seqs` of a stream, read in runs of consecutive seqs. */
async function entriesAt(
  ledger: GatewayLedger,
  tenant: string,
  stream: string,
  seqs: readonly number[],
): Promise<Map<number, LedgerEntry>> {
  const found = new Map<number, LedgerEntry>();
  let i = 0;
  while (i < seqs.length) {
    const from = seqs[i] as number;
    let to = from;
    while (i + 1 < seqs.length && seqs[i + 1] === to + 1) {
      i += 1;
      to += 1;
    }
    for (const entry of await ledger.read(tenant, stream, from, to + 1)) found.set(entry.seq, entry);
    i += 1;
  }
  return found;
}

/**
 * A conversation's log with its verification against the ledger (lib/gateway/conversation-log.ts
 * `verifyConversation`): each turn's entry and the one before it are read, and, for a turn whose
 * rebuilt record does not match, the stored payload, to name the messages that differ.
 * @throws NotFoundError when the tenant has no such conversation.
 */
export async function viewConversation(tenant: string, conversationId: string, deps: ConversationReadDeps): Promise<ConversationView> {
  const log = await deps.conversations.get(tenant, conversationId);
  if (!log) throw new NotFoundError(`Conversation ${conversationId} not found`);
  const entries = await entriesAt(deps.ledger, tenant, CONVERSATIONS_STREAM, seqsToRead(log));
  let verification = verifyConversation(log, entries);
  const mismatched = verification.turns.filter((turn) => turn.entryIntact && !turn.payloadMatches && turn.ledger !== null);
  if (mismatched.length > 0) {
    const payloads = new Map<string, Payload>();
    for (const turn of mismatched) {
      const entry = turn.ledger ? entries.get(turn.ledger.seq) : undefined;
      const payload = entry ? await deps.ledger.payload(tenant, entry.payloadHash) : undefined;
      if (entry && payload) payloads.set(entry.payloadHash, payload);
    }
    verification = verifyConversation(log, entries, payloads);
  }
  return { log, verification };
}

/** What a retention run did. */
export interface RetentionOutcome {
  /** Logs whose content was removed. */
  stripped: number;
  /** Logs skipped because a turn was running on them (the next run takes them). */
  busy: number;
}

/**
 * Removes the content of the conversation logs whose retention ended by `now` (at most `limit`),
 * keeping every hash, so they still verify against the ledger (`content-removed`). Each log is taken
 * under its lease, so a turn running on it is never lost; a busy log is left for the next run.
 */
export async function applyConversationRetention(conversations: ConversationStore, now: Date, limit = 100): Promise<RetentionOutcome> {
  const due = await conversations.expiring(now, limit);
  const lease = `retention-${now.getTime()}`;
  let stripped = 0;
  let busy = 0;
  for (const { tenant, conversationId } of due) {
    let log: ConversationLog;
    try {
      log = (await conversations.begin(tenant, conversationId, lease, now, new Date(now.getTime() + CONVERSATION_LEASE_SECONDS * 1000)))
        .log;
    } catch (error) {
      if (error instanceof ConflictError) {
        busy += 1;
        continue;
      }
      throw error;
    }
    await conversations.commit(withoutContent(log, now), lease, undefined);
    stripped += 1;
  }
  return { stripped, busy };
}
