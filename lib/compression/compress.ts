/**
 * Compression: fit an agent's context (turns, retrieved documents, memory items) to a token budget
 * while keeping what later turns need. Pure and deterministic; tokens are counted by an injected
 * counter (the gateway's tokenizer, lib/gateway/tokenizer.ts).
 *
 * The rule, in order:
 * 1. Each item is hashed (SHA-256 of the RFC 8785 canonical JSON of id, kind, role and text) and
 *    counted. It is **critical** when flagged or labelled with one of the tenant's `criticalLabels`.
 * 2. **Near-duplicates** (MinHash + LSH, lib/compression/minhash.ts) are merged into the earlier item
 *    they repeat (a critical item is never merged away; a later critical one takes the earlier's place).
 * 3. **Critical items** are kept whole. When they alone exceed the budget, nothing critical is dropped:
 *    the result is `needs-approval`, naming the critical items that meeting the budget would drop
 *    (least relevant to the goal first), and holds the critical items only.
 * 4. The `keepRecentTurns` most recent turns are kept whole, newest first, while they fit.
 * 5. Everything else is cut into sentences and ranked against the goal (BM25 and embedding cosine
 *    fused, lib/compression/relevance.ts); a sentence's score mixes its own relevance with its item's
 *    (`itemWeight`), so a sentence is read in its item's context. Older turns holding more than `summariseAboveTokens` are
 *    **summarised**: their sentences' scores mix goal relevance with TextRank centrality
 *    (`centralityWeight`), and what is chosen becomes one summary item; below the threshold each older
 *    turn is one unit, kept or dropped whole. Units are taken in **maximal marginal relevance** order
 *    (λ = `relevanceWeight`) while they fit, leaving `digestShare` of the budget for step 6.
 * 6. The **knowledge-graph digest** (lib/compression/digest.ts): triples from the sentences left out
 *    whose entities the goal or the kept context mention, as many as fit in the digest's share; then
 *    what is left of the budget takes further units in the same MMR order.
 * 7. Output items keep the input order (the digest first, a history summary where its first turn was);
 *    an item with only some sentences chosen becomes an extract of them (`summarised`). The **lineage**
 *    names, for each output item, the input items (id and hash) it came from and how (`kept`,
 *    `summarised`, `deduplicated`, `digested`); inputs in no output text are listed as `dropped`.
 *
 * Token counts of output items are those of their texts; ratio = tokensOut / tokensIn, saved = 1 − ratio.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { TextTokenCounter } from '../gateway/retrieval.ts';
import { digestTriples, tripleLine } from './digest.ts';
import { nearDuplicates } from './minhash.ts';
import { mmr, relevance } from './relevance.ts';
import type { CompressionResult, CompressionSettings, ContextItem, OutputItem } from './schemas.ts';
import { splitSentences, textRank } from './textrank.ts';

/** What {@link compress} takes. */
export interface CompressInput {
  goal: string;
  items: readonly ContextItem[];
  budgetTokens: number;
  /** Hashes of critical items an approved proposal allows dropping. */
  approvedDrops?: ReadonlySet<string>;
}

/** SHA-256 (hex) of an item's canonical JSON (id, kind, role, text). */
export function itemHash(item: Pick<ContextItem, 'id' | 'kind' | 'role' | 'text'>): string {
  return createHash('sha256')
    .update(canonicalize({ id: item.id, kind: item.kind, role: item.role ?? null, text: item.text }) ?? '')
    .digest('hex');
}

function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Whether the settings make `item` critical. */
export function isCritical(item: ContextItem, criticalLabels: readonly string[]): boolean {
  return item.critical === true || (item.labels ?? []).some((label) => criticalLabels.includes(label));
}

interface Entry {
  item: ContextItem;
  index: number;
  hash: string;
  tokens: number;
  critical: boolean;
}

interface CandidateUnit {
  id: string;
  entry: Entry;
  /** Sentence position in its item, or -1 for a whole item. */
  sentence: number;
  text: string;
  tokens: number;
  history: boolean;
}

const DIGEST_HEADER = 'Facts from the left-out context:';
const SUMMARY_PREFIX = 'Summary of earlier turns:';

/**
 * Compresses a context to `budgetTokens` (see the module comment).
 * @example
 * const result = compress({ goal: 'When did Rollo die?', items, budgetTokens: 512 }, DEFAULT_COMPRESSION_SETTINGS, (text) => tok.count(text));
 * result.saved; // e.g. 0.78
 */
export function compress(input: CompressInput, settings: CompressionSettings, count: TextTokenCounter): CompressionResult {
  const budget = input.budgetTokens;
  const entries: Entry[] = input.items.map((item, index) => {
    const hash = itemHash(item);
    return {
      item,
      index,
      hash,
      tokens: count(item.text),
      critical: isCritical(item, settings.criticalLabels) && !input.approvedDrops?.has(hash),
    };
  });
  const tokensIn = entries.reduce((sum, entry) => sum + entry.tokens, 0);
  const byId = new Map(entries.map((entry) => [entry.item.id, entry]));
  const ref = (entry: Entry) => ({ id: entry.item.id, hash: entry.hash });

  // 2. Near-duplicates.
  const duplicates = nearDuplicates(
    entries.map((entry) => ({ id: entry.item.id, text: entry.item.text, keep: entry.critical })),
    settings.duplicateThreshold,
  );
  const duplicateOf = new Map(duplicates.map((duplicate) => [duplicate.id, duplicate.into]));
  const live = entries.filter((entry) => !duplicateOf.has(entry.item.id));

  // 3. Critical items.
  const critical = live.filter((entry) => entry.critical);
  const criticalTokens = critical.reduce((sum, entry) => sum + entry.tokens, 0);
  if (criticalTokens > budget) return needsApproval(entries, critical, criticalTokens, input.goal, budget, tokensIn, duplicateOf, count);

  // 4. Recent turns.
  let remaining = budget - criticalTokens;
  const whole = new Set<Entry>(critical);
  const turns = live.filter((entry) => entry.item.kind === 'turn' && !entry.critical);
  const recent = turns.slice(Math.max(0, turns.length - settings.keepRecentTurns)).reverse();
  for (const entry of recent) {
    if (entry.tokens > remaining) break;
    whole.add(entry);
    remaining -= entry.tokens;
  }

  // 5. Candidates: older turns (whole or, above the threshold, as sentences) and sentences of documents and memory.
  const rest = live.filter((entry) => !whole.has(entry));
  const history = rest.filter((entry) => entry.item.kind === 'turn');
  const summariseHistory = history.reduce((sum, entry) => sum + entry.tokens, 0) > settings.summariseAboveTokens;
  const units: CandidateUnit[] = [];
  for (const entry of rest) {
    const isHistory = entry.item.kind === 'turn';
    if (isHistory && !summariseHistory) {
      units.push({ id: `${entry.index}`, entry, sentence: -1, text: entry.item.text, tokens: entry.tokens, history: false });
      continue;
    }
    splitSentences(entry.item.text).forEach((text, sentence) => {
      units.push({ id: `${entry.index}:${sentence}`, entry, sentence, text, tokens: count(text) + 1, history: isHistory });
    });
  }
  const weights = { bm25: settings.bm25Weight, vector: settings.vectorWeight };
  const { scores, vectors } = relevance(input.goal, units, weights);
  if (settings.itemWeight > 0) {
    const itemScores = relevance(
      input.goal,
      rest.map((entry) => ({ id: `${entry.index}`, text: entry.item.text })),
      weights,
    ).scores;
    for (const unit of units) {
      if (unit.sentence === -1) continue;
      const own = scores.get(unit.id) ?? 0;
      scores.set(unit.id, (1 - settings.itemWeight) * own + settings.itemWeight * (itemScores.get(`${unit.entry.index}`) ?? 0));
    }
  }
  if (summariseHistory) {
    const historyUnits = units.filter((unit) => unit.history);
    const ranks = textRank(historyUnits.map((unit) => unit.text));
    const top = Math.max(...ranks, 0);
    historyUnits.forEach((unit, at) => {
      const centrality = top > 0 ? (ranks[at] as number) / top : 0;
      scores.set(unit.id, (1 - settings.centralityWeight) * (scores.get(unit.id) ?? 0) + settings.centralityWeight * centrality);
    });
  }
  // The summary's prefix is paid for up front.
  if (summariseHistory && history.length > 0) remaining = Math.max(0, remaining - count(SUMMARY_PREFIX) - 1);
  const unitById = new Map(units.map((unit) => [unit.id, unit]));
  const order = mmr(
    units.map((unit) => unit.id),
    scores,
    vectors,
    settings.relevanceWeight,
  );
  const chosen = new Set<string>();
  const take = (room: number): number => {
    let left = room;
    for (const id of order) {
      const unit = unitById.get(id) as CandidateUnit;
      if (unit.tokens <= left) {
        chosen.add(id);
        left -= unit.tokens;
      }
      if (left <= 0) break;
    }
    return left;
  };
  const digestRoom = units.length > 0 ? Math.floor(settings.digestShare * budget) : 0;
  remaining = take(Math.max(0, remaining - digestRoom)) + digestRoom;

  // 6. Digest of what was left out, then the rest of the room.
  const leftOut = units.filter((unit) => !chosen.has(unit.id));
  const keptText = [...whole].map((entry) => entry.item.text).concat(units.filter((unit) => chosen.has(unit.id)).map((unit) => unit.text));
  const triples = digestTriples(
    leftOut.map((unit) => ({ key: unit.id, text: unit.text })),
    `${input.goal}\n${keptText.join('\n')}`,
  );
  const digestLines: string[] = [];
  const digestSources = new Set<Entry>();
  let digestTokens = triples.length > 0 ? count(DIGEST_HEADER) + 1 : 0;
  if (digestTokens > 0 && digestTokens <= Math.min(digestRoom, remaining)) {
    for (const triple of triples) {
      const line = tripleLine(triple);
      const cost = count(line) + 1;
      if (digestTokens + cost > Math.min(digestRoom, remaining)) continue;
      digestLines.push(line);
      digestTokens += cost;
      for (const source of triple.sources) digestSources.add((unitById.get(source) as CandidateUnit).entry);
    }
  }
  if (digestLines.length > 0) remaining -= digestTokens;
  take(remaining);

  // 7. Output in input order, with lineage.
  const mergedInto = new Map<string, Entry[]>();
  for (const [id, into] of duplicateOf) mergedInto.set(into, [...(mergedInto.get(into) ?? []), byId.get(id) as Entry]);
  const withDuplicates = (entry: Entry, how: 'kept' | 'summarised') => [
    { ...ref(entry), how },
    ...(mergedInto.get(entry.item.id) ?? []).map((duplicate) => ({ ...ref(duplicate), how: 'deduplicated' as const })),
  ];
  const chosenByEntry = new Map<Entry, CandidateUnit[]>();
  for (const unit of units) if (chosen.has(unit.id)) chosenByEntry.set(unit.entry, [...(chosenByEntry.get(unit.entry) ?? []), unit]);
  const sentenceCount = new Map<Entry, number>();
  for (const unit of units) sentenceCount.set(unit.entry, (sentenceCount.get(unit.entry) ?? 0) + 1);

  const outputs: OutputItem[] = [];
  const inOutput = new Set<Entry>();
  const make = (id: string, kind: OutputItem['kind'], text: string, from: OutputItem['from'], role?: ContextItem['role']): OutputItem => ({
    id,
    kind,
    ...(role ? { role } : {}),
    text,
    tokens: count(text),
    hash: textHash(text),
    from,
  });
  if (digestLines.length > 0) {
    outputs.push(
      make(
        'digest',
        'digest',
        `${DIGEST_HEADER}\n${digestLines.join('\n')}`,
        [...digestSources].sort((a, b) => a.index - b.index).map((entry) => ({ ...ref(entry), how: 'digested' as const })),
      ),
    );
  }
  let summaryPlaced = false;
  const historyChosen = units.filter((unit) => unit.history && chosen.has(unit.id));
  for (const entry of live) {
    if (whole.has(entry)) {
      outputs.push(make(entry.item.id, entry.item.kind, entry.item.text, withDuplicates(entry, 'kept'), entry.item.role));
      inOutput.add(entry);
      continue;
    }
    const picked = chosenByEntry.get(entry);
    if (!picked) continue;
    if (picked[0]?.history) {
      if (summaryPlaced) continue;
      summaryPlaced = true;
      const sources = [...new Set(historyChosen.map((unit) => unit.entry))];
      for (const source of sources) inOutput.add(source);
      outputs.push(
        make(
          'summary',
          'summary',
          `${SUMMARY_PREFIX} ${historyChosen.map((unit) => unit.text).join(' ')}`,
          sources.flatMap((source) => withDuplicates(source, 'summarised')),
          'system',
        ),
      );
      continue;
    }
    inOutput.add(entry);
    const all = picked[0]?.sentence === -1 || picked.length === sentenceCount.get(entry);
    outputs.push(
      make(
        entry.item.id,
        entry.item.kind,
        all ? entry.item.text : picked.map((unit) => unit.text).join(' '),
        withDuplicates(entry, all ? 'kept' : 'summarised'),
        entry.item.role,
      ),
    );
  }
  const dropped = entries
    .filter(
      (entry) =>
        !inOutput.has(entry) &&
        !(duplicateOf.has(entry.item.id) && inOutput.has(byId.get(duplicateOf.get(entry.item.id) as string) as Entry)),
    )
    .map((entry) => ({
      ...ref(entry),
      tokens: entry.tokens,
      reason: duplicateOf.has(entry.item.id) ? ('duplicate' as const) : ('budget' as const),
      critical: entry.critical,
      digested: digestSources.has(entry),
    }));
  return finish('compressed', outputs, dropped, tokensIn, budget);
}

/** Step 3's refusal: the critical items alone exceed the budget. */
function needsApproval(
  entries: readonly Entry[],
  critical: readonly Entry[],
  criticalTokens: number,
  goal: string,
  budget: number,
  tokensIn: number,
  duplicateOf: ReadonlyMap<string, string>,
  count: TextTokenCounter,
): CompressionResult {
  const { scores } = relevance(
    goal,
    critical.map((entry) => ({ id: entry.item.id, text: entry.item.text })),
    { bm25: 1, vector: 1 },
  );
  const leastRelevant = [...critical].sort((a, b) => (scores.get(a.item.id) ?? 0) - (scores.get(b.item.id) ?? 0) || b.index - a.index);
  const wouldDrop: Entry[] = [];
  let over = criticalTokens - budget;
  for (const entry of leastRelevant) {
    if (over <= 0) break;
    wouldDrop.push(entry);
    over -= entry.tokens;
  }
  const criticalIds = new Set(critical.map((entry) => entry.item.id));
  const outputs: OutputItem[] = critical.map((entry) => ({
    id: entry.item.id,
    kind: entry.item.kind,
    ...(entry.item.role ? { role: entry.item.role } : {}),
    text: entry.item.text,
    tokens: count(entry.item.text),
    hash: textHash(entry.item.text),
    from: [
      { id: entry.item.id, hash: entry.hash, how: 'kept' as const },
      ...entries
        .filter((other) => duplicateOf.get(other.item.id) === entry.item.id)
        .map((other) => ({ id: other.item.id, hash: other.hash, how: 'deduplicated' as const })),
    ],
  }));
  const dropped = entries
    .filter((entry) => !criticalIds.has(entry.item.id) && !criticalIds.has(duplicateOf.get(entry.item.id) ?? ''))
    .map((entry) => ({
      id: entry.item.id,
      hash: entry.hash,
      tokens: entry.tokens,
      reason: duplicateOf.has(entry.item.id) ? ('duplicate' as const) : ('budget' as const),
      critical: false,
      digested: false,
    }));
  const result = finish('needs-approval', outputs, dropped, tokensIn, budget);
  return {
    ...result,
    needsApproval: {
      items: wouldDrop.sort((a, b) => a.index - b.index).map((entry) => ({ id: entry.item.id, hash: entry.hash, tokens: entry.tokens })),
      tokensOver: criticalTokens - budget,
    },
  };
}

function finish(
  status: CompressionResult['status'],
  items: OutputItem[],
  dropped: CompressionResult['dropped'],
  tokensIn: number,
  budget: number,
): CompressionResult {
  const tokensOut = items.reduce((sum, item) => sum + item.tokens, 0);
  const ratio = tokensIn === 0 ? 0 : tokensOut / tokensIn;
  return { status, items, tokensIn, tokensOut, budgetTokens: budget, withinBudget: tokensOut <= budget, ratio, saved: 1 - ratio, dropped };
}
