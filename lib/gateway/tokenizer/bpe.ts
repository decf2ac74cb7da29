/**
 * tiktoken's byte-pair encoding, in TypeScript: the same pre-tokenising regex, the same merge order
 * and the same special-token handling as `tiktoken`'s Rust core (`src/lib.rs`), so ids match it
 * exactly (test/unit/gateway-tokenizer.test.ts checks the shared conformance vectors, and compares
 * with tiktoken itself on generated text).
 *
 * Data layout, for speed: the vocabulary is one byte arena (`Vocabulary`) and an open-addressing
 * hash table over it (FNV-1a, linear probing), so a piece is looked up from its UTF-8 bytes in a
 * scratch buffer, with no string made per piece or per candidate pair; a JS `Map` of 100,000 string
 * keys costs several times more per lookup. Pieces come from a sticky regex (`test` and `lastIndex`,
 * no match arrays): tiktoken's patterns match every character, so pieces are contiguous.
 *
 * Merging follows tiktoken's `_byte_pair_merge`: repeatedly merge the adjacent pair whose bytes have
 * the lowest rank, the leftmost on ties, until no pair is in the vocabulary. Short pieces (nearly all)
 * use tiktoken's array scan; pieces of {@link HEAP_MERGE_MIN_BYTES} bytes or more (long runs of spaces,
 * minified code, base64) use a heap over a linked list, which picks the same pairs in the same order
 * in O(n log n) instead of O(n²), so a hostile 1 MB piece cannot stall a Lambda.
 */

/** No rank: the bytes are not in the vocabulary (tiktoken's `Rank::MAX`). */
const NO_RANK = 0x7fffffff;

/** {@link BytePairEncoding} lookups by string: the piece has a non-ASCII character. */
const NOT_ASCII = -1;
/** {@link BytePairEncoding} lookups by string: the piece is ASCII and not a token. */
const NOT_A_TOKEN = -2;

/** Short merged pieces remembered per encoding (piece → ids), emptied when full. */
const MERGED_CACHE_SIZE = 16_384;

/** From this many bytes on a piece is merged with the heap; below, the array scan is faster. */
export const HEAP_MERGE_MIN_BYTES = 128;

/** The ordinary tokens of an encoding: token `r`'s bytes are `bytes[starts[r]] … bytes[starts[r + 1] - 1]`. */
export interface Vocabulary {
  bytes: Uint8Array;
  /** `size + 1` offsets into `bytes`, ascending. */
  starts: Uint32Array;
  /** Number of tokens (ranks `0 … size − 1`). */
  size: number;
}

/** What defines one encoding: its vocabulary, its pre-tokenising regex and its special tokens. */
export interface BpeDefinition {
  /** The encoding's name (`cl100k_base`). */
  name: string;
  vocabulary: Vocabulary;
  /** The pre-tokenising pattern, in JS syntax (compiled with the `u` flag). */
  pattern: string;
  /** Special token text → id. */
  specialTokens: Readonly<Record<string, number>>;
}

/** Escapes `text` for use inside a RegExp. */
const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** FNV-1a over `bytes[start … end − 1]`. */
function fnv1a(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i += 1) hash = Math.imul(hash ^ (bytes[i] ?? 0), 0x01000193);
  return hash >>> 0;
}

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

/** 2^32: heap keys are rank · 2^32 + position (exact in a double), so ties go to the leftmost pair. */
const POSITION_SPAN = 4_294_967_296;

/**
 * One encoding, ready to use: encode (with tiktoken's allowed-special semantics), count, decode.
 * Build it once per process (building the table takes tens of milliseconds) and share it; it is not
 * re-entrant (one scratch buffer), which single-threaded JS guarantees.
 */
export class BytePairEncoding {
  readonly name: string;
  /** Special token text → id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  private readonly vocabulary: Vocabulary;
  /** Open addressing: rank + 1 per slot, 0 when empty. */
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly specialById: Map<number, Uint8Array>;
  private readonly pattern: RegExp;
  private readonly specialPattern: RegExp | undefined;
  private readonly merged = new Map<string, number[]>();
  private scratch = new Uint8Array(1024);
  private scanStarts = new Int32Array(HEAP_MERGE_MIN_BYTES + 1);
  private scanRanks = new Int32Array(HEAP_MERGE_MIN_BYTES + 1);
  private readonly encoder = new TextEncoder();

  /** @throws Error when the vocabulary holds the same bytes twice. */
  constructor(definition: BpeDefinition) {
    this.name = definition.name;
    this.vocabulary = definition.vocabulary;
    const { bytes, starts, size } = definition.vocabulary;
    let slots = 1;
    while (slots < size * 2) slots *= 2;
    this.table = new Int32Array(slots);
    this.mask = slots - 1;
    for (let rank = 0; rank < size; rank += 1) {
      const start = starts[rank] ?? 0;
      const end = starts[rank + 1] ?? 0;
      if (this.rankOf(bytes, start, end) !== NO_RANK) throw new Error(`${this.name}: token ${rank} repeats an earlier token`);
      let slot = fnv1a(bytes, start, end) & this.mask;
      while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
      this.table[slot] = rank + 1;
    }
    this.specialTokens = new Map(Object.entries(definition.specialTokens));
    this.specialById = new Map([...this.specialTokens].map(([text, id]) => [id, this.encoder.encode(text)]));
    this.pattern = new RegExp(definition.pattern, 'uy');
    // Longest first, so one special token that prefixes another cannot shadow it.
    const specials = [...this.specialTokens.keys()].sort((a, b) => b.length - a.length);
    this.specialPattern = specials.length > 0 ? new RegExp(specials.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  /** The number of ordinary tokens (the vocabulary's size, without special tokens). */
  get vocabularySize(): number {
    return this.vocabulary.size;
  }

  /** The bytes of ordinary token `rank` (a view into the vocabulary: do not modify). */
  tokenBytes(rank: number): Uint8Array {
    const { bytes, starts } = this.vocabulary;
    return bytes.subarray(starts[rank] ?? 0, starts[rank + 1] ?? 0);
  }

  /**
   * Token ids of `text`. Special-token text is encoded as ordinary text unless its text is in
   * `allowed` (tiktoken's `allowed_special`), in which case it becomes its special id.
   */
  encode(text: string, allowed?: ReadonlySet<string>): number[] {
    const out: number[] = [];
    this.run(text, allowed, out);
    return out;
  }

  /** Number of tokens of `text` (same options as {@link encode}), without building the id list. */
  count(text: string, allowed?: ReadonlySet<string>): number {
    return this.run(text, allowed, undefined);
  }

  /**
   * The text of `ids`. Bytes that do not form whole UTF-8 characters (an id list cut inside a
   * character) decode to U+FFFD, as tiktoken's `decode` (errors="replace").
   * @throws RangeError naming the first id that is neither a token nor a special token.
   */
  decode(ids: readonly number[]): string {
    return Buffer.from(this.decodeBytes(ids)).toString('utf8');
  }

  /** The bytes of `ids`. @throws RangeError as {@link decode}. */
  decodeBytes(ids: readonly number[]): Uint8Array {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const id of ids) {
      const part = Number.isInteger(id) && id >= 0 && id < this.vocabulary.size ? this.tokenBytes(id) : this.specialById.get(id);
      if (part === undefined) throw new RangeError(`token id ${id} is not in ${this.name}`);
      parts.push(part);
      length += part.length;
    }
    const out = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  /**
   * The ranks tiktoken's merge gives for `piece` (its UTF-8 bytes), by the array scan or the heap
   * as the piece's length decides. Public so tests can compare the two methods.
   */
  mergeBytes(piece: Uint8Array, method: 'scan' | 'heap'): number[] {
    const out: number[] = [];
    if (piece.length === 1) out.push(this.byteRank(piece, 0));
    else if (method === 'scan') this.mergeWithScan(piece, piece.length, out);
    else this.mergeWithHeap(piece, piece.length, out);
    return out;
  }

  /** Encodes or counts `text`: the special-token split of tiktoken's `_encode_native`, then each stretch. */
  private run(text: string, allowed: ReadonlySet<string> | undefined, out: number[] | undefined): number {
    if (!allowed || allowed.size === 0 || !this.specialPattern) return this.encodeOrdinary(text, 0, text.length, out);
    const special = this.specialPattern;
    let total = 0;
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
      total += this.encodeOrdinary(text, start, end, out);
      if (next === null) return total;
      const id = this.specialTokens.get(next[0]);
      if (id !== undefined) {
        out?.push(id);
        total += 1;
      }
      start = next.index + next[0].length;
    }
  }

  /**
   * Encodes `text[from … to)` without special tokens (tiktoken runs its regex on that stretch alone,
   * so `$` means its end): appends ids to `out` when given, returns how many.
   */
  private encodeOrdinary(text: string, from: number, to: number, out: number[] | undefined): number {
    if (to <= from) return 0;
    const stretch = from === 0 && to === text.length ? text : text.slice(from, to);
    const pattern = this.pattern;
    let total = 0;
    let start = 0;
    pattern.lastIndex = 0;
    while (start < stretch.length) {
      if (!pattern.test(stretch)) {
        // Unreachable with tiktoken's patterns (every character matches something); tiktoken's
        // find_iter would skip what no pattern matches, so do the same rather than loop.
        start += 1;
        pattern.lastIndex = start;
        continue;
      }
      const end = pattern.lastIndex;
      total += this.encodePiece(stretch, start, end, out);
      start = end;
    }
    return total;
  }

  /** The UTF-8 bytes of `text[start … end)` into the scratch buffer (lone surrogates as U+FFFD, as tiktoken); returns their count. */
  private utf8(text: string, start: number, end: number): number {
    if (this.scratch.length < (end - start) * 3) this.scratch = new Uint8Array((end - start) * 3 * 2);
    const buffer = this.scratch;
    let n = 0;
    for (let i = start; i < end; i += 1) {
      let code = text.charCodeAt(i);
      if (code < 0x80) {
        buffer[n++] = code;
        continue;
      }
      if (code < 0x800) {
        buffer[n++] = 0xc0 | (code >> 6);
        buffer[n++] = 0x80 | (code & 0x3f);
        continue;
      }
      if (code >= 0xd800 && code <= 0xdfff) {
        const low = i + 1 < end ? text.charCodeAt(i + 1) : 0;
        if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
          const point = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          buffer[n++] = 0xf0 | (point >> 18);
          buffer[n++] = 0x80 | ((point >> 12) & 0x3f);
          buffer[n++] = 0x80 | ((point >> 6) & 0x3f);
          buffer[n++] = 0x80 | (point & 0x3f);
          i += 1;
          continue;
        }
        code = 0xfffd;
      }
      buffer[n++] = 0xe0 | (code >> 12);
      buffer[n++] = 0x80 | ((code >> 6) & 0x3f);
      buffer[n++] = 0x80 | (code & 0x3f);
    }
    return n;
  }

  /** One regex piece: whole if it is a token, else merged. */
  private encodePiece(text: string, start: number, end: number, out: number[] | undefined): number {
    // Most pieces are ASCII words found whole: look them up from the string, with no byte copy.
    const whole = this.rankOfAscii(text, start, end);
    if (whole >= 0) {
      out?.push(whole);
      return 1;
    }
    const n = this.utf8(text, start, end);
    const piece = this.scratch;
    const rank = whole === NOT_ASCII ? this.rankOf(piece, 0, n) : NO_RANK;
    if (rank !== NO_RANK) {
      out?.push(rank);
      return 1;
    }
    if (n >= HEAP_MERGE_MIN_BYTES) {
      const ids: number[] = [];
      this.mergeWithHeap(piece, n, ids);
      if (out) for (const id of ids) out.push(id);
      return ids.length;
    }
    // A short piece that needs merging is usually a word that comes back (names, identifiers, CJK
    // runs): remember it. Long pieces are not kept, so the cache stays under ~16,384 × 128 bytes.
    const key = text.slice(start, end);
    let ids = this.merged.get(key);
    if (ids === undefined) {
      ids = [];
      this.mergeWithScan(piece, n, ids);
      if (this.merged.size >= MERGED_CACHE_SIZE) this.merged.clear();
      this.merged.set(key, ids);
    }
    if (out) for (const id of ids) out.push(id);
    return ids.length;
  }

  /** The rank of `bytes[start … end)`, or {@link NO_RANK}. */
  private rankOf(bytes: Uint8Array, start: number, end: number): number {
    const { bytes: arena, starts } = this.vocabulary;
    const length = end - start;
    let slot = fnv1a(bytes, start, end) & this.mask;
    for (;;) {
      const entry = this.table[slot] ?? 0;
      if (entry === 0) return NO_RANK;
      const rank = entry - 1;
      const at = starts[rank] ?? 0;
      if ((starts[rank + 1] ?? 0) - at === length) {
        let same = true;
        for (let i = 0; i < length; i += 1) {
          if (arena[at + i] !== bytes[start + i]) {
            same = false;
            break;
          }
        }
        if (same) return rank;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /**
   * The rank of `text[start … end)` when it is ASCII and a token; {@link NOT_ASCII} when it is not
   * ASCII (look it up from its UTF-8 bytes); {@link NOT_A_TOKEN} when it is ASCII and not a token.
   */
  private rankOfAscii(text: string, start: number, end: number): number {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i += 1) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) return NOT_ASCII;
      hash = Math.imul(hash ^ code, 0x01000193);
    }
    const { bytes: arena, starts } = this.vocabulary;
    const length = end - start;
    let slot = (hash >>> 0) & this.mask;
    for (;;) {
      const entry = this.table[slot] ?? 0;
      if (entry === 0) return NOT_A_TOKEN;
      const rank = entry - 1;
      const at = starts[rank] ?? 0;
      if ((starts[rank + 1] ?? 0) - at === length) {
        let same = true;
        for (let i = 0; i < length; i += 1) {
          if (arena[at + i] !== text.charCodeAt(start + i)) {
            same = false;
            break;
          }
        }
        if (same) return rank;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /** The rank of one byte: every byte is a token in these vocabularies. */
  private byteRank(bytes: Uint8Array, at: number): number {
    const rank = this.rankOf(bytes, at, at + 1);
    if (rank === NO_RANK) throw new RangeError(`${this.name}: byte ${bytes[at]} is not a token`);
    return rank;
  }

  /** The rank of a final part `bytes[start … end)`: tiktoken's merge only ever leaves tokens. */
  private partRank(bytes: Uint8Array, start: number, end: number): number {
    const rank = this.rankOf(bytes, start, end);
    if (rank === NO_RANK) throw new RangeError(`${this.name}: merged part is not a token`);
    return rank;
  }

  /**
   * tiktoken's `_byte_pair_merge`, as written there, on `piece[0 … n)` (n ≥ 2): `starts[i]` is where
   * part i begins, `pairRanks[i]` the rank of part i joined with part i+1; merge the lowest (leftmost
   * on ties), update its two neighbours' ranks, repeat. Appends the parts' ranks to `out`.
   */
  private mergeWithScan(piece: Uint8Array, n: number, out: number[]): void {
    if (this.scanStarts.length < n + 1) {
      this.scanStarts = new Int32Array(2 * (n + 1));
      this.scanRanks = new Int32Array(2 * (n + 1));
    }
    const starts = this.scanStarts;
    const pairRanks = this.scanRanks;
    let parts = n + 1;
    let minRank = NO_RANK;
    let minIndex = -1;
    for (let i = 0; i < n - 1; i += 1) {
      const rank = this.rankOf(piece, i, i + 2);
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
    while (minRank !== NO_RANK) {
      const i = minIndex;
      // The pair ranks around the merge: part i−1 with the merged part, the merged part with part i+2.
      if (i > 0) pairRanks[i - 1] = i + 2 < parts ? this.rankOf(piece, starts[i - 1] ?? 0, starts[i + 2] ?? 0) : NO_RANK;
      pairRanks[i] = i + 3 < parts ? this.rankOf(piece, starts[i] ?? 0, starts[i + 3] ?? 0) : NO_RANK;
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
    for (let i = 0; i < parts - 1; i += 1) out.push(this.partRank(piece, starts[i] ?? 0, starts[i + 1] ?? 0));
  }

  /**
   * The same merges as {@link mergeWithScan}, found with a heap: parts form a linked list over byte
   * positions (`next`/`prev` indexed by a part's start), and the heap holds (rank, start) of every
   * current pair; a popped pair whose rank is stale (a neighbour merged since) is skipped. The lowest
   * key is the lowest rank and, on ties, the leftmost start: the pair tiktoken's scan would pick.
   */
  private mergeWithHeap(piece: Uint8Array, n: number, out: number[]): void {
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
      const second = next[start] ?? n;
      if (start >= n || second >= n) return NO_RANK;
      return this.rankOf(piece, start, next[second] ?? n);
    };
    for (let i = 0; i < n - 1; i += 1) {
      const rank = this.rankOf(piece, i, i + 2);
      pairRank[i] = rank;
      if (rank !== NO_RANK) heap.push(rank * POSITION_SPAN + i);
    }
    while (heap.size > 0) {
      const key = heap.pop();
      const start = key % POSITION_SPAN;
      const rank = (key - start) / POSITION_SPAN;
      if (pairRank[start] !== rank) continue;
      const removed = next[start] ?? n;
      const after = next[removed] ?? n;
      next[start] = after;
      if (after <= n) prev[after] = start;
      pairRank[removed] = NO_RANK;
      const own = joinedRank(start);
      pairRank[start] = own;
      if (own !== NO_RANK) heap.push(own * POSITION_SPAN + start);
      const before = prev[start] ?? -1;
      if (before >= 0) {
        const theirs = joinedRank(before);
        pairRank[before] = theirs;
        if (theirs !== NO_RANK) heap.push(theirs * POSITION_SPAN + before);
      }
    }
    for (let start = 0; start < n; start = next[start] ?? n) out.push(this.partRank(piece, start, next[start] ?? n));
  }
}
