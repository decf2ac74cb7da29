/**
 * JSON Schema diff: the 85 cases of getsentry/json-schema-diff (test/fixtures/conformance/json-schema-diff,
 * see its SOURCE.md) compared with our differ, through one table from their change kinds to ours, then
 * cases of our own for what their set does not cover (draft-07 and 2020-12 tuples, `$ref` cycles,
 * `not`, `dependencies`, `oneOf`, multipleOf, bump derivation).
 *
 * A case agrees when both the breaking verdict and the set of (data path, kind, breaking) match; the
 * cases where we disagree are listed below with the reason, and the test asserts that exactly those
 * disagree (a fix that makes one agree must also remove it from the list).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bumpFor, type ChangeKind, diffSchemas, type SchemaChange, SchemaDiffError } from '../../lib/versioning/schema-diff.ts';
import { conformancePath } from '../helpers/conformance.ts';

/** A change as the sentry differ's snapshot prints it (Rust Debug), parsed. */
interface SentryChange {
  path: string;
  variant: string;
  fields: Record<string, unknown>;
}

/** Parses the Rust Debug text of a snapshot (`[Change { path: "", change: TypeRemove { removed: Number } }, …]`). */
function parseDebug(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && /[\s,]/.test(text[i] ?? '')) i++;
  };
  const value = (): unknown => {
    ws();
    if (text[i] === '[') {
      i++;
      const items: unknown[] = [];
      for (ws(); text[i] !== ']'; ws()) items.push(value());
      i++;
      return items;
    }
    if (text[i] === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const s = JSON.parse(text.slice(i, j + 1)) as string;
      i = j + 1;
      return s;
    }
    const token = /^[A-Za-z_][A-Za-z0-9_]*|^-?[0-9.]+(e-?[0-9]+)?/.exec(text.slice(i))?.[0];
    if (!token) throw new Error(`unexpected ${text.slice(i, i + 20)}`);
    i += token.length;
    if (/^-?[0-9]/.test(token)) return Number(token);
    if (token === 'true' || token === 'false') return token === 'true';
    ws();
    if (text[i] === '{') {
      i++;
      const fields: Record<string, unknown> = {};
      for (ws(); text[i] !== '}'; ws()) {
        const name = /^[a-z_]+/.exec(text.slice(i))?.[0] ?? '';
        i += name.length;
        ws();
        i++; // ':'
        fields[name] = value();
      }
      i++;
      return { variant: token, fields };
    }
    if (text[i] === '(') {
      i++;
      const inner = value();
      ws();
      i++; // ')'
      return { variant: token, value: inner };
    }
    return { variant: token };
  };
  return value();
}

function loadCase(group: string, file: string): { lhs: unknown; rhs: unknown; expected: SentryChange[] } {
  const { lhs, rhs } = JSON.parse(readFileSync(conformancePath('json-schema-diff', 'sentry', 'fixtures', group, file), 'utf8')) as {
    lhs: unknown;
    rhs: unknown;
  };
  const snap = readFileSync(
    conformancePath('json-schema-diff', 'sentry', 'snapshots', `test__from_fixtures@${group}__${file}.snap`),
    'utf8',
  );
  const body = snap.split(/^---$/m)[2] ?? '';
  const parsed = parseDebug(body) as Array<{ fields: { path: string; change: { variant: string; fields: Record<string, unknown> } } }>;
  return {
    lhs,
    rhs,
    expected: parsed.map((c) => ({ path: c.fields.path, variant: c.fields.change.variant, fields: c.fields.change.fields })),
  };
}

type Bound = { variant: string; value: number };
/** Their bound as (lower?, value, exclusive) to judge a RangeChange's direction. */
function boundOf(b: Bound): { lower: boolean; value: number; exclusive: boolean } {
  return { lower: b.variant.endsWith('Minimum'), value: b.value, exclusive: b.variant.startsWith('Exclusive') };
}

/**
 * Their change kinds → ours, with their breaking rule (SOURCE.md, src/types.rs `is_breaking`).
 * | theirs | ours |
 * |---|---|
 * | TypeAdd / TypeRemove | type-added / type-removed |
 * | ConstAdd / ConstRemove | const-added / const-removed |
 * | EnumAdd (lhs_has_no_enum) / EnumAdd | enum-added / enum-value-added |
 * | EnumRemove (rhs_has_no_enum) / EnumRemove | enum-removed / enum-value-removed |
 * | RangeAdd, MinLengthAdd, MaxLengthAdd | bound-added |
 * | RangeRemove, MinLengthRemove, MaxLengthRemove | bound-removed |
 * | RangeChange, MinLengthChange, MaxLengthChange | bound-tightened (breaking) / bound-relaxed |
 * | FormatAdd/Change/Remove, PatternAdd/Change/Remove | format-… / pattern-added, -changed, -removed |
 * | RequiredAdd / RequiredRemove | required-added / required-removed |
 * | PropertyAdd / PropertyRemove | property-added / property-removed |
 * | TypeRemove ×7 at `<additionalProperties>` (true → false) | additional-properties-closed |
 * | TypeAdd ×7 at `<additionalProperties>` (false → true) | additional-properties-opened |
 * | (not reported) | annotation-changed (title, description, …: dropped before comparing) |
 */
function mapTheirs(changes: SentryChange[]): Set<string> {
  const out = new Set<string>();
  const byPath = new Map<string, SentryChange[]>();
  for (const c of changes) byPath.set(c.path, [...(byPath.get(c.path) ?? []), c]);
  for (const [path, list] of byPath) {
    for (const variant of ['TypeRemove', 'TypeAdd'] as const) {
      if (path.endsWith('<additionalProperties>') && list.filter((c) => c.variant === variant).length === 7) {
        out.add(
          `${path.slice(0, -'.<additionalProperties>'.length)}|additional-properties-${variant === 'TypeRemove' ? 'closed' : 'opened'}|${variant === 'TypeRemove'}`,
        );
        for (const c of list.filter((c) => c.variant === variant)) changes.splice(changes.indexOf(c), 1);
      }
    }
  }
  for (const { path, variant, fields } of changes) {
    let kind: ChangeKind;
    let breaking: boolean;
    switch (variant) {
      case 'TypeAdd':
        [kind, breaking] = ['type-added', false];
        break;
      case 'TypeRemove':
        [kind, breaking] = ['type-removed', true];
        break;
      case 'ConstAdd':
        [kind, breaking] = ['const-added', true];
        break;
      case 'ConstRemove':
        [kind, breaking] = ['const-removed', false];
        break;
      case 'EnumAdd':
        [kind, breaking] = fields.lhs_has_no_enum ? ['enum-added', true] : ['enum-value-added', false];
        break;
      case 'EnumRemove':
        [kind, breaking] = fields.rhs_has_no_enum ? ['enum-removed', false] : ['enum-value-removed', true];
        break;
      case 'RangeAdd':
      case 'MinLengthAdd':
      case 'MaxLengthAdd':
        [kind, breaking] = ['bound-added', true];
        break;
      case 'RangeRemove':
      case 'MinLengthRemove':
      case 'MaxLengthRemove':
        [kind, breaking] = ['bound-removed', false];
        break;
      case 'RangeChange': {
        const o = boundOf(fields.old_value as Bound);
        const n = boundOf(fields.new_value as Bound);
        const sign = o.lower ? 1 : -1;
        breaking = sign * (n.value - o.value) > 0 || (n.value === o.value && n.exclusive && !o.exclusive);
        kind = breaking ? 'bound-tightened' : 'bound-relaxed';
        break;
      }
      case 'MinLengthChange':
      case 'MaxLengthChange': {
        const up = (fields.new_value as number) > (fields.old_value as number);
        breaking = variant === 'MinLengthChange' ? up : !up;
        kind = breaking ? 'bound-tightened' : 'bound-relaxed';
        break;
      }
      case 'FormatAdd':
      case 'FormatChange':
      case 'PatternAdd':
      case 'PatternChange':
      case 'FormatRemove':
      case 'PatternRemove': {
        const keyword = variant.startsWith('Format') ? 'format' : 'pattern';
        const action = variant.replace(/^(Format|Pattern)/, '').toLowerCase();
        kind = `${keyword}-${action === 'add' ? 'added' : action === 'change' ? 'changed' : 'removed'}` as ChangeKind;
        breaking = action !== 'remove';
        break;
      }
      case 'RequiredAdd':
        [kind, breaking] = ['required-added', true];
        break;
      case 'RequiredRemove':
        [kind, breaking] = ['required-removed', false];
        break;
      case 'PropertyAdd':
        [kind, breaking] = ['property-added', fields.lhs_additional_properties === true];
        break;
      case 'PropertyRemove':
        [kind, breaking] = ['property-removed', fields.lhs_additional_properties !== true];
        break;
      default:
        throw new Error(`unmapped change kind ${variant}`);
    }
    out.add(`${path}|${kind}|${breaking}`);
  }
  return out;
}

/** Our schema pointer → their data path (`/properties/a/anyOf/0/prefixItems/1/minimum` → `.a.<anyOf:0>.1`), dropping the keyword that changed. */
function theirPath(change: SchemaChange): string {
  const segments = change.path.split('/').slice(1);
  // The keyword segment(s) naming what changed are not part of their path.
  const drop = ['branch-added', 'branch-removed', 'schema-closed', 'schema-opened'].includes(change.kind)
    ? 0
    : ['property-added', 'property-removed', 'tuple-item-added', 'tuple-item-removed'].includes(change.kind)
      ? 2
      : /\/(required|enum)\/\d+$/.test(change.path)
        ? 2
        : 1;
  const keep =
    change.kind === 'type-added' || change.kind === 'type-removed'
      ? segments.at(-1) === 'type'
        ? segments.slice(0, -1)
        : segments.at(-1) === 'anyOf'
          ? segments.slice(0, -1)
          : segments
      : drop === 0
        ? segments
        : segments.slice(0, -drop);
  let out = '';
  for (let i = 0; i < keep.length; i++) {
    const s = keep[i];
    if (s === 'properties') out += `.${keep[++i]}`;
    else if (s === 'prefixItems') out += `.${keep[++i]}`;
    else if (s === 'anyOf' || s === 'oneOf') out += `.<${s}:${keep[++i]}>`;
    else out += `.<${s}>`;
  }
  return out;
}

function mapOurs(changes: SchemaChange[]): Set<string> {
  return new Set(changes.filter((c) => c.kind !== 'annotation-changed').map((c) => `${theirPath(c)}|${c.kind}|${c.breaking}`));
}

/**
 * Where we disagree with getsentry/json-schema-diff, and why. `verdict` marks a different overall
 * breaking verdict (theirs → ours); the others differ only in the changes listed.
 */
const DISAGREEMENTS: Record<string, { verdict?: string; why: string }> = {
  'any_of/any_of_with_constraint_to_type_2': {
    why: "the old branches `minimum: 1` and `minimum: 2` fold into the new `minimum: 1`; the second branch's data is all still accepted, so we report nothing for it (they report its `minimum: 2` removed, non-breaking): same verdict",
  },
  'any_of/number_1': {
    why: 'old branch [100, 200] is narrowed to [7, 14], but the new branch `minimum: 2` still takes all of its data, so we mark that tightening non-breaking (theirs: breaking); the verdict is breaking for both (the `maximum` 10 → 3 branch)',
  },
  'any_of/objects_2': {
    why: 'they infer `type: object` from `properties`, so a new `boolean` branch adds a type; under JSON Schema a branch with only `properties` already accepts booleans, so nothing changes for the data',
  },
  'any_of/objects_3': {
    verdict: 'breaking → not breaking',
    why: 'same inference: removing the `boolean` branch removes no data, since the remaining `properties`-only branch accepts every boolean',
  },
  'const/const_in_any_of_2': {
    why: 'we also report the removed `type: number` branch as breaking (5 was valid and no longer is); they report only the added const',
  },
  'const/const_in_any_of_3': {
    why: 'the new `properties`-only branch accepts every type (we report the types added) and narrows objects: {"key": 5} was valid under `type: object` and is not now (we report the property added as breaking; they pair it with the old const object and see nothing)',
  },
  'const/const_in_properties': {
    verdict: 'not breaking → breaking',
    why: 'the only old value {"key": "value"} is still valid, but we compare keywords, not values: adding `properties.key: {const}` to a schema whose other keywords do not close the object is called breaking (a conservative false positive, never a missed break)',
  },
  'const/object_to_const_object': {
    why: 'we name it const-added (breaking); they rewrite the const object to properties and name it property-added (breaking): same verdict',
  },
  'properties/add_property_in_array_of_any_of': {
    why: 'a lone anyOf branch is compared as the schema itself (as they do in any_of/type_to_equivalent_any_of), so our path has no `anyOf/0` segment; same change and verdict',
  },
};

const cases = readdirSync(conformancePath('json-schema-diff', 'sentry', 'fixtures')).flatMap((group) =>
  readdirSync(join(conformancePath('json-schema-diff', 'sentry', 'fixtures'), group)).map((file) => ({
    group,
    file,
    name: `${group}/${file.replace(/\.json$/, '')}`,
  })),
);

describe('JSON Schema diff against getsentry/json-schema-diff', () => {
  it('has all 85 cases', () => {
    assert.equal(cases.length, 85);
  });
  const found: Record<string, string> = {};
  for (const { group, file, name } of cases) {
    it(`${name}`, () => {
      const { lhs, rhs, expected } = loadCase(group, file);
      const theirs = mapTheirs(expected);
      const ours = diffSchemas(lhs, rhs);
      const mine = mapOurs(ours.changes);
      const theirBreaking = [...theirs].some((k) => k.endsWith('|true'));
      const same = theirBreaking === ours.breaking && theirs.size === mine.size && [...theirs].every((k) => mine.has(k));
      if (!same)
        found[name] =
          `${theirBreaking === ours.breaking ? '' : `verdict ${theirBreaking} → ${ours.breaking}; `}theirs ${JSON.stringify([...theirs])} ours ${JSON.stringify([...mine])}`;
    });
  }
  it('disagrees exactly where documented', () => {
    const report = Object.entries(found)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n');
    assert.deepEqual(Object.keys(found).sort(), Object.keys(DISAGREEMENTS).sort(), report);
    for (const [name, { verdict }] of Object.entries(DISAGREEMENTS))
      assert.equal(found[name]?.startsWith('verdict'), verdict !== undefined, `${name}: ${found[name]}`);
  });
});

/** The kinds and verdicts of a diff, for short assertions. */
function kinds(oldSchema: unknown, newSchema: unknown): string[] {
  return diffSchemas(oldSchema, newSchema).changes.map((c) => `${c.path} ${c.kind} ${c.breaking}`);
}

describe('JSON Schema diff beyond the sentry set', () => {
  it('derives major for breaking, minor for additive, patch for annotations or nothing', () => {
    assert.equal(diffSchemas({ type: 'string' }, { type: 'string', maxLength: 3 }).bump, 'major');
    assert.equal(diffSchemas({ type: 'string', maxLength: 3 }, { type: 'string' }).bump, 'minor');
    assert.equal(diffSchemas({ type: 'string' }, { type: 'string', description: 'a name' }).bump, 'patch');
    assert.equal(diffSchemas({ type: 'string' }, { type: 'string' }).bump, 'patch');
    assert.deepEqual(bumpFor([]), { bump: 'patch', breaking: false });
  });
  it('adds an optional property to a closed object as additive, to an open one as breaking unless the property accepts anything', () => {
    const closed = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false };
    assert.deepEqual(kinds(closed, { ...closed, properties: { a: { type: 'string' }, b: { type: 'number' } } }), [
      '/properties/b property-added false',
    ]);
    const open = { type: 'object', properties: { a: { type: 'string' } } };
    assert.deepEqual(kinds(open, { ...open, properties: { a: { type: 'string' }, b: { type: 'number' } } }), [
      '/properties/b property-added true',
    ]);
    assert.deepEqual(kinds(open, { ...open, properties: { a: { type: 'string' }, b: {} } }), ['/properties/b property-added false']);
    assert.deepEqual(kinds(closed, { ...closed, properties: {} }), ['/properties/a property-removed true']);
  });
  it('reads draft-07 tuples (items array, additionalItems) and 2020-12 tuples (prefixItems, items) alike', () => {
    const d7 = { items: [{ type: 'string' }, { type: 'number' }], additionalItems: false };
    const d2020 = { prefixItems: [{ type: 'string' }, { type: 'number' }], items: false };
    assert.deepEqual(kinds(d7, d2020), []);
    assert.deepEqual(kinds(d7, { prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false }), [
      '/prefixItems/1/type type-removed true',
    ]);
    assert.deepEqual(kinds(d2020, { prefixItems: [{ type: 'string' }, { type: 'number' }] }), ['/items schema-opened false']);
  });
  it('follows #/definitions and #/$defs, and ends on recursive schemas', () => {
    const tree = (leaf: unknown) => ({
      $ref: '#/$defs/node',
      $defs: { node: { type: 'object', properties: { value: leaf, children: { type: 'array', items: { $ref: '#/$defs/node' } } } } },
    });
    assert.deepEqual(kinds(tree({ type: 'string' }), tree({ type: 'string' })), []);
    assert.deepEqual(kinds(tree({ type: 'string' }), tree({ type: 'string', minLength: 2 })), [
      '/properties/value/minLength bound-added true',
    ]);
    const d7 = { definitions: { n: { type: 'integer' } }, properties: { a: { $ref: '#/definitions/n' } } };
    assert.deepEqual(kinds(d7, { $defs: { m: { type: 'number' } }, properties: { a: { $ref: '#/$defs/m' } } }), [
      '/properties/a/type type-added false',
    ]);
    assert.throws(() => diffSchemas({ $ref: '#/definitions/missing' }, {}), SchemaDiffError);
  });
  it('classifies multipleOf, uniqueItems, exclusive bounds, not and dependencies', () => {
    assert.deepEqual(kinds({ multipleOf: 10 }, { multipleOf: 5 }), ['/multipleOf multiple-of-changed false']);
    assert.deepEqual(kinds({ multipleOf: 5 }, { multipleOf: 10 }), ['/multipleOf multiple-of-changed true']);
    assert.deepEqual(kinds({ type: 'array' }, { type: 'array', uniqueItems: true }), ['/uniqueItems unique-items-added true']);
    assert.deepEqual(kinds({ maximum: 5 }, { exclusiveMaximum: 5 }), ['/exclusiveMaximum bound-tightened true']);
    assert.deepEqual(kinds({ not: { type: 'string' } }, { not: { type: ['string', 'null'] } }), ['/not not-changed true']);
    assert.deepEqual(kinds({ not: { type: ['string', 'null'] } }, { not: { type: 'string' } }), ['/not not-changed false']);
    assert.deepEqual(kinds({ dependencies: { a: ['b'] } }, { dependentRequired: { a: ['b', 'c'] } }), [
      '/dependentRequired/a dependent-required-added true',
    ]);
    assert.deepEqual(kinds({ required: ['a', 'b'] }, { required: ['b'] }), ['/required/0 required-removed false']);
  });
  it('calls anyOf → oneOf breaking and an overlapping new oneOf branch breaking', () => {
    assert.deepEqual(kinds({ anyOf: [{ type: 'string' }, { type: 'number' }] }, { oneOf: [{ type: 'string' }, { type: 'number' }] }), [
      '/oneOf combinator-changed true',
    ]);
    assert.deepEqual(kinds({ oneOf: [{ type: 'string' }] }, { oneOf: [{ type: 'string' }, { type: 'string', maxLength: 2 }] }), [
      '/oneOf/1 branch-added true',
    ]);
  });
  it('merges allOf before comparing', () => {
    assert.deepEqual(kinds({ allOf: [{ type: 'string' }, { minLength: 2 }] }, { type: 'string', minLength: 3 }), [
      '/minLength bound-tightened true',
    ]);
  });
  it('refuses inputs that are not schemas', () => {
    assert.throws(() => diffSchemas([], {}), /old schema is not a JSON Schema/);
    assert.throws(() => diffSchemas({}, 'x'), /new schema is not a JSON Schema/);
  });
});
