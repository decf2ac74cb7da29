/**
 * Our evaluator for Amazon States Language intrinsic functions (`States.Format(...)` etc.),
 * installed in place of the interpreter's own because the library's has wrong outputs that
 * real AWS does not have (measured against conformance data recorded on AWS):
 * `States.MathAdd` must round each operand half-up (1.49 + 1.5 = 3), `States.StringSplit`
 * splits on every character of the delimiter string and drops empty parts,
 * `States.StringToJson("")` is null, `States.Format` accepts objects/arrays (rendered the way
 * AWS's Java runtime does: `{a=1, b=[]}`), string literals honour the `\'`, `\{`, `\}`, `\\`
 * escapes instead of dropping every backslash from results, and Base64/Hash work on UTF-8.
 */
import { createHash, randomUUID } from 'node:crypto';

/** Raised for a malformed expression or bad arguments; the engine maps it to `States.Runtime`. */
export class IntrinsicError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'States.Runtime';
  }
}

/** Evaluates a JSONPath (`$...` against input, `$$...` against the context object). */
export type PathResolver = (path: string) => unknown;

type Arg = { kind: 'literal'; value: unknown } | { kind: 'path'; path: string } | { kind: 'call'; name: string; args: Arg[] };

/** Parses `States.X(args)` into a call tree; throws IntrinsicError on malformed text. */
export function parseIntrinsic(text: string): { name: string; args: Arg[] } {
  let i = 0;
  const src = text.trim();
  const fail = (msg: string): never => {
    throw new IntrinsicError(`Invalid intrinsic function '${src}': ${msg}`);
  };
  const skipWs = () => {
    while (i < src.length && /\s/.test(src[i] ?? '')) i++;
  };
  const parseCall = (): { name: string; args: Arg[] } => {
    const start = i;
    while (i < src.length && /[A-Za-z0-9_.]/.test(src[i] ?? '')) i++;
    const name = src.slice(start, i);
    if (!name.startsWith('States.')) fail(`unknown function '${name}'`);
    skipWs();
    if (src[i] !== '(') fail('expected (');
    i++;
    const args: Arg[] = [];
    skipWs();
    if (src[i] === ')') {
      i++;
      return { name, args };
    }
    for (;;) {
      skipWs();
      args.push(parseArg());
      skipWs();
      if (src[i] === ',') {
        i++;
        continue;
      }
      if (src[i] === ')') {
        i++;
        return { name, args };
      }
      fail(`unexpected '${src[i] ?? 'end'}' at ${i}`);
    }
  };
  const parseArg = (): Arg => {
    const ch = src[i];
    if (ch === "'") {
      i++;
      let out = '';
      while (i < src.length && src[i] !== "'") {
        if (src[i] === '\\' && i + 1 < src.length) {
          out += src[i + 1];
          i += 2;
        } else {
          out += src[i];
          i++;
        }
      }
      if (src[i] !== "'") fail('unterminated string');
      i++;
      return { kind: 'literal', value: out };
    }
    if (ch === '$') {
      // A path runs to the next top-level ',' or ')': brackets and quotes may contain either.
      const start = i;
      let depth = 0;
      let quote: string | null = null;
      while (i < src.length) {
        const c = src[i];
        if (quote) {
          if (c === quote) quote = null;
        } else if (c === "'" || c === '"') quote = c;
        else if (c === '[' || c === '(') depth++;
        else if ((c === ']' || c === ')') && depth > 0) depth--;
        else if ((c === ',' || c === ')') && depth === 0) break;
        i++;
      }
      return { kind: 'path', path: src.slice(start, i).trim() };
    }
    if (src.startsWith('States.', i)) {
      const call = parseCall();
      return { kind: 'call', ...call };
    }
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(src.slice(i));
    if (!m) return fail(`unexpected argument at ${i}`);
    i += m[0].length;
    return { kind: 'literal', value: JSON.parse(m[0]) };
  };
  const call = parseCall();
  skipWs();
  if (i !== src.length) fail('trailing characters');
  return call;
}

/** Renders a value the way AWS's `States.Format` does (Java `toString` of maps and lists). */
function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}=${formatValue(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function expect(cond: boolean, fn: string, msg: string): asserts cond {
  if (!cond) throw new IntrinsicError(`${fn}: ${msg}`);
}

function arity(fn: string, args: unknown[], min: number, max = min): void {
  expect(args.length >= min && args.length <= max, fn, `expected ${min === max ? min : `${min}-${max}`} arguments, got ${args.length}`);
}

const FUNCTIONS: Record<string, (args: unknown[]) => unknown> = {
  'States.Format': (args) => {
    const [tpl, ...rest] = args;
    expect(typeof tpl === 'string', 'States.Format', 'first argument must be a string');
    const count = (tpl.match(/\{\}/g) ?? []).length;
    expect(count === rest.length, 'States.Format', `template has ${count} placeholders but ${rest.length} arguments were given`);
    let k = 0;
    return tpl.replace(/\{\}/g, () => formatValue(rest[k++]));
  },
  'States.StringToJson': (args) => {
    arity('States.StringToJson', args, 1);
    const [s] = args;
    expect(typeof s === 'string', 'States.StringToJson', 'argument must be a string');
    if (s.trim() === '') return null;
    try {
      return JSON.parse(s);
    } catch {
      throw new IntrinsicError(`States.StringToJson: '${s}' is not valid JSON`);
    }
  },
  'States.JsonToString': (args) => {
    arity('States.JsonToString', args, 1);
    return JSON.stringify(args[0]);
  },
  'States.Array': (args) => args,
  'States.ArrayPartition': (args) => {
    arity('States.ArrayPartition', args, 2);
    const [arr, size] = args;
    expect(Array.isArray(arr), 'States.ArrayPartition', 'first argument must be an array');
    expect(typeof size === 'number' && Number.isInteger(size) && size > 0, 'States.ArrayPartition', 'chunk size must be a positive integer');
    const out: unknown[][] = [];
    for (let i = 0; i < arr.length; i += size) out.push(arr.slice(i, i + size));
    return out;
  },
  'States.ArrayContains': (args) => {
    arity('States.ArrayContains', args, 2);
    const [arr, v] = args;
    expect(Array.isArray(arr), 'States.ArrayContains', 'first argument must be an array');
    return arr.some((x) => jsonEqual(x, v));
  },
  'States.ArrayRange': (args) => {
    arity('States.ArrayRange', args, 3);
    const [start, end, step] = args;
    for (const n of [start, end, step]) expect(typeof n === 'number' && Number.isInteger(n), 'States.ArrayRange', 'arguments must be integers');
    const s = start as number;
    const e = end as number;
    const st = step as number;
    expect(st !== 0, 'States.ArrayRange', 'step must not be 0');
    const out: number[] = [];
    for (let v = s; st > 0 ? v <= e : v >= e; v += st) {
      out.push(v);
      expect(out.length <= 1000, 'States.ArrayRange', 'result cannot contain more than 1000 items');
    }
    return out;
  },
  'States.ArrayGetItem': (args) => {
    arity('States.ArrayGetItem', args, 2);
    const [arr, idx] = args;
    expect(Array.isArray(arr), 'States.ArrayGetItem', 'first argument must be an array');
    expect(typeof idx === 'number' && Number.isInteger(idx) && idx >= 0, 'States.ArrayGetItem', 'index must be a non-negative integer');
    expect(idx < arr.length, 'States.ArrayGetItem', `index ${idx} out of bounds`);
    return arr[idx];
  },
  'States.ArrayLength': (args) => {
    arity('States.ArrayLength', args, 1);
    expect(Array.isArray(args[0]), 'States.ArrayLength', 'argument must be an array');
    return args[0].length;
  },
  'States.ArrayUnique': (args) => {
    arity('States.ArrayUnique', args, 1);
    const [arr] = args;
    expect(Array.isArray(arr), 'States.ArrayUnique', 'argument must be an array');
    const out: unknown[] = [];
    for (const v of arr) if (!out.some((o) => jsonEqual(o, v))) out.push(v);
    return out;
  },
  'States.Base64Encode': (args) => {
    arity('States.Base64Encode', args, 1);
    expect(typeof args[0] === 'string', 'States.Base64Encode', 'argument must be a string');
    expect(args[0].length <= 10000, 'States.Base64Encode', 'input exceeds 10,000 characters');
    return Buffer.from(args[0], 'utf8').toString('base64');
  },
  'States.Base64Decode': (args) => {
    arity('States.Base64Decode', args, 1);
    expect(typeof args[0] === 'string', 'States.Base64Decode', 'argument must be a string');
    expect(args[0].length <= 10000, 'States.Base64Decode', 'input exceeds 10,000 characters');
    return Buffer.from(args[0], 'base64').toString('utf8');
  },
  'States.Hash': (args) => {
    arity('States.Hash', args, 2);
    const [data, alg] = args;
    const algos: Record<string, string> = { MD5: 'md5', 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
    expect(typeof alg === 'string' && alg in algos, 'States.Hash', `unsupported algorithm ${String(alg)}`);
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    expect(text.length <= 10000, 'States.Hash', 'input exceeds 10,000 characters');
    return createHash(algos[alg] as string).update(text, 'utf8').digest('hex');
  },
  'States.JsonMerge': (args) => {
    arity('States.JsonMerge', args, 3);
    const [a, b, deep] = args;
    expect(isObj(a) && isObj(b), 'States.JsonMerge', 'first two arguments must be objects');
    expect(deep === false, 'States.JsonMerge', 'only shallow merge (false) is supported');
    return { ...a, ...b };
  },
  'States.MathRandom': (args) => {
    arity('States.MathRandom', args, 2, 3);
    const [start, end, seed] = args;
    expect(typeof start === 'number' && typeof end === 'number', 'States.MathRandom', 'start and end must be numbers');
    const lo = Math.round(start);
    const hi = Math.round(end);
    let r = Math.random();
    if (typeof seed === 'number') {
      // Deterministic per seed (AWS is too); the exact sequence is not AWS's.
      const x = Math.sin(seed) * 10000;
      r = x - Math.floor(x);
    }
    return lo + Math.floor(r * (hi - lo));
  },
  'States.MathAdd': (args) => {
    arity('States.MathAdd', args, 2);
    const [a, b] = args;
    expect(typeof a === 'number' && typeof b === 'number', 'States.MathAdd', 'arguments must be numbers');
    // AWS rounds each operand half-up (Java Math.round) before adding.
    return Math.round(a) + Math.round(b);
  },
  'States.StringSplit': (args) => {
    arity('States.StringSplit', args, 2);
    const [s, delims] = args;
    expect(typeof s === 'string' && typeof delims === 'string', 'States.StringSplit', 'arguments must be strings');
    const set = new Set(delims);
    const out: string[] = [];
    let cur = '';
    for (const c of s) {
      if (set.has(c)) {
        if (cur) out.push(cur);
        cur = '';
      } else cur += c;
    }
    if (cur) out.push(cur);
    return out;
  },
  'States.UUID': (args) => {
    arity('States.UUID', args, 0);
    return randomUUID();
  },
};

/**
 * Evaluates one intrinsic expression. `resolve` evaluates JSONPath arguments; `random` lets the
 * engine substitute recorded values for `States.UUID`/`States.MathRandom` when it replays an
 * execution after a restart (so a replayed run takes the same Choice branches).
 */
export function evaluateIntrinsic(text: string, resolve: PathResolver, random?: (name: string, compute: () => unknown) => unknown): unknown {
  const evalArg = (a: Arg): unknown => {
    if (a.kind === 'literal') return a.value;
    if (a.kind === 'path') return resolve(a.path);
    return evalCall(a.name, a.args);
  };
  const evalCall = (name: string, args: Arg[]): unknown => {
    const fn = FUNCTIONS[name];
    if (!fn) throw new IntrinsicError(`Unknown intrinsic function ${name}`);
    const values = args.map(evalArg);
    if (random && (name === 'States.UUID' || (name === 'States.MathRandom' && values.length < 3))) return random(name, () => fn(values));
    return fn(values);
  };
  const call = parseIntrinsic(text);
  return evalCall(call.name, call.args);
}
