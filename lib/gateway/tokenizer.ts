/**
 * Token counting for budgets and context fitting: exact cl100k_base and o200k_base (tiktoken's ids,
 * in TypeScript: lib/gateway/tokenizer/), and a documented over-estimate for every other family.
 *
 * - {@link tokenizer}`(family)` loads a family once per process (its rank data is bundled and parsed
 *   on first use, in tens of milliseconds; nothing is read from disk or fetched) and returns the same {@link Tokenizer} to every caller.
 * - **Special tokens.** tiktoken's `encode` raises when user text contains a special token's text
 *   (`<|endoftext|>`, `<|im_start|>` …) unless it is allowed. Here nothing throws on user text: by
 *   default such text is encoded as ordinary text (tiktoken's `disallowed_special=()`), which is how
 *   a provider counts text a user typed, and which keeps users from injecting control tokens. With
 *   `allowedSpecial` (`'all'` or a list of token texts, tiktoken's `allowed_special`), those tokens
 *   become their special ids wherever they occur, mid-text included. Names the encoding does not
 *   have are ignored, as tiktoken does.
 * - {@link countChat}: what a chat request costs as input, by OpenAI's documented rule
 *   (openai-cookbook, How_to_count_tokens_with_tiktoken, for gpt-3.5-turbo-0613 onwards, GPT-4 and
 *   GPT-4o): every message costs {@link CHAT_TOKENS_PER_MESSAGE} (its framing) plus the tokens of its role and of its content, and every reply is primed with
 *   {@link CHAT_REPLY_PRIMING_TOKENS} (the cookbook: `<|start|>assistant<|message|>`). The cookbook calls this an
 *   estimate that OpenAI may change; it matched the API's `prompt_tokens` when it was written.
 * - `approx` (any family we do not ship): {@link approximateCount}, an over-estimate derived from
 *   o200k_base: `ceil(1.5 × o200k tokens + 1 per 2-byte UTF-8 character + 1 per CJK/Hangul/kana
 *   character + 2 per other 3-byte character + 2 per 4-byte character)`. The per-character terms
 *   cover scripts that smaller or older vocabularies (cl100k_base, Llama 2, Mistral 7B) split into
 *   bytes. Measured on public text in `npm run bench:tokenizer` (README, Tokenizers). The `approx`
 *   tokenizer has no ids: its `encode` and `decode` throw.
 *
 * @example
 * const tok = await tokenizer('o200k_base');
 * tok.encode('hello <|endoftext|>', { allowedSpecial: 'all' }); // [24912, 220, 199999]
 * tok.count('hello <|endoftext|>');                            // 8: the special text counted as text
 * await countChat([{ role: 'user', content: 'Hi' }], 'o200k_base'); // 3 + 1 + 1 + 3 = 8
 */
import { z } from 'zod';
import { DomainError } from '../errors.ts';
import type { ChatMessage, TokenizerFamily } from './backend.ts';
import type { BytePairEncoding } from './tokenizer/bpe.ts';
import { loadEncoding } from './tokenizer/encodings.ts';

export type { TokenizerFamily } from './backend.ts';
export { loadedEncodingNames } from './tokenizer/encodings.ts';

/** The tokenizer families, as configuration names them (`ModelInfo.tokenizer`). */
export const tokenizerFamilySchema = z.enum(['cl100k_base', 'o200k_base', 'approx'], {
  error: (issue) => `unknown tokenizer family ${JSON.stringify(issue.input)}; expected cl100k_base, o200k_base or approx`,
});

/** Tokens every chat message costs besides its role and content (OpenAI cookbook, `tokens_per_message`). */
export const CHAT_TOKENS_PER_MESSAGE = 3;
/** Tokens that prime the reply of every chat request (OpenAI cookbook: "every reply is primed with <|start|>assistant<|message|>"). */
export const CHAT_REPLY_PRIMING_TOKENS = 3;

/** The `approx` family's rule (see the module comment): factor on o200k_base tokens and per-character surcharges. */
export const APPROX_RULE = {
  o200kFactor: 1.5,
  /** U+0080–U+07FF: accented Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic … */
  perTwoByteChar: 1,
  /** CJK ideographs, kana, Hangul and full-width forms. */
  perCjkChar: 1,
  /** Other U+0800–U+FFFF: Indic scripts, Thai, Khmer, Georgian, Ethiopic … */
  perOtherThreeByteChar: 2,
  /** U+10000 and up: emoji, rare ideographs. */
  perFourByteChar: 2,
} as const;

/** Options of {@link Tokenizer.encode} and {@link Tokenizer.count}. */
export interface EncodeOptions {
  /**
   * Special tokens to encode as such: `'all'`, or the texts of those allowed (`['<|im_start|>']`).
   * Default: none, so special-token text is ordinary text.
   */
  allowedSpecial?: 'all' | readonly string[];
}

/** One family's tokenizer. Methods do not use `this`: `const count = tok.count` is fine. */
export interface Tokenizer {
  readonly family: TokenizerFamily;
  /** `true` for cl100k_base and o200k_base; `false` for `approx`, whose counts are estimates and which has no ids. */
  readonly exact: boolean;
  /** Special token text → id (empty for `approx`). */
  readonly specialTokens: ReadonlyMap<string, number>;
  /**
   * The token ids of `text`, as tiktoken gives them.
   * @throws TokenizerError for `approx`, which has no ids.
   */
  encode(text: string, options?: EncodeOptions): number[];
  /**
   * The text of `ids`; bytes that do not form whole UTF-8 characters decode to U+FFFD.
   * @throws TokenizerError naming an id the encoding does not have, or for `approx`.
   */
  decode(ids: readonly number[]): string;
  /** Tokens in `text` (exact, or the `approx` over-estimate). Never throws. */
  count(text: string, options?: EncodeOptions): number;
  /** Input tokens of a chat request made of `messages` (see {@link countChat}). Never throws. */
  countChat(messages: readonly ChatMessage[]): number;
}

/** A tokenizer was asked for something it cannot do (ids from `approx`, an unknown id, an unknown family). */
export class TokenizerError extends DomainError {}

/** The `role` and `content` framing cost of `messages` under a given text counter. */
function chatCount(messages: readonly ChatMessage[], count: (text: string) => number): number {
  let total = CHAT_REPLY_PRIMING_TOKENS;
  for (const message of messages) total += CHAT_TOKENS_PER_MESSAGE + count(message.role) + count(message.content);
  return total;
}

/** Whether `code` (a BMP code unit ≥ U+0800) is a CJK ideograph, kana, Hangul syllable or full-width form. */
const isCjk = (code: number): boolean =>
  (code >= 0x2e80 && code <= 0x9fff) ||
  (code >= 0xac00 && code <= 0xd7af) ||
  (code >= 0xf900 && code <= 0xfaff) ||
  (code >= 0xff00 && code <= 0xffef);

/**
 * The `approx` family's count of `text`, given its o200k_base count: see {@link APPROX_RULE}. Rounds
 * up, so it is at least 1.5 × the o200k_base count and never below it.
 */
export function approximateCount(text: string, o200kCount: number): number {
  let surcharge = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) surcharge += APPROX_RULE.perTwoByteChar;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      surcharge += APPROX_RULE.perFourByteChar;
      i += 1;
    } else surcharge += isCjk(code) ? APPROX_RULE.perCjkChar : APPROX_RULE.perOtherThreeByteChar;
  }
  return Math.ceil(APPROX_RULE.o200kFactor * o200kCount + surcharge);
}

/** The allowed set for `options` on `encoding`. */
function allowedSet(encoding: BytePairEncoding, options: EncodeOptions | undefined): ReadonlySet<string> | undefined {
  const allowed = options?.allowedSpecial;
  if (allowed === undefined) return undefined;
  if (allowed === 'all') return new Set(encoding.specialTokens.keys());
  return new Set(allowed);
}

function exactTokenizer(family: 'cl100k_base' | 'o200k_base', encoding: BytePairEncoding): Tokenizer {
  const count = (text: string, options?: EncodeOptions) => encoding.count(text, allowedSet(encoding, options));
  return {
    family,
    exact: true,
    specialTokens: encoding.specialTokens,
    encode: (text, options) => encoding.encode(text, allowedSet(encoding, options)),
    decode: (ids) => {
      try {
        return encoding.decode(ids);
      } catch (error) {
        throw new TokenizerError(error instanceof Error ? error.message : String(error));
      }
    },
    count,
    countChat: (messages) => chatCount(messages, (text) => count(text)),
  };
}

function approxTokenizer(o200k: BytePairEncoding): Tokenizer {
  const noIds = (): never => {
    throw new TokenizerError('the approx tokenizer family estimates counts and has no token ids');
  };
  const count = (text: string) => approximateCount(text, o200k.count(text));
  return {
    family: 'approx',
    exact: false,
    specialTokens: new Map(),
    encode: noIds,
    decode: noIds,
    count,
    countChat: (messages) => chatCount(messages, count),
  };
}

const encodings = new Map<'cl100k_base' | 'o200k_base', Promise<BytePairEncoding>>();
const tokenizers = new Map<TokenizerFamily, Promise<Tokenizer>>();

/** The shared encoding `name`, loaded on first use; a failed load is forgotten so the next call retries. */
function sharedEncoding(name: 'cl100k_base' | 'o200k_base'): Promise<BytePairEncoding> {
  let loading = encodings.get(name);
  if (!loading) {
    loading = loadEncoding(name);
    encodings.set(name, loading);
    loading.catch(() => encodings.delete(name));
  }
  return loading;
}

/**
 * The tokenizer of `family`, loaded once per process and shared (concurrent first calls share one load).
 * @throws TokenizerError when `family` is not a {@link TokenizerFamily}.
 * @example const { count } = await tokenizer('cl100k_base'); count('hello world'); // 2
 */
export function tokenizer(family: TokenizerFamily): Promise<Tokenizer> {
  const cached = tokenizers.get(family);
  if (cached) return cached;
  const parsed = tokenizerFamilySchema.safeParse(family);
  if (!parsed.success) return Promise.reject(new TokenizerError(parsed.error.issues[0]?.message ?? 'unknown tokenizer family'));
  const name = parsed.data;
  const loading =
    name === 'approx'
      ? sharedEncoding('o200k_base').then(approxTokenizer)
      : sharedEncoding(name).then((encoding) => exactTokenizer(name, encoding));
  tokenizers.set(name, loading);
  loading.catch(() => tokenizers.delete(name));
  return loading;
}

/**
 * Input tokens a chat request made of `messages` costs on a model of `family`:
 * Σ ({@link CHAT_TOKENS_PER_MESSAGE} + tokens(role) + tokens(content)) + {@link CHAT_REPLY_PRIMING_TOKENS},
 * OpenAI's documented rule (see the module comment). Content is counted as ordinary text (special-token
 * text a user wrote is not a special token). For `approx`, each role and content is the approximate count.
 * @throws TokenizerError when `family` is not a {@link TokenizerFamily}.
 * @example await countChat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], 'cl100k_base') // 15
 */
export async function countChat(messages: readonly ChatMessage[], family: TokenizerFamily): Promise<number> {
  return (await tokenizer(family)).countChat(messages);
}
