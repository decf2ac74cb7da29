/**
 * Gateway tokenizer (lib/gateway/tokenizer.ts): every case of the conformance set in
 * test/fixtures/conformance/tokenizer/ (tiktoken's and microsoft/Tokenizer's vectors, the cookbook's
 * recorded outputs, a 24 KB text with its full cl100k_base and o200k_base id lists), the rank data
 * against tiktoken's pinned hashes, differential checks against tiktoken's own Rust core (the `tiktoken`
 * package, WebAssembly, a dev dependency) on generated text, the chat rule against the cookbook's
 * counts recorded from the OpenAI API, the approximation's bounds, and the deployable bundle (no disk
 * read outside it, no network, one family loaded, the packed rank data exact and the raw text kept out
 * of the bundle and its source map).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import fc from 'fast-check';
import { get_encoding, type Tiktoken } from 'tiktoken';
import { z } from 'zod';
import type { ChatMessage } from '../../lib/gateway/backend.ts';
import { HEAP_MERGE_MIN_BYTES } from '../../lib/gateway/tokenizer/bpe.ts';
import {
  type ExactEncodingName,
  loadEncoding,
  loadVocabulary,
  PACKED_RANKS_MAGIC,
  RANK_FILE_SHA256,
  SPECIAL_TOKENS,
  unpackRanks,
} from '../../lib/gateway/tokenizer/encodings.ts';
import {
  APPROX_RULE,
  approximateCount,
  CHAT_REPLY_PRIMING_TOKENS,
  CHAT_TOKENS_PER_MESSAGE,
  countChat,
  TokenizerError,
  type TokenizerFamily,
  tokenizer,
} from '../../lib/gateway/tokenizer.ts';
import { conformancePath } from '../helpers/conformance.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXACT: ExactEncodingName[] = ['cl100k_base', 'o200k_base'];

const fileRef = z.object({ file: z.string() }).strict();
const idsFileRef = z.object({ file: z.string(), count: z.number().int() }).strict();
const caseSchema = z.object({
  encoding: z.enum(['cl100k_base', 'o200k_base']),
  method: z.enum(['encode', 'decode']),
  args: z.tuple([z.union([z.string(), z.array(z.number().int()), fileRef])]),
  kwargs: z.object({ allowed_special: z.union([z.literal('all'), z.array(z.string())]).optional(), note: z.string().optional() }).strict(),
  expected: z.union([z.string(), z.array(z.number().int()), idsFileRef]),
  origin: z.string(),
});
const cases = z.array(caseSchema).parse(JSON.parse(await readFile(conformancePath('tokenizer', 'token_cases.json'), 'utf8')));
const readIds = async (file: string) =>
  z.array(z.number().int()).parse(JSON.parse(await readFile(conformancePath('tokenizer', file), 'utf8')));
const bigText = await readFile(conformancePath('tokenizer', 'mstok_lib.rs.txt'), 'utf8');

/** tiktoken's Rust core (the npm `tiktoken` package), with the same ChatML pair our cl100k_base has. */
const reference: Record<ExactEncodingName, Tiktoken> = {
  cl100k_base: get_encoding('cl100k_base', { '<|im_start|>': 100264, '<|im_end|>': 100265 }),
  o200k_base: get_encoding('o200k_base'),
};
after(() => {
  for (const encoding of Object.values(reference)) encoding.free();
});
const referenceIds = (name: ExactEncodingName, text: string, allowed: 'all' | string[] = []) =>
  Array.from(reference[name].encode(text, allowed, []));

describe('gateway tokenizer: conformance vectors', () => {
  it('has the 30 cases SOURCE.md describes', () => assert.equal(cases.length, 30));

  for (const [index, testCase] of cases.entries()) {
    const [arg] = testCase.args;
    const label = typeof arg === 'object' && !Array.isArray(arg) ? arg.file : JSON.stringify(arg);
    it(`case ${index}: ${testCase.encoding} ${testCase.method} ${label} ${JSON.stringify(testCase.kwargs.allowed_special ?? [])} (${testCase.origin})`, async () => {
      const tok = await tokenizer(testCase.encoding);
      const options = testCase.kwargs.allowed_special === undefined ? undefined : { allowedSpecial: testCase.kwargs.allowed_special };
      if (testCase.method === 'decode') {
        assert.ok(Array.isArray(arg));
        assert.equal(tok.decode(arg), testCase.expected);
        return;
      }
      const text = typeof arg === 'string' ? arg : await readFile(conformancePath('tokenizer', fileRef.parse(arg).file), 'utf8');
      const expectedFile = idsFileRef.safeParse(testCase.expected);
      const expected = expectedFile.success ? await readIds(expectedFile.data.file) : z.array(z.number().int()).parse(testCase.expected);
      if (expectedFile.success) assert.equal(expected.length, expectedFile.data.count);
      const ids = tok.encode(text, options);
      assert.deepEqual(ids, expected);
      assert.equal(tok.count(text, options), expected.length);
    });
  }

  for (const name of EXACT) {
    it(`${name}: the 24 KB text decodes back from its reference ids`, async () => {
      const ids = await readIds(`mstok_lib.rs.${name}.tokens.json`);
      assert.equal((await tokenizer(name)).decode(ids), bigText);
    });
  }
});

/** SHA-256 of the `.tiktoken` file (`<base64 token> <rank>` lines) rebuilt from a vocabulary. */
function tiktokenFileSha256({ bytes, starts, size }: { bytes: Uint8Array; starts: Uint32Array; size: number }): string {
  const hash = createHash('sha256');
  for (let rank = 0; rank < size; rank += 1) {
    hash.update(`${Buffer.from(bytes.subarray(starts[rank], starts[rank + 1])).toString('base64')} ${rank}\n`);
  }
  return hash.digest('hex');
}

/** The packed rank format of {@link unpackRanks}, brotli-compressed, from token byte strings. */
const packTokens = (tokens: string[], { count = tokens.length, magic = PACKED_RANKS_MAGIC, trailing = '' } = {}) => {
  const header = Buffer.alloc(8);
  header.write(magic, 0, 'latin1');
  header.writeUInt32LE(count, 4);
  const bytes = tokens.map((token) => Buffer.from(token, 'latin1'));
  return brotliCompressSync(
    Buffer.concat([header, Buffer.from(bytes.map((token) => token.length)), ...bytes, Buffer.from(trailing, 'latin1')]),
  );
};

describe('gateway tokenizer: rank data', () => {
  for (const name of EXACT) {
    it(`${name}: rebuilding the .tiktoken file from the bundled data gives tiktoken's pinned SHA-256`, async () => {
      assert.equal(tiktokenFileSha256(await loadVocabulary(name)), RANK_FILE_SHA256[name]);
    });
  }

  it('unpacks the packed format: token bytes in rank order, offsets from the length bytes', () => {
    const vocabulary = unpackRanks(packTokens(['a', 'bc', '\xff\x00d']));
    assert.equal(vocabulary.size, 3);
    assert.deepEqual([...vocabulary.starts], [0, 1, 3, 6]);
    assert.deepEqual([...vocabulary.bytes], [0x61, 0x62, 0x63, 0xff, 0x00, 0x64]);
  });

  it('rejects packed data that is not brotli, lacks the header, has an empty token or the wrong length', () => {
    assert.throws(() => unpackRanks(Buffer.from('tkr1 not compressed')));
    assert.throws(() => unpackRanks(packTokens(['a'], { magic: 'nope' })), /expected the tkr1 header/);
    assert.throws(() => unpackRanks(packTokens(['a', ''])), /token 1 is empty or missing/);
    assert.throws(() => unpackRanks(packTokens(['a', 'b'], { count: 3 })), /12 bytes, expected 110 for 3 tokens/);
    assert.throws(() => unpackRanks(packTokens(['a', 'b'], { trailing: 'x' })), /13 bytes, expected 12 for 2 tokens/);
  });

  it('has tiktoken special-token ids (cl100k_base with the ChatML pair; o200k_base <|endofprompt|> is 200018)', async () => {
    assert.deepEqual(Object.fromEntries((await tokenizer('o200k_base')).specialTokens), SPECIAL_TOKENS.o200k_base);
    assert.equal((await tokenizer('o200k_base')).encode('<|endofprompt|>', { allowedSpecial: 'all' })[0], 200018);
    assert.equal((await tokenizer('cl100k_base')).encode('<|endofprompt|>', { allowedSpecial: ['<|endofprompt|>'] })[0], 100276);
    for (const [text, id] of Object.entries(SPECIAL_TOKENS.cl100k_base)) assert.deepEqual(referenceIds('cl100k_base', text, 'all'), [id]);
    for (const [text, id] of Object.entries(SPECIAL_TOKENS.o200k_base)) assert.deepEqual(referenceIds('o200k_base', text, 'all'), [id]);
  });
});

describe('gateway tokenizer: special tokens', () => {
  for (const name of EXACT) {
    it(`${name}: by default special-token text is ordinary text, never an error`, async () => {
      const tok = await tokenizer(name);
      const text = 'a <|endoftext|> b <|endofprompt|>';
      const ids = tok.encode(text);
      assert.deepEqual(ids, referenceIds(name, text));
      for (const id of tok.specialTokens.values()) assert.ok(!ids.includes(id));
      assert.equal(tok.decode(ids), text);
    });

    it(`${name}: allowed tokens are recognised mid-text while the others stay text`, async () => {
      const tok = await tokenizer(name);
      const text = 'x<|endoftext|>y<|endofprompt|>z<|endoftext|>';
      assert.deepEqual(tok.encode(text, { allowedSpecial: ['<|endoftext|>'] }), referenceIds(name, text, ['<|endoftext|>']));
      assert.equal(
        tok.encode(text, { allowedSpecial: ['<|endoftext|>'] }).filter((id) => id === tok.specialTokens.get('<|endoftext|>')).length,
        2,
      );
      assert.deepEqual(tok.encode(text, { allowedSpecial: 'all' }), referenceIds(name, text, 'all'));
    });

    it(`${name}: names the encoding does not have are ignored, as tiktoken does`, async () => {
      const tok = await tokenizer(name);
      assert.deepEqual(tok.encode('<|nope|> hi', { allowedSpecial: ['<|nope|>'] }), tok.encode('<|nope|> hi'));
    });
  }
});

describe('gateway tokenizer: same ids as tiktoken on generated text', () => {
  // Fragments at the edges of the pre-tokenising regexes: Unicode White_Space that JS's \s lacks or
  // adds (U+0085, U+FEFF), contractions in every case (and ſ, which folds to s), digits, marks,
  // title-case letters, CRLF runs, slashes (o200k), lone surrogates, special-token text.
  const fragments = [
    'hello',
    ' world',
    'Hello',
    'WORLD',
    'CamelCase',
    'ǅemal',
    "'s",
    "'S",
    "'ſ",
    "'ll",
    "'LL",
    "'Re",
    "'ve",
    "'d",
    "'m",
    "'t",
    "'x",
    ' ',
    '  ',
    '   ',
    '\t',
    '\n',
    '\r\n',
    '\n\n',
    ' \n ',
    '\u0085',
    '\ufeff',
    '\u00a0',
    '\u2028',
    '\u3000',
    '1',
    '12',
    '1234567',
    '٣٤٥',
    '½',
    '3.14',
    'e\u0301',
    '\u0301',
    'é',
    'naïve',
    'Ελληνικά',
    'русский',
    'עברית',
    'العربية',
    'हिन्दी',
    'ไทย',
    '日本語',
    'お誕生日',
    '한국어',
    '👍',
    '👨‍👩‍👧',
    '\ud83d',
    '\udc4d',
    '!',
    '?!',
    '...',
    '/',
    '//',
    'a/b',
    '--',
    '"',
    '{',
    '}',
    '<',
    '|',
    '>',
    '<|endoftext|>',
    '<|im_start|>',
    '<|im_end|>',
    '<|endofprompt|>',
    '<|fim_prefix|>',
    '<|endof',
    'text|>',
  ];
  const texts = fc.oneof(
    fc.array(fc.constantFrom(...fragments), { maxLength: 24 }).map((parts) => parts.join('')),
    fc.string({ unit: 'binary', maxLength: 64 }),
    fc.string({ unit: 'grapheme', maxLength: 64 }),
  );

  for (const name of EXACT) {
    it(`${name}: ordinary encoding matches tiktoken`, async () => {
      const tok = await tokenizer(name);
      fc.assert(
        fc.property(texts, (text) => assert.deepEqual(tok.encode(text), referenceIds(name, text))),
        { numRuns: 400 },
      );
    });

    it(`${name}: encoding with every special token allowed matches tiktoken`, async () => {
      const tok = await tokenizer(name);
      fc.assert(
        fc.property(texts, (text) => assert.deepEqual(tok.encode(text, { allowedSpecial: 'all' }), referenceIds(name, text, 'all'))),
        { numRuns: 200 },
      );
    });

    it(`${name}: well-formed text round-trips through encode and decode`, async () => {
      const tok = await tokenizer(name);
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 64 }), (text) => assert.equal(tok.decode(tok.encode(text)), text)),
        { numRuns: 200 },
      );
    });

    it(`${name}: long pieces (merged with the heap) match tiktoken`, async () => {
      const tok = await tokenizer(name);
      const long = [
        'a'.repeat(3000),
        'ab'.repeat(1500),
        `${' '.repeat(5000)}x`,
        'Supercalifragilisticexpialidocious'.repeat(40),
        'ありがとうございます'.repeat(60),
        '!@#$%^&*'.repeat(100),
      ];
      for (const text of long) assert.deepEqual(tok.encode(text), referenceIds(name, text), `${JSON.stringify(text.slice(0, 20))}…`);
    });
  }

  it('the heap merge picks the same pairs as the array scan on any bytes', async () => {
    const encoding = await loadEncoding('o200k_base');
    const same = (bytes: Uint8Array) => assert.deepEqual(encoding.mergeBytes(bytes, 'heap'), encoding.mergeBytes(bytes, 'scan'));
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 2 * HEAP_MERGE_MIN_BYTES }), same), { numRuns: 300 });
    const words = fc.constantFrom('a', 'b', ' ', 'ab', 'the', 'ing', 'あ', '👍');
    fc.assert(
      fc.property(fc.array(words, { minLength: 1, maxLength: 120 }), (parts) => same(new TextEncoder().encode(parts.join('')))),
      { numRuns: 300 },
    );
  });

  it('a lone surrogate encodes as U+FFFD, as tiktoken does', async () => {
    const tok = await tokenizer('cl100k_base');
    assert.deepEqual(tok.encode('\ud83d'), tok.encode('\ufffd'));
    assert.deepEqual(tok.encode('a\udc4db'), tok.encode('a\ufffdb'));
  });

  it('decoding ids that split a character gives U+FFFD; an unknown id is a TokenizerError', async () => {
    const tok = await tokenizer('cl100k_base');
    assert.equal(tok.decode([9468]), '\ufffd');
    assert.throws(
      () => tok.decode([15339, 100_000_000]),
      (error: unknown) => error instanceof TokenizerError && /100000000/.test(error.message),
    );
  });
});

describe('gateway tokenizer: loading', () => {
  it('returns one shared tokenizer per family', async () => {
    const [a, b] = await Promise.all([tokenizer('o200k_base'), tokenizer('o200k_base')]);
    assert.equal(a, b);
    assert.equal(await tokenizer('o200k_base'), a);
  });

  it('rejects an unknown family with a TokenizerError naming it', async () => {
    await assert.rejects(
      tokenizer('gpt2' as TokenizerFamily),
      (error: unknown) => error instanceof TokenizerError && /"gpt2"/.test(error.message),
    );
  });

  it('methods work detached from their object', async () => {
    const { count, countChat: chat } = await tokenizer('cl100k_base');
    assert.equal(count('hello world'), 2);
    assert.equal(chat([{ role: 'user', content: 'hello world' }]), 3 + 3 + 1 + 2);
  });
});

describe('gateway tokenizer: chat requests', () => {
  // openai/openai-cookbook@c81359cdc6744f001e40c08a192604c5113fdab3, examples/How_to_count_tokens_with_tiktoken.ipynb,
  // section 6: these messages cost 129 prompt tokens on gpt-4-0613 (cl100k_base) and 124 on gpt-4o
  // (o200k_base), as the OpenAI API reported them. Four messages carry a `name`, which costs its
  // tokens plus one (`tokens_per_name`); ChatMessage has no name, so those are added here.
  const named: (ChatMessage & { name?: string })[] = [
    { role: 'system', content: 'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.' },
    { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
    { role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
    {
      role: 'system',
      name: 'example_user',
      content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",
    },
    { role: 'system', name: 'example_assistant', content: "Let's talk later when we're less busy about how to do better." },
    { role: 'user', content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
  ];
  const recorded: Record<ExactEncodingName, number> = { cl100k_base: 129, o200k_base: 124 };

  for (const name of EXACT) {
    it(`${name}: the cookbook's example costs what the OpenAI API reported (${recorded[name]})`, async () => {
      const tok = await tokenizer(name);
      const messages = named.map(({ role, content }) => ({ role, content }));
      const names = named.reduce((sum, message) => sum + (message.name === undefined ? 0 : tok.count(message.name) + 1), 0);
      assert.equal((await countChat(messages, name)) + names, recorded[name]);
    });
  }

  it('is the per-message framing plus role and content tokens plus the reply priming', async () => {
    const tok = await tokenizer('o200k_base');
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello <|im_start|> world' },
      { role: 'assistant', content: '' },
    ];
    const expected =
      CHAT_REPLY_PRIMING_TOKENS + messages.reduce((sum, m) => sum + CHAT_TOKENS_PER_MESSAGE + tok.count(m.role) + tok.count(m.content), 0);
    assert.equal(await countChat(messages, 'o200k_base'), expected);
    assert.equal(await countChat([], 'cl100k_base'), CHAT_REPLY_PRIMING_TOKENS);
  });
});

describe('gateway tokenizer: approx family', () => {
  it('has no ids, and says so', async () => {
    const tok = await tokenizer('approx');
    assert.equal(tok.exact, false);
    assert.throws(() => tok.encode('hi'), TokenizerError);
    assert.throws(() => tok.decode([1]), TokenizerError);
  });

  it('applies the documented rule to the o200k_base count', async () => {
    const o200k = await tokenizer('o200k_base');
    const approx = await tokenizer('approx');
    const text = 'Größe: 日本語 हिन्दी 👍';
    // 2-byte: ö, ß; CJK: 日本語; other 3-byte: the 6 Devanagari code units; 4-byte: 👍.
    const surcharge =
      2 * APPROX_RULE.perTwoByteChar + 3 * APPROX_RULE.perCjkChar + 6 * APPROX_RULE.perOtherThreeByteChar + APPROX_RULE.perFourByteChar;
    assert.equal(approx.count(text), Math.ceil(APPROX_RULE.o200kFactor * o200k.count(text) + surcharge));
    assert.equal(approximateCount('', 0), 0);
  });

  it('never counts less than either exact tokenizer on the conformance text and on generated text', async () => {
    const [approx, cl100k, o200k] = await Promise.all([tokenizer('approx'), tokenizer('cl100k_base'), tokenizer('o200k_base')]);
    assert.ok(approx.count(bigText) >= Math.max(cl100k.count(bigText), o200k.count(bigText)));
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        assert.ok(approx.count(text) >= o200k.count(text));
      }),
      { numRuns: 300 },
    );
    const messages: ChatMessage[] = [{ role: 'user', content: bigText }];
    assert.ok((await countChat(messages, 'approx')) > (await countChat(messages, 'o200k_base')));
  });
});

describe('gateway tokenizer: in a deployable bundle', () => {
  let work = '';
  let bundleDir = '';
  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'autonomy-tokenizer-bundle-'));
    bundleDir = path.join(work, 'out');
    const entry = path.join(work, 'entry.ts');
    await writeFile(
      entry,
      [
        "import { createHash } from 'node:crypto';",
        `import { loadedEncodingNames, tokenizer } from ${JSON.stringify(path.join(root, 'lib/gateway/tokenizer.ts'))};`,
        `import { loadVocabulary } from ${JSON.stringify(path.join(root, 'lib/gateway/tokenizer/encodings.ts'))};`,
        // tiktokenFileSha256, above, run inside the bundle on its own data.
        'function tiktokenFileSha256({ bytes, starts, size }) {',
        "  const hash = createHash('sha256');",
        '  for (let rank = 0; rank < size; rank += 1) hash.update(`${Buffer.from(bytes.subarray(starts[rank], starts[rank + 1])).toString("base64")} ${rank}\\n`);',
        "  return hash.digest('hex');",
        '}',
        'export async function run(text) {',
        '  const ids = (await tokenizer("cl100k_base")).encode(text);',
        '  const loaded = loadedEncodingNames();',
        '  const sha256 = {};',
        '  for (const name of ["cl100k_base", "o200k_base"]) sha256[name] = tiktokenFileSha256(await loadVocabulary(name));',
        '  return { ids, loaded, sha256 };',
        '}',
      ].join('\n'),
    );
    const require = createRequire(import.meta.url);
    // The deploy's esbuild settings (serverless.yml custom.esbuild) and plugins.
    await esbuild.build({
      entryPoints: [entry],
      outfile: path.join(bundleDir, 'entry.mjs'),
      bundle: true,
      minify: true,
      sourcemap: true,
      keepNames: true,
      target: 'node22',
      platform: 'node',
      format: 'esm',
      mainFields: ['module', 'main'],
      plugins: require(path.join(root, 'infra/esbuild/plugins.cjs')),
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    await writeFile(path.join(bundleDir, 'input.txt'), bigText);
  });
  after(() => rm(work, { recursive: true, force: true }));

  it("counts exactly with no disk read outside the bundle and no network, loading only the family it uses; its rank data is tiktoken's", async () => {
    const script = [
      "const net = await import('node:net');",
      "net.Socket.prototype.connect = () => { throw new Error('network used'); };",
      "globalThis.fetch = () => { throw new Error('fetch used'); };",
      "const { readFileSync } = await import('node:fs');",
      `const { run } = await import(${JSON.stringify(path.join(bundleDir, 'entry.mjs'))});`,
      `console.log(JSON.stringify(await run(readFileSync(${JSON.stringify(path.join(bundleDir, 'input.txt'))}, 'utf8'))));`,
    ].join('\n');
    const out = execFileSync(
      process.execPath,
      ['--permission', `--allow-fs-read=${bundleDir}${path.sep}`, '--input-type=module', '-e', script],
      {
        cwd: bundleDir,
        encoding: 'utf8',
      },
    );
    const result = z
      .object({ ids: z.array(z.number()), loaded: z.array(z.string()), sha256: z.record(z.string(), z.string()) })
      .parse(JSON.parse(out));
    assert.deepEqual(result.ids, await readIds('mstok_lib.rs.cl100k_base.tokens.json'));
    assert.deepEqual(result.loaded, ['cl100k_base']);
    assert.deepEqual(result.sha256, RANK_FILE_SHA256);
  });

  it("keeps js-tiktoken's rank text out of the bundle and its source map: both together weigh less than that text alone", async () => {
    const require = createRequire(import.meta.url);
    const rankText = await Promise.all(
      EXACT.map(async (name) => {
        const file = require.resolve(`js-tiktoken/ranks/${name}`);
        const match = /"bpe_ranks":"([^"]+)"/.exec(await readFile(file, 'utf8'));
        assert.ok(match?.[1], `${file} has its bpe_ranks string`);
        return match[1];
      }),
    );
    const [bundle, map] = await Promise.all([
      readFile(path.join(bundleDir, 'entry.mjs'), 'utf8'),
      readFile(path.join(bundleDir, 'entry.mjs.map'), 'utf8'),
    ]);
    for (const text of rankText) {
      // Any 200 characters from the middle of the text, which the text form would carry verbatim.
      const excerpt = text.slice(text.length / 2, text.length / 2 + 200);
      assert.ok(!bundle.includes(excerpt), 'the bundle holds rank text');
      assert.ok(!map.includes(excerpt), 'the source map holds rank text');
    }
    const rankBytes = rankText.reduce((sum, text) => sum + text.length, 0);
    assert.ok(bundle.length + map.length < rankBytes, `bundle ${bundle.length} + map ${map.length} bytes, rank text alone ${rankBytes}`);
  });
});
