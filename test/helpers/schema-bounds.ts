/**
 * A walker over zod schemas that finds every value a schema leaves unbounded: a number without a
 * finite minimum and maximum within ±{@link MAX_NUMBER_MAGNITUDE}, a string without a maximum length,
 * an array without a maximum length, and an `unknown`/`any` (which bounds nothing). Used over every
 * route's parameters and result and every catalogued event (test/unit/schema-bounds.test.ts), so a
 * new route or event with an unbounded field fails a test instead of poisoning a store later.
 *
 * What it does not see: refinements (`refine`, `superRefine`) and transforms, which are functions. A
 * record's entry count is therefore not checked (bound it with a refinement; the 1 MiB body limit
 * and the 256 KB event limit hold regardless). Both sides of a `pipe` are walked.
 */
import type { z } from 'zod';
import { MAX_NUMBER_MAGNITUDE } from '../../events/common.ts';

/** One unbounded value: where it sits (`parameters.config.huberK`, `points[]`, `labels{key}`) and what is missing. */
export interface UnboundedValue {
  path: string;
  problem: string;
}

/** A schema to check, under a name that keys the allow-list (`POST /observation/ingest parameters`). */
export interface NamedSchema {
  name: string;
  schema: z.ZodType;
}

/** A value deliberately left unbounded: `where` is `<schema name> <path>`, and the reason says what bounds it instead. */
export interface Allowance {
  where: string;
  reason: string;
}

// zod's internals, as far as the walker reads them (zod 4: every schema keeps its definition in `_zod.def`).
interface Definition {
  type: string;
  checks?: Array<{ _zod: { def: { check: string; maximum?: number; length?: number } } }>;
  [key: string]: unknown;
}
type Inspectable = { _zod: { def: Definition } } & { minValue?: number | null; maxValue?: number | null; maxLength?: number | null };

function definition(schema: unknown): Definition {
  return (schema as Inspectable)._zod.def;
}

function maxLengthOf(schema: Inspectable): number | undefined {
  if (typeof schema.maxLength === 'number') return schema.maxLength;
  for (const check of schema._zod.def.checks ?? []) {
    const def = check._zod.def;
    if (def.check === 'max_length' && typeof def.maximum === 'number') return def.maximum;
    if (def.check === 'length_equals' && typeof def.length === 'number') return def.length;
  }
  return undefined;
}

const BOUNDED_LEAVES = new Set(['boolean', 'enum', 'literal', 'null', 'undefined', 'void', 'never', 'nan', 'date', 'transform', 'template_literal']);

/**
 * Every unbounded value inside `schema`, depth first.
 * @example unboundedValues(z.object({ n: z.number() })) // [{ path: 'n', problem: 'number without a minimum and a maximum …' }]
 */
export function unboundedValues(schema: z.ZodType, limit = MAX_NUMBER_MAGNITUDE): UnboundedValue[] {
  const found: UnboundedValue[] = [];
  const visiting = new Set<unknown>();
  const join = (path: string, part: string) => (path === '' ? part : part.startsWith('[') || part.startsWith('{') ? `${path}${part}` : `${path}.${part}`);

  const walk = (node: unknown, path: string): void => {
    if (visiting.has(node)) return; // a recursive schema: its parts are checked once
    visiting.add(node);
    const def = definition(node);
    const inspect = node as Inspectable;
    switch (def.type) {
      case 'number': {
        const min = inspect.minValue ?? Number.NEGATIVE_INFINITY;
        const max = inspect.maxValue ?? Number.POSITIVE_INFINITY;
        if (!(Number.isFinite(min) && Number.isFinite(max))) found.push({ path, problem: `number without a finite minimum and maximum (has ${min}..${max})` });
        else if (Math.abs(min) > limit || Math.abs(max) > limit) found.push({ path, problem: `number bounds ${min}..${max} exceed ±${limit}` });
        break;
      }
      case 'bigint':
        found.push({ path, problem: 'bigint (no store or consumer holds an unbounded integer)' });
        break;
      case 'string':
        if (maxLengthOf(inspect) === undefined) found.push({ path, problem: 'string without a maximum length' });
        break;
      case 'array':
        if (maxLengthOf(inspect) === undefined) found.push({ path, problem: 'array without a maximum length' });
        walk(def.element, join(path, '[]'));
        break;
      case 'set':
        if (maxLengthOf(inspect) === undefined) found.push({ path, problem: 'set without a maximum size' });
        walk(def.valueType, join(path, '[]'));
        break;
      case 'tuple':
        for (const [index, item] of (def.items as unknown[]).entries()) walk(item, join(path, `[${index}]`));
        if (def.rest) walk(def.rest, join(path, '[…]'));
        break;
      case 'object': {
        for (const [key, value] of Object.entries(def.shape as Record<string, unknown>)) walk(value, join(path, key));
        const catchall = def.catchall as unknown;
        if (catchall && definition(catchall).type !== 'never') walk(catchall, join(path, '{*}'));
        break;
      }
      case 'record':
      case 'map':
        walk(def.keyType, join(path, '{key}'));
        walk(def.valueType, join(path, '{*}'));
        break;
      case 'union':
        for (const option of def.options as unknown[]) walk(option, path);
        break;
      case 'intersection':
        walk(def.left, path);
        walk(def.right, path);
        break;
      case 'pipe':
        walk(def.in, path);
        walk(def.out, path);
        break;
      case 'lazy':
        walk((def.getter as () => unknown)(), path);
        break;
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'catch':
      case 'readonly':
      case 'nonoptional':
      case 'success':
      case 'promise':
        walk(def.innerType, path);
        break;
      case 'unknown':
      case 'any':
        found.push({ path, problem: `${def.type} (bounds nothing)` });
        break;
      default:
        if (!BOUNDED_LEAVES.has(def.type)) found.push({ path, problem: `${def.type}: a schema kind the walker does not know (teach it, test/helpers/schema-bounds.ts)` });
    }
    visiting.delete(node);
  };
  walk(schema, '');
  return found;
}

/**
 * Checks named schemas against an allow-list: what is unbounded and not allowed, and allowances
 * that no longer match anything (so the list cannot go stale). Both empty means all bounded.
 */
export function boundsReport(schemas: readonly NamedSchema[], allowed: readonly Allowance[], limit = MAX_NUMBER_MAGNITUDE): { violations: string[]; staleAllowances: string[] } {
  const allowedWhere = new Set(allowed.map((allowance) => allowance.where));
  const used = new Set<string>();
  const violations: string[] = [];
  for (const { name, schema } of schemas) {
    for (const value of unboundedValues(schema, limit)) {
      const where = `${name} ${value.path || '(root)'}`;
      if (allowedWhere.has(where)) used.add(where);
      else violations.push(`${where}: ${value.problem}`);
    }
  }
  return { violations: [...new Set(violations)], staleAllowances: [...allowedWhere].filter((where) => !used.has(where)) };
}
