/**
 * Interface specifications from observed payloads: a JSON Schema (2020-12) inferred from sample
 * JSON values, and an OpenAPI 3.1 document for a module's entry points. Pure.
 *
 * Inference rules (every sample validates against the result; test/unit/encapsulation.test.ts checks
 * it with ajv):
 * - types are merged: `integer` when every number seen is an integer, else `number`; several
 *   types give `type: [...]` (in JSON Schema's order: null, boolean, integer/number, string, array, object);
 * - objects: `properties` merged over every object seen at that place; `required` = the properties
 *   present in all of them; additional properties stay allowed (samples show some, not all);
 * - arrays: `items` is the merge of every element of every array seen there (absent when all were empty);
 * - strings: `format` when every string seen there passes ajv-formats' check of date-time, email,
 *   uuid or uri (tried in that order); otherwise `enum` when the strings are a small closed set: at
 *   most {@link ENUM_MAX} distinct values, each seen twice on average (and `null` joins the enum when
 *   null was seen too); only when strings (and null) are the only types seen there.
 */
import { fullFormats } from 'ajv-formats/dist/formats.js';

/** Most distinct strings an inferred `enum` lists. */
export const ENUM_MAX = 8;
/** Deepest nesting inferred; deeper values are described by `{}` (anything). */
export const MAX_DEPTH = 32;
/** The dialect of inferred schemas. */
export const SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** Formats detected, in the order tried. */
export const DETECTED_FORMATS = ['date-time', 'email', 'uuid', 'uri'] as const;

/** A JSON Schema as plain data. */
export type JsonSchemaObject = { [key: string]: unknown };

type Check = (value: string) => boolean;
const formatChecks: Record<(typeof DETECTED_FORMATS)[number], Check> = Object.fromEntries(
  DETECTED_FORMATS.map((format) => {
    const definition = (fullFormats as Record<string, unknown>)[format];
    const check: Check =
      definition instanceof RegExp
        ? (value) => definition.test(value)
        : typeof definition === 'function'
          ? (value) => Boolean((definition as Check)(value))
          : (value) => Boolean((definition as { validate: Check }).validate(value));
    return [format, check];
  }),
) as Record<(typeof DETECTED_FORMATS)[number], Check>;

/** What was seen at one place of the samples. */
interface Shape {
  seen: number;
  nulls: number;
  booleans: number;
  integers: number;
  numbers: number;
  strings: number;
  stringValues: Map<string, number>;
  /** Formats every string so far passed (undefined before the first string). */
  formats: Set<string> | undefined;
  objects: number;
  properties: Map<string, Shape>;
  arrays: number;
  items: Shape | undefined;
  /** Values nested deeper than {@link MAX_DEPTH}. */
  deep: boolean;
}

function emptyShape(): Shape {
  return {
    seen: 0,
    nulls: 0,
    booleans: 0,
    integers: 0,
    numbers: 0,
    strings: 0,
    stringValues: new Map(),
    formats: undefined,
    objects: 0,
    properties: new Map(),
    arrays: 0,
    items: undefined,
    deep: false,
  };
}

function observe(shape: Shape, value: unknown, depth: number): void {
  shape.seen += 1;
  if (depth > MAX_DEPTH) {
    shape.deep = true;
    return;
  }
  if (value === null) shape.nulls += 1;
  else if (typeof value === 'boolean') shape.booleans += 1;
  else if (typeof value === 'number') {
    if (Number.isInteger(value)) shape.integers += 1;
    else shape.numbers += 1;
  } else if (typeof value === 'string') {
    shape.strings += 1;
    if (shape.stringValues.size <= ENUM_MAX) shape.stringValues.set(value, (shape.stringValues.get(value) ?? 0) + 1);
    const candidates = shape.formats ?? new Set(DETECTED_FORMATS);
    for (const format of candidates) if (!formatChecks[format as (typeof DETECTED_FORMATS)[number]](value)) candidates.delete(format);
    shape.formats = candidates;
  } else if (Array.isArray(value)) {
    shape.arrays += 1;
    for (const item of value) {
      shape.items ??= emptyShape();
      observe(shape.items, item, depth + 1);
    }
  } else if (typeof value === 'object') {
    shape.objects += 1;
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (inner === undefined) continue;
      let property = shape.properties.get(key);
      if (!property) {
        property = emptyShape();
        shape.properties.set(key, property);
      }
      observe(property, inner, depth + 1);
    }
  } else shape.deep = true; // not JSON (undefined, functions): accept anything there
}

function schemaOf(shape: Shape): JsonSchemaObject {
  if (shape.deep) return {};
  const types: string[] = [];
  if (shape.nulls > 0) types.push('null');
  if (shape.booleans > 0) types.push('boolean');
  if (shape.numbers > 0) types.push('number');
  else if (shape.integers > 0) types.push('integer');
  if (shape.strings > 0) types.push('string');
  if (shape.arrays > 0) types.push('array');
  if (shape.objects > 0) types.push('object');
  if (types.length === 0) return {};
  const schema: JsonSchemaObject = { type: types.length === 1 ? types[0] : types };
  if (shape.strings > 0) {
    const format = DETECTED_FORMATS.find((f) => shape.formats?.has(f));
    const distinct = shape.stringValues.size;
    const onlyStrings = types.every((t) => t === 'string' || t === 'null');
    if (format) schema.format = format;
    else if (onlyStrings && distinct <= ENUM_MAX && shape.strings >= 2 * distinct) {
      const values: unknown[] = [...shape.stringValues.keys()].sort();
      if (shape.nulls > 0) values.push(null);
      schema.enum = values;
    }
  }
  if (shape.arrays > 0 && shape.items) schema.items = schemaOf(shape.items);
  if (shape.objects > 0) {
    const keys = [...shape.properties.keys()].sort();
    schema.properties = Object.fromEntries(keys.map((key) => [key, schemaOf(shape.properties.get(key) as Shape)]));
    const required = keys.filter((key) => (shape.properties.get(key) as Shape).seen === shape.objects);
    if (required.length > 0) schema.required = required;
  }
  return schema;
}

/**
 * A JSON Schema (2020-12) every sample validates against (see the module comment for the rules).
 * No samples give `{}` with the dialect (anything).
 * @example inferSchema([{ id: 1, tag: 'a' }, { id: 2 }])
 * // { $schema: '…/2020-12/schema', type: 'object', properties: { id: { type: 'integer' }, tag: { type: 'string' } }, required: ['id'] }
 */
export function inferSchema(samples: readonly unknown[]): JsonSchemaObject {
  const shape = emptyShape();
  for (const sample of samples) observe(shape, sample, 0);
  return { $schema: SCHEMA_DIALECT, ...schemaOf(shape) };
}

/** How many properties a schema declares, at every depth: the size of an interface. */
export function propertyCount(schema: unknown): number {
  if (typeof schema !== 'object' || schema === null) return 0;
  const s = schema as JsonSchemaObject;
  let count = 0;
  if (typeof s.properties === 'object' && s.properties !== null)
    for (const inner of Object.values(s.properties as Record<string, unknown>)) count += 1 + propertyCount(inner);
  if (s.items !== undefined) count += propertyCount(s.items);
  return count;
}

/** One entry point of a module: an operation of a component with its request (and response) samples. */
export interface EntryPoint {
  component: string;
  operation: string;
  requests: readonly unknown[];
  responses: readonly unknown[];
}

/** A name usable in an OpenAPI component key (`^[a-zA-Z0-9._-]+$`). */
function schemaName(component: string, operation: string, part: string): string {
  return `${component}.${operation}.${part}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * An OpenAPI 3.1 document for a module's entry points: one `POST /<component>/<operation>` per entry
 * point, its request body (and its 200 response, when responses were seen) described by the schema
 * inferred from the samples, kept under `components.schemas` and referenced.
 * @example openApiDocument('orders', '1.0.0', [{ component: 'api/orders', operation: 'create', requests: [{ id: 1 }], responses: [] }]).paths
 * // { '/api/orders/create': { post: { operationId: 'api_orders.create', requestBody: … } } }
 */
export function openApiDocument(module: string, version: string, entryPoints: readonly EntryPoint[]): JsonSchemaObject {
  const schemas: Record<string, JsonSchemaObject> = {};
  const paths: Record<string, JsonSchemaObject> = {};
  const body = (schema: JsonSchemaObject) => {
    const { $schema: _dialect, ...rest } = schema;
    return rest;
  };
  for (const entry of [...entryPoints].sort((a, b) => `${a.component}/${a.operation}`.localeCompare(`${b.component}/${b.operation}`))) {
    const requestName = schemaName(entry.component, entry.operation, 'request');
    const responseName = schemaName(entry.component, entry.operation, 'response');
    schemas[requestName] = body(inferSchema(entry.requests));
    if (entry.responses.length > 0) schemas[responseName] = body(inferSchema(entry.responses));
    paths[`/${entry.component}/${entry.operation}`] = {
      post: {
        operationId: `${entry.component}.${entry.operation}`.replace(/[^A-Za-z0-9._-]/g, '_'),
        summary: `${entry.operation} of ${entry.component} (inferred from ${entry.requests.length} observed request(s))`,
        requestBody: {
          required: entry.requests.length > 0,
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${requestName}` } } },
        },
        responses:
          entry.responses.length > 0
            ? {
                '200': {
                  description: 'Observed response',
                  content: { 'application/json': { schema: { $ref: `#/components/schemas/${responseName}` } } },
                },
              }
            : { default: { description: 'No response observed' } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: SCHEMA_DIALECT,
    info: { title: `Module ${module}`, version, description: 'Generated by the Encapsulation engine from observed call payloads' },
    paths,
    components: { schemas },
  };
}
