/**
 * The execution engine of the local Step Functions service: `aws-local-stepfunctions` (loaded
 * through `interpreter-patch.ts`) with our replacements for the parts it gets wrong or that a
 * service needs and an interpreter lacks.
 *
 * Kept from the library: the `StateMachine.run` shell (abort, execution `TimeoutSeconds`),
 * `StateExecutor` (InputPath/Parameters/ResultSelector/ResultPath/OutputPath order, Retry with
 * backoff/jitter/MaxDelaySeconds, Catch), JSONPath evaluation (jsonpath-plus), the Choice state
 * shell (Default, `States.NoChoiceMatched`), `Succeed`.
 *
 * Replaced (prototype overrides on the exported internals, installed once at import):
 * - the run loop: a context object with `Execution.{Id,Name,Input,StartTime,RoleArn}`,
 *   `StateMachine.{Id,Name}`, `State.{Name,EnteredTime,RetryCount}` and `Task.Token`; the same
 *   `$$.Execution` inside Map/Parallel branches (the library gave branches their own input);
 *   AWS-shaped history events (`PassStateEntered`, `TaskScheduled`, `MapIterationStarted` …);
 * - Task: calls the host's `runTask` (no Lambda SDK, no 60 s default timeout, no unhandled
 *   rejection when a timeout wins the race), `TimeoutSeconds(Path)`/`HeartbeatSeconds(Path)`;
 * - Map/Parallel: branch scopes for deterministic replay keys, no iterations started after a
 *   failure, Map/Parallel history events;
 * - Pass (a falsy `Result` such as 0/false/null was ignored), Wait (`Seconds: 0`, journaled
 *   deadlines that survive restarts, timers longer than 24.8 days), Fail (no `Error` no longer
 *   becomes "FailStateError"; intrinsics in `ErrorPath`/`CausePath`), Choice (all operators
 *   re-implemented with AWS's type rules, `Is*: false`), intrinsic functions (`intrinsics.ts`),
 *   payload templates (values copied, not aliased to the live context), ResultPath (`$` replaced
 *   the whole input in AWS but wrote a key named "$" in the library).
 *
 * Determinism for restarts: every state entry gets a key `<scope><state>@<n>` (scope = parent
 * Map/Parallel state key + iteration/branch index, n = how many times this state was entered in
 * this scope), every task attempt `<key>#<attempt>`. The host journals task results, Wait and
 * Retry deadlines and random intrinsic values under these keys, so re-running an execution from
 * its input after a restart replays the recorded past and continues from the first unrecorded
 * step. History events carry the same keys, so replayed events are not recorded twice.
 */
import { interpreter as L } from './interpreter-patch.ts';
import { evaluateIntrinsic, IntrinsicError } from './intrinsics.ts';

/** A task attempt the engine asks the host to perform. */
export interface TaskCall {
  /** Deterministic id of this attempt (stable across replays). */
  key: string;
  stateName: string;
  /** The Task state definition. */
  state: Record<string, unknown>;
  resource: string;
  /** The effective input: state input after InputPath and Parameters. */
  input: unknown;
  /** Set for `.waitForTaskToken` resources. */
  taskToken?: string;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
  /** Aborted when the execution stops, times out, fails in a sibling branch or the service stops. */
  signal: AbortSignal;
  /** Records a history event in the task's scope (`dedupe` must be unique per attempt). */
  emit: (dedupe: string, type: string, details?: Record<string, unknown>) => void;
}

/** What the engine needs from the service that runs an execution. */
export interface EngineHost {
  executionArn: string;
  executionName: string;
  stateMachineArn: string;
  stateMachineName: string;
  roleArn: string;
  /** ISO time of the execution start (`$$.Execution.StartTime`). */
  startTime: string;
  /** Root execution input (`$$.Execution.Input`). */
  input: unknown;
  runTask(call: TaskCall): Promise<unknown>;
  /** The task token for a task attempt key (deterministic, so replays regenerate it). */
  tokenFor(key: string): string;
  /** Appends a history event unless one with the same dedupe key was already recorded. */
  emit(scope: string, dedupe: string, type: string, details?: Record<string, unknown>): void;
  /** Returns the journaled value for `key`, computing and journaling it the first time. */
  record<T>(key: string, compute: () => T): T;
}

const RT = Symbol('autonomy.sfn.runtime');

interface ScopeInfo {
  host: EngineHost;
  scope: string;
  /** Key of the state currently executing in this scope. */
  base: string;
  attempt: number;
  randomCounter: number;
  entries: Map<string, number>;
}

// biome-ignore lint/suspicious/noExplicitAny: library internals are untyped
type Any = any;

function info(context: Any): ScopeInfo {
  const i = context?.[RT] as ScopeInfo | undefined;
  if (!i) throw new Error('local Step Functions engine: context without runtime info');
  return i;
}

/** JSON copy so outputs never alias the live context object or inputs. */
function copy<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** History events carry JSON strings for inputs and outputs, as the real API does. */
export function toJsonText(v: unknown): string {
  return JSON.stringify(v === undefined ? null : v);
}

function runtimeError(message: string): Error {
  return new L.StatesRuntimeError(message);
}

function query(path: string, json: unknown, context: unknown, options?: Record<string, unknown>): unknown {
  return L.jsonPathQuery(path, json, context, options);
}

function evalIntrinsic(text: string, json: unknown, context: Any): unknown {
  const i = context?.[RT] as ScopeInfo | undefined;
  try {
    return evaluateIntrinsic(
      text,
      (p) => copy(query(p, json, context)),
      i ? (name, compute) => i.host.record(`${i.base}#${i.attempt}:${name}:${i.randomCounter++}`, compute) : undefined,
    );
  } catch (e) {
    if (e instanceof IntrinsicError) throw runtimeError(e.message);
    throw e;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function processPayloadTemplate(template: unknown, json: unknown, context: unknown): unknown {
  if (Array.isArray(template)) return template.map((v) => processPayloadTemplate(v, json, context));
  if (!isPlainObject(template)) return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$') && typeof value === 'string') {
      const name = key.slice(0, -2);
      out[name] = value.startsWith('$') ? copy(query(value, json, context)) : evalIntrinsic(value, json, context);
    } else {
      out[key] = processPayloadTemplate(value, json, context);
    }
  }
  return out;
}

class ResultPathMatchFailure extends L.RuntimeError {
  constructor(message: string) {
    super(message);
    this.name = 'States.ResultPathMatchFailure';
  }
}

/** Splits a reference path (`$.a.b`, `$['a'].b`, `$.a[0]`) into segments. */
function referenceSegments(path: string): (string | number)[] {
  const segs: (string | number)[] = [];
  const re = /\.([^.[\]]+)|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]|\[\s*(\d+)\s*\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) throw runtimeError(`Invalid ResultPath '${path}'`);
    if (m[4] !== undefined) segs.push(Number(m[4]));
    else segs.push((m[1] ?? m[2] ?? m[3]) as string);
  }
  return segs;
}

function processResultPath(path: string | null | undefined, rawInput: unknown, result: unknown): unknown {
  if (path === undefined || path === '$') return result;
  if (path === null) return rawInput;
  const segs = referenceSegments(path);
  if (!isPlainObject(rawInput)) throw new ResultPathMatchFailure(`Unable to apply ResultPath "${path}" to input ${toJsonText(rawInput)}`);
  const root = copy(rawInput) as Record<string, unknown>;
  let cur: Any = root;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] as string | number;
    if (i === segs.length - 1) {
      cur[seg] = result;
      break;
    }
    if (cur[seg] === undefined || cur[seg] === null) cur[seg] = {};
    if (typeof cur[seg] !== 'object') throw new ResultPathMatchFailure(`Unable to apply ResultPath "${path}": '${String(seg)}' is not an object`);
    cur = cur[seg];
  }
  return root;
}

// ---- Choice rules ---------------------------------------------------------------------------

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function timestampMs(v: unknown): number | undefined {
  if (typeof v !== 'string' || !RFC3339.test(v)) return undefined;
  const ms = Date.parse(v.toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}

/** `StringMatches`: `*` is a wildcard, `\*` and `\\` are literals. */
function wildcardMatch(pattern: string, s: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      re += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else if (c === '*') re += '.*';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's').test(s);
}

function compare(op: string, a: unknown, b: unknown): boolean {
  const kind = op.replace(/(Equals|LessThanEquals|GreaterThanEquals|LessThan|GreaterThan|Matches)$/, '');
  const rel = op.slice(kind.length);
  let x: number | string;
  let y: number | string;
  if (kind === 'String') {
    if (typeof a !== 'string' || typeof b !== 'string') return false;
    if (rel === 'Matches') return wildcardMatch(b, a);
    x = a;
    y = b;
  } else if (kind === 'Numeric') {
    if (typeof a !== 'number' || typeof b !== 'number') return false;
    x = a;
    y = b;
  } else if (kind === 'Boolean') {
    return typeof a === 'boolean' && typeof b === 'boolean' && a === b;
  } else if (kind === 'Timestamp') {
    const ta = timestampMs(a);
    const tb = timestampMs(b);
    if (ta === undefined || tb === undefined) return false;
    x = ta;
    y = tb;
  } else return false;
  switch (rel) {
    case 'Equals':
      return x === y;
    case 'LessThan':
      return x < y;
    case 'GreaterThan':
      return x > y;
    case 'LessThanEquals':
      return x <= y;
    case 'GreaterThanEquals':
      return x >= y;
    default:
      return false;
  }
}

const COMPARATORS = /^(String|Numeric|Boolean|Timestamp)(Equals|LessThan|GreaterThan|LessThanEquals|GreaterThanEquals|Matches)(Path)?$/;

function testChoiceRule(rule: Any, input: unknown, context: unknown): boolean {
  if (Array.isArray(rule.And)) return rule.And.every((r: Any) => testChoiceRule(r, input, context));
  if (Array.isArray(rule.Or)) return rule.Or.some((r: Any) => testChoiceRule(r, input, context));
  if (rule.Not) return !testChoiceRule(rule.Not, input, context);
  const variable = query(rule.Variable, input, context, { ignoreDefinedValueConstraint: true });
  for (const [op, expected] of Object.entries(rule as Record<string, unknown>)) {
    if (op === 'Variable' || op === 'Next' || op === 'Comment') continue;
    const isChecks: Record<string, (v: unknown) => boolean> = {
      IsNull: (v) => v === null,
      IsPresent: (v) => v !== undefined,
      IsNumeric: (v) => typeof v === 'number',
      IsString: (v) => typeof v === 'string',
      IsBoolean: (v) => typeof v === 'boolean',
      IsTimestamp: (v) => timestampMs(v) !== undefined,
    };
    const check = isChecks[op];
    if (check) {
      if (op !== 'IsPresent' && variable === undefined) {
        throw runtimeError(`Invalid path '${rule.Variable}': The choice state's condition path references an invalid value.`);
      }
      return check(variable) === (expected === true);
    }
    const m = COMPARATORS.exec(op);
    if (!m) throw runtimeError(`Unsupported Choice operator ${op}`);
    if (variable === undefined) {
      throw runtimeError(`Invalid path '${rule.Variable}': The choice state's condition path references an invalid value.`);
    }
    let other = expected;
    if (m[3]) {
      other = query(String(expected), input, context, { ignoreDefinedValueConstraint: true });
      if (other === undefined) throw runtimeError(`Invalid path '${String(expected)}': The choice state's condition path references an invalid value.`);
    }
    return compare(op.replace(/Path$/, ''), variable, other);
  }
  throw runtimeError('Choice rule without a comparison operator');
}

// ---- helpers for Map/Parallel ---------------------------------------------------------------

/** Runs `jobs` with at most `limit` in flight; stops starting new ones once one fails. */
async function runLimited<T>(count: number, limit: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      const i = next++;
      try {
        results[i] = await job(i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const workers = Array.from({ length: Math.min(count, limit > 0 ? limit : count) }, worker);
  await Promise.all(workers);
  return results;
}

function unwrapExecutionError(e: unknown): unknown {
  return e instanceof L.ExecutionError ? (e as Error).cause : e;
}

/** Host-visible shape of an execution's error: the state error that ended it. */
export function errorInfo(e: unknown): { error: string; cause: string } {
  const err = unwrapExecutionError(e) as Any;
  if (err instanceof Error) {
    return { error: err.name ?? 'Error', cause: typeof (err as Any).causeText === 'string' ? (err as Any).causeText : err.message };
  }
  return { error: 'States.Runtime', cause: String(err) };
}

function intConstraint(path: string, min: number): Any[] {
  const Base = class {
    test(v: unknown) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
        throw runtimeError(`The value of '${path}' must be an integer >= ${min}, got ${toJsonText(v)}`);
      }
    }
  };
  return [Base];
}

// ---- overrides ------------------------------------------------------------------------------

let installed = false;

/** Installs the overrides into the patched interpreter (idempotent; done at import). */
export function installEngine(): void {
  if (installed) return;
  installed = true;
  L.hooks.evaluateIntrinsicFunction = evalIntrinsic as never;
  L.hooks.processPayloadTemplate = processPayloadTemplate as never;
  L.hooks.processResultPath = processResultPath as never;

  L.ChoiceStateAction.prototype.testChoiceRule = (rule: Any, input: unknown, context: unknown) => testChoiceRule(rule, input, context);

  L.PassStateAction.prototype.execute = async function (this: Any, input: unknown) {
    const def = this.stateDefinition;
    return this.buildExecutionResult('Result' in def ? copy(def.Result) : input);
  };

  L.FailStateAction.prototype.execute = async function (this: Any, input: unknown, context: unknown) {
    const def = this.stateDefinition;
    const resolve = (path: string | undefined): unknown =>
      path === undefined ? undefined : path.startsWith('$') ? query(path, input, context) : evalIntrinsic(path, input, context);
    const error = def.ErrorPath !== undefined ? resolve(def.ErrorPath) : def.Error;
    const cause = def.CausePath !== undefined ? resolve(def.CausePath) : def.Cause;
    if (error !== undefined && typeof error !== 'string') throw runtimeError(`ErrorPath '${def.ErrorPath}' must resolve to a string`);
    if (cause !== undefined && typeof cause !== 'string') throw runtimeError(`CausePath '${def.CausePath}' must resolve to a string`);
    const err = new L.FailStateError(error ?? '', cause ?? '');
    err.failState = { hasError: error !== undefined, hasCause: cause !== undefined };
    throw err;
  };

  L.WaitStateAction.prototype.execute = async function (this: Any, input: unknown, context: Any, options: Any) {
    const def = this.stateDefinition;
    const i = info(context);
    const deadline = i.host.record(`${i.base}:wait`, () => {
      if (def.Seconds !== undefined) return Date.now() + def.Seconds * 1000;
      if (def.SecondsPath !== undefined) {
        const s = query(def.SecondsPath, input, context, { constraints: intConstraint(def.SecondsPath, 0) }) as number;
        return Date.now() + s * 1000;
      }
      const ts = def.Timestamp ?? query(def.TimestampPath, input, context);
      const ms = timestampMs(ts);
      if (ms === undefined) throw runtimeError(`Wait state timestamp ${toJsonText(ts)} is not an RFC3339 timestamp`);
      return ms;
    });
    await sleepUntil(deadline, options.abortSignal);
    return this.buildExecutionResult(input);
  };

  const originalExecute = L.StateExecutor.prototype.execute;
  L.StateExecutor.prototype.execute = function (this: Any, input: unknown, context: unknown, options: unknown) {
    this.__context = context;
    return originalExecute.call(this, input, context, options);
  };
  const originalShouldRetry = L.StateExecutor.prototype.shouldRetry;
  L.StateExecutor.prototype.shouldRetry = function (this: Any, error: unknown, overrides: unknown) {
    const decision = originalShouldRetry.call(this, error, overrides);
    if (decision.shouldRetry && this.__context) {
      // Journal the retry deadline so a restart resumes the backoff instead of restarting it.
      const i = info(this.__context);
      const deadline = i.host.record(`${i.base}#${i.attempt}:retry`, () => Date.now() + decision.waitTimeBeforeRetry);
      decision.waitTimeBeforeRetry = Math.max(0, deadline - Date.now());
      this.__context.State.RetryCount = (this.__context.State.RetryCount ?? 0) + 1;
    }
    return decision;
  };

  L.StateExecutor.prototype.executeTaskState = async (
    stateDefinition: Any,
    rawInput: unknown,
    input: unknown,
    context: Any,
    stateName: string,
    options: Any,
  ) => {
    const i = info(context);
    const key = `${i.base}#${i.attempt}`;
    const resource = String(stateDefinition.Resource);
    const seconds = (field: string): number | undefined => {
      if (stateDefinition[field] !== undefined) return stateDefinition[field];
      const p = stateDefinition[`${field}Path`];
      if (p === undefined) return undefined;
      return query(p, rawInput, context, { constraints: intConstraint(p, 1) }) as number;
    };
    const call: TaskCall = {
      key,
      stateName,
      state: stateDefinition,
      resource,
      input,
      signal: options.abortSignal,
      emit: (dedupe, type, details) => i.host.emit(i.scope, `${key}:${dedupe}`, type, details),
    };
    const timeout = seconds('TimeoutSeconds');
    const heartbeat = seconds('HeartbeatSeconds');
    if (timeout !== undefined) call.timeoutSeconds = timeout;
    if (heartbeat !== undefined) call.heartbeatSeconds = heartbeat;
    if (resource.endsWith('.waitForTaskToken')) call.taskToken = i.host.tokenFor(key);
    try {
      const result = await i.host.runTask(call);
      return { stateResult: result, nextState: stateDefinition.Next ?? '', isEndState: stateDefinition.End === true };
    } catch (e) {
      if (e instanceof Error) throw e;
      throw Object.assign(new Error(String(e)), { name: 'States.TaskFailed' });
    } finally {
      i.attempt++;
    }
  };

  L.MapStateAction.prototype.execute = async function (this: Any, input: unknown, context: Any, options: Any) {
    const def = this.stateDefinition;
    const i = info(context);
    const base = i.base;
    const items = def.ItemsPath !== undefined ? query(def.ItemsPath, input, context) : input;
    if (!Array.isArray(items)) throw runtimeError(`Map state '${this.stateName}': ItemsPath must point to an array, got ${toJsonText(items)}`);
    let limit = def.MaxConcurrency ?? 0;
    if (def.MaxConcurrencyPath !== undefined) limit = query(def.MaxConcurrencyPath, input, context, { constraints: intConstraint(def.MaxConcurrencyPath, 0) }) as number;
    const machine = new L.StateMachine(def.ItemProcessor ?? def.Iterator, { validationOptions: { noValidate: true } });
    const selector = def.ItemSelector ?? def.Parameters;
    i.host.emit(i.scope, `${base}:MapStateStarted`, 'MapStateStarted', { mapStateStartedEventDetails: { length: items.length } });
    const aborts: (() => void)[] = [];
    try {
      const results = await runLimited(items.length, limit, async (index) => {
        const scope = `${base}[${index}]/`;
        context.Map = { Item: { Index: index, Value: items[index] } };
        let value: unknown;
        try {
          value = selector !== undefined ? processPayloadTemplate(selector, input, context) : items[index];
        } finally {
          delete context.Map;
        }
        const detail = { name: this.stateName, index };
        i.host.emit(scope, `${scope}:started`, 'MapIterationStarted', { mapIterationStartedEventDetails: detail });
        const run = machine.run(value, { ...options.runOptions, _scope: scope });
        aborts.push(run.abort);
        try {
          const out = await run.result;
          i.host.emit(scope, `${scope}:succeeded`, 'MapIterationSucceeded', { mapIterationSucceededEventDetails: detail });
          return out;
        } catch (e) {
          const aborted = e instanceof L.ExecutionAbortedError;
          i.host.emit(scope, `${scope}:${aborted ? 'aborted' : 'failed'}`, aborted ? 'MapIterationAborted' : 'MapIterationFailed', {
            [aborted ? 'mapIterationAbortedEventDetails' : 'mapIterationFailedEventDetails']: detail,
          });
          throw e;
        }
      });
      i.host.emit(i.scope, `${base}:MapStateSucceeded`, 'MapStateSucceeded');
      return this.buildExecutionResult(results);
    } catch (e) {
      for (const abort of aborts) abort();
      i.host.emit(i.scope, `${base}:MapStateFailed`, 'MapStateFailed');
      throw unwrapExecutionError(e);
    }
  };

  L.ParallelStateAction.prototype.execute = async function (this: Any, input: unknown, context: Any, options: Any) {
    const def = this.stateDefinition;
    const i = info(context);
    const base = i.base;
    i.host.emit(i.scope, `${base}:ParallelStateStarted`, 'ParallelStateStarted');
    const aborts: (() => void)[] = [];
    try {
      const results = await runLimited(def.Branches.length, 0, async (b) => {
        const machine = new L.StateMachine(def.Branches[b], { validationOptions: { noValidate: true } });
        const run = machine.run(copy(input), { ...options.runOptions, _scope: `${base}[b${b}]/` });
        aborts.push(run.abort);
        return run.result;
      });
      i.host.emit(i.scope, `${base}:ParallelStateSucceeded`, 'ParallelStateSucceeded');
      return this.buildExecutionResult(results);
    } catch (e) {
      for (const abort of aborts) abort();
      i.host.emit(i.scope, `${base}:ParallelStateFailed`, 'ParallelStateFailed');
      throw unwrapExecutionError(e);
    }
  };

  L.StateMachine.prototype.execute = async function (this: Any, input: unknown, options: Any, cleanupFn: () => void) {
    const host: EngineHost = options.runOptions._host;
    const scope: string = options.runOptions._scope ?? '';
    const def = this.definition;
    const context: Any = {
      Execution: {
        Id: host.executionArn,
        Input: copy(host.input),
        StartTime: host.startTime,
        Name: host.executionName,
        RoleArn: host.roleArn,
        RedriveCount: 0,
      },
      StateMachine: { Id: host.stateMachineArn, Name: host.stateMachineName },
    };
    const si: ScopeInfo = { host, scope, base: '', attempt: 0, randomCounter: 0, entries: new Map() };
    Object.defineProperty(context, RT, { value: si, enumerable: false });
    const logger = { dispatchStateFailedEvent() {}, dispatchStateRetriedEvent() {}, dispatchStateCaughtEvent() {} };
    let name: string = def.StartAt;
    let current: unknown = copy(input);
    try {
      for (;;) {
        const state = def.States[name];
        if (!state) throw runtimeError(`State '${name}' does not exist`);
        const n = (si.entries.get(name) ?? 0) + 1;
        si.entries.set(name, n);
        si.base = `${scope}${name}@${n}`;
        si.attempt = 0;
        si.randomCounter = 0;
        // AWS shows RetryCount only for states that can retry.
        context.State = ['Task', 'Map', 'Parallel'].includes(state.Type)
          ? { Name: name, EnteredTime: new Date().toISOString(), RetryCount: 0 }
          : { Name: name, EnteredTime: new Date().toISOString() };
        if (state.Type === 'Task' && String(state.Resource).endsWith('.waitForTaskToken')) {
          const base = si.base;
          context.Task = {
            get Token() {
              return host.tokenFor(`${base}#${si.attempt}`);
            },
          };
        } else delete context.Task;
        host.emit(scope, `${si.base}:entered`, `${state.Type}StateEntered`, {
          stateEnteredEventDetails: { name, input: toJsonText(current), inputDetails: { truncated: false } },
        });
        const executor = new L.StateExecutor(name, state);
        const r = await executor.execute(current, context, { ...options, eventLogger: logger });
        if (options.abortSignal.aborted) return null;
        host.emit(scope, `${si.base}:exited`, `${state.Type}StateExited`, {
          stateExitedEventDetails: { name, output: toJsonText(r.stateResult), outputDetails: { truncated: false } },
        });
        current = r.stateResult;
        if (r.isEndState || state.Type === 'Succeed') break;
        name = r.nextState;
      }
    } catch (e) {
      throw new L.ExecutionError(e);
    } finally {
      cleanupFn();
      options.eventLogger.close();
    }
    return current;
  };
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Sleeps until `deadline` (epoch ms) or until `signal` aborts; handles waits beyond 24.8 days. */
export async function sleepUntil(deadline: number, signal?: AbortSignal): Promise<void> {
  while (!signal?.aborted) {
    const left = deadline - Date.now();
    if (left <= 0) return;
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.min(left, MAX_TIMER_MS));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** A started run: `result` settles with the output, or rejects (see `classifyOutcome`). */
export interface EngineRun {
  result: Promise<unknown>;
  abort: () => void;
}

/** Starts a run of `definition` (already validated) with `host` providing tasks and journal. */
export function startRun(definition: unknown, input: unknown, host: EngineHost): EngineRun {
  installEngine();
  const machine = new L.StateMachine(definition, { validationOptions: { noValidate: true } });
  const run = machine.run(copy(input), { _host: host, _scope: '' });
  return { result: run.result, abort: run.abort };
}

/** How a run ended. */
export type Outcome =
  | { status: 'SUCCEEDED'; output: unknown }
  | { status: 'FAILED'; error?: string; cause?: string }
  | { status: 'TIMED_OUT' }
  | { status: 'ABORTED' };

/** Awaits a run and classifies its end the way DescribeExecution reports it. */
export async function outcomeOf(run: EngineRun): Promise<Outcome> {
  try {
    return { status: 'SUCCEEDED', output: await run.result };
  } catch (e) {
    if (e instanceof L.ExecutionAbortedError) return { status: 'ABORTED' };
    if (e instanceof L.ExecutionTimeoutError) return { status: 'TIMED_OUT' };
    const inner = unwrapExecutionError(e) as Any;
    const out: { status: 'FAILED'; error?: string; cause?: string } = { status: 'FAILED' };
    const { error, cause } = errorInfo(inner);
    const fs = inner?.failState as { hasError: boolean; hasCause: boolean } | undefined;
    if (!fs || fs.hasError) out.error = error;
    if (!fs || fs.hasCause) out.cause = cause;
    return out;
  }
}

installEngine();
