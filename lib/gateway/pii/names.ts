/**
 * Person names by gazetteer and rules, in one linear pass over the text's tokens (no tagger run):
 * capitalised runs ("Jesper Parnevik", "A. Dale", "Roberto Duran") are read word by word against
 * compromise's shipped English lexicon (about 3,100 first names and 900 surnames, and the places,
 * organisations, sports teams and common words it knows; only the lexicon is used) and the first
 * names of @faker-js/faker's locale lists (nothing is downloaded), and a run is a person when
 * - it starts with a first name or an initial and goes on with a capitalised word that is not a
 *   place, an organisation or a street/organisation word ("Grace Road", "Major League");
 * - or its context says so: an honorific or a role before it ("Dr. Ada Lovelace", "broker Shakil
 *   Rizvi", "President Boris Yeltsin"), a speech verb after or before it ("Duran told", "said
 *   Washington"), a country or a number in brackets after it, as in sports results
 *   ("Danius Gleveckas ( Lithuania )", "Cosmin Contra ( 31st )"), an age ("Duran , 45 ,");
 * - or it is a later mention of a word of a person already found ("Alan Shearer … Shearer said",
 *   "SHEARER NAMED"), or follows "my name is", "signed", "regards,".
 * Offsets are UTF-16 code units.
 */
import { de, en, es, it, type LocaleDefinition, nl, pt_BR, sv, tr } from '@faker-js/faker';
import nlp from 'compromise/two';
import type { Candidate } from './structured.ts';

/** Word classes the lexicon gives: first name, surname, place, organisation, honorific, common word. */
const Kind = { Unknown: 0, First: 1, Last: 2, Place: 3, Org: 4, Title: 5, Word: 6 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

const FIRST_TAGS = new Set(['FirstName', 'MaleName', 'FemaleName']);
const PLACE_TAGS = new Set(['Country', 'City', 'Place', 'Region', 'Demonym', 'Month', 'WeekDay', 'Currency']);
const ORG_TAGS = new Set(['Organization', 'SportsTeam']);

/** Words the lexicon lacks or mislabels for this purpose: places, and the last words of place and organisation names. */
const EXTRA_PLACES =
  'britain briton britons u.s. u.s us uk u.k. u.k usa america europe africa asia wimbledon glamorgan leicestershire nottinghamshire derbyshire ' +
  'yorkshire lancashire warwickshire worcestershire gloucestershire northamptonshire hampshire sussex essex middlesex durham ' +
  'bosnia serbia croatia herzegovina chechnya kosovo hong kong lanka';
const STRUCTURE_WORDS =
  'street st road rd avenue ave lane drive court place square park bridge hill house hall tower center centre ' +
  'city town county state republic kingdom island islands province district valley river lake mountain mountains bay ' +
  'league cup club united rovers wanderers athletic olympic open championship championships series trophy tournament games ' +
  'inc corp corporation co ltd plc llc group holdings bank fund party council ministry committee commission court assembly ' +
  'association federation union organisation organization institute university college school airlines airways motors ' +
  'news times post journal herald agency exchange index market markets board office department army police forces front ' +
  'church stadium airport station hospital hotel international national airport radio television tv press federal reserve ' +
  'commerce treasury pentagon kremlin parliament congress senate government police reuters interfax xinhua tanjug itar-tass ' +
  'afp bernama kyodo anatolia dow spa ag nv bv gmbh ab asa oyj bhd pty';
/** Capitalised words that begin sentences or headlines and are never part of a name. */
const FUNCTION_WORDS =
  'a an the this that these those and but or nor so yet if when while after before since until as at by for from in into ' +
  'of on onto over to under with without about against between during through he she it we they i you his her its our their ' +
  'my your there here then now also however meanwhile although because though where which who whom whose what why how all ' +
  'some no not one two three four five six seven eight nine ten first second third last next other another each every both ' +
  'monday tuesday wednesday thursday friday saturday sunday january february march april june july august september october ' +
  'november december may';
/** Roles and titles written before a name: "President Boris Yeltsin", "broker Shakil Rizvi". */
const ROLES =
  'mr mrs ms miss mx dr prof professor sir dame lady lord madam mme mlle herr frau sr sra rev fr president premier minister ' +
  'chancellor governor senator sen rep congressman congresswoman judge justice general gen colonel col captain capt major ' +
  'lieutenant lt sergeant sgt admiral commander king queen prince princess pope cardinal bishop archbishop rabbi imam sheikh ' +
  'ambassador secretary chairman chairwoman chief spokesman spokeswoman director manager coach striker midfielder defender ' +
  'goalkeeper forward batsman bowler pitcher champion finalist rival compatriot teammate broker dealer trader analyst ' +
  'economist leader mayor deputy officer inspector detective agent attorney lawyer doctor nurse author writer actor actress ' +
  'singer player veteran opponent seed winner dissident activist journalist editor rebel envoy negotiator diplomat ' +
  'businessman businesswoman official boxer sprinter runner swimmer cyclist golfer rider driver winger keeper ' +
  'heavyweight middleweight lightweight welterweight skipper chief-of-staff major-general lieutenant-general brigadier ' +
  'commissioner prosecutor dictator tycoon novelist poet composer playwright monk father brother son daughter wife husband ' +
  'widow mother sister uncle democrat republican socialist communist';
/** Verbs of speech after or before a name: "Duran told Reuters", "said Washington". */
const SPEECH =
  'said says told added asked replied explained insisted noted warned admitted declared announced stressed argued ' +
  'recalled complained confirmed denied wrote';
/** The verbs of speech that come before the speaker ("…, said Washington"); "told Reuters" names the listener. */
const SPEECH_BEFORE = new Set(['said', 'says', 'added', 'asked', 'wrote']);
const AGE_OR_NUMBER = /^\d{1,3}(?:st|nd|rd|th)?$/;

/**
 * First names of @faker-js/faker's locales for the languages most names in English text come from
 * (7,598 distinct, lower case): its lists are real given names, gathered per locale.
 */
const firstNames = new Set<string>();
for (const locale of [en, de, es, it, nl, pt_BR, sv, tr] as LocaleDefinition[]) {
  const add = (value: unknown): void => {
    if (typeof value === 'string') firstNames.add(value.toLowerCase());
    else if (Array.isArray(value)) for (const v of value) add(v);
    else if (value && typeof value === 'object') for (const v of Object.values(value)) add(v);
  };
  add(locale.person?.first_name);
}
/** Lexicon tags that outrank a given name of the same spelling ("Georgia", "Paris", "August"). */
const NOT_FIRST_TAGS = new Set(['Country', 'City', 'Place', 'Region', 'Demonym', 'Organization', 'SportsTeam', 'Month', 'WeekDay']);

const lexicon = (nlp.world() as { model: { one: { lexicon: Record<string, string | string[]> } } }).model.one.lexicon;
const extraPlaces = new Set(EXTRA_PLACES.split(' '));
const structureWords = new Set(STRUCTURE_WORDS.split(' '));
const functionWords = new Set(FUNCTION_WORDS.split(' '));
const roles = new Set(ROLES.split(' '));
/** The roles that are honorifics, kept in the name's span. */
const HONORIFICS = new Set([
  'mr',
  'mrs',
  'ms',
  'miss',
  'mx',
  'dr',
  'prof',
  'professor',
  'sir',
  'dame',
  'lady',
  'lord',
  'madam',
  'mme',
  'mlle',
  'herr',
  'frau',
  'sr',
  'sra',
  'rev',
  'fr',
]);
const speech = new Set(SPEECH.split(' '));

/** Whether the lexicon has the word as a country (or a demonym: "Italian"). */
function isCountry(lower: string): boolean {
  if (extraPlaces.has(lower)) return true;
  const entry = lexicon[lower];
  const tags = entry === undefined ? [] : typeof entry === 'string' ? [entry] : entry;
  return tags.includes('Country') || tags.includes('Demonym');
}

/** The word's class from the lexicon and the lists above (`lower` is lower case). */
function kindOf(lower: string): Kind {
  if (functionWords.has(lower)) return Kind.Word;
  if (roles.has(lower)) return Kind.Title;
  if (extraPlaces.has(lower)) return Kind.Place;
  if (structureWords.has(lower)) return Kind.Org;
  const entry = lexicon[lower];
  const tags = entry === undefined ? [] : typeof entry === 'string' ? [entry] : entry;
  // "Jan" is a month's abbreviation and a given name: as a capitalised word in a run, the name.
  if (firstNames.has(lower) && !tags.some((tag) => NOT_FIRST_TAGS.has(tag) && !(tag === 'Month' && lower.length <= 3))) return Kind.First;
  if (entry === undefined) return Kind.Unknown;
  let kind: Kind = Kind.Word;
  for (const tag of tags) {
    if (FIRST_TAGS.has(tag)) return Kind.First;
    if (tag === 'LastName' || tag === 'Person') kind = Kind.Last;
    else if (PLACE_TAGS.has(tag) && kind !== Kind.Last) kind = Kind.Place;
    else if (ORG_TAGS.has(tag) && kind === Kind.Word) kind = Kind.Org;
  }
  return kind;
}

const kindCache = new Map<string, Kind>();
function kind(lower: string): Kind {
  let k = kindCache.get(lower);
  if (k === undefined) {
    k = kindOf(lower);
    if (kindCache.size < 50_000) kindCache.set(lower, k);
  }
  return k;
}

/** Lower-case particles allowed inside a name ("Ludwig van Beethoven", "Carla da Silva"). */
const PARTICLES = new Set([
  'van',
  'von',
  'der',
  'den',
  'de',
  'del',
  'della',
  'di',
  'da',
  'dos',
  'das',
  'du',
  'le',
  'la',
  'bin',
  'ibn',
  'al',
  'ter',
  'ten',
  'y',
]);
const NOT_INITIALS = new Set(['U.S.', 'U.K.', 'U.N.', 'E.U.', 'D.C.', 'A.M.', 'P.M.', 'N.Y.', 'L.A.', 'U.S.A.']);

interface Token {
  /** The word without surrounding punctuation. */
  word: string;
  start: number;
  end: number;
  /** Punctuation or a line break cuts a run after this token. */
  cutAfter: boolean;
  /** Punctuation or a line break before this token. */
  cutBefore: boolean;
  /** A line break (and nothing else) before this token. */
  lineBefore: boolean;
  shape: 'cap' | 'initial' | 'upper' | 'lower' | 'other';
}

const CAPITALISED = /^\p{Lu}[\p{Ll}\p{M}][\p{L}\p{M}'’-]*$|^(?:Mc|Mac|O'|O’|D'|D’)\p{Lu}[\p{L}\p{M}'’-]*$/u;
/** "Hong Kong-listed", "Ontario-based": a capitalised compound adjective, not a name. */
const COMPOUND_ADJECTIVE = /-(?:based|listed|born|owned|led|made|run|controlled|registered|bound|style|born|speaking|backed)$/;
const INITIAL = /^(?:\p{Lu}\.){1,3}$/u;
const UPPER = /^\p{Lu}[\p{Lu}'’-]+$/u;
const LOWER = /^\p{Ll}[\p{Ll}\p{M}'’-]*$/u;
const OPENERS = /["'“‘([{«]/;
const CLOSERS = /["'”’)\]},;:!?»]/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\S+/g;
  let previousEnd = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    let start = m.index;
    let end = start + m[0].length;
    const lineBreak = text.slice(previousEnd, start).includes('\n');
    previousEnd = end;
    let cutBefore = lineBreak;
    let cutAfter = false;
    while (start < end && OPENERS.test(text.charAt(start))) {
      start += 1;
      cutBefore = true;
    }
    while (end > start && CLOSERS.test(text.charAt(end - 1))) {
      end -= 1;
      cutAfter = true;
    }
    let word = text.slice(start, end);
    if (/['’]s$/.test(word) && word.length > 3) {
      word = word.slice(0, -2);
      end -= 2;
      cutAfter = true;
    }
    let shape: Token['shape'] = 'other';
    if (INITIAL.test(word) && !NOT_INITIALS.has(word)) shape = 'initial';
    else {
      if (word.endsWith('.') && word.length > 1) {
        // A full stop after a word ends the sentence unless the word is an honorific ("Mr.", "Dr.").
        const bare = word.slice(0, -1);
        if (kind(bare.toLowerCase()) !== Kind.Title) cutAfter = true;
        word = bare;
        end -= 1;
      }
      if (COMPOUND_ADJECTIVE.test(word)) shape = 'other';
      else if (CAPITALISED.test(word)) shape = 'cap';
      else if (UPPER.test(word)) shape = word.length > 1 ? 'upper' : 'cap';
      else if (LOWER.test(word)) shape = 'lower';
    }
    if (word.length === 0) {
      if (tokens.length > 0) (tokens[tokens.length - 1] as Token).cutAfter = true;
      continue;
    }
    tokens.push({ word, start, end, cutAfter, cutBefore, lineBefore: lineBreak && start === m.index, shape });
  }
  return tokens;
}

/**
 * A given name alone at the end of a line and a surname alone at the start of the next, as in
 * wrapped lists ("…, Damien\nFlemming , …"): one name.
 */
function wrapped(tokens: Token[], from: number, at: number): boolean {
  const current = tokens[at] as Token;
  const next = tokens[at + 1];
  if (from !== at || !next || !next.lineBefore || next.shape !== 'cap' || !next.cutAfter) return false;
  if (current.shape !== 'cap' || kind(current.word.toLowerCase()) !== Kind.First) return false;
  const lower = next.word.toLowerCase();
  const k = kind(lower);
  return !functionWords.has(lower) && k !== Kind.Title && k !== Kind.Org && !isCountry(lower);
}

const SCORE_FULL = 0.85;
const SCORE_CONTEXT = 0.8;
const SCORE_SINGLE = 0.7;

/** Whether the tokens after a run read "( Country )" or "( 31st )" / "( 2 )", as in results tables. */
function bracketAfter(text: string, end: number, inside: Token | undefined): boolean {
  if (!/^\s*\(/.test(text.slice(end, end + 3))) return false;
  if (!inside) return false;
  const lower = inside.word.toLowerCase();
  if (AGE_OR_NUMBER.test(inside.word)) return true;
  // "( captain )", "( South Africa )", "( Czech Republic )": a role, or capitalised words with a place.
  if (inside.shape === 'lower') return roles.has(lower);
  const close = text.indexOf(')', inside.start);
  if (close < 0 || close - inside.start > 30) return false;
  const words = text.slice(inside.start, close).trim().split(/\s+/);
  if (!words.every((w) => /^\p{Lu}/u.test(w))) return false;
  const kinds = words.map((w) => kind(w.toLowerCase().replace(/\.$/, '')));
  return kinds.includes(Kind.Place) || (words.length === 1 && inside.shape === 'cap' && kinds[0] === Kind.Unknown);
}

const ARTICLES = new Set(['the', 'a', 'an']);
/** An apposition that only a person takes: "Dick Morris , who …", "Duran , whose …". */
const WHO_AFTER = /^\s*,\s*(?:who|whose|whom)\b/;
/** An age before the name: "20-year-old Tiger Woods". */
const AGED_BEFORE = /^\d{1,3}-year-old$/;

/** Person names in `text`; see the module comment. */
export function findNames(text: string, out: Candidate[]): void {
  const tokens = tokenize(text);
  const found: Candidate[] = [];
  const pending: Candidate[] = [];
  let i = 0;
  while (i < tokens.length) {
    const first = tokens[i] as Token;
    if (first.shape !== 'cap' && first.shape !== 'initial') {
      i += 1;
      continue;
    }
    // The run: capitalised words and initials, particles inside, no punctuation or line break between.
    let j = i;
    while (j + 1 < tokens.length) {
      const current = tokens[j] as Token;
      const next = tokens[j + 1] as Token;
      if (current.cutAfter || (next.cutBefore && !wrapped(tokens, i, j))) break;
      if (next.shape === 'cap' || next.shape === 'initial') j += 1;
      else {
        // Particles ("van der", "de la") inside a name, a capitalised word after them.
        let k = j + 1;
        while (k < j + 4 && tokens[k]?.shape === 'lower' && PARTICLES.has(tokens[k]?.word ?? '') && !tokens[k]?.cutAfter) k += 1;
        if (k === j + 1 || tokens[k]?.shape !== 'cap' || tokens[k]?.cutBefore) break;
        j = k;
      }
    }
    classifyRun(text, tokens, i, j, found, pending);
    i = j + 1;
  }
  listNeighbours(text, found, pending);
  for (const match of text.matchAll(SELF)) {
    const name = match[1] ?? '';
    const at = match.index + match[0].length - name.length;
    found.push({ type: 'PERSON', start: at, end: at + name.length, score: SCORE_FULL });
  }
  mentions(text, tokens, found);
  for (const c of found) out.push(c);
}

const SELF =
  /\b(?:[Mm]y name is|MY NAME IS|I am called|[Nn]ame:|NAME:|[Ss]igned,?|[Rr]egards,|[Ss]incerely,)\s+(\p{Lu}[\p{Ll}'’-]+(?:\s+\p{Lu}[\p{Ll}'’-]+){0,3})/gu;

/** Whether a role or title stands among tokens `from`..`to`. */
function rolesAhead(tokens: Token[], from: number, to: number): boolean {
  for (let k = from; k <= to; k += 1) if (kind((tokens[k] as Token).word.toLowerCase()) === Kind.Title) return true;
  return false;
}

/** Decides whether tokens `from`..`to` (a capitalised run) hold a person, and pushes the span. */
function classifyRun(text: string, tokens: Token[], from: number, to: number, found: Candidate[], pending: Candidate[]): void {
  let a = from;
  let b = to;
  let titled = false;
  // "German Defence Minister Volker Ruehe", "Security Council President Tono Eitel": the name is what
  // follows the last role inside the run.
  for (let k = to - 1; k > from; k -= 1) {
    const t = tokens[k] as Token;
    if (t.shape === 'cap' && roles.has(t.word.toLowerCase()) && !HONORIFICS.has(t.word.toLowerCase())) {
      a = k + 1;
      titled = true;
      break;
    }
  }
  // Leading words that are not names: sentence openers, roles and titles (which count as evidence).
  while (a <= b) {
    const t = tokens[a] as Token;
    if (t.shape === 'initial') break;
    const k = kind(t.word.toLowerCase());
    if (k === Kind.Title) titled = true;
    else if (a === b) break;
    // "Mexican Ariel Cruz", "Palestinian President Yasser Arafat", "Federal Reserve Governor Lawrence
    // Lindsey": a place or, before a role, an organisation goes too.
    else if (k !== Kind.Word && k !== Kind.Place && !(k === Kind.Org && rolesAhead(tokens, a + 1, b))) break;
    a += 1;
  }
  if (a > b) return;
  // Trailing initials are not names ("Smith J." is rare; "… of the U.S." is not a person).
  while (b > a && (tokens[b] as Token).shape === 'initial') b -= 1;
  const kinds: Kind[] = [];
  for (let k = a; k <= b; k += 1) {
    const t = tokens[k] as Token;
    kinds.push(t.shape === 'initial' ? Kind.First : PARTICLES.has(t.word) ? Kind.Last : kind(t.word.toLowerCase()));
  }
  const firstKind = kinds[0] as Kind;
  const lastKind = kinds[kinds.length - 1] as Kind;
  const head = tokens[a] as Token;
  const tail = tokens[b] as Token;
  // The context: a role before the run (lower case: "broker"), a speech verb before or after.
  const before = from > 0 ? (tokens[from - 1] as Token) : undefined;
  const after = to + 1 < tokens.length ? (tokens[to + 1] as Token) : undefined;
  const beforeLower = before?.word.toLowerCase() ?? '';
  if (before && !head.cutBefore && !before.cutAfter && before.shape === 'lower' && roles.has(beforeLower)) titled = true;
  const spoken =
    (after !== undefined && after.shape === 'lower' && speech.has(after.word) && !tail.cutAfter) ||
    (before !== undefined && before.shape === 'lower' && SPEECH_BEFORE.has(beforeLower) && !before.cutAfter);
  const bracketed = b === to && bracketAfter(text, tail.end, after);
  const aged =
    /^\s*,\s*\d{1,2}\s*,/.test(text.slice(tail.end, tail.end + 8)) ||
    WHO_AFTER.test(text.slice(tail.end, tail.end + 10)) ||
    (before !== undefined && !before.cutAfter && AGED_BEFORE.test(before.word));
  const sports = sportsContext(text, tokens, from, to);
  const context = titled || spoken || bracketed || aged || sports;
  const n = b - a + 1;
  // "Pirelli SpA chairman Marco …", "Ericsson spokesman Per …": the run before a role is the employer.
  if (after && !tail.cutAfter && after.shape === 'lower' && roles.has(after.word) && !spoken) return;
  // "217 N. Rt. 31", "10 S. Dearborn": a direction after a house number is an address.
  if (head.shape === 'initial' && /^[NSEW]\.$/.test(head.word) && before && !before.cutAfter && /^\d{1,6}[A-Za-z]?$/.test(before.word))
    return;
  // A common word first ("Frank", "Will") stops a name only when nothing around says it is one.
  const blocked = kinds.some(
    (k, index) => k === Kind.Org || (k === Kind.Place && index > 0) || (k === Kind.Word && index === 0 && n > 1 && !context),
  );
  let score = 0;
  // A surname spelt like a place or a street word ("Anthony Washington", "Neal Lancaster", "Anthony
  // Hill"): after a given name, with a context saying it is a person, or a place that is not a country.
  const placeSurname =
    n >= 2 &&
    firstKind === Kind.First &&
    head.shape === 'cap' &&
    kinds.slice(1, -1).every((k) => k !== Kind.Org && k !== Kind.Place) &&
    (context ? lastKind === Kind.Place || lastKind === Kind.Org : lastKind === Kind.Place && !isCountry(tail.word.toLowerCase()));
  if (n >= 2) {
    if (placeSurname) score = SCORE_CONTEXT;
    else if (blocked || lastKind === Kind.Place) score = 0;
    else if (firstKind === Kind.First && head.shape === 'initial') score = SCORE_CONTEXT;
    else if (firstKind === Kind.First) score = SCORE_FULL;
    else if (firstKind === Kind.Place) score = 0;
    else if (context) score = SCORE_CONTEXT;
    else if (lastKind === Kind.Last && firstKind !== Kind.Word) score = SCORE_CONTEXT;
  } else if (head.shape === 'cap') {
    // "the Briton , who", "the Cardinals , who": a name takes no article.
    if (firstKind === Kind.Org || firstKind === Kind.Place || firstKind === Kind.Word) score = 0;
    else if (a > from ? ARTICLES.has((tokens[a - 1] as Token).word.toLowerCase()) : before && !before.cutAfter && ARTICLES.has(beforeLower))
      score = 0;
    else if (titled || aged || sports) score = SCORE_CONTEXT;
    else if (spoken) score = SCORE_SINGLE;
    else if (bracketed && firstKind !== Kind.Unknown) score = SCORE_SINGLE;
  }
  if (score <= 0) {
    // Two or three unknown capitalised words may yet be a name in a list of names ("…, Duffy Waldorf and …").
    if (n >= 2 && n <= 3 && !blocked && kinds.every((k) => k === Kind.Unknown || k === Kind.Last || k === Kind.First))
      pending.push({ type: 'PERSON', start: head.start, end: tail.end, score: SCORE_SINGLE });
    return;
  }
  // An honorific right before the name is part of what is redacted ("Dr. Ada Lovelace"); a role is not.
  const previous = a > from ? (tokens[a - 1] as Token) : undefined;
  const start = previous && HONORIFICS.has(previous.word.toLowerCase()) ? previous.start : head.start;
  found.push({ type: 'PERSON', start, end: tail.end, score: titled ? Math.max(score, SCORE_FULL) : score });
}

/** A cricket dismissal letter before or after ("c Vaas b Chandana"); bowling figures after ("Muralitharan 10-0-41-2"). */
const DISMISSAL = new Set(['b', 'c', 'st', 'lbw']);
const BOWLING = /^\d{1,2}(?:\.\d)?-\d{1,2}-\d{1,3}-\d{1,2}$/;

/**
 * Results and line-ups: a shirt number before ("7 - Didier Deschamps"), a minute after ("Sabri
 * Lamouchi 87th", "Arif Erdem , 57th"), a cricket scorecard around the run.
 */
function sportsContext(text: string, tokens: Token[], from: number, to: number): boolean {
  const before = tokens[from - 1];
  const after = tokens[to + 1];
  const tail = tokens[to] as Token;
  if (before?.word === '-' && /^\d{1,2}$/.test(tokens[from - 2]?.word ?? '')) return true;
  if (/^\s*,?\s*\d{1,3}(?:st|nd|rd|th)(?![\p{L}\p{N}])/u.test(text.slice(tail.end, tail.end + 10))) return true;
  if (before && !before.cutAfter && DISMISSAL.has(before.word)) return true;
  if (after && !tail.cutAfter && (DISMISSAL.has(after.word) || BOWLING.test(after.word))) return true;
  return false;
}

const LIST_GAP = /^\s*(?:,|;|and|&)\s*$/;

/**
 * Moves the `pending` runs that stand in a list beside a name found ("Billy Andrade , Duffy Waldorf
 * and Jesper Parnevik") into `found`, along the list in both directions.
 */
function listNeighbours(text: string, found: Candidate[], pending: Candidate[]): void {
  if (pending.length === 0 || found.length === 0) return;
  const items = [...found.map((c) => ({ c, person: true })), ...pending.map((c) => ({ c, person: false }))].sort(
    (x, y) => x.c.start - y.c.start,
  );
  const gap = (from: number, to: number) => to - from <= 8 && to >= from && LIST_GAP.test(text.slice(from, to));
  for (let changed = true, pass = 0; changed && pass < 8; pass += 1) {
    changed = false;
    for (let k = 0; k < items.length; k += 1) {
      const item = items[k];
      if (!item || item.person) continue;
      const previous = items[k - 1];
      const next = items[k + 1];
      if ((previous?.person && gap(previous.c.end, item.c.start)) || (next?.person && gap(item.c.end, next.c.start))) {
        item.person = true;
        found.push(item.c);
        changed = true;
      }
    }
  }
}

/**
 * Later mentions of a person already found by a full name: "Alan Shearer … Shearer said", and in
 * upper case in headlines ("SHEARER NAMED"). Each word of a multi-word name (three letters or more,
 * not a common word or a place) is looked for alone, where no other name covers it; neighbouring
 * mentions make one name.
 */
function mentions(text: string, tokens: Token[], found: Candidate[]): void {
  const words = new Set<string>();
  for (const c of found) {
    const parts = text.slice(c.start, c.end).split(/\s+/);
    // A single name counts when found by a role, an age or a results context, not by a speech verb alone.
    if (parts.length < 2 && c.score < SCORE_CONTEXT) continue;
    parts.forEach((part, index) => {
      if (part.length < 3 || !CAPITALISED.test(part)) return;
      const lower = part.toLowerCase();
      const k = kind(lower);
      if (k === Kind.Title || functionWords.has(lower)) return;
      // The surname of a full name is looked for whatever else it spells ("Tiger Woods … Woods",
      // "Anthony Hill … Hill"); the other words only when they are not common words or places.
      const surname = index > 0 && index === parts.length - 1;
      if (!surname && (k === Kind.Word || k === Kind.Place || k === Kind.Org)) return;
      words.add(part);
      words.add(part.toUpperCase());
    });
  }
  if (words.size === 0) return;
  const covered = new Uint8Array(text.length);
  for (const c of found) covered.fill(1, c.start, c.end);
  let last: Candidate | undefined;
  for (const t of tokens) {
    if (!words.has(t.word) || covered[t.start] === 1 || covered[t.end - 1] === 1) continue;
    // Neighbouring mentions are one name ("ROBERTO DURAN").
    if (last && text.slice(last.end, t.start) === ' ') last.end = t.end;
    else {
      last = { type: 'PERSON', start: t.start, end: t.end, score: SCORE_SINGLE };
      found.push(last);
    }
  }
}
