/**
 * Resilient model calls (lib/gateway/resilience.ts) on a fake clock: the circuit breaker's states,
 * retries with jitter on retryable failures only, timeouts, fallback along the chain with each hop
 * recorded, in-flight marks, cancellation, and streams (fallback before the first delta only).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GenerateRequest, GenerateResult, ModelBackend, StreamEvent } from '../../lib/gateway/backend.ts';
import { ModelCallError } from '../../lib/gateway/backend.ts';
import { MemoryInflightLimiter } from '../../lib/gateway/memory-store.ts';
import {
  CallCancelledError,
  CircuitBreaker,
  type Clock,
  fallbackDecisions,
  ModelBusyError,
  ModelRouter,
  ModelUnavailableError,
  type RoutedModel,
} from '../../lib/gateway/resilience.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A clock that moves only when told to; `sleeps` records every sleep asked for. */
class FakeClock implements Clock {
  time = 0;
  readonly sleeps: number[] = [];
  #timers: Array<{ at: number; resolve: () => void }> = [];

  now = (): number => this.time;

  sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    this.sleeps.push(ms);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = { at: this.time + ms, resolve };
      this.#timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.#timers = this.#timers.filter((other) => other !== timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  };

  /** Moves time forward by `ms`, firing due timers in order and letting the code they wake run. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await flush();
    for (;;) {
      const due = this.#timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((timer) => timer !== due);
      this.time = due.at;
      due.resolve();
      await flush();
    }
    this.time = end;
    await flush();
  }

  /** Advances in steps until `promise` settles (at most `limitMs`). */
  async run<T>(promise: Promise<T>, stepMs = 10, limitMs = 600_000): Promise<T> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    for (let waited = 0; !settled && waited < limitMs; waited += stepMs) await this.advance(stepMs);
    return promise;
  }
}

type Step = 'ok' | 'hang' | 'hang-ignoring-abort' | ModelCallError | { delayMs: number };

/** A backend that plays `steps` in order (the last one repeats) and counts its calls. */
function scripted(name: string, clock: FakeClock, steps: Step[]) {
  let calls = 0;
  const next = (): Step => steps[Math.min(calls++, steps.length - 1)] ?? 'ok';
  const play = async (step: Step, signal: AbortSignal | undefined): Promise<void> => {
    if (step instanceof ModelCallError) throw step;
    if (step === 'hang') {
      await new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    }
    if (step === 'hang-ignoring-abort') await new Promise<never>(() => {});
    if (typeof step === 'object') await clock.sleep(step.delayMs, signal);
  };
  const backend: ModelBackend & { calls(): number } = {
    info: {
      name,
      provider: 'sagemaker',
      description: 'test',
      contextTokens: 1000,
      maxOutputTokens: 100,
      priceInputPer1k: 0,
      priceOutputPer1k: 0,
      tokenizer: 'approx',
      embeddings: true,
    },
    calls: () => calls,
    async generate(request: GenerateRequest): Promise<GenerateResult> {
      await play(next(), request.signal);
      return { text: `from ${name}`, finishReason: 'stop' };
    },
    async *stream(request: GenerateRequest): AsyncIterable<StreamEvent> {
      await play(next(), request.signal);
      yield { type: 'done', finishReason: 'stop' };
    },
    async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
      await play(next(), signal);
      return texts.map(() => [1, 0]);
    },
  };
  return backend;
}

const unavailable = (name: string) => new ModelCallError(`${name}: Received server error (503)`, name, 503, true);
const invalid = (name: string) => new ModelCallError(`${name}: inputs too long`, name, 422, false);
const request: GenerateRequest = { messages: [{ role: 'user', content: 'hi' }], maxTokens: 10 };

function routed(backend: ModelBackend, overrides: Partial<RoutedModel> = {}): RoutedModel {
  return { backend, timeoutMs: 1_000, retries: 2, fallbacks: [], maxInFlight: 10, ...overrides };
}

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures, refuses during the cool-down, then lets one probe through; its success closes', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ consecutiveFailures: 3, coolDownMs: 10_000 }, () => now);
    for (let i = 0; i < 2; i += 1) {
      assert.ok(breaker.tryAcquire());
      breaker.failure();
    }
    assert.equal(breaker.state, 'closed');
    breaker.success();
    for (let i = 0; i < 3; i += 1) breaker.failure();
    assert.equal(breaker.state, 'open', 'three failures in a row after a success');
    assert.equal(breaker.tryAcquire(), false);
    assert.equal(breaker.retryInMs(), 10_000);
    now = 9_999;
    assert.equal(breaker.tryAcquire(), false);
    now = 10_000;
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.tryAcquire(), true, 'the probe');
    assert.equal(breaker.tryAcquire(), false, 'one probe at a time');
    breaker.success();
    assert.equal(breaker.state, 'closed');
    assert.ok(breaker.tryAcquire());
  });

  it('reopens for another cool-down when the probe fails, and frees the probe slot on a neutral outcome', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ consecutiveFailures: 1, coolDownMs: 1_000 }, () => now);
    breaker.failure();
    now = 1_000;
    assert.ok(breaker.tryAcquire());
    breaker.neutral();
    assert.ok(breaker.tryAcquire(), 'a neutral probe (a 4xx, a cancellation) lets another probe go');
    breaker.failure();
    assert.equal(breaker.state, 'open');
    now = 1_999;
    assert.equal(breaker.tryAcquire(), false);
    now = 2_000;
    assert.ok(breaker.tryAcquire());
  });

  it('opens on the failure rate over the window once it holds enough calls, and forgets calls older than the window', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ consecutiveFailures: 100, failureRate: 0.5, minimumCalls: 6, windowMs: 10_000 }, () => now);
    // success, failure alternating: 50 % but only 5 calls in the window at the fifth.
    for (let i = 0; i < 5; i += 1) {
      if (i % 2 === 0) breaker.success();
      else breaker.failure();
      now += 100;
    }
    assert.equal(breaker.state, 'closed', '2 failures in 5 calls: under the minimum');
    breaker.failure();
    assert.equal(breaker.state, 'open', '3 failures in 6 calls');

    let later = 0;
    const windowed = new CircuitBreaker({ consecutiveFailures: 100, failureRate: 0.5, minimumCalls: 4, windowMs: 1_000 }, () => later);
    windowed.failure();
    windowed.failure();
    later = 5_000;
    windowed.success();
    windowed.success();
    windowed.success();
    windowed.failure();
    assert.equal(windowed.state, 'closed', 'the two old failures left the window: 1 in 4');
  });

  it('ignores outcomes of calls that finish while the circuit is open', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ consecutiveFailures: 1, coolDownMs: 1_000 }, () => now);
    breaker.failure();
    breaker.success();
    assert.equal(breaker.state, 'open');
    now = 500;
    assert.equal(breaker.retryInMs(), 500);
  });
});

describe('ModelRouter.generate', () => {
  it('retries a retryable failure with full-jitter backoff and records the answering attempt', async () => {
    const clock = new FakeClock();
    const a = scripted('a', clock, [unavailable('a'), unavailable('a'), 'ok']);
    const router = new ModelRouter({ a: routed(a) }, { clock, random: () => 0.5, backoff: { baseDelayMs: 100, maxDelayMs: 2_000 } });
    const reply = await clock.run(router.generate('a', request));
    assert.equal(reply.text, 'from a');
    assert.equal(reply.model, 'a');
    assert.equal(a.calls(), 3);
    assert.deepEqual(
      clock.sleeps.filter((ms) => ms !== 1_000),
      [50, 100],
      'half of 100, then of 200 (the 1 s sleeps are the attempt timers)',
    );
    assert.deepEqual(
      reply.hops.map(({ model, outcome, reason, attempts }) => ({ model, outcome, reason, attempts })),
      [{ model: 'a', outcome: 'answered', reason: 'answered on attempt 3', attempts: 3 }],
    );
  });

  it('does not retry a non-retryable failure but falls back, and the hops give the fallback decisions', async () => {
    const clock = new FakeClock();
    const a = scripted('a', clock, [invalid('a')]);
    const b = scripted('b', clock, ['ok']);
    const router = new ModelRouter({ a: routed(a, { fallbacks: ['b'] }), b: routed(b) }, { clock });
    const reply = await clock.run(router.generate('a', request));
    assert.equal(reply.model, 'b');
    assert.equal(a.calls(), 1, 'a 4xx is not retried');
    assert.deepEqual(
      reply.hops.map((hop) => [hop.model, hop.outcome, hop.status]),
      [
        ['a', 'failed', 422],
        ['b', 'answered', undefined],
      ],
    );
    assert.deepEqual(fallbackDecisions(reply.hops), [{ step: 'fallback', from: 'a', to: 'b', reason: '422 failed: a: inputs too long' }]);
  });

  it('times out an attempt whose backend never answers (even one that ignores the abort), retries, then falls back', async () => {
    const clock = new FakeClock();
    const a = scripted('a', clock, ['hang-ignoring-abort']);
    const b = scripted('b', clock, [{ delayMs: 200 }]);
    const router = new ModelRouter(
      { a: routed(a, { timeoutMs: 5_000, retries: 1, fallbacks: ['b'] }), b: routed(b) },
      { clock, random: () => 0 },
    );
    const reply = await clock.run(router.generate('a', request), 100);
    assert.equal(reply.model, 'b');
    assert.equal(a.calls(), 2);
    const [first] = reply.hops;
    assert.equal(first?.status, 0);
    assert.match(first?.reason ?? '', /^0 after 2 attempts: a: timed out after 5000 ms$/);
    assert.equal(first?.elapsedMs, 10_000);
  });

  it('opens the circuit after repeated failures, then skips the model for its fallback until the cool-down ends', async () => {
    const clock = new FakeClock();
    const a = scripted('a', clock, [unavailable('a')]);
    const b = scripted('b', clock, ['ok']);
    const router = new ModelRouter(
      { a: routed(a, { retries: 1, fallbacks: ['b'] }), b: routed(b) },
      { clock, random: () => 0, breaker: { consecutiveFailures: 4, coolDownMs: 30_000 } },
    );
    await clock.run(router.generate('a', request));
    await clock.run(router.generate('a', request));
    assert.equal(a.calls(), 4);
    assert.equal(router.circuit('a'), 'open');
    const skipped = await clock.run(router.generate('a', request));
    assert.equal(a.calls(), 4, 'not called while open');
    assert.equal(skipped.model, 'b');
    assert.deepEqual(skipped.hops[0], {
      model: 'a',
      outcome: 'skipped',
      reason: 'circuit open (retry in 30 s)',
      attempts: 0,
      elapsedMs: 0,
    });
    await clock.advance(30_000);
    assert.equal(router.circuit('a'), 'half-open');
    await clock.run(router.generate('a', request));
    assert.equal(a.calls(), 5, 'one probe after the cool-down (it failed, so no retry on an open circuit)');
    assert.equal(router.circuit('a'), 'open');
  });

  it('skips a model at its in-flight mark, and answers 429 with the hops when every model of the chain is busy', async () => {
    const clock = new FakeClock();
    const a = scripted('a', clock, [{ delayMs: 1_000 }]);
    const b = scripted('b', clock, [{ delayMs: 1_000 }]);
    const router = new ModelRouter(
      { a: routed(a, { maxInFlight: 1, fallbacks: ['b'], timeoutMs: 60_000 }), b: routed(b, { maxInFlight: 1, timeoutMs: 60_000 }) },
      { clock },
    );
    const first = router.generate('a', request);
    await flush();
    assert.equal(router.inFlight('a'), 1);
    const second = router.generate('a', request);
    await flush();
    await assert.rejects(router.generate('a', request), (error: unknown) => {
      assert.ok(error instanceof ModelBusyError);
      assert.equal(error.retryAfterSeconds, 1);
      assert.deepEqual(
        error.hops.map((hop) => hop.reason),
        ['busy: 1 calls in flight (mark 1)', 'busy: 1 calls in flight (mark 1)'],
      );
      return true;
    });
    const [one, two] = await clock.run(Promise.all([first, second]));
    assert.equal(one.model, 'a');
    assert.equal(two.model, 'b');
    assert.equal(router.inFlight('a'), 0);
    assert.equal(router.inFlight('b'), 0);
  });

  it('fails with 503 and every hop when no model answers', async () => {
    const clock = new FakeClock();
    const router = new ModelRouter(
      {
        a: routed(scripted('a', clock, [unavailable('a')]), { retries: 0, fallbacks: ['b'] }),
        b: routed(scripted('b', clock, [invalid('b')])),
      },
      { clock },
    );
    await assert.rejects(clock.run(router.generate('a', request)), (error: unknown) => {
      assert.ok(error instanceof ModelUnavailableError);
      assert.match(error.message, /no model answered for a: a: 503 failed: .*; b: 422 failed: b: inputs too long/);
      assert.equal(error.hops.length, 2);
      return true;
    });
    await assert.rejects(router.generate('ghost', request), /no model named ghost/);
  });

  it('stops at once when the caller aborts: no retry, no fallback', async () => {
    const clock = new FakeClock();
    const a = scripted('a', clock, ['hang']);
    const b = scripted('b', clock, ['ok']);
    const router = new ModelRouter({ a: routed(a, { fallbacks: ['b'] }), b: routed(b) }, { clock });
    const controller = new AbortController();
    const call = router.generate('a', { ...request, signal: controller.signal });
    await flush();
    controller.abort();
    await assert.rejects(call, (error: unknown) => error instanceof CallCancelledError && !error.retryable);
    assert.equal(a.calls(), 1);
    assert.equal(b.calls(), 0);
    assert.equal(router.inFlight('a'), 0);
    assert.equal(router.circuit('a'), 'closed');
  });

  it('embeds through the chain of an embedding model', async () => {
    const clock = new FakeClock();
    const router = new ModelRouter(
      { e: routed(scripted('e', clock, [invalid('e')]), { fallbacks: ['f'] }), f: routed(scripted('f', clock, ['ok'])) },
      { clock },
    );
    const result = await clock.run(router.embed('e', ['x', 'y']));
    assert.equal(result.model, 'f');
    assert.deepEqual(result.vectors, [
      [1, 0],
      [1, 0],
    ]);
  });
});

/** A streaming backend: `before` decides how the stream starts, then `deltas` one per `gapMs`, then `end`. */
function streamer(
  name: string,
  clock: FakeClock,
  plan: { before?: Step; deltas: string[]; gapMs?: number; end?: 'done' | ModelCallError },
) {
  let calls = 0;
  const backend: ModelBackend & { calls(): number } = {
    info: {
      name,
      provider: 'sagemaker',
      description: 'test',
      contextTokens: 1000,
      maxOutputTokens: 100,
      priceInputPer1k: 0,
      priceOutputPer1k: 0,
      tokenizer: 'approx',
      embeddings: false,
    },
    calls: () => calls,
    generate: async () => ({ text: '', finishReason: 'stop' }),
    async *stream(req: GenerateRequest): AsyncIterable<StreamEvent> {
      calls += 1;
      if (plan.before instanceof ModelCallError) throw plan.before;
      for (const text of plan.deltas) {
        try {
          await clock.sleep(plan.gapMs ?? 10, req.signal);
        } catch {
          yield { type: 'done', finishReason: 'cancelled' };
          return;
        }
        yield { type: 'delta', text };
      }
      if (plan.end instanceof ModelCallError) throw plan.end;
      yield { type: 'done', finishReason: 'stop' };
    },
  };
  return backend;
}

async function drain(stream: AsyncIterable<StreamEvent>, onEvent?: (event: StreamEvent) => void): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) {
    events.push(event);
    onEvent?.(event);
  }
  return events;
}

describe('ModelRouter.stream', () => {
  it('falls back before the first delta and names the streaming model', async () => {
    const clock = new FakeClock();
    const a = streamer('a', clock, { before: unavailable('a'), deltas: [] });
    const b = streamer('b', clock, { deltas: ['x', 'y'] });
    const router = new ModelRouter({ a: routed(a, { retries: 1, fallbacks: ['b'] }), b: routed(b) }, { clock, random: () => 0 });
    const stream = router.stream('a', request);
    const events = await clock.run(drain(stream));
    assert.deepEqual(events, [
      { type: 'delta', text: 'x' },
      { type: 'delta', text: 'y' },
      { type: 'done', finishReason: 'stop' },
    ]);
    assert.equal(stream.model, 'b');
    assert.equal(a.calls(), 2);
    assert.deepEqual(
      stream.hops.map((hop) => [hop.model, hop.outcome]),
      [
        ['a', 'failed'],
        ['b', 'answered'],
      ],
    );
  });

  it('does not fall back after text: a failure mid-stream throws after the deltas, and is recorded', async () => {
    const clock = new FakeClock();
    const a = streamer('a', clock, { deltas: ['x'], end: unavailable('a') });
    const b = streamer('b', clock, { deltas: ['never'] });
    const router = new ModelRouter({ a: routed(a, { fallbacks: ['b'] }), b: routed(b) }, { clock });
    const stream = router.stream('a', request);
    const seen: StreamEvent[] = [];
    await assert.rejects(
      clock.run(drain(stream, (event) => seen.push(event))),
      (error: unknown) => error instanceof ModelCallError && error.status === 503,
    );
    assert.deepEqual(seen, [{ type: 'delta', text: 'x' }]);
    assert.equal(b.calls(), 0);
    assert.match(stream.hops[0]?.reason ?? '', /^failed mid-stream/);
  });

  it('ends with done/cancelled after the deltas received when the caller aborts mid-stream', async () => {
    const clock = new FakeClock();
    const a = streamer('a', clock, { deltas: ['one', 'two', 'three', 'four'], gapMs: 100 });
    const router = new ModelRouter({ a: routed(a) }, { clock });
    const controller = new AbortController();
    const events = await clock.run(
      drain(router.stream('a', { ...request, signal: controller.signal }), (event) => {
        if (event.type === 'delta' && event.text === 'two') controller.abort();
      }),
    );
    assert.deepEqual(events, [
      { type: 'delta', text: 'one' },
      { type: 'delta', text: 'two' },
      { type: 'done', finishReason: 'cancelled' },
    ]);
    assert.equal(router.inFlight('a'), 0);
  });

  it('times out a stream that goes quiet between events (the timeout is per gap, not for the whole stream)', async () => {
    const clock = new FakeClock();
    const slowButSteady = streamer('a', clock, { deltas: Array.from({ length: 20 }, (_, i) => `${i}`), gapMs: 400 });
    const router = new ModelRouter({ a: routed(slowButSteady, { timeoutMs: 500 }) }, { clock });
    const steady = await clock.run(drain(router.stream('a', request)), 50);
    assert.equal(steady.length, 21, '20 deltas 400 ms apart pass a 500 ms timeout (8 s in all)');

    const stalls = streamer('b', clock, { deltas: ['x', 'late'], gapMs: 900 });
    const stalling = new ModelRouter({ b: routed(stalls, { timeoutMs: 500, retries: 0 }) }, { clock });
    await assert.rejects(
      clock.run(drain(stalling.stream('b', request)), 50),
      (error: unknown) => error instanceof ModelUnavailableError && /timed out after 500 ms/.test(error.message),
    );
  });

  it('keeps one timer per attempt however many events a stream sends (re-arming moves a deadline)', async () => {
    const clock = new FakeClock();
    const a = streamer('a', clock, { deltas: Array.from({ length: 200 }, (_, i) => `${i}`), gapMs: 10 });
    const router = new ModelRouter({ a: routed(a, { timeoutMs: 1_000 }) }, { clock });
    const events = await clock.run(drain(router.stream('a', request)), 10);
    assert.equal(events.length, 201);
    const timerSleeps = clock.sleeps.filter((ms) => ms !== 10);
    // 2 s of stream under a 1 s timeout: the first sleep, then one more per second the deadline moved on.
    assert.ok(timerSleeps.length <= 3, `${timerSleeps.length} timer sleeps for 201 events: ${timerSleeps.join(', ')}`);
  });

  it('times a stream out one timeout after its last event, however many events came before', async () => {
    const clock = new FakeClock();
    let abortedAt: number | undefined;
    const backend: ModelBackend = {
      ...streamer('a', clock, { deltas: [] }),
      async *stream(req: GenerateRequest): AsyncIterable<StreamEvent> {
        for (let i = 0; i < 50; i += 1) {
          await clock.sleep(10, req.signal);
          yield { type: 'delta', text: `${i}` };
        }
        await new Promise<never>((_, reject) =>
          req.signal?.addEventListener(
            'abort',
            () => {
              abortedAt = clock.now();
              reject(new Error('aborted'));
            },
            { once: true },
          ),
        );
      },
    };
    const router = new ModelRouter({ a: routed(backend, { timeoutMs: 500, retries: 0 }) }, { clock });
    const seen: StreamEvent[] = [];
    await assert.rejects(
      clock.run(drain(router.stream('a', request), (event) => seen.push(event))),
      (error: unknown) => error instanceof ModelCallError && /timed out after 500 ms/.test(error.message),
    );
    assert.equal(seen.length, 50);
    assert.equal(abortedAt, 1_000, 'the last delta came at 500 ms: aborted 500 ms later, not 500 ms after the first arm');
    assert.equal(router.inFlight('a'), 0);
  });

  it('admits each model before trying it: the one that serves holds its slot until its stream ends, the failed one gave its back', async () => {
    const clock = new FakeClock();
    const limiter = new MemoryInflightLimiter();
    const admit = async (model: string) => {
      const slot = await limiter.acquire(model, 1);
      return { release: async () => void (await limiter.release(slot)) };
    };
    const a = streamer('a', clock, { before: invalid('a'), deltas: [] });
    const b = streamer('b', clock, { deltas: ['x', 'y'] });
    const router = new ModelRouter({ a: routed(a, { fallbacks: ['b'] }), b: routed(b) }, { clock });
    const held: Array<[number, number]> = [];
    const stream = router.stream('a', request, { admit });
    await clock.run(
      (async () => {
        for await (const _event of stream) held.push([await limiter.inFlight('a'), await limiter.inFlight('b')]);
      })(),
    );
    assert.equal(stream.model, 'b');
    assert.deepEqual(
      held,
      [
        [0, 1],
        [0, 1],
        [0, 1],
      ],
      'while b streams (two deltas, done), b holds a slot and a holds none',
    );
    assert.deepEqual([await limiter.inFlight('a'), await limiter.inFlight('b')], [0, 0], 'both given back at the end');
  });

  it('skips a model refused admission as busy, and answers 429 with the shortest Retry-After when the whole chain is', async () => {
    const clock = new FakeClock();
    const limiter = new MemoryInflightLimiter();
    const admit = async (model: string) => {
      const slot = await limiter.acquire(model, 1);
      return { release: async () => void (await limiter.release(slot)) };
    };
    const a = streamer('a', clock, { deltas: ['never'] });
    const b = streamer('b', clock, { deltas: ['from b'] });
    const router = new ModelRouter({ a: routed(a, { fallbacks: ['b'] }), b: routed(b) }, { clock });
    const taken = await limiter.acquire('a', 1);
    const stream = router.stream('a', request, { admit });
    const events = await clock.run(drain(stream));
    assert.deepEqual(events[0], { type: 'delta', text: 'from b' });
    assert.equal(a.calls(), 0, 'a was never called');
    assert.deepEqual(
      stream.hops.map((hop) => [hop.model, hop.outcome]),
      [
        ['a', 'skipped'],
        ['b', 'answered'],
      ],
    );
    assert.match(stream.hops[0]?.reason ?? '', /^busy: Model a has 1 requests in flight, its mark is 1/);
    assert.match(fallbackDecisions(stream.hops)[0]?.reason ?? '', /^busy/);
    await limiter.acquire('b', 1);
    const busy = router.stream('a', request, { admit });
    await assert.rejects(
      clock.run(drain(busy)),
      (error: unknown) =>
        error instanceof ModelBusyError && error.retryAfterSeconds === 1 && /every model for a is busy/.test(error.message),
    );
    assert.equal(await limiter.release(taken), true);
  });

  it('releases the in-flight slot when the consumer stops reading early', async () => {
    const clock = new FakeClock();
    const a = streamer('a', clock, { deltas: ['one', 'two', 'three'] });
    const router = new ModelRouter({ a: routed(a) }, { clock });
    const reading = (async () => {
      for await (const event of router.stream('a', request)) if (event.type === 'delta') break;
    })();
    await clock.run(reading);
    assert.equal(router.inFlight('a'), 0);
    assert.equal(router.circuit('a'), 'closed');
  });
});
