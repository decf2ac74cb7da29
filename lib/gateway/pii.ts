/**
 * PII detection and redaction for the gateway's input, output and logs. Pure: no I/O, no model
 * download (person names come from compromise's shipped lexicon and rules; no tagger is run), never throws on a string.
 *
 * Offsets: every `start`/`end` is an index in UTF-16 code units into the text given (what
 * `String.prototype.slice` takes), `end` exclusive; `text.slice(start, end)` is the entity.
 *
 * Types: EMAIL, PHONE, CREDIT_CARD (Luhn and a scheme prefix), IBAN (registry length and mod 97),
 * NATIONAL_ID (`kind`: US_SSN, UK_NINO, ES_DNI, ES_NIE, FI_HETU, SE_PERSONNUMMER, IT_CODICE_FISCALE,
 * each with its own check), IP_ADDRESS (v4, v6), DATE_OF_BIRTH (a date with a birth word before it),
 * STREET_ADDRESS and PERSON. Where detections overlap, the higher score wins (then the longer span).
 */
import { createHash, createHmac } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js/min';
import { z } from 'zod';
import { findAddresses } from './pii/address.ts';
import { findNames } from './pii/names.ts';
import {
  type Candidate,
  findBirthDates,
  findCards,
  findEmails,
  findIbans,
  findIpAddresses,
  findNationalIds,
  findPhones,
} from './pii/structured.ts';

/** The kinds of PII the filter recognises. */
export const piiTypes = [
  'EMAIL',
  'PHONE',
  'CREDIT_CARD',
  'IBAN',
  'NATIONAL_ID',
  'IP_ADDRESS',
  'DATE_OF_BIRTH',
  'STREET_ADDRESS',
  'PERSON',
] as const;
export const piiTypeSchema = z.enum(piiTypes);
export type PiiType = z.infer<typeof piiTypeSchema>;

/** One detected entity. `score` is in (0, 1]: how sure the rule is (a checksum-verified id ≈ 0.9+, a single name found by a speech verb or a later mention 0.7). */
export interface PiiEntity {
  type: PiiType;
  /** First UTF-16 code unit of the entity in the text. */
  start: number;
  /** One past its last UTF-16 code unit. */
  end: number;
  score: number;
  /** Which identifier for NATIONAL_ID (`US_SSN`, `UK_NINO`, …) and IP_ADDRESS (`IPV4`, `IPV6`). */
  kind?: string;
  /** The entity's text, when `includeText` was asked for (never logged by default). */
  text?: string;
}

/** Regions whose national phone formats are tried, in order, when a number has no `+`: North America, the UK and the largest EU and Commonwealth markets. */
export const DEFAULT_PHONE_REGIONS: readonly CountryCode[] = ['US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'IN', 'AU', 'CA', 'IE', 'BR'];

export const detectOptionsSchema = z.object({
  /** Only these types (default: all). */
  types: z.array(piiTypeSchema).optional(),
  /** Drop entities scoring below this (default 0.5). */
  minScore: z.number().min(0).max(1).optional(),
  /** Regions for national phone formats (ISO 3166 alpha-2; default {@link DEFAULT_PHONE_REGIONS}). */
  phoneRegions: z.array(z.string().regex(/^[A-Z]{2}$/)).optional(),
  /** Put each entity's text in `text`. */
  includeText: z.boolean().optional(),
});
export type DetectOptions = z.infer<typeof detectOptionsSchema>;

/** A name overlapping a structured entity is usually part of it ("Martin Luther King Jr Drive"): names rank this much lower. */
const NAME_RANK_PENALTY = 0.3;
const rank = (c: Candidate) => (c.type === 'PERSON' ? c.score - NAME_RANK_PENALTY : c.score);

/** Keeps the best of overlapping candidates: higher rank, then longer span, then earlier. */
function resolve(candidates: Candidate[]): Candidate[] {
  const ranked = [...candidates].sort((a, b) => rank(b) - rank(a) || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const kept: Candidate[] = [];
  for (const candidate of ranked) {
    if (candidate.end <= candidate.start) continue;
    if (kept.some((k) => candidate.start < k.end && k.start < candidate.end)) continue;
    kept.push(candidate);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/**
 * The PII in `text`, in order of `start`, none overlapping. Never throws for a string (a detector
 * that failed on a pathological input is skipped, the others still report).
 * @throws ZodError when `options` are malformed.
 * @example
 * detectPii('Mail ada@example.org or call +44 20 7946 0958')
 * // [{ type: 'EMAIL', start: 5, end: 20, score: 0.95 }, { type: 'PHONE', start: 29, end: 45, score: 0.98 }]
 */
export function detectPii(text: string, options: DetectOptions = {}): PiiEntity[] {
  const opts = detectOptionsSchema.parse(options);
  const input = typeof text === 'string' ? text : String(text ?? '');
  if (input.length === 0) return [];
  const wanted = new Set<PiiType>(opts.types ?? piiTypes);
  const regions = (opts.phoneRegions ?? DEFAULT_PHONE_REGIONS) as CountryCode[];
  const candidates: Candidate[] = [];
  const run = (type: PiiType, detector: () => void) => {
    if (!wanted.has(type)) return;
    try {
      detector();
    } catch {
      // A detector must not take the others down with it; the input simply gets no entity of this type.
    }
  };
  run('EMAIL', () => findEmails(input, candidates));
  run('IP_ADDRESS', () => findIpAddresses(input, candidates));
  run('CREDIT_CARD', () => findCards(input, candidates));
  run('IBAN', () => findIbans(input, candidates));
  run('NATIONAL_ID', () => findNationalIds(input, candidates));
  run('PHONE', () => findPhones(input, regions, candidates));
  run('DATE_OF_BIRTH', () => findBirthDates(input, candidates));
  run('STREET_ADDRESS', () => findAddresses(input, candidates));
  run('PERSON', () => findNames(input, candidates));
  const minScore = opts.minScore ?? 0.5;
  return resolve(candidates.filter((c) => c.score >= minScore)).map((c) => ({
    type: c.type as PiiType,
    start: c.start,
    end: c.end,
    score: c.score,
    ...(c.kind ? { kind: c.kind } : {}),
    ...(opts.includeText ? { text: input.slice(c.start, c.end) } : {}),
  }));
}

/** How {@link redactPii} replaces an entity. */
export const redactionModes = ['redact', 'mask', 'hash', 'tag'] as const;
export type RedactionMode = (typeof redactionModes)[number];

export const redactOptionsSchema = detectOptionsSchema.extend({
  mode: z.enum(redactionModes),
  /** Key of the `hash` mode's HMAC-SHA-256; without it, plain SHA-256 (linkable across systems by anyone who guesses the value). */
  hashKey: z.string().min(1).optional(),
});
export type RedactOptions = z.infer<typeof redactOptionsSchema>;

/** Hex digits of the hash kept in `hash` mode (48 bits: collisions are negligible within one text or log). */
const HASH_HEX = 12;

function replacement(type: PiiType, value: string, mode: RedactionMode, key: string | undefined): string {
  switch (mode) {
    case 'redact':
      return `[${type}]`;
    case 'tag':
      return `<${type}>${value}</${type}>`;
    case 'hash': {
      // Normalised first, so "ADA@Example.org" and "ada@example.org" hash alike, and "+44 20…" like "+4420…".
      const normal = type === 'EMAIL' ? value.toLowerCase() : /^[\d\s().+-]+$/.test(value) ? value.replace(/[^\d+]/g, '') : value;
      const material = `${type}:${normal}`;
      const digest =
        key === undefined ? createHash('sha256').update(material).digest('hex') : createHmac('sha256', key).update(material).digest('hex');
      return `[${type}:${digest.slice(0, HASH_HEX)}]`;
    }
    case 'mask': {
      // Letters and digits become '*', separators stay (the shape survives); cards keep their last four digits.
      let keep = type === 'CREDIT_CARD' ? 4 : 0;
      const chars = [...value];
      for (let i = chars.length - 1; i >= 0; i -= 1) {
        const char = chars[i] ?? '';
        if (!/[\p{L}\p{N}]/u.test(char)) continue;
        if (keep > 0 && /\d/.test(char)) {
          keep -= 1;
          continue;
        }
        chars[i] = '*'.repeat(char.length);
      }
      return chars.join('');
    }
  }
}

/**
 * Detects PII and replaces each entity. Entities' offsets refer to the original `text`.
 * Modes:
 * - `redact`: `[EMAIL]`;
 * - `mask`: every letter and digit becomes `*`, separators stay, so the length (in UTF-16 code
 *   units) is unchanged; card numbers keep their last 4 digits (`****-****-****-1111`);
 * - `hash`: `[EMAIL:1f2e3d4c5b6a]`, the first 12 hex digits of SHA-256 of `TYPE:value` (value
 *   normalised: e-mail lower-cased, phone-like values reduced to digits and `+`); with `hashKey`,
 *   HMAC-SHA-256 under that key, so the same value maps to the same token within one deployment
 *   only;
 * - `tag`: `<EMAIL>ada@example.org</EMAIL>` (the value kept, marked).
 * @throws ZodError when `options` are malformed (e.g. an unknown mode).
 * @example
 * redactPii('Card 4111 1111 1111 1111', { mode: 'mask' }).text // 'Card **** **** **** 1111'
 */
export function redactPii(text: string, options: RedactOptions): { text: string; entities: PiiEntity[] } {
  const opts = redactOptionsSchema.parse(options);
  const input = typeof text === 'string' ? text : String(text ?? '');
  const { mode, hashKey, ...detect } = opts;
  const entities = detectPii(input, detect);
  let out = '';
  let at = 0;
  for (const entity of entities) {
    out += input.slice(at, entity.start) + replacement(entity.type, input.slice(entity.start, entity.end), mode, hashKey);
    at = entity.end;
  }
  return { text: out + input.slice(at), entities };
}
