/**
 * The guest-side half of the sandbox's boundary: a script evaluated in each fresh QuickJS context
 * before the capsule's module. It takes the two host functions and the run's settings, shapes the
 * globals the capabilities allow (clock, random), and returns what the host keeps handles to:
 * `capsule` (the object passed to the entry), `encode` (value → JSON text, refusing what JSON
 * cannot carry) and `decode` (JSON text → value). It captures `JSON`, `Reflect.apply` and
 * `Promise.prototype.then` before any capsule code runs, so a module that replaces them changes only
 * its own view. Nothing here is reachable from `globalThis` except the patched `Date` and
 * `Math.random`.
 */

/** The settings the prelude reads (passed in as JSON text). */
export interface PreludeSettings {
  /** Tool names the run grants (`call:tool:<name>`). */
  tools: string[];
  /** Whether `clock` is granted; if not, `Date` is frozen at `frozenNow`. */
  clock: boolean;
  frozenNow: number;
  /** The PRNG's four 32-bit seed words when `random` is granted; `null` denies `Math.random`. */
  randomSeed: [number, number, number, number] | null;
}

/**
 * The prelude's source: one function expression, `(hostCall, hostDeny, settingsJson) =>
 * { capsule, encode, decode }`. `hostCall(name, argsJson)` returns a promise of the tool's result
 * as JSON text; `hostDeny(capability)` records a refused capability (the run then ends with
 * `capability`, whatever the guest does with the exception).
 */
export const PRELUDE_SOURCE = `(function setup(hostCall, hostDeny, settingsJson) {
  'use strict';
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const apply = Reflect.apply;
  const construct = Reflect.construct;
  const then = Promise.prototype.then;
  const reject = Promise.reject.bind(Promise);
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const settings = parse(settingsJson);

  function replacer(key, value) {
    const type = typeof value;
    if (type === 'function' || type === 'symbol') {
      throw new TypeError('a ' + type + ' is not JSON data' + (key === '' ? '' : ' (at key ' + stringify(String(key)) + ')'));
    }
    return value;
  }
  function encode(value) {
    return value === undefined ? 'null' : stringify(value, replacer);
  }

  if (!settings.clock) {
    const RealDate = Date;
    const frozen = settings.frozenNow;
    const FrozenDate = function Date(...args) {
      if (new.target === undefined) return apply(RealDate.prototype.toString, construct(RealDate, [frozen]), []);
      return construct(RealDate, args.length === 0 ? [frozen] : args, new.target);
    };
    FrozenDate.prototype = RealDate.prototype;
    defineProperty(RealDate.prototype, 'constructor', { value: FrozenDate, writable: true, enumerable: false, configurable: true });
    defineProperty(FrozenDate, 'now', { value: function now() { return frozen; }, writable: true, enumerable: false, configurable: true });
    defineProperty(FrozenDate, 'parse', { value: RealDate.parse, writable: true, enumerable: false, configurable: true });
    defineProperty(FrozenDate, 'UTC', { value: RealDate.UTC, writable: true, enumerable: false, configurable: true });
    defineProperty(globalThis, 'Date', { value: FrozenDate, writable: true, enumerable: false, configurable: true });
  }

  let random;
  if (settings.randomSeed === null) {
    random = function random() {
      hostDeny('random');
      throw new TypeError('Math.random is not granted: the manifest does not declare the random capability');
    };
  } else {
    // sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), seeded by the host.
    let a = settings.randomSeed[0] | 0, b = settings.randomSeed[1] | 0, c = settings.randomSeed[2] | 0, d = settings.randomSeed[3] | 0;
    random = function random() {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      return (t >>> 0) / 4294967296;
    };
    for (let i = 0; i < 12; i += 1) random();
  }
  defineProperty(Math, 'random', { value: random, writable: true, enumerable: false, configurable: true });

  const capsule = freeze({
    tools: freeze(settings.tools.slice()),
    callTool: function callTool(name, args) {
      let argsJson;
      try {
        argsJson = encode(args);
      } catch (error) {
        return reject(new TypeError('the arguments of tool ' + stringify(String(name)) + ' are not JSON data: ' + error.message));
      }
      return apply(then, hostCall(String(name), argsJson), [parse]);
    },
  });

  return freeze({ capsule, encode, decode: parse });
})`;
