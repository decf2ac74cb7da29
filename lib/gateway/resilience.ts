/**
 * Resilient model calls: a timeout per attempt, retries with full-jitter backoff on retryable
 * failures only, a circuit breaker per model, an in-flight mark per model, and fallback along the
 * model's configured chain, each hop recorded (which model answered, and why the others did not).
 * Pure: time, sleeping and randomness are injected ({@link Clock}), so tests run on a fake clock.
 *
 * How a call goes ({@link ModelRouter}): the chain is the model, then its `fallbacks` in order (not
 * followed transitively). For each model: skipped if it is busy (`maxInFlight` calls in flight) or
 * its circuit is open; otherwise called, with `retries` more attempts after a retryable failure
 * (backoff `floor(random · min(maxDelayMs, baseDelayMs · 2^(retry−1)))`, lib/retry.ts). Any failure
 * but the caller's own cancellation moves on to the next model: a 4xx on one model (its context
 * window, its payload limit) may pass on another. The first answer wins. A stream falls back only
 * before its first delta: after that the caller has seen text, and a failure ends the stream.
 *
 * The circuit breaker counts only what says something about a backend's health: retryable failures
 * and timeouts are failures, answers are successes, 4xx and cancellations count for neither.
 */
import { DependencyError, NotFoundError, ThrottledError } from '../errors.ts';
import { type Backoff, backoffDelay, retry } from '../retry.ts';
import type { GenerateRequest, GenerateResult, ModelBackend, StreamEvent } from './backend.ts';
import { ModelCallError } from './backend.ts';
import type { ModelConfig } from './models.ts';
import type { Decision } from './schemas.ts';

// ---------------------------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------------------------

/** Time as this module sees it; tests pass a fake one. */
export interface Clock {
  /** Milliseconds (any epoch; only differences matter). */
  now(): number;
  /** Resolves after `ms`; rejects as soon as `signal` aborts (with its reason). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

// ---------------------------------------------------------------------------------------------
// Circuit breaker
// ---------------------------------------------------------------------------------------------

/** When a circuit opens and how long it stays open. */
export interface BreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  consecutiveFailures: number;
  /** Failure rate in the window that opens it (default 0.5) … */
  failureRate: number;
  /** … once the window holds at least this many calls (default 10). */
  minimumCalls: number;
  /** The window over which the rate is computed, in ms (default 60 s). */
  windowMs: number;
  /** How long an open circuit refuses calls before it lets one probe through, in ms (default 30 s). */
  coolDownMs: number;
}

/** Defaults of {@link BreakerOptions}. */
export const DEFAULT_BREAKER: BreakerOptions = {
  consecutiveFailures: 5,
  failureRate: 0.5,
  minimumCalls: 10,
  windowMs: 60_000,
  coolDownMs: 30_000,
};

/** `closed`: calls pass; `open`: refused until the cool-down ends; `half-open`: one probe decides. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * A circuit breaker: closed → open after {@link BreakerOptions.consecutiveFailures} consecutive
 * failures, or a failure rate of at least {@link BreakerOptions.failureRate} over the window (with
 * enough calls in it) → after {@link BreakerOptions.coolDownMs}, half-open: one probe call passes;
 * its success closes the circuit (history cleared), its failure opens it for another cool-down.
 * Outcomes of calls that started before the circuit opened are ignored while it is open.
 * @example
 * const breaker = new CircuitBreaker({ consecutiveFailures: 3 }, clock.now);
 * if (breaker.tryAcquire()) try { await call(); breaker.success(); } catch { breaker.failure(); }
 */
export class CircuitBreaker {
  readonly #options: BreakerOptions;
  readonly #now: () => number;
  #state: BreakerState = 'closed';
  #openedAt = 0;
  #probing = false;
  #consecutive = 0;
  #outcomes: Array<{ at: number; ok: boolean }> = [];

  constructor(options: Partial<BreakerOptions> = {}, now: () => number = Date.now) {
    this.#options = { ...DEFAULT_BREAKER, ...options };
    this.#now = now;
  }

  /** The state now (an open circuit whose cool-down ended reports `half-open`: a probe may go). */
  get state(): BreakerState {
    if (this.#state === 'open' && this.retryInMs() === 0) return 'half-open';
    return this.#state;
  }

  /** Milliseconds until an open circuit lets a probe through (0 when it is not open or the cool-down is over). */
  retryInMs(): number {
    return this.#state === 'open' ? Math.max(0, this.#openedAt + this.#options.coolDownMs - this.#now()) : 0;
  }

  /** Whether a call may go now. Half-open, it admits one probe at a time; the caller must then report its outcome. */
  tryAcquire(): boolean {
    if (this.#state === 'open') {
      if (this.retryInMs() > 0) return false;
      this.#state = 'half-open';
      this.#probing = false;
    }
    if (this.#state === 'half-open') {
      if (this.#probing) return false;
      this.#probing = true;
    }
    return true;
  }

  /** The call answered. */
  success(): void {
    if (this.#state === 'half-open') {
      this.#state = 'closed';
      this.#probing = false;
      this.#consecutive = 0;
      this.#outcomes = [];
      return;
    }
    if (this.#state !== 'closed') return;
    this.#consecutive = 0;
    this.#record(true);
  }

  /** The call failed in a way that says the backend is unwell (a retryable failure, a timeout). */
  failure(): void {
    if (this.#state === 'half-open') {
      this.#open();
      return;
    }
    if (this.#state !== 'closed') return;
    this.#consecutive += 1;
    this.#record(false);
    const failures = this.#outcomes.filter((outcome) => !outcome.ok).length;
    const rateTripped =
      this.#outcomes.length >= this.#options.minimumCalls && failures / this.#outcomes.length >= this.#options.failureRate;
    if (this.#consecutive >= this.#options.consecutiveFailures || rateTripped) this.#open();
  }

  /** The call ended in a way that says nothing about the backend (cancelled, refused as the request's fault): frees a probe slot. */
  neutral(): void {
    if (this.#state === 'half-open') this.#probing = false;
  }

  #record(ok: boolean): void {
    const now = this.#now();
    this.#outcomes.push({ at: now, ok });
    const from = now - this.#options.windowMs;
    while (this.#outcomes.length > 0 && (this.#outcomes[0]?.at ?? now) <= from) this.#outcomes.shift();
  }

  #open(): void {
    this.#state = 'open';
    this.#openedAt = this.#now();
    this.#probing = false;
    this.#consecutive = 0;
    this.#outcomes = [];
  }
}

// ---------------------------------------------------------------------------------------------
// Hops and errors
// ---------------------------------------------------------------------------------------------

/** What happened at one model of a chain. */
export interface Hop {
  model: string;
  /** `answered`: it gave the reply; `failed`: every attempt failed; `skipped`: not called (busy, circuit open); `cancelled`: the caller aborted. */
  outcome: 'answered' | 'failed' | 'skipped' | 'cancelled';
  /** Why, in words: `answered on attempt 2`, `503 after 3 attempts: …`, `circuit open (retry in 12 s)`, `busy: 32 calls in flight`. */
  reason: string;
  /** Calls made to it (0 when skipped). */
  attempts: number;
  /** The last failure's upstream status (0: timeout or unreachable). */
  status?: number;
  elapsedMs: number;
}

/** Every model of the chain failed or was skipped (503, `Retry-After`): `hops` says what happened to each. */
export class ModelUnavailableError extends DependencyError {
  readonly hops: Hop[];
  constructor(message: string, hops: Hop[], retryAfterSeconds: number, cause?: unknown) {
    super(message, { retryAfterSeconds, cause });
    this.hops = hops;
  }
}

/** Every model of the chain is past its in-flight mark (429, `Retry-After`). */
export class ModelBusyError extends ThrottledError {
  readonly hops: Hop[];
  constructor(message: string, hops: Hop[], retryAfterSeconds: number) {
    super(message, retryAfterSeconds);
    this.hops = hops;
  }
}

/** The caller aborted the call (its signal); nothing was retried or tried elsewhere. */
export class CallCancelledError extends ModelCallError {
  constructor(model: string) {
    super(`${model}: cancelled by the caller`, model, 0, false);
  }
}

const shorten = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

/**
 * The gateway's `fallback` decisions for a chain's hops: one per move from a model that did not
 * answer to the next one tried.
 * @example fallbackDecisions(result.hops) // [{ step: 'fallback', from: 'standin-a', to: 'standin-b', reason: '503 after 3 attempts: …' }]
 */
export function fallbackDecisions(hops: readonly Hop[]): Array<Extract<Decision, { step: 'fallback' }>> {
  const decisions: Array<Extract<Decision, { step: 'fallback' }>> = [];
  for (let i = 0; i + 1 < hops.length; i += 1) {
    const from = hops[i];
    const to = hops[i + 1];
    if (from && to && from.outcome !== 'answered')
      decisions.push({ step: 'fallback', from: from.model, to: to.model, reason: shorten(from.reason) });
  }
  return decisions;
}

// ---------------------------------------------------------------------------------------------
// Router
// ---------------------------------------------------------------------------------------------

/** One model as the router calls it: its backend and its resilience settings. */
export interface RoutedModel {
  backend: ModelBackend;
  /** Milliseconds an attempt may take (a stream: to its first event and between events). */
  timeoutMs: number;
  /** Attempts after the first on a retryable failure. */
  retries: number;
  /** Models tried next, in order. */
  fallbacks: readonly string[];
  /** In-flight calls past which it is skipped as busy. */
  maxInFlight: number;
}

/** Options of {@link ModelRouter}. */
export interface RouterOptions {
  clock?: Clock;
  /** Draws the backoff jitter (default Math.random). */
  random?: () => number;
  breaker?: Partial<BreakerOptions>;
  /** Backoff between retries (default 100 ms base, 2 s cap). */
  backoff?: Backoff;
}

/** A generation and how it was obtained. */
export interface RoutedGeneration extends GenerateResult {
  /** The model that answered. */
  model: string;
  hops: Hop[];
}

/** Embeddings and how they were obtained. */
export interface RoutedEmbeddings {
  vectors: number[][];
  model: string;
  hops: Hop[];
}

/** A hold on one model's in-flight slot, taken before the router tries that model. */
export interface Admission {
  /** Gives the slot back (called once, when the model's turn in the chain ends). */
  release(): Promise<void>;
}

/**
 * Admits a call to `model` before the router tries it: takes one of its in-flight slots in a count
 * shared by every container (lib/gateway/backpressure.ts `InflightLimiter`).
 * @throws ThrottledError (a BackpressureError) when the model is at its mark: the router skips it as busy.
 */
export type Admit = (model: string) => Promise<Admission>;

/** Options of {@link ModelRouter.stream}. */
export interface StreamOptions {
  admit?: Admit;
}

/**
 * A routed stream: iterate it for the events (deltas, then one `done`); `hops` fills as models are
 * tried and `model` names the one streaming once it has sent its first event.
 */
export interface RoutedStream extends AsyncIterable<StreamEvent> {
  readonly hops: Hop[];
  readonly model: string | undefined;
}

/** Thrown inside an attempt when the router's own timer fired. */
class AttemptTimeout extends Error {}
/** Thrown by a retry that finds the model's circuit open. */
class CircuitRefused extends Error {}

/** A failed hop's reason: `503 after 3 attempts: …`, `0 failed: …`. */
const failedReason = (failure: ModelCallError, attempts: number): string =>
  `${failure.status} ${attempts > 1 ? `after ${attempts} attempts` : 'failed'}: ${shorten(failure.message, 240)}`;

/** A promise that rejects when `signal` aborts (never resolves); its rejection is pre-handled. */
function whenAborted(signal: AbortSignal): Promise<never> {
  const promise = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  promise.catch(() => {});
  return promise;
}

/**
 * One attempt's abort controller: aborted by the caller's signal or by the timeout, which
 * {@link Attempt.arm} (re)starts; {@link Attempt.dispose} stops listening.
 *
 * One timer per attempt, however many events a stream sends: {@link Attempt.arm} only moves the
 * deadline (one `clock.now()`); the pending sleep, when it wakes, times the attempt out if the
 * deadline has passed and otherwise sleeps again until the deadline it finds. A sleep and an
 * abort controller per event cost ~6 µs each (3 ms for a 500-delta stream).
 */
class Attempt {
  readonly controller = new AbortController();
  timedOut = false;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #caller: AbortSignal | undefined;
  /** Stops the pending sleep when the attempt ends. */
  readonly #timer = new AbortController();
  #deadline = 0;
  #sleeping = false;
  readonly #onCaller = () => this.controller.abort(this.#caller?.reason);

  constructor(clock: Clock, timeoutMs: number, caller: AbortSignal | undefined) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
    this.#caller = caller;
    if (caller?.aborted) this.controller.abort(caller.reason);
    else caller?.addEventListener('abort', this.#onCaller, { once: true });
  }

  /** Starts the timeout, or restarts it: the attempt times out `timeoutMs` after the last call. */
  arm(): void {
    this.#deadline = this.#clock.now() + this.#timeoutMs;
    if (!this.#sleeping) this.#sleepUntilDeadline();
  }

  #sleepUntilDeadline(): void {
    if (this.#timer.signal.aborted || this.controller.signal.aborted) return;
    this.#sleeping = true;
    this.#clock.sleep(Math.max(0, this.#deadline - this.#clock.now()), this.#timer.signal).then(
      () => {
        this.#sleeping = false;
        if (this.#timer.signal.aborted || this.controller.signal.aborted) return;
        // Re-armed while asleep: wait for the rest of the gap.
        if (this.#clock.now() < this.#deadline) {
          this.#sleepUntilDeadline();
          return;
        }
        this.timedOut = true;
        this.controller.abort(new AttemptTimeout(`timed out after ${this.#timeoutMs} ms`));
      },
      () => {
        this.#sleeping = false;
      },
    );
  }

  get callerAborted(): boolean {
    return this.#caller?.aborted === true;
  }

  dispose(): void {
    this.#timer.abort();
    this.#caller?.removeEventListener('abort', this.#onCaller);
  }
}

/**
 * Calls models through their chains with timeouts, retries, circuit breakers and in-flight marks.
 * Build one per container (breakers and in-flight counts live in it).
 * @example
 * const router = ModelRouter.fromConfig(stageModels(file, 'local'), backends);
 * const reply = await router.generate('standin-a', { messages, maxTokens: 256, signal });
 * reply.model; // 'standin-b' when standin-a failed: reply.hops says why
 */
export class ModelRouter {
  readonly #models: ReadonlyMap<string, RoutedModel>;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #backoff: Backoff;
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #inFlight = new Map<string, number>();

  constructor(models: Readonly<Record<string, RoutedModel>>, options: RouterOptions = {}) {
    this.#models = new Map(Object.entries(models));
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff ?? { baseDelayMs: 100, maxDelayMs: 2_000 };
    for (const name of this.#models.keys()) this.#breakers.set(name, new CircuitBreaker(options.breaker, () => this.#clock.now()));
  }

  /**
   * A router over configured models and their backends (see lib/adapters/aws/model-backends.ts).
   * @throws Error naming a configured model without a backend.
   */
  static fromConfig(
    models: readonly ModelConfig[],
    backends: Readonly<Record<string, ModelBackend>>,
    options: RouterOptions = {},
  ): ModelRouter {
    const routed: Record<string, RoutedModel> = {};
    for (const model of models) {
      const backend = backends[model.name];
      if (!backend) throw new Error(`model ${model.name} has no backend`);
      routed[model.name] = {
        backend,
        timeoutMs: model.timeoutMs,
        retries: model.retries,
        fallbacks: model.fallbacks,
        maxInFlight: model.maxInFlight,
      };
    }
    return new ModelRouter(routed, options);
  }

  /** The model's circuit state (for health and metrics). */
  circuit(name: string): BreakerState | undefined {
    return this.#breakers.get(name)?.state;
  }

  /** Calls in flight to the model now, in this container. */
  inFlight(name: string): number {
    return this.#inFlight.get(name) ?? 0;
  }

  /**
   * Generates with `name`, falling back along its chain.
   * @throws NotFoundError for an unknown model; CallCancelledError when the caller aborts;
   *   ModelBusyError when every model of the chain is busy; ModelUnavailableError when none answered.
   */
  async generate(name: string, request: GenerateRequest): Promise<RoutedGeneration> {
    const { value, model, hops } = await this.#callChain(name, request.signal, (backend, signal) =>
      backend.generate({ ...request, signal }),
    );
    return { ...value, model, hops };
  }

  /**
   * Embeds `texts` with `name` (an embedding model), falling back along its chain.
   * @throws as {@link ModelRouter.generate}; a model without `embed` fails that hop (not retried).
   */
  async embed(name: string, texts: string[], signal?: AbortSignal): Promise<RoutedEmbeddings> {
    const { value, model, hops } = await this.#callChain(name, signal, (backend, attemptSignal) => {
      if (!backend.embed) throw new ModelCallError(`${backend.info.name} does not embed`, backend.info.name, 400, false);
      return backend.embed(texts, attemptSignal);
    });
    return { vectors: value, model, hops };
  }

  /**
   * Streams with `name`: falls back along the chain until a model sends its first event; after
   * that, the stream is that model's. The caller's abort ends it with `done` / `cancelled` (the
   * deltas before stay delivered); a failure after text throws (the caller keeps the text). With
   * `admit`, each model is admitted before it is tried (its in-flight slot taken) and skipped as busy
   * when refused; the slot is given back when the model's turn ends: at once when it fails, at the
   * end of its stream when it answers. So the model that serves holds the slot, not the one asked for.
   * @throws (while iterating) as {@link ModelRouter.generate}; ModelCallError for a failure after the
   *   first delta; ModelBusyError (429) when every model was busy or refused admission.
   */
  stream(name: string, request: GenerateRequest, options: StreamOptions = {}): RoutedStream {
    const hops: Hop[] = [];
    let answering: string | undefined;
    const events = this.#streamChain(
      name,
      request,
      hops,
      (model) => {
        answering = model;
      },
      options.admit,
    );
    return {
      hops,
      get model() {
        return answering;
      },
      [Symbol.asyncIterator]: () => events,
    };
  }

  #model(name: string): RoutedModel {
    const model = this.#models.get(name);
    if (!model) throw new NotFoundError(`no model named ${name}`);
    return model;
  }

  /** The chain of `name`: itself, then its fallbacks (unknown names left out). */
  #chain(name: string): string[] {
    const first = this.#model(name);
    return [name, ...first.fallbacks.filter((fallback) => fallback !== name && this.#models.has(fallback))];
  }

  /** Why a model is skipped now, or undefined when it may be called. */
  #skipReason(name: string, model: RoutedModel): string | undefined {
    const inFlight = this.inFlight(name);
    if (inFlight >= model.maxInFlight) return `busy: ${inFlight} calls in flight (mark ${model.maxInFlight})`;
    const breaker = this.#breakers.get(name);
    if (breaker && breaker.state === 'open') return `circuit open (retry in ${Math.ceil(breaker.retryInMs() / 1000)} s)`;
    return undefined;
  }

  #enter(name: string): void {
    this.#inFlight.set(name, this.inFlight(name) + 1);
  }

  #leave(name: string): void {
    this.#inFlight.set(name, Math.max(0, this.inFlight(name) - 1));
  }

  /** Classifies a failed attempt, reports it to the breaker, and returns the error to handle. */
  #failed(name: string, attempt: Attempt, error: unknown): ModelCallError {
    const breaker = this.#breakers.get(name);
    if (attempt.callerAborted) {
      breaker?.neutral();
      return new CallCancelledError(name);
    }
    const failure = attempt.timedOut
      ? new ModelCallError(`${name}: timed out after ${this.#model(name).timeoutMs} ms`, name, 0, true)
      : error instanceof ModelCallError
        ? error
        : new ModelCallError(`${name}: ${error instanceof Error ? error.message : String(error)}`, name, 0, true);
    if (failure.retryable) breaker?.failure();
    else breaker?.neutral();
    return failure;
  }

  /** The error when no model of the chain answered; `busyRetryAfter`: the waits admissions that refused asked for. */
  #exhausted(name: string, hops: Hop[], last: unknown, busyRetryAfter: readonly number[] = []): Error {
    const summary = hops.map((hop) => `${hop.model}: ${hop.reason}`).join('; ');
    if (hops.every((hop) => hop.outcome === 'skipped' && hop.reason.startsWith('busy'))) {
      const retryAfter = busyRetryAfter.length > 0 ? Math.max(1, Math.min(...busyRetryAfter)) : 1;
      return new ModelBusyError(`every model for ${name} is busy: ${summary}`, hops, retryAfter);
    }
    const waits = hops.flatMap((hop) => (hop.outcome === 'skipped' ? [this.#breakers.get(hop.model)?.retryInMs() ?? 0] : []));
    const retryAfter =
      hops.every((hop) => hop.outcome === 'skipped') && waits.length > 0 ? Math.max(1, Math.ceil(Math.min(...waits) / 1000)) : 1;
    return new ModelUnavailableError(`no model answered for ${name}: ${summary}`, hops, retryAfter, last);
  }

  async #callChain<T>(
    name: string,
    signal: AbortSignal | undefined,
    call: (backend: ModelBackend, signal: AbortSignal) => Promise<T>,
  ): Promise<{ value: T; model: string; hops: Hop[] }> {
    const hops: Hop[] = [];
    let last: unknown;
    for (const hopName of this.#chain(name)) {
      const model = this.#model(hopName);
      const started = this.#clock.now();
      const skip = this.#skipReason(hopName, model);
      if (skip) {
        hops.push({ model: hopName, outcome: 'skipped', reason: skip, attempts: 0, elapsedMs: 0 });
        continue;
      }
      let attempts = 0;
      let lastFailure: ModelCallError | undefined;
      try {
        const value = await retry(
          async (attemptNumber) => {
            const breaker = this.#breakers.get(hopName);
            // A retry finds the circuit opened meanwhile (by this or concurrent calls): stop here.
            if (breaker && !breaker.tryAcquire()) throw new CircuitRefused();
            attempts = attemptNumber;
            const attempt = new Attempt(this.#clock, model.timeoutMs, signal);
            this.#enter(hopName);
            try {
              attempt.arm();
              const running = Promise.resolve().then(() => call(model.backend, attempt.controller.signal));
              running.catch(() => {});
              const result = await Promise.race([running, whenAborted(attempt.controller.signal)]);
              breaker?.success();
              return result;
            } catch (error) {
              lastFailure = this.#failed(hopName, attempt, error);
              throw lastFailure;
            } finally {
              attempt.dispose();
              this.#leave(hopName);
            }
          },
          {
            attempts: model.retries + 1,
            ...this.#backoff,
            retryable: (error) => error instanceof ModelCallError && error.retryable && !(error instanceof CallCancelledError),
            sleep: (ms) => this.#clock.sleep(ms, signal),
            random: this.#random,
            now: () => this.#clock.now(),
          },
        );
        hops.push({
          model: hopName,
          outcome: 'answered',
          reason: attempts === 1 ? 'answered' : `answered on attempt ${attempts}`,
          attempts,
          elapsedMs: this.#clock.now() - started,
        });
        return { value, model: hopName, hops };
      } catch (error) {
        const elapsedMs = this.#clock.now() - started;
        if (error instanceof CallCancelledError || signal?.aborted) {
          hops.push({ model: hopName, outcome: 'cancelled', reason: 'cancelled by the caller', attempts, elapsedMs });
          throw error instanceof CallCancelledError ? error : new CallCancelledError(hopName);
        }
        const failure = error instanceof CircuitRefused ? lastFailure : error instanceof ModelCallError ? error : undefined;
        if (!failure) {
          if (!(error instanceof CircuitRefused)) throw error;
          hops.push({ model: hopName, outcome: 'skipped', reason: 'circuit open', attempts: 0, elapsedMs });
          continue;
        }
        last = failure;
        hops.push({
          model: hopName,
          outcome: 'failed',
          reason: failedReason(failure, attempts),
          attempts,
          status: failure.status,
          elapsedMs,
        });
      }
    }
    throw this.#exhausted(name, hops, last);
  }

  async *#streamChain(
    name: string,
    request: GenerateRequest,
    hops: Hop[],
    answering: (model: string) => void,
    admit: Admit | undefined,
  ): AsyncGenerator<StreamEvent> {
    const signal = request.signal;
    let last: unknown;
    const busyRetryAfter: number[] = [];
    for (const hopName of this.#chain(name)) {
      const model = this.#model(hopName);
      const started = this.#clock.now();
      const skip = this.#skipReason(hopName, model);
      if (skip) {
        hops.push({ model: hopName, outcome: 'skipped', reason: skip, attempts: 0, elapsedMs: 0 });
        continue;
      }
      let admission: Admission | undefined;
      if (admit) {
        try {
          admission = await admit(hopName);
        } catch (error) {
          if (!(error instanceof ThrottledError)) throw error;
          // At its mark in the shared count (other containers' calls included): skipped, as a busy model is.
          busyRetryAfter.push(error.retryAfterSeconds);
          hops.push({
            model: hopName,
            outcome: 'skipped',
            reason: `busy: ${shorten(error.message, 240)}`,
            attempts: 0,
            elapsedMs: this.#clock.now() - started,
          });
          continue;
        }
      }
      try {
        const breaker = this.#breakers.get(hopName);
        let failure: ModelCallError | undefined;
        let attempts = 0;
        for (let attemptNumber = 1; attemptNumber <= model.retries + 1; attemptNumber += 1) {
          if (attemptNumber > 1) {
            try {
              await this.#clock.sleep(backoffDelay(attemptNumber - 1, this.#backoff, this.#random), signal);
            } catch {
              hops.push({
                model: hopName,
                outcome: 'cancelled',
                reason: 'cancelled by the caller',
                attempts,
                elapsedMs: this.#clock.now() - started,
              });
              throw new CallCancelledError(hopName);
            }
          }
          if (breaker && !breaker.tryAcquire()) break;
          attempts = attemptNumber;
          const attempt = new Attempt(this.#clock, model.timeoutMs, signal);
          this.#enter(hopName);
          let iterator: AsyncIterator<StreamEvent> | undefined;
          let delivered = false;
          let settled = false;
          try {
            attempt.arm();
            iterator = model.backend.stream({ ...request, signal: attempt.controller.signal })[Symbol.asyncIterator]();
            const aborted = whenAborted(attempt.controller.signal);
            for (;;) {
              const next = (iterator as AsyncIterator<StreamEvent>).next();
              next.catch(() => {});
              const step = await Promise.race([next, aborted]);
              if (step.done) throw new ModelCallError(`${hopName}: the stream ended without a done event`, hopName, 502, true);
              const event = step.value;
              attempt.arm();
              if (event.type === 'done' && event.finishReason === 'cancelled' && !attempt.callerAborted) {
                // The backend saw our timer's abort, not the caller's.
                throw new AttemptTimeout('timed out');
              }
              if (!delivered) {
                answering(hopName);
                delivered = true;
              }
              if (event.type === 'done') {
                settled = true;
                if (event.finishReason === 'cancelled') {
                  breaker?.neutral();
                  hops.push({
                    model: hopName,
                    outcome: 'cancelled',
                    reason: 'cancelled by the caller',
                    attempts,
                    elapsedMs: this.#clock.now() - started,
                  });
                } else {
                  breaker?.success();
                  hops.push({
                    model: hopName,
                    outcome: 'answered',
                    reason: attempts === 1 ? 'answered' : `answered on attempt ${attempts}`,
                    attempts,
                    elapsedMs: this.#clock.now() - started,
                  });
                }
                yield event;
                return;
              }
              yield event;
            }
          } catch (error) {
            settled = true;
            const classified = this.#failed(hopName, attempt, error);
            if (classified instanceof CallCancelledError) {
              hops.push({
                model: hopName,
                outcome: 'cancelled',
                reason: 'cancelled by the caller',
                attempts,
                elapsedMs: this.#clock.now() - started,
              });
              if (delivered) {
                yield { type: 'done', finishReason: 'cancelled' };
                return;
              }
              throw classified;
            }
            if (delivered) {
              hops.push({
                model: hopName,
                outcome: 'failed',
                reason: `failed mid-stream: ${shorten(classified.message, 240)}`,
                attempts,
                status: classified.status,
                elapsedMs: this.#clock.now() - started,
              });
              throw classified;
            }
            failure = classified;
            if (!classified.retryable) break;
          } finally {
            // The consumer stopped early (break/return): stop the backend and free the probe slot.
            if (!settled) breaker?.neutral();
            attempt.controller.abort();
            attempt.dispose();
            this.#leave(hopName);
            void iterator?.return?.()?.catch(() => {});
          }
        }
        last = failure;
        if (!failure) {
          hops.push({ model: hopName, outcome: 'skipped', reason: 'circuit open', attempts, elapsedMs: this.#clock.now() - started });
          continue;
        }
        hops.push({
          model: hopName,
          outcome: 'failed',
          reason: failedReason(failure, attempts),
          attempts,
          status: failure.status,
          elapsedMs: this.#clock.now() - started,
        });
      } finally {
        // The slot is held while this model is tried and, when it answers, until its stream ends.
        await admission?.release().catch(() => undefined);
      }
    }
    throw this.#exhausted(name, hops, last, busyRetryAfter);
  }
}
