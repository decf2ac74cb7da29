/**
 * The two exact encodings: cl100k_base (GPT-3.5, GPT-4, text-embedding-3) and o200k_base (GPT-4o,
 * o-series), as `tiktoken` defines them (tiktoken_ext/openai_public.py at
 * openai/tiktoken@4e71bbe0c078468e00fefbf94b39849389f346e5), translated to JS regex syntax.
 *
 * Vocabularies: the rank files come from `js-tiktoken`'s rank modules (`js-tiktoken/ranks/*`), a
 * runtime dependency used for its data only. They are JS modules, so esbuild bundles them and
 * nothing is read from disk or fetched at run time; each is behind its own dynamic `import()`, so a
 * process decodes only the encodings it uses (esbuild keeps the module's evaluation lazy in a
 * single-file bundle). Unbundled (tests, scripts) the module is js-tiktoken's text, read by
 * {@link parseRanks}. In a deploy bundle the esbuild plugin `tiktokenRanksPacked`
 * (infra/esbuild/plugins.cjs) replaces it with the same tokens packed and brotli-compressed
 * ({@link unpackRanks}): 1.5 MB of base64 instead of 3.4 MB of text for both encodings, and none of
 * it in the source map. The unit tests rebuild each `.tiktoken` file from both forms (the packed one
 * from a deploy-style bundle) and check it against the SHA-256 tiktoken pins for it, so the data is
 * OpenAI's, byte for byte.
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
import { brotliDecompressSync } from 'node:zlib';
import { z } from 'zod';
import { type BpeDefinition, BytePairEncoding, type Vocabulary } from './bpe.ts';

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

/** Each encoding's rank module, imported only when first asked for. */
const RANK_MODULE: Record<ExactEncodingName, () => Promise<{ default: unknown }>> = {
  cl100k_base: () => import('js-tiktoken/ranks/cl100k_base'),
  o200k_base: () => import('js-tiktoken/ranks/o200k_base'),
};

/** What a rank module exports: js-tiktoken's text, or (in a deploy bundle) the packed, compressed tokens. */
const rankModuleSchema = z.union([z.object({ packedRanks: z.instanceof(Uint8Array) }), z.object({ bpe_ranks: z.string() })]);

const imported = new Set<ExactEncodingName>();

/** The encodings whose rank data this process has imported so far (what a cold start paid for). */
export function loadedEncodingNames(): ExactEncodingName[] {
  return [...imported].sort();
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i += 1) BASE64_VALUE[BASE64.charCodeAt(i)] = i;
const SPACE = 0x20;
const NEWLINE = 0x0a;
const PAD = 0x3d;

/**
 * Decodes js-tiktoken's rank format into a {@link Vocabulary}, in one pass over the string with no
 * string made per token. Each line is `<first token> <first rank> <base64 token> <base64 token> …`,
 * ranks consecutive from the first; lines must continue each other's ranks (they do: one line per
 * encoding today).
 * @throws Error when the data is not in that format, or its ranks are not consecutive from 0.
 */
export function parseRanks(data: string): Vocabulary {
  let spaces = 0;
  for (let at = data.indexOf(' '); at !== -1; at = data.indexOf(' ', at + 1)) spaces += 1;
  const bytes = new Uint8Array(Math.ceil((data.length * 3) / 4));
  const starts = new Uint32Array(spaces + 2);
  let size = 0;
  let length = 0;
  let i = 0;
  while (i < data.length) {
    if (data.charCodeAt(i) === NEWLINE) {
      i += 1;
      continue;
    }
    // The line's first token in plain text (unused), then its first rank.
    while (i < data.length && data.charCodeAt(i) !== SPACE) i += 1;
    i += 1;
    let first = 0;
    let digits = 0;
    for (let code = data.charCodeAt(i); code >= 0x30 && code <= 0x39; code = data.charCodeAt(++i)) {
      first = first * 10 + code - 0x30;
      digits += 1;
    }
    if (digits === 0 || first !== size) throw new Error(`rank data: a line starts at rank ${digits === 0 ? '?' : first}, expected ${size}`);
    while (i < data.length && data.charCodeAt(i) === SPACE) {
      i += 1;
      starts[size] = length;
      let bits = 0;
      let buffer = 0;
      for (let code = data.charCodeAt(i); i < data.length && code !== SPACE && code !== NEWLINE; code = data.charCodeAt(++i)) {
        if (code === PAD) continue;
        const value = code < 128 ? (BASE64_VALUE[code] ?? -1) : -1;
        if (value < 0) throw new Error(`rank data: ${JSON.stringify(String.fromCharCode(code))} in token ${size} is not base64`);
        buffer = ((buffer << 6) | value) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          bytes[length++] = (buffer >> bits) & 0xff;
        }
      }
      if (starts[size] === length) throw new Error(`rank data: token ${size} is empty`);
      size += 1;
    }
  }
  starts[size] = length;
  return { bytes: bytes.slice(0, length), starts: starts.slice(0, size + 1), size };
}

/** First bytes of {@link unpackRanks}'s format, so a plugin and a reader out of step fail loudly. */
export const PACKED_RANKS_MAGIC = 'tkr1';
const HEADER_BYTES = 8;

/**
 * Decodes the packed rank format the deploy bundle carries (written by `tiktokenRanksPacked` in
 * infra/esbuild/plugins.cjs) into a {@link Vocabulary}: brotli over `tkr1`, the token count `n` as
 * a little-endian uint32, `n` token lengths of one byte each (tokens are 1 to 255 bytes; the longest
 * today is 128), then every token's bytes in rank order. Lengths and bytes sit in two blocks because
 * brotli packs them 5% smaller than interleaved.
 * @throws Error when the data is not brotli, lacks the magic, has an empty token, or its length does
 *   not match its header and lengths.
 */
export function unpackRanks(compressed: Uint8Array): Vocabulary {
  const packed = brotliDecompressSync(compressed);
  const magic = packed.toString('latin1', 0, PACKED_RANKS_MAGIC.length);
  if (packed.length < HEADER_BYTES || magic !== PACKED_RANKS_MAGIC)
    throw new Error(`packed ranks: expected the ${PACKED_RANKS_MAGIC} header`);
  const size = packed.readUInt32LE(PACKED_RANKS_MAGIC.length);
  const starts = new Uint32Array(size + 1);
  let length = 0;
  for (let rank = 0; rank < size; rank += 1) {
    const tokenLength = packed[HEADER_BYTES + rank] ?? 0;
    if (tokenLength === 0) throw new Error(`packed ranks: token ${rank} is empty or missing`);
    starts[rank] = length;
    length += tokenLength;
  }
  starts[size] = length;
  const offset = HEADER_BYTES + size;
  if (packed.length !== offset + length)
    throw new Error(`packed ranks: ${packed.length} bytes, expected ${offset + length} for ${size} tokens`);
  // A copy, so the vocabulary does not keep the header and lengths alive.
  return { bytes: new Uint8Array(packed.subarray(offset)), starts, size };
}

/** The vocabulary of `name`, loading its data on first use. */
export async function loadVocabulary(name: ExactEncodingName): Promise<Vocabulary> {
  imported.add(name);
  const data = rankModuleSchema.parse((await RANK_MODULE[name]()).default);
  return 'packedRanks' in data ? unpackRanks(data.packedRanks) : parseRanks(data.bpe_ranks);
}

/** The definition of `name` (vocabulary, pattern, special tokens). */
export async function encodingDefinition(name: ExactEncodingName): Promise<BpeDefinition> {
  return {
    name,
    vocabulary: await loadVocabulary(name),
    pattern: name === 'cl100k_base' ? CL100K_PATTERN : O200K_PATTERN,
    specialTokens: SPECIAL_TOKENS[name],
  };
}

/** A new {@link BytePairEncoding} for `name` (callers cache it: see lib/gateway/tokenizer.ts). */
export async function loadEncoding(name: ExactEncodingName): Promise<BytePairEncoding> {
  return new BytePairEncoding(await encodingDefinition(name));
}
