/**
 * Whether a value is plain JSON data that every store and consumer of ours can hold as it is. Fields
 * typed `unknown` in a schema (an audit payload, a detector config, an action's parameters) accept
 * anything zod can see, so the edges that take them check them with this one walker.
 */

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (`String#isWellFormed`, ES2024). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** One place where a value is not plain JSON data: the path inside the value and why. */
export interface JsonDataIssue {
  path: (string | number)[];
  message: string;
}

/** Limits of {@link jsonDataIssues}. */
export interface JsonDataLimits {
  /** Levels of arrays and objects allowed (the value itself is level 0's container). */
  maxDepth: number;
  /** Values walked at most (guards against shared references fanning out); default 262,144. */
  maxNodes?: number;
  /** Issues reported at most; default 10. */
  maxIssues?: number;
}

/**
 * Where `value` is not plain JSON data: a non-finite number (JSON writes `null`), a bigint, function
 * or symbol, `undefined` in an array, an object other than a plain object or array (a Date, a Map,
 * a class instance), a string or key that is not well-formed UTF-16 (a lone surrogate: RFC 8785
 * canonical JSON, and so the audit ledger, refuses it), a cycle, or nesting deeper than
 * `limits.maxDepth`. `undefined` object properties are allowed: JSON leaves them out, as an absent
 * optional field. The walk is iterative, so a 100,000-level value is reported, not a stack overflow.
 * @example
 * jsonDataIssues({ config: { k: Number.NaN } }, { maxDepth: 32 }) // [{ path: ['config', 'k'], message: 'NaN is not a JSON number' }]
 */
export function jsonDataIssues(value: unknown, limits: JsonDataLimits): JsonDataIssue[] {
  const maxNodes = limits.maxNodes ?? 256 * 1024;
  const maxIssues = limits.maxIssues ?? 10;
  const issues: JsonDataIssue[] = [];
  const pending: Array<[unknown, (string | number)[]]> = [[value, []]];
  let nodes = 0;
  while (pending.length > 0 && issues.length < maxIssues) {
    const [current, path] = pending.pop() as [unknown, (string | number)[]];
    nodes += 1;
    if (nodes > maxNodes) {
      issues.push({ path: [], message: `holds more than ${maxNodes} values` });
      break;
    }
    if (current === null || typeof current === 'boolean') continue;
    if (typeof current === 'string') {
      if (LONE_SURROGATE.test(current)) issues.push({ path, message: 'a string with a lone surrogate is not well-formed Unicode' });
      continue;
    }
    if (typeof current === 'number') {
      if (!Number.isFinite(current)) issues.push({ path, message: `${current} is not a JSON number` });
      continue;
    }
    if (typeof current !== 'object') {
      issues.push({ path, message: `a ${typeof current} is not JSON data` });
      continue;
    }
    if (path.length >= limits.maxDepth) {
      issues.push({ path, message: `nests deeper than ${limits.maxDepth} levels (or refers to itself)` });
      continue;
    }
    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index -= 1) {
        const item = current[index];
        if (item === undefined) issues.push({ path: [...path, index], message: 'undefined (or a hole) is not JSON data' });
        else pending.push([item, [...path, index]]);
      }
      continue;
    }
    const prototype = Object.getPrototypeOf(current);
    if (prototype !== Object.prototype && prototype !== null) {
      issues.push({ path, message: `a ${(current as object).constructor?.name ?? 'non-plain object'} is not JSON data` });
      continue;
    }
    for (const [key, item] of Object.entries(current)) {
      if (LONE_SURROGATE.test(key))
        issues.push({ path: [...path, key], message: 'a key with a lone surrogate is not well-formed Unicode' });
      else if (item !== undefined) pending.push([item, [...path, key]]);
    }
  }
  return issues;
}
