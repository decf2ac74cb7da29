/**
 * tiktoken's byte-pair encoding, in TypeScript: the same pre-tokenising regex, the same merge order
 * and the same special-token handling as `tiktoken`'s Rust core (`src/lib.rs`), so ids match it
 * exactly (test/unit/gateway-tokenizer.test.ts checks the shared conformance vectors).
 *
 * Byte strings are held as "binary" JS strings (one char per byte, 0–255): a vocabulary entry, a
 * piece being merged and a map key are the same cheap value, and V8 hashes them natively.
 *
 * Merging follows tiktoken's `_byte_pair_merge`: repeatedly merge the adjacent pair whose bytes have
 * the lowest rank, the leftmost on ties, until no pair is in the vocabulary. Short pieces (nearly all)
 * use tiktoken's array scan; pieces over {@link HEAP_MERGE_MIN_BYTES} bytes (long runs of spaces,
 * base64, minified code) use a heap over a linked list, which picks the same pairs in the same order
 * in O(n log n) instead of O(n²), so a hostile 1 MB piece cannot stall a Lambda.
 */

/** No rank: the pair is not in the vocabulary (tiktoken's `Rank::MAX`). */
const NO_RANK = 0x7fffffff;

/** Above this many bytes a piece is merged with the heap; below, the array scan is faster. */
export const HEAP_MERGE_MIN_BYTES = 128;

/** Merged pieces kept per encoding (piece bytes → ids); cleared when full. Pieces found whole in the vocabulary skip it. */
const PIECE_CACHE_SIZE = 32_768;

/** What defines one encoding: its vocabulary, its pre-tokenising regex and its special tokens. */
export interface BpeDefinition {
  /** The encoding's name (`cl100k_base`). */
  name: string;
  /** Vocabulary in rank order: `tokens[rank]` is that token's bytes as a binary string. */
  tokens: readonly string[];
  /** The pre-tokenising pattern, in JS syntax (`u` flag; `g` is added). */
  pattern: string;
  /** Special token text → id. */
  specialTokens: Readonly<Record<string, number>>;
}

/** Escapes `text` for use inside a RegExp. */
const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/**
 * The UTF-8 bytes of `text` as a binary string. Lone surrogates become U+FFFD (EF BF BD), as tiktoken
 * does (it re-decodes such text with `errors="replace"` before encoding).
 */
export function utf8Binary(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length; i += 1) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return text;
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A 50-bit heap key: rank in the high bits, byte position in the low 32, so ties go to the leftmost pair. */
const heapKey = (rank: number, position: number): number => rank * 4_294_967_296 + position;

/** A binary min-heap of numbers (heap keys), no allocation per push. */
class KeyHeap {
  private keys: Float64Array;
  size = 0;
  constructor(capacity: number) {
    this.keys = new Float64Array(Math.max(16, capacity));
  }
  push(key: number): void {
    if (this.size === this.keys.length) {
      const grown = new Float64Array(this.keys.length * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    const keys = this.keys;
    let i = this.size;
    this.size += 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = keys[parent] ?? 0;
      if (above <= key) break;
      keys[i] = above;
      i = parent;
    }
    keys[i] = key;
  }
  pop(): number {
    const keys = this.keys;
    const top = keys[0] ?? 0;
    this.size -= 1;
    const last = keys[this.size] ?? 0;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) break;
      const right = left + 1;
      const child = right < this.size && (keys[right] ?? 0) < (keys[left] ?? 0) ? right : left;
      const below = keys[child] ?? 0;
      if (below >= last) break;
      keys[i] = below;
      i = child;
    }
    keys[i] = last;
    return top;
  }
}

/**
 * One encoding, ready to use: encode (with tiktoken's allowed-special semantics), decode, count.
 * Build it once per process (parsing a vocabulary takes tens of milliseconds) and share it.
 */
export class BytePairEncoding {
  readonly name: string;
  /** Special token text → id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  private readonly ranks: Map<string, number>;
  private readonly tokens: readonly string[];
  private readonly specialById: Map<number, string>;
  private readonly pattern: RegExp;
  private readonly specialPattern: RegExp | undefined;
  private cache = new Map<string, number[]>();

  constructor(definition: BpeDefinition) {
    this.name = definition.name;
    this.tokens = definition.tokens;
    this.ranks = new Map();
    for (let rank = 0; rank < definition.tokens.length; rank += 1) {
      const token = definition.tokens[rank];
      if (token !== undefined) this.ranks.set(token, rank);
    }
    this.specialTokens = new Map(Object.entries(definition.specialTokens));
    this.specialById = new Map([...this.specialTokens].map(([text, id]) => [id, text]));
    this.pattern = new RegExp(definition.pattern, 'gu');
    // Longest first, so one special token that prefixes another cannot shadow it.
    const specials = [...this.specialTokens.keys()].sort((a, b) => b.length - a.length);
    this.specialPattern = specials.length > 0 ? new RegExp(specials.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  /** The number of ordinary tokens (the vocabulary's size, without special tokens). */
  get vocabularySize(): number {
    return this.tokens.length;
  }

  /**
   * Token ids of `text`. Special-token text is encoded as ordinary text unless its name is in
   * `allowed` (tiktoken's `allowed_special`), in which case it becomes its special id.
   */
  encode(text: string, allowed?: ReadonlySet<string>): number[] {
    const out: number[] = [];
    if (!allowed || allowed.size === 0 || !this.specialPattern) {
      this.encodeOrdinary(text, out);
      return out;
    }
    const special = this.specialPattern;
    let start = 0;
    for (;;) {
      // tiktoken: find the next special token that is allowed; a disallowed one stays ordinary text.
      let next: RegExpExecArray | null = null;
      special.lastIndex = start;
      for (;;) {
        next = special.exec(text);
        if (next === null || allowed.has(next[0])) break;
        special.lastIndex = next.index + 1;
      }
      const end = next === null ? text.length : next.index;
      if (end > start) this.encodeOrdinary(start === 0 && end === text.length ? text : text.slice(start, end), out);
      if (next === null) break;
      const id = this.specialTokens.get(next[0]);
      if (id !== undefined) out.push(id);
      start = next.index + next[0].length;
    }
    return out;
  }

  /** Number of tokens of `text` (same options as {@link encode}). */
  count(text: string, allowed?: ReadonlySet<string>): number {
    return this.encode(text, allowed).length;
  }

  /**
   * The text of `ids`. Bytes that are not valid UTF-8 on their own (an id list cut inside a
   * character) decode to U+FFFD, as tiktoken's `decode` (errors="replace"). Unknown ids throw.
   * @throws RangeError naming the first id that is neither a token nor a special token.
   */
  decode(ids: readonly number[]): string {
    return Buffer.from(this.decodeBinary(ids), 'latin1').toString('utf8');
  }

  /** The bytes of `ids` as a binary string. */
  decodeBinary(ids: readonly number[]): string {
    let bytes = '';
    for (const id of ids) {
      const token = this.tokens[id];
      if (token !== undefined) {
        bytes += token;
        continue;
      }
      const special = this.specialById.get(id);
      if (special === undefined) throw new RangeError(`token id ${id} is not in ${this.name}`);
      bytes += utf8Binary(special);
    }
    return bytes;
  }

  /** Appends the ids of `text`, with no special tokens, to `out`. */
  private encodeOrdinary(text: string, out: number[]): void {
    const pattern = this.pattern;
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      const piece = utf8Binary(match[0]);
      const rank = this.ranks.get(piece);
      if (rank !== undefined) {
        out.push(rank);
        continue;
      }
      const cached = this.cache.get(piece);
      if (cached) {
        for (const id of cached) out.push(id);
        continue;
      }
      const ids = piece.length >= HEAP_MERGE_MIN_BYTES ? this.mergeWithHeap(piece) : this.mergeWithScan(piece);
      if (this.cache.size >= PIECE_CACHE_SIZE) this.cache = new Map();
      this.cache.set(piece, ids);
      for (const id of ids) out.push(id);
    }
  }

  private rankOf(bytes: string): number {
    return this.ranks.get(bytes) ?? NO_RANK;
  }

  /** The rank of a single byte: every byte is in these vocabularies. */
  private byteRank(bytes: string): number {
    const rank = this.ranks.get(bytes);
    if (rank === undefined) throw new RangeError(`byte ${bytes.charCodeAt(0)} is not in ${this.name}`);
    return rank;
  }

  /**
   * tiktoken's `_byte_pair_merge`, as written there: `starts[i]` is where part i begins, `pairRanks[i]`
   * the rank of part i joined with part i+1; merge the lowest (leftmost on ties), update its two
   * neighbours' ranks, repeat. Public so tests can check it against {@link mergeWithHeap}.
   */
  mergeWithScan(piece: string): number[] {
    const n = piece.length;
    if (n === 1) return [this.byteRank(piece)];
    const starts = new Int32Array(n + 1);
    const pairRanks = new Int32Array(n + 1);
    let parts = n + 1;
    let minRank = NO_RANK;
    let minIndex = -1;
    for (let i = 0; i < n - 1; i += 1) {
      const rank = this.rankOf(piece.slice(i, i + 2));
      if (rank < minRank) {
        minRank = rank;
        minIndex = i;
      }
      starts[i] = i;
      pairRanks[i] = rank;
    }
    starts[n - 1] = n - 1;
    pairRanks[n - 1] = NO_RANK;
    starts[n] = n;
    pairRanks[n] = NO_RANK;
    const rankAfterMerge = (i: number): number => (i + 3 < parts ? this.rankOf(piece.slice(starts[i] ?? 0, starts[i + 3] ?? 0)) : NO_RANK);
    while (minRank !== NO_RANK) {
      const i = minIndex;
      if (i > 0) pairRanks[i - 1] = rankAfterMerge(i - 1);
      pairRanks[i] = rankAfterMerge(i);
      starts.copyWithin(i + 1, i + 2, parts);
      pairRanks.copyWithin(i + 1, i + 2, parts);
      parts -= 1;
      minRank = NO_RANK;
      minIndex = -1;
      for (let j = 0; j < parts - 1; j += 1) {
        const rank = pairRanks[j] ?? NO_RANK;
        if (rank < minRank) {
          minRank = rank;
          minIndex = j;
        }
      }
    }
    const ids = new Array<number>(parts - 1);
    for (let i = 0; i < parts - 1; i += 1) ids[i] = this.byteRank(piece.slice(starts[i] ?? 0, starts[i + 1] ?? 0));
    return ids;
  }

  /**
   * The same merges as {@link mergeWithScan}, found with a heap: parts form a linked list over byte
   * positions (`next`/`prev` indexed by a part's start), and the heap holds (rank, start) of every
   * current pair; a popped pair whose rank is stale (a neighbour merged since) is skipped. The lowest
   * key is the lowest rank and, on ties, the leftmost start: the pair tiktoken's scan would pick.
   */
  mergeWithHeap(piece: string): number[] {
    const n = piece.length;
    const next = new Int32Array(n + 1);
    const prev = new Int32Array(n + 1);
    const pairRank = new Int32Array(n + 1);
    const heap = new KeyHeap(n);
    for (let i = 0; i <= n; i += 1) {
      next[i] = i + 1;
      prev[i] = i - 1;
      pairRank[i] = NO_RANK;
    }
    // The rank of the part starting at `start` joined with the part after it.
    const joinedRank = (start: number): number => {
      if (start >= n) return NO_RANK;
      const second = next[start] ?? n;
      if (second >= n) return NO_RANK;
      return this.rankOf(piece.slice(start, next[second] ?? n));
    };
    for (let i = 0; i < n - 1; i += 1) {
      const rank = this.rankOf(piece.slice(i, i + 2));
      pairRank[i] = rank;
      if (rank !== NO_RANK) heap.push(heapKey(rank, i));
    }
    while (heap.size > 0) {
      const key = heap.pop();
      const start = key % 4_294_967_296;
      const rank = (key - start) / 4_294_967_296;
      if (pairRank[start] !== rank) continue;
      // Merge the part at `start` with the one after it.
      const removed = next[start] ?? n;
      const after = next[removed] ?? n;
      next[start] = after;
      if (after <= n) prev[after] = start;
      pairRank[removed] = NO_RANK;
      const own = joinedRank(start);
      pairRank[start] = own;
      if (own !== NO_RANK) heap.push(heapKey(own, start));
      const before = prev[start] ?? -1;
      if (before >= 0) {
        const theirs = joinedRank(before);
        pairRank[before] = theirs;
        if (theirs !== NO_RANK) heap.push(heapKey(theirs, before));
      }
    }
    const ids: number[] = [];
    for (let start = 0; start < n; start = next[start] ?? n) ids.push(this.byteRank(piece.slice(start, next[start] ?? n)));
    return ids;
  }
}
