/**
 * Releasing a reply's text to the caller while the model is still writing it (a streamed chat), with
 * the same output filters a buffered reply goes through: nothing reaches the caller that the safety
 * filter has not passed and that the tenant's `piiOutput` mode has not handled.
 *
 * How (documented, deterministic for a given arrival of deltas and check timings):
 * - the model's deltas accumulate; the text is released in **segments** ending at a boundary, and
 *   the tail after the last boundary is held back (it may still be growing): with `piiOutput` off a
 *   boundary is any word end (after whitespace); with PII handling on it is a sentence end (`.`, `!`,
 *   `?` or `…` and closing quotes or brackets, then whitespace) or a line break, or a word end once a
 *   sentence has run past {@link ReleaseOptions.maxHoldChars} (so an entity that spans a sentence end
 *   or a very long sentence can be split across segments; each segment is filtered on its own);
 * - before a segment goes out, the safety filter checks **all** the text up to its end (not the
 *   segment alone), so every released piece was passed together with everything before it; checks
 *   run one at a time, at most one per {@link ReleaseOptions.minGapMs} (the first at once), and text
 *   that arrives during a check waits for the next;
 * - a check that blocks stops the release for good and stops the model call (the gateway's refusal
 *   replaces the reply; what was released before stays with the caller, as it passed every check);
 * - the released text never passes the call's output limit (`limit`, the granted tokens counted by
 *   the answering model's tokenizer), so it stays within what was reserved and counted;
 * - at the end ({@link OutputRelease.finish}) the rest is checked and released, and the last check
 *   covers the whole reply: the same verdict a buffered reply gets.
 */
import type { Decision } from './schemas.ts';

/** The safety decision of a text (lib/gateway/engine.ts `safetyDecision`). */
export type SafetyDecision = Extract<Decision, { step: 'safety' }>;

/**
 * What watches a model call's output as it streams (lib/gateway/engine.ts `callModel`): told once
 * when the call starts how to cut text to what the call may output and how to stop the call, then
 * each delta as it arrives.
 */
export interface OutputTap {
  /** `limit` cuts a text to the call's output limit; `stop` ends the model call (the tap withholds the rest). */
  start(limit: (text: string) => string, stop: () => void): void;
  delta(text: string): void;
}

/** Options of an {@link OutputRelease}. */
export interface ReleaseOptions {
  /** The safety decision of a text; a rejection counts as a block (the filter could not say). */
  check: (text: string) => Promise<SafetyDecision>;
  /** The tenant's `piiOutput` handling of a released segment; absent when it is off. */
  pii?: (text: string) => { text: string; counts: Record<string, number> };
  /** Receives each released piece (after PII handling); must not throw. */
  onRelease: (text: string) => void;
  /** Least milliseconds between the starts of two checks (default 100); the first starts at once. */
  minGapMs?: number;
  /** With PII handling on: characters a sentence may run unreleased before a word end will do (default 400). */
  maxHoldChars?: number;
}

/** What a finished release gave the caller. */
export interface ReleaseOutcome {
  /** Everything released, in order (after PII handling). */
  text: string;
  /** The pieces as released. */
  deltas: string[];
  /** The last safety decision: of the whole reply, or the one that blocked. */
  safety: SafetyDecision;
  blocked: boolean;
  /** PII entities handled in the released text, by type. */
  piiCounts: Record<string, number>;
}

const SENTENCE_END = /(?:[.!?…]["'”’)\]]*\s+|\n+)/g;
const WHITESPACE = /\s+/g;

/** The end of the last match of `pattern` in `text` at or after `from`, or -1. */
function lastMatchEnd(pattern: RegExp, text: string, from: number): number {
  pattern.lastIndex = from;
  let end = -1;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) end = match.index + match[0].length;
  return end;
}

/** The decision of a filter that could not answer: withhold (as lib/gateway/engine.ts `safetyDecision` does). */
const UNAVAILABLE: SafetyDecision = {
  step: 'safety',
  verdict: 'block',
  categories: [{ category: 'classifier-unavailable', severity: 'severe', score: 1 }],
  classifier: 'none',
};

/**
 * Releases a streamed reply through the output filters (see the module comment).
 * @example
 * const release = new OutputRelease({ check: (text) => safetyDecision(filter, text), onRelease: (piece) => send(piece) });
 * // the pipeline feeds it: release.start(limit, stop); release.delta('Hel'); release.delta('lo world');
 * const { text, safety } = await release.finish('Hello world');
 */
export class OutputRelease implements OutputTap {
  readonly #options: ReleaseOptions;
  readonly #minGapMs: number;
  readonly #maxHoldChars: number;
  #limit: (text: string) => string = (text) => text;
  #stop: () => void = () => {};
  /** Everything the model wrote so far. */
  #raw = '';
  /** How much of it (a prefix) was released. */
  #at = 0;
  readonly #deltas: string[] = [];
  readonly #piiCounts: Record<string, number> = {};
  #last: SafetyDecision | undefined;
  #blocked: SafetyDecision | undefined;
  #checking: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastStart = Number.NEGATIVE_INFINITY;
  #closed = false;
  #abandoned = false;

  constructor(options: ReleaseOptions) {
    this.#options = options;
    this.#minGapMs = options.minGapMs ?? 100;
    this.#maxHoldChars = options.maxHoldChars ?? 400;
  }

  /** Whether a check blocked the reply. */
  get blocked(): boolean {
    return this.#blocked !== undefined;
  }

  start(limit: (text: string) => string, stop: () => void): void {
    this.#limit = limit;
    this.#stop = stop;
  }

  delta(text: string): void {
    if (this.#closed || text === '') return;
    this.#raw += text;
    this.#next();
  }

  /**
   * Ends the release: waits for a running check, checks the whole reply `kept` (the call's output as
   * counted, which starts with what was released) and releases the rest unless it blocks.
   */
  async finish(kept: string): Promise<ReleaseOutcome> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#checking) await this.#checking;
    const released = this.#raw.slice(0, this.#at);
    // `kept` is the counted reply; when a tokenizer's cut came out shorter than what went out, the release stands.
    if (!this.#blocked && kept.startsWith(released) && (kept.length > this.#at || !this.#last)) {
      const decision = await this.#check(kept);
      if (decision.verdict === 'block') this.#blocked = decision;
      else {
        this.#emit(kept.slice(this.#at));
        this.#at = kept.length;
        this.#last = decision;
      }
    }
    const safety = this.#blocked ?? this.#last ?? (await this.#check(kept));
    return {
      text: this.#deltas.join(''),
      deltas: [...this.#deltas],
      safety,
      blocked: this.#blocked !== undefined,
      piiCounts: { ...this.#piiCounts },
    };
  }

  /** Stops releasing (the request failed); a running check's result is dropped. */
  abandon(): void {
    this.#closed = true;
    this.#abandoned = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #check(text: string): Promise<SafetyDecision> {
    try {
      return await this.#options.check(text);
    } catch {
      return UNAVAILABLE;
    }
  }

  /** Where the releasable text ends in `text` (past what was released), or -1. */
  #boundary(text: string): number {
    if (!this.#options.pii) return lastMatchEnd(WHITESPACE, text, this.#at);
    const sentence = lastMatchEnd(SENTENCE_END, text, this.#at);
    if (sentence > this.#at) return sentence;
    return text.length - this.#at > this.#maxHoldChars ? lastMatchEnd(WHITESPACE, text, this.#at) : -1;
  }

  /** Starts the next check when a segment is ready and none is running. */
  #next(): void {
    if (this.#checking || this.#timer || this.#blocked || this.#closed) return;
    const limited = this.#limit(this.#raw);
    const end = this.#boundary(limited);
    if (end <= this.#at) return;
    const wait = this.#lastStart + this.#minGapMs - Date.now();
    if (wait > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#next();
      }, wait);
      return;
    }
    this.#lastStart = Date.now();
    const upTo = limited.slice(0, end);
    this.#checking = this.#check(upTo).then((decision) => {
      this.#checking = undefined;
      if (this.#blocked) return;
      if (decision.verdict === 'block') {
        this.#blocked = decision;
        this.#stop();
        return;
      }
      // After abandon() nothing more goes out; after finish() began, this check's segment still does.
      if (this.#abandoned) return;
      this.#emit(upTo.slice(this.#at));
      this.#at = end;
      this.#last = decision;
      this.#next();
    });
  }

  #emit(raw: string): void {
    if (raw === '') return;
    let text = raw;
    if (this.#options.pii) {
      const filtered = this.#options.pii(raw);
      text = filtered.text;
      for (const [type, count] of Object.entries(filtered.counts)) this.#piiCounts[type] = (this.#piiCounts[type] ?? 0) + count;
    }
    if (text === '') return;
    this.#deltas.push(text);
    try {
      this.#options.onRelease(text);
    } catch {
      // The caller's sink failing (a client gone) must not stop the pipeline: the reply still settles and logs.
    }
  }
}
