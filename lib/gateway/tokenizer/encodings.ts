/**
 * The two exact encodings: cl100k_base (GPT-3.5, GPT-4, text-embedding-3) and o200k_base (GPT-4o,
 * o-series), as `tiktoken` defines them (tiktoken_ext/openai_public.py at
 * openai/tiktoken@4e71bbe0c078468e00fefbf94b39849389f346e5), translated to JS regex syntax.
 *
 * Vocabularies: the rank files come from `js-tiktoken`'s rank modules (`js-tiktoken/ranks/*`), a
 * runtime dependency used for its data only. They are JS modules, so esbuild bundles them and
 * nothing is read from disk or fetched at run time; each is behind its own dynamic `import()`, so a
 * process parses only the encodings it uses (esbuild keeps the module's evaluation lazy in a
 * single-file bundle). The unit test rebuilds each `.tiktoken` file from that data and checks it
 * against the SHA-256 tiktoken pins for it, so the data is OpenAI's, byte for byte.
 *
 * Regex translation (tiktoken runs its patterns with Rust's `fancy-regex`, Unicode-aware):
 * - `\s` is Unicode White_Space there; JS's `\s` differs (it lacks U+0085 NEL and has U+FEFF), so
 *   `\s`/`\S` are written `\p{White_Space}`/`\P{White_Space}`. (js-tiktoken and
 *   @microsoft/tiktokenizer keep `\s` and so split " \u00850" differently from tiktoken.)
 * - `(?i:'s|…)` (case-insensitive group; JS in Node 22 has no inline flags) is spelled out, including
 *   ſ (U+017F), which Unicode case folding matches to `s` (no token starts with ſ, so this changes
 *   pieces, never ids).
 * - Possessive quantifiers (`?+`, `++`, `*+`) become greedy ones: in these patterns nothing after them
 *   could match by backtracking into them, so the matches are the same.
 */
import { type BpeDefinition, BytePairEncoding } from './bpe.ts';

/** The exact encodings this module provides. */
export type ExactEncodingName = 'cl100k_base' | 'o200k_base';

const WS = '\\p{White_Space}';
const NOT_WS = '\\P{White_Space}';
/** tiktoken's `(?i:'s|'t|'re|'ve|'m|'ll|'d)`, case folded as Unicode does. */
const CONTRACTION = "'(?:[sSſ]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])";

/** tiktoken: `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s` */
export const CL100K_PATTERN = [
  CONTRACTION,
  '[^\\r\\n\\p{L}\\p{N}]?\\p{L}+',
  '\\p{N}{1,3}',
  ` ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*`,
  `${WS}+$`,
  `${WS}*[\\r\\n]`,
  `${WS}+(?!${NOT_WS})`,
  WS,
].join('|');

const UPPER = '[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]';
const LOWER = '[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]';
/** tiktoken's o200k_base pattern (seven alternatives, see the module comment for the translation). */
export const O200K_PATTERN = [
  `[^\\r\\n\\p{L}\\p{N}]?${UPPER}*${LOWER}+(?:${CONTRACTION})?`,
  `[^\\r\\n\\p{L}\\p{N}]?${UPPER}+${LOWER}*(?:${CONTRACTION})?`,
  '\\p{N}{1,3}',
  ` ?[^${WS}\\p{L}\\p{N}]+[\\r\\n/]*`,
  `${WS}*[\\r\\n]+`,
  `${WS}+(?!${NOT_WS})`,
  `${WS}+`,
].join('|');

/**
 * Special tokens per encoding. cl100k_base: tiktoken's five plus the ChatML pair `<|im_start|>`
 * 100264 and `<|im_end|>` 100265 (tiktoken's README `cl100k_im` extension, what GPT-3.5/GPT-4 chat
 * uses; the conformance vectors use them). o200k_base: tiktoken's two.
 */
export const SPECIAL_TOKENS: Readonly<Record<ExactEncodingName, Readonly<Record<string, number>>>> = {
  cl100k_base: {
    '<|endoftext|>': 100257,
    '<|fim_prefix|>': 100258,
    '<|fim_middle|>': 100259,
    '<|fim_suffix|>': 100260,
    '<|im_start|>': 100264,
    '<|im_end|>': 100265,
    '<|endofprompt|>': 100276,
  },
  o200k_base: {
    '<|endoftext|>': 199999,
    '<|endofprompt|>': 200018,
  },
};

/** SHA-256 of each `.tiktoken` rank file, as tiktoken pins them (`expected_hash`). */
export const RANK_FILE_SHA256: Readonly<Record<ExactEncodingName, string>> = {
  cl100k_base: '223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7',
  o200k_base: '446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d',
};

/** Each encoding's compressed rank data (js-tiktoken's format), imported only when first asked for. */
const RANK_DATA: Record<ExactEncodingName, () => Promise<string>> = {
  cl100k_base: async () => (await import('js-tiktoken/ranks/cl100k_base')).default.bpe_ranks,
  o200k_base: async () => (await import('js-tiktoken/ranks/o200k_base')).default.bpe_ranks,
};

const imported = new Set<ExactEncodingName>();

/** The encodings whose rank data this process has imported so far (what a cold start paid for). */
export function loadedEncodingNames(): ExactEncodingName[] {
  return [...imported].sort();
}

/**
 * Decodes js-tiktoken's rank format into the vocabulary in rank order (binary strings). Each line is
 * `<first token> <first rank> <base64 token> <base64 token> …`, ranks consecutive from the first.
 * @throws Error when the data is not in that format, or leaves a rank unset.
 */
export function parseRanks(data: string): string[] {
  const tokens: string[] = [];
  for (const line of data.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const first = Number(fields[1]);
    if (!Number.isInteger(first) || first < 0)
      throw new Error(`rank data: bad first rank in line starting ${JSON.stringify(line.slice(0, 40))}`);
    for (let i = 2; i < fields.length; i += 1) tokens[first + i - 2] = atob(fields[i] ?? '');
  }
  for (let rank = 0; rank < tokens.length; rank += 1) {
    if (tokens[rank] === undefined) throw new Error(`rank data: rank ${rank} is missing`);
  }
  return tokens;
}

/** The vocabulary of `name` in rank order (binary strings), loading its data on first use. */
export async function loadVocabulary(name: ExactEncodingName): Promise<string[]> {
  imported.add(name);
  return parseRanks(await RANK_DATA[name]());
}

/** The definition of `name` (vocabulary, pattern, special tokens). */
export async function encodingDefinition(name: ExactEncodingName): Promise<BpeDefinition> {
  return {
    name,
    tokens: await loadVocabulary(name),
    pattern: name === 'cl100k_base' ? CL100K_PATTERN : O200K_PATTERN,
    specialTokens: SPECIAL_TOKENS[name],
  };
}

/** A new {@link BytePairEncoding} for `name` (callers cache it: see lib/gateway/tokenizer.ts). */
export async function loadEncoding(name: ExactEncodingName): Promise<BytePairEncoding> {
  return new BytePairEncoding(await encodingDefinition(name));
}
