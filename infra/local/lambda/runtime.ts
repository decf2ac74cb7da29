/**
 * The local Lambda service: functions from the template run in worker threads (one execution
 * environment per concurrent invocation, reused while warm), each with the environment it is
 * deployed with plus the local endpoints. Timeouts end the environment, as Lambda does. Streamed
 * invocations ({@link LambdaRuntime.invokeStreaming}) pass what a handler wrapped by
 * `awslambda.streamifyResponse` writes on as it is written, and tell the handler when its caller left.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/** A function as deployed: name, handler source, environment, limits. */
export interface FunctionDefinition {
  logicalId: string;
  name: string;
  arn: string;
  /** Absolute path of the handler's source module. */
  file: string;
  exportName: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  /** A published version's number (its definition is keyed `<name>:<version>`); absent for `$LATEST`. */
  version?: string;
}

/** What a function error looks like on the Lambda wire (`X-Amz-Function-Error: Unhandled`). */
export interface FunctionErrorPayload {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/**
 * Where what functions print goes: this process's stdout/stderr (`inherit`, npm start), nowhere
 * (`silent`), or appended to a file (`{ file }`: test runs that scan the logs, e.g. for leaked secrets).
 */
export type FunctionOutput = 'inherit' | 'silent' | { file: string };

/**
 * The outcome of one invocation. `throttled` marks an invocation Lambda refused because the
 * function's reserved concurrency was in use (`TooManyRequestsException`): the handler never ran.
 */
export type InvokeResult = { ok: true; payload: unknown } | { ok: false; error: FunctionErrorPayload; throttled?: true };

/**
 * A function reference as the Lambda API takes it: a name, a full or partial ARN, each with an
 * optional qualifier (`:1`, `:live`, `:$LATEST`).
 * @example parseFunctionRef('arn:aws:lambda:us-east-1:000000000000:function:f:live') // { name: 'f', qualifier: 'live' }
 */
export function parseFunctionRef(ref: string): { name: string; qualifier?: string } {
  const after = ref.includes(':function:') ? (ref.split(':function:')[1] ?? '') : ref;
  const [name = '', qualifier] = after.split(':');
  return qualifier === undefined ? { name } : { name, qualifier };
}

/**
 * Where a streamed invocation's bytes go, as the handler writes them: each chunk with the stream's
 * content type (`application/vnd.awslambda.http-integration-response` once `HttpResponseStream.from`
 * was used: the JSON prelude and 8 null bytes come first), then the end of the stream.
 */
export interface ResponseStreamSink {
  write(chunk: Buffer, contentType: string): void;
  end(contentType: string): void;
}

/** Messages an environment sends besides an invocation's result. */
type WorkerNotice = { type: 'init' } | { type: 'chunk'; id: string; contentType: string; data: Uint8Array } | { type: 'end'; id: string; contentType: string };

/** Raised when a function name or ARN names no deployed function. */
export class FunctionNotFoundError extends Error {
  override name = 'ResourceNotFoundException';
}

interface Environment {
  worker: Worker;
  busy: boolean;
  /** Settles when the handler module is loaded (or failed to load, or the worker died): Lambda's init phase. */
  initialized: Promise<void>;
  /** The invocation in hand; `timer` is its timeout, armed once the init allowance is over. */
  pending?: { id: string; resolve: (result: InvokeResult) => void; timer?: NodeJS.Timeout; sink?: ResponseStreamSink };
}

const WORKER_FILE = new URL('./worker.ts', import.meta.url);
const MAX_ENVIRONMENTS_PER_FUNCTION = 4;
/**
 * Lambda runs a new environment's init (loading the handler module) before the first invocation and
 * outside its timeout, for up to 10 s; an init that takes longer goes on inside the invocation's
 * timeout. Loading TypeScript source on a busy machine can take seconds, and counting it against a
 * 10 s timeout would fail invocations that Lambda runs.
 */
const INIT_ALLOWANCE_MS = 10_000;

/**
 * Finds the source module for a serverless `handler` string (`functions/x/y.handler`).
 * @throws Error when no .ts/.mts/.js/.mjs file exists for it.
 */
export function resolveHandler(root: string, handler: string): { file: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  const base = path.join(root, handler.slice(0, dot));
  const exportName = handler.slice(dot + 1);
  for (const extension of ['.ts', '.mts', '.js', '.mjs']) {
    if (existsSync(base + extension)) return { file: base + extension, exportName };
  }
  throw new Error(`No source file for handler ${handler} (looked for ${base}.ts)`);
}

/** The function's name: a published version's definition is keyed `<name>:<version>`. */
export function functionNameOf(definition: Pick<FunctionDefinition, 'name' | 'version'>): string {
  return definition.version === undefined ? definition.name : definition.name.slice(0, definition.name.lastIndexOf(':'));
}

/** Runs deployed functions in-process on worker threads. */
export class LambdaRuntime {
  private readonly functions = new Map<string, FunctionDefinition>();
  private readonly environments = new Map<string, Environment[]>();
  private readonly waiting = new Map<string, Array<() => void>>();
  /** Reserved concurrency per function name (PutFunctionConcurrency); absent: the account's unreserved pool. */
  private readonly reserved = new Map<string, number>();
  /** Invocations in flight per function name, every version counted (what reserved concurrency caps). */
  private readonly inFlight = new Map<string, number>();
  /** Resolves a qualifier other than `$LATEST` to a deployed version key (the control plane's versions and aliases). */
  private qualifiers: ((name: string, qualifier: string) => string | undefined) | undefined;
  private readonly sharedEnv: Record<string, string>;
  private readonly log: (line: string) => void;
  private readonly output: FunctionOutput;
  /** The file function output is appended to, when `output` names one. */
  private readonly outputFile: WriteStream | undefined;
  private stopped = false;

  /** See {@link FunctionOutput}; default `inherit`. */
  constructor(options: { sharedEnv: Record<string, string>; log?: (line: string) => void; output?: FunctionOutput }) {
    this.sharedEnv = options.sharedEnv;
    this.log = options.log ?? (() => {});
    this.output = options.output ?? 'inherit';
    this.outputFile = typeof this.output === 'object' ? createWriteStream(this.output.file, { flags: 'a' }) : undefined;
    // Every worker's stdout and stderr pipe into this one file (each pipe adds its listeners): as many as
    // there are workers, so no listener count is a leak here.
    this.outputFile?.setMaxListeners(0);
  }

  /** Registers (or replaces) a function. */
  deploy(definition: FunctionDefinition): void {
    this.functions.set(definition.name, definition);
  }

  /** All deployed functions (`$LATEST`; published versions are not listed). */
  list(): FunctionDefinition[] {
    return [...this.functions.values()].filter((definition) => definition.version === undefined);
  }

  /** Sets how qualifiers (versions, aliases) resolve to deployed version keys (`<name>:<version>`). */
  resolveQualifiersWith(resolver: (name: string, qualifier: string) => string | undefined): void {
    this.qualifiers = resolver;
  }

  /**
   * Finds a function by name, full ARN or partial ARN (`function:name`), as the Invoke API accepts;
   * a qualifier names a published version or an alias (resolved on each call: an alias with routing
   * weights picks a version per call).
   * @throws FunctionNotFoundError
   */
  find(nameOrArn: string): FunctionDefinition {
    const exact = this.functions.get(nameOrArn);
    if (exact) return exact;
    const { name, qualifier } = parseFunctionRef(nameOrArn);
    const key = qualifier === undefined || qualifier === '$LATEST' ? name : this.qualifiers?.(name, qualifier);
    const definition = key === undefined ? undefined : this.functions.get(key);
    if (!definition) throw new FunctionNotFoundError(`Function not found: ${nameOrArn}`);
    return definition;
  }

  /** The function's reserved concurrency, or undefined when it has none. */
  reservedConcurrency(name: string): number | undefined {
    return this.reserved.get(name);
  }

  /** Sets (a number) or removes (undefined) a function's reserved concurrency; invocations beyond it are throttled. */
  setReservedConcurrency(name: string, value: number | undefined): void {
    if (value === undefined) this.reserved.delete(name);
    else this.reserved.set(name, value);
  }

  /** Every function's reserved concurrency. */
  reservations(): ReadonlyMap<string, number> {
    return this.reserved;
  }

  /**
   * Starts one environment (its init: the handler module loaded) of every function that has none,
   * `parallel` functions at a time, so that later invocations find it warm: Lambda's provisioned
   * concurrency, one per function. Test runs use it before their sweeps over every route, which
   * would otherwise start each function several times over at once (each start is a second or more
   * of CPU on a small machine). Answers how many it started.
   */
  async warm(parallel = 2): Promise<number> {
    const cold = this.list().filter((definition) => (this.environments.get(definition.name)?.length ?? 0) === 0);
    let started = 0;
    const next = async (): Promise<void> => {
      for (let definition = cold.shift(); definition && !this.stopped; definition = cold.shift()) {
        if ((this.environments.get(definition.name)?.length ?? 0) > 0) continue;
        const environment = this.createEnvironment(definition);
        this.environments.set(definition.name, [...(this.environments.get(definition.name) ?? []), environment]);
        await environment.initialized;
        started += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, parallel) }, next));
    return started;
  }

  private createEnvironment(definition: FunctionDefinition): Environment {
    const worker = new Worker(WORKER_FILE, {
      workerData: { file: definition.file, exportName: definition.exportName },
      env: {
        ...this.sharedEnv,
        ...definition.environment,
        AWS_LAMBDA_FUNCTION_NAME: functionNameOf(definition),
        AWS_LAMBDA_FUNCTION_VERSION: definition.version ?? '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(definition.memoryMb),
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionNameOf(definition)}`,
      },
      stdout: this.output !== 'inherit',
      stderr: this.output !== 'inherit',
    });
    if (this.outputFile) {
      worker.stdout.pipe(this.outputFile, { end: false });
      worker.stderr.pipe(this.outputFile, { end: false });
    } else if (this.output === 'silent') {
      worker.stdout.resume();
      worker.stderr.resume();
    }
    let initDone = () => {};
    const environment: Environment = { worker, busy: false, initialized: new Promise<void>((resolve) => (initDone = resolve)) };
    worker.on('message', (message: ({ id: string } & InvokeResult) | WorkerNotice) => {
      if ('type' in message) {
        if (message.type === 'init') initDone();
        else if (environment.pending?.id === message.id) {
          const sink = environment.pending.sink;
          if (message.type === 'chunk') sink?.write(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength), message.contentType);
          else sink?.end(message.contentType);
        }
        return;
      }
      const pending = environment.pending;
      if (!pending || pending.id !== message.id) return;
      clearTimeout(pending.timer);
      environment.pending = undefined;
      environment.busy = false;
      pending.resolve(message.ok ? { ok: true, payload: message.payload } : { ok: false, error: message.error });
      this.release(definition.name);
    });
    worker.on('error', (error: Error) => this.discard(definition, environment, { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${environment.pending?.id ?? '-'} Error: Runtime exited with error: ${error.message}`, trace: (error.stack ?? '').split('\n') }));
    worker.on('exit', (code) => this.discard(definition, environment, { errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with code ${code}`, trace: [] }));
    worker.once('exit', () => initDone());
    worker.unref();
    return environment;
  }

  private discard(definition: FunctionDefinition, environment: Environment, error: FunctionErrorPayload): void {
    const list = this.environments.get(definition.name) ?? [];
    this.environments.set(definition.name, list.filter((item) => item !== environment));
    const pending = environment.pending;
    if (pending) {
      clearTimeout(pending.timer);
      environment.pending = undefined;
      pending.resolve({ ok: false, error });
    }
    this.release(definition.name);
  }

  private release(name: string): void {
    this.waiting.get(name)?.shift()?.();
  }

  private async acquire(definition: FunctionDefinition): Promise<Environment> {
    for (;;) {
      if (this.stopped) throw new Error('The local Lambda runtime is stopped');
      const list = this.environments.get(definition.name) ?? [];
      const idle = list.find((environment) => !environment.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (list.length < MAX_ENVIRONMENTS_PER_FUNCTION) {
        const environment = this.createEnvironment(definition);
        environment.busy = true;
        this.environments.set(definition.name, [...list, environment]);
        return environment;
      }
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(definition.name) ?? [];
        queue.push(resolve);
        this.waiting.set(definition.name, queue);
      });
    }
  }

  /**
   * Invokes a function synchronously and returns its payload or its error, never throwing for a
   * function error (the caller decides: Lambda returns 200 with `X-Amz-Function-Error`).
   * @throws FunctionNotFoundError
   */
  async invoke(nameOrArn: string, event: unknown): Promise<InvokeResult> {
    return this.invokeWith(nameOrArn, event, undefined);
  }

  /**
   * Invokes a function for a streamed reply (as a function URL in RESPONSE_STREAM mode does): a
   * handler wrapped by `awslambda.streamifyResponse` writes to `sink` as it goes; any other handler's
   * result comes back as the payload, as from {@link invoke}. When `signal` aborts (the caller left),
   * the handler's stream is destroyed, so the handler sees it; the invocation runs on to its end.
   * @throws FunctionNotFoundError
   */
  async invokeStreaming(nameOrArn: string, event: unknown, sink: ResponseStreamSink, signal?: AbortSignal): Promise<InvokeResult> {
    return this.invokeWith(nameOrArn, event, { sink, ...(signal ? { signal } : {}) });
  }

  private async invokeWith(nameOrArn: string, event: unknown, stream: { sink: ResponseStreamSink; signal?: AbortSignal } | undefined): Promise<InvokeResult> {
    const definition = this.find(nameOrArn);
    const name = functionNameOf(definition);
    const running = this.inFlight.get(name) ?? 0;
    const reserved = this.reserved.get(name);
    // Lambda refuses (it does not queue) what its reserved concurrency cannot take; 0 refuses everything.
    if (reserved !== undefined && running >= reserved) {
      return { ok: false, throttled: true, error: { errorType: 'TooManyRequestsException', errorMessage: 'Rate Exceeded.', trace: [] } };
    }
    this.inFlight.set(name, running + 1);
    try {
      return await this.run(definition, event, stream);
    } finally {
      const left = (this.inFlight.get(name) ?? 1) - 1;
      if (left > 0) this.inFlight.set(name, left);
      else this.inFlight.delete(name);
    }
  }

  private async run(definition: FunctionDefinition, event: unknown, stream?: { sink: ResponseStreamSink; signal?: AbortSignal }): Promise<InvokeResult> {
    const environment = await this.acquire(definition);
    const id = randomUUID();
    const timeoutMs = definition.timeoutSeconds * 1000;
    return new Promise<InvokeResult>((resolve) => {
      const pending: NonNullable<Environment['pending']> = { id, resolve, ...(stream ? { sink: stream.sink } : {}) };
      environment.pending = pending;
      const signal = stream?.signal;
      if (signal) {
        const abort = () => {
          if (environment.pending === pending) environment.worker.postMessage({ type: 'abort', id });
        };
        if (signal.aborted) abort();
        else signal.addEventListener('abort', abort, { once: true });
      }
      void this.afterInit(environment).then(() => {
        // Ended during init (terminated, crashed): discard has answered already.
        if (environment.pending !== pending) return;
        pending.timer = setTimeout(() => {
          this.log(`${definition.name}: task timed out after ${definition.timeoutSeconds} seconds`);
          if (environment.pending === pending) environment.pending = undefined;
          resolve({ ok: false, error: { errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${id} Error: Task timed out after ${definition.timeoutSeconds.toFixed(2)} seconds`, trace: [] } });
          void environment.worker.terminate();
        }, timeoutMs);
        this.post(environment, definition, id, event, timeoutMs, stream !== undefined);
        // Aborted while the environment was starting: tell the handler as soon as it runs.
        if (signal?.aborted && environment.pending === pending) environment.worker.postMessage({ type: 'abort', id });
      });
    });
  }

  /** Waits for the environment's init, or for the init allowance to pass, whichever is first. */
  private async afterInit(environment: Environment): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([environment.initialized, new Promise<void>((resolve) => (timer = setTimeout(resolve, INIT_ALLOWANCE_MS)))]);
    clearTimeout(timer);
  }

  private post(environment: Environment, definition: FunctionDefinition, id: string, event: unknown, timeoutMs: number, stream: boolean): void {
    environment.worker.postMessage({
      id,
      event,
      stream,
      context: {
        functionName: functionNameOf(definition),
        functionVersion: definition.version ?? '$LATEST',
        awsRequestId: id,
        deadlineMs: Date.now() + timeoutMs,
        invokedFunctionArn: definition.arn,
        memoryLimitInMB: String(definition.memoryMb),
        logGroupName: `/aws/lambda/${functionNameOf(definition)}`,
      },
    });
  }

  /**
   * How many invocations of a function are running now.
   * @throws FunctionNotFoundError
   */
  running(nameOrArn: string): number {
    const definition = this.find(nameOrArn);
    return (this.environments.get(definition.name) ?? []).filter((environment) => environment.pending !== undefined).length;
  }

  /**
   * Ends the execution environments of a function that are running an invocation, as a crash or an
   * out-of-memory kill ends them: each invocation in flight fails with `Runtime.ExitError`, so its
   * caller (an SQS mapping, a state machine, an Invoke) sees a function error, and the next
   * invocation starts cold. What the function wrote before it died stays written. For fault tests.
   * @returns the invocations cut short (0 when none was running).
   * @throws FunctionNotFoundError
   */
  terminate(nameOrArn: string): number {
    const definition = this.find(nameOrArn);
    const busy = (this.environments.get(definition.name) ?? []).filter((environment) => environment.pending !== undefined);
    for (const environment of busy) void environment.worker.terminate();
    if (busy.length > 0) this.log(`${definition.name}: terminated ${busy.length} running environment(s)`);
    return busy.length;
  }

  /** Ends every execution environment. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.environments.values()].flat();
    this.environments.clear();
    for (const queue of this.waiting.values()) for (const wake of queue) wake();
    await Promise.all(all.map((environment) => environment.worker.terminate()));
    const file = this.outputFile;
    if (file) await new Promise<void>((resolve) => file.end(resolve));
  }
}
