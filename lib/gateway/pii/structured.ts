/**
 * The rule-based detectors of the PII filter: e-mail, IP address, payment card, IBAN, national ids,
 * phone numbers and dates of birth. Each is a linear-time scan (no nested quantifiers over the same
 * characters) followed by a validation (checksum, registry length, parser), so any string is safe to
 * scan. Offsets are UTF-16 code units into the scanned text.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/min';
import {
  cardSchemeKnown,
  codiceFiscaleValid,
  dateExists,
  hetuValid,
  IBAN_LENGTHS,
  ibanValid,
  luhnValid,
  ninoValid,
  personnummerValid,
  spanishIdValid,
  ssnValid,
} from './checksums.ts';

/** A detection before overlaps are resolved. */
export interface Candidate {
  type: string;
  start: number;
  end: number;
  score: number;
  /** Which identifier within the type (`US_SSN`, `UK_NINO`, …) where the type groups several. */
  kind?: string;
}

/** Whether one of `words` (lower case, a regex alternation) occurs in the `window` characters before `start`. */
function contextBefore(text: string, start: number, words: RegExp, window = 40): boolean {
  return words.test(text.slice(Math.max(0, start - window), start).toLowerCase());
}

const EMAIL =
  /(?:"[^"\r\n]{1,64}"|[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*)@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}[\p{L}\p{N}-]{0,62}/gu;

/** E-mail addresses, including quoted and non-ASCII local parts and internationalised domains. */
export function findEmails(text: string, out: Candidate[]): void {
  // The pattern is tried at every position; most texts have no "@" and need no scan at all.
  if (!text.includes('@')) return;
  for (const match of text.matchAll(EMAIL)) {
    out.push({ type: 'EMAIL', start: match.index, end: match.index + match[0].length, score: 0.95 });
  }
}

const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)/g;
const IPV6 = /(?<![\p{L}\p{N}:.])(?=[0-9A-Fa-f:.]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:.]{2,45}(?![\p{L}\p{N}:])/gu;

/** IPv4 in dotted decimal (each octet ≤ 255, no leading zeros) and IPv6 in any RFC 4291 text form. */
export function findIpAddresses(text: string, out: Candidate[]): void {
  // Each pattern looks ahead at every position: texts without a dotted quad or two close colons skip it.
  if (/\d\.\d/.test(text))
    for (const match of text.matchAll(IPV4)) {
      if (isIPv4(match[0]))
        out.push({ type: 'IP_ADDRESS', start: match.index, end: match.index + match[0].length, score: 0.85, kind: 'IPV4' });
    }
  if (!/:[0-9A-Fa-f]{0,4}:/.test(text)) return;
  for (const match of text.matchAll(IPV6)) {
    let value = match[0];
    // A sentence may end right after the address.
    while (value.endsWith('.')) value = value.slice(0, -1);
    if (!/[0-9A-Fa-f]/.test(value) || !isIPv6(value)) continue;
    out.push({ type: 'IP_ADDRESS', start: match.index, end: match.index + value.length, score: 0.85, kind: 'IPV6' });
  }
}

/** Not inside a longer code: "DK5000400440116342" is an IBAN's tail, not a card. */
const CARD = /(?<![\p{L}\d-])\d(?:[ -]?\d){12,18}(?![\p{L}\d]|-\d)/gu;
const CARD_CONTEXT = /card|visa|mastercard|amex|credit|debit|charge|paid|payment|cc\b/;

/** Payment card numbers: 13–19 digits, one separator style, a known scheme prefix, Luhn valid. */
export function findCards(text: string, out: Candidate[]): void {
  for (const match of text.matchAll(CARD)) {
    const raw = match[0];
    const separators = new Set(raw.replace(/\d/g, ''));
    if (separators.size > 1) continue;
    const digits = raw.replace(/\D/g, '');
    if (!cardSchemeKnown(digits) || !luhnValid(digits)) continue;
    const score = contextBefore(text, match.index, CARD_CONTEXT) ? 0.98 : 0.9;
    out.push({ type: 'CREDIT_CARD', start: match.index, end: match.index + raw.length, score });
  }
}

const IBAN_START = /(?<![\p{L}\p{N}])([A-Za-z]{2}) ?(\d{2})(?=[ -]?[A-Za-z0-9])/gu;

/**
 * IBANs, compact or grouped by spaces or dashes: exactly the registry's length for the country, and
 * mod 97 = 1. The scan takes that many characters after the country code, so text that follows is
 * never swallowed.
 */
export function findIbans(text: string, out: Candidate[]): void {
  for (const match of text.matchAll(IBAN_START)) {
    const country = (match[1] ?? '').toUpperCase();
    const length = IBAN_LENGTHS[country];
    if (length === undefined) continue;
    let compact = country + (match[2] ?? '');
    let i = match.index + match[0].length;
    let end = i;
    while (compact.length < length && i < text.length) {
      const char = text.charAt(i);
      if (/[A-Za-z0-9]/.test(char)) {
        compact += char.toUpperCase();
        i += 1;
        end = i;
      } else if ((char === ' ' || char === '-') && /[A-Za-z0-9]/.test(text.charAt(i + 1))) i += 1;
      else break;
    }
    if (compact.length !== length || /[\p{L}\p{N}]/u.test(text.charAt(end))) continue;
    if (!ibanValid(compact)) continue;
    out.push({ type: 'IBAN', start: match.index, end, score: 0.98 });
  }
}

const SSN = /(?<![\d-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\d]|-\d)/g;
const SSN_CONTEXT = /ssn|social security|social sec|taxpayer|\bss#/;
const NINO = /(?<![\p{L}\p{N}])([A-Za-z]{2}) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-Da-d])(?![\p{L}\p{N}])/gu;
const SPANISH_ID = /(?<![\p{L}\p{N}-])([XYZxyz]-?)?(\d{7,8})-?([A-Za-z])(?![\p{L}\p{N}])/gu;
const HETU = /(?<![\p{L}\p{N}])(\d{6}[-+A-FU-Ya-fu-y]\d{3}[0-9A-Ya-y])(?![\p{L}\p{N}])/gu;
const PERSONNUMMER = /(?<![\d-])((?:19|20)?\d{6})([-+]?)(\d{4})(?![\d]|-\d)/g;
const CODICE_FISCALE =
  /(?<![\p{L}\p{N}])[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z](?![\p{L}\p{N}])/gu;
/** Words that name an identity number as such (not just "number", which a phone number has too). */
const ID_NAMED = /\bid\b|identity|national id|personal (?:id|number)|personnummer|social security|\bssn\b/;
const ID_CONTEXT = /\bid\b|identity|national|personal|passport|personnummer|dni|nie|hetu|codice|fiscal|insurance|\bnino\b|\bni\b|number/;

/**
 * National identifiers, each checked by its own rule: US SSN (dashed or spaced; 9 bare digits only
 * after a word like "SSN"), UK NINO, Spanish DNI/NIE, Finnish HETU, Swedish personnummer and Italian
 * codice fiscale. `kind` names which.
 */
export function findNationalIds(text: string, out: Candidate[]): void {
  for (const match of text.matchAll(SSN)) {
    const digits = `${match[1]}${match[3]}${match[4]}`;
    if (!ssnValid(digits)) continue;
    const context = contextBefore(text, match.index, SSN_CONTEXT);
    if (match[2] === '' && !context) continue;
    out.push({ type: 'NATIONAL_ID', kind: 'US_SSN', start: match.index, end: match.index + match[0].length, score: context ? 0.95 : 0.75 });
  }
  for (const match of text.matchAll(NINO)) {
    const compact = match[0].replace(/ /g, '').toUpperCase();
    if (!ninoValid(compact)) continue;
    // A lower-case match is only taken where the text says what it is.
    if (match[0] !== match[0].toUpperCase() && !contextBefore(text, match.index, ID_CONTEXT)) continue;
    out.push({ type: 'NATIONAL_ID', kind: 'UK_NINO', start: match.index, end: match.index + match[0].length, score: 0.85 });
  }
  for (const match of text.matchAll(SPANISH_ID)) {
    const compact = match[0].replace(/-/g, '').toUpperCase();
    if (!spanishIdValid(compact)) continue;
    out.push({
      type: 'NATIONAL_ID',
      kind: compact.length === 9 && /^[XYZ]/.test(compact) ? 'ES_NIE' : 'ES_DNI',
      start: match.index,
      end: match.index + match[0].length,
      score: 0.9,
    });
  }
  for (const match of text.matchAll(HETU)) {
    if (!hetuValid(match[0].toUpperCase())) continue;
    out.push({ type: 'NATIONAL_ID', kind: 'FI_HETU', start: match.index, end: match.index + match[0].length, score: 0.9 });
  }
  for (const match of text.matchAll(PERSONNUMMER)) {
    const digits = `${match[1]}${match[3]}`;
    if (!personnummerValid(digits)) continue;
    const century = digits.length === 12;
    if (century && !dateExists(Number(digits.slice(0, 4)), Number(digits.slice(4, 6)), ((Number(digits.slice(6, 8)) - 1) % 60) + 1))
      continue;
    const context = contextBefore(text, match.index, ID_CONTEXT);
    // Ten bare digits are as often a phone number: they need a separator or a word saying what they are;
    // a word naming an identity document outranks the phone reading ("identity number 8803200172").
    const named = contextBefore(text, match.index, ID_NAMED);
    const score = named ? 0.99 : match[2] !== '' ? 0.8 : context ? 0.7 : 0.45;
    out.push({ type: 'NATIONAL_ID', kind: 'SE_PERSONNUMMER', start: match.index, end: match.index + match[0].length, score });
  }
  for (const match of text.matchAll(CODICE_FISCALE)) {
    if (!codiceFiscaleValid(match[0].toUpperCase())) continue;
    out.push({ type: 'NATIONAL_ID', kind: 'IT_CODICE_FISCALE', start: match.index, end: match.index + match[0].length, score: 0.95 });
  }
}

const PHONE = /(?<![\p{L}\p{N}+])(?:\+|00)?\(?\d[\d\s()./-]{4,22}\d(?:\s?(?:x|ext\.?|#)\s?\d{1,6})?(?![\p{L}\p{N}])/gu;
const PHONE_CONTEXT = /phone|tel\b|tel\.|tel:|call|mobile|cell|text|whatsapp|fax|contact|number|reach|dial|ring/;
/** A phone context before the number, or "as … contact number" just after it. */
function phoneSaid(text: string, start: number, end: number): boolean {
  return (
    contextBefore(text, start, PHONE_CONTEXT, 30) ||
    /^\W{0,3}(?:as (?:his |her |my |their |a )?)?(?:contact|phone|mobile|number)/i.test(text.slice(end, end + 30))
  );
}

/**
 * Digit groups that are figures, not a number to dial: years ("1905-1908", "1995 1994"), decimals
 * beside each other ("639.55 639.38"), golf rounds ("69 71 71 73": two-digit groups without a
 * trunk zero), and four dotted groups (a malformed IP address).
 */
function notAPhone(raw: string, groups: string[]): boolean {
  if (groups.length === 2 && groups.every((g) => g.length === 4 && /^(?:1[0-9]|20)\d\d$/.test(g))) return true;
  if (/\d\.\d/.test(raw) && /\d\s/.test(raw)) return true;
  if (groups.length >= 4 && groups.every((g) => g.length === 2) && !raw.startsWith('0')) return true;
  if (/^\d{1,4}(?:\.\d{1,4}){3}$/.test(raw)) return true;
  return false;
}
const DATE_LIKE = /^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$/;

/**
 * Phone numbers: a digit run with the separators people write (spaces, dots, dashes, brackets),
 * parsed by libphonenumber: with `+`/`00` as an international number; otherwise as a national number
 * of each region of `regions` in turn, then (no separators, no plus) as an international number
 * written without its `+`. Kept when the number is valid for its region; bare digit runs score lower.
 */
export function findPhones(text: string, regions: readonly CountryCode[], out: Candidate[]): void {
  for (const match of text.matchAll(PHONE)) {
    let raw = match[0];
    let start = match.index;
    // Trailing separators and an unbalanced bracket belong to the sentence, not the number.
    raw = raw.replace(/[\s./-]+$/, '');
    if (raw.startsWith('(') && !raw.includes(')')) {
      raw = raw.slice(1);
      start += 1;
    }
    if (DATE_LIKE.test(raw)) continue;
    // Score tables and results ("15-10 15-6", "64 2 43 .596") are digit groups too: a phone number's
    // groups have two digits or more (a leading trunk or country digit aside), at most five of them,
    // and no separator mixes a space with a dot.
    const groups = raw
      .replace(/^(?:\+|00)/, '')
      .replace(/\(0\)/, '')
      .split(/[^\d]+/)
      .filter((g) => g !== '');
    if (groups.length > 5 || groups.slice(1).some((g) => g.length < 2) || /\s\.|\.\s/.test(raw)) continue;
    const international = raw.startsWith('+') || raw.startsWith('00');
    if (!international && notAPhone(raw, groups)) continue;
    const digits = raw.replace(/\D/g, '');
    if (digits.length < 7 || digits.length > 17) continue;
    const separated = /[\s().-]/.test(raw);
    let valid = false;
    let score = 0;
    if (international) {
      // "+31(0)612345678": the bracketed trunk zero is not dialled from abroad.
      const dialled = (raw.startsWith('00') ? `+${raw.slice(2)}` : raw).replace(/\(0\)/, '');
      const number = parsePhoneNumberFromString(dialled);
      valid = number?.isValid() ?? false;
      score = 0.9;
      // A country code and a possible length, said to be a phone number: numbering plans change
      // faster than libphonenumber's metadata, and a number written as one is one.
      if (!valid && number?.isPossible() && phoneSaid(text, start, start + raw.length)) {
        valid = true;
        score = 0.7;
      }
    } else {
      for (const region of regions) {
        const number = parsePhoneNumberFromString(raw, region);
        if (number?.isValid()) {
          valid = true;
          score = separated ? 0.85 : 0.6;
          break;
        }
      }
      if (!valid && !separated) {
        const number = parsePhoneNumberFromString(`+${digits}`);
        valid = number?.isValid() ?? false;
        score = 0.5;
      }
    }
    if (!valid) continue;
    if (contextBefore(text, start, PHONE_CONTEXT, 30)) score = Math.min(0.98, score + 0.2);
    out.push({ type: 'PHONE', start, end: start + raw.length, score });
  }
}

const MONTHS =
  'jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?';
const DATE = new RegExp(
  [
    String.raw`\b\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})\b`,
    String.raw`\b\d{4}-\d{2}-\d{2}\b`,
    String.raw`\b\d{1,2}(?:st|nd|rd|th)?\.?\s+(?:of\s+)?(?:${MONTHS})\.?,?\s+\d{4}\b`,
    String.raw`\b(?:${MONTHS})\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}\b`,
  ].join('|'),
  'gi',
);
const BIRTH_CONTEXT = /\bborn\b|birth|\bdob\b|d\.o\.b|\bb\.\s*$|geboren|\bnée?\b|\bnacid[oa]\b|\bné le\b|birthday/;

/**
 * Dates of birth: a date (numeric day/month/year in any order people write, ISO, or with a month
 * name) with a birth word ("born", "date of birth", "DOB", "birthday", …) in the 40 characters before it.
 */
export function findBirthDates(text: string, out: Candidate[]): void {
  for (const match of text.matchAll(DATE)) {
    if (!contextBefore(text, match.index, BIRTH_CONTEXT)) continue;
    out.push({ type: 'DATE_OF_BIRTH', start: match.index, end: match.index + match[0].length, score: 0.9 });
  }
}
