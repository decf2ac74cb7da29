/**
 * A streamed chat through the pipeline (lib/gateway/engine.ts `chat` with `onDelta` and a caller's
 * signal), in process over the stand-ins: text released while the model writes, through the safety
 * filter and the tenant's PII mode; a caller that leaves stops the call, the partial reply logged and
 * charged; one that leaves before any text releases its reservation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BILLING_STREAM } from '../../lib/gateway/conversation-log.ts';
import { CallerGoneError, chat } from '../../lib/gateway/engine.ts';
import type { ChatInput } from '../../lib/gateway/schemas.ts';
import { caller, gatewayTestDeps } from '../helpers/gateway.ts';

const ask = (content: string, extra: Partial<ChatInput> = {}): ChatInput => ({
  model: 'standin-a',
  messages: [{ role: 'user', content }],
  stream: true,
  debug: false,
  ...extra,
});

describe('a streamed chat', () => {
  it('releases text while the model writes: the first piece long before the end, the pieces making the reply', async () => {
    const { deps, stores } = gatewayTestDeps();
    const started = Date.now();
    const arrivals: Array<{ at: number; text: string }> = [];
    const { result, deltas } = await chat(
      ask('[[standin: tokens=60 interval=10]] tell me about queues', { maxTokens: 200 }),
      caller('t-s1'),
      deps,
      {
        onDelta: (text) => arrivals.push({ at: Date.now() - started, text }),
      },
    );
    const total = Date.now() - started;
    assert.ok(arrivals.length >= 4, `${arrivals.length} pieces`);
    // The model writes 60 tokens 10 ms apart: released as written, the pieces spread over most of those
    // 600 ms (buffered, they would all arrive at once at the end), however slow the set-up before them.
    const spread = (arrivals.at(-1)?.at ?? 0) - (arrivals[0]?.at ?? 0);
    assert.ok(spread >= 300, `pieces spread over ${spread} ms (first at ${arrivals[0]?.at} ms of ${total} ms)`);
    assert.equal(arrivals.map((each) => each.text).join(''), result.text);
    assert.deepEqual(
      deltas,
      arrivals.map((each) => each.text),
    );
    assert.equal(result.finishReason, 'stop');
    const usage = await stores.budgets.usage('t-s1');
    assert.equal(usage.spent.tokens, result.usage.inputTokens + result.usage.outputTokens);
  });

  it('stops the call when the caller leaves, keeping the partial reply in the log and charging what it used', async () => {
    const { deps, stores } = gatewayTestDeps();
    const gone = new AbortController();
    let pieces = 0;
    const { result } = await chat(
      ask('[[standin: tokens=400 interval=5]] a long answer please', { maxTokens: 1000 }),
      caller('t-s2'),
      deps,
      {
        signal: gone.signal,
        onDelta: () => {
          pieces += 1;
          if (pieces === 3) gone.abort();
        },
      },
    );
    assert.equal(result.finishReason, 'cancelled');
    assert.ok(result.usage.outputTokens > 0 && result.usage.outputTokens < 400, `${result.usage.outputTokens}`);
    assert.ok(result.decisions.some((decision) => decision.step === 'cancelled'));
    const log = await stores.conversations.get('t-s2', result.conversationId);
    assert.equal(log?.turns[0]?.finishReason, 'cancelled');
    assert.equal(log?.turns[0]?.usage.outputTokens, result.usage.outputTokens);
    const usage = await stores.budgets.usage('t-s2');
    assert.equal(usage.spent.tokens, result.usage.inputTokens + result.usage.outputTokens, 'charged what was produced');
    assert.equal(usage.reserved.tokens, 0);
    const bill = await stores.ledger.payload('t-s2', stores.ledger.ledger.entries('t-s2', BILLING_STREAM)[0]?.payloadHash ?? '');
    assert.equal(bill?.outputTokens, result.usage.outputTokens);
    assert.equal(bill?.finishReason, 'cancelled');
  });

  it('ends with CallerGoneError and releases the reservation when the caller leaves before any text', async () => {
    const { deps, stores } = gatewayTestDeps();
    const gone = new AbortController();
    const running = chat(ask('[[standin: latency=300]] slow to start', { maxTokens: 100 }), caller('t-s3'), deps, {
      signal: gone.signal,
      onDelta: () => assert.fail('no text was produced'),
    });
    setTimeout(() => gone.abort(), 50);
    const error = await running.catch((thrown: unknown) => thrown);
    assert.ok(error instanceof CallerGoneError, String(error));
    const usage = await stores.budgets.usage('t-s3');
    assert.equal(usage.reserved.tokens, 0);
    assert.equal(usage.spent.tokens, 0);
    assert.equal(stores.ledger.ledger.entries('t-s3', BILLING_STREAM).length, 0);
  });

  it('withholds what the safety filter blocks: nothing severe goes out, the reply is the refusal', async () => {
    const { deps } = gatewayTestDeps();
    const sent: string[] = [];
    const { result } = await chat(
      ask('[[standin: echo interval=5]] The weather was calm all week long. I will find you and hurt you badly.'),
      caller('t-s4'),
      deps,
      { onDelta: (text) => sent.push(text) },
    );
    assert.equal(result.finishReason, 'blocked');
    assert.match(result.text, /withheld by the safety filter.*violence/);
    assert.ok(!sent.join('').includes('hurt'), sent.join(''));
  });

  it("handles PII in the released text per the tenant's piiOutput", async () => {
    const { deps, stores } = gatewayTestDeps();
    await stores.settings.put('t-s5', { piiInput: 'off', piiOutput: 'redact', piiLog: 'redact', contextTokens: 4096, retentionDays: 30 });
    const sent: string[] = [];
    const { result } = await chat(
      ask('[[standin: echo interval=2]] Write to ada.lovelace@example.org about the invoice. Then call back tomorrow.'),
      caller('t-s5'),
      deps,
      { onDelta: (text) => sent.push(text) },
    );
    assert.ok(!sent.join('').includes('ada.lovelace'), sent.join(''));
    assert.match(sent.join(''), /\[EMAIL\]/);
    assert.equal(sent.join(''), result.text);
    assert.deepEqual(
      result.decisions.find((decision) => decision.step === 'pii' && decision.where === 'output'),
      { step: 'pii', where: 'output', mode: 'redact', entities: { EMAIL: 1 } },
    );
  });
});
