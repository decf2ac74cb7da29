/**
 * The sandbox for the code a capsule brings for its own tools: QuickJS compiled to WebAssembly
 * (`quickjs-emscripten-core` over `@jitl/quickjs-wasmfile-release-sync`), one fresh WebAssembly
 * instance per run, so nothing of one run (heap, globals, a trap's half-done state) is there for the
 * next. Pure from the caller's view: a verified bundle, an entry, JSON input and grants in; JSON
 * output and usage, or one error kind and a sentence, out. It never throws for anything the code
 * does; only a malformed call (limits out of range, a bad capability) throws a `ValidationError`.
 *
 * What the code sees: its ES module is evaluated with no module loader (any `import` fails), in a
 * context with the standard built-ins and nothing of the host: no `process`, `require`, `fetch`,
 * `console`, timers, network or filesystem. The entry is called as `entry(input, capsule)`, where
 * `input` is the run's input if `read:inputs` is granted (else `undefined`) and `capsule` is
 * `{ tools, callTool(name, args) }`. Only JSON crosses the boundary, as text, both ways (copied in,
 * copied out, never a host object or a handle to one).
 *
 * Tool calls with a synchronous QuickJS build: `capsule.callTool` returns a QuickJS promise. The host
 * records the call, starts `host.callTool` and returns; when the entry's own promise is still
 * pending with nothing left to run, the driver awaits the next tool settlement (or the deadline),
 * resolves or rejects that guest promise with the result's JSON, runs the guest's pending jobs, and
 * repeats until the entry's promise settles. So `await capsule.callTool(...)` reads naturally in the
 * guest, several calls may be in flight at once (`Promise.all`), and no asyncify build (twice the
 * wasm, slower) is needed. The CPU budget (`fuel`) counts only guest execution; the wall-clock
 * budget (`timeoutMs`) counts everything, tool waits included, and aborts outstanding tool calls.
 *
 * Two clocks: the interrupt handler, which QuickJS polls about every 10,000 bytecode steps, spends
 * `fuel` and stops bytecode at the deadline; and a `node:vm` watchdog around each synchronous slice
 * of guest work, which terminates native work that never polls (a built-in looping over a huge
 * array-like) shortly after the deadline. Either way the instance is dropped.
 *
 * {@link runSandboxed} is one run in one instance; {@link openSandbox} keeps an instance open for
 * several calls of one capsule run (module state persists, each call has its own budget).
 *
 * Capabilities (see `capabilitySchema`): the run's grants must be declared by the manifest the
 * signature covers. A tool that is not granted, or `Math.random` without `random`, ends the run with
 * `capability` even if the code catches the exception it gets.
 */

import vm from 'node:vm';
import releaseSyncExport from '@jitl/quickjs-wasmfile-release-sync';
import {
  type EmscriptenModuleLoaderOptions,
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSDeferredPromise,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
} from 'quickjs-emscripten-core';
import { z } from 'zod';
import { ValidationError } from '../errors.ts';
import { jsonDataIssues } from '../json-data.ts';
import { PRELUDE_SOURCE, type PreludeSettings } from './sandbox/prelude.ts';
import { loadQuickJSWasm } from './sandbox/quickjs-wasm.ts';
import {
  type Capability,
  capabilitiesSchema,
  entryNameSchema,
  type SandboxErrorKind,
  type SandboxLimits,
  type SandboxLimitsInput,
  sandboxLimitsSchema,
  TOOL_CAPABILITY_PREFIX,
} from './sandbox/schemas.ts';
import { isVerifiedBundle, type VerifiedBundle } from './sandbox/verified-bundle.ts';

export {
  type Capability,
  capabilitiesSchema,
  capabilitySchema,
  MAX_STACK_BYTES,
  type SandboxErrorKind,
  type SandboxLimits,
  type SandboxLimitsInput,
  sandboxLimitsSchema,
} from './sandbox/schemas.ts';
export {
  isVerifiedBundle,
  MAX_CODE_BYTES,
  sealVerifiedBundle,
  type VerifiedBundle,
  type VerifiedBundleFields,
} from './sandbox/verified-bundle.ts';

/** A JSON value: what crosses the sandbox's boundary. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A tool failure whose message the guest may see (as a rejected `callTool` promise with a
 * `ToolError`). Any other error a host tool throws reaches the guest as "the tool failed", so host
 * details never cross the boundary.
 */
export class SandboxToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The host side of a run: how granted tools are called. */
export interface SandboxHost {
  /**
   * Calls tool `name` (always one the run grants) with `args` (JSON the guest sent, checked). Must
   * honour `signal` (the run's deadline or end). Its result must be JSON data.
   */
  callTool(name: string, args: JsonValue, options: { signal: AbortSignal }): Promise<unknown>;
}

/** How to open a sandbox: the code, what it is granted, its limits and host. */
export interface SandboxOptions {
  /** The verified bundle whose code runs (only the signature verifier makes one). */
  bundle: VerifiedBundle;
  /** What the runs grant: a subset of what the bundle's manifest declares. */
  capabilities: readonly Capability[];
  /**
   * Limits; each defaults as `sandboxLimitsSchema` says. {@link runSandboxed} spends one fuel, time and
   * tool-call budget on the whole run (load and call); an open {@link Sandbox} gives each call its own.
   */
  limits?: SandboxLimitsInput;
  /** Needed when a `call:tool:<name>` is granted. */
  host?: SandboxHost;
  /** What `Date.now()` returns when `clock` is not granted (epoch milliseconds; default 0). */
  frozenNow?: number;
  /** The PRNG's seed when `random` is granted (a 32-bit integer; default: drawn from the host's CSPRNG). */
  randomSeed?: number;
}

/** One run of capsule code: {@link SandboxOptions} plus the entry to call and its input. */
export interface SandboxRequest extends SandboxOptions {
  /** The module export to call. */
  entry: string;
  /** The run's input (JSON data); passed to the entry only with `read:inputs`. */
  input?: unknown;
}

/** What one run (or one call) used. */
export interface SandboxUsage {
  /** Interrupt-handler calls (about one per 10,000 bytecode steps): the CPU budget spent. */
  fuelOrInterrupts: number;
  /** QuickJS's memory in use when the call ended (its `memory_used_size`); 0 when it could not be read. */
  memoryBytes: number;
  /** Wall-clock time, tool waits included (for {@link runSandboxed}, instance creation and module load too). */
  wallMs: number;
  /** Tool calls made. */
  toolCalls: number;
}

/** Why a run failed. */
export interface SandboxError {
  kind: SandboxErrorKind;
  message: string;
}

/** The outcome of a run or a call. `usage` is absent only when the run stopped before its instance existed. */
export type SandboxResult = { ok: true; output: JsonValue; usage: SandboxUsage } | { ok: false; error: SandboxError; usage?: SandboxUsage };

/**
 * An open sandbox: one QuickJS instance with the capsule's module loaded, for several calls within
 * one capsule run (module state persists between them, as in any module). Calls run one at a time,
 * in order. After an error other than `guest`, `output` or `input` (a budget, a limit, a refused
 * capability, a trap) the sandbox is spent: every later call answers that error.
 */
export interface Sandbox {
  /**
   * Calls `entry(input, capsule)` under a fresh per-call fuel and time budget.
   * @throws {ValidationError} when `entry` is not an identifier.
   */
  call(entry: string, input?: unknown): Promise<SandboxResult>;
  /** Aborts outstanding tool calls and drops the instance. */
  close(): void;
}

/** How long past the deadline the watchdog waits for the interrupt handler to stop the code cleanly. */
const WATCHDOG_GRACE_MS = 25;

/**
 * One `node:vm` context and script for every sandbox of the process: `slice()` calls the function
 * the running instance put there. Slices never overlap (each is synchronous), so one is enough.
 */
const watchdog = (() => {
  const context = vm.createContext({ slice: undefined as (() => unknown) | undefined });
  return { context, script: new vm.Script('slice()', { filename: 'capsule-sandbox-watchdog.js' }) };
})();

function isScriptTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

/** Deepest JSON accepted across the boundary (input, tool results, output). */
const MAX_JSON_DEPTH = 64;
/** Longest piece of guest-controlled text quoted in an error message. */
const MAX_QUOTED = 300;

/**
 * The release-sync variant. Its package's types are read as CommonJS (its exports map names only
 * `index.d.ts`), so TypeScript sees a module object where Node's (and esbuild's) ESM import gives
 * the variant itself; either shape is accepted here.
 */
const RELEASE_SYNC: QuickJSSyncVariant = (() => {
  const exported = releaseSyncExport as unknown as QuickJSSyncVariant | { default: QuickJSSyncVariant };
  return 'importFFI' in exported ? exported : exported.default;
})();

/**
 * Node's WebAssembly global (the compiler options' libraries declare its types, not the value).
 */
const wasm = (
  globalThis as unknown as {
    WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module>; RuntimeError: new (message?: string) => Error };
  }
).WebAssembly;

let compiled: Promise<WebAssembly.Module> | undefined;

/**
 * Compiles QuickJS's wasm once per process (a few ms); each sandbox instantiates it afresh. Call at
 * cold start to take the compile off the first run.
 */
export function prepareSandbox(): Promise<WebAssembly.Module> {
  compiled ??= loadQuickJSWasm()
    .then((bytes) => wasm.compile(bytes))
    .catch((error: unknown) => {
      compiled = undefined;
      throw error;
    });
  return compiled;
}

/**
 * Runs `entry` of a verified capsule's code with `input`, in a fresh QuickJS instance, under
 * `limits` and with exactly the `capabilities` granted; the instance is dropped afterwards.
 * @throws {ValidationError} when the call itself is malformed (`entry`, `capabilities`, `limits`,
 * `frozenNow`, `randomSeed`, or a granted tool without `host`), naming the field.
 * @example
 * const result = await runSandboxed({
 *   bundle, entry: 'summarize', input: { text }, capabilities: ['read:inputs', 'call:tool:gateway.chat'],
 *   limits: { timeoutMs: 2_000 }, host: { callTool: (name, args, { signal }) => mcp.call(name, args, signal) },
 * });
 * if (!result.ok) log(result.error.kind, result.error.message);
 */
export async function runSandboxed(request: SandboxRequest): Promise<SandboxResult> {
  const started = performance.now();
  parseEntry(request.entry);
  if (request.capabilities.includes('read:inputs')) {
    // Refused before an instance is made for nothing (the call checks it again, as every call does).
    const checked = checkJson(request.input === undefined ? null : request.input, parseOptions(request).limits.maxInputBytes, 'the input');
    if ('problem' in checked) return { ok: false, error: { kind: 'input', message: checked.problem } };
  }
  const opened = await openInstance(request, started);
  if (!opened.ok) return opened;
  try {
    // One budget for the whole run: the call goes on with what the module's load left.
    return await opened.sandbox.call(request.entry, request.input, { sameBudget: true });
  } finally {
    opened.sandbox.close();
  }
}

/**
 * Opens a {@link Sandbox}: checks the bundle is verified and the grants are declared, creates a fresh
 * QuickJS instance with the limits and capabilities, and loads the bundle's module (under its own
 * fuel and time budget).
 * @throws {ValidationError} as {@link runSandboxed}.
 */
export function openSandbox(
  options: SandboxOptions,
): Promise<{ ok: true; sandbox: Sandbox; usage: SandboxUsage } | { ok: false; error: SandboxError; usage?: SandboxUsage }> {
  return openInstance(options, performance.now());
}

async function openInstance(
  options: SandboxOptions,
  started: number,
): Promise<{ ok: true; sandbox: SandboxInstance; usage: SandboxUsage } | { ok: false; error: SandboxError; usage?: SandboxUsage }> {
  const parsed = parseOptions(options);
  if (!isVerifiedBundle(options.bundle)) {
    return {
      ok: false,
      error: {
        kind: 'unverified',
        message: 'the bundle was not sealed by the signature verifier: capsule code runs only after its signature checks out',
      },
    };
  }
  const bundle = options.bundle;
  const undeclared = parsed.capabilities.filter((capability) => !bundle.capabilities.includes(capability));
  if (undeclared.length > 0) {
    return {
      ok: false,
      error: { kind: 'capability', message: `the run grants ${undeclared.join(', ')}, which the bundle's manifest does not declare` },
    };
  }
  const instance = new SandboxInstance(bundle, parsed);
  const loaded = await instance.load(started);
  if ('error' in loaded) {
    instance.close();
    return { ok: false, error: loaded.error, usage: loaded.usage };
  }
  return { ok: true, sandbox: instance, usage: loaded.usage };
}

interface ParsedOptions {
  capabilities: Capability[];
  limits: SandboxLimits;
  tools: Set<string>;
  host: SandboxHost | undefined;
  frozenNow: number;
  randomSeed: number | undefined;
}

const optionsSchema = z.object({
  capabilities: capabilitiesSchema,
  limits: sandboxLimitsSchema.default(sandboxLimitsSchema.parse({})),
  frozenNow: z.number().int().min(-8.64e15).max(8.64e15).default(0),
  randomSeed: z
    .number()
    .int()
    .min(-(2 ** 31))
    .max(2 ** 32 - 1)
    .optional(),
});

function toValidationError(error: z.ZodError, prefix = ''): ValidationError {
  return new ValidationError(
    error.issues.map((issue) => ({ path: [prefix, ...issue.path].filter((part) => part !== '').join('.'), message: issue.message })),
  );
}

function parseEntry(entry: string): string {
  const parsed = entryNameSchema.safeParse(entry);
  if (!parsed.success) throw toValidationError(parsed.error, 'entry');
  return parsed.data;
}

function parseOptions(options: SandboxOptions): ParsedOptions {
  const parsed = optionsSchema.safeParse({
    capabilities: options.capabilities,
    limits: options.limits,
    frozenNow: options.frozenNow,
    randomSeed: options.randomSeed,
  });
  if (!parsed.success) throw toValidationError(parsed.error);
  const tools = new Set(
    parsed.data.capabilities
      .filter((capability) => capability.startsWith(TOOL_CAPABILITY_PREFIX))
      .map((capability) => capability.slice(TOOL_CAPABILITY_PREFIX.length)),
  );
  if (tools.size > 0 && typeof options.host?.callTool !== 'function') {
    throw new ValidationError([{ path: 'host.callTool', message: 'required when a call:tool:<name> capability is granted' }]);
  }
  return { ...parsed.data, randomSeed: parsed.data.randomSeed, tools, host: options.host };
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 1000) / 1000;
}

/** A settled tool call, waiting to be handed to the guest. */
interface Settlement {
  deferred: QuickJSDeferredPromise;
  json?: string;
  error?: string;
}

/** The outcome of driving a guest value (a promise or not) to settlement. */
type Driven = { value: QuickJSHandle } | { error: SandboxError };

/** The guest-side functions the prelude hands back. */
interface GuestApi {
  capsule: QuickJSHandle;
  encode: QuickJSHandle;
  decode: QuickJSHandle;
  namespace: QuickJSHandle;
}

/**
 * One QuickJS instance (its own WebAssembly memory), its budgets, tool calls and the driver loop.
 * Handles are not freed one by one and the runtime is never freed: the whole instance is dropped.
 */
class SandboxInstance implements Sandbox {
  private readonly bundle: VerifiedBundle;
  private readonly options: ParsedOptions;
  private abort = new AbortController();
  /** The current phase's deadline and interrupt count (a load or a call). */
  private deadline = 0;
  private interrupts = 0;
  private toolCalls = 0;
  private inflight = 0;
  /** Set once a budget, limit or capability stops the code; sticky, so the instance is spent. */
  private stop: SandboxError | undefined;
  private readonly settled: Settlement[] = [];
  private wake: (() => void) | undefined;
  private readonly outstanding = new Set<QuickJSDeferredPromise>();
  private lastStderr = '';
  private runtime: QuickJSRuntime | undefined;
  private context: QuickJSContext | undefined;
  private api: GuestApi | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private loadStarted = 0;
  private closed = false;

  constructor(bundle: VerifiedBundle, options: ParsedOptions) {
    this.bundle = bundle;
    this.options = options;
  }

  /** Creates the instance, runs the prelude and evaluates the module. */
  async load(started: number): Promise<{ usage: SandboxUsage } | { error: SandboxError; usage?: SandboxUsage }> {
    this.loadStarted = started;
    this.begin(started);
    try {
      const loaded = await this.instantiate();
      const usage = this.usage(started, 'api' in loaded);
      if (this.stop) return { error: this.stop, usage };
      if ('error' in loaded) return { error: loaded.error, usage };
      this.api = loaded.api;
      return { usage };
    } catch (error) {
      return { error: this.hostFailure(error), usage: this.usage(started, false) };
    }
  }

  /** `sameBudget`: go on with the deadline, fuel and tool calls the load left (one budget for a whole run). */
  call(entry: string, input?: unknown, options: { sameBudget?: boolean } = {}): Promise<SandboxResult> {
    const name = parseEntry(entry);
    const next = this.queue.then(() => this.callNow(name, input, options.sameBudget === true));
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
    for (const deferred of this.outstanding) deferred.dispose();
    this.outstanding.clear();
    this.settled.length = 0;
    this.api = undefined;
    this.context = undefined;
    this.runtime = undefined;
  }

  private begin(started: number): void {
    this.deadline = started + this.options.limits.timeoutMs;
    this.interrupts = 0;
    this.toolCalls = 0;
  }

  private async callNow(entry: string, input: unknown, sameBudget: boolean): Promise<SandboxResult> {
    const started = sameBudget ? this.loadStarted : performance.now();
    if (this.closed || !this.api) return { ok: false, error: { kind: 'internal', message: 'the sandbox is closed' } };
    if (this.stop) return { ok: false, error: this.stop };
    const readInputs = this.options.capabilities.includes('read:inputs');
    let inputJson = 'null';
    if (readInputs) {
      const checked = checkJson(input === undefined ? null : input, this.options.limits.maxInputBytes, 'the input');
      if ('problem' in checked) return { ok: false, error: { kind: 'input', message: checked.problem } };
      inputJson = checked.json;
    }
    if (!sameBudget) this.begin(started);
    try {
      const outcome = await this.invoke(this.api, entry, readInputs ? inputJson : undefined);
      const usage = this.usage(started, !this.stop);
      if (this.stop) return { ok: false, error: this.stop, usage };
      if ('error' in outcome) return { ok: false, error: outcome.error, usage };
      return { ok: true, output: outcome.output, usage };
    } catch (error) {
      return { ok: false, error: this.hostFailure(error), usage: this.usage(started, false) };
    } finally {
      // Tool calls the code started but did not await end with the call.
      if (this.inflight > 0) {
        this.abort.abort();
        this.abort = new AbortController();
        this.inflight = 0;
      }
    }
  }

  private async instantiate(): Promise<{ api: GuestApi } | { error: SandboxError }> {
    const { limits } = this.options;
    const module = await newQuickJSWASMModuleFromVariant(
      newVariant(RELEASE_SYNC, {
        wasmModule: await prepareSandbox(),
        // Emscripten's own options (typed only in part by the binding): its stdout and stderr stay out of the host's logs.
        emscriptenModule: {
          print: () => {},
          printErr: (text: string) => {
            this.lastStderr = text;
          },
        } as unknown as EmscriptenModuleLoaderOptions,
      }),
    );
    const runtime = module.newRuntime();
    this.runtime = runtime;
    runtime.setMemoryLimit(limits.memoryBytes);
    runtime.setMaxStackSize(limits.stackBytes);
    runtime.setInterruptHandler(() => this.shouldInterrupt());
    const context = runtime.newContext();
    this.context = context;

    let prelude: QuickJSHandle | undefined;
    return this.drive(
      (): Driven => {
        const setup = context.evalCode(PRELUDE_SOURCE, 'sandbox-prelude.js', { type: 'global', strict: true });
        if (setup.error) return { error: this.describe(setup.error, 'internal', 'the sandbox prelude failed: ') };
        const hostCall = context.newFunction('hostCall', (name, args) => this.hostCall(name, args));
        const hostDeny = context.newFunction('hostDeny', (capability) => this.hostDeny(capability));
        const settings: PreludeSettings = {
          tools: [...this.options.tools],
          clock: this.options.capabilities.includes('clock'),
          frozenNow: this.options.frozenNow,
          randomSeed: this.options.capabilities.includes('random') ? seedWords(this.options.randomSeed) : null,
        };
        const api = context.callFunction(setup.value, context.undefined, hostCall, hostDeny, context.newString(JSON.stringify(settings)));
        if (api.error) return { error: this.describe(api.error, 'internal', 'the sandbox prelude failed: ') };
        prelude = api.value;
        const module = context.evalCode(this.bundle.code, `capsule-${this.bundle.codeHash.slice(0, 12)}.js`, {
          type: 'module',
          strict: true,
        });
        return module.error ? { error: this.describe(module.error, 'load', 'the module did not load: ') } : { value: module.value };
      },
      'load',
      'the module did not load: ',
      (namespace) => {
        const api = prelude as QuickJSHandle;
        return {
          api: {
            capsule: context.getProp(api, 'capsule'),
            encode: context.getProp(api, 'encode'),
            decode: context.getProp(api, 'decode'),
            namespace,
          },
        };
      },
    );
  }

  private invoke(api: GuestApi, entry: string, inputJson: string | undefined): Promise<{ output: JsonValue } | { error: SandboxError }> {
    const context = this.context as QuickJSContext;
    return this.drive(
      (): Driven => {
        const fn = context.getProp(api.namespace, entry);
        if (context.typeof(fn) !== 'function') return { error: { kind: 'load', message: `the module exports no function named ${entry}` } };
        let argument = context.undefined;
        if (inputJson !== undefined) {
          const input = context.callFunction(api.decode, context.undefined, context.newString(inputJson));
          if (input.error) return { error: this.describe(input.error, 'input', 'the input could not be passed in: ') };
          argument = input.value;
        }
        const called = context.callFunction(fn, context.undefined, argument, api.capsule);
        return called.error ? { error: this.describe(called.error, 'guest', 'the code threw ') } : { value: called.value };
      },
      'guest',
      'the code threw ',
      (value) => {
        const encoded = context.callFunction(api.encode, context.undefined, value);
        if (encoded.error) return { error: this.describe(encoded.error, 'output', 'the output is not JSON data: ') };
        return this.readOutput(encoded.value);
      },
    );
  }

  /**
   * Drives one piece of guest work to its end: `begin` starts it (a module's evaluation, an entry's
   * call) and gives a value or a promise; guest jobs run and tool results are handed in until that
   * settles; `end` turns the settled value into the result. Each stretch between two waits on a
   * tool is one synchronous slice under the watchdog, so a call that awaits no tool is one slice.
   */
  private async drive<T extends object>(
    begin: () => Driven,
    kind: SandboxErrorKind,
    prefix: string,
    end: (value: QuickJSHandle) => T | { error: SandboxError },
  ): Promise<T | { error: SandboxError }> {
    const runtime = this.runtime as QuickJSRuntime;
    const context = this.context as QuickJSContext;
    let handle: QuickJSHandle | undefined;
    for (;;) {
      const step = this.guarded((): { done: T | { error: SandboxError } } | 'wait' => {
        if (handle === undefined) {
          const started = begin();
          if ('error' in started) return { done: started };
          handle = started.value;
        }
        for (const { deferred, json, error } of this.settled.splice(0)) {
          this.outstanding.delete(deferred);
          const value =
            json !== undefined ? context.newString(json) : context.newError({ name: 'ToolError', message: error ?? 'the tool failed' });
          if (json !== undefined) deferred.resolve(value);
          else deferred.reject(value);
          value.dispose();
          deferred.dispose();
        }
        const jobs = runtime.executePendingJobs();
        if (jobs.error) return { done: { error: this.describe(jobs.error, kind, prefix) } };
        if (this.stop) return { done: { error: this.stop } };
        const state = context.getPromiseState(handle);
        if (state.type === 'fulfilled') return { done: end(state.value) };
        if (state.type === 'rejected') return { done: { error: this.describe(state.error, kind, prefix) } };
        return 'wait';
      });
      if (step !== 'wait') return step.done;
      if (this.settled.length > 0) continue;
      if (this.inflight === 0) {
        return {
          error: { kind, message: `${prefix}nothing: its promise is pending with no tool call outstanding, so it can never settle` },
        };
      }
      if (!(await this.nextSettlement())) {
        this.stop ??= {
          kind: 'timeout',
          message: `the run took longer than ${this.options.limits.timeoutMs} ms (waiting on ${this.inflight} tool call(s))`,
        };
        return { error: this.stop };
      }
    }
  }

  /**
   * Runs one synchronous slice of guest work under the hard wall clock. The interrupt handler stops
   * bytecode at the deadline, but a built-in's native loop never polls it
   * (`Array.prototype.indexOf.call({ length: 2 ** 53 - 1 }, 0)` runs for days): the slice runs
   * inside a `node:vm` script with a timeout, whose watchdog thread terminates the execution, wasm
   * included, a little after the deadline. The instance is then unusable and is dropped
   * (`stop` is set, so it is never touched again).
   */
  private guarded<T>(slice: () => T): T {
    const remaining = Math.max(1, Math.ceil(this.deadline - performance.now()) + WATCHDOG_GRACE_MS);
    watchdog.context.slice = slice;
    try {
      return watchdog.script.runInContext(watchdog.context, { timeout: remaining }) as T;
    } catch (error) {
      if (isScriptTimeout(error)) {
        this.stop ??= {
          kind: 'timeout',
          message: `the run took longer than ${this.options.limits.timeoutMs} ms (stopped inside a built-in)`,
        };
      }
      throw error;
    } finally {
      watchdog.context.slice = undefined;
    }
  }

  /** Waits for a tool to settle; `false` when the deadline comes first. */
  private nextSettlement(): Promise<boolean> {
    const remaining = this.deadline - performance.now();
    if (remaining <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(false);
      }, remaining);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(true);
      };
    });
  }

  private shouldInterrupt(): boolean {
    this.interrupts += 1;
    if (this.stop) return true;
    const { fuel, timeoutMs } = this.options.limits;
    if (this.interrupts > fuel) {
      this.stop = { kind: 'fuel', message: `the code used its CPU budget (${fuel} interrupts, about ${fuel * 10_000} bytecode steps)` };
      return true;
    }
    if (performance.now() > this.deadline) {
      this.stop = { kind: 'timeout', message: `the run took longer than ${timeoutMs} ms` };
      return true;
    }
    return false;
  }

  /** `capsule.callTool`'s host half: never throws (the binding would log it), answers with a guest promise. */
  private hostCall(nameHandle: QuickJSHandle, argsHandle: QuickJSHandle): QuickJSHandle {
    const context = this.context as QuickJSContext;
    const deferred = context.newPromise();
    const refuse = (name: string, message: string) => {
      const error = context.newError({ name, message });
      deferred.reject(error);
      error.dispose();
      return deferred.handle;
    };
    if (this.stop) return refuse('InternalError', 'the run is ending');
    // Lengths are read before any copy: a guest string can be as large as its memory limit.
    const name = this.boundedString(nameHandle, MAX_QUOTED) ?? '';
    if (!this.options.tools.has(name)) {
      const granted = [...this.options.tools].join(', ') || 'none';
      this.stop = {
        kind: 'capability',
        message: `the code called tool ${quote(name)}, which the run does not grant (granted tools: ${granted})`,
      };
      return refuse('TypeError', this.stop.message);
    }
    if (this.toolCalls >= this.options.limits.maxToolCalls) {
      this.stop = { kind: 'tool-calls', message: `the code made more than ${this.options.limits.maxToolCalls} tool calls` };
      return refuse('RangeError', this.stop.message);
    }
    const { maxInputBytes } = this.options.limits;
    const argsJson = this.boundedString(argsHandle, maxInputBytes);
    if (argsJson === undefined)
      return refuse('TypeError', `the arguments of tool ${quote(name)} are larger than ${maxInputBytes} bytes as JSON`);
    const checked = checkJson(safeParse(argsJson), maxInputBytes, `the arguments of tool ${quote(name)}`);
    if ('problem' in checked) return refuse('TypeError', checked.problem);
    this.toolCalls += 1;
    this.inflight += 1;
    this.outstanding.add(deferred);
    const host = this.options.host as SandboxHost;
    const signal = this.abort.signal;
    const deliver = (settlement: Omit<Settlement, 'deferred'>) => {
      // A call aborted with the guest call that made it is no longer counted (see callNow).
      if (signal.aborted) return;
      this.inflight -= 1;
      this.settled.push({ deferred, ...settlement });
      this.wake?.();
    };
    Promise.resolve()
      .then(() => host.callTool(name, checked.value, { signal }))
      .then(
        (result) => {
          const back = checkJson(result, this.options.limits.maxInputBytes, `the result of tool ${quote(name)}`);
          deliver('problem' in back ? { error: back.problem } : { json: back.json });
        },
        (error: unknown) => deliver({ error: error instanceof SandboxToolError ? error.message : `tool ${quote(name)} failed` }),
      );
    return deferred.handle;
  }

  /** A guest string copied out if it has at most `maxLength` UTF-16 units; `undefined` if longer or not a string. */
  private boundedString(handle: QuickJSHandle, maxLength: number): string | undefined {
    const context = this.context as QuickJSContext;
    if (context.typeof(handle) !== 'string') return undefined;
    const length = context.getProp(handle, 'length');
    const tooLong = context.getNumber(length) > maxLength;
    length.dispose();
    return tooLong ? undefined : context.getString(handle);
  }

  /** A denied capability the guest touched (`Math.random` without `random`): the run ends with `capability`. */
  private hostDeny(capabilityHandle: QuickJSHandle): undefined {
    const context = this.context as QuickJSContext;
    const capability = context.typeof(capabilityHandle) === 'string' ? context.getString(capabilityHandle) : '?';
    this.stop ??= { kind: 'capability', message: `the code used ${quote(capability)}, which the run does not grant` };
    return undefined;
  }

  private readOutput(handle: QuickJSHandle): { output: JsonValue } | { error: SandboxError } {
    const context = this.context as QuickJSContext;
    const { maxOutputBytes } = this.options.limits;
    if (context.typeof(handle) !== 'string') return { error: { kind: 'output', message: 'the output could not be encoded as JSON' } };
    const length = context.getNumber(context.getProp(handle, 'length'));
    // UTF-16 units never outnumber UTF-8 bytes: a string this long is too large before it is copied out.
    if (length > maxOutputBytes) return { error: { kind: 'output', message: `the output is larger than ${maxOutputBytes} bytes as JSON` } };
    const json = context.getString(handle);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > maxOutputBytes)
      return { error: { kind: 'output', message: `the output is ${bytes} bytes as JSON, more than ${maxOutputBytes}` } };
    const value: unknown = safeParse(json);
    const problem = jsonProblem(value, 'the output');
    if (problem) return { error: { kind: 'output', message: problem } };
    return { output: value as JsonValue };
  }

  /** A guest exception (or rejection reason) as an error kind and a sentence; reads only `name` and `message`. */
  private describe(handle: QuickJSHandle, kind: SandboxErrorKind, prefix: string): SandboxError {
    if (this.stop) return this.stop;
    const context = this.context as QuickJSContext;
    const { memoryBytes, stackBytes } = this.options.limits;
    const type = context.typeof(handle);
    if ((type === 'object' && !isNull(context, handle)) || type === 'function') {
      const name = this.stringProp(handle, 'name');
      const message = this.stringProp(handle, 'message');
      if (name === 'InternalError' && (message === 'out of memory' || message === 'string too long')) {
        this.stop = { kind: 'memory', message: `the code reached the memory limit (${memoryBytes} bytes): ${message}` };
        return this.stop;
      }
      if (message === 'stack overflow' && (name === 'InternalError' || name === 'SyntaxError')) {
        this.stop = {
          kind: 'stack',
          message: `the code reached the stack limit (${stackBytes} bytes): ${name ?? 'Error'}: stack overflow`,
        };
        return this.stop;
      }
      if (name === undefined && message === undefined) return { kind, message: `${prefix}a non-Error ${type}` };
      return { kind, message: `${prefix}${name ?? 'Error'}: ${clip(message ?? '')}` };
    }
    if (type === 'object') {
      // QuickJS throws null when it cannot even allocate the error for an out-of-memory condition; a
      // deliberate `throw null` is reported the same way (it cannot be told apart).
      this.stop = {
        kind: 'memory',
        message: `the code threw null, as QuickJS does when no memory is left for the error itself: the memory limit (${memoryBytes} bytes) was most likely reached`,
      };
      return this.stop;
    }
    const value: unknown = type === 'undefined' ? undefined : safeDump(context, handle);
    return { kind, message: `${prefix}a non-Error value: ${clip(type === 'string' ? JSON.stringify(value) : String(value))}` };
  }

  private stringProp(handle: QuickJSHandle, key: string): string | undefined {
    const context = this.context as QuickJSContext;
    try {
      const property = context.getProp(handle, key);
      return context.typeof(property) === 'string' ? context.getString(property) : undefined;
    } catch {
      return undefined;
    }
  }

  private hostFailure(error: unknown): SandboxError {
    if (this.stop) return this.stop;
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      this.stop = {
        kind: 'stack',
        message: `the code recursed past the host's native stack (QuickJS stack limit ${this.options.limits.stackBytes} bytes)`,
      };
    } else if (error instanceof wasm.RuntimeError) {
      this.stop = {
        kind: 'internal',
        message: `the sandbox's WebAssembly instance trapped: ${clip(error.message.split('. Build with')[0] ?? '')}`,
      };
    } else {
      this.stop = {
        kind: 'internal',
        message: `the sandbox failed: ${clip(this.lastStderr || (error instanceof Error ? error.name : 'unknown error'))}`,
      };
    }
    return this.stop;
  }

  private usage(started: number, readMemory: boolean): SandboxUsage {
    let memoryBytes = 0;
    if (readMemory && this.runtime && this.context) {
      try {
        const usage = this.runtime.computeMemoryUsage();
        const used = this.context.getProp(usage, 'memory_used_size');
        if (this.context.typeof(used) === 'number') memoryBytes = this.context.getNumber(used);
        used.dispose();
        usage.dispose();
      } catch {
        memoryBytes = 0;
      }
    }
    return { fuelOrInterrupts: this.interrupts, memoryBytes, wallMs: elapsed(started), toolCalls: this.toolCalls };
  }
}

function isNull(context: QuickJSContext, handle: QuickJSHandle): boolean {
  return context.sameValue(handle, context.null);
}

/** The four sfc32 seed words from one 32-bit seed (splitmix32), or from the host's CSPRNG. */
function seedWords(seed: number | undefined): [number, number, number, number] {
  if (seed === undefined) {
    const words = crypto.getRandomValues(new Uint32Array(4));
    return [words[0] ?? 0, words[1] ?? 0, words[2] ?? 0, words[3] ?? 1];
  }
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return [next(), next(), next(), next()];
}

/** JSON data within `maxBytes`, as text and as a fresh value; or the sentence saying why not. */
function checkJson(value: unknown, maxBytes: number, what: string): { json: string; value: JsonValue } | { problem: string } {
  const problem = jsonProblem(value, what);
  if (problem) return { problem };
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) return { problem: `${what} is ${bytes} bytes as JSON, more than ${maxBytes}` };
  return { json, value: JSON.parse(json) as JsonValue };
}

/**
 * Why `value` may not cross the boundary: not JSON data, nested deeper than {@link MAX_JSON_DEPTH},
 * or holding a `__proto__` key (which `JSON.parse` makes an own property, but which a later
 * assignment or merge on the host would turn into a prototype change).
 */
function jsonProblem(value: unknown, what: string): string | undefined {
  if (value === undefined) return `${what} is not JSON data (undefined)`;
  const issues = jsonDataIssues(value, { maxDepth: MAX_JSON_DEPTH, maxIssues: 1 });
  const issue = issues[0];
  if (issue) return `${what} is not JSON data: ${formatPath(issue.path)} ${issue.message}`;
  const proto = protoKeyPath(value);
  if (proto) return `${what} has a __proto__ key at ${formatPath(proto)}`;
  return undefined;
}

function protoKeyPath(value: unknown): (string | number)[] | undefined {
  const pending: Array<[unknown, (string | number)[]]> = [[value, []]];
  while (pending.length > 0) {
    const [current, path] = pending.pop() as [unknown, (string | number)[]];
    if (typeof current !== 'object' || current === null) continue;
    if (Array.isArray(current)) {
      current.forEach((item, index) => {
        pending.push([item, [...path, index]]);
      });
      continue;
    }
    if (Object.hasOwn(current, '__proto__')) return [...path, '__proto__'];
    for (const [key, item] of Object.entries(current)) pending.push([item, [...path, key]]);
  }
  return undefined;
}

function formatPath(path: (string | number)[]): string {
  return `$${path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('')}`;
}

function safeParse(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

function safeDump(context: QuickJSContext, handle: QuickJSHandle): unknown {
  try {
    return context.dump(handle) as unknown;
  } catch {
    return '?';
  }
}

function clip(text: string): string {
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
}

function quote(text: string): string {
  return JSON.stringify(clip(text));
}
