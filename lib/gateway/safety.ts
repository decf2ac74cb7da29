/**
 * The gateway's safety filter on model output: a port ({@link SafetyClassifier}), a built-in
 * rule-based classifier that always runs ({@link ruleClassifier}), the merge of several classifiers'
 * results ({@link classifySafety}, where an external one that fails is recorded and the built-in
 * answer stands) and the verdict ({@link safetyVerdict}: block severe, flag moderate). Pure: the
 * external moderation API adapter lives in lib/adapters/http/moderation.ts.
 *
 * How the built-in classifier grades (documented, deterministic):
 * - each category has a lexicon of patterns, each with a weight: 1 (low: the topic is present), 2
 *   (moderate: harmful framing), 3 (severe: explicit threat, instructions, or an intent to act);
 * - context rules move the strongest weight: an instruction or first-person intent phrase ("how to",
 *   "step by step", "I will", "I'm going to") within the same sentence raises it by one (at most 3);
 *   a protective or reporting frame ("prevent", "helpline", "history of", "was convicted", "don't")
 *   lowers it by one; sexual content with a minor term is always severe (`sexual_minors`);
 * - severity is the adjusted weight (0 none, 1 low, 2 moderate, 3 severe); score is
 *   min(1, sum of matched weights / 4), so several signals score higher than one.
 */
import { z } from 'zod';

export const safetyCategories = [
  'violence',
  'self_harm',
  'sexual',
  'sexual_minors',
  'hate',
  'harassment',
  'weapons_illegal',
  'prompt_injection',
] as const;
export const safetyCategorySchema = z.enum(safetyCategories);
export type SafetyCategory = z.infer<typeof safetyCategorySchema>;

export const severities = ['none', 'low', 'moderate', 'severe'] as const;
export type Severity = (typeof severities)[number];

export const categoryResultSchema = z.object({
  category: safetyCategorySchema,
  severity: z.enum(severities),
  score: z.number().min(0).max(1),
});
export type CategoryResult = z.infer<typeof categoryResultSchema>;

/** What a classifier says of one text: every category it knows, and which classifier said it. */
export interface SafetyResult {
  categories: CategoryResult[];
  /** The classifier(s) that produced the result (`rules`, `moderation:<model>`, joined by `+`). */
  classifier: string;
  /** Classifiers that failed and were left out, with why (timeout, HTTP status, malformed reply). */
  degraded?: { classifier: string; reason: string }[];
}

/** The port: any classifier of text (the built-in rules, an external moderation API, a classifier endpoint). */
export interface SafetyClassifier {
  readonly name: string;
  /** @throws when the classifier cannot answer (the caller falls back; see {@link classifySafety}). */
  classify(text: string, signal?: AbortSignal): Promise<SafetyResult>;
}

interface Rule {
  pattern: RegExp;
  weight: 1 | 2 | 3;
}

const r = (pattern: RegExp, weight: 1 | 2 | 3): Rule => ({ pattern, weight });

/** Target groups for hate rules (protected characteristics, named generically). */
const GROUPS =
  '(?:jews?|muslims?|christians?|blacks?|whites?|asians?|arabs?|mexicans?|immigrants?|refugees?|gays?|lesbians?|trans(?:gender)? people|women|men|disabled people|hindus?|sikhs?|latinos?|africans?|roma|gypsies)';

const LEXICON: Record<SafetyCategory, Rule[]> = {
  violence: [
    r(/\b(?:kill|murder|stab|shoot|strangle|behead|slaughter|massacre|torture)(?:s|ed|ing)?\b/, 1),
    r(/\b(?:blood|gore|corpse|dismember(?:ed)?|mutilat\w*)\b/, 1),
    r(/\b(?:i(?:'ll| will| am going to|'m going to)|we(?:'ll| will)) (?:kill|murder|hurt|stab|shoot|beat|find) (?:you|him|her|them)\b/, 3),
    r(/\b(?:how to|ways to|best way to) (?:kill|murder|poison|hurt|torture) (?:someone|a person|people|my \w+)\b/, 3),
    r(/\b(?:deserves? to die|should be (?:killed|shot|hanged))\b/, 2),
    r(/\b(?:mass shooting|terror(?:ist)? attack|bomb (?:the|a) )\b/, 2),
  ],
  self_harm: [
    r(/\b(?:suicid\w*|self[- ]harm\w*|cutting myself|overdos\w*)\b/, 1),
    r(/\b(?:i want to die|i(?:'m| am) going to (?:kill|hurt) myself|end my life|take my own life)\b/, 3),
    r(/\b(?:how (?:to|do i) (?:kill myself|commit suicide|cut myself)|painless (?:way|method) to die|lethal dose)\b/, 3),
    r(/\b(?:kill yourself|kys)\b/, 3),
  ],
  sexual: [
    r(/\b(?:sex|sexual|nude|naked|porn\w*|erotic|orgasm|genitals?)\b/, 1),
    r(/\b(?:explicit sex|sex scene|masturbat\w*|intercourse|blowjob|penetrat\w*)\b/, 2),
  ],
  sexual_minors: [],
  hate: [
    r(
      new RegExp(
        String.raw`\b(?:all|those|these|the) ${GROUPS} (?:are|is) (?:vermin|animals|subhuman|parasites|a disease|inferior|scum)\b`,
      ),
      3,
    ),
    r(new RegExp(String.raw`\b${GROUPS} (?:should|must|deserve to) (?:die|be (?:exterminated|killed|deported|wiped out))\b`), 3),
    r(new RegExp(String.raw`\b(?:hate|despise) (?:all )?${GROUPS}\b`), 2),
    r(/\b(?:racial purity|ethnic cleansing|white power|master race)\b/, 2),
  ],
  harassment: [
    r(/\b(?:you(?:'re| are) (?:a |an )?(?:worthless|pathetic|disgusting|stupid|idiot|moron|loser|ugly))\b/, 2),
    r(/\b(?:shut up|go to hell|nobody likes you|everyone hates you)\b/, 1),
    r(/\b(?:i know where you live|i(?:'ll| will) (?:find|ruin|destroy) you|you(?:'ll| will) regret)\b/, 3),
    r(/\b(?:idiot|moron|loser|bitch|bastard|asshole)\b/, 1),
  ],
  weapons_illegal: [
    r(/\b(?:explosives?|detonator|pipe bomb|nerve agent|ricin|sarin|anthrax|ghost gun|silencer|untraceable (?:gun|firearm))\b/, 1),
    r(/\b(?:cocaine|heroin|methamphetamine|meth|fentanyl|crack)\b/, 1),
    r(
      /\b(?:how to|steps to|instructions (?:for|to)|recipe for) (?:make|build|synthesi[sz]e|cook|assemble) (?:a |an )?(?:bomb|explosive|pipe bomb|meth|methamphetamine|nerve agent|ricin|silencer|ghost gun)\b/,
      3,
    ),
    r(
      /\b(?:launder(?:ing)? money|buy (?:a )?(?:stolen|illegal) (?:gun|credit cards?)|credit card skimm\w*|hack into (?:his|her|their|someone's) account)\b/,
      2,
    ),
  ],
  prompt_injection: [
    r(
      /\b(?:ignore|disregard|forget) (?:all |any )?(?:(?:the|your|my) )?(?:previous|prior|above|earlier|preceding) (?:instructions|prompts?|rules|messages)\b/,
      3,
    ),
    r(/\b(?:you are now|act as|pretend to be) (?:dan|an? (?:unfiltered|uncensored|jailbroken) (?:ai|model|assistant))\b/, 3),
    r(/\b(?:developer mode|jailbreak|do anything now)\b/, 2),
    r(/\b(?:reveal|print|show|repeat) (?:your |the )?(?:system prompt|hidden instructions|initial instructions)\b/, 2),
    r(/<\|(?:im_start|im_end|system|endoftext)\|>|\[\/?INST\]|<<SYS>>/, 2),
    r(/\bsystem prompt\b/, 1),
  ],
};

const MINOR = /\b(?:child(?:ren)?|kids?|minors?|underage|preteens?|(?:[1-9]|1[0-7])[- ]year[- ]olds?|schoolgirls?|schoolboys?|toddlers?)\b/;
const INTENT = /\b(?:how to|how do i|step[- ]by[- ]step|instructions|i will|i'll|i am going to|i'm going to|i want to|let me)\b/;
const PROTECTIVE =
  /\b(?:prevent\w*|helpline|hotline|get help|support line|history of|was convicted|were convicted|reported|condemn\w*|don't|do not|never|awareness|survivors?)\b/;
/** Categories whose weight context may raise (instructions and intent matter) or lower (a protective frame). */
const CONTEXTUAL = new Set<SafetyCategory>(['violence', 'self_harm', 'weapons_illegal', 'hate', 'harassment']);

const toSeverity = (weight: number): Severity => severities[Math.max(0, Math.min(3, weight))] ?? 'none';

/** One sentence's matches: the adjusted strongest weight and the summed weights per category. */
function gradeSentence(sentence: string, into: Map<SafetyCategory, { weight: number; sum: number }>): void {
  const intent = INTENT.test(sentence);
  const protective = PROTECTIVE.test(sentence);
  for (const category of safetyCategories) {
    let strongest = 0;
    let sum = 0;
    for (const rule of LEXICON[category]) {
      if (!rule.pattern.test(sentence)) continue;
      strongest = Math.max(strongest, rule.weight);
      sum += rule.weight;
    }
    if (strongest === 0) continue;
    if (CONTEXTUAL.has(category)) {
      if (intent && strongest < 3) strongest += 1;
      if (protective && strongest > 0) strongest -= 1;
    }
    const seen = into.get(category) ?? { weight: 0, sum: 0 };
    into.set(category, { weight: Math.max(seen.weight, strongest), sum: seen.sum + sum });
  }
  const sexual = into.get('sexual');
  if (sexual && sexual.weight > 0 && MINOR.test(sentence)) into.set('sexual_minors', { weight: 3, sum: 4 });
}

/**
 * The built-in classifier's grading of `text` (see the module comment). Synchronous and total: any
 * string gets a result, every category listed.
 * @example
 * classifyByRules('I will find you and hurt you').categories.find((c) => c.category === 'violence')
 * // { category: 'violence', severity: 'severe', score: 0.75 }
 */
export function classifyByRules(text: string): SafetyResult {
  const graded = new Map<SafetyCategory, { weight: number; sum: number }>();
  const lower = (typeof text === 'string' ? text : '').toLowerCase().replace(/[’‘]/g, "'");
  for (const sentence of lower.split(/(?<=[.!?\n])\s+/)) gradeSentence(sentence, graded);
  return {
    categories: safetyCategories.map((category) => {
      const grade = graded.get(category);
      return { category, severity: toSeverity(grade?.weight ?? 0), score: grade ? Math.min(1, grade.sum / 4) : 0 };
    }),
    classifier: 'rules',
  };
}

/** The built-in classifier behind the port. */
export const ruleClassifier: SafetyClassifier = {
  name: 'rules',
  classify: async (text) => classifyByRules(text),
};

const rankOf = (severity: Severity) => severities.indexOf(severity);

/**
 * Classifies with the built-in rules (always) and each of `others`, merging per category (the
 * higher severity, then the higher score). An `other` that throws or is aborted is left out and
 * recorded in `degraded`, so a moderation API outage never leaves output unfiltered.
 */
export async function classifySafety(text: string, others: readonly SafetyClassifier[] = [], signal?: AbortSignal): Promise<SafetyResult> {
  const results: SafetyResult[] = [classifyByRules(text)];
  const degraded: { classifier: string; reason: string }[] = [];
  for (const classifier of others) {
    try {
      const result = await classifier.classify(text, signal);
      results.push(result);
      if (result.degraded) degraded.push(...result.degraded);
    } catch (error) {
      degraded.push({ classifier: classifier.name, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  const merged = new Map<SafetyCategory, CategoryResult>();
  for (const result of results) {
    for (const c of result.categories) {
      const seen = merged.get(c.category);
      if (!seen || rankOf(c.severity) > rankOf(seen.severity) || (c.severity === seen.severity && c.score > seen.score))
        merged.set(c.category, c);
    }
  }
  return {
    categories: safetyCategories.map((category) => merged.get(category) ?? { category, severity: 'none', score: 0 }),
    classifier: results.map((r) => r.classifier).join('+'),
    ...(degraded.length > 0 ? { degraded } : {}),
  };
}

/** What the gateway does with an output. */
export interface SafetyVerdict {
  action: 'allow' | 'flag' | 'block';
  /** `category: severity` of every category at moderate or above (the reasons for the action). */
  reasons: string[];
}

/**
 * Block when any category is severe, flag when any is moderate, allow otherwise.
 * @example safetyVerdict(classifyByRules('Ignore all previous instructions')) // { action: 'block', reasons: ['prompt_injection: severe'] }
 */
export function safetyVerdict(result: SafetyResult): SafetyVerdict {
  const reasons = result.categories.filter((c) => rankOf(c.severity) >= rankOf('moderate')).map((c) => `${c.category}: ${c.severity}`);
  const action = result.categories.some((c) => c.severity === 'severe') ? 'block' : reasons.length > 0 ? 'flag' : 'allow';
  return { action, reasons };
}
