/**
 * JSON Schema diff (draft-07 and 2020-12): every change between an old and a new schema, each
 * classified as breaking or not for consumers of data that is valid under the old schema ("breaking"
 * = some instance valid under the old schema is invalid under the new one), and the semver bump that
 * follows (breaking → major, any other validation change → minor, annotations only or nothing → patch).
 *
 * The comparison is keyword-wise and sound for the common shapes; where exact set inclusion is out of
 * reach (regular expressions, formats, `if`/`then`/`else`, merged `allOf` conflicts) a change is called
 * breaking, never the reverse. `anyOf`/`oneOf` are compared per JSON type: for each type, every old
 * branch must be accepted by some new branch; branches are paired (least changes) for reporting.
 * `$ref`s into the same document (`#/definitions/…`, `#/$defs/…`, any local JSON pointer) are followed
 * as if inlined; a pair of schemas already on the comparison stack (a recursive schema) is assumed
 * equal, which ends cycles. Paths are JSON pointers along that inlined evaluation path, ending with the
 * keyword that changed (`/properties/name/maxLength`, `/required/2`, `/anyOf/1/type`).
 *
 * Pure: plain data in, plain data out.
 */

/** A JSON Schema: an object or a boolean (`true` accepts everything, `false` nothing). */
export type JsonSchema = boolean | { readonly [key: string]: unknown };

/** One change between two schemas. */
export interface SchemaChange {
  /** JSON pointer to the keyword that changed, along the evaluation path with `$ref`s inlined. */
  path: string;
  /** What changed (see {@link CHANGE_KINDS}). */
  kind: ChangeKind;
  /** True when data valid under the old schema may no longer validate under the new one. */
  breaking: boolean;
  /** A short human description (values involved); not part of the `--json` contract. */
  detail?: string;
}

/** The semver part a change set calls for. */
export type Bump = 'major' | 'minor' | 'patch';

/** The result of {@link diffSchemas}. */
export interface SchemaDiff {
  bump: Bump;
  breaking: boolean;
  changes: SchemaChange[];
}

/** Every change kind, with whether it is (always, or sometimes) breaking. */
export const CHANGE_KINDS = {
  'type-added': 'never',
  'type-removed': 'always',
  'const-added': 'always',
  'const-removed': 'never',
  'enum-added': 'always',
  'enum-removed': 'never',
  'enum-value-added': 'never',
  'enum-value-removed': 'always',
  'bound-added': 'always',
  'bound-removed': 'never',
  'bound-tightened': 'always',
  'bound-relaxed': 'never',
  'multiple-of-added': 'always',
  'multiple-of-removed': 'never',
  'multiple-of-changed': 'depends',
  'unique-items-added': 'always',
  'unique-items-removed': 'never',
  'format-added': 'always',
  'format-changed': 'always',
  'format-removed': 'never',
  'pattern-added': 'always',
  'pattern-changed': 'always',
  'pattern-removed': 'never',
  'required-added': 'always',
  'required-removed': 'never',
  'property-added': 'depends',
  'property-removed': 'depends',
  'pattern-property-added': 'always',
  'pattern-property-removed': 'depends',
  'additional-properties-closed': 'always',
  'additional-properties-opened': 'never',
  'schema-closed': 'always',
  'schema-opened': 'never',
  'tuple-item-added': 'depends',
  'tuple-item-removed': 'depends',
  'contains-added': 'always',
  'contains-removed': 'never',
  'dependent-required-added': 'always',
  'dependent-required-removed': 'never',
  'dependent-schema-added': 'always',
  'dependent-schema-removed': 'never',
  'branch-added': 'depends',
  'branch-removed': 'depends',
  'combinator-changed': 'depends',
  'all-of-added': 'always',
  'all-of-removed': 'never',
  'not-added': 'always',
  'not-removed': 'never',
  'not-changed': 'depends',
  'conditional-changed': 'always',
  'ref-changed': 'always',
  'annotation-changed': 'never',
} as const;
/** A change kind. */
export type ChangeKind = keyof typeof CHANGE_KINDS;

/** Thrown when an input is not a JSON Schema this differ can read, or is too large to compare. */
export class SchemaDiffError extends Error {
  override readonly name = 'SchemaDiffError';
}

const ALL_TYPES = ['string', 'number', 'integer', 'object', 'array', 'boolean', 'null'] as const;
type JsonType = (typeof ALL_TYPES)[number];
const ANNOTATIONS = ['title', 'description', 'default', 'examples', '$comment', 'deprecated', 'readOnly', 'writeOnly'];
/** Lower/upper bounds by the type they apply to (numeric bounds are handled together with their exclusive forms). */
const COUNT_BOUNDS: ReadonlyArray<{ keyword: string; lower: boolean; type: JsonType }> = [
  { keyword: 'minLength', lower: true, type: 'string' },
  { keyword: 'maxLength', lower: false, type: 'string' },
  { keyword: 'minItems', lower: true, type: 'array' },
  { keyword: 'maxItems', lower: false, type: 'array' },
  { keyword: 'minContains', lower: true, type: 'array' },
  { keyword: 'maxContains', lower: false, type: 'array' },
  { keyword: 'minProperties', lower: true, type: 'object' },
  { keyword: 'maxProperties', lower: false, type: 'object' },
];
const MAX_DEPTH = 256;
const MAX_STEPS = 200_000;

type Obj = { readonly [key: string]: unknown };
interface Side {
  root: JsonSchema;
}
interface Ctx {
  old: Side;
  new: Side;
  /** Pairs of (resolved) schemas on the comparison stack, to end recursion through `$ref`s. */
  stack: Set<string>;
  ids: WeakMap<object, number>;
  nextId: number;
  steps: number;
}

/**
 * Compares two JSON Schemas and derives the bump.
 * @throws SchemaDiffError when either input is not an object or boolean, a local `$ref` does not
 *   resolve, or the comparison exceeds its step budget (pathological `anyOf` nesting).
 * @example
 * diffSchemas({ type: 'string' }, { type: 'string', maxLength: 10 })
 * // → { bump: 'major', breaking: true, changes: [{ path: '/maxLength', kind: 'bound-added', breaking: true, detail: '10' }] }
 */
export function diffSchemas(oldSchema: unknown, newSchema: unknown): SchemaDiff {
  if (!isSchema(oldSchema)) throw new SchemaDiffError('the old schema is not a JSON Schema (an object or a boolean)');
  if (!isSchema(newSchema)) throw new SchemaDiffError('the new schema is not a JSON Schema (an object or a boolean)');
  const ctx: Ctx = { old: { root: oldSchema }, new: { root: newSchema }, stack: new Set(), ids: new WeakMap(), nextId: 0, steps: 0 };
  const changes = dedupe(diffAt(ctx, oldSchema, newSchema, '', 0));
  return { ...bumpFor(changes), changes };
}

/**
 * The bump a list of changes calls for: any breaking change → major; any other change that affects
 * validation → minor; annotation changes only (or none) → patch.
 */
export function bumpFor(changes: readonly Pick<SchemaChange, 'kind' | 'breaking'>[]): { bump: Bump; breaking: boolean } {
  if (changes.some((c) => c.breaking)) return { bump: 'major', breaking: true };
  if (changes.some((c) => c.kind !== 'annotation-changed')) return { bump: 'minor', breaking: false };
  return { bump: 'patch', breaking: false };
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'boolean' || (typeof value === 'object' && value !== null && !Array.isArray(value));
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idOf(ctx: Ctx, value: object): number {
  let id = ctx.ids.get(value);
  if (id === undefined) {
    id = ++ctx.nextId;
    ctx.ids.set(value, id);
  }
  return id;
}

/** Resolves a local JSON pointer (`#/…`) in `root`. */
function resolvePointer(root: JsonSchema, ref: string): JsonSchema {
  const pointer = decodeURIComponent(ref.slice(1));
  let node: unknown = root;
  if (pointer !== '') {
    for (const raw of pointer.split('/').slice(1)) {
      const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
      node = isObj(node) ? node[key] : Array.isArray(node) ? node[Number(key)] : undefined;
      if (node === undefined) throw new SchemaDiffError(`$ref ${ref} does not resolve`);
    }
  }
  if (!isSchema(node)) throw new SchemaDiffError(`$ref ${ref} does not point to a schema`);
  return node;
}

/** Follows local `$ref`s (siblings merged in, as 2020-12 reads them); `refs` collects what was followed. */
function deref(side: Side, schema: JsonSchema, refs: string[]): JsonSchema {
  let current = schema;
  for (let hops = 0; isObj(current) && typeof current.$ref === 'string' && current.$ref.startsWith('#/'); hops++) {
    if (hops > 64) throw new SchemaDiffError(`$ref ${current.$ref} loops without reaching a schema`);
    const ref: string = current.$ref;
    refs.push(ref);
    const target = resolvePointer(side.root, ref);
    const { $ref: _ref, ...siblings } = current;
    current =
      Object.keys(siblings).filter((k) => !ANNOTATIONS.includes(k) && k !== 'definitions' && k !== '$defs').length === 0
        ? target
        : mergeAll(siblings, target);
  }
  if (isObj(current) && current.$ref === '#') {
    refs.push('#');
    const { $ref: _ref, ...siblings } = current;
    current = Object.keys(siblings).length === 0 ? side.root : mergeAll(siblings, side.root);
  }
  return current;
}

/** Normalises draft-07 spellings to 2020-12 ones (tuple `items`, `additionalItems`, `dependencies`, boolean exclusive bounds). */
function normalize(schema: Obj): Obj {
  const out: Record<string, unknown> = { ...schema };
  if (Array.isArray(schema.items)) {
    out.prefixItems = schema.items;
    if ('additionalItems' in schema) out.items = schema.additionalItems;
    else delete out.items;
    delete out.additionalItems;
  }
  if (isObj(schema.dependencies)) {
    const required: Record<string, unknown> = { ...(isObj(schema.dependentRequired) ? schema.dependentRequired : {}) };
    const schemas: Record<string, unknown> = { ...(isObj(schema.dependentSchemas) ? schema.dependentSchemas : {}) };
    for (const [key, value] of Object.entries(schema.dependencies)) {
      if (Array.isArray(value)) required[key] = value;
      else schemas[key] = value;
    }
    out.dependentRequired = required;
    out.dependentSchemas = schemas;
    delete out.dependencies;
  }
  // draft-04 style boolean exclusive bounds, still met in draft-07 documents converted by tools
  if (schema.exclusiveMinimum === true && typeof schema.minimum === 'number') {
    out.exclusiveMinimum = schema.minimum;
    delete out.minimum;
  } else if (typeof schema.exclusiveMinimum === 'boolean') delete out.exclusiveMinimum;
  if (schema.exclusiveMaximum === true && typeof schema.maximum === 'number') {
    out.exclusiveMaximum = schema.maximum;
    delete out.maximum;
  } else if (typeof schema.exclusiveMaximum === 'boolean') delete out.exclusiveMaximum;
  return out;
}

/** A conjunction of two schemas, merged keyword by keyword (the stricter wins); conflicts stay in `allOf`. */
function mergeAll(a: Obj, b: JsonSchema): JsonSchema {
  if (b === true) return a;
  if (b === false) return false;
  const out: Record<string, unknown> = { ...b };
  const rest: Obj[] = [];
  for (const [key, value] of Object.entries(a)) {
    if (!(key in out)) {
      out[key] = value;
      continue;
    }
    const other = out[key];
    if (deepEqual(value, other)) continue;
    if (key === 'type') out.type = intersectTypes(typeSetOf({ type: value }), typeSetOf({ type: other }));
    else if (key === 'required' && Array.isArray(value) && Array.isArray(other)) out.required = [...new Set([...other, ...value])];
    else if (
      ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties', 'minContains'].includes(key) &&
      typeof value === 'number' &&
      typeof other === 'number'
    )
      out[key] = Math.max(value, other);
    else if (
      ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties', 'maxContains'].includes(key) &&
      typeof value === 'number' &&
      typeof other === 'number'
    )
      out[key] = Math.min(value, other);
    else if (key === 'properties' && isObj(value) && isObj(other)) {
      const props: Record<string, unknown> = { ...other };
      for (const [name, sub] of Object.entries(value)) props[name] = name in props ? { allOf: [props[name], sub] } : sub;
      out.properties = props;
    } else if (key === 'enum' && Array.isArray(value) && Array.isArray(other))
      out.enum = other.filter((v) => value.some((w) => deepEqual(v, w)));
    else if (ANNOTATIONS.includes(key)) continue;
    else rest.push({ [key]: value });
  }
  if (rest.length > 0) out.allOf = [...(Array.isArray(out.allOf) ? out.allOf : []), ...rest];
  return out;
}

function intersectTypes(a: Set<JsonType>, b: Set<JsonType>): JsonType[] {
  return ALL_TYPES.filter((t) => a.has(t) && b.has(t));
}

function jsonTypeOf(value: unknown): JsonType[] {
  if (value === null) return ['null'];
  if (Array.isArray(value)) return ['array'];
  if (typeof value === 'number') return Number.isInteger(value) ? ['number', 'integer'] : ['number'];
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'object') return [typeof value as JsonType];
  return [];
}

/** The JSON types a schema's own keywords admit (`type`, else its `const`/`enum` values, else all). "number" includes "integer". */
function typeSetOf(schema: Obj): Set<JsonType> {
  const declared = typeof schema.type === 'string' ? [schema.type] : Array.isArray(schema.type) ? schema.type : undefined;
  let set: Set<JsonType>;
  if (declared) {
    set = new Set();
    for (const t of declared) {
      if (t === 'number') {
        set.add('number');
        set.add('integer');
      } else if ((ALL_TYPES as readonly string[]).includes(String(t))) set.add(t as JsonType);
    }
  } else set = new Set(ALL_TYPES);
  const values = 'const' in schema ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : undefined;
  if (values) {
    const valueTypes = new Set(values.flatMap(jsonTypeOf));
    set = new Set([...set].filter((t) => valueTypes.has(t)));
  }
  return set;
}

function restrictValues(values: readonly unknown[], types: ReadonlySet<JsonType>): unknown[] {
  return values.filter((v) => jsonTypeOf(v).some((t) => types.has(t)));
}

/** One alternative of a schema: a flattened `anyOf`/`oneOf` branch with its index. */
interface Alternative {
  schema: JsonSchema;
  index: number;
}

/** Splits a schema into its top-level alternatives (the branches of `anyOf`/`oneOf`, the rest of the schema merged in). */
function alternatives(schema: Obj): { combinator: 'anyOf' | 'oneOf' | undefined; alts: Alternative[] } {
  const combinator = Array.isArray(schema.anyOf) ? 'anyOf' : Array.isArray(schema.oneOf) ? 'oneOf' : undefined;
  if (!combinator) return { combinator, alts: [{ schema, index: 0 }] };
  const { [combinator]: branches, ...rest } = schema;
  const parent = Object.fromEntries(Object.entries(rest).filter(([k]) => !ANNOTATIONS.includes(k) && k !== 'definitions' && k !== '$defs'));
  const list = branches as unknown[];
  return {
    combinator,
    alts: list.map((branch, index) => {
      if (!isSchema(branch)) throw new SchemaDiffError(`${combinator}/${index} is not a schema`);
      return { schema: Object.keys(parent).length === 0 ? branch : mergeAll(parent, branch), index };
    }),
  };
}

function dedupe(changes: SchemaChange[]): SchemaChange[] {
  const byKey = new Map<string, SchemaChange>();
  for (const change of changes) {
    const key = `${change.path}\u0000${change.kind}\u0000${change.detail ?? ''}`;
    const seen = byKey.get(key);
    if (seen) seen.breaking ||= change.breaking;
    else byKey.set(key, { ...change });
  }
  return [...byKey.values()];
}

function pointer(path: string, ...segments: Array<string | number>): string {
  return path + segments.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  const ka = Object.keys(a as Obj);
  const kb = Object.keys(b as Obj);
  return ka.length === kb.length && ka.every((k) => k in (b as Obj) && deepEqual((a as Obj)[k], (b as Obj)[k]));
}

/** Compares two (sub)schemas at `path`: `$ref`s, booleans, then alternatives per type. */
function diffAt(
  ctx: Ctx,
  rawOld: JsonSchema,
  rawNew: JsonSchema,
  path: string,
  depth: number,
  only?: ReadonlySet<JsonType>,
): SchemaChange[] {
  if (depth > MAX_DEPTH) throw new SchemaDiffError(`schemas nest deeper than ${MAX_DEPTH} levels at ${path || '/'}`);
  if (++ctx.steps > MAX_STEPS) throw new SchemaDiffError('the schemas are too complex to compare (step budget exhausted)');
  const oldRefs: string[] = [];
  const newRefs: string[] = [];
  const oldS = deref(ctx.old, rawOld, oldRefs);
  const newS = deref(ctx.new, rawNew, newRefs);
  let key: string | undefined;
  if ((oldRefs.length > 0 || newRefs.length > 0) && typeof oldS === 'object' && typeof newS === 'object') {
    key = `${idOf(ctx, oldS)}:${idOf(ctx, newS)}:${only ? [...only].join(',') : '*'}`;
    if (ctx.stack.has(key)) return [];
    ctx.stack.add(key);
  }
  try {
    for (const [s, label] of [
      [rawOld, 'old'],
      [rawNew, 'new'],
    ] as const) {
      if (isObj(s) && typeof s.$ref === 'string' && !s.$ref.startsWith('#')) {
        // A remote reference is compared as an opaque name.
        const other = label === 'old' ? rawNew : rawOld;
        if (!isObj(other) || other.$ref !== s.$ref)
          return [
            {
              path: pointer(path, '$ref'),
              kind: 'ref-changed',
              breaking: true,
              detail: `${show(isObj(rawOld) ? rawOld.$ref : rawOld)} → ${show(isObj(rawNew) ? rawNew.$ref : rawNew)}`,
            },
          ];
        return [];
      }
    }
    if (oldS === false) return [];
    if (newS === false) return [{ path, kind: 'schema-closed', breaking: true, detail: 'false' }];
    const o = flattenAllOf(ctx.old, normalize(oldS === true ? {} : oldS), depth);
    const n = flattenAllOf(ctx.new, normalize(newS === true ? {} : newS), depth);
    if (o === false) return [];
    if (n === false) return [{ path, kind: 'schema-closed', breaking: true, detail: 'allOf with false' }];
    if (oldS !== true && newS === true && Object.keys(o).some((k) => !ANNOTATIONS.includes(k) && k !== 'definitions' && k !== '$defs'))
      return [{ path, kind: 'schema-opened', breaking: false, detail: 'true' }];
    return diffObjects(ctx, o, n, path, depth, only);
  } finally {
    if (key) ctx.stack.delete(key);
  }
}

function diffObjects(ctx: Ctx, o: Obj, n: Obj, path: string, depth: number, only?: ReadonlySet<JsonType>): SchemaChange[] {
  const oa = alternatives(o);
  const na = alternatives(n);
  const changes: SchemaChange[] = [];
  if (oa.combinator && na.combinator && oa.combinator !== na.combinator)
    changes.push({
      path: pointer(path, na.combinator),
      kind: 'combinator-changed',
      breaking: na.combinator === 'oneOf',
      detail: `${oa.combinator} → ${na.combinator}`,
    });
  if (oa.alts.length === 1 && na.alts.length === 1 && !(oa.combinator === 'oneOf' || na.combinator === 'oneOf')) {
    const [oldAlt, newAlt] = [(oa.alts[0] as Alternative).schema, (na.alts[0] as Alternative).schema];
    // A lone combinator branch may itself be a $ref or hold alternatives: compare it from the top.
    if (oldAlt !== o || newAlt !== n) return [...changes, ...diffAt(ctx, oldAlt, newAlt, path, depth + 1, only)];
    return [...changes, ...diffSingle(ctx, o, n, path, depth, only, true)];
  }
  const prefix = na.combinator ? pointer(path, na.combinator) : path;
  const oldPrefix = oa.combinator ? pointer(path, oa.combinator) : path;
  const oldTypes = oa.alts.map((a) =>
    a.schema === true
      ? new Set<JsonType>(ALL_TYPES)
      : a.schema === false
        ? new Set<JsonType>()
        : typeSetOf(normalizeRef(ctx.old, a.schema)),
  );
  const newTypes = na.alts.map((a) =>
    a.schema === true
      ? new Set<JsonType>(ALL_TYPES)
      : a.schema === false
        ? new Set<JsonType>()
        : typeSetOf(normalizeRef(ctx.new, a.schema)),
  );
  const pairedNew = new Set<number>();
  const sharedNew = new Set<number>();
  for (const t of ALL_TYPES) {
    if (only && !only.has(t)) continue;
    const olds = oa.alts.filter((_, i) => oldTypes[i]?.has(t));
    const news = na.alts.filter((_, i) => newTypes[i]?.has(t));
    if (olds.length === 0 && news.length > 0) {
      changes.push({ path: na.combinator ? prefix : pointer(path, 'type'), kind: 'type-added', breaking: false, detail: t });
      continue;
    }
    if (news.length === 0 && olds.length > 0) {
      changes.push({ path: na.combinator ? prefix : pointer(path, 'type'), kind: 'type-removed', breaking: true, detail: t });
      continue;
    }
    if (olds.length === 0) continue;
    for (const alt of news) sharedNew.add(alt.index);
    const tOnly = new Set<JsonType>([t]);
    const matrix = olds.map((oldAlt) =>
      news.map((newAlt) =>
        diffAt(ctx, oldAlt.schema, newAlt.schema, na.combinator ? pointer(prefix, newAlt.index) : path, depth + 1, tOnly),
      ),
    );
    // An old branch is still accepted when some new branch takes all of its data (of this type).
    const covered = matrix.map((row) => row.some((cs) => !cs.some((c) => c.breaking)));
    const pairs = assign(matrix.map((row) => row.map((cs) => cs.length * 2 + cs.filter((c) => c.breaking).length)));
    const pairedOld = new Set<number>();
    for (const [i, j] of pairs) {
      pairedOld.add(i);
      pairedNew.add((news[j] as Alternative).index);
      for (const c of matrix[i]?.[j] ?? []) changes.push({ ...c, breaking: c.breaking && !covered[i] });
    }
    olds.forEach((alt, i) => {
      if (!pairedOld.has(i) && !covered[i])
        changes.push({
          path: oa.combinator ? pointer(oldPrefix, alt.index) : path,
          kind: 'branch-removed',
          breaking: true,
          detail: `${t} data of this branch`,
        });
    });
  }
  for (const alt of na.alts) {
    // A branch that only brings new types is reported as those types; one that overlaps and pairs with nothing is new.
    if (!sharedNew.has(alt.index) || pairedNew.has(alt.index)) continue;
    // In oneOf, an overlapping new branch may make data match twice, which oneOf rejects.
    changes.push({ path: na.combinator ? pointer(prefix, alt.index) : path, kind: 'branch-added', breaking: na.combinator === 'oneOf' });
  }
  return changes;
}

function normalizeRef(side: Side, schema: JsonSchema): Obj {
  const resolved = deref(side, schema, []);
  return resolved === true ? {} : resolved === false ? { not: {} } : normalize(resolved);
}

/** Minimum-cost pairing of rows to columns (exhaustive for small sizes, greedy beyond). */
function assign(cost: number[][]): Array<[number, number]> {
  const rows = cost.length;
  const cols = cost[0]?.length ?? 0;
  const k = Math.min(rows, cols);
  if (k === 0) return [];
  if (rows <= 7 && cols <= 7) {
    let best: Array<[number, number]> = [];
    let bestCost = Number.POSITIVE_INFINITY;
    const usedCols = new Set<number>();
    const current: Array<[number, number]> = [];
    const walk = (row: number, skipped: number, total: number) => {
      if (total >= bestCost) return;
      if (row === rows) {
        if (current.length === k) {
          bestCost = total;
          best = [...current];
        }
        return;
      }
      for (let c = 0; c < cols; c++) {
        if (usedCols.has(c)) continue;
        usedCols.add(c);
        current.push([row, c]);
        walk(row + 1, skipped, total + (cost[row]?.[c] ?? 0));
        current.pop();
        usedCols.delete(c);
      }
      if (skipped < rows - k) walk(row + 1, skipped + 1, total);
    };
    walk(0, 0, 0);
    return best;
  }
  const pairs: Array<[number, number]> = [];
  const usedR = new Set<number>();
  const usedC = new Set<number>();
  const cells = cost.flatMap((row, r) => row.map((v, c) => ({ r, c, v }))).sort((a, b) => a.v - b.v);
  for (const { r, c } of cells) {
    if (usedR.has(r) || usedC.has(c)) continue;
    usedR.add(r);
    usedC.add(c);
    pairs.push([r, c]);
  }
  return pairs;
}

function applies(types: ReadonlySet<JsonType>, t: JsonType): boolean {
  return types.has(t) || (t === 'number' && types.has('integer'));
}

/** Compares two schemas without top-level alternatives, keyword by keyword, for the JSON types in `only` (all when absent). */
function diffSingle(
  ctx: Ctx,
  oldS: JsonSchema,
  newS: JsonSchema,
  path: string,
  depth: number,
  only: ReadonlySet<JsonType> | undefined,
  reportTypes: boolean,
): SchemaChange[] {
  if (oldS === false) return [];
  if (newS === false) return [{ path, kind: 'schema-closed', breaking: true, detail: 'false' }];
  const o = normalize(oldS === true ? {} : oldS);
  const n = normalize(newS === true ? {} : newS);
  const changes: SchemaChange[] = [];
  const push = (kind: ChangeKind, breaking: boolean, at: string, detail?: string) =>
    changes.push({ path: at, kind, breaking, ...(detail !== undefined ? { detail } : {}) });
  const oldTypes = typeSetOf(o);
  const newTypes = typeSetOf(n);
  const scope = only ?? new Set<JsonType>(ALL_TYPES);
  if (reportTypes) {
    for (const t of ALL_TYPES) {
      if (!scope.has(t)) continue;
      if (oldTypes.has(t) && !newTypes.has(t)) push('type-removed', true, pointer(path, 'type'), t);
      if (!oldTypes.has(t) && newTypes.has(t)) push('type-added', false, pointer(path, 'type'), t);
    }
  }
  // Keywords of a type matter only where both schemas admit it.
  const shared = new Set([...scope].filter((t) => oldTypes.has(t) && newTypes.has(t)));
  const sub = (a: unknown, b: unknown, at: string) =>
    changes.push(...diffAt(ctx, (a ?? true) as JsonSchema, (b ?? true) as JsonSchema, at, depth + 1));

  // const and enum, restricted to the types in scope
  const oldConst = 'const' in o ? restrictValues([o.const], scope) : undefined;
  const newConst = 'const' in n ? restrictValues([n.const], scope) : undefined;
  if (oldConst?.length && newConst?.length) {
    if (!deepEqual(oldConst[0], newConst[0])) {
      push('const-removed', false, pointer(path, 'const'), show(oldConst[0]));
      push('const-added', true, pointer(path, 'const'), show(newConst[0]));
    }
  } else if (newConst?.length) push('const-added', true, pointer(path, 'const'), show(newConst[0]));
  else if (oldConst?.length) push('const-removed', false, pointer(path, 'const'), show(oldConst[0]));
  const oldEnum = Array.isArray(o.enum) ? restrictValues(o.enum, scope) : undefined;
  const newEnum = Array.isArray(n.enum) ? restrictValues(n.enum, scope) : undefined;
  if (oldEnum && newEnum) {
    n.enum &&
      (n.enum as unknown[]).forEach((v, i) => {
        if (newEnum.some((w) => deepEqual(v, w)) && !oldEnum.some((w) => deepEqual(v, w)))
          push('enum-value-added', false, pointer(path, 'enum', i), show(v));
      });
    (o.enum as unknown[]).forEach((v, i) => {
      if (oldEnum.some((w) => deepEqual(v, w)) && !newEnum.some((w) => deepEqual(v, w)))
        push('enum-value-removed', true, pointer(path, 'enum', i), show(v));
    });
  } else if (newEnum && !oldConst?.length) push('enum-added', true, pointer(path, 'enum'), show(newEnum));
  else if (oldEnum && !newConst?.length) push('enum-removed', false, pointer(path, 'enum'), show(oldEnum));

  if (applies(shared, 'number') || applies(shared, 'integer')) {
    diffNumericBound(o, n, path, true, push);
    diffNumericBound(o, n, path, false, push);
    const om = typeof o.multipleOf === 'number' ? o.multipleOf : undefined;
    const nm = typeof n.multipleOf === 'number' ? n.multipleOf : undefined;
    if (om === undefined && nm !== undefined) push('multiple-of-added', true, pointer(path, 'multipleOf'), String(nm));
    else if (om !== undefined && nm === undefined) push('multiple-of-removed', false, pointer(path, 'multipleOf'), String(om));
    else if (om !== undefined && nm !== undefined && om !== nm) {
      // Every multiple of the old factor stays valid when the new factor divides it.
      const ratio = om / nm;
      push('multiple-of-changed', Math.abs(ratio - Math.round(ratio)) > 1e-9, pointer(path, 'multipleOf'), `${om} → ${nm}`);
    }
  }
  for (const { keyword, lower, type } of COUNT_BOUNDS) {
    if (!shared.has(type)) continue;
    const ov = typeof o[keyword] === 'number' ? (o[keyword] as number) : undefined;
    const nv = typeof n[keyword] === 'number' ? (n[keyword] as number) : undefined;
    const at = pointer(path, keyword);
    if (ov === undefined && nv !== undefined) {
      if (lower ? nv > 0 : true) push('bound-added', true, at, String(nv));
    } else if (ov !== undefined && nv === undefined) push('bound-removed', false, at, String(ov));
    else if (ov !== undefined && nv !== undefined && ov !== nv) {
      const tighter = lower ? nv > ov : nv < ov;
      push(tighter ? 'bound-tightened' : 'bound-relaxed', tighter, at, `${ov} → ${nv}`);
    }
  }
  if (shared.has('string')) {
    for (const keyword of ['format', 'pattern'] as const) {
      const ov = typeof o[keyword] === 'string' ? (o[keyword] as string) : undefined;
      const nv = typeof n[keyword] === 'string' ? (n[keyword] as string) : undefined;
      const at = pointer(path, keyword);
      if (ov === undefined && nv !== undefined) push(`${keyword}-added`, true, at, nv);
      else if (ov !== undefined && nv === undefined) push(`${keyword}-removed`, false, at, ov);
      else if (ov !== undefined && nv !== undefined && ov !== nv) push(`${keyword}-changed`, true, at, `${ov} → ${nv}`);
    }
  }
  if (shared.has('array')) diffArrays(o, n, path, push, sub, ctx, depth);
  if (shared.has('object')) diffObjectsKeywords(o, n, path, push, sub, ctx, depth);

  // not: the new schema rejects what its `not` accepts, so a wider `not` is breaking.
  if ('not' in n && !('not' in o)) push('not-added', true, pointer(path, 'not'));
  else if ('not' in o && !('not' in n)) push('not-removed', false, pointer(path, 'not'));
  else if ('not' in o && 'not' in n) {
    const inner = diffAt(ctx, o.not as JsonSchema, n.not as JsonSchema, pointer(path, 'not'), depth + 1);
    if (inner.length > 0)
      push(
        'not-changed',
        inner.some((c) => !c.breaking),
        pointer(path, 'not'),
        `${inner.length} change(s) inside`,
      );
  }
  // allOf left over after merging (conflicting keywords): branches compared in order.
  const oldAll = Array.isArray(o.allOf) ? (o.allOf as unknown[]) : [];
  const newAll = Array.isArray(n.allOf) ? (n.allOf as unknown[]) : [];
  if (oldAll.length > 0 || newAll.length > 0) {
    const count = Math.max(oldAll.length, newAll.length);
    for (let i = 0; i < count; i++) {
      if (i >= oldAll.length) push('all-of-added', true, pointer(path, 'allOf', i));
      else if (i >= newAll.length) push('all-of-removed', false, pointer(path, 'allOf', i));
      else sub(oldAll[i], newAll[i], pointer(path, 'allOf', i));
    }
  }
  for (const keyword of ['if', 'then', 'else'] as const) {
    if (!deepEqual(o[keyword], n[keyword])) push('conditional-changed', true, pointer(path, keyword));
  }
  for (const keyword of ANNOTATIONS) {
    if (!deepEqual(o[keyword], n[keyword])) push('annotation-changed', false, pointer(path, keyword));
  }
  return changes;
}

/** Merges `allOf` branches into their schema (a conjunction); branches that conflict stay in `allOf`. */
function flattenAllOf(side: Side, s: Obj, depth: number): Obj | false {
  if (!Array.isArray(s.allOf)) return s;
  if (depth > MAX_DEPTH) throw new SchemaDiffError(`allOf nests deeper than ${MAX_DEPTH} levels`);
  let acc: JsonSchema = stripAllOf(s);
  for (const branch of s.allOf as unknown[]) {
    if (!isSchema(branch)) throw new SchemaDiffError('an allOf branch is not a schema');
    const resolved = deref(side, branch, []);
    if (resolved === false) return false;
    if (resolved === true) continue;
    const flat = flattenAllOf(side, normalize(resolved), depth + 1);
    if (flat === false) return false;
    acc = mergeAll(flat, acc);
    if (acc === false) return false;
  }
  return acc === true ? {} : acc;
}

function stripAllOf(s: Obj): Obj {
  const { allOf: _allOf, ...rest } = s;
  return rest;
}

type Push = (kind: ChangeKind, breaking: boolean, at: string, detail?: string) => void;
type Sub = (a: unknown, b: unknown, at: string) => void;

/** A numeric lower or upper bound, the stricter of the inclusive and exclusive keywords. */
function numericBound(s: Obj, lower: boolean): { value: number; exclusive: boolean } | undefined {
  const inclusive = s[lower ? 'minimum' : 'maximum'];
  const exclusive = s[lower ? 'exclusiveMinimum' : 'exclusiveMaximum'];
  const a = typeof inclusive === 'number' ? { value: inclusive, exclusive: false } : undefined;
  const b = typeof exclusive === 'number' ? { value: exclusive, exclusive: true } : undefined;
  if (!a) return b;
  if (!b) return a;
  if (lower) return b.value >= a.value ? b : a;
  return b.value <= a.value ? b : a;
}

function diffNumericBound(o: Obj, n: Obj, path: string, lower: boolean, push: Push): void {
  const ob = numericBound(o, lower);
  const nb = numericBound(n, lower);
  const keyword = (b: { exclusive: boolean }) =>
    lower ? (b.exclusive ? 'exclusiveMinimum' : 'minimum') : b.exclusive ? 'exclusiveMaximum' : 'maximum';
  const label = (b: { value: number; exclusive: boolean }) => `${keyword(b)} ${b.value}`;
  if (!ob && nb) push('bound-added', true, pointer(path, keyword(nb)), label(nb));
  else if (ob && !nb) push('bound-removed', false, pointer(path, keyword(ob)), label(ob));
  else if (ob && nb && (ob.value !== nb.value || ob.exclusive !== nb.exclusive)) {
    const sign = lower ? 1 : -1;
    const tighter = sign * (nb.value - ob.value) > 0 || (nb.value === ob.value && nb.exclusive && !ob.exclusive);
    push(tighter ? 'bound-tightened' : 'bound-relaxed', tighter, pointer(path, keyword(nb)), `${label(ob)} → ${label(nb)}`);
  }
}

function diffArrays(o: Obj, n: Obj, path: string, push: Push, sub: Sub, ctx: Ctx, depth: number): void {
  const oldPrefix = Array.isArray(o.prefixItems) ? (o.prefixItems as unknown[]) : [];
  const newPrefix = Array.isArray(n.prefixItems) ? (n.prefixItems as unknown[]) : [];
  const oldRest = (o.items ?? true) as JsonSchema;
  const newRest = (n.items ?? true) as JsonSchema;
  const count = Math.max(oldPrefix.length, newPrefix.length);
  for (let i = 0; i < count; i++) {
    const at = pointer(path, 'prefixItems', i);
    if (i < oldPrefix.length && i < newPrefix.length) sub(oldPrefix[i], newPrefix[i], at);
    else if (i < newPrefix.length) {
      // The old schema's rest (`items`) governed this position.
      const inner = diffAt(ctx, oldRest, newPrefix[i] as JsonSchema, at, depth + 1);
      push(
        'tuple-item-added',
        inner.some((c) => c.breaking),
        at,
      );
    } else {
      const inner = diffAt(ctx, oldPrefix[i] as JsonSchema, newRest, at, depth + 1);
      push(
        'tuple-item-removed',
        inner.some((c) => c.breaking),
        at,
      );
    }
  }
  if (o.items !== undefined || n.items !== undefined) {
    if (n.items === false && o.items !== false) push('schema-closed', true, pointer(path, 'items'), 'false');
    else if (o.items === false && n.items !== false) push('schema-opened', false, pointer(path, 'items'), String(n.items ?? true));
    else sub(oldRest, newRest, pointer(path, 'items'));
  }
  if (o.uniqueItems !== true && n.uniqueItems === true) push('unique-items-added', true, pointer(path, 'uniqueItems'));
  if (o.uniqueItems === true && n.uniqueItems !== true) push('unique-items-removed', false, pointer(path, 'uniqueItems'));
  if (!('contains' in o) && 'contains' in n) push('contains-added', true, pointer(path, 'contains'));
  else if ('contains' in o && !('contains' in n)) push('contains-removed', false, pointer(path, 'contains'));
  else if ('contains' in o) sub(o.contains, n.contains, pointer(path, 'contains'));
  if ('unevaluatedItems' in o || 'unevaluatedItems' in n) sub(o.unevaluatedItems, n.unevaluatedItems, pointer(path, 'unevaluatedItems'));
}

/** The schema that governs property `name` when it is not among `properties`: a matching `patternProperties` entry, else `additionalProperties`. */
function governing(s: Obj, name: string): JsonSchema {
  if (isObj(s.patternProperties)) {
    for (const [pattern, schema] of Object.entries(s.patternProperties)) {
      try {
        if (new RegExp(pattern, 'u').test(name)) return schema as JsonSchema;
      } catch {
        // An ECMA-262-incompatible pattern: fall through to additionalProperties.
      }
    }
  }
  return (s.additionalProperties ?? true) as JsonSchema;
}

function diffObjectsKeywords(o: Obj, n: Obj, path: string, push: Push, sub: Sub, ctx: Ctx, depth: number): void {
  const oldProps = isObj(o.properties) ? o.properties : {};
  const newProps = isObj(n.properties) ? n.properties : {};
  for (const [name, schema] of Object.entries(newProps)) {
    const at = pointer(path, 'properties', name);
    if (name in oldProps) sub(oldProps[name], schema, at);
    else {
      const inner = diffAt(ctx, governing(o, name), schema as JsonSchema, at, depth + 1);
      push(
        'property-added',
        inner.some((c) => c.breaking),
        at,
      );
    }
  }
  for (const [name, schema] of Object.entries(oldProps)) {
    if (name in newProps) continue;
    const inner = diffAt(ctx, schema as JsonSchema, governing(n, name), pointer(path, 'properties', name), depth + 1);
    push(
      'property-removed',
      inner.some((c) => c.breaking),
      pointer(path, 'properties', name),
    );
  }
  const oldPatterns = isObj(o.patternProperties) ? o.patternProperties : {};
  const newPatterns = isObj(n.patternProperties) ? n.patternProperties : {};
  for (const [pattern, schema] of Object.entries(newPatterns)) {
    const at = pointer(path, 'patternProperties', pattern);
    if (pattern in oldPatterns) sub(oldPatterns[pattern], schema, at);
    else push('pattern-property-added', true, at);
  }
  for (const [pattern, schema] of Object.entries(oldPatterns)) {
    if (pattern in newPatterns) continue;
    const inner = diffAt(
      ctx,
      schema as JsonSchema,
      (n.additionalProperties ?? true) as JsonSchema,
      pointer(path, 'patternProperties', pattern),
      depth + 1,
    );
    push(
      'pattern-property-removed',
      inner.some((c) => c.breaking),
      pointer(path, 'patternProperties', pattern),
    );
  }
  const oa = o.additionalProperties;
  const na = n.additionalProperties;
  if (na === false && oa !== false) push('additional-properties-closed', true, pointer(path, 'additionalProperties'));
  else if (oa === false && na !== false) push('additional-properties-opened', false, pointer(path, 'additionalProperties'));
  else if (oa !== undefined || na !== undefined) sub(oa, na, pointer(path, 'additionalProperties'));
  if ('propertyNames' in o || 'propertyNames' in n) sub(o.propertyNames, n.propertyNames, pointer(path, 'propertyNames'));
  if ('unevaluatedProperties' in o || 'unevaluatedProperties' in n)
    sub(o.unevaluatedProperties, n.unevaluatedProperties, pointer(path, 'unevaluatedProperties'));

  const oldRequired = Array.isArray(o.required) ? (o.required as unknown[]) : [];
  const newRequired = Array.isArray(n.required) ? (n.required as unknown[]) : [];
  newRequired.forEach((name, i) => {
    if (!oldRequired.includes(name)) push('required-added', true, pointer(path, 'required', i), String(name));
  });
  oldRequired.forEach((name, i) => {
    if (!newRequired.includes(name)) push('required-removed', false, pointer(path, 'required', i), String(name));
  });
  const oldDepReq = isObj(o.dependentRequired) ? o.dependentRequired : {};
  const newDepReq = isObj(n.dependentRequired) ? n.dependentRequired : {};
  for (const key of new Set([...Object.keys(oldDepReq), ...Object.keys(newDepReq)])) {
    const ov = Array.isArray(oldDepReq[key]) ? (oldDepReq[key] as unknown[]) : [];
    const nv = Array.isArray(newDepReq[key]) ? (newDepReq[key] as unknown[]) : [];
    for (const name of nv)
      if (!ov.includes(name)) push('dependent-required-added', true, pointer(path, 'dependentRequired', key), `${key} → ${String(name)}`);
    for (const name of ov)
      if (!nv.includes(name))
        push('dependent-required-removed', false, pointer(path, 'dependentRequired', key), `${key} → ${String(name)}`);
  }
  const oldDepSchemas = isObj(o.dependentSchemas) ? o.dependentSchemas : {};
  const newDepSchemas = isObj(n.dependentSchemas) ? n.dependentSchemas : {};
  for (const key of new Set([...Object.keys(oldDepSchemas), ...Object.keys(newDepSchemas)])) {
    const at = pointer(path, 'dependentSchemas', key);
    if (!(key in oldDepSchemas)) push('dependent-schema-added', true, at);
    else if (!(key in newDepSchemas)) push('dependent-schema-removed', false, at);
    else sub(oldDepSchemas[key], newDepSchemas[key], at);
  }
}
