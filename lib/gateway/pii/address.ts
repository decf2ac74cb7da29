/**
 * Street addresses by rule, token by token (so the scan stays linear): a house number, up to five
 * name words (capitalised, numbers, ordinals, directions), a street-type word ("Street", "Ave",
 * "Road", …, capitalised or upper case), then optionally a direction, a unit ("Apt 4", "Suite 200",
 * "#12", "2nd Floor"), ", City", ", ST" or a state name, and a ZIP code. Also "P.O. Box 123" and the
 * continental "Hauptstraße 42, 10115 Berlin" form. Offsets are UTF-16 code units.
 */
import type { Candidate } from './structured.ts';

const STREET_TYPES = new Set(
  (
    'street st str avenue ave av road rd boulevard blvd lane ln drive dr court ct place pl way terrace ter terr parkway pkwy ' +
    'highway hwy circle cir square sq trail trl alley aly row crescent cres close plaza plz loop pike route rte ' +
    'freeway fwy expressway expy turnpike tpke broadway walk path mews grove gardens gdns hill heights hts park ' +
    'point pt ridge run landing crossing xing commons center ctr causeway cswy esplanade promenade quay wharf'
  ).split(' '),
);
const DIRECTIONS = /^(?:[NSEW]\.?|N\.?[EW]\.?|S\.?[EW]\.?|North|South|East|West|Northeast|Northwest|Southeast|Southwest)$/;
const UNIT = /^(?:apt|apartment|suite|ste|unit|#|room|rm|floor|fl|bldg|building|lot|dept)\.?$/i;
const STATE_CODES = new Set(
  'AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR'.split(' '),
);
const CONTINENTAL = /(?<![\p{L}\p{N}])\p{Lu}[\p{L}-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|laan|straat|gracht|plein|vej|gatan|gata|katu|tie|väg)\s+\d{1,5}[a-zA-Z]?(?:,\s*(?:\d{4,5}|[A-Z]-?\d{4,5})\s+\p{Lu}[\p{L}-]+)?/gu;
const PO_BOX = /\b(?:P\.?\s?O\.?\s?Box|Post Office Box)\s+\d{1,7}\b/gi;
const ADDRESS_CONTEXT = /live at|lives at|living at|address|ship to|deliver to|send (?:it )?to|located at|moved to|reside/;

interface Token {
  text: string;
  start: number;
  end: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const match of text.matchAll(/[^\s,;:()"]+|,/g)) tokens.push({ text: match[0], start: match.index, end: match.index + match[0].length });
  return tokens;
}

const bare = (word: string) => word.replace(/[.]+$/, '');
const isZip = (word: string) => /^\d{5}(?:-\d{4})?$/.test(bare(word));
const isCapitalised = (word: string) => /^[\p{Lu}\p{N}]/u.test(word);
const isStreetType = (word: string) => isCapitalised(word) && STREET_TYPES.has(bare(word).toLowerCase());
const isHouseNumber = (word: string) => /^\d{1,6}[A-Za-z]?(?:-\d{1,5}[A-Za-z]?)?$/.test(word) || /^\d{1,6}\/\d{1,4}$/.test(word);
const isNameWord = (word: string) =>
  (isCapitalised(word) && /^[\p{L}\p{N}'.&-]+$/u.test(word)) || /^\d{1,4}(?:st|nd|rd|th)$/i.test(word) || DIRECTIONS.test(word);

/** Street addresses: see the module comment. `text` may be any string. */
export function findAddresses(text: string, out: Candidate[]): void {
  const tokens = tokenize(text);
  for (let i = 0; i < tokens.length; i += 1) {
    const first = tokens[i];
    if (!first || !isHouseNumber(first.text)) continue;
    // The street: up to five name words, ending at a street-type word (or an "Avenue H" pre-type).
    let j = i + 1;
    let typeAt = -1;
    for (let k = 0; k < 6 && j < tokens.length; k += 1, j += 1) {
      const word = tokens[j]?.text ?? '';
      if (word === ',') break;
      if (isStreetType(word) && j > i + 1) typeAt = j;
      else if (isStreetType(word) && /^(?:avenue|route|highway|hwy|county road)$/i.test(bare(word))) {
        const next = tokens[j + 1]?.text ?? '';
        if (/^(?:[A-Z]|\d{1,4})$/.test(next)) {
          typeAt = j + 1;
          break;
        }
      }
      if (!isNameWord(word) && !isStreetType(word)) break;
    }
    if (typeAt < 0) continue;
    let last = typeAt;
    // After the street type: a direction, a unit, ", City", state, ZIP, in that order, each optional.
    let m = last + 1;
    if (DIRECTIONS.test(tokens[m]?.text ?? '')) last = m++;
    const unit = tokens[m]?.text ?? '';
    if (UNIT.test(unit) && /^[\p{L}\p{N}-]{1,6}$/u.test(tokens[m + 1]?.text ?? '')) {
      last = m + 1;
      m += 2;
    } else if (/^#\d{1,6}$/.test(unit)) last = m++;
    const cityStart = tokens[m]?.text === ',' ? m + 1 : -1;
    if (cityStart > 0) {
      let c = cityStart;
      const cityWords: Token[] = [];
      while (c < tokens.length && cityWords.length < 3 && /^\p{Lu}[\p{L}'.-]*$/u.test(tokens[c]?.text ?? '') && !STATE_CODES.has(tokens[c]?.text ?? '')) {
        cityWords.push(tokens[c] as Token);
        c += 1;
      }
      const afterCity = tokens[c]?.text === ',' ? c + 1 : c;
      const state = tokens[afterCity]?.text ?? '';
      const zipAt = STATE_CODES.has(bare(state)) ? afterCity + 1 : afterCity;
      const zip = tokens[zipAt]?.text ?? '';
      if (cityWords.length > 0 && (STATE_CODES.has(bare(state)) || isZip(zip))) {
        last = STATE_CODES.has(bare(state)) ? afterCity : c - 1;
        if (isZip(zip)) last = zipAt;
      } else if (cityWords.length > 0 && cityWords.length <= 2) {
        // ", Springfield" alone: a city after a full street is part of the address.
        last = c - 1;
      } else if (isZip(tokens[cityStart]?.text ?? '')) last = cityStart;
    } else if (STATE_CODES.has(bare(tokens[m]?.text ?? '')) && isZip(tokens[m + 1]?.text ?? '')) {
      last = m + 1;
    } else if (isZip(tokens[m]?.text ?? '')) last = m;
    const end = (tokens[last] as Token).end;
    let endTrimmed = end;
    while (endTrimmed > first.start && /[.,]/.test(text.charAt(endTrimmed - 1)) && !/^(?:[NSEW]|St|Ave|Rd|Dr|Blvd|Ln|Ct|Pl)\.$/.test(text.slice(Math.max(first.start, endTrimmed - 4), endTrimmed).split(/\s/).pop() ?? '')) endTrimmed -= 1;
    const before = text.slice(Math.max(0, first.start - 30), first.start).toLowerCase();
    out.push({ type: 'STREET_ADDRESS', start: first.start, end: endTrimmed, score: ADDRESS_CONTEXT.test(before) ? 0.9 : 0.8 });
    i = last;
  }
  for (const match of text.matchAll(CONTINENTAL)) out.push({ type: 'STREET_ADDRESS', start: match.index, end: match.index + match[0].length, score: 0.8 });
  for (const match of text.matchAll(PO_BOX)) out.push({ type: 'STREET_ADDRESS', start: match.index, end: match.index + match[0].length, score: 0.8 });
}
