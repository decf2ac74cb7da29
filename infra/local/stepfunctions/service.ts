/**
 * Local AWS Step Functions service: the AWS JSON-protocol API (`AWSStepFunctions.*`) over our
 * engine (`engine.ts`, built on `aws-local-stepfunctions`), with persistence under `dataDir`.
 *
 * Persistence and restarts. Files (atomic JSON, see `store.ts`): `state-machines.json`,
 * `executions/<id>.json` (status, input, output, the definition the execution started with, a
 * per-execution secret and the journal) and `history/<id>.json` (the events). The journal holds,
 * under deterministic keys (see `engine.ts`), every task attempt (pending with its start time,
 * succeeded with its output, failed with error/cause, timed out), every Wait/Retry deadline and
 * every random intrinsic value. On `start()`, each execution still RUNNING is re-run from its
 * input: journaled task results are replayed instead of invoking the host again, a task that
 * was waiting for a token waits again for the same token (tokens are derived from the key and
 * the execution secret, so the replay regenerates the token the outside world holds) with the
 * remaining TimeoutSeconds, Wait states sleep only the remaining time, and history events that
 * were already recorded are not recorded again. A plain task that was in flight during the
 * crash is invoked again (at-least-once, as with a Lambda retry).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { AwsServiceError, type JsonOperation } from '../http/aws-json.ts';
import { checkDefinition, DefinitionError } from './definition-checks.ts';
import { type EngineHost, type EngineRun, type Outcome, outcomeOf, startRun, type TaskCall, toJsonText } from './engine.ts';
import { interpreter } from './interpreter-patch.ts';
import { JsonStore } from './store.ts';

/**
 * Performs a Task for the service (the host's Lambda invoker / service integrations).
 * Throw an Error whose `name` is the ASL error (e.g. 'Lambda.ServiceException', a function's
 * error type, 'States.TaskFailed') and whose `message` is the cause.
 */
export type TaskInvoker = (request: { resource: string; input: unknown; taskToken?: string; executionArn: string; stateName: string }) => Promise<unknown>;

/** Constructor options of {@link StepFunctionsService}. */
export interface StepFunctionsServiceOptions {
  dataDir: string;
  region: string;
  accountId: string;
  invokeTask: TaskInvoker;
  log?: (line: string) => void;
}

type MachineType = 'STANDARD' | 'EXPRESS';
type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

interface MachineRecord {
  stateMachineArn: string;
  name: string;
  definition: string;
  roleArn: string;
  type: MachineType;
  creationDate: number;
  updateDate?: number;
}

interface TaskEntry {
  status: 'pending' | 'succeeded' | 'failed' | 'timed_out';
  startedAt: number;
  token?: string;
  output?: unknown;
  error?: string;
  cause?: string;
}

interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  stateMachineName: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: number;
  stopDate?: number;
  definition: string;
  roleArn: string;
  secret: string;
  tasks: Record<string, TaskEntry>;
  values: Record<string, unknown>;
}

interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  _k: string;
  [details: string]: unknown;
}

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  heartbeat: () => void;
}

interface LiveExecution {
  record: ExecutionRecord;
  history: HistoryEvent[];
  seen: Map<string, number>;
  lastByScope: Map<string, number>;
  waiters: Map<string, Waiter>;
  run?: EngineRun;
  done?: Promise<void>;
  /** Set when the service stops: the run is torn down but stays RUNNING on disk. */
  suspended: boolean;
  /** EXPRESS sync executions are not stored. */
  transient: boolean;
  saveQueued: boolean;
}

const NAME_RE = /^[A-Za-z0-9_-]{1,80}$/;

function epochSeconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

function fileId(arn: string): string {
  return createHmac('sha256', 'file').update(arn).digest('hex').slice(0, 32);
}

function str(input: Record<string, unknown>, key: string, required = true): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) {
    if (required) throw new AwsServiceError('ValidationException', `Value null at '${key}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== 'string') throw new AwsServiceError('ValidationException', `'${key}' must be a string`);
  return v;
}

function taskError(name: string | undefined, cause: string | undefined): Error {
  const e = new Error(cause ?? '');
  e.name = name ?? '';
  return e;
}

function paginate<T>(items: T[], input: Record<string, unknown>): { page: T[]; nextToken?: string } {
  const max = typeof input.maxResults === 'number' && input.maxResults > 0 ? Math.min(input.maxResults, 1000) : 100;
  let offset = 0;
  if (typeof input.nextToken === 'string') {
    offset = Number(Buffer.from(input.nextToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) throw new AwsServiceError('InvalidToken', 'Invalid nextToken');
  }
  const page = items.slice(offset, offset + max);
  const out: { page: T[]; nextToken?: string } = { page };
  if (offset + max < items.length) out.nextToken = Buffer.from(String(offset + max)).toString('base64url');
  return out;
}

/** The local Step Functions service. See the module comment for persistence and restarts. */
export class StepFunctionsService {
  private readonly opts: StepFunctionsServiceOptions;
  private readonly store: JsonStore;
  private readonly machines = new Map<string, MachineRecord>();
  private readonly executions = new Map<string, LiveExecution>();
  private started = false;

  /** Creates the service; call {@link start} before use. */
  constructor(options: StepFunctionsServiceOptions) {
    this.opts = options;
    this.store = new JsonStore(options.dataDir);
  }

  private log(line: string): void {
    this.opts.log?.(`[stepfunctions] ${line}`);
  }

  /** Loads persisted state and resumes executions that were RUNNING (waiting tasks, Waits). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const m of this.store.read<MachineRecord[]>('state-machines.json') ?? []) this.machines.set(m.stateMachineArn, m);
    for (const file of this.store.list('executions')) {
      const record = this.store.read<ExecutionRecord>(`executions/${file}`);
      if (!record) continue;
      const history = this.store.read<HistoryEvent[]>(`history/${file}`) ?? [];
      const live = this.newLive(record, history, false);
      this.executions.set(record.executionArn, live);
      if (record.status === 'RUNNING') {
        this.log(`resuming ${record.executionArn}`);
        this.launch(live);
      }
    }
  }

  /** Stops all timers and runs (executions stay RUNNING on disk and resume on the next start). */
  async stop(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const live of this.executions.values()) {
      if (live.record.status !== 'RUNNING' || !live.run) continue;
      live.suspended = true;
      this.flush(live);
      live.run.abort();
      if (live.done) pending.push(live.done);
    }
    await Promise.all(pending);
    this.executions.clear();
    this.machines.clear();
    this.started = false;
  }

  // ---- state machines -----------------------------------------------------------------------

  private machineArn(name: string): string {
    return `arn:aws:states:${this.opts.region}:${this.opts.accountId}:stateMachine:${name}`;
  }

  private saveMachines(): void {
    this.store.write('state-machines.json', [...this.machines.values()]);
  }

  private validate(definition: string): void {
    try {
      checkDefinition(definition);
    } catch (e) {
      if (e instanceof DefinitionError) throw new AwsServiceError('InvalidDefinition', e.message);
      throw e;
    }
  }

  /**
   * Creates a state machine, or updates it when one with the same name exists (deploy-style,
   * idempotent). Returns its ARN. Throws AwsServiceError('InvalidDefinition') on bad definitions.
   */
  createStateMachine(params: { name: string; definition: string; roleArn?: string; type?: string }): string {
    this.validate(params.definition);
    const type = params.type ?? 'STANDARD';
    if (type !== 'STANDARD' && type !== 'EXPRESS') throw new AwsServiceError('ValidationException', `Invalid state machine type ${type}`);
    if (!NAME_RE.test(params.name)) throw new AwsServiceError('InvalidName', `Invalid State Machine name: ${params.name}`);
    const arn = this.machineArn(params.name);
    const existing = this.machines.get(arn);
    const roleArn = params.roleArn || `arn:aws:iam::${this.opts.accountId}:role/local-stepfunctions`;
    if (existing) {
      if (existing.definition !== params.definition || existing.roleArn !== roleArn) {
        existing.definition = params.definition;
        existing.roleArn = roleArn;
        existing.updateDate = Date.now();
        this.saveMachines();
      }
      return arn;
    }
    this.machines.set(arn, { stateMachineArn: arn, name: params.name, definition: params.definition, roleArn, type, creationDate: Date.now() });
    this.saveMachines();
    return arn;
  }

  private machine(arn: string | undefined): MachineRecord {
    if (!arn || !/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/.test(arn)) throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    const m = this.machines.get(arn);
    if (!m) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return m;
  }

  // ---- executions ---------------------------------------------------------------------------

  private newLive(record: ExecutionRecord, history: HistoryEvent[], transient: boolean): LiveExecution {
    const seen = new Map<string, number>();
    for (const e of history) seen.set(e._k, e.id);
    return { record, history, seen, lastByScope: new Map(), waiters: new Map(), suspended: false, transient, saveQueued: false };
  }

  private flush(live: LiveExecution): void {
    live.saveQueued = false;
    if (live.transient) return;
    const id = fileId(live.record.executionArn);
    this.store.write(`executions/${id}.json`, live.record);
    this.store.write(`history/${id}.json`, live.history);
  }

  /** Coalesces the writes of one tick (a state usually emits several events at once). */
  private save(live: LiveExecution): void {
    if (live.suspended || live.transient || live.saveQueued) return;
    live.saveQueued = true;
    queueMicrotask(() => {
      if (live.saveQueued && !live.suspended) this.flush(live);
    });
  }

  private emit(live: LiveExecution, scope: string, dedupe: string, type: string, details?: Record<string, unknown>): void {
    if (live.suspended) return;
    const known = live.seen.get(dedupe);
    if (known !== undefined) {
      live.lastByScope.set(scope, known);
      return;
    }
    const id = live.history.length + 1;
    let prev = live.lastByScope.get(scope);
    for (let s = scope; prev === undefined && s.length > 0; ) {
      s = s.slice(0, s.lastIndexOf('[')).replace(/@\d+$/, '');
      s = s.includes('/') ? s.slice(0, s.lastIndexOf('/') + 1) : '';
      prev = live.lastByScope.get(s);
    }
    live.history.push({ id, previousEventId: prev ?? id - 1, timestamp: Date.now(), type, ...details, _k: dedupe });
    live.seen.set(dedupe, id);
    live.lastByScope.set(scope, id);
    this.save(live);
  }

  private tokenFor(record: ExecutionRecord, key: string): string {
    const body = Buffer.from(JSON.stringify({ a: record.executionArn, k: key })).toString('base64url');
    return `${body}.${createHmac('sha256', record.secret).update(key).digest('base64url')}`;
  }

  private host(live: LiveExecution): EngineHost {
    const r = live.record;
    return {
      executionArn: r.executionArn,
      executionName: r.name,
      stateMachineArn: r.stateMachineArn,
      stateMachineName: r.stateMachineName,
      roleArn: r.roleArn,
      startTime: new Date(r.startDate).toISOString(),
      input: JSON.parse(r.input),
      runTask: (call) => this.runTask(live, call),
      tokenFor: (key) => this.tokenFor(r, key),
      emit: (scope, dedupe, type, details) => this.emit(live, scope, dedupe, type, details),
      record: <T>(key: string, compute: () => T): T => {
        if (key in r.values) return r.values[key] as T;
        const v = compute();
        if (!live.suspended) {
          r.values[key] = v;
          this.save(live);
        }
        return v;
      },
    };
  }

  private launch(live: LiveExecution): void {
    const r = live.record;
    const definition = JSON.parse(r.definition) as Record<string, unknown>;
    if (typeof definition.TimeoutSeconds === 'number') {
      // After a restart the execution timeout keeps counting from the original start.
      const left = definition.TimeoutSeconds * 1000 - (Date.now() - r.startDate);
      definition.TimeoutSeconds = Math.max(left, 1) / 1000;
    }
    const run = startRun(definition, JSON.parse(r.input), this.host(live));
    live.run = run;
    live.done = outcomeOf(run).then((outcome) => this.finish(live, outcome));
  }

  private finish(live: LiveExecution, outcome: Outcome): void {
    const r = live.record;
    for (const w of live.waiters.values()) w.reject(new interpreter.ExecutionAbortedError());
    live.waiters.clear();
    if (live.suspended || r.status !== 'RUNNING') return;
    r.stopDate = Date.now();
    r.status = outcome.status;
    if (outcome.status === 'SUCCEEDED') {
      r.output = toJsonText(outcome.output);
      this.emit(live, '', 'execution:end', 'ExecutionSucceeded', { executionSucceededEventDetails: { output: r.output, outputDetails: { truncated: false } } });
    } else if (outcome.status === 'FAILED') {
      if (outcome.error !== undefined) r.error = outcome.error;
      if (outcome.cause !== undefined) r.cause = outcome.cause;
      const d: Record<string, string> = {};
      if (r.error !== undefined) d.error = r.error;
      if (r.cause !== undefined) d.cause = r.cause;
      this.emit(live, '', 'execution:end', 'ExecutionFailed', { executionFailedEventDetails: d });
    } else if (outcome.status === 'TIMED_OUT') {
      r.error = 'States.Timeout';
      this.emit(live, '', 'execution:end', 'ExecutionTimedOut', { executionTimedOutEventDetails: { error: 'States.Timeout' } });
    }
    this.flush(live);
    if (live.transient) this.executions.delete(r.executionArn);
  }

  private async runTask(live: LiveExecution, call: TaskCall): Promise<unknown> {
    const r = live.record;
    const existing = r.tasks[call.key];
    if (existing?.status === 'succeeded') return existing.output;
    if (existing?.status === 'failed') throw taskError(existing.error, existing.cause);
    if (existing?.status === 'timed_out') throw new interpreter.StatesTimeoutError();
    const legacyLambda = /^arn:aws[a-z-]*:lambda:/.test(call.resource);
    const m = /^arn:aws[a-z-]*:states:[^:]*:[^:]*:([^:]+):(.+)$/.exec(call.resource);
    const resourceType = legacyLambda ? 'lambda' : (m?.[1] ?? 'unknown');
    const resource = legacyLambda ? call.resource : (m?.[2] ?? call.resource);
    const waitForToken = call.resource.endsWith('.waitForTaskToken');
    const base = { resourceType, resource };
    const params = toJsonText(call.input);
    if (legacyLambda) {
      const d: Record<string, unknown> = { resource: call.resource, input: params, inputDetails: { truncated: false } };
      if (call.timeoutSeconds !== undefined) d.timeoutInSeconds = call.timeoutSeconds;
      call.emit('scheduled', 'LambdaFunctionScheduled', { lambdaFunctionScheduledEventDetails: d });
      call.emit('started', 'LambdaFunctionStarted');
    } else {
      const d: Record<string, unknown> = { ...base, region: this.opts.region, parameters: params };
      if (call.timeoutSeconds !== undefined) d.timeoutInSeconds = call.timeoutSeconds;
      if (call.heartbeatSeconds !== undefined) d.heartbeatInSeconds = call.heartbeatSeconds;
      call.emit('scheduled', 'TaskScheduled', { taskScheduledEventDetails: d });
      call.emit('started', 'TaskStarted', { taskStartedEventDetails: base });
    }
    const entry: TaskEntry = existing ?? { status: 'pending', startedAt: Date.now() };
    const deadline = call.timeoutSeconds !== undefined ? entry.startedAt + call.timeoutSeconds * 1000 : undefined;
    try {
      let result: unknown;
      if (waitForToken) {
        const token = call.taskToken ?? this.tokenFor(r, call.key);
        if (!existing) {
          entry.token = token;
          r.tasks[call.key] = entry;
          this.flush(live); // the token must be durable before anyone can hold it
          const submitted = await this.invoke(live, call, deadline);
          call.emit('submitted', 'TaskSubmitted', { taskSubmittedEventDetails: { ...base, output: toJsonText(submitted), outputDetails: { truncated: false } } });
        }
        result = await this.waitForToken(live, call, deadline);
      } else {
        r.tasks[call.key] = entry;
        const raw = await this.invoke(live, call, deadline);
        result = call.resource.match(/^arn:aws[a-z-]*:states:::lambda:invoke$/) ? wrapLambdaInvoke(raw) : raw;
      }
      if (live.suspended || call.signal.aborted) throw new interpreter.ExecutionAbortedError();
      Object.assign(entry, { status: 'succeeded', output: result });
      const out = { output: toJsonText(result), outputDetails: { truncated: false } };
      if (legacyLambda) call.emit('succeeded', 'LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: out });
      else call.emit('succeeded', 'TaskSucceeded', { taskSucceededEventDetails: { ...base, ...out } });
      this.save(live);
      return result;
    } catch (e) {
      if (live.suspended || call.signal.aborted || e instanceof interpreter.ExecutionAbortedError) throw e;
      const err = e instanceof Error ? e : taskError('States.TaskFailed', String(e));
      const timedOut = err instanceof interpreter.StatesTimeoutError;
      Object.assign(entry, { status: timedOut ? 'timed_out' : 'failed', error: err.name, cause: err.message });
      const d = { error: err.name, cause: err.message };
      if (legacyLambda) call.emit('failed', timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed', { [timedOut ? 'lambdaFunctionTimedOutEventDetails' : 'lambdaFunctionFailedEventDetails']: d });
      else call.emit('failed', timedOut ? 'TaskTimedOut' : 'TaskFailed', { [timedOut ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails']: { ...base, ...d } });
      this.save(live);
      throw err;
    }
  }

  /** Calls the host invoker, racing it against the task deadline and the abort signal. */
  private invoke(live: LiveExecution, call: TaskCall, deadline: number | undefined): Promise<unknown> {
    const req: Parameters<TaskInvoker>[0] = { resource: call.resource, input: call.input, executionArn: live.record.executionArn, stateName: call.stateName };
    if (call.taskToken !== undefined) req.taskToken = call.taskToken;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        call.signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        cleanup();
        reject(new interpreter.ExecutionAbortedError());
      };
      if (call.signal.aborted) return onAbort();
      call.signal.addEventListener('abort', onAbort, { once: true });
      if (deadline !== undefined) {
        timer = setTimeout(() => {
          cleanup();
          reject(new interpreter.StatesTimeoutError());
        }, Math.max(0, deadline - Date.now()));
      }
      // The invoker may settle after a timeout or abort: its late result is dropped on purpose.
      Promise.resolve()
        .then(() => this.opts.invokeTask(req))
        .then(
          (v) => {
            cleanup();
            resolve(v);
          },
          (e: unknown) => {
            cleanup();
            reject(e instanceof Error ? e : taskError('States.TaskFailed', String(e)));
          },
        );
    });
  }

  private waitForToken(live: LiveExecution, call: TaskCall, deadline: number | undefined): Promise<unknown> {
    const entry = live.record.tasks[call.key] as TaskEntry;
    return new Promise((resolve, reject) => {
      let timeoutTimer: NodeJS.Timeout | undefined;
      let heartbeatTimer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        clearTimeout(timeoutTimer);
        clearTimeout(heartbeatTimer);
        call.signal.removeEventListener('abort', onAbort);
        live.waiters.delete(call.key);
      };
      const onAbort = () => {
        cleanup();
        reject(new interpreter.ExecutionAbortedError());
      };
      const fail = (name: string, message: string) => {
        cleanup();
        const e = new interpreter.StatesTimeoutError();
        e.name = name;
        e.message = message;
        reject(e);
      };
      const heartbeat = () => {
        clearTimeout(heartbeatTimer);
        if (call.heartbeatSeconds !== undefined) {
          heartbeatTimer = setTimeout(() => fail('States.HeartbeatTimeout', 'Task did not send a heartbeat in time'), call.heartbeatSeconds * 1000);
        }
      };
      if (call.signal.aborted) return onAbort();
      // SendTaskSuccess/Failure may have arrived before the replay got here.
      if (entry.status === 'succeeded') return resolve(entry.output);
      if (entry.status === 'failed') return reject(taskError(entry.error, entry.cause));
      call.signal.addEventListener('abort', onAbort, { once: true });
      live.waiters.set(call.key, {
        resolve: (v) => {
          cleanup();
          resolve(v);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
        heartbeat,
      });
      if (deadline !== undefined) {
        timeoutTimer = setTimeout(() => fail('States.Timeout', 'Task timed out'), Math.max(0, deadline - Date.now()));
      }
      heartbeat();
    });
  }

  private resolveToken(input: Record<string, unknown>): { live: LiveExecution; key: string; entry: TaskEntry } {
    const token = str(input, 'taskToken') as string;
    const [body, mac] = token.split('.');
    let parsed: { a?: string; k?: string } = {};
    try {
      parsed = JSON.parse(Buffer.from(body ?? '', 'base64url').toString('utf8')) as { a?: string; k?: string };
    } catch {
      throw new AwsServiceError('InvalidToken', 'Invalid token');
    }
    if (typeof parsed.a !== 'string' || typeof parsed.k !== 'string' || !mac) throw new AwsServiceError('InvalidToken', 'Invalid token');
    const live = this.executions.get(parsed.a);
    if (!live) throw new AwsServiceError('TaskDoesNotExist', 'Task does not exist anymore');
    if (this.tokenFor(live.record, parsed.k) !== token) throw new AwsServiceError('InvalidToken', 'Invalid token');
    const entry = live.record.tasks[parsed.k];
    if (!entry || live.record.status !== 'RUNNING') throw new AwsServiceError('TaskDoesNotExist', 'Task does not exist anymore');
    if (entry.status === 'timed_out') throw new AwsServiceError('TaskTimedOut', 'Task Timed Out');
    if (entry.status !== 'pending') throw new AwsServiceError('TaskDoesNotExist', 'Task does not exist anymore');
    return { live, key: parsed.k, entry };
  }

  private startExecution(machine: MachineRecord, nameIn: string | undefined, inputText: string, transient: boolean): LiveExecution {
    let input: unknown;
    try {
      input = JSON.parse(inputText);
    } catch {
      throw new AwsServiceError('InvalidExecutionInput', 'Invalid State Machine Execution Input: the input is not valid JSON');
    }
    const name = nameIn ?? randomUUID();
    if (!NAME_RE.test(name)) throw new AwsServiceError('InvalidName', `Invalid Execution name: ${name}`);
    const executionArn = `arn:aws:states:${this.opts.region}:${this.opts.accountId}:${transient ? 'express' : 'execution'}:${machine.name}:${name}`;
    const prior = this.executions.get(executionArn);
    if (prior) {
      if (prior.record.status === 'RUNNING' && prior.record.input === inputText) return prior;
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.stateMachineArn,
      stateMachineName: machine.name,
      name,
      status: 'RUNNING',
      input: inputText,
      startDate: Date.now(),
      definition: machine.definition,
      roleArn: machine.roleArn,
      secret: randomBytes(16).toString('hex'),
      tasks: {},
      values: {},
    };
    const live = this.newLive(record, [], transient);
    this.executions.set(executionArn, live);
    this.emit(live, '', 'execution:start', 'ExecutionStarted', {
      executionStartedEventDetails: { input: toJsonText(input), inputDetails: { truncated: false }, roleArn: machine.roleArn },
    });
    this.flush(live);
    this.launch(live);
    return live;
  }

  private execution(arn: string | undefined): LiveExecution {
    if (!arn || !/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:(execution|express):[^:]+:[^:]+$/.test(arn)) throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    const live = this.executions.get(arn);
    if (!live || live.transient) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return live;
  }

  private describe(live: LiveExecution): Record<string, unknown> {
    const r = live.record;
    const out: Record<string, unknown> = {
      executionArn: r.executionArn,
      stateMachineArn: r.stateMachineArn,
      name: r.name,
      status: r.status,
      startDate: epochSeconds(r.startDate),
      input: r.input,
      inputDetails: { included: true },
    };
    if (r.stopDate !== undefined) out.stopDate = epochSeconds(r.stopDate);
    if (r.output !== undefined) {
      out.output = r.output;
      out.outputDetails = { included: true };
    }
    if (r.error !== undefined) out.error = r.error;
    if (r.cause !== undefined) out.cause = r.cause;
    return out;
  }

  /** The AWS JSON-protocol operations, for `dispatchJson(req, res, 'AWSStepFunctions', ops)`. */
  operations(): Record<string, JsonOperation> {
    return {
      CreateStateMachine: (input) => {
        const name = str(input, 'name') as string;
        const definition = str(input, 'definition') as string;
        const arn = this.machineArn(name);
        const existing = this.machines.get(arn);
        const roleArn = str(input, 'roleArn', false);
        if (existing && (existing.definition !== definition || (roleArn !== undefined && existing.roleArn !== roleArn))) {
          this.validate(definition);
          throw new AwsServiceError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
        }
        const type = (str(input, 'type', false) ?? 'STANDARD') as MachineType;
        if (type !== 'STANDARD' && type !== 'EXPRESS') throw new AwsServiceError('ValidationException', `Invalid type ${type}`);
        const params: { name: string; definition: string; roleArn?: string; type: MachineType } = { name, definition, type };
        if (roleArn !== undefined) params.roleArn = roleArn;
        this.createStateMachine(params);
        return { stateMachineArn: arn, creationDate: epochSeconds(this.machine(arn).creationDate) };
      },
      UpdateStateMachine: (input) => {
        const m = this.machine(str(input, 'stateMachineArn'));
        const definition = str(input, 'definition', false);
        const roleArn = str(input, 'roleArn', false);
        if (definition !== undefined) {
          this.validate(definition);
          m.definition = definition;
        }
        if (roleArn !== undefined) m.roleArn = roleArn;
        m.updateDate = Date.now();
        this.saveMachines();
        return { updateDate: epochSeconds(m.updateDate) };
      },
      DescribeStateMachine: (input) => {
        const m = this.machine(str(input, 'stateMachineArn'));
        return {
          stateMachineArn: m.stateMachineArn,
          name: m.name,
          status: 'ACTIVE',
          definition: m.definition,
          roleArn: m.roleArn,
          type: m.type,
          creationDate: epochSeconds(m.creationDate),
          loggingConfiguration: { level: 'OFF', includeExecutionData: false },
        };
      },
      ListStateMachines: (input) => {
        const all = [...this.machines.values()].sort((a, b) => a.name.localeCompare(b.name));
        const { page, nextToken } = paginate(all, input);
        return {
          stateMachines: page.map((m) => ({ stateMachineArn: m.stateMachineArn, name: m.name, type: m.type, creationDate: epochSeconds(m.creationDate) })),
          ...(nextToken ? { nextToken } : {}),
        };
      },
      DeleteStateMachine: (input) => {
        const arn = str(input, 'stateMachineArn') as string;
        if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/.test(arn)) throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
        if (this.machines.delete(arn)) this.saveMachines();
        return {};
      },
      StartExecution: (input) => {
        const m = this.machine(str(input, 'stateMachineArn'));
        const live = this.startExecution(m, str(input, 'name', false), str(input, 'input', false) ?? '{}', false);
        return { executionArn: live.record.executionArn, startDate: epochSeconds(live.record.startDate) };
      },
      StartSyncExecution: async (input) => {
        const m = this.machine(str(input, 'stateMachineArn'));
        if (m.type !== 'EXPRESS') throw new AwsServiceError('StateMachineTypeNotSupported', 'This operation is only supported by EXPRESS state machines');
        const live = this.startExecution(m, str(input, 'name', false), str(input, 'input', false) ?? '{}', true);
        await live.done;
        const d = this.describe(live);
        delete d.inputDetails;
        return { ...d, billingDetails: { billedMemoryUsedInMB: 64, billedDurationInMilliseconds: 100 } };
      },
      DescribeExecution: (input) => this.describe(this.execution(str(input, 'executionArn'))),
      StopExecution: (input) => {
        const live = this.execution(str(input, 'executionArn'));
        const r = live.record;
        if (r.status === 'RUNNING') {
          r.status = 'ABORTED';
          r.stopDate = Date.now();
          const error = str(input, 'error', false);
          const cause = str(input, 'cause', false);
          if (error !== undefined) r.error = error;
          if (cause !== undefined) r.cause = cause;
          const d: Record<string, string> = {};
          if (error !== undefined) d.error = error;
          if (cause !== undefined) d.cause = cause;
          this.emit(live, '', 'execution:end', 'ExecutionAborted', { executionAbortedEventDetails: d });
          this.flush(live);
          live.run?.abort();
        }
        return { stopDate: epochSeconds(r.stopDate ?? Date.now()) };
      },
      ListExecutions: (input) => {
        const m = this.machine(str(input, 'stateMachineArn'));
        const filter = str(input, 'statusFilter', false);
        const all = [...this.executions.values()]
          .filter((l) => !l.transient && l.record.stateMachineArn === m.stateMachineArn && (!filter || l.record.status === filter))
          .sort((a, b) => b.record.startDate - a.record.startDate);
        const { page, nextToken } = paginate(all, input);
        return {
          executions: page.map((l) => {
            const { executionArn, stateMachineArn, name, status, startDate, stopDate } = l.record;
            return { executionArn, stateMachineArn, name, status, startDate: epochSeconds(startDate), ...(stopDate ? { stopDate: epochSeconds(stopDate) } : {}) };
          }),
          ...(nextToken ? { nextToken } : {}),
        };
      },
      GetExecutionHistory: (input) => {
        const live = this.execution(str(input, 'executionArn'));
        const events = live.history.map(({ _k, timestamp, ...e }) => ({ ...e, timestamp: epochSeconds(timestamp) }));
        if (input.reverseOrder === true) events.reverse();
        const { page, nextToken } = paginate(events, input);
        return { events: page, ...(nextToken ? { nextToken } : {}) };
      },
      SendTaskSuccess: (input) => {
        const { live, key, entry } = this.resolveToken(input);
        const text = str(input, 'output') as string;
        let output: unknown;
        try {
          output = JSON.parse(text);
        } catch {
          throw new AwsServiceError('InvalidOutput', 'Invalid Output: the output is not valid JSON');
        }
        Object.assign(entry, { status: 'succeeded', output });
        this.flush(live);
        live.waiters.get(key)?.resolve(output);
        return {};
      },
      SendTaskFailure: (input) => {
        const { live, key, entry } = this.resolveToken(input);
        const error = str(input, 'error', false);
        const cause = str(input, 'cause', false);
        Object.assign(entry, { status: 'failed', error: error ?? '', cause: cause ?? '' });
        this.flush(live);
        live.waiters.get(key)?.reject(taskError(error ?? '', cause ?? ''));
        return {};
      },
      SendTaskHeartbeat: (input) => {
        const { live, key } = this.resolveToken(input);
        live.waiters.get(key)?.heartbeat();
        return {};
      },
    };
  }
}

/** Wraps a Lambda result the way `arn:aws:states:::lambda:invoke` returns it on AWS. */
export function wrapLambdaInvoke(payload: unknown): Record<string, unknown> {
  const requestId = randomUUID();
  const length = String(Buffer.byteLength(toJsonText(payload)));
  const date = new Date().toUTCString();
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload === undefined ? null : payload,
    SdkHttpMetadata: {
      AllHttpHeaders: {
        'X-Amz-Executed-Version': ['$LATEST'],
        'x-amzn-Remapped-Content-Length': ['0'],
        Connection: ['keep-alive'],
        'x-amzn-RequestId': [requestId],
        'Content-Length': [length],
        Date: [date],
        'Content-Type': ['application/json'],
      },
      HttpHeaders: {
        Connection: 'keep-alive',
        'Content-Length': length,
        'Content-Type': 'application/json',
        Date: date,
        'X-Amz-Executed-Version': '$LATEST',
        'x-amzn-Remapped-Content-Length': '0',
        'x-amzn-RequestId': requestId,
      },
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  };
}
