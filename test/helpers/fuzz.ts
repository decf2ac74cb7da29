/**
 * Fuzz cases generated from schemas: the JSON Schema zod v4 derives from a route's or an event's
 * zod schema (`z.toJSONSchema`, as lib/api/openapi.ts publishes it) drives fast-check arbitraries
 * for values that fit it, for mutations that break one constraint at a known path, and for hostile
 * values (wrong types, extremes, unicode edge cases, deep nesting, huge strings) anywhere.
 *
 * Bounded and reproducible: `FUZZ_RUNS` cases per property (default {@link DEFAULT_FUZZ_RUNS}),
 * `FUZZ_SEED` for another seed (default {@link DEFAULT_FUZZ_SEED}); a failure prints both.
 */
import fc from 'fast-check';
import { z } from 'zod';

/** Cases per property when `FUZZ_RUNS` is unset (sized so the HTTP suite stays under 60 s on 2 cores). */
export const DEFAULT_FUZZ_RUNS = 30;
/** The seed when `FUZZ_SEED` is unset: the same cases every run, so a failure reproduces. */
export const DEFAULT_FUZZ_SEED = 20_261_201;

function positiveInt(text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`expected an integer, got '${text}'`);
  return value;
}

/** The fuzz settings of this run (from `FUZZ_RUNS` and `FUZZ_SEED`). */
export const fuzzSettings = {
  runs: Math.max(1, positiveInt(process.env.FUZZ_RUNS, DEFAULT_FUZZ_RUNS)),
  seed: positiveInt(process.env.FUZZ_SEED, DEFAULT_FUZZ_SEED),
};

/**
 * The longest one property may run, shrinking a failure included (`FUZZ_TIME_LIMIT_MS`): each shrink
 * step of an HTTP case is a request, so a failure with a large value could otherwise shrink for
 * minutes. Past it the property fails with the smallest counterexample found so far.
 */
const timeLimitMs = positiveInt(process.env.FUZZ_TIME_LIMIT_MS, 120_000);

/** fast-check parameters for one property: the run's seed and case count, within the time limit. */
export function fuzzParameters(runs = fuzzSettings.runs): fc.Parameters<unknown> {
  return { numRuns: runs, seed: fuzzSettings.seed, plugins: [fc.interruptAfterTimeLimit(timeLimitMs, { failOnInterrupt: true })] };
}

/** The subset of JSON Schema (draft 2020-12) that zod v4 produces for our schemas. */
export interface JsonSchema {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
}

/** The input-side JSON Schema of a zod schema (what a caller may send). */
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema & {
    $schema?: string;
  };
  return rest;
}

/** A path into a JSON value: object keys and array indices. */
export type JsonPath = readonly (string | number)[];

/**
 * JSON text that `JSON.stringify` cannot produce (`1e400`, a 200,000-deep array, a 1 MiB string):
 * written verbatim by {@link toJsonText}, printed by fast-check as its short label.
 */
export class RawJson {
  readonly label: string;
  private readonly make: () => string;
  constructor(label: string, make: () => string) {
    this.label = label;
    this.make = make;
  }
  /** The JSON text. */
  text(): string {
    return this.make();
  }
  [fc.toStringMethod](): string {
    return `raw(${this.label})`;
  }
  toString(): string {
    return `raw(${this.label})`;
  }
}

/** JSON text of a value that may hold {@link RawJson} parts (own `__proto__` keys are kept). */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text();
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : toJsonText(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts: string[] = [];
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) parts.push(`${JSON.stringify(key)}:${toJsonText(item)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A copy of `value` with `replacement` at `path` (or the key removed when `replacement` is {@link REMOVE}). */
export function setAt(value: unknown, path: JsonPath, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (replacement === REMOVE && rest.length === 0) copy.splice(Number(head), 1);
    else copy[Number(head)] = setAt(copy[Number(head)], rest, replacement);
    return copy;
  }
  const source = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source)) defineOwn(copy, key, source[key]);
  if (replacement === REMOVE && rest.length === 0) delete copy[String(head)];
  else defineOwn(copy, String(head), setAt(source[String(head)], rest, replacement));
  return copy;
}

/** Marks a key for removal in {@link setAt}. */
export const REMOVE = Symbol('remove');

/** Sets an own property, `__proto__` included (as `JSON.parse` would create it). */
function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

const types = (schema: JsonSchema): string[] => (schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type]);

/** The sub-schema at `path` (through properties, items and additionalProperties), or undefined. */
export function schemaAt(schema: JsonSchema, path: JsonPath): JsonSchema | undefined {
  let current: JsonSchema | undefined = schema;
  for (const step of path) {
    if (current === undefined) return undefined;
    if (typeof step === 'number') current = current.items;
    else
      current = current.properties?.[step] ?? (typeof current.additionalProperties === 'object' ? current.additionalProperties : undefined);
  }
  return current;
}

/** Overrides for fields a route types loosely (`unknown`) and validates itself: path (`*` for any item) → schema. */
export type SchemaHints = Record<string, JsonSchema>;

const pathKey = (path: JsonPath) => path.map((step) => (typeof step === 'number' ? '*' : step)).join('.');

const ISO_DATE = fc
  .date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((date) => date.toISOString());

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? min + 24, min + 24);
  if (schema.format === 'date-time') return ISO_DATE;
  if (schema.pattern !== undefined) {
    const full = new RegExp(schema.pattern);
    // fast-check cannot generate from lookaheads: generate from the rest, keep what the full pattern accepts.
    const generative = new RegExp(schema.pattern.replace(/\(\?=[^)]*\)/g, ''));
    return fc
      .stringMatching(generative, { size: 'small' })
      .filter((text) => full.test(text) && text.length >= min && text.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY));
  }
  return fc.string({ minLength: min, maxLength: max });
}

function numberArbitrary(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const low = Math.max(schema.minimum ?? schema.exclusiveMinimum ?? -1e6, Number.MIN_SAFE_INTEGER);
  const high = Math.min(schema.maximum ?? schema.exclusiveMaximum ?? 1e6, Number.MAX_SAFE_INTEGER);
  const inRange = (n: number) =>
    (schema.exclusiveMinimum === undefined || n > schema.exclusiveMinimum) &&
    (schema.exclusiveMaximum === undefined || n < schema.exclusiveMaximum);
  if (integer) {
    const lo = Math.ceil(low);
    const hi = Math.floor(high);
    return fc
      .oneof(fc.integer({ min: lo, max: Math.min(hi, lo + 100) }), fc.constantFrom(lo, hi), fc.integer({ min: lo, max: hi }))
      .filter(inRange);
  }
  return fc.oneof(fc.double({ min: low, max: high, noNaN: true, noDefaultInfinity: true }), fc.constantFrom(low, high)).filter(inRange);
}

/**
 * Values that fit `schema` (as far as JSON Schema says: refinements zod checks in code, such as
 * "exactly one of", are not in it). Collections stay small, strings short.
 */
export function validArbitrary(schema: JsonSchema, hints: SchemaHints = {}, path: JsonPath = []): fc.Arbitrary<unknown> {
  const hinted = path.length > 0 ? hints[pathKey(path)] : undefined;
  if (hinted) return validArbitrary(hinted, {}, []);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => validArbitrary(alternative, hints, path)));
  const kinds = types(schema);
  if (kinds.length > 1) return fc.oneof(...kinds.map((type) => validArbitrary({ ...schema, type }, hints, path)));
  switch (kinds[0]) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return numberArbitrary(schema, true);
    case 'number':
      return numberArbitrary(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const min = schema.minItems ?? 0;
      const item = validArbitrary(schema.items ?? {}, hints, [...path, 0]);
      return fc.array(item, { minLength: min, maxLength: Math.min(schema.maxItems ?? min + 3, min + 3) });
    }
    case 'object': {
      const properties = Object.entries(schema.properties ?? {});
      const known = fc.record(
        Object.fromEntries(properties.map(([key, property]) => [key, validArbitrary(property, hints, [...path, key])])),
        {
          requiredKeys: schema.required ?? [],
        },
      );
      if (typeof schema.additionalProperties !== 'object') return known;
      const keys = schema.propertyNames ? stringArbitrary(schema.propertyNames) : fc.string({ minLength: 1, maxLength: 12 });
      const extra = fc.dictionary(keys, validArbitrary(schema.additionalProperties, hints, [...path, '*']), { maxKeys: 3 });
      return fc.tuple(known, extra).map(([fixed, more]) => {
        const out: Record<string, unknown> = {};
        for (const [key, item] of Object.entries(more)) if (!(key in fixed)) defineOwn(out, key, item);
        return Object.assign(out, fixed);
      });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** One constraint broken at one path, by construction. */
export interface Violation {
  /** Where the issue must be reported: the field itself, or (for an unknown key) its object. */
  path: JsonPath;
  /** The constraint broken, e.g. `type`, `required`, `maximum`. */
  rule: string;
  /** The value at `path` after the change (or {@link REMOVE}). */
  replacement: unknown;
  /** The path that changed (differs from `path` for an added unknown key). */
  at: JsonPath;
}

function wrongTypeValues(schema: JsonSchema): unknown[] {
  const kinds = types(schema);
  // Values no zod coercion of the declared type accepts (z.coerce.number takes '42', true and null).
  const candidates: Array<[string, unknown]> = [
    ['string', 42],
    ['number', 'not a number'],
    ['integer', 'not a number'],
    ['boolean', 'yes'],
    ['object', 'an object?'],
    ['array', { not: 'an array' }],
  ];
  const out: unknown[] = [];
  for (const [type, value] of candidates) {
    if (!kinds.includes(type)) continue;
    const valueType = Array.isArray(value) ? 'array' : typeof value;
    if (kinds.includes(valueType) || (valueType === 'number' && kinds.includes('integer'))) continue;
    out.push(value);
  }
  if (kinds.includes('object') && !kinds.includes('array')) out.push(['an', 'array']);
  if (!kinds.includes('null') && kinds.length > 0 && !kinds.includes('number') && !kinds.includes('integer')) out.push(null);
  return out;
}

const PATTERN_BREAKERS = ['', ' ', 'UPPER case #1', '../../etc/passwd', 'a\u0000b', '\u202eevil', 'x'.repeat(300), '-', '%2F'];

function violationsOfNode(schema: JsonSchema, value: unknown, path: JsonPath): Violation[] {
  const out: Violation[] = [];
  const add = (rule: string, replacement: unknown) => out.push({ path, rule, replacement, at: path });
  if (schema.anyOf || schema.oneOf || schema.allOf) return out;
  if (schema.const !== undefined) {
    add('const', typeof schema.const === 'string' ? `${schema.const}-not` : 'not-the-constant');
    return out;
  }
  if (schema.enum) {
    add('enum', 'not-one-of-them');
    return out;
  }
  const kinds = types(schema);
  for (const wrong of wrongTypeValues(schema)) add('type', wrong);
  if (kinds.length !== 1) return out;
  const kind = kinds[0];
  if (kind === 'string' && typeof value === 'string') {
    if ((schema.minLength ?? 0) > 0) add('minLength', '');
    if (schema.maxLength !== undefined && schema.maxLength < 100_000) add('maxLength', 'x'.repeat(schema.maxLength + 1));
    if (schema.format === 'date-time') for (const bad of ['yesterday', '2026-02-30T00:00:00Z', '2026-01-01T00:00:00']) add('format', bad);
    if (schema.pattern !== undefined) {
      const pattern = new RegExp(schema.pattern);
      for (const bad of PATTERN_BREAKERS) if (!pattern.test(bad)) add('pattern', bad);
    }
  }
  if ((kind === 'integer' || kind === 'number') && typeof value === 'number') {
    // A step relative to the bound it breaks: 1e9 + 1e-9 is 1e9 again in binary floating point.
    const step = (bound: number) => (kind === 'integer' ? 1 : Math.max(1e-9, Math.abs(bound) * 1e-6));
    if (schema.minimum !== undefined && schema.minimum > Number.MIN_SAFE_INTEGER) add('minimum', schema.minimum - step(schema.minimum));
    if (schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER) add('maximum', schema.maximum + step(schema.maximum));
    if (schema.exclusiveMinimum !== undefined) add('exclusiveMinimum', schema.exclusiveMinimum);
    if (schema.exclusiveMaximum !== undefined) add('exclusiveMaximum', schema.exclusiveMaximum);
    if (kind === 'integer') add('integer', Math.max(schema.minimum ?? 0, 0) + 0.5);
  }
  if (kind === 'array' && Array.isArray(value)) {
    if ((schema.minItems ?? 0) > 0) add('minItems', []);
    if (schema.maxItems !== undefined && schema.maxItems <= 1000)
      add(
        'maxItems',
        Array.from({ length: schema.maxItems + 1 }, () => value[0] ?? null),
      );
  }
  if (kind === 'object' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const key of schema.required ?? []) out.push({ path: [...path, key], rule: 'required', replacement: REMOVE, at: [...path, key] });
    if (schema.additionalProperties === false)
      out.push({ path, rule: 'additionalProperties', replacement: 'surprise', at: [...path, 'unexpectedField'] });
  }
  return out;
}

/**
 * Every single-constraint violation of `value` against `schema`, at the nodes present in `value`
 * (plus each required key, removed). Subtrees named in `hints` are skipped: the route validates
 * them itself, so breaking them is not a schema violation of the route.
 */
export function violations(schema: JsonSchema, value: unknown, hints: SchemaHints = {}, path: JsonPath = []): Violation[] {
  if (path.length > 0 && hints[pathKey(path)]) return [];
  const out = violationsOfNode(schema, value, path);
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, index) => {
      out.push(...violations(schema.items as JsonSchema, item, hints, [...path, index]));
    });
  } else if (value !== null && typeof value === 'object' && schema.properties) {
    for (const [key, property] of Object.entries(schema.properties)) {
      if (key in (value as object)) out.push(...violations(property, (value as Record<string, unknown>)[key], hints, [...path, key]));
    }
  }
  return out;
}

/** Every path present in a JSON value (the root excluded). */
export function pathsIn(value: unknown, path: JsonPath = []): JsonPath[] {
  const out: JsonPath[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      out.push([...path, index], ...pathsIn(item, [...path, index]));
    });
  } else if (value !== null && typeof value === 'object' && !(value instanceof RawJson)) {
    for (const key of Object.keys(value)) out.push([...path, key], ...pathsIn((value as Record<string, unknown>)[key], [...path, key]));
  }
  return out;
}

const deepArray = (depth: number) => new RawJson(`[×${depth}]`, () => `${'['.repeat(depth)}${']'.repeat(depth)}`);
const deepObject = (depth: number) => new RawJson(`{"a":×${depth}}`, () => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
/** A JSON string of about `bytes` bytes. */
export const hugeString = (bytes: number) => new RawJson(`"x"×${bytes}`, () => `"${'x'.repeat(bytes)}"`);

/** Strings that break naive code: control and format characters, lone surrogates, long graphemes, key separators. */
export const UNICODE_EDGE_CASES = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff',
  'a\ud83d',
  '\ufeffbom',
  '\u202eright-to-left',
  '\u200b',
  'e\u0301\u0301\u0301',
  '👩‍👩‍👧‍👦'.repeat(50),
  '\uffff\ufffe',
  '𝕏𝕐',
  '\r\n\t',
  '#',
  'acme#series',
  '__proto__',
  'constructor',
  '${jndi:ldap://x}',
  "'; DROP TABLE x; --",
  '<script>alert(1)</script>',
  '%00%ZZ',
];

/**
 * Hostile JSON values for any field: every JSON type, numeric extremes (including `1e400`, which
 * parses to Infinity), unicode edge cases, prototype keys, deep nesting up to 200,000 levels
 * (well inside the 1 MiB body limit) and strings up to 900 KB.
 */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -0,
    -1,
    0.5,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_SAFE_INTEGER - 2,
    1e308,
    -1e308,
    5e-324,
    1e126,
    new RawJson('1e400', () => '1e400'),
    new RawJson('-1e400', () => '-1e400'),
    new RawJson('1e-400', () => '1e-400'),
    new RawJson('123456789012345678901234567890', () => '123456789012345678901234567890'),
    [],
    {},
    [null],
    JSON.parse('{"__proto__":{"polluted":true}}'),
    { constructor: { prototype: { polluted: true } } },
    { toString: 'not a function', valueOf: 1 },
  ),
  fc.constantFrom(...UNICODE_EDGE_CASES),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(deepArray(64), deepArray(5000), deepArray(200_000), deepObject(64), deepObject(5000), deepObject(100_000)),
  fc.constantFrom(hugeString(70_000), hugeString(400_000), hugeString(900_000)),
  fc.jsonValue({ maxDepth: 3 }),
);
