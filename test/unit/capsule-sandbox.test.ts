/**
 * The capsule sandbox (lib/capsules/sandbox.ts): capsule code in QuickJS compiled to WebAssembly,
 * with the capabilities it is granted and nothing else. Escape attempts each end contained, with the
 * error kind that names them; the host's own objects never change. The last suite bundles the
 * sandbox as `sls package` does and runs it from a folder without node_modules.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import {
  type Capability,
  openSandbox,
  runSandboxed,
  type SandboxHost,
  type SandboxRequest,
  type SandboxResult,
  SandboxToolError,
  sealVerifiedBundle,
  type VerifiedBundle,
} from '../../lib/capsules/sandbox.ts';
import { ValidationError } from '../../lib/errors.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ALL: Capability[] = [
  'read:inputs',
  'clock',
  'random',
  'call:tool:echo',
  'call:tool:slow',
  'call:tool:broken',
  'call:tool:leaky',
  'call:tool:odd',
];

function bundleOf(code: string, capabilities: Capability[] = ALL): VerifiedBundle {
  return sealVerifiedBundle({ bundleHash: 'c'.repeat(64), code, capabilities });
}

/** Runs `export async function main(input, capsule) { <body> }` with the given grants. */
function run(body: string, options: Partial<SandboxRequest> = {}): Promise<SandboxResult> {
  return runSandboxed({
    bundle: bundleOf(`export async function main(input, capsule) {\n${body}\n}`),
    entry: 'main',
    capabilities: [],
    limits: { fuel: 400, timeoutMs: 5_000 },
    ...options,
  });
}

function expectError(result: SandboxResult, kind: string, message?: RegExp): string {
  assert.equal(result.ok, false, `expected ${kind}, got ${JSON.stringify(result)}`);
  if (result.ok) throw new Error('unreachable');
  assert.equal(result.error.kind, kind, result.error.message);
  if (message) assert.match(result.error.message, message);
  assert.doesNotMatch(result.error.message, /\n\s+at /, 'no stack trace in the message');
  return result.error.message;
}

function expectOutput(result: SandboxResult): unknown {
  assert.equal(result.ok, true, JSON.stringify(result));
  return result.ok ? result.output : undefined;
}

const echoHost: SandboxHost = {
  async callTool(name, args, { signal }) {
    if (name === 'echo') return { name, args };
    if (name === 'slow') {
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    }
    if (name === 'broken') throw new SandboxToolError('the upstream said no');
    if (name === 'leaky') throw new Error('secret connection string postgres://admin:hunter2@db');
    if (name === 'odd') return { when: new Date() };
    throw new Error(`unexpected tool ${name}`);
  },
};

describe('runSandboxed: what a capsule may do', () => {
  it('passes the input in with read:inputs and returns JSON output with usage', async () => {
    const result = await runSandboxed({
      bundle: bundleOf('export function add(input) { return { sum: input.a + input.b, list: [1, "two", null, true] }; }'),
      entry: 'add',
      input: { a: 2, b: 40 },
      capabilities: ['read:inputs'],
    });
    assert.deepEqual(expectOutput(result), { sum: 42, list: [1, 'two', null, true] });
    assert.ok(result.ok);
    assert.ok(result.usage.fuelOrInterrupts >= 1);
    assert.ok(result.usage.memoryBytes > 10_000 && result.usage.memoryBytes < 32 * 1024 * 1024, `memory ${result.usage.memoryBytes}`);
    assert.ok(result.usage.wallMs > 0);
    assert.equal(result.usage.toolCalls, 0);
  });

  it('does not show the input without read:inputs', async () => {
    assert.deepEqual(expectOutput(await run('return { type: typeof input };', { input: { secret: 1 } })), { type: 'undefined' });
  });

  it('calls a granted tool with JSON arguments, several at once, and returns its result', async () => {
    const result = await run(
      `const one = await capsule.callTool('echo', { q: input.q });
       const [a, b] = await Promise.all([capsule.callTool('echo', [1]), capsule.callTool('echo', 'two')]);
       return { one, a, b, tools: capsule.tools };`,
      { capabilities: ['read:inputs', 'call:tool:echo'], input: { q: 'hi' }, host: echoHost },
    );
    assert.deepEqual(expectOutput(result), {
      one: { name: 'echo', args: { q: 'hi' } },
      a: { name: 'echo', args: [1] },
      b: { name: 'echo', args: 'two' },
      tools: ['echo'],
    });
    assert.ok(result.ok && result.usage.toolCalls === 3);
  });

  it("passes a SandboxToolError's message to the code, and hides any other host error", async () => {
    const result = await run(
      `const seen = [];
       for (const name of ['broken', 'leaky', 'odd']) {
         try { await capsule.callTool(name, {}); } catch (error) { seen.push(error.name + ': ' + error.message); }
       }
       return seen;`,
      { capabilities: ['call:tool:broken', 'call:tool:leaky', 'call:tool:odd'], host: echoHost },
    );
    const seen = expectOutput(result) as string[];
    assert.equal(seen[0], 'ToolError: the upstream said no');
    assert.equal(seen[1], 'ToolError: tool "leaky" failed');
    assert.match(seen[2] ?? '', /^ToolError: the result of tool "odd" is not JSON data: \$\.when a Date is not JSON data/);
    assert.doesNotMatch(JSON.stringify(seen), /hunter2/);
  });

  it('refuses tool arguments that are not JSON data before the host sees them', async () => {
    let called = 0;
    const host: SandboxHost = {
      async callTool() {
        called += 1;
        return null;
      },
    };
    const message = expectError(
      await run('return await capsule.callTool("echo", { f() {} });', { capabilities: ['call:tool:echo'], host }),
      'guest',
      /arguments of tool "echo" are not JSON data: a function is not JSON data/,
    );
    assert.ok(message);
    expectError(
      await run('return await capsule.callTool("echo", JSON.parse(\'{"__proto__": {"admin": true}}\'));', {
        capabilities: ['call:tool:echo'],
        host,
      }),
      'guest',
      /__proto__ key/,
    );
    expectError(
      await run('return await capsule.callTool("echo", "x".repeat(5_000));', {
        capabilities: ['call:tool:echo'],
        host,
        limits: { maxInputBytes: 1_000 },
      }),
      'guest',
      /larger than 1000 bytes/,
    );
    assert.equal(called, 0);
  });

  it('freezes the clock without clock, and reads the host clock with it', async () => {
    const frozen = await run(
      'return [Date.now(), new Date().getTime(), new Date(5).getTime(), Date(), Date.prototype.constructor.now(), new Date() instanceof Date];',
      {
        frozenNow: 1_700_000_000_000,
      },
    );
    const values = expectOutput(frozen) as unknown[];
    assert.deepEqual(values.slice(0, 3), [1_700_000_000_000, 1_700_000_000_000, 5]);
    assert.match(String(values[3]), /2023/);
    assert.deepEqual(values.slice(4), [1_700_000_000_000, true]);
    const before = Date.now();
    const live = expectOutput(await run('return Date.now();', { capabilities: ['clock'] })) as number;
    assert.ok(live >= before && live <= Date.now(), `${live} within the host's clock`);
  });

  it('seeds Math.random with random (same seed, same numbers) and ends the run without it, even if the code catches', async () => {
    const draw = 'return [Math.random(), Math.random(), Math.random()];';
    const a = expectOutput(await run(draw, { capabilities: ['random'], randomSeed: 7 })) as number[];
    const b = expectOutput(await run(draw, { capabilities: ['random'], randomSeed: 7 })) as number[];
    const c = expectOutput(await run(draw, { capabilities: ['random'], randomSeed: 8 })) as number[];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    for (const value of a) assert.ok(value >= 0 && value < 1);
    expectError(await run('try { return Math.random(); } catch { return "caught"; }'), 'capability', /random/);
  });

  it('keeps module state between calls of one open sandbox, and spends it after a budget error', async () => {
    const opened = await openSandbox({
      bundle: bundleOf('let count = 0; export function tick() { count += 1; return count; } export function spin() { for (;;) {} }'),
      capabilities: [],
      limits: { fuel: 100 },
    });
    assert.ok(opened.ok);
    const { sandbox } = opened;
    assert.deepEqual(
      await Promise.all([sandbox.call('tick'), sandbox.call('tick'), sandbox.call('tick')]).then((results) => results.map(expectOutput)),
      [1, 2, 3],
    );
    expectError(await sandbox.call('spin'), 'fuel');
    expectError(await sandbox.call('tick'), 'fuel');
    sandbox.close();
  });
});

describe('openSandbox: several calls', () => {
  it('ends tool calls a call left running, so the next call is not held by them', async () => {
    let signals = 0;
    const opened = await openSandbox({
      bundle: bundleOf(
        'export function start(_input, capsule) { capsule.callTool("hang", {}); return "started"; } export async function wait() { await new Promise(() => {}); }',
        ['call:tool:hang'],
      ),
      capabilities: ['call:tool:hang'],
      host: {
        callTool: (_name, _args, { signal }) => {
          signal.addEventListener('abort', () => {
            signals += 1;
          });
          return new Promise(() => {});
        },
      },
      limits: { timeoutMs: 5_000 },
    });
    assert.ok(opened.ok);
    assert.equal(expectOutput(await opened.sandbox.call('start')), 'started');
    assert.equal(signals, 1, "the left-over tool call's signal was aborted");
    const started = performance.now();
    expectError(await opened.sandbox.call('wait'), 'guest', /can never settle/);
    assert.ok(performance.now() - started < 2_000, 'reported at once, not at the deadline');
    opened.sandbox.close();
  });
});

describe('budgets', () => {
  it('runSandboxed spends one fuel budget on load and call; an open sandbox gives each call its own', async () => {
    const loop = 'for (let i = 0; i < 3000000; i += 1) {}';
    const probe = await runSandboxed({
      bundle: bundleOf(`export function f() { ${loop} return 1; }`),
      entry: 'f',
      capabilities: [],
      limits: { fuel: 100_000 },
    });
    assert.ok(probe.ok && probe.usage.fuelOrInterrupts > 10, JSON.stringify(probe));
    const oneLoop = probe.ok ? probe.usage.fuelOrInterrupts : 0;
    const limits = { fuel: Math.ceil(oneLoop * 1.5) };
    const twoLoops = bundleOf(`${loop}\nexport function f() { ${loop} return 1; }`);
    expectError(await runSandboxed({ bundle: twoLoops, entry: 'f', capabilities: [], limits }), 'fuel');
    const opened = await openSandbox({ bundle: twoLoops, capabilities: [], limits });
    assert.ok(opened.ok);
    assert.equal(expectOutput(await opened.sandbox.call('f')), 1);
    assert.equal(expectOutput(await opened.sandbox.call('f')), 1);
    opened.sandbox.close();
  });
});

describe('runSandboxed: activation and grants', () => {
  it('refuses a bundle the signature verifier did not seal (a look-alike or a copy)', async () => {
    const sealed = bundleOf('export function f() { return 1; }');
    const lookAlike = { ...sealed } as VerifiedBundle;
    expectError(await runSandboxed({ bundle: lookAlike, entry: 'f', capabilities: [] }), 'unverified', /signature/);
    const forged = {
      verified: true,
      bundleHash: 'c'.repeat(64),
      code: 'export function f() { return 1; }',
      codeHash: 'x',
      capabilities: [],
    } as unknown as VerifiedBundle;
    expectError(await runSandboxed({ bundle: forged, entry: 'f', capabilities: [] }), 'unverified');
    assert.deepEqual(expectOutput(await runSandboxed({ bundle: sealed, entry: 'f', capabilities: [] })), 1);
  });

  it('refuses to seal a malformed bundle, naming the field', () => {
    assert.throws(
      () => sealVerifiedBundle({ bundleHash: 'nope', code: '', capabilities: ['net' as Capability] }),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues.some((issue) => issue.path === 'bundleHash') &&
        error.issues.some((issue) => issue.path === 'capabilities.0'),
    );
  });

  it('refuses a grant the manifest does not declare', async () => {
    const bundle = bundleOf('export function f() { return 1; }', ['read:inputs']);
    expectError(
      await runSandboxed({ bundle, entry: 'f', capabilities: ['read:inputs', 'call:tool:echo'], host: echoHost }),
      'capability',
      /call:tool:echo.*does not declare/,
    );
  });

  it('ends the run with capability when the code calls a tool it was not granted, even if it catches', async () => {
    const message = expectError(
      await run('try { await capsule.callTool("delete_everything", {}); } catch {} return "went on";', {
        capabilities: ['call:tool:echo'],
        host: echoHost,
      }),
      'capability',
      /"delete_everything".*granted tools: echo/,
    );
    assert.ok(message);
    expectError(await run('return capsule.callTool("echo", {});'), 'capability', /granted tools: none/);
  });

  it('stops at maxToolCalls', async () => {
    expectError(
      await run('for (let i = 0; i < 10; i += 1) await capsule.callTool("echo", i); return "done";', {
        capabilities: ['call:tool:echo'],
        host: echoHost,
        limits: { maxToolCalls: 3 },
      }),
      'tool-calls',
      /more than 3/,
    );
  });

  it('throws a ValidationError naming the field for a malformed call', async () => {
    const bundle = bundleOf('export function f() { return 1; }');
    await assert.rejects(
      runSandboxed({ bundle, entry: 'f', capabilities: [], limits: { stackBytes: 8 * 1024 * 1024 } }),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'limits.stackBytes',
    );
    await assert.rejects(
      runSandboxed({ bundle, entry: 'f()', capabilities: [] }),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'entry',
    );
    await assert.rejects(
      runSandboxed({ bundle, entry: 'f', capabilities: ['call:tool:echo'] }),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'host.callTool',
    );
  });

  it('refuses input that is not JSON data or is too large', async () => {
    const options = { capabilities: ['read:inputs'] as Capability[] };
    expectError(await run('return 1;', { ...options, input: { n: Number.NaN } }), 'input', /\$\.n NaN/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expectError(await run('return 1;', { ...options, input: cyclic }), 'input', /deeper than 64/);
    expectError(
      await run('return 1;', { ...options, input: 'x'.repeat(2_000), limits: { maxInputBytes: 1_000 } }),
      'input',
      /more than 1000/,
    );
  });

  it('reports a module that does not load, imports, or lacks the entry as load', async () => {
    const load = (code: string, entry = 'f') => runSandboxed({ bundle: bundleOf(code), entry, capabilities: [] });
    expectError(await load('export function f( {'), 'load', /SyntaxError/);
    expectError(await load('import fs from "node:fs"; export function f() { return fs; }'), 'load', /could not load module/);
    expectError(await load('export const f = 1;'), 'load', /no function named f/);
    expectError(await load('throw new Error("at load"); export function f() {}'), 'load', /at load/);
  });
});

describe('runSandboxed: escapes are contained', () => {
  it('stops an infinite loop with fuel, or with timeout when the clock runs out first', async () => {
    expectError(await run('for (;;) {}', { limits: { fuel: 50 } }), 'fuel', /CPU budget \(50 interrupts/);
    expectError(await run('while (true) {}', { limits: { fuel: 1_000_000, timeoutMs: 150 } }), 'timeout', /150 ms/);
    expectError(await run('await null; for (;;) {}', { limits: { fuel: 50 } }), 'fuel');
    expectError(await run('return /(a*)*b/.test("a".repeat(40));', { limits: { fuel: 50 } }), 'fuel');
  });

  it('stops a built-in looping natively (no interrupt polls) at the deadline, with the watchdog', async () => {
    const started = performance.now();
    expectError(
      await run('return Array.prototype.indexOf.call({ length: 2 ** 53 - 1 }, 1);', { limits: { fuel: 1_000_000, timeoutMs: 200 } }),
      'timeout',
      /200 ms/,
    );
    expectError(await run('return Array.prototype.includes.call({ length: 2 ** 53 - 1 }, 1);', { limits: { timeoutMs: 100 } }), 'timeout');
    assert.ok(performance.now() - started < 3_000, 'both stopped near their deadlines');
    assert.equal(expectOutput(await run('return [1, 2, 3].indexOf(3);')), 2);
  });

  it('stops an uncatchable loop: catch and finally do not swallow the interrupt', async () => {
    expectError(await run('for (;;) { try { for (;;) {} } catch {} finally { continue; } }', { limits: { fuel: 50 } }), 'fuel');
  });

  it('stops a wait on a tool that never answers at the deadline, and aborts the tool call', async () => {
    let aborted = false;
    const host: SandboxHost = {
      callTool: (_name, _args, { signal }) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener(
            'abort',
            () => {
              aborted = true;
              reject(new Error('aborted'));
            },
            { once: true },
          ),
        ),
    };
    expectError(
      await run('return await capsule.callTool("slow", {});', { capabilities: ['call:tool:slow'], host, limits: { timeoutMs: 100 } }),
      'timeout',
      /100 ms.*1 tool call/,
    );
    assert.equal(aborted, true);
  });

  it('reports a promise that can never settle', async () => {
    expectError(await run('await new Promise(() => {}); return 1;'), 'guest', /can never settle/);
  });

  it('stops memory bombs at the memory limit', async () => {
    const limits = { memoryBytes: 8 * 1024 * 1024, fuel: 100_000, timeoutMs: 20_000 };
    expectError(
      await run('const a = []; for (;;) a.push([a.length, "x" + a.length, { n: a.length }]);', { limits }),
      'memory',
      /8388608 bytes/,
    );
    expectError(await run('const a = []; for (;;) a.push(new Float64Array(100_000));', { limits }), 'memory');
    expectError(await run('let s = "x"; for (;;) s += s;', { limits }), 'memory');
    // Here QuickJS has no memory left even for the error object and throws null.
    expectError(await run('const m = new Map(); for (let i = 0; ; i += 1) m.set(i, { i });', { limits }), 'memory', /threw null/);
    // A code that catches the failure goes on, within the limit.
    assert.equal(
      expectOutput(
        await run('try { return new ArrayBuffer(64 * 1024 * 1024).byteLength; } catch (error) { return String(error); }', { limits }),
      ),
      'InternalError: out of memory',
    );
  });

  it('stops deep recursion at the stack limit, in QuickJS or in a native built-in', async () => {
    expectError(await run('function down(n) { return down(n + 1) + 1; } return down(0);'), 'stack', /stack overflow/);
    expectError(await run('const o = { get x() { return this.x; } }; return o.x;'), 'stack');
    expectError(
      await run('let a = {}; for (let i = 0; i < 200000; i += 1) a = { a }; return JSON.stringify(a).length;', {
        limits: { fuel: 10_000 },
      }),
      'stack',
    );
    // A new run is untouched by the last one's overflow (its instance was dropped).
    assert.equal(expectOutput(await run('return 1 + 1;')), 2);
  });

  it('leaves the host prototype untouched, and each run starts with clean built-ins', async () => {
    const result = await run(`
      ({}).__proto__.polluted = 1;
      Object.prototype.polluted2 = 2;
      Array.prototype.push = () => 'hijacked';
      JSON.stringify = () => '"forged"';
      JSON.parse = () => ({ forged: true });
      return { fine: true };`);
    assert.deepEqual(expectOutput(result), { fine: true });
    const probe: Record<string, unknown> = {};
    assert.equal(probe.polluted, undefined);
    assert.equal(probe.polluted2, undefined);
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
    assert.deepEqual(expectOutput(await run('return [({}).polluted, typeof [].push, JSON.stringify({ a: 1 })];')), [
      null,
      'function',
      '{"a":1}',
    ]);
  });

  it('refuses returned JSON with __proto__ keys, at any depth, without touching the host', async () => {
    expectError(await run('return JSON.parse(\'{"__proto__": {"polluted": 1}}\');'), 'output', /__proto__ key at \$\.__proto__/);
    expectError(await run('return JSON.parse(\'{"a": [{"__proto__": {"isAdmin": true}}]}\');'), 'output', /\$\.a\[0\]\.__proto__/);
    const probe: Record<string, unknown> = {};
    assert.equal(probe.polluted, undefined);
    assert.equal(probe.isAdmin, undefined);
  });

  it('has no process, require, fetch, console, timers, WebAssembly or host functions in scope', async () => {
    const seen = expectOutput(
      await run(`
        const names = ['process', 'require', 'fetch', 'console', 'setTimeout', 'setInterval', 'queueMicrotask', 'XMLHttpRequest', 'WebAssembly', 'Deno', 'Bun', 'std', 'os', 'module', 'exports', '__dirname', 'hostCall', 'hostDeny', 'Atomics'];
        const types = {};
        for (const name of names) types[name] = typeof globalThis[name];
        return { types, globals: Object.getOwnPropertyNames(globalThis).filter((name) => /host|process|require|fetch/i.test(name)), self: typeof this };`),
    ) as { types: Record<string, string>; globals: string[]; self: string };
    for (const [name, type] of Object.entries(seen.types)) assert.equal(type, 'undefined', name);
    assert.deepEqual(seen.globals, []);
    assert.equal(seen.self, 'undefined');
  });

  it('contains the constructor, eval and import tricks as errors of the code', async () => {
    expectError(
      await run('return globalThis.constructor.constructor("return process")();'),
      'guest',
      /ReferenceError: 'process' is not defined/,
    );
    expectError(await run('return (function () {}).constructor("return require")()("fs");'), 'guest', /'require' is not defined/);
    expectError(await run('return eval("fetch")("https://example.com");'), 'guest', /'fetch' is not defined/);
    expectError(await run('return (0, eval)("this").process.env;'), 'guest', /TypeError/);
    expectError(await run('return await import("node:child_process");'), 'guest', /could not load module/);
    expectError(
      await run('return Reflect.getPrototypeOf(capsule.callTool).constructor("return process.mainModule")();'),
      'guest',
      /'process' is not defined/,
    );
    expectError(
      await run('return capsule.callTool.call(null, "echo").constructor.constructor("return process")();', {
        capabilities: ['call:tool:echo'],
        host: echoHost,
      }),
      'guest',
      /'process' is not defined/,
    );
  });

  it('cannot block on Atomics or SharedArrayBuffer', async () => {
    expectError(await run('return Atomics.wait(new Int32Array(new SharedArrayBuffer(16)), 0, 0);'), 'guest', /'Atomics' is not defined/);
  });

  it('refuses a huge output before copying it out', async () => {
    expectError(await run('return "x".repeat(1_000_000);', { limits: { maxOutputBytes: 100_000 } }), 'output', /larger than 100000 bytes/);
    expectError(
      await run('return "é".repeat(60_000);', { limits: { maxOutputBytes: 100_000 } }),
      'output',
      /120002 bytes as JSON, more than 100000/,
    );
  });

  it("reports thrown non-Error values as the code's errors, without a stack", async () => {
    expectError(await run('throw 42;'), 'guest', /non-Error value: 42$/);
    expectError(await run('throw "plain string";'), 'guest', /non-Error value: "plain string"$/);
    // Indistinguishable from QuickJS's own out-of-memory throw (see the memory bombs).
    expectError(await run('throw null;'), 'memory', /threw null/);
    expectError(await run('throw undefined;'), 'guest', /non-Error value: undefined$/);
    expectError(await run('throw { code: 7 };'), 'guest', /non-Error object$/);
    expectError(await run('throw Symbol("s");'), 'guest', /non-Error value/);
    expectError(await run('return Promise.reject(new TypeError("nope"));'), 'guest', /TypeError: nope$/);
    expectError(await run('throw { get message() { for (;;) {} }, name: "Trap" };', { limits: { fuel: 50 } }), 'fuel');
  });

  it('refuses functions, symbols, cycles and bigints in the output, and returns undefined as null', async () => {
    expectError(await run('return () => 1;'), 'output', /a function is not JSON data/);
    expectError(await run('return { deep: { fn: function () {} } };'), 'output', /at key "fn"/);
    expectError(await run('return [Symbol("s")];'), 'output', /a symbol is not JSON data/);
    expectError(await run('const a = { b: {} }; a.b.a = a; return a;'), 'output', /circular/);
    expectError(await run('return { n: 10n };'), 'output', /BigInt/);
    assert.equal(expectOutput(await run('return undefined;')), null);
  });
});

describe('the sandbox bundled with esbuild as serverless.yml does', () => {
  const work = mkdtemp(path.join(os.tmpdir(), 'autonomy-sandbox-bundle-'));
  after(async () => rm(await work, { recursive: true, force: true }));

  it('embeds the wasm (no file beside the bundle) and runs and contains code from a folder without node_modules', async () => {
    const dir = await work;
    const plugins = createRequire(import.meta.url)(path.join(root, 'infra/esbuild/plugins.cjs')) as Plugin[];
    const outfile = path.join(dir, 'sandbox.mjs');
    await build({
      stdin: { contents: "export { runSandboxed, sealVerifiedBundle } from './lib/capsules/sandbox.ts';", resolveDir: root, loader: 'ts' },
      outfile,
      bundle: true,
      minify: true,
      sourcemap: true,
      keepNames: true,
      target: 'node22',
      platform: 'node',
      format: 'esm',
      mainFields: ['module', 'main'],
      plugins,
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    assert.deepEqual((await readdir(dir)).sort(), ['sandbox.mjs', 'sandbox.mjs.map']);
    for (let folder = dir; ; folder = path.dirname(folder)) {
      assert.equal(existsSync(path.join(folder, 'node_modules')), false, `no node_modules in ${folder} or above`);
      if (path.dirname(folder) === folder) break;
    }
    const map = JSON.parse(await readFile(`${outfile}.map`, 'utf8')) as { sourcesContent: string[] };
    assert.ok(Math.max(...map.sourcesContent.map((source) => source.length)) < 200_000, 'the wasm stays out of the source map');
    const script = `
      const { runSandboxed, sealVerifiedBundle } = await import(${JSON.stringify(outfile)});
      const bundle = sealVerifiedBundle({ bundleHash: 'd'.repeat(64), capabilities: ['read:inputs', 'call:tool:double'],
        code: 'export async function f(input, capsule) { return { got: await capsule.callTool("double", input.n), process: typeof process } } export function spin() { for (;;) {} }' });
      const host = { callTool: async (name, n) => n * 2 };
      const ok = await runSandboxed({ bundle, entry: 'f', input: { n: 21 }, capabilities: ['read:inputs', 'call:tool:double'], host });
      const spin = await runSandboxed({ bundle, entry: 'spin', capabilities: [], limits: { fuel: 20 } });
      console.log(JSON.stringify({ ok: ok.ok && ok.output, spin: spin.ok ? 'ran' : spin.error.kind }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), { ok: { got: 42, process: 'undefined' }, spin: 'fuel' });
  });
});
