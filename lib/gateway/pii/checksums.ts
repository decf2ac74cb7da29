/**
 * Check digits of the identifiers the PII filter recognises: Luhn (card numbers, Swedish
 * personnummer), ISO 13616 IBAN (mod 97 and the registry's length per country), US SSN ranges, UK
 * National Insurance number prefixes, Spanish DNI/NIE, Finnish HETU and Italian codice fiscale. Pure
 * functions over strings of the identifier's own characters (separators already removed).
 */

/** Luhn (mod 10) over a string of digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Whether `digits` (13–19 digits) starts like a payment card of a known scheme: Visa 4; Mastercard
 * 51–55 and 2221–2720; American Express 34, 37; Diners 300–305, 36, 38–39; Discover 6011, 644–649, 65;
 * JCB 3528–3589; UnionPay 62, 81; Maestro 50, 56–69; Mir 2200–2204.
 */
export function cardSchemeKnown(digits: string): boolean {
  const two = Number(digits.slice(0, 2));
  const three = Number(digits.slice(0, 3));
  const four = Number(digits.slice(0, 4));
  if (digits[0] === '4') return true;
  if (two >= 51 && two <= 55) return true;
  if (four >= 2221 && four <= 2720) return true;
  if (four >= 2200 && four <= 2204) return true;
  if (two === 34 || two === 37) return digits.length === 15;
  if ((three >= 300 && three <= 305) || two === 36 || two === 38 || two === 39) return true;
  if (four >= 3528 && four <= 3589) return true;
  if (two === 50 || (two >= 56 && two <= 69)) return true;
  return two === 81;
}

/** IBAN length per country (ISO 13616 registry, including the partner territories it lists). */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HN: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
  // French overseas territories and other partners that use their parent's format.
  GF: 27,
  GP: 27,
  MQ: 27,
  RE: 27,
  PF: 27,
  TF: 27,
  YT: 27,
  NC: 27,
  BL: 27,
  MF: 27,
  PM: 27,
  WF: 27,
  // Countries whose banks issue IBANs outside the registry ("partial IBAN" countries of SWIFT's list).
  AO: 25,
  BF: 28,
  BJ: 28,
  CI: 28,
  CM: 27,
  CV: 25,
  DZ: 26,
  IR: 26,
  MA: 28,
  MG: 27,
  ML: 28,
  MZ: 25,
  SN: 28,
};

/** Countries whose BBAN begins with a four-letter bank code (the registry's `4!a`): "GB82 WEST …". */
const LETTER_BANK_CODE = new Set([
  'BG',
  'BH',
  'GB',
  'GI',
  'IE',
  'JO',
  'KW',
  'LC',
  'LV',
  'MT',
  'MU',
  'NL',
  'PK',
  'PS',
  'QA',
  'RO',
  'SC',
  'SV',
  'VG',
]);

/**
 * ISO 7064 mod 97-10 of an IBAN (country, check digits, BBAN; upper case, no separators): valid when
 * 1, at the country's length, and with letters for the bank code where the registry has them.
 */
export function ibanValid(iban: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return false;
  if (IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length) return false;
  if (LETTER_BANK_CODE.has(iban.slice(0, 2)) && !/^[A-Z]{4}$/.test(iban.slice(4, 8))) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const code = char.charCodeAt(0);
    const value = code >= 65 ? code - 55 : code - 48;
    remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder === 1;
}

/** Numbers the SSA never issued although they fit the ranges (advertising, famous misuse). */
const SSN_BLOCKED = new Set(['078051120', '219099999', '457555462']);

/**
 * US Social Security number (9 digits): area not 000, 666 or 900–999; group not 00; serial not 0000;
 * not one of the publicised sample numbers.
 */
export function ssnValid(digits: string): boolean {
  if (!/^\d{9}$/.test(digits)) return false;
  const area = Number(digits.slice(0, 3));
  if (area === 0 || area === 666 || area >= 900) return false;
  if (digits.slice(3, 5) === '00' || digits.slice(5) === '0000') return false;
  return !SSN_BLOCKED.has(digits);
}

/**
 * UK National Insurance number (`AB123456C`): first letter not D F I Q U V, second not D F I O Q U V,
 * prefix not BG GB KN NK NT TN ZZ, suffix A–D (HMRC's allocation rules; there is no check digit).
 */
export function ninoValid(nino: string): boolean {
  const match = /^([A-CEGHJ-PR-TW-Z])([A-CEGHJ-NPR-TW-Z])\d{6}[A-D]$/.exec(nino);
  if (!match) return false;
  return !['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].includes(nino.slice(0, 2));
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** Spanish DNI (`12345678Z`) or NIE (`X1234567L`): the letter is the number mod 23 (NIE: X=0, Y=1, Z=2). */
export function spanishIdValid(id: string): boolean {
  const match = /^([XYZ]?)(\d{7,8})([A-Z])$/.exec(id);
  if (!match) return false;
  const [, prefix = '', digits = '', letter] = match;
  if (prefix === '' ? digits.length !== 8 : digits.length !== 7) return false;
  const number = Number(`${prefix === '' ? '' : 'XYZ'.indexOf(prefix)}${digits}`);
  return DNI_LETTERS[number % 23] === letter;
}

const HETU_CHECK = '0123456789ABCDEFHJKLMNPRSTUVWXY';
const HETU_CENTURY: Record<string, number> = {
  '+': 1800,
  '-': 1900,
  Y: 1900,
  X: 1900,
  W: 1900,
  V: 1900,
  U: 1900,
  A: 2000,
  B: 2000,
  C: 2000,
  D: 2000,
  E: 2000,
  F: 2000,
};

/** A real calendar date (proleptic Gregorian). */
export function dateExists(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Finnish personal identity code (`131052-308T`): a real date, individual number 002–899, check mod 31. */
export function hetuValid(hetu: string): boolean {
  const match = /^(\d{2})(\d{2})(\d{2})([-+A-FU-Y])(\d{3})([0-9A-Y])$/.exec(hetu);
  if (!match) return false;
  const [, dd = '', mm = '', yy = '', sep = '-', nnn = '', check] = match;
  const century = HETU_CENTURY[sep];
  if (century === undefined || !dateExists(century + Number(yy), Number(mm), Number(dd))) return false;
  const individual = Number(nnn);
  if (individual < 2 || individual > 899) return false;
  return HETU_CHECK[Number(`${dd}${mm}${yy}${nnn}`) % 31] === check;
}

/**
 * Swedish personnummer or samordningsnummer (10 digits `YYMMDDNNNC`, or 12 with the century): Luhn
 * over the last 10 digits, a real month and a day 1–31 (61–91 for a coordination number).
 */
export function personnummerValid(digits: string): boolean {
  if (!/^(\d{2})?\d{10}$/.test(digits)) return false;
  const ten = digits.slice(-10);
  const month = Number(ten.slice(2, 4));
  let day = Number(ten.slice(4, 6));
  if (day > 60) day -= 60;
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  return luhnValid(ten);
}

const CF_ODD: Record<string, number> = {
  0: 1,
  1: 0,
  2: 5,
  3: 7,
  4: 9,
  5: 13,
  6: 15,
  7: 17,
  8: 19,
  9: 21,
  A: 1,
  B: 0,
  C: 5,
  D: 7,
  E: 9,
  F: 13,
  G: 15,
  H: 17,
  I: 19,
  J: 21,
  K: 2,
  L: 4,
  M: 18,
  N: 20,
  O: 11,
  P: 3,
  Q: 6,
  R: 8,
  S: 12,
  T: 14,
  U: 16,
  V: 10,
  W: 22,
  X: 25,
  Y: 24,
  Z: 23,
};

/** Italian codice fiscale of a person (16 characters): the last letter checks the first 15. */
export function codiceFiscaleValid(cf: string): boolean {
  if (!/^[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/.test(cf)) return false;
  let sum = 0;
  for (let i = 0; i < 15; i += 1) {
    const char = cf.charAt(i);
    if (i % 2 === 0) sum += CF_ODD[char] ?? 0;
    else sum += char >= 'A' ? char.charCodeAt(0) - 65 : char.charCodeAt(0) - 48;
  }
  return String.fromCharCode(65 + (sum % 26)) === cf[15];
}
