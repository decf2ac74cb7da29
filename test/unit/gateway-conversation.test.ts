/**
 * Dual-model exchange (lib/gateway/conversation.ts): the order user → A → B → A …, what each model
 * sees, and a clean stop keeping the transcript on a failure, an empty reply or an abort.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ThrottledError } from '../../lib/errors.ts';
import type { ChatMessage } from '../../lib/gateway/backend.ts';
import { ModelCallError } from '../../lib/gateway/backend.ts';
import { type ChatCall, type ChatCallResult, exchangeRequestSchema, runExchange } from '../../lib/gateway/conversation.ts';

const request = {
  modelA: 'planner',
  modelB: 'reviewer',
  promptA: 'Propose a cache key for per-user session data in a multi-tenant service.',
  promptB: 'You review design proposals. Point out one weakness of the proposal you are shown, in one sentence.',
  exchanges: 4,
};

const replies: Record<string, string[]> = {
  planner: [
    'Use session:{userId} as the key, with a 30 minute TTL.',
    'Then use session:{tenantId}:{userId}, so two tenants with the same user id never share an entry.',
  ],
  reviewer: [
    "The key omits the tenant, so two tenants with the same user id would read each other's sessions.",
    'That fixes the collision; consider hashing the ids if they may contain the separator.',
  ],
};

/** A scripted model per name, recording every call's messages; `fail` maps a call number (1-based) to an error. */
function scripted(options: { fail?: Record<number, unknown>; reply?: (model: string, n: number) => Partial<ChatCallResult<string>> } = {}) {
  const calls: { model: string; messages: ChatMessage[] }[] = [];
  const served: Record<string, number> = {};
  const chat: ChatCall<string> = async (messages, model) => {
    calls.push({ model, messages: structuredClone(messages) });
    const failure = options.fail?.[calls.length];
    if (failure) throw failure;
    const n = served[model] ?? 0;
    served[model] = n + 1;
    const text = replies[model]?.[n] ?? `reply ${n + 1} of ${model}`;
    return {
      text,
      finishReason: 'stop',
      usage: { inputTokens: messages.reduce((sum, m) => sum + m.content.length, 0), outputTokens: text.length },
      ...options.reply?.(model, n),
    };
  };
  return { chat, calls };
}

/** A clock advancing 25 ms per reading. */
function steppingClock(step = 25): () => number {
  let t = 1_000;
  return () => {
    t += step;
    return t;
  };
}

describe('runExchange', () => {
  it("runs user → A → B → A → B, each model seeing its own replies as assistant and the other's as user", async () => {
    const { chat, calls } = scripted();
    const result = await runExchange(request, chat, { now: steppingClock() });
    assert.equal(result.status, 'completed');
    assert.deepEqual(
      result.transcript.map((turn) => [turn.speaker, turn.role]),
      [
        ['user', 'user'],
        ['A', 'assistant'],
        ['B', 'assistant'],
        ['A', 'assistant'],
        ['B', 'assistant'],
      ],
    );
    assert.deepEqual(
      calls.map((call) => call.model),
      ['planner', 'reviewer', 'planner', 'reviewer'],
    );
    assert.deepEqual(calls[0]?.messages, [{ role: 'user', content: request.promptA }]);
    assert.deepEqual(calls[1]?.messages, [
      { role: 'system', content: request.promptB },
      { role: 'user', content: replies.planner?.[0] },
    ]);
    assert.deepEqual(calls[2]?.messages, [
      { role: 'user', content: request.promptA },
      { role: 'assistant', content: replies.planner?.[0] },
      { role: 'user', content: replies.reviewer?.[0] },
    ]);
    assert.deepEqual(calls[3]?.messages, [
      { role: 'system', content: request.promptB },
      { role: 'user', content: replies.planner?.[0] },
      { role: 'assistant', content: replies.reviewer?.[0] },
      { role: 'user', content: replies.planner?.[1] },
    ]);
    assert.equal(result.transcript[3]?.text, replies.planner?.[1]);
  });

  it('records model, usage, latency and decisions per turn and sums the usage', async () => {
    const { chat } = scripted({
      reply: (model) => (model === 'reviewer' ? { model: 'reviewer-fallback', decisions: ['fallback: reviewer unavailable'] } : {}),
    });
    const result = await runExchange({ ...request, exchanges: 2 }, chat, { now: steppingClock(25) });
    const [, a, b] = result.transcript;
    assert.ok(a && a.speaker === 'A' && b && b.speaker === 'B');
    assert.equal(a.model, 'planner');
    assert.equal(b.model, 'reviewer-fallback');
    assert.deepEqual(b.decisions, ['fallback: reviewer unavailable']);
    assert.deepEqual(a.decisions, []);
    assert.equal(a.latencyMs, 25);
    assert.equal(a.usage.inputTokens, request.promptA.length);
    assert.deepEqual(result.usage, {
      inputTokens: a.usage.inputTokens + b.usage.inputTokens,
      outputTokens: a.usage.outputTokens + b.usage.outputTokens,
    });
  });

  it('exchanges: 1 is A alone; 3 ends on A', async () => {
    assert.deepEqual(
      (await runExchange({ ...request, exchanges: 1 }, scripted().chat)).transcript.map((turn) => turn.speaker),
      ['user', 'A'],
    );
    assert.deepEqual(
      (await runExchange({ ...request, exchanges: 3 }, scripted().chat)).transcript.map((turn) => turn.speaker),
      ['user', 'A', 'B', 'A'],
    );
  });

  it("puts systemA before A's prompt", async () => {
    const { chat, calls } = scripted();
    await runExchange({ ...request, exchanges: 1, systemA: 'You are a senior engineer.' }, chat);
    assert.deepEqual(calls[0]?.messages, [
      { role: 'system', content: 'You are a senior engineer.' },
      { role: 'user', content: request.promptA },
    ]);
  });

  it('stops on a failed call, keeping the turns before it and naming the model', async () => {
    const { chat, calls } = scripted({ fail: { 3: new ModelCallError('planner: upstream 503', 'planner', 503, true) } });
    const result = await runExchange(request, chat);
    assert.equal(result.status, 'failed');
    assert.equal(calls.length, 3);
    assert.deepEqual(
      result.transcript.map((turn) => turn.speaker),
      ['user', 'A', 'B'],
    );
    assert.equal(result.error?.model, 'planner');
    assert.equal(result.error?.message, 'planner: upstream 503');
    assert.equal(result.error?.retryable, true);
  });

  it("passes a domain error's message on but hides an unexpected error's", async () => {
    const budget = await runExchange(
      request,
      scripted({ fail: { 2: new ThrottledError('token budget of tenant acme exhausted', 60) } }).chat,
    );
    assert.equal(budget.error?.message, 'token budget of tenant acme exhausted');
    const crash = await runExchange(
      request,
      scripted({ fail: { 1: new TypeError('cannot read properties of undefined (reading "x")') } }).chat,
    );
    assert.equal(crash.status, 'failed');
    assert.equal(crash.error?.message, 'the call to model planner failed');
    assert.ok(crash.error?.cause instanceof TypeError);
  });

  it('stops when a model returns nothing, since the other would get an empty message', async () => {
    const { chat, calls } = scripted({ reply: (model) => (model === 'reviewer' ? { text: '  ' } : {}) });
    const result = await runExchange(request, chat);
    assert.equal(result.status, 'failed');
    assert.equal(calls.length, 2);
    assert.match(result.error?.message ?? '', /model reviewer returned an empty reply/);
    assert.equal(result.transcript.length, 3);
  });

  it('an aborted signal stops during a turn and keeps the transcript so far', async () => {
    const controller = new AbortController();
    let calls = 0;
    const chat: ChatCall = (_messages, model, signal) => {
      calls += 1;
      if (calls === 1)
        return Promise.resolve({
          text: 'Use session:{tenantId}:{userId}.',
          finishReason: 'stop',
          usage: { inputTokens: 10, outputTokens: 8 },
        });
      return new Promise((_, reject) => {
        signal?.addEventListener('abort', () => reject(new ModelCallError(`${model}: aborted`, model, 0, false)), { once: true });
        setImmediate(() => controller.abort());
      });
    };
    const result = await runExchange(request, chat, { signal: controller.signal });
    assert.equal(result.status, 'cancelled');
    assert.equal(result.error, undefined);
    assert.deepEqual(
      result.transcript.map((turn) => turn.speaker),
      ['user', 'A'],
    );
  });

  it("keeps a cancelled turn's partial text and starts no further turn", async () => {
    const { chat, calls } = scripted({
      reply: (model) => (model === 'reviewer' ? { text: 'The key omits the ten', finishReason: 'cancelled' } : {}),
    });
    const result = await runExchange(request, chat);
    assert.equal(result.status, 'cancelled');
    assert.equal(calls.length, 2);
    assert.equal(result.transcript[2]?.text, 'The key omits the ten');
  });

  it('an already aborted signal runs no turn', async () => {
    const { chat, calls } = scripted();
    const result = await runExchange(request, chat, { signal: AbortSignal.abort() });
    assert.equal(result.status, 'cancelled');
    assert.equal(calls.length, 0);
    assert.deepEqual(result.transcript, [{ index: 0, speaker: 'user', role: 'user', text: request.promptA }]);
  });

  it('reports each turn to onTurn before the next starts', async () => {
    const { chat, calls } = scripted();
    const seen: [number, number][] = [];
    await runExchange(request, chat, { onTurn: (turn) => void seen.push([turn.index, calls.length]) });
    assert.deepEqual(seen, [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
  });
});

describe('exchangeRequestSchema', () => {
  it('refuses 0 or more than 20 exchanges, empty prompts and unknown fields', () => {
    assert.equal(exchangeRequestSchema.safeParse(request).success, true);
    for (const bad of [{ exchanges: 0 }, { exchanges: 21 }, { exchanges: 2.5 }, { promptA: '' }, { modelB: '' }, { temperature: 2 }]) {
      assert.equal(exchangeRequestSchema.safeParse({ ...request, ...bad }).success, false, JSON.stringify(bad));
    }
  });
});
