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
  'AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR'.split(
    ' ',
  ),
);
const CONTINENTAL =
  /(?<![\p{L}\p{N}])\p{Lu}[\p{L}-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|laan|straat|gracht|plein|vej|gatan|gata|katu|tie|väg)\s+\d{1,5}[a-zA-Z]?(?:,\s*(?:\d{4,5}|[A-Z]-?\d{4,5})\s+\p{Lu}[\p{L}-]+)?/gu;
const PO_BOX =
  /\b(?:P\.?\s?O\.?\s?Box|Post Office Box|(?:RT|RR|HC)\s*\d{1,4}\s+Box)\s*#?\s*\d{1,7}(?:,?\s+(?:[A-Za-z][\w'.-]*\s+){1,3}[A-Za-z]{2}\s+\d{5}(?:-\d{4})?)?\b/gi;
const CITY_STATE_ZIP = /(?<![\p{L}\p{N}])\p{Lu}[\p{L}'.-]+(?:\s\p{Lu}[\p{L}'.-]+){0,2},\s?([A-Z]{2})\s\d{5}(?:-\d{4})?(?!\d)/gu;
const ADDRESS_CONTEXT = /live at|lives at|living at|address|ship (?:it )?to|deliver to|send (?:it )?to|located at|moved to|reside/;

interface Token {
  text: string;
  start: number;
  end: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const match of text.matchAll(/[^\s,;:()"]+|,|\n/g))
    tokens.push({ text: match[0], start: match.index, end: match.index + match[0].length });
  return tokens;
}

/** House numbers written as words ("One S. Dearborn St.", "Six Concourse Parkway"). */
const NUMBER_WORDS = new Set(['One', 'Two', 'Three', 'Four', 'Five', 'Six', 'Seven', 'Eight', 'Nine', 'Ten', 'Eleven', 'Twelve']);

const bare = (word: string) => word.replace(/[.]+$/, '');
const isZip = (word: string) => /^\d{5}(?:-?\d{4})?$/.test(bare(word));
const isCapitalised = (word: string) => /^[\p{Lu}\p{N}]/u.test(word);
const isHouseNumber = (word: string) => /^\d{1,6}[A-Za-z]?(?:-\d{1,5}[A-Za-z]?)?$/.test(word) || /^\d{1,6}\/\d{1,4}$/.test(word);
const isNameWord = (word: string) =>
  (isCapitalised(word) && /^[\p{L}\p{N}'.&-]+$/u.test(word)) || /^\d{1,4}(?:st|nd|rd|th)$/i.test(word) || DIRECTIONS.test(word);

const ABBREVIATION = /^(?:[NSEW]|St|Ave|Rd|Dr|Blvd|Ln|Ct|Pl|Ste|Apt|Hwy|Rt|Pkwy|Ter|Sq|Mt|Ft|Jr|Sr|N\.Y|D\.C|P\.O)\.$/i;
/** Words an address line may hold between its number and its end, besides capitalised names. */
const FILLER = /^(?:and|of|the|de|del|la|le|du|des|van|von|box|po|p|o|rr|hc|rt|drawer|#)$/i;

/** Street addresses: see the module comment. `text` may be any string. */
export function findAddresses(text: string, out: Candidate[]): void {
  const found: Candidate[] = [];
  scan(text, found);
  for (const pattern of [DIRECTION_FORM, TYPE_FIRST, CITY_STATE_NAME_ZIP])
    for (const match of text.matchAll(pattern))
      found.push({ type: 'STREET_ADDRESS', start: match.index, end: match.index + match[0].length, score: 0.75 });
  for (const match of text.matchAll(SAID_ADDRESS)) {
    const at = match.index + match[0].length - (match[1] ?? '').length;
    found.push({ type: 'STREET_ADDRESS', start: at, end: match.index + match[0].length, score: 0.75 });
  }
  merge(text, found, out);
}

/** "55 West Cermak", "2820 N. Greenview Unit 1", "710 W 65TH BUILDING Z": a number, a direction, a name, no street type. */
const DIRECTION_FORM =
  /(?<![\p{L}\p{N}.,/-])\d{1,6}[A-Za-z]? +(?:[NSEW]\.?|North|South|East|West|NORTH|SOUTH|EAST|WEST|[NS][EW]) +(?:\p{Lu}[\p{L}'-]*|\d{1,5}(?:st|nd|rd|th|ST|ND|RD|TH)?)(?: (?:\p{Lu}[\p{L}'-]*|\d{1,5}(?:st|nd|rd|th|ST|ND|RD|TH)?)){0,2}(?: +(?:Unit|UNIT|Apt|APT|Suite|SUITE|Ste\.?|STE|Building|BUILDING|Floor|FLOOR|#) *#? *[A-Za-z0-9-]{1,6}(?![\p{L}\p{N}]))?/gu;
/** The street type before the name: "10810 Ave. H", "1999 AVENUE OF THE STARS", "221 Rue de Jean", "115 Broadway". */
const TYPE_FIRST =
  /(?<![\p{L}\p{N}.,/-])\d{1,6}[A-Za-z]?\s+(?:(?:Avenue|AVENUE|Ave\.?|AVE\.?|Rue|RUE|Calle|CALLE|Avenida|Via|Route|ROUTE|Rte\.?|Highway|HIGHWAY|Hwy\.?|HWY)(?:\s+(?:of|OF|de|del|la|du|des|the|THE))*\s+(?:\p{Lu}[\p{L}'-]*|\d{1,4}[A-Za-z]?)(?:\s+\p{Lu}[\p{L}'-]*){0,2}|Broadway|BROADWAY)(?![\p{L}\p{N}])/gu;
const STATE_NAMES =
  'Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|' +
  'Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|' +
  'New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|' +
  'South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming';
/** "Atlanta, Georgia 30310": a city, a state written out, a ZIP code. */
const CITY_STATE_NAME_ZIP = new RegExp(
  String.raw`(?<![\p{L}\p{N}])\p{Lu}[\p{L}'.-]+(?:\s\p{Lu}[\p{L}'.-]+){0,2},\s?(?:${STATE_NAMES})\s\d{5}(?:-\d{4})?(?!\d)`,
  'gu',
);
/**
 * After words that announce an address ("Address:", "I live at", "ship it to"), a house number and
 * up to four capitalised words are one even without a street type ("30 Breakenridge Farm",
 * "602 ST THOMAS"), with a unit after them ("APT F").
 */
const SAID_ADDRESS =
  /(?:\b[Ll]ive at|\b[Ll]iving at|\b[Aa]ddress(?: is)?:?|\bADDRESS:?|\b[Ss]hip (?:it )?to|\b[Dd]eliver (?:it )?to|\b[Ss]end (?:it )?to|\b[Ll]ocated at|\b[Mm]oved to|\b[Rr]eside at)\s+(\d{1,6}[A-Za-z]?(?:-[A-Za-z0-9]{1,3})?(?:\s+(?:U\.S\.|\p{Lu}[\p{L}'’-]*(?!\.\p{L})|\d{1,4}(?:st|nd|rd|th|ST|ND|RD|TH)|de|del|la|of|(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|way|court|ct|place|pl|highway|hwy)\.?)){1,5}(?:\s+(?:Apt|APT|Unit|UNIT|Suite|SUITE|Ste\.?|STE|#)\s*[A-Za-z0-9-]{1,6})?)(?![\p{L}\p{N}])/gu;

/** What may stand between two parts of one address: a comma or a space, and maybe a unit ("Ste. 307V,") or a bare number. */
const JOIN =
  /^(?:,\s*|\s+)(?:(?:(?:Ste|Suite|Apt|Unit|Room|Rm|Fl|Floor|Bldg|#)\.?\s*#?\s*)?[A-Za-z0-9-]{1,6},?\s+|[NSEW]\.?[NSEW]?\.?,\s*)?$/i;
/** A street line without a number before "City, ST 12345": it must name a street or a building. */
const LINE_BEFORE = /(?:^|[^\p{L}\p{N},]\s*)((?:[\p{Lu}\d#][\p{L}\d'.#&-]*\s+){0,5}[\p{Lu}\d#][\p{L}\d'.#&-]*),\s*$/u;
const LINE_WORDS =
  /\b(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|way|court|ct|place|plaza|parkway|pkwy|highway|hwy|route|box|airport|inn|hotel|center|centre|building|mall|tower|suite|ste|park|square|terrace|circle|trail)\b\.?/i;

/** Overlapping and adjoining parts of one address become one span (the highest score); street lines before a city are taken in. */
function merge(text: string, found: Candidate[], out: Candidate[]): void {
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Candidate[] = [];
  for (const c of found) {
    const last = merged[merged.length - 1];
    if (last && (c.start < last.end || (c.start - last.end <= 16 && JOIN.test(text.slice(last.end, c.start))))) {
      last.end = Math.max(last.end, c.end);
      last.score = Math.max(last.score, c.score);
    } else merged.push({ ...c });
  }
  for (const c of merged) {
    for (let round = 0; round < 2; round += 1) {
      const before = LINE_BEFORE.exec(text.slice(Math.max(0, c.start - 80), c.start));
      const line = before?.[1];
      if (!before || !line || !LINE_WORDS.test(line) || line.includes('\n')) break;
      c.start -= before[0].length - before[0].indexOf(line);
    }
    out.push(c);
  }
}

/** The token scan of the module comment. */
function scan(text: string, out: Candidate[]): void {
  const tokens = tokenize(text);
  for (let i = 0; i < tokens.length; i += 1) {
    const first = tokens[i];
    if (!first || !(isHouseNumber(first.text) || NUMBER_WORDS.has(first.text))) continue;
    // "6,739-yard": a number with thousands separators is a quantity.
    if (text.charAt(first.end) === ',' && /\d/.test(text.charAt(first.end + 1))) continue;
    // Scan at most 14 tokens: the street (ending at a street-type word), then unit, city, state, ZIP.
    let typeAt = -1;
    let capitalisedStreet = true;
    let tailEnd = -1;
    for (let j = i + 1; j < tokens.length && j <= i + 14; j += 1) {
      const word = tokens[j]?.text ?? '';
      // The street itself is on one line (a results table's numbers and names are not an address).
      if (word === '\n') break;
      if (word === ',') continue;
      const next = tokens[j + 1]?.text ?? '';
      if (isZip(word) && j > i + 2) {
        tailEnd = j;
        break;
      }
      if (STATE_CODES.has(bare(word)) && j > i + 2 && (isZip(next) || (typeAt >= 0 && !/^[\p{L}\p{N}]/u.test(next)))) {
        tailEnd = isZip(next) ? j + 1 : j;
        break;
      }
      const lower = bare(word).toLowerCase();
      if (STREET_TYPES.has(lower) && j > i + 1) {
        typeAt = j;
        if (!isCapitalised(word)) capitalisedStreet = false;
      } else if (typeAt < 0 && !isNameWord(word)) capitalisedStreet = false;
      const wordLike =
        isNameWord(word) ||
        STREET_TYPES.has(lower) ||
        UNIT.test(word) ||
        FILLER.test(word) ||
        /^#?\d[\w-]*$/.test(word) ||
        /^[a-z][a-z'.-]*$/.test(word);
      if (!wordLike) break;
      // A full stop that is not an abbreviation's ends the sentence, and the address with it.
      if (word.endsWith('.') && !ABBREVIATION.test(word) && !/^\p{Lu}\.$/u.test(word)) break;
    }
    let last: number;
    if (tailEnd >= 0) last = tailEnd;
    else if (typeAt >= 0 && capitalisedStreet) {
      last = typeAt;
      // After the street type: a direction, then a unit ("Apt 4", "#12") or ", City", each optional.
      let m = last + 1;
      if (DIRECTIONS.test(tokens[m]?.text ?? '')) last = m++;
      const unit = tokens[m]?.text ?? '';
      if (UNIT.test(unit) && /^[\p{L}\p{N}-]{1,6}$/u.test(bare(tokens[m + 1]?.text ?? ''))) last = m + 1;
      else if (/^#\d{1,6}$/.test(unit)) last = m;
      else if (unit === ',' && /^\p{Lu}[\p{L}'-]*$/u.test(tokens[m + 1]?.text ?? '') && [',', undefined].includes(tokens[m + 2]?.text))
        last = m + 1;
    } else continue;
    let end = (tokens[last] as Token).end;
    while (
      end > first.start &&
      /[.,]/.test(text.charAt(end - 1)) &&
      !ABBREVIATION.test(text.slice(first.start, end).split(/\s/).pop() ?? '')
    )
      end -= 1;
    const before = text.slice(Math.max(0, first.start - 30), first.start).toLowerCase();
    const score = ADDRESS_CONTEXT.test(before) ? 0.9 : 0.8;
    out.push({ type: 'STREET_ADDRESS', start: first.start, end, score });
    i = last;
  }
  // "City, ST 12345" on its own, and PO boxes / rural routes with what follows them.
  for (const match of text.matchAll(CITY_STATE_ZIP)) {
    if (STATE_CODES.has(match[1] ?? ''))
      out.push({ type: 'STREET_ADDRESS', start: match.index, end: match.index + match[0].length, score: 0.7 });
  }
  for (const match of text.matchAll(CONTINENTAL))
    out.push({ type: 'STREET_ADDRESS', start: match.index, end: match.index + match[0].length, score: 0.8 });
  for (const match of text.matchAll(PO_BOX))
    out.push({ type: 'STREET_ADDRESS', start: match.index, end: match.index + match[0].length, score: 0.8 });
}
