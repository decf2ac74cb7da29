/**
 * The knowledge-graph digest: what compression drops is not all lost when the entities and relations
 * in it that the kept context refers to survive as short triples.
 *
 * **Entities** (a deliberately simple extractor, no model): maximal runs of capitalised words
 * ("Duchy of Normandy", "Rollo"), allowing the lower-case connectors of, de, la, von, van, the, and, &
 * inside a run (not at its ends); numbers and years (`\d[\d,.]*`) are entities too. The first word
 * of a sentence counts only when the run has two or more words or the word is capitalised elsewhere
 * in the text (so "The" or "However" at a sentence start are not entities). Words in ALL CAPS of ≥ 2
 * letters (acronyms) are entities.
 *
 * **Relations**: for two entities in the same sentence with 1–{@link DIGEST_DEFAULTS.maxRelationWords}
 * words between them and no sentence punctuation (; : ( )) between, the triple (subject, the words
 * between lower-cased, object). A triple is kept when one of its entities is *referred to*: it occurs
 * (case-insensitively) in the goal or in the kept context. Triples are ranked by how many of their two
 * entities are referred to, then by the number of source sentences, then in order of appearance.
 *
 * @module
 */

/** The extractor's constants. */
export const DIGEST_DEFAULTS = {
  /** Most words between two entities for a relation. */
  maxRelationWords: 6,
} as const;

const CONNECTORS = new Set(['of', 'de', 'la', 'von', 'van', 'the', 'and', '&', 'du', 'del']);
const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’.-]*/gu;

interface Token {
  text: string;
  start: number;
  end: number;
}

/** An entity mention in a sentence. */
export interface Mention {
  text: string;
  /** Word positions [first, last]. */
  first: number;
  last: number;
}

function isCapitalised(word: string): boolean {
  return /^\p{Lu}/u.test(word);
}

function isNumber(word: string): boolean {
  return /^\d[\d,.]*$/.test(word);
}

function tokens(sentence: string): Token[] {
  return [...sentence.matchAll(WORD)].map((match) => ({
    text: match[0].replace(/[.’']+$/u, ''),
    start: match.index,
    end: match.index + match[0].length,
  }));
}

/**
 * The entity mentions of one sentence (see the module comment). `capitalisedElsewhere` holds words
 * seen capitalised away from a sentence start, to judge a sentence's first word.
 * @example entities('Rollo was the first ruler of the Duchy of Normandy.', new Set()); // Rollo, Duchy of Normandy
 */
export function entities(sentence: string, capitalisedElsewhere: ReadonlySet<string>): Mention[] {
  const words = tokens(sentence);
  const mentions: Mention[] = [];
  let at = 0;
  while (at < words.length) {
    const word = (words[at] as Token).text;
    if (isNumber(word)) {
      mentions.push({ text: word, first: at, last: at });
      at++;
      continue;
    }
    if (!isCapitalised(word)) {
      at++;
      continue;
    }
    let last = at;
    let probe = at + 1;
    // A punctuation mark between two words ends the run ("Paris, France" are two entities).
    const joined = (from: number) => !/[,;:()]/.test(sentence.slice((words[from - 1] as Token).end, (words[from] as Token).start));
    while (probe < words.length && joined(probe)) {
      const next = (words[probe] as Token).text;
      if (isCapitalised(next)) {
        last = probe;
        probe++;
      } else if (
        CONNECTORS.has(next.toLowerCase()) &&
        probe + 1 < words.length &&
        isCapitalised((words[probe + 1] as Token).text) &&
        joined(probe + 1)
      )
        probe++;
      else break;
    }
    const single = last === at;
    const acronym = /^\p{Lu}{2,}$/u.test(word);
    const sentenceStart = at === 0;
    if (!sentenceStart || !single || acronym || capitalisedElsewhere.has(word)) {
      mentions.push({
        text: sentence.slice((words[at] as Token).start, (words[last] as Token).end).replace(/[.’']+$/u, ''),
        first: at,
        last,
      });
    }
    at = last + 1;
  }
  return mentions;
}

/** Words seen capitalised at least once away from a sentence's start in `sentences`. */
export function capitalisedWords(sentences: readonly string[]): Set<string> {
  const seen = new Set<string>();
  for (const sentence of sentences) {
    tokens(sentence).forEach((token, index) => {
      if (index > 0 && isCapitalised(token.text)) seen.add(token.text);
    });
  }
  return seen;
}

/** One relation: (subject, relation, object), with the sentences it came from. */
export interface Triple {
  subject: string;
  relation: string;
  object: string;
  /** Source keys (the caller's ids of the sentences), in order of appearance. */
  sources: string[];
}

/** A sentence to digest. */
export interface DigestSentence {
  key: string;
  text: string;
}

/**
 * The triples of `sentences` that `referenced` text mentions (see the module comment), best first.
 * @example digestTriples([{ key: 's1', text: 'Rollo ruled Normandy.' }], 'Who was Rollo?'); // [{ subject: 'Rollo', relation: 'ruled', object: 'Normandy', … }]
 */
export function digestTriples(sentences: readonly DigestSentence[], referenced: string): Triple[] {
  const capitalised = capitalisedWords(sentences.map((sentence) => sentence.text));
  const byKey = new Map<string, Triple & { order: number }>();
  let order = 0;
  for (const sentence of sentences) {
    const words = tokens(sentence.text);
    const mentions = entities(sentence.text, capitalised);
    for (let i = 0; i + 1 < mentions.length; i++) {
      const subject = mentions[i] as Mention;
      const object = mentions[i + 1] as Mention;
      const between = words.slice(subject.last + 1, object.first);
      if (between.length < 1 || between.length > DIGEST_DEFAULTS.maxRelationWords) continue;
      const span = sentence.text.slice((words[subject.last] as Token).end, (words[object.first] as Token).start);
      if (/[;:()]/.test(span)) continue;
      const relation = between.map((token) => token.text.toLowerCase()).join(' ');
      const key = `${subject.text}\u0000${relation}\u0000${object.text}`;
      const existing = byKey.get(key);
      if (existing) {
        if (!existing.sources.includes(sentence.key)) existing.sources.push(sentence.key);
      } else byKey.set(key, { subject: subject.text, relation, object: object.text, sources: [sentence.key], order: order++ });
    }
  }
  const haystack = referenced.toLowerCase();
  const mentioned = (entity: string) => haystack.includes(entity.toLowerCase());
  return [...byKey.values()]
    .map((triple) => ({ triple, refs: (mentioned(triple.subject) ? 1 : 0) + (mentioned(triple.object) ? 1 : 0) }))
    .filter((entry) => entry.refs > 0)
    .sort((a, b) => b.refs - a.refs || b.triple.sources.length - a.triple.sources.length || a.triple.order - b.triple.order)
    .map(({ triple: { order: _order, ...triple } }) => triple);
}

/** A triple as one digest line: `(subject; relation; object)`. */
export function tripleLine(triple: Pick<Triple, 'subject' | 'relation' | 'object'>): string {
  return `(${triple.subject}; ${triple.relation}; ${triple.object})`;
}
