/**
 * Context fitting: before each model call, make the request fit the model's context window and the
 * tenant's limit, so no call fails at the provider for being too long. Pure and deterministic: tokens
 * are counted by an injected {@link MessageTokenCounter} (the exact tokenizer of the model's family, or
 * the documented approximation), and a summariser, when there is one, is injected too.
 *
 * The rule, in order:
 *
 * 1. **Budget** = min(model context window, tenant limit (default {@link CONTEXT_DEFAULTS.limitTokens})).
 *    Input plus the output tokens granted never exceed it.
 * 2. **Forecast** of the output ({@link forecastOutputTokens}): the mean of the last
 *    {@link CONTEXT_DEFAULTS.forecastWindow} replies' output tokens × {@link CONTEXT_DEFAULTS.forecastMargin},
 *    rounded up, capped by `maxTokens`; with no history, `maxTokens` itself (the caller's own bound).
 * 3. While input + forecast > budget, **drop the oldest turn**: a user message with the assistant
 *    messages that follow it (whole turns, so the user/assistant alternation is kept). Never dropped:
 *    system messages (wherever they are) and everything from the last user message on. With a
 *    summariser ({@link fitContextWithSummary}) the dropped turns are replaced by one system message
 *    summarising them, placed where they were.
 * 4. **Last resort**, when only protected messages are left and they still leave less than the
 *    forecast: the reply gets what is left, provided that is at least the *floor*,
 *    min(forecast, {@link CONTEXT_DEFAULTS.floorShare} × budget); below the floor the last user message
 *    itself is cut (its middle removed, {@link TRUNCATION_MARKER} in its place, head and tail kept)
 *    until the floor fits.
 * 5. `maxTokens` granted = min(requested, budget − input) (≥ 1): whatever the model writes fits.
 *
 * What was dropped is returned (original index, role, tokens, hash of the message) for the caller to
 * record in its decisions and logs. Nothing fits when the system prompts and an emptied last message
 * alone leave no output token: a {@link ValidationError} naming `messages`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ValidationError } from '../errors.ts';
import type { ChatMessage, ChatRole } from './backend.ts';

/**
 * Counts the input tokens of a list of messages as the model will see them (message framing
 * included). Must not decrease when a message is added or lengthened; need not be additive.
 */
export type MessageTokenCounter = (messages: readonly ChatMessage[]) => number;

/** The rule's constants (see the module comment). */
export const CONTEXT_DEFAULTS = {
  /** The tenant's limit of input + output tokens when it sets none. */
  limitTokens: 4096,
  /** Factor applied to the mean of recent outputs. */
  forecastMargin: 1.25,
  /** How many recent replies the forecast averages. */
  forecastWindow: 8,
  /** Share of the budget below which the reply's room is not squeezed further (the last message is cut instead). */
  floorShare: 0.25,
  /** Share of the budget a summary of dropped turns may take. */
  summaryShare: 0.125,
} as const;

/** What replaces the removed middle of a truncated message. */
export const TRUNCATION_MARKER = '\n[…]\n';

/** Options of {@link fitContext}. */
export interface FitContextInput {
  messages: readonly ChatMessage[];
  count: MessageTokenCounter;
  /** The model's context window (input + output tokens). */
  contextTokens: number;
  /** The tenant's limit of input + output tokens; default {@link CONTEXT_DEFAULTS.limitTokens}. */
  limitTokens?: number;
  /** Output tokens the caller asked for (the most it wants). */
  maxTokens: number;
  /** Output tokens of this conversation's recent replies, oldest first. */
  recentOutputTokens?: readonly number[];
  /** Forecast margin; default {@link CONTEXT_DEFAULTS.forecastMargin}. */
  margin?: number;
  /** Replies averaged; default {@link CONTEXT_DEFAULTS.forecastWindow}. */
  window?: number;
}

/** A message taken out of the context. */
export interface DroppedMessage {
  /** Its index in the request's messages. */
  index: number;
  role: ChatRole;
  /** Its tokens (what it added to the input). */
  tokens: number;
  /** SHA-256 (hex) of the RFC 8785 canonical JSON of `{ role, content }`: proves which message it was without keeping it. */
  hash: string;
}

/** The summary that replaced dropped turns. */
export interface ContextSummary {
  /** Indexes (in the request's messages) of the messages it summarises. */
  indices: number[];
  /** Its index in the fitted messages. */
  at: number;
  /** Tokens it adds to the input. */
  tokens: number;
}

/** The last user message, cut as a last resort. */
export interface ContextTruncation {
  /** Its index in the request's messages. */
  index: number;
  fromTokens: number;
  toTokens: number;
}

/** A fitted request. */
export interface FitContextResult {
  /** What to send, in the original order (a summary, if any, where the turns it replaces were). */
  messages: ChatMessage[];
  /** Messages taken out, oldest first (summarised ones included). */
  dropped: DroppedMessage[];
  summarised?: ContextSummary;
  /** Set when the summariser failed and the turns were simply dropped. */
  summaryError?: string;
  truncated?: ContextTruncation;
  /** Tokens of `messages`. */
  inputTokens: number;
  /** The forecast of the reply's tokens. */
  forecastOutput: number;
  /** Output tokens granted: min(requested, budget − inputTokens). */
  maxTokens: number;
  /** min(context window, tenant limit). */
  budgetTokens: number;
}

/** Summarises `messages` (dropped turns, oldest first) in at most `maxTokens` tokens. */
export type ContextSummariser = (messages: ChatMessage[], maxTokens: number, signal?: AbortSignal) => Promise<string>;

/** Options of {@link fitContextWithSummary}. */
export interface FitContextWithSummaryInput extends FitContextInput {
  summarise: ContextSummariser;
  /** The most tokens the summary message may take; default {@link CONTEXT_DEFAULTS.summaryShare} × budget. */
  summaryMaxTokens?: number;
  signal?: AbortSignal;
}

/**
 * The forecast of a reply's output tokens: ⌈mean(last `window` of `recent`) × `margin`⌉, at least 1,
 * at most `maxTokens`; `maxTokens` when there is no history.
 *
 * @example
 * forecastOutputTokens([100, 300], 1024); // 250
 */
export function forecastOutputTokens(
  recent: readonly number[] | undefined,
  maxTokens: number,
  margin: number = CONTEXT_DEFAULTS.forecastMargin,
  window: number = CONTEXT_DEFAULTS.forecastWindow,
): number {
  const last = (recent ?? []).filter((value) => Number.isFinite(value) && value >= 0).slice(-Math.max(1, window));
  if (last.length === 0) return maxTokens;
  const mean = last.reduce((sum, value) => sum + value, 0) / last.length;
  return Math.min(maxTokens, Math.max(1, Math.ceil(mean * margin)));
}

/** SHA-256 (hex) of a message's canonical JSON, as {@link DroppedMessage.hash}. */
export function messageHash(message: ChatMessage): string {
  return createHash('sha256')
    .update(canonicalize({ role: message.role, content: message.content }) ?? '')
    .digest('hex');
}

function positiveInt(value: number, path: string, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw new ValidationError([{ path, message: `must be an integer ≥ ${min}` }]);
  return value;
}

interface Plan {
  /** Original indexes kept, in order. */
  kept: number[];
  /** Original indexes dropped, oldest first. */
  dropped: number[];
}

/** Turns that may be dropped, oldest first: each a user message and the non-system messages after it (before the anchor). */
function droppableTurns(messages: readonly ChatMessage[], anchor: number): number[][] {
  const turns: number[][] = [];
  let current: number[] | undefined;
  for (let index = 0; index < anchor; index++) {
    const role = (messages[index] as ChatMessage).role;
    if (role === 'system') continue;
    if (role === 'user' || current === undefined) {
      current = [];
      turns.push(current);
    }
    current.push(index);
  }
  return turns;
}

/** The index no dropping goes past: the last user message, else the last message. */
function anchorIndex(messages: readonly ChatMessage[]): number {
  for (let index = messages.length - 1; index >= 0; index--) if ((messages[index] as ChatMessage).role === 'user') return index;
  return messages.length - 1;
}

class Fitter {
  readonly messages: readonly ChatMessage[];
  readonly count: MessageTokenCounter;
  readonly base: number;
  private readonly costs = new Map<number, number>();

  constructor(messages: readonly ChatMessage[], count: MessageTokenCounter) {
    this.messages = messages;
    this.count = count;
    this.base = count([]);
  }

  /** What message `index` adds to an input on its own. */
  cost(index: number): number {
    let cost = this.costs.get(index);
    if (cost === undefined) {
      cost = Math.max(0, this.count([this.messages[index] as ChatMessage]) - this.base);
      this.costs.set(index, cost);
    }
    return cost;
  }

  countKept(kept: readonly number[]): number {
    return this.count(kept.map((index) => this.messages[index] as ChatMessage));
  }

  /** Drops whole turns, oldest first, until the kept messages count ≤ target (or nothing droppable is left). */
  plan(target: number): Plan & { tokens: number } {
    const all = this.messages.map((_, index) => index);
    let tokens = this.countKept(all);
    if (tokens <= target) return { kept: all, dropped: [], tokens };
    const turns = droppableTurns(this.messages, anchorIndex(this.messages));
    const dropped = new Set<number>();
    const keptNow = (): number[] => all.filter((index) => !dropped.has(index));
    const droppedNow = (): number[] => [...dropped].sort((a, b) => a - b);
    // Estimate with the per-message costs, confirm with a full count (the counter need not be additive).
    let estimate = tokens;
    for (const turn of turns) {
      for (const index of turn) {
        dropped.add(index);
        estimate -= this.cost(index);
      }
      if (estimate > target) continue;
      tokens = this.countKept(keptNow());
      if (tokens <= target) return { kept: keptNow(), dropped: droppedNow(), tokens };
      estimate = tokens;
    }
    const kept = keptNow();
    return { kept, dropped: droppedNow(), tokens: this.countKept(kept) };
  }
}

/** `content` with its middle removed so that `keep` characters remain (half head, half tail, code points kept whole). */
function cutMiddle(content: string, keep: number): string {
  const chars = Array.from(content);
  if (keep >= chars.length) return content;
  const head = Math.ceil(keep / 2);
  return chars.slice(0, head).join('') + TRUNCATION_MARKER + chars.slice(chars.length - (keep - head)).join('');
}

function result(
  fitter: Fitter,
  plan: Plan,
  messages: ChatMessage[],
  inputTokens: number,
  forecastOutput: number,
  requested: number,
  budgetTokens: number,
): FitContextResult {
  return {
    messages,
    dropped: plan.dropped.map((index) => {
      const message = fitter.messages[index] as ChatMessage;
      return { index, role: message.role, tokens: fitter.cost(index), hash: messageHash(message) };
    }),
    inputTokens,
    forecastOutput,
    maxTokens: Math.min(requested, budgetTokens - inputTokens),
    budgetTokens,
  };
}

/**
 * Fits a request into min(context window, tenant limit) by dropping the oldest turns, then, as a last
 * resort, cutting the last user message (see the module comment for the rule).
 *
 * @throws {ValidationError} `messages` when the system prompts and the last message, emptied, leave no
 *   output token; `maxTokens`, `contextTokens` or `limitTokens` when not a positive integer; `messages`
 *   when empty.
 * @example
 * const fitted = fitContext({ messages, count, contextTokens: 8192, maxTokens: 512, recentOutputTokens: [180, 240] });
 * // send fitted.messages with maxTokens: fitted.maxTokens; record fitted.dropped
 */
export function fitContext(input: FitContextInput): FitContextResult {
  const requested = positiveInt(input.maxTokens, 'maxTokens');
  const budgetTokens = Math.min(
    positiveInt(input.contextTokens, 'contextTokens'),
    positiveInt(input.limitTokens ?? CONTEXT_DEFAULTS.limitTokens, 'limitTokens'),
  );
  if (input.messages.length === 0) throw new ValidationError([{ path: 'messages', message: 'must not be empty' }]);
  const forecastOutput = forecastOutputTokens(input.recentOutputTokens, requested, input.margin, input.window);
  const fitter = new Fitter(input.messages, input.count);
  const plan = fitter.plan(budgetTokens - forecastOutput);
  const keptMessages = plan.kept.map((index) => input.messages[index] as ChatMessage);
  const floor = Math.max(1, Math.min(forecastOutput, Math.ceil(CONTEXT_DEFAULTS.floorShare * budgetTokens)));
  if (plan.tokens <= budgetTokens - floor) return result(fitter, plan, keptMessages, plan.tokens, forecastOutput, requested, budgetTokens);

  // Last resort: cut the last user message until the floor fits (or, failing that, one output token).
  const anchor = anchorIndex(input.messages);
  const position = plan.kept.indexOf(anchor);
  const original = input.messages[anchor] as ChatMessage;
  const withContent = (content: string): ChatMessage[] =>
    keptMessages.map((message, index) => (index === position ? { role: original.role, content } : message));
  const emptied = fitter.count(withContent(TRUNCATION_MARKER));
  const target = emptied <= budgetTokens - floor ? budgetTokens - floor : budgetTokens - 1;
  if (emptied > target) {
    throw new ValidationError([
      {
        path: 'messages',
        message: `the system prompts and the last message leave no room to reply: ${emptied} tokens even with the last message emptied, limit ${budgetTokens}`,
      },
    ]);
  }
  // Largest number of kept characters whose count fits (binary search; the counter is monotone).
  let low = 0;
  let high = Array.from(original.content).length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fitter.count(withContent(cutMiddle(original.content, middle))) <= target) low = middle;
    else high = middle - 1;
  }
  const fitted = withContent(cutMiddle(original.content, low));
  const inputTokens = fitter.count(fitted);
  return {
    ...result(fitter, plan, fitted, inputTokens, forecastOutput, requested, budgetTokens),
    truncated: {
      index: anchor,
      fromTokens: fitter.cost(anchor),
      toTokens: Math.max(0, fitter.count([fitted[position] as ChatMessage]) - fitter.base),
    },
  };
}

/** The summary message that replaces dropped turns. */
export function summaryMessage(summary: string, summarisedMessages: number): ChatMessage {
  return { role: 'system', content: `Summary of the ${summarisedMessages} earliest messages of this conversation:\n${summary}` };
}

/**
 * {@link fitContext}, but dropped turns are summarised by `summarise` into one system message placed
 * where they were (right after the leading system prompts). The turns are chosen as if the summary's
 * room ({@link FitContextWithSummaryInput.summaryMaxTokens}) were part of the input; a summary longer
 * than its room is cut (middle removed). When summarising fails, or when fitting would then need to cut
 * the last message, the turns are simply dropped (`summaryError` says why the summariser failed).
 *
 * @throws {ValidationError} as {@link fitContext}.
 */
export async function fitContextWithSummary(input: FitContextWithSummaryInput): Promise<FitContextResult> {
  const plain = fitContext(input);
  if (plain.dropped.length === 0) return plain;
  const room = positiveInt(
    input.summaryMaxTokens ?? Math.max(1, Math.floor(CONTEXT_DEFAULTS.summaryShare * plain.budgetTokens)),
    'summaryMaxTokens',
  );
  if (room >= plain.budgetTokens) return plain;
  const withRoom = fitContext({ ...input, limitTokens: plain.budgetTokens - room });
  if (withRoom.truncated || withRoom.dropped.length === 0) return plain;

  const droppedIndexes = new Set(withRoom.dropped.map((entry) => entry.index));
  const summarised = input.messages.filter((_, index) => droppedIndexes.has(index));
  let text: string;
  try {
    text = await input.summarise(summarised, room, input.signal);
  } catch (error) {
    return { ...plain, summaryError: error instanceof Error ? error.message.slice(0, 200) : 'summariser failed' };
  }
  // Place the summary where the first dropped message was, after any system prompts before it.
  const first = withRoom.dropped[0]?.index ?? 0;
  let at = 0;
  for (let index = 0; index < first; index++) if (!droppedIndexes.has(index)) at++;
  const fitter = new Fitter(input.messages, input.count);
  const budgetTokens = plain.budgetTokens;
  const target = budgetTokens - withRoom.forecastOutput;
  const assemble = (summary: string): ChatMessage[] => [
    ...withRoom.messages.slice(0, at),
    summaryMessage(summary, summarised.length),
    ...withRoom.messages.slice(at),
  ];
  let fitted = assemble(text);
  let inputTokens = fitter.count(fitted);
  if (inputTokens > target) {
    let low = 0;
    let high = Array.from(text).length;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (fitter.count(assemble(cutMiddle(text, middle))) <= target) low = middle;
      else high = middle - 1;
    }
    fitted = assemble(cutMiddle(text, low));
    inputTokens = fitter.count(fitted);
    if (inputTokens > target) return plain;
  }
  return {
    ...withRoom,
    messages: fitted,
    summarised: {
      indices: [...droppedIndexes].sort((a, b) => a - b),
      at,
      tokens: Math.max(0, fitter.count([fitted[at] as ChatMessage]) - fitter.base),
    },
    inputTokens,
    maxTokens: Math.min(input.maxTokens, budgetTokens - inputTokens),
    budgetTokens,
  };
}
