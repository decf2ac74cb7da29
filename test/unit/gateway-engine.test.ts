/**
 * The chat pipeline in process (lib/gateway/engine.ts) over the local stage's models, with the
 * stand-ins' own logic behind in-process backends, the real router, tokenizers, safety rules and PII
 * filter, and the gateway's stores in memory: what each step decides, what is billed and logged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../lib/errors.ts';
import type { ModelBackend } from '../../lib/gateway/backend.ts';
import type { InflightLimiter } from '../../lib/gateway/backpressure.ts';
import { BudgetExceededError, budgetFromInput } from '../../lib/gateway/budgets.ts';
import { BILLING_STREAM, CONVERSATIONS_STREAM } from '../../lib/gateway/conversation-log.ts';
import {
  applyConversationRetention,
  CONVERSATION_LEASE_SECONDS,
  chat,
  cutToTokens,
  exchange,
  leaseUntil,
  viewConversation,
} from '../../lib/gateway/engine.ts';
import { modelInfo } from '../../lib/gateway/models.ts';
import { ModelBusyError } from '../../lib/gateway/resilience.ts';
import type { ChatInput } from '../../lib/gateway/schemas.ts';
import { tokenizer } from '../../lib/gateway/tokenizer.ts';
import { caller, failingBackend, gatewayTestDeps, localModels } from '../helpers/gateway.ts';

const ask = (content: string, extra: Partial<ChatInput> = {}): ChatInput => ({
  model: 'standin-a',
  messages: [{ role: 'user', content }],
  stream: false,
  debug: false,
  ...extra,
});

const modelNamed = (name: string) => {
  const model = localModels.find((each) => each.name === name);
  assert.ok(model, name);
  return model;
};

describe('the chat pipeline', () => {
  it('answers through the model, counts usage with our tokenizer and bills it exactly, in the ledger and the budget', async () => {
    const { deps, stores } = gatewayTestDeps();
    const who = caller('t-basic');
    const { result, deltas, costPicoUsd } = await chat(
      ask('The cache is cold after every deploy of the service', { maxTokens: 64 }),
      who,
      deps,
    );
    assert.equal(result.model, 'standin-a');
    assert.equal(result.finishReason, 'stop');
    assert.ok(result.text.length > 0);
    assert.equal(deltas.join(''), result.text, 'the stream pieces make the text');
    const tok = await tokenizer('cl100k_base');
    assert.equal(result.usage.outputTokens, tok.count(result.text));
    assert.equal(
      result.usage.inputTokens,
      tok.countChat([{ role: 'user', content: 'The cache is cold after every deploy of the service' }]),
    );
    // standin-a: 0.0005 USD / 1k input tokens = 500,000 pUSD per token; 0.0015 / 1k output = 1,500,000.
    assert.equal(costPicoUsd, BigInt(result.usage.inputTokens) * 500_000n + BigInt(result.usage.outputTokens) * 1_500_000n);
    assert.equal(result.costUsd, Number(costPicoUsd) / 1e12);
    const usage = await stores.budgets.usage('t-basic');
    assert.equal(usage.spent.tokens, result.usage.inputTokens + result.usage.outputTokens);
    assert.equal(usage.spent.costPicoUsd, costPicoUsd);
    assert.equal(usage.reserved.tokens, 0, 'nothing stays reserved');
    const billing = stores.ledger.ledger.entries('t-basic', BILLING_STREAM);
    assert.equal(billing.length, 1);
    const bill = await stores.ledger.payload('t-basic', billing[0]?.payloadHash ?? '');
    assert.equal(bill?.costPicoUsd, costPicoUsd.toString());
    assert.equal(bill?.outputTokens, result.usage.outputTokens);
    assert.equal(billing[0]?.correlationId, who.correlationId);
    const budget = result.decisions.find((decision) => decision.step === 'budget');
    assert.equal(budget?.step === 'budget' && budget.settledTokens, result.usage.inputTokens + result.usage.outputTokens);
    assert.deepEqual(result.ledger, { stream: CONVERSATIONS_STREAM, seq: 0 });
  });

  it('logs the turn so that it verifies against the ledger, and names a changed message after tampering', async () => {
    const { deps, stores } = gatewayTestDeps();
    const first = await chat(ask('Explain why the queue grows at night when traffic is low'), caller('t-log'), deps);
    const second = await chat(
      ask('And what should we change first?', { conversationId: first.result.conversationId }),
      caller('t-log'),
      deps,
    );
    assert.equal(second.result.turn, 1);
    const view = await viewConversation('t-log', first.result.conversationId, {
      conversations: stores.conversations,
      ledger: stores.ledger,
    });
    assert.equal(view.verification.intact, true, JSON.stringify(view.verification));
    assert.deepEqual(
      view.verification.turns.map((turn) => turn.messages.every((verdict) => verdict === 'verified')),
      [true, true],
    );
    // Someone edits the stored log's answer.
    const key = `t-log#${first.result.conversationId}`;
    const stored = JSON.parse(stores.conversations.logs.get(key) ?? '{}');
    stored.turns[0].messages[1].content = 'A different answer.';
    stores.conversations.logs.set(key, JSON.stringify(stored));
    const tampered = await viewConversation('t-log', first.result.conversationId, {
      conversations: stores.conversations,
      ledger: stores.ledger,
    });
    assert.equal(tampered.verification.intact, false);
    assert.deepEqual(tampered.verification.turns[0]?.messages, ['verified', 'altered']);
  });

  it('names an unknown model, an unknown template and a missing variable (400)', async () => {
    const { deps } = gatewayTestDeps();
    const issues = async (input: ChatInput) => {
      const error = await chat(input, caller(), deps).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      assert.ok(error instanceof ValidationError, String(error));
      return error.issues.map((issue) => issue.path);
    };
    assert.deepEqual(await issues(ask('hi', { model: 'gpt-9' })), ['body.parameters.model']);
    assert.deepEqual(await issues(ask('hi', { model: 'standin-embed' })), ['body.parameters.model'], 'an embedding model does not chat');
    assert.deepEqual(await issues(ask('hi', { template: 'no_such_template' })), ['body.parameters.template']);
    assert.deepEqual(await issues(ask('hi', { template: 'developer_mode' })), ['body.parameters.variables.language']);
  });

  it('renders a template before the messages and records it', async () => {
    const { deps } = gatewayTestDeps();
    const { result } = await chat(
      ask('[[standin: echo]] What is a mutex?', { template: 'developer_mode', variables: { language: 'Go' } }),
      caller(),
      deps,
    );
    assert.deepEqual(
      result.decisions.find((decision) => decision.step === 'template'),
      { step: 'template', template: 'developer_mode', variables: ['language'] },
    );
    assert.ok(result.usage.inputTokens > 30, 'the system prompt was sent');
  });

  it("fits a long history to the tenant's limit, dropping the oldest turns and saying so", async () => {
    const { deps, stores } = gatewayTestDeps();
    await stores.settings.put('t-fit', { piiInput: 'off', piiOutput: 'off', piiLog: 'redact', contextTokens: 300, retentionDays: 30 });
    const filler = 'The deploy pipeline ran the migration before the cache warmed up again. '.repeat(6);
    const messages: ChatInput['messages'] = [{ role: 'system', content: 'Be brief.' }];
    for (let i = 0; i < 6; i++) messages.push({ role: 'user', content: `${i}: ${filler}` }, { role: 'assistant', content: `noted ${i}` });
    messages.push({ role: 'user', content: 'What failed first?' });
    const { result } = await chat({ ...ask(''), messages, maxTokens: 64 }, caller('t-fit'), deps);
    const context = result.decisions.find((decision) => decision.step === 'context');
    assert.ok(context && context.step === 'context', JSON.stringify(result.decisions));
    assert.ok(context.droppedMessages >= 2);
    assert.equal(context.dropped[0], 1, 'the oldest turn went first; the system prompt stayed');
    assert.ok(result.usage.inputTokens + 64 <= 300, `${result.usage.inputTokens} input tokens`);
  });

  it('falls back when the model is down and records the hop', async () => {
    const { deps } = gatewayTestDeps({ backends: { 'standin-a': failingBackend(modelNamed('standin-a')) } });
    const { result } = await chat(ask('Summarise the incident report for the team'), caller(), deps);
    assert.equal(result.model, 'standin-b');
    const fallback = result.decisions.find((decision) => decision.step === 'fallback');
    assert.equal(fallback?.step === 'fallback' && `${fallback.from}>${fallback.to}`, 'standin-a>standin-b');
  });

  it('refuses with 429 naming the budget when the worst case does not fit, and pauses the tenant once at the hard cap', async () => {
    const { deps, stores, pauses } = gatewayTestDeps();
    await stores.budgets.putBudget('t-budget', budgetFromInput({ tokens: 200, costUsd: 10, window: 'day' }), 'admin');
    const refused = await chat(ask('hello there', { maxTokens: 500 }), caller('t-budget'), deps).catch((error: unknown) => error);
    assert.ok(refused instanceof BudgetExceededError, String(refused));
    assert.equal(refused.budget, 'tokens');
    assert.match(refused.message, /tokens budget/);
    // Spend it: each call reserves input + 40 and settles its usage; the one reaching 200 pauses the tenant.
    let answered = 0;
    for (let i = 0; i < 10; i++) {
      try {
        await chat(ask(`[[standin: tokens=40]] round ${i} of the budget test`, { maxTokens: 40 }), caller('t-budget'), deps);
        answered += 1;
      } catch (error) {
        assert.ok(error instanceof BudgetExceededError, String(error));
      }
    }
    const usage = await stores.budgets.usage('t-budget');
    assert.ok(usage.spent.tokens <= 200, `spent ${usage.spent.tokens}`);
    assert.ok(answered >= 2);
    if (usage.capReached) assert.equal(pauses.length, 1, 'one pause event for the window');
  });

  it('falls back past the model’s in-flight mark, and refuses with 429 (Retry-After) only when the whole chain is at its mark', async () => {
    const { deps, stores } = gatewayTestDeps();
    const hold = async (name: string) => {
      const mark = modelNamed(name).maxInFlight;
      for (let i = 0; i < mark; i++) await stores.inflight.acquire(name, mark);
    };
    await hold('standin-a');
    const { result } = await chat(ask('hello'), caller(), deps);
    assert.equal(result.model, 'standin-b', 'the next model of the chain served');
    const fallback = result.decisions.find((decision) => decision.step === 'fallback');
    assert.match(fallback?.step === 'fallback' ? fallback.reason : '', /^busy: Model standin-a has 32 requests in flight/);
    await hold('standin-b');
    await hold('standin-tgi');
    const error = await chat(ask('hello again'), caller(), deps).catch((thrown: unknown) => thrown);
    assert.ok(error instanceof ModelBusyError, String(error));
    assert.ok(error.retryAfterSeconds >= 1);
    assert.match(error.message, /every model for standin-a is busy/);
    assert.equal((await stores.budgets.usage('acme')).reserved.tokens, 0, 'the reservation was released');
  });

  it('holds an in-flight slot of the model that serves, not of the one that failed, while it streams', async () => {
    const seen: Array<Record<string, number>> = [];
    let limiter: InflightLimiter | undefined;
    const b = modelNamed('standin-b');
    const probe: ModelBackend = {
      info: modelInfo(b),
      generate: async () => ({ text: 'unused', finishReason: 'stop' }),
      async *stream() {
        for (const text of ['Drain ', 'the ', 'queue.']) {
          const inFlight: Record<string, number> = {};
          for (const name of ['standin-a', 'standin-b']) inFlight[name] = (await limiter?.inFlight(name)) ?? -1;
          seen.push(inFlight);
          yield { type: 'delta' as const, text };
        }
        yield { type: 'done' as const, finishReason: 'stop' as const };
      },
    };
    const { deps, stores } = gatewayTestDeps({ backends: { 'standin-a': failingBackend(modelNamed('standin-a')), 'standin-b': probe } });
    limiter = stores.inflight;
    const { result } = await chat(ask('How do I restart the payment service?'), caller(), deps);
    assert.equal(result.model, 'standin-b');
    assert.deepEqual(seen, [
      { 'standin-a': 0, 'standin-b': 1 },
      { 'standin-a': 0, 'standin-b': 1 },
      { 'standin-a': 0, 'standin-b': 1 },
    ]);
    assert.deepEqual([await stores.inflight.inFlight('standin-a'), await stores.inflight.inFlight('standin-b')], [0, 0], 'both free after');
  });

  it('blocks severe output with a refusal naming the categories, and flags moderate output', async () => {
    const { deps } = gatewayTestDeps();
    const blocked = await chat(ask('[[standin: echo]] I will find you and hurt you'), caller(), deps);
    assert.equal(blocked.result.finishReason, 'blocked');
    assert.match(blocked.result.text, /withheld by the safety filter.*violence/);
    assert.deepEqual(blocked.deltas, [], 'nothing of the blocked text is streamed');
    const safety = blocked.result.decisions.find((decision) => decision.step === 'safety');
    assert.equal(safety?.step === 'safety' && safety.verdict, 'block');
    const flagged = await chat(ask('[[standin: echo]] Honestly you are worthless at this'), caller(), deps);
    assert.equal(flagged.result.finishReason, 'stop');
    const flag = flagged.result.decisions.find((decision) => decision.step === 'safety');
    assert.equal(flag?.step === 'safety' && flag.verdict, 'flag');
  });

  it('redacts PII in the input per the tenant, and in the log by default', async () => {
    const { deps, stores } = gatewayTestDeps();
    const text = '[[standin: echo]] Write to ada.lovelace@example.org about the invoice';
    const plain = await chat(ask(text), caller('t-pii'), deps);
    assert.match(plain.result.text, /ada\.lovelace@example\.org/, 'off by default for the model and the caller');
    const log = await stores.conversations.get('t-pii', plain.result.conversationId);
    assert.ok(log && !JSON.stringify(log).includes('ada.lovelace@example.org'), 'the log keeps no e-mail');
    assert.ok(plain.result.decisions.some((decision) => decision.step === 'pii' && decision.where === 'log'));
    await stores.settings.put('t-pii', { piiInput: 'redact', piiOutput: 'off', piiLog: 'redact', contextTokens: 4096, retentionDays: 30 });
    const redacted = await chat(ask(text), caller('t-pii'), deps);
    assert.match(redacted.result.text, /\[EMAIL\]/, 'the model saw the redacted input');
    assert.deepEqual(
      redacted.result.decisions.find((decision) => decision.step === 'pii' && decision.where === 'input'),
      { step: 'pii', where: 'input', mode: 'redact', entities: { EMAIL: 1 } },
    );
  });

  it('cuts an output longer than the granted maxTokens by our count, so it never spends past its reservation', async () => {
    const { deps, stores } = gatewayTestDeps();
    // The stand-in counts words; punctuation-heavy words are several tokens each.
    const { result } = await chat(ask('[[standin: tokens=60]] e.g. i.e. a/b c-d (x) "y" #z', { maxTokens: 20 }), caller('t-cut'), deps);
    assert.ok(result.usage.outputTokens <= 20, `${result.usage.outputTokens}`);
    assert.equal(result.finishReason, 'length');
    const budget = result.decisions.find((decision) => decision.step === 'budget');
    assert.ok(budget?.step === 'budget' && budget.settledTokens <= budget.reservedTokens);
    assert.equal((await stores.budgets.usage('t-cut')).reserved.tokens, 0);
  });

  it('stops a streaming call when the request is cancelled, keeps the partial reply in the log and charges what it used', async () => {
    const { deps, stores } = gatewayTestDeps({ cancelPollMs: 0 });
    const running = chat(
      ask('[[standin: tokens=400 interval=5]] a long answer please', { requestId: 'req-cancel-1', maxTokens: 1000 }),
      caller('t-cancel'),
      deps,
    );
    await new Promise((resolve) => setTimeout(resolve, 60));
    await stores.requests.cancel('t-cancel', 'req-cancel-1');
    const { result } = await running;
    assert.equal(result.finishReason, 'cancelled');
    assert.ok(result.usage.outputTokens > 0 && result.usage.outputTokens < 400, `${result.usage.outputTokens}`);
    assert.ok(result.decisions.some((decision) => decision.step === 'cancelled'));
    const log = await stores.conversations.get('t-cancel', result.conversationId);
    assert.equal(log?.turns[0]?.finishReason, 'cancelled');
    assert.equal(log?.turns[0]?.messages.at(-1)?.content?.length, result.text.length);
    assert.equal((await stores.budgets.usage('t-cancel')).spent.tokens, result.usage.inputTokens + result.usage.outputTokens);
  });

  it('charges and bills what a model produced before it failed mid-stream, then reports the failure', async () => {
    const { deps, stores } = gatewayTestDeps();
    const error = await chat(
      ask('[[standin: tokens=40 fail-after=5]] an answer that breaks', { maxTokens: 60 }),
      caller('t-mid'),
      deps,
    ).catch((thrown: unknown) => thrown);
    assert.ok(error instanceof Error && /mid-stream/.test(error.message), String(error));
    const usage = await stores.budgets.usage('t-mid');
    assert.equal(usage.reserved.tokens, 0, 'nothing stays reserved');
    assert.ok(usage.spent.tokens > 0, 'the partial output was charged');
    const billing = stores.ledger.ledger.entries('t-mid', BILLING_STREAM);
    assert.equal(billing.length, 1);
    const bill = await stores.ledger.payload('t-mid', billing[0]?.payloadHash ?? '');
    assert.equal(Number(bill?.inputTokens) + Number(bill?.outputTokens), usage.spent.tokens);
  });

  it('refuses a second running turn on the same conversation, and a reused request id (409)', async () => {
    const { deps } = gatewayTestDeps();
    const first = chat(ask('[[standin: tokens=30 interval=5]] slow one', { conversationId: 'c-lease' }), caller('t-lease'), deps);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await assert.rejects(chat(ask('a second turn meanwhile', { conversationId: 'c-lease' }), caller('t-lease'), deps), /turn in progress/);
    const { result } = await first;
    assert.equal(result.finishReason, 'stop');
    await assert.rejects(chat(ask('again', { requestId: result.requestId }), caller('t-lease'), deps), /already used/);
  });

  it('arbitrates between two models, each call billed, with the scores on debug', async () => {
    const { deps, stores } = gatewayTestDeps();
    const { result } = await chat(
      ask('Why does the cache miss rate rise after each deploy of the web tier?', {
        arbitrate: { models: ['standin-a', 'standin-b'] },
        debug: true,
      }),
      caller('t-arb'),
      deps,
    );
    const decision = result.decisions.find((each) => each.step === 'arbitration');
    assert.ok(decision && decision.step === 'arbitration', JSON.stringify(result.decisions));
    assert.ok(['standin-a', 'standin-b'].includes(decision.chosen));
    assert.equal(result.scores?.candidates.length, 2);
    assert.deepEqual(result.scores?.weights, { agreement: 0.2, coherence: 0.5, safety: 0.3 });
    const billing = stores.ledger.ledger.entries('t-arb', BILLING_STREAM);
    assert.ok(billing.length >= 2, 'both candidates billed (and any critique)');
    const usage = await stores.budgets.usage('t-arb');
    assert.equal(usage.spent.tokens, result.usage.inputTokens + result.usage.outputTokens, "the turn's usage is every call's");
  });

  it('runs a dual exchange A, B, A through the pipeline, every turn logged in one verifiable conversation', async () => {
    const { deps, stores } = gatewayTestDeps();
    const outcome = await exchange(
      {
        modelA: 'standin-a',
        modelB: 'standin-b',
        promptA: 'Propose a cache key for user sessions in the API',
        promptB: 'Challenge the proposal you are shown',
        exchanges: 3,
        maxTokens: 64,
      },
      caller('t-dual'),
      deps,
    );
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(
      outcome.transcript.map((turn) => `${turn.speaker}:${turn.model}`),
      ['A:standin-a', 'B:standin-b', 'A:standin-a'],
    );
    const view = await viewConversation('t-dual', outcome.conversationId, { conversations: stores.conversations, ledger: stores.ledger });
    assert.equal(view.log.turns.length, 3);
    assert.equal(view.verification.intact, true);
    const usage = await stores.budgets.usage('t-dual');
    assert.equal(usage.spent.tokens, outcome.usage.inputTokens + outcome.usage.outputTokens);
  });

  it('removes content past retention and keeps the conversation verifying', async () => {
    const { deps, stores } = gatewayTestDeps();
    await stores.settings.put('t-ret', { piiInput: 'off', piiOutput: 'off', piiLog: 'redact', contextTokens: 4096, retentionDays: 1 });
    const { result } = await chat(ask('remember this for a day'), caller('t-ret'), deps);
    assert.deepEqual(await applyConversationRetention(stores.conversations, new Date()), { stripped: 0, busy: 0 });
    const outcome = await applyConversationRetention(stores.conversations, new Date(Date.now() + 2 * 86_400_000));
    assert.deepEqual(outcome, { stripped: 1, busy: 0 });
    const view = await viewConversation('t-ret', result.conversationId, { conversations: stores.conversations, ledger: stores.ledger });
    assert.ok(view.log.turns[0]?.messages.every((message) => message.content === null));
    assert.equal(view.verification.intact, true);
    assert.deepEqual(view.verification.turns[0]?.messages, ['content-removed', 'content-removed']);
  });

  it('keeps spending within the budget under 60 concurrent requests, spent equal to the replies’ usage', async () => {
    const { deps, stores } = gatewayTestDeps();
    await stores.budgets.putBudget('t-race', budgetFromInput({ tokens: 2_000, costUsd: 100, window: 'day' }), 'admin');
    const settled = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        chat(ask(`[[standin: tokens=50]] request number ${i} about the outage`, { maxTokens: 60 }), caller('t-race'), deps),
      ),
    );
    const ok = settled.flatMap((each) => (each.status === 'fulfilled' ? [each.value.result] : []));
    const refused = settled.filter((each) => each.status === 'rejected');
    assert.ok(refused.every((each) => each.status === 'rejected' && each.reason instanceof BudgetExceededError));
    const usage = await stores.budgets.usage('t-race');
    assert.ok(ok.length > 0 && refused.length > 0, `${ok.length} answered, ${refused.length} refused`);
    assert.ok(usage.spent.tokens <= 2_000);
    assert.equal(
      usage.spent.tokens,
      ok.reduce((sum, reply) => sum + reply.usage.inputTokens + reply.usage.outputTokens, 0),
    );
  });
});

describe('conversation leases', () => {
  it("end a minute past the caller's deadline, or after the longest function run without one", () => {
    const now = new Date('2026-03-01T10:00:00Z');
    assert.equal(leaseUntil({ deadline: new Date('2026-03-01T10:00:25Z') }, now).toISOString(), '2026-03-01T10:01:25.000Z');
    assert.equal(leaseUntil({}, now).getTime(), now.getTime() + CONVERSATION_LEASE_SECONDS * 1000);
  });
});

describe('cutting an output to a token count', () => {
  it('keeps whole characters and never exceeds the count, for every family', async () => {
    for (const family of ['cl100k_base', 'o200k_base', 'approx'] as const) {
      const tok = await tokenizer(family);
      const text = 'Grüße, 東京! Emoji 🙂🙂 and words, words, words. '.repeat(5);
      for (const max of [0, 1, 3, 10, 40]) {
        const cut = cutToTokens(tok, text, max);
        assert.ok(tok.count(cut) <= max, `${family} ${max}: ${tok.count(cut)}`);
        assert.ok(text.startsWith(cut));
        assert.ok(!cut.includes('\uFFFD'));
      }
      assert.equal(cutToTokens(tok, 'short', 100), 'short');
    }
  });
});
