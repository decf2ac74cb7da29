/**
 * Arbitration: two models answer the same prompt; this scores both answers and chooses one, recording
 * every score so a `debug: true` reply and the ledger can show why.
 *
 * Scores per candidate, each in [0, 1]:
 *
 * | score     | rule                                                                                          |
 * |-----------|-----------------------------------------------------------------------------------------------|
 * | agreement | max(0, cosine(embedding of A, embedding of B)): the same for both, so it raises or lowers      |
 * |           | confidence in the pair, never the choice; null when either answer is missing                    |
 * | coherence | (0.5 + 0.5 · min(1, relevance / relevanceSaturation)) · (1 − repetition) · penalties, where     |
 * |           | relevance = max(0, cosine(prompt, answer)); repetition = 1 − distinct word trigrams / trigrams |
 * |           | (0 under three words); penalties: × truncationFactor when the answer was cut (`length`,         |
 * |           | `cancelled`), × refusalFactor when it is a refusal (finish reason `refusal`, or its opening     |
 * |           | sentence declines: "I can't help with that", "As an AI, I cannot …"); 0 for an empty answer.    |
 * |           | Without embeddings (the embed call failed) relevance drops out and the base is 1.               |
 * | safety    | 1 − the highest category severity of the safety classifier's verdict (0 categories: 1); null   |
 * |           | when there is no classifier and no verdict                                                     |
 *
 * total = Σ weight · score / Σ weight over the non-null scores (defaults: agreement 0.2, coherence 0.5,
 * safety 0.3).
 *
 * Minimal checks ("good"): the call succeeded, the answer is not empty, not cut, not a refusal, not
 * repetitive (repetition ≤ 0.5) and not unsafe (highest severity below `unsafeSeverity`, when known).
 *
 * Choice:
 * 1. Only one candidate good: it wins (`checks`). Neither good: the higher total wins (`no-good-candidate`).
 * 2. Both good: divergence D = 1 − cosine(A, B). D ≤ `divergenceThreshold`: the higher total wins
 *    (`scores`). D above it: one critique turn — each answer is reviewed with the `critic_mode`
 *    template by the other model (or by the configured `critic` model), both reviews at once; the
 *    review's last `SCORE: n` line (0–10) gives critique = n / 10 and total' = (1 − critiqueWeight) ·
 *    total + critiqueWeight · critique (a review without a score leaves the total as it was); the
 *    higher total' wins (`critique`).
 * 3. Ties go to the faster candidate, then to A.
 * 4. Deadline: when the work (embedding, classification, critique) is not done by the deadline, or the
 *    signal aborts, the fastest good candidate wins, judged on what is known by then (`deadline`).
 *
 * Timing: `overheadMs` is the arbitration's wall time minus the critique's model calls (from the first
 * review call's start to the last one's end, the two running at once; rendering the template and
 * reading a tenant's template count as overhead); embedding and safety classification count as overhead,
 * which is what they are for the in-process stand-ins, and errs high for remote ones.
 *
 * Pure: embeddings, safety verdicts, model calls, clock and timer are injected.
 */
import { z } from 'zod';
import type { ChatMessage, FinishReason } from './backend.ts';
import type { ChatCall } from './conversation.ts';
import { cosineSimilarity, lexicalWords } from './lexical-embedding.ts';
import { renderNamedTemplate, type TemplateLookup, templateNameSchema } from './templates.ts';

const unit = z.number().min(0).max(1);
const weight = z.number().min(0).max(100);

/** Weights of the three scores in a candidate's total (relative: they need not sum to 1). */
export const arbitrationWeightsSchema = z
  .strictObject({ agreement: weight.default(0.2), coherence: weight.default(0.5), safety: weight.default(0.3) })
  .refine((w) => w.agreement + w.coherence + w.safety > 0, 'at least one weight must be positive');

/** Arbitration settings (per stage or tenant); every field has a default. */
export const arbitrationConfigSchema = z.strictObject({
  weights: arbitrationWeightsSchema.prefault({}),
  /** Divergence (1 − cosine, in [0, 2]) above which a critique turn runs. The default suits semantic embedding models; see the README for the lexical stand-in. */
  divergenceThreshold: z.number().min(0).max(2).default(0.3),
  /** Share of the critique in the re-scored total. */
  critiqueWeight: unit.default(0.4),
  /** Relevance (prompt–answer cosine) at which an answer counts as fully on topic. */
  relevanceSaturation: z.number().gt(0).max(1).default(0.5),
  /** Coherence factor of a cut answer (`length` or `cancelled`). */
  truncationFactor: unit.default(0.5),
  /** Coherence factor of a refusal. */
  refusalFactor: unit.default(0.2),
  /** Repetition (1 − distinct/all word trigrams) above which an answer fails the minimal checks. */
  maxRepetition: unit.default(0.5),
  /** Highest category severity at or above which an answer is unsafe (fails the minimal checks). */
  unsafeSeverity: unit.default(0.7),
  /** Milliseconds arbitration may take, from its start, before the fastest good answer is taken. */
  timeoutMs: z.number().int().min(1).max(600_000).default(10_000),
  /** The model that reviews both answers; unset: each model reviews the other's answer. */
  critic: z.string().min(1).max(128).optional(),
  /** The template of the critique turn (a tenant may override `critic_mode` or name its own). */
  critiqueTemplate: templateNameSchema.default('critic_mode'),
  /** Set false to never run a critique turn (divergent answers are then chosen by score). */
  critique: z.boolean().default(true),
});
/** Arbitration settings as given (every field optional). */
export type ArbitrationConfigInput = z.input<typeof arbitrationConfigSchema>;
/** Arbitration settings with defaults applied. */
export type ArbitrationConfig = z.infer<typeof arbitrationConfigSchema>;

/**
 * What the output safety filter found in one text: a severity in [0, 1] per category it flagged (the
 * shape of the gateway engine's `SafetyFilter.classify` result; lib/gateway/safety.ts's per-category
 * `score` maps onto it).
 */
export interface SafetyAssessment {
  categories: { category: string; severity: number }[];
}

/** Assesses one text with the output safety filter. */
export type AssessSafety = (text: string, signal?: AbortSignal) => Promise<SafetyAssessment>;

/** Embeds texts, one vector each (the shape of `ModelBackend.embed`). */
export type EmbedFunction = (texts: string[], signal?: AbortSignal) => Promise<number[][]>;

/** One answer to arbitrate. */
export interface Candidate {
  model: string;
  /** The answer (empty when the call failed). */
  text: string;
  finishReason: FinishReason;
  /** Milliseconds the model took to answer. */
  latencyMs: number;
  /** Set when the call failed: the candidate fails the minimal checks. */
  error?: string;
  /** The safety filter's verdict when it already ran; otherwise `classifySafety` is asked. */
  safety?: SafetyAssessment;
}

/** What arbitration is given: the prompt both answered, and the two answers. */
export interface ArbitrationInput {
  /** The question both models answered (relevance is measured against it; the critique quotes it). */
  prompt: string;
  a: Candidate;
  b: Candidate;
}

/** Injected dependencies. */
export interface ArbitrationDeps {
  embed: EmbedFunction;
  classifySafety?: AssessSafety;
  /** Model calls for the critique turn; without it no critique runs. */
  chat?: ChatCall;
  /** The tenant's templates (for `critiqueTemplate`). */
  templates?: TemplateLookup;
  /** Milliseconds clock (default `performance.now`). */
  now?: () => number;
  /** Resolves after `ms` (or when `signal` aborts); default `setTimeout`. */
  timer?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Stops arbitration: the fastest good answer is taken at once. */
  signal?: AbortSignal;
}

/** Why a candidate fails the minimal checks (all false: it is good). */
export interface CandidateChecks {
  failed: boolean;
  empty: boolean;
  truncated: boolean;
  refused: boolean;
  repetitive: boolean;
  unsafe: boolean;
}

/** One candidate's scores, as recorded. Numbers rounded to 4 decimals; null: not computed. */
export interface CandidateScores {
  model: string;
  latencyMs: number;
  agreement: number | null;
  /** max(0, cosine(prompt, answer)). */
  relevance: number | null;
  /** 1 − distinct word trigrams / all. */
  repetition: number;
  coherence: number;
  safety: number | null;
  /** The review's score / 10, after a critique turn. */
  critique: number | null;
  /** The weighted total before the critique turn. */
  total: number;
  /** The total the choice was made on (after the critique turn, when one ran). */
  final: number;
  checks: CandidateChecks;
  passed: boolean;
}

/** One review of the critique turn. */
export interface CritiqueReview {
  /** The model that wrote the review. */
  critic: string;
  /** The review (empty when the call failed). */
  text: string;
  /** The parsed `SCORE: n`, or null when absent or out of range. */
  score: number | null;
  latencyMs: number;
  error?: string;
}

/** How the choice was made. */
export type ArbitrationReason = 'scores' | 'critique' | 'checks' | 'no-good-candidate' | 'deadline';

/** An arbitration decision, as recorded (`debug: true` replies, the ledger). */
export interface ArbitrationDecision {
  chosen: 'a' | 'b';
  /** The chosen candidate's model. */
  model: string;
  scores: { a: CandidateScores; b: CandidateScores };
  /** 1 − cosine(A, B), or null when not computed. */
  divergence: number | null;
  divergenceThreshold: number;
  /** The weights the totals were computed with. */
  weights: ArbitrationConfig['weights'];
  /** The critique turn, when one ran: the review of each candidate. */
  critique?: { a: CritiqueReview; b: CritiqueReview };
  reason: ArbitrationReason;
  /** The reason in words. */
  explanation: string;
  timings: { totalMs: number; embedMs: number; safetyMs: number; critiqueMs: number; overheadMs: number };
}

const DEADLINE: unique symbol = Symbol('deadline');
const REFUSAL_OPENING =
  /^\W*(?:(?:i'?m|i am)\s+(?:very\s+|so\s+)?sorry[,.!]?\s*(?:but\s+)?)?(?:i\s+(?:can(?:no|')?t|cannot|won'?t|will not|am\s+(?:un)?able\s+to|am\s+not\s+able\s+to|must\s+decline|do\s+not\s+feel\s+comfortable)|as\s+an\s+ai(?:\s+language\s+model)?,?\s+i\s+(?:can(?:no|')?t|cannot|am\s+not\s+able|won'?t))/i;
const REFUSAL_OBJECT = /\b(?:help|assist|provide|comply|do that|answer|fulfil|fulfill|support|share|create|generate|give)\b/i;
const SCORE_LINE = /^[\s*_#>-]*score\s*[:=]\s*\**\s*(\d{1,2}(?:\.\d+)?)\s*(?:\/\s*10)?\s*\**[\s.]*$/gim;

/** Whether `text` opens as a refusal ("I'm sorry, but I can't help with that."): its first sentence only. */
export function isRefusal(text: string): boolean {
  const opening = text.trim().split(/(?<=[.!?])\s/, 1)[0] ?? '';
  const head = opening.slice(0, 240).replace(/[’‘]/g, "'");
  return REFUSAL_OPENING.test(head) && REFUSAL_OBJECT.test(head);
}

/** Share of repeated word trigrams: 1 − distinct / all (0 for fewer than three words). */
export function repetitionRatio(text: string): number {
  return trigramRepetition(lexicalWords(text));
}

function trigramRepetition(words: readonly string[]): number {
  if (words.length < 3) return 0;
  const trigrams = new Set<string>();
  const count = words.length - 2;
  for (let i = 0; i < count; i++) trigrams.add(`${words[i]} ${words[i + 1]} ${words[i + 2]}`);
  return 1 - trigrams.size / count;
}

/** What arbitration reads of an answer's text, computed once per text. */
interface TextFacts {
  words: number;
  repetition: number;
  refusal: boolean;
}

/** Text facts by text, for one arbitration (each answer is read by several steps). */
type FactsCache = Map<string, TextFacts>;

function factsOf(text: string, cache: FactsCache): TextFacts {
  let facts = cache.get(text);
  if (!facts) {
    const words = lexicalWords(text);
    facts = { words: words.length, repetition: trigramRepetition(words), refusal: isRefusal(text) };
    cache.set(text, facts);
  }
  return facts;
}

/** The last `SCORE: n` (0–10) line of a review, or null. */
export function parseCritiqueScore(review: string): number | null {
  let score: number | null = null;
  for (const match of review.matchAll(SCORE_LINE)) {
    const value = Number(match[1]);
    score = value >= 0 && value <= 10 ? value : null;
  }
  return score;
}

const round = (value: number): number => Math.round(value * 10_000) / 10_000;
const clamp01 = (value: number): number => Math.min(1, Math.max(0, value));

function maxSeverity(verdict: SafetyAssessment | undefined): number | null {
  if (!verdict) return null;
  // A severity that is not a number counts as the worst: a broken classifier fails closed.
  return verdict.categories.reduce(
    (max, category) => Math.max(max, Number.isFinite(category.severity) ? clamp01(category.severity) : 1),
    0,
  );
}

/** The checks that need no embedding: failure, emptiness, cut, refusal, repetition, known unsafety. */
function checksOf(
  candidate: Candidate,
  safety: SafetyAssessment | undefined,
  config: ArbitrationConfig,
  cache: FactsCache,
): CandidateChecks {
  const severity = maxSeverity(safety);
  const facts = factsOf(candidate.text, cache);
  return {
    failed: candidate.error !== undefined,
    empty: facts.words === 0,
    truncated: candidate.finishReason === 'length' || candidate.finishReason === 'cancelled',
    refused: candidate.finishReason === 'refusal' || facts.refusal,
    repetitive: facts.repetition > config.maxRepetition,
    unsafe: severity !== null && severity >= config.unsafeSeverity,
  };
}

const passes = (checks: CandidateChecks): boolean => !Object.values(checks).some(Boolean);

interface Known {
  embeddings?: { prompt: number[]; a?: number[]; b?: number[] };
  embedError?: string;
  safety: { a?: SafetyAssessment; b?: SafetyAssessment };
  critique?: { a: CritiqueReview; b: CritiqueReview };
}

function scoreCandidate(
  side: 'a' | 'b',
  input: ArbitrationInput,
  known: Known,
  config: ArbitrationConfig,
  cache: FactsCache,
): CandidateScores {
  const candidate = input[side];
  const checks = checksOf(candidate, known.safety[side], config, cache);
  const vector = known.embeddings?.[side];
  const other = known.embeddings?.[side === 'a' ? 'b' : 'a'];
  const usable = !checks.failed && !checks.empty;
  const agreement = usable && vector && other ? Math.max(0, cosineSimilarity(vector, other)) : null;
  const relevance = usable && vector && known.embeddings ? Math.max(0, cosineSimilarity(known.embeddings.prompt, vector)) : null;
  const { repetition } = factsOf(candidate.text, cache);
  let coherence = 0;
  if (usable) {
    coherence = relevance === null ? 1 : 0.5 + 0.5 * Math.min(1, relevance / config.relevanceSaturation);
    coherence *= 1 - repetition;
    if (checks.truncated) coherence *= config.truncationFactor;
    if (checks.refused) coherence *= config.refusalFactor;
  }
  const severity = maxSeverity(known.safety[side]);
  const safety = severity === null ? null : 1 - severity;
  const { weights } = config;
  const parts: [number, number | null][] = [
    [weights.agreement, agreement],
    [weights.coherence, coherence],
    [weights.safety, safety],
  ];
  let sum = 0;
  let weightSum = 0;
  for (const [w, score] of parts) {
    if (score === null) continue;
    sum += w * score;
    weightSum += w;
  }
  const total = weightSum > 0 ? sum / weightSum : 0;
  const review = known.critique?.[side];
  const critique = review?.score === null || review === undefined ? null : review.score / 10;
  const final = critique === null ? total : (1 - config.critiqueWeight) * total + config.critiqueWeight * critique;
  return {
    model: candidate.model,
    latencyMs: round(candidate.latencyMs),
    agreement: agreement === null ? null : round(agreement),
    relevance: relevance === null ? null : round(relevance),
    repetition: round(repetition),
    coherence: round(coherence),
    safety: safety === null ? null : round(safety),
    critique,
    total: round(total),
    final: round(final),
    checks,
    passed: passes(checks),
  };
}

/** The better of two by `key` (higher), then the faster, then A. */
function better(scores: { a: CandidateScores; b: CandidateScores }, key: (s: CandidateScores) => number): 'a' | 'b' {
  const { a, b } = scores;
  if (key(a) !== key(b)) return key(a) > key(b) ? 'a' : 'b';
  return b.latencyMs < a.latencyMs ? 'b' : 'a';
}

/** The fastest good candidate; with none good, the one failing fewer checks, then the faster. */
function fastestGood(scores: { a: CandidateScores; b: CandidateScores }): 'a' | 'b' {
  const failures = (s: CandidateScores) => Object.values(s.checks).filter(Boolean).length;
  const { a, b } = scores;
  if (a.passed !== b.passed) return a.passed ? 'a' : 'b';
  if (!a.passed && failures(a) !== failures(b)) return failures(a) < failures(b) ? 'a' : 'b';
  return b.latencyMs < a.latencyMs ? 'b' : 'a';
}

const defaultTimer = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timeout = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timeout);
        resolve();
      },
      { once: true },
    );
  });

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : 'failed';
}

/**
 * Scores two answers to the same prompt and chooses one (see the module comment for every rule).
 * Never rejects for a failing dependency: a failed embedding drops relevance and agreement, a failed
 * classification leaves safety unknown, a failed review leaves its total unchanged; all are recorded.
 *
 * @example
 * const decision = await arbitrate({ prompt, a, b }, { embed: backend.embed, classifySafety, chat }, { divergenceThreshold: 0.3 });
 * decision.chosen; // 'a' | 'b'
 */
export async function arbitrate(
  input: ArbitrationInput,
  deps: ArbitrationDeps,
  configInput: ArbitrationConfigInput = {},
): Promise<ArbitrationDecision> {
  const config = arbitrationConfigSchema.parse(configInput);
  const now = deps.now ?? (() => performance.now());
  const started = now();
  const stop = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, stop.signal]) : stop.signal;
  const expired = (deps.timer ?? defaultTimer)(config.timeoutMs, signal).then((): typeof DEADLINE => DEADLINE);
  const timings = { totalMs: 0, embedMs: 0, safetyMs: 0, critiqueMs: 0, overheadMs: 0 };
  const known: Known = { safety: { a: input.a.safety, b: input.b.safety } };
  const cache: FactsCache = new Map();
  const scoresNow = () => ({ a: scoreCandidate('a', input, known, config, cache), b: scoreCandidate('b', input, known, config, cache) });

  const finish = (
    chosen: 'a' | 'b',
    scores: { a: CandidateScores; b: CandidateScores },
    reason: ArbitrationReason,
    explanation: string,
  ): ArbitrationDecision => {
    stop.abort();
    timings.totalMs = round(now() - started);
    timings.overheadMs = round(Math.max(0, timings.totalMs - timings.critiqueMs));
    const divergence =
      scores.a.agreement === null || !known.embeddings?.a || !known.embeddings.b
        ? null
        : round(1 - cosineSimilarity(known.embeddings.a, known.embeddings.b));
    return {
      chosen,
      model: input[chosen].model,
      scores,
      divergence,
      divergenceThreshold: config.divergenceThreshold,
      weights: config.weights,
      ...(known.critique ? { critique: known.critique } : {}),
      reason,
      explanation,
      // A copy: calls still settling after the decision must not change what was recorded.
      timings: { ...timings },
    };
  };
  const onDeadline = () => {
    const scores = scoresNow();
    const chosen = fastestGood(scores);
    const why = deps.signal?.aborted ? 'arbitration was aborted' : `arbitration passed its ${config.timeoutMs} ms deadline`;
    return finish(
      chosen,
      scores,
      'deadline',
      `${why}: took the fastest answer that passed the minimal checks known by then (${input[chosen].model})`,
    );
  };
  try {
    return await decide();
  } finally {
    // Whatever happened, no timer or call of this arbitration outlives it.
    stop.abort();
  }

  async function decide(): Promise<ArbitrationDecision> {
    if (signal.aborted) return onDeadline();

    // Embeddings and safety verdicts at once: neither needs the other.
    const texts = [input.prompt];
    const sides = (['a', 'b'] as const).filter((side) => input[side].error === undefined && factsOf(input[side].text, cache).words > 0);
    for (const side of sides) texts.push(input[side].text);
    const embedding = (async () => {
      const t = now();
      try {
        const vectors = await deps.embed(texts, signal);
        if (vectors.length !== texts.length) throw new Error(`embed returned ${vectors.length} vectors for ${texts.length} texts`);
        const dims = vectors[0]?.length ?? 0;
        if (dims === 0 || vectors.some((vector) => vector.length !== dims || !vector.every(Number.isFinite))) {
          throw new Error('embed returned vectors of different lengths or with non-finite values');
        }
        known.embeddings = { prompt: vectors[0] as number[] };
        sides.forEach((side, index) => {
          if (known.embeddings) known.embeddings[side] = vectors[index + 1];
        });
      } catch (error) {
        known.embedError = messageOf(error);
      } finally {
        timings.embedMs = round(now() - t);
      }
    })();
    const classifying = (async () => {
      const t = now();
      const classify = deps.classifySafety;
      if (classify) {
        await Promise.all(
          sides
            .filter((side) => known.safety[side] === undefined)
            .map(async (side) => {
              try {
                known.safety[side] = await classify(input[side].text, signal);
              } catch {
                // Unknown safety: the score drops out of the total; the output filter still runs on the chosen answer.
              }
            }),
        );
      }
      timings.safetyMs = round(now() - t);
    })();
    if ((await Promise.race([Promise.all([embedding, classifying]), expired])) === DEADLINE) return onDeadline();

    const scores = scoresNow();
    const embedNote = known.embedError ? ` (embedding failed, so relevance and agreement are unknown: ${known.embedError})` : '';
    if (scores.a.passed !== scores.b.passed) {
      const chosen = scores.a.passed ? 'a' : 'b';
      const loser = chosen === 'a' ? 'b' : 'a';
      const failed = Object.entries(scores[loser].checks)
        .filter(([, value]) => value)
        .map(([name]) => name);
      return finish(
        chosen,
        scores,
        'checks',
        `only ${input[chosen].model} passed the minimal checks; ${input[loser].model} is ${failed.join(', ')}${embedNote}`,
      );
    }
    if (!scores.a.passed) {
      const chosen = better(scores, (s) => s.total);
      return finish(
        chosen,
        scores,
        'no-good-candidate',
        `neither answer passed the minimal checks; ${input[chosen].model} scored higher${embedNote}`,
      );
    }
    const divergence = known.embeddings?.a && known.embeddings.b ? 1 - cosineSimilarity(known.embeddings.a, known.embeddings.b) : null;
    if (divergence === null || divergence <= config.divergenceThreshold) {
      const chosen = better(scores, (s) => s.total);
      const why =
        divergence === null
          ? `divergence unknown${embedNote}`
          : `the answers agree (divergence ${round(divergence)} ≤ ${config.divergenceThreshold})`;
      return finish(chosen, scores, 'scores', `${why}; ${input[chosen].model} scored higher`);
    }
    const divergent = `the answers diverge (divergence ${round(divergence)} > ${config.divergenceThreshold})`;
    if (!config.critique || !deps.chat) {
      const chosen = better(scores, (s) => s.total);
      const skipped = config.critique ? 'no model call was given for a critique' : 'critique is off';
      return finish(chosen, scores, 'scores', `${divergent}, ${skipped}; ${input[chosen].model} scored higher`);
    }

    const chat = deps.chat;
    // Model time: from the first review call's start to the last one's end (they run at once).
    const modelTime = { first: Number.POSITIVE_INFINITY, last: Number.NEGATIVE_INFINITY, running: 0 };
    const critiqueModelMs = () => {
      const last = modelTime.running > 0 ? now() : modelTime.last;
      return last > modelTime.first ? round(last - modelTime.first) : 0;
    };
    const review = async (side: 'a' | 'b'): Promise<CritiqueReview> => {
      const other = side === 'a' ? 'b' : 'a';
      const critic = config.critic ?? input[other].model;
      const t = now();
      try {
        const rendered = await renderNamedTemplate(
          config.critiqueTemplate,
          { question: input.prompt, answer: input[side].text, other_answer: input[other].text },
          deps.templates,
          { unusedVariables: 'ignore' },
        );
        modelTime.first = Math.min(modelTime.first, now());
        modelTime.running += 1;
        let reply: Awaited<ReturnType<ChatCall>>;
        try {
          reply = await chat(rendered.messages, critic, signal);
        } finally {
          modelTime.running -= 1;
          modelTime.last = Math.max(modelTime.last, now());
        }
        return { critic: reply.model ?? critic, text: reply.text, score: parseCritiqueScore(reply.text), latencyMs: round(now() - t) };
      } catch (error) {
        return { critic, text: '', score: null, latencyMs: round(now() - t), error: messageOf(error) };
      }
    };
    const reviews = Promise.all([review('a'), review('b')]).then(([a, b]) => ({ a, b }));
    const reviewed = await Promise.race([reviews, expired]);
    timings.critiqueMs = critiqueModelMs();
    if (reviewed === DEADLINE) return onDeadline();
    known.critique = reviewed;
    const rescored = scoresNow();
    const chosen = better(rescored, (s) => s.final);
    const read = (['a', 'b'] as const)
      .map((side) => `${input[side].model}: ${reviewed[side].score === null ? 'no score' : `${reviewed[side].score}/10`}`)
      .join(', ');
    return finish(chosen, rescored, 'critique', `${divergent}; after one critique turn (${read}) ${input[chosen].model} scored higher`);
  }
}

/** Two models to ask the same messages, and the prompt relevance is judged against. */
export interface ArbitratedRequest {
  modelA: string;
  modelB: string;
  messages: ChatMessage[];
  /** Default: the content of the last user message. */
  prompt?: string;
}

/** The outcome of {@link runArbitrated}: both candidates as they ended and the decision. */
export interface ArbitratedResult {
  candidates: { a: Candidate; b: Candidate };
  decision: ArbitrationDecision;
}

/**
 * Asks both models at once and arbitrates. The deadline (`timeoutMs`) covers the whole: when it passes
 * before both have answered, the first answer to pass the minimal checks wins at once and the other
 * call is aborted (`deadline`); a candidate still running when the decision is made is recorded as
 * failed ("not answered by the deadline"). Safety counts there only as far as a candidate carries a
 * verdict (the gateway's output filter still runs on the chosen answer). Otherwise {@link arbitrate}
 * decides, with what is left of the deadline.
 *
 * @example
 * const { decision, candidates } = await runArbitrated({ modelA: 'standin-chat', modelB: 'standin-small', messages }, chat, { embed });
 * const answer = candidates[decision.chosen].text;
 */
export async function runArbitrated(
  request: ArbitratedRequest,
  chat: ChatCall,
  deps: ArbitrationDeps,
  configInput: ArbitrationConfigInput = {},
): Promise<ArbitratedResult> {
  const config = arbitrationConfigSchema.parse(configInput);
  const now = deps.now ?? (() => performance.now());
  const timer = deps.timer ?? defaultTimer;
  const started = now();
  const prompt = request.prompt ?? [...request.messages].reverse().find((message) => message.role === 'user')?.content ?? '';
  const calls = { a: new AbortController(), b: new AbortController() };
  const stop = new AbortController();
  const outer = deps.signal ? AbortSignal.any([deps.signal, stop.signal]) : stop.signal;
  const candidates: { a?: Candidate; b?: Candidate } = {};
  const ask = async (side: 'a' | 'b'): Promise<Candidate> => {
    const model = side === 'a' ? request.modelA : request.modelB;
    const t = now();
    const signal = AbortSignal.any([outer, calls[side].signal]);
    try {
      const reply = await chat(request.messages, model, signal);
      candidates[side] = { model: reply.model ?? model, text: reply.text, finishReason: reply.finishReason, latencyMs: now() - t };
    } catch (error) {
      candidates[side] = { model, text: '', finishReason: 'stop', latencyMs: now() - t, error: messageOf(error) };
    }
    return candidates[side];
  };
  const pending = { a: ask('a'), b: ask('b') };
  const expired = timer(config.timeoutMs, outer).then((): typeof DEADLINE => DEADLINE);
  const both = Promise.all([pending.a, pending.b]);
  try {
    if ((await Promise.race([both, expired])) !== DEADLINE) {
      const remaining = Math.max(1, Math.round(config.timeoutMs - (now() - started)));
      const [a, b] = await both;
      return { candidates: { a, b }, decision: await arbitrate({ prompt, a, b }, deps, { ...configInput, timeoutMs: remaining }) };
    }
    // Past the deadline: the first answer that passes the cheap checks wins.
    const cache: FactsCache = new Map();
    const quick = (candidate: Candidate | undefined) =>
      candidate !== undefined && passes(checksOf(candidate, candidate.safety, config, cache));
    const waiting = new Set<'a' | 'b'>(['a', 'b']);
    for (const side of ['a', 'b'] as const) if (candidates[side]) waiting.delete(side);
    while (!quick(candidates.a) && !quick(candidates.b) && waiting.size > 0) {
      const side = await Promise.race([...waiting].map((s) => pending[s].then(() => s)));
      waiting.delete(side);
    }
    const missing = (side: 'a' | 'b'): Candidate => ({
      model: side === 'a' ? request.modelA : request.modelB,
      text: '',
      finishReason: 'cancelled',
      latencyMs: now() - started,
      error: 'not answered by the deadline',
    });
    const final = { a: candidates.a ?? missing('a'), b: candidates.b ?? missing('b') };
    for (const side of ['a', 'b'] as const) if (!candidates[side]) calls[side].abort();
    const t = now();
    const known: Known = { safety: { a: final.a.safety, b: final.b.safety } };
    const scores = {
      a: scoreCandidate('a', { prompt, ...final }, known, config, cache),
      b: scoreCandidate('b', { prompt, ...final }, known, config, cache),
    };
    const chosen = fastestGood(scores);
    const overheadMs = round(now() - t);
    const why = deps.signal?.aborted ? 'the request was aborted' : `the ${config.timeoutMs} ms deadline passed before both models answered`;
    return {
      candidates: final,
      decision: {
        chosen,
        model: final[chosen].model,
        scores,
        divergence: null,
        divergenceThreshold: config.divergenceThreshold,
        weights: config.weights,
        reason: 'deadline',
        explanation: `${why}: took the fastest answer that passed the minimal checks (${final[chosen].model})`,
        timings: { totalMs: overheadMs, embedMs: 0, safetyMs: 0, critiqueMs: 0, overheadMs },
      },
    };
  } finally {
    stop.abort();
  }
}
