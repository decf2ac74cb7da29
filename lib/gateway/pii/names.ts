/**
 * Person names: compromise's `people()` (a rule-based English tagger whose lexicon of first names,
 * surnames and honorifics ships inside the npm package; nothing is downloaded at run time), plus
 * rules: an honorific followed by capitalised words ("Dr. Ada Lovelace", "Mr S. Esmer"), and
 * "my name is …"/"signed …" phrases. compromise reports offsets into the text it was given, which
 * are UTF-16 code units; each is checked against the text before it is kept.
 */
import nlp from 'compromise';
import type { Candidate } from './structured.ts';

const TITLE =
  /\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Lady|Lord|Madam|Mme|Mlle|Herr|Frau|Sr|Sra|Rev|Fr)\.?\s+((?:\p{Lu}\.\s?){0,3}\p{Lu}[\p{L}'’-]+(?:\s+\p{Lu}[\p{L}'’-]+){0,3})/gu;
/** An initial or two and a surname ("D. Blenkiron", "J.R. Smith"); not "U.S." and kin. */
const INITIALS = /(?<![\p{L}\p{N}.])((?:\p{Lu}\.\s?){1,2})(\p{Lu}[\p{Ll}'’-]+(?:-\p{Lu}[\p{Ll}'’-]+)?)/gu;
const NOT_INITIALS = new Set(['U.S.', 'U.K.', 'U.N.', 'E.U.', 'D.C.', 'A.M.', 'P.M.', 'N.Y.', 'L.A.']);
const SELF =
  /\b(?:my name is|i am called|name:|signed,?|regards,|sincerely,|this is)\s+(\p{Lu}[\p{L}'’-]+(?:\s+\p{Lu}[\p{L}'’-]+){0,3})/giu;
/** Capitalised words compromise sometimes takes for a person in chat text. */
const NOT_NAMES = new Set([
  'i',
  'hi',
  'hello',
  'dear',
  'thanks',
  'please',
  'ok',
  'yes',
  'no',
  'god',
  'lord',
  'sir',
  'madam',
  'mr',
  'mrs',
  'ms',
  'dr',
]);
const TITLE_WORDS = new Set(['Mr', 'Mrs', 'Ms', 'Miss', 'Dr', 'Prof', 'Professor', 'Sir', 'Dame', 'Lady', 'Lord', 'Madam', 'Herr', 'Frau']);
/** compromise reads a run at most this long at once; longer texts are cut at line breaks (names rarely span them). */
const CHUNK = 20_000;

function pushTrimmed(text: string, start: number, end: number, score: number, out: Candidate[]): void {
  let s = start;
  let e = end;
  while (s < e && /[\s"'“”‘’([,.;:!?-]/.test(text.charAt(s))) s += 1;
  while (e > s && /[\s"'“”‘’)\],.;:!?-]/.test(text.charAt(e - 1))) e -= 1;
  if (/['’]s$/.test(text.slice(s, e))) e -= 2;
  const value = text.slice(s, e);
  if (value.length < 2 || !/\p{Lu}/u.test(value)) return;
  if (value.split(/\s+/).every((word) => NOT_NAMES.has(word.toLowerCase().replace(/\.$/, '')))) return;
  out.push({ type: 'PERSON', start: s, end: e, score });
}

/** compromise's people of one chunk starting at `offset`. */
function people(text: string, chunk: string, offset: number, out: Candidate[]): void {
  const found = nlp(chunk).people().json({ offset: true }) as {
    text: string;
    offset?: { start: number; length: number };
    terms?: unknown[];
  }[];
  for (const person of found) {
    if (!person.offset) continue;
    const start = offset + person.offset.start;
    const end = start + person.offset.length;
    const words = (person.terms?.length ?? person.text.split(/\s+/).length) as number;
    pushTrimmed(text, start, end, words > 1 ? 0.85 : 0.65, out);
  }
}

/** Person names in `text`; see the module comment. */
export function findNames(text: string, out: Candidate[]): void {
  for (const match of text.matchAll(TITLE)) pushTrimmed(text, match.index, match.index + match[0].length, 0.9, out);
  for (const match of text.matchAll(SELF)) {
    const name = match[1] ?? '';
    const at = match.index + match[0].length - name.length;
    pushTrimmed(text, at, at + name.length, 0.85, out);
  }
  for (const match of text.matchAll(INITIALS)) {
    if (NOT_INITIALS.has((match[1] ?? '').replace(/\s/g, ''))) continue;
    pushTrimmed(text, match.index, match.index + match[0].length, 0.7, out);
  }
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + CHUNK);
    if (end < text.length) {
      const cut = text.lastIndexOf('\n', end);
      end = cut > at ? cut + 1 : end;
    }
    people(text, text.slice(at, end), at, out);
    at = end;
  }
  mentions(text, out);
}

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Later mentions of a person already found by a full name: "Alan Shearer … Shearer said". Each word
 * of a multi-word name (capitalised, three letters or more, not an honorific) is looked for alone.
 */
function mentions(text: string, out: Candidate[]): void {
  const words = new Set<string>();
  for (const c of out) {
    if (c.type !== 'PERSON') continue;
    const parts = text.slice(c.start, c.end).split(/\s+/);
    if (parts.length < 2) continue;
    for (const part of parts)
      if (/^\p{Lu}[\p{Ll}'’-]{2,}$/u.test(part) && !NOT_NAMES.has(part.toLowerCase()) && !TITLE_WORDS.has(part)) words.add(part);
  }
  if (words.size === 0) return;
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${[...words].map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`, 'gu');
  for (const match of text.matchAll(pattern))
    out.push({ type: 'PERSON', start: match.index, end: match.index + match[0].length, score: 0.7 });
}
