/**
 * Amazon EventBridge event-pattern matching and validation for the local event bus.
 *
 * AWS evaluates patterns with its open-source engine, aws/event-ruler (Java, Apache-2.0). This module
 * follows that engine's observable behaviour rather than the prose of the EventBridge guide:
 *
 * - Validation walks the pattern token by token in the order event-ruler's `JsonRuleCompiler`
 *   does, so the first error reported and its wording are AWS's (`Event pattern is not valid.
 *   Reason: ...`). JSON syntax errors carry Jackson's wording and location, as AWS returns them.
 * - Field names are joined with `.` on both sides, so `{"a": {"b": [1]}}` and `{"a.b": [1]}`
 *   are the same pattern and match both `{"a": {"b": 1}}` and `{"a.b": 1}`.
 * - Arrays in events are "crushed": any element may match. Matches across several fields must be
 *   array-consistent (event-ruler's `rulesForJSONEvent`): fields taken from objects in different
 *   elements of the same array never combine.
 * - Numbers compare by value (5 matches 5.0); numeric operators accept operands in
 *   [-5e9, 5e9] and only match JSON numbers in that range, never numeric strings.
 * - Wildcards are rejected when event-ruler's complexity measure for the field exceeds AWS's
 *   limit, computed on an emulation of event-ruler's byte machine (see {@link wildcardComplexity}).
 *
 * Known, deliberate differences: numbers are compared as IEEE doubles (event-ruler rounds to six
 * decimals); equals-ignore-case uses JavaScript case mapping; `$or` expansion is capped locally
 * at {@link MAX_SUB_RULES} combinations.
 */

/** Prefix AWS puts before every reason for an invalid pattern. */
const ERROR_PREFIX = 'Event pattern is not valid. Reason: ';

/** Limits of event-ruler's ComparableNumber: numeric operands and matched values must be inside. */
const NUMERIC_LIMIT = 5e9;
const NUMERIC_LIMIT_MESSAGE = 'Value must be between -5.0E9 and 5.0E9, inclusive';

/** AWS rejects a field whose wildcard complexity (see {@link wildcardComplexity}) exceeds this. */
const MAX_WILDCARD_COMPLEXITY = 10;
const TOO_COMPLEX_MESSAGE =
  'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character';

/**
 * Local guard, not an AWS rule: parallel `$or` blocks multiply into sub-rules, and an unbounded
 * product would stall the emulator at rule creation.
 */
const MAX_SUB_RULES = 10_000;

/** Field names event-ruler refuses inside `$or` branches. */
const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  'html',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

const VALID_VALUE_LIST = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')";

/**
 * Thrown for a pattern EventBridge rejects. `message` is AWS's full message text
 * (`Event pattern is not valid. Reason: ...`); `name` is AWS's error code.
 */
export class InvalidEventPatternError extends Error {
  /** The AWS error code, also used as `name`. */
  readonly code = 'InvalidEventPatternException';
  /** The part of the message after `Reason: `. */
  readonly reason: string;

  /**
   * @param reason AWS's reason text, without the `Event pattern is not valid. Reason: ` prefix.
   */
  constructor(reason: string) {
    super(`${ERROR_PREFIX}${reason}`);
    this.name = 'InvalidEventPatternException';
    this.reason = reason;
  }
}

/** A compiled pattern: answers whether one event matches. */
export type EventPatternMatcher = (event: unknown) => boolean;

// ---------------------------------------------------------------------------------------------
// JSON tokens, read the way Jackson's streaming parser reads them
// ---------------------------------------------------------------------------------------------

type Token =
  | 'START_OBJECT'
  | 'END_OBJECT'
  | 'START_ARRAY'
  | 'END_ARRAY'
  | 'FIELD_NAME'
  | 'STRING'
  | 'NUMBER_INT'
  | 'NUMBER_FLOAT'
  | 'TRUE'
  | 'FALSE'
  | 'NULL';

interface Frame {
  object: boolean;
  entries: number;
  /** A field name was read; its value comes next. */
  expectValue: boolean;
  line: number;
  column: number;
}

interface PendingToken {
  token: Token;
  text: string;
}

/** Internal: a JSON syntax error, message already in Jackson's words and with its location. */
class JsonSyntaxError extends Error {}

const IDENTIFIER_START = /[\p{L}\p{Nl}\p{Sc}\p{Pc}]/u;
const IDENTIFIER_PART = /[\p{L}\p{Nl}\p{Sc}\p{Pc}\p{Nd}\p{Mn}\p{Mc}]/u;

/**
 * Pull reader over JSON text producing Jackson's token sequence. event-ruler validates while it
 * streams, so reading lazily keeps AWS's order of errors (a rule error before a later syntax
 * error) and leaves text after the root object unread, as AWS does.
 */
class TokenReader {
  private readonly src: string;
  private pos = 0;
  private line = 1;
  private rowStart = 0;
  private readonly frames: Frame[] = [];
  private pending: PendingToken | null = null;
  /** Text of the current token, as Jackson's `getText()`. */
  text = '';

  constructor(src: string) {
    this.src = src;
  }

  /** Jackson's `getCurrentLocation()` rendered as in its exception messages. */
  location(): string {
    return this.describe(this.line, this.pos - this.rowStart + 1);
  }

  next(): Token | null {
    if (this.pending !== null) {
      const pending = this.pending;
      this.pending = null;
      this.text = pending.text;
      return pending.token;
    }
    const frame = this.frames[this.frames.length - 1];
    let c = this.skipWhitespace();
    if (frame === undefined) {
      if (c < 0) return null;
      return this.value(c, true);
    }
    if (frame.expectValue) {
      frame.expectValue = false;
      return this.value(c, false);
    }
    const kind = frame.object ? 'Object' : 'Array';
    if (c < 0) {
      this.fail(`Unexpected end-of-input: expected close marker for ${kind} (start marker at ${this.describe(frame.line, frame.column)})`);
    }
    if (c === 0x5d || c === 0x7d) return this.close(c, frame);
    if (frame.entries > 0) {
      if (c !== 0x2c) this.unexpected(c, `was expecting comma to separate ${kind} entries`);
      this.pos++;
      c = this.skipWhitespace();
      if (c < 0) this.fail(`Unexpected end-of-input within/between ${kind} entries`);
    }
    frame.entries++;
    if (!frame.object) return this.value(c, false);
    if (c !== 0x22) this.unexpected(c, 'was expecting double-quote to start field name');
    this.pos++;
    const name = this.readString(true);
    c = this.skipWhitespace();
    if (c !== 0x3a) {
      if (c < 0) this.fail('Unexpected end-of-input within/between Object entries');
      this.unexpected(c, 'was expecting a colon to separate field name and value');
    }
    this.pos++;
    c = this.skipWhitespace();
    if (c < 0) this.fail('Unexpected end-of-input within/between Object entries');
    // Jackson reads a scalar value together with its field name (strings excepted), so its
    // syntax errors surface before the caller looks at the name.
    if (c === 0x22) {
      frame.expectValue = true;
    } else {
      const token = this.value(c, false);
      this.pending = { token, text: this.text };
    }
    this.text = name;
    return 'FIELD_NAME';
  }

  private value(c: number, root: boolean): Token {
    if (c === 0x22) {
      this.pos++;
      this.text = this.readString(false);
      return 'STRING';
    }
    if (c === 0x7b || c === 0x5b) {
      const object = c === 0x7b;
      this.frames.push({ object, entries: 0, expectValue: false, line: this.line, column: this.pos - this.rowStart + 1 });
      this.pos++;
      this.text = object ? '{' : '[';
      return object ? 'START_OBJECT' : 'START_ARRAY';
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.readNumber(root);
    if (c === 0x7d) {
      if (root) this.fail(`Unexpected close marker '}': expected ']' (for root starting at ${this.describe(1, 0)})`);
      this.unexpected(c, 'expected a value');
    }
    if (c === 0x5d && root) this.fail(`Unexpected close marker ']': expected '}' (for root starting at ${this.describe(1, 0)})`);
    const ch = String.fromCharCode(c);
    if (IDENTIFIER_START.test(ch)) {
      const start = this.pos;
      while (this.pos < this.src.length && IDENTIFIER_PART.test(this.src[this.pos] as string)) this.pos++;
      const word = this.src.slice(start, this.pos);
      if (word === 'true' || word === 'false' || word === 'null') {
        this.text = word;
        return word === 'true' ? 'TRUE' : word === 'false' ? 'FALSE' : 'NULL';
      }
      this.fail(`Unrecognized token '${word}': was expecting ${VALID_VALUE_LIST}`);
    }
    if (c === 0x2f) {
      this.unexpected(c, "maybe a (non-standard) comment? (not recognized as one since Feature 'ALLOW_COMMENTS' not enabled for parser)");
    }
    this.unexpected(c, `expected a valid value ${VALID_VALUE_LIST}`);
  }

  private close(c: number, frame: Frame): Token {
    const closesObject = c === 0x7d;
    if (closesObject !== frame.object) {
      const kind = frame.object ? 'Object' : 'Array';
      this.fail(
        `Unexpected close marker '${String.fromCharCode(c)}': expected '${frame.object ? '}' : ']'}' (for ${kind} starting at ${this.describe(frame.line, frame.column)})`,
      );
    }
    this.pos++;
    this.frames.pop();
    this.text = closesObject ? '}' : ']';
    return closesObject ? 'END_OBJECT' : 'END_ARRAY';
  }

  private readNumber(root: boolean): Token {
    const src = this.src;
    const start = this.pos;
    let float = false;
    if (src.charCodeAt(this.pos) === 0x2d) {
      this.pos++;
      if (!isDigit(src.charCodeAt(this.pos))) {
        if (this.pos >= src.length) this.fail('Unexpected end-of-input in a Number value');
        this.unexpectedInNumber(src.charCodeAt(this.pos), 'expected digit (0-9) to follow minus sign, for valid numeric value');
      }
    }
    if (src.charCodeAt(this.pos) === 0x30 && isDigit(src.charCodeAt(this.pos + 1))) {
      this.pos++;
      this.fail('Invalid numeric value: Leading zeroes not allowed');
    }
    while (isDigit(src.charCodeAt(this.pos))) this.pos++;
    if (src.charCodeAt(this.pos) === 0x2e) {
      float = true;
      this.pos++;
      if (!isDigit(src.charCodeAt(this.pos))) {
        if (this.pos >= src.length) this.fail('Unexpected end-of-input in a Number value');
        this.unexpectedInNumber(src.charCodeAt(this.pos), 'Decimal point not followed by a digit');
      }
      while (isDigit(src.charCodeAt(this.pos))) this.pos++;
    }
    const e = src.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      float = true;
      this.pos++;
      const sign = src.charCodeAt(this.pos);
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      if (!isDigit(src.charCodeAt(this.pos))) {
        if (this.pos >= src.length) this.fail('Unexpected end-of-input in a Number value');
        this.unexpectedInNumber(src.charCodeAt(this.pos), 'Exponent indicator not followed by a digit');
      }
      while (isDigit(src.charCodeAt(this.pos))) this.pos++;
    }
    if (root && this.pos < src.length && !isWhitespace(src.charCodeAt(this.pos))) {
      this.unexpected(src.charCodeAt(this.pos), 'Expected space separating root-level values');
    }
    this.text = src.slice(start, this.pos);
    return float ? 'NUMBER_FLOAT' : 'NUMBER_INT';
  }

  /** Reads a string body; the opening quote is already consumed. */
  private readString(isName: boolean): string {
    const src = this.src;
    let out = '';
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= src.length) {
        this.fail(
          isName
            ? `Unexpected end-of-input: was expecting closing '"' for name`
            : 'Unexpected end-of-input: was expecting closing quote for a string value',
        );
      }
      const c = src.charCodeAt(this.pos);
      if (c === 0x22) {
        out += src.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c === 0x5c) {
        out += src.slice(runStart, this.pos);
        this.pos++;
        out += this.readEscape();
        runStart = this.pos;
        continue;
      }
      if (c < 0x20) {
        this.pos++;
        this.fail(
          `Illegal unquoted character (${charDescription(c)}): has to be escaped using backslash to be included in ${isName ? 'name' : 'string value'}`,
        );
      }
      this.pos++;
    }
  }

  private readEscape(): string {
    const src = this.src;
    if (this.pos >= src.length) this.fail('Unexpected end-of-input in character escape sequence');
    const c = src.charCodeAt(this.pos++);
    switch (c) {
      case 0x22:
        return '"';
      case 0x5c:
        return '\\';
      case 0x2f:
        return '/';
      case 0x62:
        return '\b';
      case 0x66:
        return '\f';
      case 0x6e:
        return '\n';
      case 0x72:
        return '\r';
      case 0x74:
        return '\t';
      case 0x75: {
        let code = 0;
        for (let i = 0; i < 4; i++) {
          if (this.pos >= src.length) this.fail('Unexpected end-of-input in character escape sequence');
          const h = src.charCodeAt(this.pos++);
          const digit = hexValue(h);
          if (digit < 0) {
            this.pos--;
            this.unexpected(h, 'expected a hex-digit for character escape sequence');
          }
          code = code * 16 + digit;
        }
        return String.fromCharCode(code);
      }
      default:
        this.fail(`Unrecognized character escape ${charDescription(c)}`);
    }
  }

  private skipWhitespace(): number {
    const src = this.src;
    while (this.pos < src.length) {
      const c = src.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09) {
        this.pos++;
      } else if (c === 0x0a) {
        this.pos++;
        this.line++;
        this.rowStart = this.pos;
      } else if (c === 0x0d) {
        this.pos++;
        if (src.charCodeAt(this.pos) === 0x0a) this.pos++;
        this.line++;
        this.rowStart = this.pos;
      } else {
        return c;
      }
    }
    return -1;
  }

  /** Error about the character at the current position (Jackson points at the character). */
  private unexpected(c: number, comment: string): never {
    this.fail(`Unexpected character (${charDescription(c)}): ${comment}`);
  }

  private unexpectedInNumber(c: number, comment: string): never {
    this.fail(`Unexpected character (${charDescription(c)}) in numeric value: ${comment}`);
  }

  private fail(message: string): never {
    throw new JsonSyntaxError(`${message}\n at ${this.location()}`);
  }

  private describe(line: number, column: number): string {
    // Jackson quotes at most 500 characters of the source in its locations.
    const snippet = this.src.length > 500 ? `"${this.src.slice(0, 500)}"[truncated ${this.src.length - 500} chars]` : `"${this.src}"`;
    return `[Source: (String)${snippet}; line: ${line}, column: ${column}]`;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Jackson's `_getCharDesc`. */
function charDescription(c: number): string {
  if (c < 0x20) return `(CTRL-CHAR, code ${c})`;
  const ch = String.fromCharCode(c);
  if (c > 255) return `'${ch}' (code ${c} / 0x${c.toString(16)})`;
  return `'${ch}' (code ${c})`;
}

// ---------------------------------------------------------------------------------------------
// Compiled value patterns
// ---------------------------------------------------------------------------------------------

/** A leaf value of a flattened event. */
type Leaf = string | number | boolean | null;

/** A `*` glob split at its unescaped stars; `segments.length === 1` means no star. */
interface Glob {
  segments: string[];
}

type ValuePattern =
  | { kind: 'exact-string'; value: string }
  | { kind: 'exact-number'; value: number }
  | { kind: 'exact-literal'; value: boolean | null }
  | { kind: 'ip'; low: Uint8Array; high: Uint8Array }
  | { kind: 'prefix'; value: string; ignoreCase: boolean }
  | { kind: 'suffix'; value: string; ignoreCase: boolean }
  | { kind: 'equals-ignore-case'; value: string }
  | { kind: 'wildcard'; source: string; glob: Glob }
  | { kind: 'numeric'; lower: number; lowerOpen: boolean; upper: number; upperOpen: boolean }
  | { kind: 'exists'; present: boolean }
  | { kind: 'anything-but'; strings: string[]; numbers: number[] }
  | { kind: 'anything-but-prefix'; values: string[] }
  | { kind: 'anything-but-suffix'; values: string[] }
  | { kind: 'anything-but-ignore-case'; values: string[] }
  | { kind: 'anything-but-wildcard'; sources: string[]; globs: Glob[] };

/** The value list of one field of one sub-rule; shared by the sub-rules an `$or` forks. */
interface FieldSpec {
  patterns: ValuePattern[];
  /** Canonical text of the list: equal lists lead to the same event-ruler name state. */
  key: string;
}

type SubRule = Map<string, FieldSpec>;

// ---------------------------------------------------------------------------------------------
// The compiler: event-ruler's JsonRuleCompiler, token for token
// ---------------------------------------------------------------------------------------------

class PatternCompiler {
  private readonly reader: TokenReader;
  private readonly locateTopLevelError: boolean;

  constructor(reader: TokenReader, locateTopLevelError: boolean) {
    this.reader = reader;
    this.locateTopLevelError = locateTopLevelError;
  }

  compile(): SubRule[] {
    const rules: SubRule[] = [];
    if (this.next() !== 'START_OBJECT') {
      // AWS keeps Jackson's location on this one message when the pattern came as text.
      this.barf(this.locateTopLevelError ? `Filter is not an object\n at ${this.reader.location()}` : 'Filter is not an object');
    }
    this.parseObject(rules, [], false);
    return rules;
  }

  private next(): Token | null {
    return this.reader.next();
  }

  private barf(reason: string): never {
    throw new InvalidEventPatternError(reason);
  }

  private parseObject(rules: SubRule[], path: string[], insideOr: boolean): void {
    let fieldsPresent = false;
    while (this.next() !== 'END_OBJECT') {
      fieldsPresent = true;
      const name = this.reader.text;
      if (name === '$or') {
        this.parseOr(rules, path);
        continue;
      }
      if (insideOr && RESERVED_IN_OR.has(name)) {
        this.barf(`${name} is Ruler reserved fieldName which cannot be used inside $or.`);
      }
      const token = this.next();
      if (token === 'START_OBJECT') {
        path.push(name);
        this.parseObject(rules, path, insideOr);
        path.pop();
      } else if (token === 'START_ARRAY') {
        this.writeRules(rules, path.length === 0 ? name : `${path.join('.')}.${name}`);
      } else {
        this.barf(`"${name}" must be an object or an array`);
      }
    }
    if (!fieldsPresent) this.barf('Empty objects are not allowed');
  }

  private parseOr(rules: SubRule[], path: string[]): void {
    const current = rules.map((rule) => new Map(rule));
    rules.length = 0;
    if (this.next() !== 'START_ARRAY') this.barf('It must be an Array followed with $or.');
    let branches = 0;
    for (let token = this.next(); token !== 'END_ARRAY'; token = this.next()) {
      branches++;
      if (token !== 'START_OBJECT') this.barf('Only JSON object is allowed in array of $or relationship.');
      const branch = current.map((rule) => new Map(rule));
      if (branch.length === 0) branch.push(new Map());
      this.parseObject(branch, path, true);
      for (const rule of branch) rules.push(rule);
      if (rules.length > MAX_SUB_RULES) {
        this.barf(`Rule is too complex - $or combinations exceed the local emulator limit of ${MAX_SUB_RULES}`);
      }
    }
    if (branches < 2) this.barf('There must have at least 2 Objects in $or relationship.');
  }

  private writeRules(rules: SubRule[], name: string): void {
    const patterns: ValuePattern[] = [];
    for (let token = this.next(); token !== 'END_ARRAY'; token = this.next()) {
      switch (token) {
        case 'START_OBJECT':
          patterns.push(this.matchExpression());
          break;
        case 'STRING': {
          // event-ruler turns IP literals into a one-address range, so "::1" also matches "0:0:0:0:0:0:0:1".
          const address = parseIpLiteral(this.reader.text);
          patterns.push(
            address instanceof Uint8Array ? { kind: 'ip', low: address, high: address } : { kind: 'exact-string', value: this.reader.text },
          );
          break;
        }
        case 'NUMBER_INT':
        case 'NUMBER_FLOAT':
          patterns.push({ kind: 'exact-number', value: Number(this.reader.text) });
          break;
        case 'TRUE':
        case 'FALSE':
        case 'NULL':
          patterns.push({ kind: 'exact-literal', value: token === 'NULL' ? null : token === 'TRUE' });
          break;
        default:
          this.barf('Match value must be String, number, true, false, or null');
      }
    }
    if (patterns.length === 0) this.barf('Empty arrays are not allowed');
    const field: FieldSpec = { patterns, key: patterns.map(patternKey).join(',') };
    if (rules.length === 0) rules.push(new Map());
    // Later definitions of the same path override earlier ones, as in event-ruler.
    for (const rule of rules) rule.set(name, field);
  }

  private matchExpression(): ValuePattern {
    if (this.next() !== 'FIELD_NAME') this.barf('Match expression name not found');
    const op = this.reader.text;
    switch (op) {
      case 'exactly': {
        if (this.next() !== 'STRING') this.barf('exact match pattern must be a string');
        const value = this.reader.text;
        this.endSingleKey();
        return { kind: 'exact-string', value };
      }
      case 'prefix':
      case 'suffix': {
        const token = this.next();
        if (token === 'START_OBJECT') return this.affixIgnoreCase(op);
        if (token !== 'STRING') this.barf(`${op} match pattern must be a string`);
        const value = this.reader.text;
        this.endSingleKey();
        return { kind: op, value, ignoreCase: false };
      }
      case 'numeric': {
        if (this.next() !== 'START_ARRAY') this.barf('Value of numeric must be an array.');
        const range = this.numericExpression();
        if (this.next() !== 'END_OBJECT') this.tooManyElements();
        return range;
      }
      case 'anything-but':
        return this.anythingBut();
      case 'exists': {
        const token = this.next();
        if (token !== 'TRUE' && token !== 'FALSE') this.barf('exists match pattern must be either true or false.');
        this.endSingleKey();
        return { kind: 'exists', present: token === 'TRUE' };
      }
      case 'cidr': {
        // AWS's message for a non-string CIDR really does say "prefix".
        if (this.next() !== 'STRING') this.barf('prefix match pattern must be a string');
        const { low, high } = parseCidr(this.reader.text, (reason) => this.barf(reason));
        this.endSingleKey();
        return { kind: 'ip', low, high };
      }
      case 'equals-ignore-case': {
        if (this.next() !== 'STRING') this.barf('equals-ignore-case match pattern must be a string');
        const value = this.reader.text;
        this.endSingleKey();
        return { kind: 'equals-ignore-case', value };
      }
      case 'wildcard': {
        if (this.next() !== 'STRING') this.barf('wildcard match pattern must be a string');
        const source = this.reader.text;
        const glob = parseWildcard(source, (reason) => this.barf(reason));
        this.endSingleKey();
        return { kind: 'wildcard', source, glob };
      }
      default:
        this.barf(`Unrecognized match type ${op}`);
    }
  }

  /** `{"prefix": {"equals-ignore-case": "..."}}` and the suffix form; the inner object is open. */
  private affixIgnoreCase(op: 'prefix' | 'suffix'): ValuePattern {
    const title = op === 'prefix' ? 'Prefix' : 'Suffix';
    if (this.next() !== 'FIELD_NAME') this.barf(`${title} expression name not found`);
    if (this.reader.text !== 'equals-ignore-case') this.barf(`Unsupported ${op} pattern: ${this.reader.text}`);
    if (this.next() !== 'STRING') this.barf('equals-ignore-case match pattern must be a string');
    const value = this.reader.text;
    this.endSingleKey();
    this.endSingleKey();
    return { kind: op, value, ignoreCase: true };
  }

  private endSingleKey(): void {
    if (this.next() !== 'END_OBJECT') this.barf('Only one key allowed in match expression');
  }

  private tooManyElements(): never {
    this.barf('Too many elements in numeric expression');
  }

  private anythingBut(): ValuePattern {
    let nested: 'equals-ignore-case' | 'prefix' | 'suffix' | 'wildcard' | null = null;
    let token = this.next();
    if (token === 'START_OBJECT') {
      if (this.next() !== 'FIELD_NAME') this.barf('Anything-But expression name not found');
      const op = this.reader.text;
      if (op !== 'equals-ignore-case' && op !== 'prefix' && op !== 'suffix' && op !== 'wildcard') {
        this.barf(`Unsupported anything-but pattern: ${op}`);
      }
      nested = op;
      token = this.next();
    }
    if (token !== 'START_ARRAY' && token !== 'STRING' && token !== 'NUMBER_INT' && token !== 'NUMBER_FLOAT') {
      this.barf('Value of anything-but must be an array or single string/number value.');
    }
    const pattern = nested === null ? this.anythingButValues(token) : this.anythingButSet(nested, token);
    if (this.next() !== 'END_OBJECT') this.tooManyElements();
    if (nested !== null && this.next() !== 'END_OBJECT') this.tooManyElements();
    return pattern;
  }

  /** Plain anything-but: one string or number, or a list of only strings or only numbers. */
  private anythingButValues(first: Token): ValuePattern {
    const strings: string[] = [];
    const numbers: number[] = [];
    if (first === 'START_ARRAY') {
      for (let token = this.next(); token !== 'END_ARRAY'; token = this.next()) {
        if (token === 'STRING') strings.push(this.reader.text);
        else if (token === 'NUMBER_INT' || token === 'NUMBER_FLOAT') numbers.push(this.comparableNumber(Number(this.reader.text)));
        else this.barf('Inside anything but list, start|null|boolean is not supported.');
      }
      if (strings.length > 0 === numbers.length > 0) {
        this.barf('Inside anything but list, either all values are number or string, mixed type is not supported');
      }
    } else if (first === 'STRING') {
      strings.push(this.reader.text);
    } else {
      numbers.push(this.comparableNumber(Number(this.reader.text)));
    }
    return { kind: 'anything-but', strings, numbers };
  }

  /** anything-but with a nested equals-ignore-case, prefix, suffix or wildcard. */
  private anythingButSet(op: 'equals-ignore-case' | 'prefix' | 'suffix' | 'wildcard', first: Token): ValuePattern {
    const values: string[] = [];
    const wrongType =
      op === 'equals-ignore-case'
        ? 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.'
        : op === 'wildcard'
          ? 'wildcard match pattern must be a string'
          : 'prefix/suffix match pattern must be a string';
    const take = (token: Token | null): void => {
      if (token !== 'STRING') this.barf(wrongType);
      if ((op === 'prefix' || op === 'suffix') && this.reader.text === '') this.barf('Null prefix/suffix not allowed');
      values.push(this.reader.text);
    };
    if (first === 'START_ARRAY') {
      for (let token = this.next(); token !== 'END_ARRAY'; token = this.next()) take(token);
    } else {
      take(first);
    }
    switch (op) {
      case 'equals-ignore-case':
        return { kind: 'anything-but-ignore-case', values };
      case 'prefix':
        return { kind: 'anything-but-prefix', values };
      case 'suffix':
        return { kind: 'anything-but-suffix', values };
      case 'wildcard':
        return {
          kind: 'anything-but-wildcard',
          sources: values,
          globs: values.map((value) => parseWildcard(value, (reason) => this.barf(reason))),
        };
    }
  }

  /** event-ruler's ComparableNumber accepts only [-5e9, 5e9]. */
  private comparableNumber(value: number): number {
    if (!(value >= -NUMERIC_LIMIT && value <= NUMERIC_LIMIT)) this.barf(NUMERIC_LIMIT_MESSAGE);
    return value;
  }

  /** The body of `{"numeric": [...]}`; the array is open. */
  private numericExpression(): ValuePattern {
    if (this.next() !== 'STRING') this.barf(`Invalid member in numeric match: ${this.reader.text}`);
    const op = this.reader.text;
    const operand = (label: string): number => {
      const token = this.next();
      if (token !== 'NUMBER_INT' && token !== 'NUMBER_FLOAT') this.barf(`Value of ${label} must be numeric`);
      return Number(this.reader.text);
    };
    switch (op) {
      case '=': {
        const value = operand('equals');
        if (this.next() !== 'END_ARRAY') this.tooManyElements();
        this.comparableNumber(value);
        return { kind: 'numeric', lower: value, lowerOpen: false, upper: value, upperOpen: false };
      }
      case '>':
      case '>=': {
        const bottom = operand(op);
        const token = this.next();
        if (token === 'END_ARRAY') return this.range(bottom, op === '>', NUMERIC_LIMIT, false);
        if (token !== 'STRING') this.barf(`Bad value in numeric range: ${this.reader.text}`);
        const upperOp = this.reader.text;
        if (upperOp !== '<' && upperOp !== '<=') this.barf(`Bad numeric range operator: ${upperOp}`);
        const top = operand(upperOp);
        if (this.next() !== 'END_ARRAY') this.barf('Too many terms in numeric range expression');
        return this.range(bottom, op === '>', top, upperOp === '<');
      }
      case '<':
      case '<=': {
        const top = operand(op);
        if (this.next() !== 'END_ARRAY') this.tooManyElements();
        return this.range(-NUMERIC_LIMIT, false, top, op === '<');
      }
      default:
        this.barf(`Unrecognized numeric range operator: ${op}`);
    }
  }

  /** event-ruler's Range: the order of these checks decides which message AWS returns. */
  private range(lower: number, lowerOpen: boolean, upper: number, upperOpen: boolean): ValuePattern {
    if (!(lower < upper)) this.barf('Bottom must be less than top');
    this.comparableNumber(lower);
    this.comparableNumber(upper);
    return { kind: 'numeric', lower, lowerOpen, upper, upperOpen };
  }
}

/** Canonical text of one pattern, used to group fields the way event-ruler shares machines. */
function patternKey(pattern: ValuePattern): string {
  switch (pattern.kind) {
    case 'ip':
      return `ip:${hex(pattern.low)}-${hex(pattern.high)}`;
    case 'wildcard':
      return `wildcard:${JSON.stringify(pattern.source)}`;
    case 'anything-but-wildcard':
      return `anything-but-wildcard:${JSON.stringify(pattern.sources)}`;
    default:
      return JSON.stringify(pattern);
  }
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Wildcards
// ---------------------------------------------------------------------------------------------

/** One character of a wildcard value as event-ruler sees it: a UTF-8 byte, or the wildcard. */
const WILDCARD = -1;

/**
 * event-ruler's WildcardParser over the quoted value (`"` + text + `"`), which is why positions
 * count from the opening quote and a trailing backslash is an invalid escape. Positions are UTF-8
 * byte offsets, as in AWS's messages.
 */
function wildcardCharacters(source: string, barf: (reason: string) => never): number[] {
  const bytes = new TextEncoder().encode(`"${source}"`);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === 0x2a) {
      if (bytes[i + 1] === 0x2a) barf(`Consecutive wildcard characters at pos ${i}`);
      out.push(WILDCARD);
    } else if (b === 0x5c) {
      const nextByte = bytes[i + 1];
      if (nextByte !== 0x2a && nextByte !== 0x5c) barf(`Invalid escape character at pos ${i}`);
      out.push(nextByte);
      i++;
    } else {
      out.push(b);
    }
  }
  return out;
}

function parseWildcard(source: string, barf: (reason: string) => never): Glob {
  wildcardCharacters(source, barf);
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < source.length; i++) {
    const ch = source[i] as string;
    if (ch === '\\') {
      current += source[i + 1] as string;
      i++;
    } else if (ch === '*') {
      segments.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  segments.push(current);
  return { segments };
}

/** Linear glob match: anchored first and last segments, middle segments leftmost-first. */
function globMatches(glob: Glob, value: string): boolean {
  const segments = glob.segments;
  const first = segments[0] as string;
  if (segments.length === 1) return value === first;
  const last = segments[segments.length - 1] as string;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let position = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const segment = segments[i] as string;
    const found = value.indexOf(segment, position);
    if (found < 0 || found + segment.length > end) return false;
    position = found + segment.length;
  }
  return true;
}

/** A state of the emulated byte machine (an NFA over UTF-8 bytes). */
interface ByteState {
  id: number;
  kind: 'state';
  indeterminate: boolean;
  byByte: Map<number, Set<Single>>;
  allBytes: Set<Single>;
}

/** A transition that completes a pattern. */
interface ByteMatch {
  id: number;
  kind: 'match';
  key: string;
  /** Only wildcard matches count towards complexity; anything-but wildcards shape the machine. */
  counted: boolean;
}

type Single = ByteState | ByteMatch;

/**
 * An emulation of the part of event-ruler's ByteMachine that wildcard values build: its state
 * re-use and wildcard transitions decide how many states a worst-case value keeps alive, which
 * is what AWS limits.
 */
class WildcardMachine {
  private nextId = 0;
  readonly start: ByteState = this.newState(false);
  private readonly added = new Set<string>();
  hasCounted = false;

  private newState(indeterminate: boolean): ByteState {
    return { id: this.nextId++, kind: 'state', indeterminate, byByte: new Map(), allBytes: new Set() };
  }

  add(source: string, counted: boolean): void {
    const key = `${counted ? 'w' : 'n'}:${source}`;
    if (this.added.has(key)) return;
    this.added.add(key);
    if (counted) this.hasCounted = true;
    // Validated already at compile time, so the barf callback never runs.
    const chars = wildcardCharacters(source, (reason) => {
      throw new InvalidEventPatternError(reason);
    });
    const n = chars.length;
    let state = this.start;
    let prev: ByteState | null = null;
    let i = 0;
    for (; i < n - 1; i++) {
      const candidates = transitionsOn(state, chars[i] as number);
      let reuse: ByteState | null = null;
      for (const single of candidates) {
        if (single.kind === 'state' && this.canReuse(state, single, chars, i)) {
          reuse = single;
          break;
        }
      }
      if (reuse === null) break;
      prev = state;
      state = reuse;
    }
    let j = i;
    for (; j < n - 1; j++) {
      if (j === n - 2 && chars[j + 1] === WILDCARD) break;
      const next = preferredNextState(transitionsOn(state, chars[j] as number));
      if (next === null || next.indeterminate) break;
      prev = state;
      state = next;
    }
    for (; j < n - 1; j++) {
      const ch = chars[j] as number;
      let next = preferredNextState(transitionsOn(state, ch));
      if (next === null || next.indeterminate || (j === n - 2 && chars[j + 1] === WILDCARD)) {
        next = this.newState(state.indeterminate);
        if (ch === WILDCARD) {
          next.allBytes.add(next);
          next.indeterminate = true;
          state.allBytes.add(next);
        } else {
          addTransition(state, ch, next);
          if (prev !== null && chars[j - 1] === WILDCARD) addTransition(prev, ch, next);
        }
      }
      prev = state;
      state = next;
    }
    const last = chars[n - 1] as number;
    for (const single of transitionsOn(state, last)) if (single.kind === 'match' && single.key === key) return;
    const match: ByteMatch = { id: this.nextId++, kind: 'match', key, counted };
    addTransition(state, last, match);
    if (prev !== null && chars[n - 2] === WILDCARD) addTransition(prev, last, match);
  }

  private canReuse(state: ByteState, next: ByteState, chars: number[], i: number): boolean {
    if (next === state) return false;
    if (!next.indeterminate) return !(i === chars.length - 2 && chars[i + 1] === WILDCARD);
    return !convergingTransitions(state, chars, i);
  }
}

function transitionsOn(state: ByteState, ch: number): Set<Single> {
  if (ch === WILDCARD) return state.allBytes;
  const specific = state.byByte.get(ch);
  if (specific === undefined) return state.allBytes;
  if (state.allBytes.size === 0) return specific;
  return new Set([...specific, ...state.allBytes]);
}

/** CompoundByteTransition.getNextByteState: prefer a state with a determinate prefix. */
function preferredNextState(singles: Set<Single>): ByteState | null {
  let first: ByteState | null = null;
  for (const single of singles) {
    if (single.kind !== 'state') continue;
    if (!single.indeterminate) return single;
    first ??= single;
  }
  return first;
}

function addTransition(state: ByteState, ch: number, single: Single): void {
  let set = state.byByte.get(ch);
  if (set === undefined) {
    set = new Set();
    state.byByte.set(ch, set);
  }
  set.add(single);
}

/** ByteMachine.doMultipleTransitionsConvergeForInputByte, for byte and wildcard characters. */
function convergingTransitions(state: ByteState, chars: number[], i: number): boolean {
  const b = chars[i] as number;
  if (b === WILDCARD || (b >= 0x80 && b <= 0xbf)) return false;
  for (const single of state.allBytes) if (single !== state) return true;
  const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  const bytes = chars.slice(i, i + length);
  if (bytes.some((x) => x === WILDCARD)) return false;
  const ch = new TextDecoder().decode(new Uint8Array(bytes));
  // event-ruler asks whether the character has distinct case forms (its equals-ignore-case parser).
  return ch.toLowerCase() !== ch.toUpperCase();
}

/**
 * event-ruler's MachineComplexityEvaluator on the emulated machine: the largest number of
 * (state, wildcard pattern) pairs a single input prefix can keep alive, counting also the
 * wildcard states one step away. Stops early once `cap` is reached.
 */
function wildcardComplexity(machine: WildcardMachine, cap: number): number {
  const singles: Single[] = [];
  const seen = new Set<Single>();
  const stack: Single[] = [machine.start];
  while (stack.length > 0) {
    const single = stack.pop() as Single;
    if (seen.has(single)) continue;
    seen.add(single);
    singles.push(single);
    if (single.kind === 'state') {
      for (const next of single.allBytes) stack.push(next);
      for (const set of single.byByte.values()) for (const next of set) stack.push(next);
    }
  }
  // Transitions only ever point to newer singles (or to themselves), so reverse creation order
  // is a valid order for accumulating the patterns reachable from each single.
  singles.sort((a, b) => b.id - a.id);
  const reachable = new Map<Single, Set<string>>();
  for (const single of singles) {
    const keys = new Set<string>();
    if (single.kind === 'match') {
      if (single.counted) keys.add(single.key);
    } else {
      const children = [...single.allBytes];
      for (const set of single.byByte.values()) children.push(...set);
      for (const child of children) {
        if (child === single) continue;
        for (const key of reachable.get(child) ?? []) keys.add(key);
      }
    }
    reachable.set(single, keys);
  }
  const weight = (single: Single): number => reachable.get(single)?.size ?? 0;

  const visited = new Set<string>([String(machine.start.id)]);
  const queue: Set<Single>[] = successorSets([machine.start]);
  let maximum = 0;
  // A bound on exploration; realistic values hit the cap or finish long before.
  for (let explored = 0; queue.length > 0 && explored < 100_000; explored++) {
    const current = queue.shift() as Set<Single>;
    const key = setKey(current);
    if (visited.has(key)) continue;
    visited.add(key);
    let size = 0;
    for (const single of current) {
      size += weight(single);
      if (single.kind === 'state') {
        for (const next of single.allBytes) if (!current.has(next)) size += weight(next);
      }
    }
    if (size >= cap) return cap;
    maximum = Math.max(maximum, size);
    const states: ByteState[] = [];
    for (const single of current) if (single.kind === 'state') states.push(single);
    if (states.length > 0) queue.push(...successorSets(states));
  }
  return maximum;
}

/** The distinct sets of singles the given states reach on one byte, over all byte values. */
function successorSets(states: ByteState[]): Set<Single>[] {
  const bytes = new Set<number>();
  for (const state of states) for (const b of state.byByte.keys()) bytes.add(b);
  let other = 0;
  while (bytes.has(other)) other++;
  const alphabet = [...bytes];
  if (other < 256) alphabet.push(other);
  const out = new Map<string, Set<Single>>();
  for (const b of alphabet) {
    const union = new Set<Single>();
    for (const state of states) for (const single of transitionsOn(state, b)) union.add(single);
    if (union.size > 0) {
      const key = setKey(union);
      if (!out.has(key)) out.set(key, union);
    }
  }
  return [...out.values()];
}

function setKey(singles: Set<Single>): string {
  return [...singles]
    .map((single) => single.id)
    .sort((a, b) => a - b)
    .join(',');
}

/**
 * Builds one emulated machine per (name state, field) the way event-ruler lays sub-rules out:
 * fields in key order, sub-rules sharing a machine while their preceding fields are equal.
 * @throws InvalidEventPatternError when a machine is too complex for AWS.
 */
function checkWildcardComplexity(rules: SubRule[]): void {
  const machines = new Map<string, WildcardMachine>();
  for (const rule of rules) {
    let prefix = '';
    for (const path of [...rule.keys()].sort()) {
      const field = rule.get(path) as FieldSpec;
      for (const pattern of field.patterns) {
        if (pattern.kind !== 'wildcard' && pattern.kind !== 'anything-but-wildcard') continue;
        const machineKey = `${prefix}|${path}`;
        let machine = machines.get(machineKey);
        if (machine === undefined) {
          machine = new WildcardMachine();
          machines.set(machineKey, machine);
        }
        if (pattern.kind === 'wildcard') machine.add(pattern.source, true);
        else for (const source of pattern.sources) machine.add(source, false);
      }
      prefix += `${JSON.stringify(path)}=${field.key};`;
    }
  }
  for (const machine of machines.values()) {
    if (machine.hasCounted && wildcardComplexity(machine, MAX_WILDCARD_COMPLEXITY + 1) > MAX_WILDCARD_COMPLEXITY) {
      throw new InvalidEventPatternError(TOO_COMPLEX_MESSAGE);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// IP addresses and CIDR blocks (event-ruler's CIDR class)
// ---------------------------------------------------------------------------------------------

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;

/**
 * Parses an IPv4 or IPv6 literal as Java's InetAddress does for the shapes event-ruler lets
 * through. Returns 'nonstandard' when the text is not IP-shaped, 'invalid' when it is but does
 * not parse. IPv4-mapped IPv6 addresses become IPv4, as in Java.
 */
function parseIpLiteral(text: string): Uint8Array | 'nonstandard' | 'invalid' {
  if (IPV4_SHAPE.test(text)) {
    const parts = text.split('.');
    const out = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      const part = parts[i] as string;
      // Modern JDKs refuse octal-looking leading zeros as ambiguous.
      if (part.length > 3 || (part.length > 1 && part.startsWith('0'))) return 'invalid';
      const value = Number(part);
      if (value > 255) return 'invalid';
      out[i] = value;
    }
    return out;
  }
  if (!IPV6_SHAPE.test(text)) return 'nonstandard';
  const halves = text.split('::');
  if (halves.length > 2) return 'invalid';
  const groups = (half: string): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    for (const group of half.split(':')) {
      if (group.length === 0 || group.length > 4) return null;
      out.push(Number.parseInt(group, 16));
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (head === null || tail === null) return 'invalid';
  const words: number[] = [];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return 'invalid';
    words.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    if (head.length !== 8) return 'invalid';
    words.push(...head);
  }
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

/**
 * event-ruler's CIDR.cidr. The range runs from the given address (not masked down to the
 * network address) to the address with all host bits set, both inclusive, as in event-ruler.
 */
function parseCidr(text: string, barf: (reason: string) => never): { low: Uint8Array; high: Uint8Array } {
  const slashed = javaSplit(text, '/');
  if (slashed.length !== 2) barf("Malformed CIDR, one '/' required");
  const maskText = slashed[1] as string;
  const maskBits = /^[+-]?\d+$/.test(maskText) ? Number(maskText) : Number.NaN;
  if (!Number.isInteger(maskBits) || maskBits > 2147483647 || maskBits < -2147483648) barf('Malformed CIDR, mask bits must be an integer');
  if (maskBits < 0) barf('Malformed CIDR, mask bits must not be negative');
  const ipText = slashed[0] as string;
  const ip = parseIpLiteral(ipText);
  if (ip === 'nonstandard') barf(`Nonstandard IP address: ${ipText}`);
  if (ip === 'invalid') barf(`Invalid IP address: ${ipText}`);
  if (ip.length === 4 && maskBits > 31) barf('IPv4 mask bits must be < 32');
  if (ip.length === 16 && maskBits > 127) barf('IPv6 mask bits must be < 128');
  const high = new Uint8Array(ip.length);
  let hostBits = ip.length * 8 - maskBits;
  for (let i = ip.length - 1; i >= 0; i--) {
    const base = ip[i] as number;
    high[i] = hostBits >= 8 ? 0xff : hostBits <= 0 ? base : base | ((1 << hostBits) - 1);
    hostBits -= 8;
  }
  return { low: ip, high };
}

/** Java's String.split: trailing empty strings are dropped. */
function javaSplit(text: string, separator: string): string[] {
  const parts = text.split(separator);
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 1 && parts[0] === '' && text.length > 0) return [];
  return parts;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const diff = (a[i] as number) - (b[i] as number);
    if (diff !== 0) return diff;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

type LeafTest = (value: Leaf) => boolean;

interface CompiledField {
  path: string;
  /** True if any value at the path must satisfy `test`; false when only exists:false was given. */
  hasValueTests: boolean;
  /** `{"exists": false}` is among the alternatives. */
  allowAbsent: boolean;
  test: LeafTest;
}

interface CompiledRule {
  fields: CompiledField[];
}

/** Array membership of a leaf: the array element it sits in, and the enclosing ones. */
interface ArrayScope {
  id: number;
  index: number;
  parent: ArrayScope | null;
}

interface FlatField {
  values: Leaf[];
  scopes: (ArrayScope | null)[];
}

function lowerUpper(values: string[]): { lower: Set<string>; upper: Set<string> } {
  return { lower: new Set(values.map((v) => v.toLowerCase())), upper: new Set(values.map((v) => v.toUpperCase())) };
}

/** Folds a field's alternatives into one test, with sets for exact and case-insensitive values. */
function compileField(path: string, spec: FieldSpec): CompiledField {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  let matchTrue = false;
  let matchFalse = false;
  let matchNull = false;
  let anyValue = false;
  let allowAbsent = false;
  let hasValueTests = false;
  const ignoreCase: string[] = [];
  const ipRanges: { low: Uint8Array; high: Uint8Array }[] = [];
  const others: LeafTest[] = [];

  for (const pattern of spec.patterns) {
    if (pattern.kind === 'exists' && !pattern.present) {
      allowAbsent = true;
      continue;
    }
    hasValueTests = true;
    switch (pattern.kind) {
      case 'exact-string':
        strings.add(pattern.value);
        break;
      case 'exact-number':
        numbers.add(pattern.value);
        break;
      case 'exact-literal':
        if (pattern.value === null) matchNull = true;
        else if (pattern.value) matchTrue = true;
        else matchFalse = true;
        break;
      case 'exists':
        anyValue = true;
        break;
      case 'equals-ignore-case':
        ignoreCase.push(pattern.value);
        break;
      case 'ip':
        ipRanges.push(pattern);
        break;
      case 'prefix': {
        const { value } = pattern;
        if (pattern.ignoreCase) {
          const lower = value.toLowerCase();
          const upper = value.toUpperCase();
          others.push((v) => typeof v === 'string' && (v.toLowerCase().startsWith(lower) || v.toUpperCase().startsWith(upper)));
        } else {
          others.push((v) => typeof v === 'string' && v.startsWith(value));
        }
        break;
      }
      case 'suffix': {
        const { value } = pattern;
        if (pattern.ignoreCase) {
          const lower = value.toLowerCase();
          const upper = value.toUpperCase();
          others.push((v) => typeof v === 'string' && (v.toLowerCase().endsWith(lower) || v.toUpperCase().endsWith(upper)));
        } else {
          others.push((v) => typeof v === 'string' && v.endsWith(value));
        }
        break;
      }
      case 'wildcard': {
        const { glob } = pattern;
        others.push((v) => typeof v === 'string' && globMatches(glob, v));
        break;
      }
      case 'numeric': {
        const { lower, lowerOpen, upper, upperOpen } = pattern;
        // Bounds never exceed ±5e9, so values outside AWS's numeric range cannot match.
        others.push((v) => typeof v === 'number' && (lowerOpen ? v > lower : v >= lower) && (upperOpen ? v < upper : v <= upper));
        break;
      }
      case 'anything-but': {
        const excludedStrings = new Set(pattern.strings);
        const excludedNumbers = new Set(pattern.numbers);
        // Values of another type (null, booleans, numbers vs strings) are never excluded.
        others.push((v) => !(typeof v === 'string' ? excludedStrings.has(v) : typeof v === 'number' && excludedNumbers.has(v)));
        break;
      }
      case 'anything-but-prefix': {
        const { values } = pattern;
        others.push((v) => typeof v !== 'string' || !values.some((p) => v.startsWith(p)));
        break;
      }
      case 'anything-but-suffix': {
        const { values } = pattern;
        others.push((v) => typeof v !== 'string' || !values.some((s) => v.endsWith(s)));
        break;
      }
      case 'anything-but-ignore-case': {
        const { lower, upper } = lowerUpper(pattern.values);
        others.push((v) => typeof v !== 'string' || !(lower.has(v.toLowerCase()) || upper.has(v.toUpperCase())));
        break;
      }
      case 'anything-but-wildcard': {
        const { globs } = pattern;
        others.push((v) => typeof v !== 'string' || !globs.some((glob) => globMatches(glob, v)));
        break;
      }
    }
  }

  if (ignoreCase.length > 0) {
    const { lower, upper } = lowerUpper(ignoreCase);
    others.push((v) => typeof v === 'string' && (lower.has(v.toLowerCase()) || upper.has(v.toUpperCase())));
  }
  if (ipRanges.length > 0) {
    others.push((v) => {
      if (typeof v !== 'string') return false;
      const address = parseIpLiteral(v);
      if (!(address instanceof Uint8Array)) return false;
      return ipRanges.some(
        ({ low, high }) => low.length === address.length && compareBytes(address, low) >= 0 && compareBytes(address, high) <= 0,
      );
    });
  }

  const hasStrings = strings.size > 0;
  const hasNumbers = numbers.size > 0;
  const test: LeafTest = (v) => {
    if (anyValue) return true;
    switch (typeof v) {
      case 'string':
        if (hasStrings && strings.has(v)) return true;
        break;
      case 'number':
        if (hasNumbers && numbers.has(v)) return true;
        break;
      case 'boolean':
        if (v ? matchTrue : matchFalse) return true;
        break;
      default:
        if (matchNull) return true;
    }
    for (const other of others) if (other(v)) return true;
    return false;
  };
  return { path, hasValueTests, allowAbsent, test };
}

class CompiledPattern {
  private readonly rules: CompiledRule[];
  /** Every dotted prefix of every pattern path: event branches outside these are skipped. */
  private readonly relevant = new Set<string>();
  /** Array scopes matter only when a sub-rule constrains two or more fields. */
  private readonly trackScopes: boolean;

  constructor(subRules: SubRule[]) {
    const fieldCache = new Map<FieldSpec, Map<string, CompiledField>>();
    this.rules = subRules.map((rule) => ({
      fields: [...rule.entries()].map(([path, spec]) => {
        let byPath = fieldCache.get(spec);
        if (byPath === undefined) {
          byPath = new Map();
          fieldCache.set(spec, byPath);
        }
        let field = byPath.get(path);
        if (field === undefined) {
          field = compileField(path, spec);
          byPath.set(path, field);
        }
        return field;
      }),
    }));
    for (const rule of this.rules) {
      for (const { path } of rule.fields) {
        for (let i = path.indexOf('.'); i >= 0; i = path.indexOf('.', i + 1)) this.relevant.add(path.slice(0, i));
        this.relevant.add(path);
      }
    }
    this.trackScopes = this.rules.some((rule) => rule.fields.length > 1);
  }

  matches(event: unknown): boolean {
    if (typeof event === 'string') {
      try {
        event = JSON.parse(event);
      } catch {
        return false;
      }
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
    const flat = new Map<string, FlatField>();
    const hasArrays = this.flatten(event as Record<string, unknown>, null, null, flat, { arrays: 0 });
    for (const rule of this.rules) if (matchRule(rule, flat, hasArrays)) return true;
    return false;
  }

  /** Records the leaves under relevant paths; returns whether any recorded leaf sits in an array. */
  private flatten(
    object: Record<string, unknown>,
    prefix: string | null,
    scope: ArrayScope | null,
    out: Map<string, FlatField>,
    counter: { arrays: number },
  ): boolean {
    let inArray = false;
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      const path = prefix === null ? key : `${prefix}.${key}`;
      if (!this.relevant.has(path)) continue;
      if (this.visit(object[key], path, scope, out, counter)) inArray = true;
    }
    return inArray;
  }

  private visit(value: unknown, path: string, scope: ArrayScope | null, out: Map<string, FlatField>, counter: { arrays: number }): boolean {
    if (Array.isArray(value)) {
      const id = ++counter.arrays;
      let inArray = false;
      for (let i = 0; i < value.length; i++) {
        const elementScope = this.trackScopes ? { id, index: i, parent: scope } : null;
        if (this.visit(value[i], path, elementScope, out, counter)) inArray = true;
      }
      return inArray;
    }
    if (typeof value === 'object' && value !== null) return this.flatten(value as Record<string, unknown>, path, scope, out, counter);
    let leaf: Leaf;
    switch (typeof value) {
      case 'string':
      case 'number':
      case 'boolean':
        leaf = value;
        break;
      case 'bigint':
        leaf = Number(value);
        break;
      case 'object':
        leaf = null;
        break;
      default:
        // undefined, functions and symbols are absent in JSON.
        return false;
    }
    let field = out.get(path);
    if (field === undefined) {
      field = { values: [], scopes: [] };
      out.set(path, field);
    }
    field.values.push(leaf);
    field.scopes.push(scope);
    return scope !== null;
  }
}

function matchRule(rule: CompiledRule, flat: Map<string, FlatField>, hasArrays: boolean): boolean {
  const constrained: ArrayScope[][] = [];
  for (const field of rule.fields) {
    const values = flat.get(field.path);
    if (values === undefined || values.values.length === 0) {
      if (field.allowAbsent) continue;
      return false;
    }
    if (!field.hasValueTests) return false;
    if (!hasArrays) {
      let found = false;
      for (const value of values.values) {
        if (field.test(value)) {
          found = true;
          break;
        }
      }
      if (!found) return false;
      continue;
    }
    const scopes: ArrayScope[] = [];
    let unconstrained = false;
    for (let i = 0; i < values.values.length; i++) {
      if (!field.test(values.values[i] as Leaf)) continue;
      const scope = values.scopes[i] ?? null;
      if (scope === null) {
        unconstrained = true;
        break;
      }
      scopes.push(scope);
    }
    if (unconstrained) continue;
    if (scopes.length === 0) return false;
    constrained.push(scopes);
  }
  if (constrained.length < 2) return true;
  constrained.sort((a, b) => a.length - b.length);
  return consistentChoice(constrained, 0, new Map());
}

/**
 * Picks one matching leaf per field so that no two come from different elements of the same
 * array (event-ruler's array consistency).
 */
function consistentChoice(fields: ArrayScope[][], k: number, assigned: Map<number, number>): boolean {
  const candidates = fields[k];
  if (candidates === undefined) return true;
  for (const candidate of candidates) {
    const added: number[] = [];
    let compatible = true;
    for (let scope: ArrayScope | null = candidate; scope !== null; scope = scope.parent) {
      const index = assigned.get(scope.id);
      if (index === undefined) {
        assigned.set(scope.id, scope.index);
        added.push(scope.id);
      } else if (index !== scope.index) {
        compatible = false;
        break;
      }
    }
    if (compatible && consistentChoice(fields, k + 1, assigned)) return true;
    for (const id of added) assigned.delete(id);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

function compileToRules(pattern: unknown): SubRule[] {
  let text: string | undefined;
  const fromText = typeof pattern === 'string';
  if (fromText) {
    text = pattern;
  } else {
    try {
      text = JSON.stringify(pattern);
    } catch (error) {
      throw new InvalidEventPatternError(`Filter is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (text === undefined) throw new InvalidEventPatternError('Filter is not an object');
  }
  try {
    const rules = new PatternCompiler(new TokenReader(text), fromText).compile();
    checkWildcardComplexity(rules);
    return rules;
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new InvalidEventPatternError(error.message);
    throw error;
  }
}

/**
 * Checks a pattern as EventBridge does on PutRule and TestEventPattern.
 *
 * A string is taken as the pattern's JSON text (as the AWS API receives it); any other value
 * is taken as the parsed pattern.
 *
 * @example
 * validateEventPattern('{"source": [{"prefix": "aws."}]}');
 * @throws InvalidEventPatternError with AWS's message when EventBridge would reject the pattern.
 */
export function validateEventPattern(pattern: unknown): void {
  compileToRules(pattern);
}

/**
 * Validates a pattern once and returns a matcher for events.
 *
 * The pattern is a JSON string (as in the AWS API) or an already parsed value. The matcher takes
 * an event object (or its JSON text) and returns false for anything that is not a JSON object.
 *
 * @example
 * const matches = compileEventPattern({ source: ['orders'], detail: { total: [{ numeric: ['>', 100] }] } });
 * matches({ source: 'orders', detail: { total: 250 } }); // true
 * @throws InvalidEventPatternError with AWS's message when EventBridge would reject the pattern.
 */
export function compileEventPattern(pattern: unknown): EventPatternMatcher {
  const compiled = new CompiledPattern(compileToRules(pattern));
  return (event) => compiled.matches(event);
}

const textPatternCache = new Map<string, EventPatternMatcher>();

/**
 * One-off form of {@link compileEventPattern}: whether `event` matches `pattern`. Patterns given
 * as JSON text are cached, so repeated calls with the same text compile once.
 *
 * @throws InvalidEventPatternError with AWS's message when EventBridge would reject the pattern.
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  if (typeof pattern !== 'string') return compileEventPattern(pattern)(event);
  let matcher = textPatternCache.get(pattern);
  if (matcher === undefined) {
    matcher = compileEventPattern(pattern);
    // A small bound keeps the cache from growing with ad-hoc patterns.
    if (textPatternCache.size >= 256) textPatternCache.clear();
    textPatternCache.set(pattern, matcher);
  }
  return matcher(event);
}
