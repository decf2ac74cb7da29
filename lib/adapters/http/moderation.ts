/**
 * A {@link SafetyClassifier} over an OpenAI-moderation-compatible HTTP API (`POST <url>` with
 * `{ input, model }`, answering `{ results: [{ flagged, categories, category_scores }] }`): OpenAI's
 * own `/v1/moderations`, or any server that speaks its format. A timeout, a non-2xx status, a network
 * error or a reply that does not parse does not fail the call: the built-in rules answer instead and
 * the result records why in `degraded`.
 *
 * Mapping of the API's categories to the gateway's: harassment(/threatening) → harassment;
 * hate(/threatening) → hate; violence(/graphic) → violence; self-harm(/intent,/instructions) →
 * self_harm; sexual → sexual; sexual/minors → sexual_minors; illicit(/violent) → weapons_illegal.
 * Severity from the category score: ≥ 0.8 severe, ≥ 0.5 moderate, ≥ 0.2 low, else none; a
 * `/threatening`, `/intent`, `/instructions`, `/minors` or `illicit/violent` score ≥ 0.5 is severe.
 * The API has no prompt-injection category: that one always comes from the rules.
 */
import { z } from 'zod';
import {
  type CategoryResult,
  classifyByRules,
  type SafetyCategory,
  type SafetyClassifier,
  type SafetyResult,
  type Severity,
  safetyCategories,
} from '../../gateway/safety.ts';

const replySchema = z.object({
  model: z.string().optional(),
  results: z
    .array(
      z.object({
        flagged: z.boolean().optional(),
        categories: z.record(z.string(), z.boolean().nullable()).optional(),
        category_scores: z.record(z.string(), z.number().min(0).max(1)),
      }),
    )
    .min(1),
});

const MAPPING: Record<string, SafetyCategory> = {
  harassment: 'harassment',
  'harassment/threatening': 'harassment',
  hate: 'hate',
  'hate/threatening': 'hate',
  violence: 'violence',
  'violence/graphic': 'violence',
  'self-harm': 'self_harm',
  'self-harm/intent': 'self_harm',
  'self-harm/instructions': 'self_harm',
  sexual: 'sexual',
  'sexual/minors': 'sexual_minors',
  illicit: 'weapons_illegal',
  'illicit/violent': 'weapons_illegal',
};
const ESCALATING = new Set([
  'harassment/threatening',
  'hate/threatening',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual/minors',
  'illicit/violent',
]);
const order: Severity[] = ['none', 'low', 'moderate', 'severe'];

function severityOf(name: string, score: number): Severity {
  if (ESCALATING.has(name) && score >= 0.5) return 'severe';
  return score >= 0.8 ? 'severe' : score >= 0.5 ? 'moderate' : score >= 0.2 ? 'low' : 'none';
}

/** The API's scores as the gateway's categories (the strongest subcategory wins). */
export function mapModerationScores(scores: Record<string, number>): CategoryResult[] {
  const out = new Map<SafetyCategory, CategoryResult>();
  for (const [name, score] of Object.entries(scores)) {
    const category = MAPPING[name];
    if (!category) continue;
    const severity = severityOf(name, score);
    const seen = out.get(category);
    if (!seen || order.indexOf(severity) > order.indexOf(seen.severity) || (severity === seen.severity && score > seen.score)) {
      out.set(category, { category, severity, score });
    }
  }
  return safetyCategories
    .filter((c) => c !== 'prompt_injection')
    .map((category) => out.get(category) ?? { category, severity: 'none', score: 0 });
}

export interface ModerationClassifierOptions {
  /** The endpoint, e.g. `https://api.openai.com/v1/moderations`. */
  url: string;
  /** Sent as `Authorization: Bearer <apiKey>` when set. */
  apiKey?: string;
  /** The `model` field of the request (default `omni-moderation-latest`). */
  model?: string;
  /** Whole-call deadline in ms (default 2000). */
  timeoutMs?: number;
  /** For tests and custom agents (default: the global fetch). */
  fetch?: typeof fetch;
}

/**
 * The moderation API as a classifier. `classify` never throws: on failure it answers with the
 * built-in rules and says so (`classifier: 'rules'`, `degraded: [{ classifier, reason }]`). Its own
 * results carry no prompt-injection category; merge with the rules ({@link classifySafety}) for that.
 * @example
 * const moderation = moderationClassifier({ url: 'https://api.openai.com/v1/moderations', apiKey });
 * const result = await classifySafety(text, [moderation]);
 */
export function moderationClassifier(options: ModerationClassifierOptions): SafetyClassifier {
  const model = options.model ?? 'omni-moderation-latest';
  const name = `moderation:${model}`;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 2000;
  return {
    name,
    async classify(text: string, signal?: AbortSignal): Promise<SafetyResult> {
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let reason: string;
      try {
        const response = await doFetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
          body: JSON.stringify({ input: text, model }),
          signal: combined,
        });
        if (response.ok) {
          const parsed = replySchema.safeParse(await response.json().catch(() => undefined));
          if (parsed.success) {
            const first = parsed.data.results[0];
            return {
              categories: mapModerationScores(first?.category_scores ?? {}),
              classifier: `moderation:${parsed.data.model ?? model}`,
            };
          }
          reason = `malformed reply (${parsed.error.issues[0]?.path.join('.') || 'body'})`;
        } else {
          await response.body?.cancel().catch(() => undefined);
          reason = `HTTP ${response.status}`;
        }
      } catch (error) {
        if (signal?.aborted) throw error;
        reason = timeout.aborted
          ? `timeout after ${timeoutMs} ms`
          : `unreachable (${error instanceof Error ? error.message : String(error)})`;
      }
      return { ...classifyByRules(text), degraded: [{ classifier: name, reason }] };
    },
  };
}
