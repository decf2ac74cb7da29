/**
 * PII handled on what is sent only (lib/gateway/engine.ts `fitAndRedact`): the history is fitted
 * first and only the messages kept are redacted, then fitted again since redaction changes token
 * counts; the log reuses the input's pass when its mode is the same, and the output's for the reply;
 * the retrieval query leaves for the embedding model redacted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatMessage } from '../../lib/gateway/backend.ts';
import { fitContext } from '../../lib/gateway/context.ts';
import { ingestDocuments } from '../../lib/gateway/documents.ts';
import { chat, fitAndRedact, memoRedactor, type PiiFilter, piiCounts, type Redactor } from '../../lib/gateway/engine.ts';
import type { ChatInput, GatewaySettings } from '../../lib/gateway/schemas.ts';
import { tokenizer } from '../../lib/gateway/tokenizer.ts';
import { caller, gatewayTestDeps } from '../helpers/gateway.ts';

const filler = 'The deploy pipeline ran the migration before the cache warmed up again after the release. '.repeat(5);

/** A history of `turns` user/assistant turns, each user message naming its own e-mail address, then a question. */
function history(turns: number): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: 'Be brief. Escalate to ops-lead@example.com when unsure.' }];
  for (let i = 0; i < turns; i++)
    messages.push(
      { role: 'user', content: `${i}: write to user${i}@example.org. ${filler}` },
      { role: 'assistant', content: `noted ${i}` },
    );
  messages.push({ role: 'user', content: 'What failed first? Reply to last@example.net.' });
  return messages;
}

/** A redactor that records every text it was given. */
function spying(redact: Redactor): { redact: Redactor; seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    redact: (text) => {
      seen.push(text);
      return redact(text);
    },
  };
}

describe('fitAndRedact', () => {
  it('redacts only the messages the fit keeps, and sends them redacted', async () => {
    const tok = await tokenizer('cl100k_base');
    const messages = history(12);
    const spy = spying((text) => piiCounts(text, 'redact'));
    const { fitted, piiCounts: counts } = fitAndRedact(
      { messages, count: (list) => tok.countChat(list), contextTokens: 8192, limitTokens: 512, maxTokens: 64 },
      spy.redact,
    );
    const dropped = new Set(fitted.dropped.map((each) => each.index));
    assert.ok(dropped.size >= 10, `${dropped.size} dropped`);
    const sentOriginals = messages.filter((_, index) => !dropped.has(index)).map((message) => message.content);
    const newestDropped = Math.max(...dropped);
    // Each sent message redacted once; of the dropped, only the newest turn, tried for the room redaction freed.
    assert.deepEqual(
      [...spy.seen].sort(),
      [...sentOriginals, ...[newestDropped - 1, newestDropped].map((index) => messages[index]?.content ?? '')].sort(),
    );
    assert.ok(
      fitted.messages.every((message) => !/@example\./.test(message.content)),
      'what is sent holds no address',
    );
    assert.deepEqual(counts, { EMAIL: fitted.messages.filter((message) => message.content.includes('[EMAIL]')).length });
    assert.ok(fitted.inputTokens + fitted.maxTokens <= 512);
    const everythingFirst = fitContext({
      messages: messages.map((message) => ({ role: message.role, content: piiCounts(message.content, 'redact').text })),
      count: (list) => tok.countChat(list),
      contextTokens: 8192,
      limitTokens: 512,
      maxTokens: 64,
    });
    assert.deepEqual(fitted.messages, everythingFirst.messages, 'what redacting the whole history first would have sent');
    assert.deepEqual(
      fitted.dropped.map((each) => each.index),
      everythingFirst.dropped.map((each) => each.index),
    );
    assert.equal(tok.countChat(fitted.messages), fitted.inputTokens);
  });

  it('fits again when redaction makes the kept messages longer, reporting the drops with the request’s indexes', async () => {
    const tok = await tokenizer('cl100k_base');
    const messages = history(6);
    const count = (list: readonly ChatMessage[]) => tok.countChat(list);
    const fit = { count, contextTokens: 8192, limitTokens: 900, maxTokens: 64 };
    const plain = fitAndRedact({ messages, ...fit }, undefined).fitted;
    // A redactor whose replacement is much longer than an address (as a long hash or tag can be).
    const growing: Redactor = (text) => {
      const found = text.match(/\S+@example\.\w+/g) ?? [];
      const counts: Record<string, number> = found.length ? { EMAIL: found.length } : {};
      return { text: text.replace(/\S+@example\.\w+/g, `[EMAIL ${'x'.repeat(400)}]`), counts };
    };
    const { fitted } = fitAndRedact({ messages, ...fit }, growing);
    assert.ok(fitted.dropped.length > plain.dropped.length, `${fitted.dropped.length} vs ${plain.dropped.length} dropped`);
    assert.ok(fitted.inputTokens + fitted.maxTokens <= 900, `${fitted.inputTokens} + ${fitted.maxTokens}`);
    assert.equal(count(fitted.messages), fitted.inputTokens, 'the count is of what is sent, redacted');
    const indexes = fitted.dropped.map((each) => each.index);
    assert.deepEqual(
      indexes,
      [...indexes].sort((a, b) => a - b),
    );
    assert.ok(
      indexes.every((index) => messages[index]?.role !== 'system'),
      'indexes name the request’s own messages',
    );
    assert.deepEqual(
      messages.filter((_, index) => !indexes.includes(index)).map((message) => message.role),
      fitted.messages.map((message) => message.role),
    );
  });

  it('handles each distinct text once per request (memoRedactor)', () => {
    let calls = 0;
    const pii: PiiFilter = (text, mode) => {
      calls += 1;
      return piiCounts(text, mode);
    };
    const redact = memoRedactor(pii, 'mask');
    assert.deepEqual(redact('mail a@example.org'), redact('mail a@example.org'));
    redact('another text');
    assert.equal(calls, 2);
  });
});

describe('PII passes in the pipeline', () => {
  const settings = (
    piiInput: GatewaySettings['piiInput'],
    piiLog: GatewaySettings['piiLog'],
    piiOutput: GatewaySettings['piiOutput'] = 'off',
  ) => ({
    piiInput,
    piiOutput,
    piiLog,
    contextTokens: 1024,
    retentionDays: 30,
  });

  it('never scans a dropped message, and logs the sent messages as sent when the log’s mode is the input’s', async () => {
    const { deps, stores } = gatewayTestDeps();
    const scanned: string[] = [];
    deps.pii = (text, mode) => {
      scanned.push(text);
      return piiCounts(text, mode);
    };
    await stores.settings.put('t-pii', settings('redact', 'redact', 'redact'));
    const messages = history(12);
    const input: ChatInput = { model: 'standin-a', messages, maxTokens: 64, stream: false, debug: false };
    const { result } = await chat(input, caller('t-pii'), deps);
    const context = result.decisions.find((decision) => decision.step === 'context');
    assert.ok(context?.step === 'context' && context.droppedMessages >= 10, JSON.stringify(result.decisions));
    const log = await stores.conversations.get('t-pii', result.conversationId);
    const loggedSent = (log?.turns[0]?.messages ?? []).slice(0, -1);
    // Each sent message scanned once (the input pass), the newest dropped turn once (tried for room), the reply once
    // (the output pass, reused by the log); no older dropped message.
    const newest = Math.max(...context.dropped);
    assert.equal(scanned.length, loggedSent.length + 2 + 1, `${scanned.length} scans for ${loggedSent.length} sent messages`);
    for (const index of context.dropped.filter((each) => each < newest - 1))
      assert.ok(!scanned.includes(messages[index]?.content ?? ''), `dropped message ${index} was scanned`);
    assert.ok(loggedSent.every((message) => message.content !== null && !/@example\./.test(message.content)));
    const input_ = result.decisions.find((decision) => decision.step === 'pii' && decision.where === 'input');
    const logged = result.decisions.find((decision) => decision.step === 'pii' && decision.where === 'log');
    assert.deepEqual(input_?.step === 'pii' && input_.entities, { EMAIL: loggedSent.filter((m) => m.content?.includes('[EMAIL]')).length });
    assert.deepEqual(
      logged?.step === 'pii' && logged.entities,
      input_?.step === 'pii' && input_.entities,
      'the log names what the input pass removed',
    );
  });

  it('scans the sent messages again for the log when its mode differs from the input’s', async () => {
    const { deps, stores } = gatewayTestDeps();
    const calls: Array<[string, string]> = [];
    deps.pii = (text, mode) => {
      calls.push([mode, text]);
      return piiCounts(text, mode);
    };
    await stores.settings.put('t-pii2', settings('mask', 'redact'));
    const { result } = await chat(
      { model: 'standin-a', messages: [{ role: 'user', content: 'Mail ada@example.org today' }], stream: false, debug: false },
      caller('t-pii2'),
      deps,
    );
    const log = await stores.conversations.get('t-pii2', result.conversationId);
    const sent = log?.turns[0]?.messages[0]?.content ?? '';
    assert.equal(sent, 'Mail ***@*******.*** today', 'the model was sent the masked text');
    assert.deepEqual(
      calls.map(([mode, text]) => `${mode}:${text}`),
      ['mask:Mail ada@example.org today', `redact:${sent}`, `redact:${result.text}`],
      'the input pass, then the log pass on what was sent and on the reply',
    );
  });

  it('embeds the retrieval query with its PII handled', async () => {
    const { deps, stores, embed } = gatewayTestDeps();
    const { count } = await tokenizer('cl100k_base');
    const { index } = await ingestDocuments(
      't-rq',
      undefined,
      { documents: [{ id: 'runbook', text: 'Password resets: write to the owner and rotate the secret.' }] },
      count,
      new Date(),
      { model: 'standin-embed', embed },
    );
    await stores.documents.save(index, 0);
    await stores.settings.put('t-rq', settings('redact', 'redact'));
    const embedded: string[][] = [];
    const routed = deps.embed;
    assert.ok(routed);
    deps.embed = async (model, texts, signal) => {
      embedded.push(texts);
      return routed(model, texts, signal);
    };
    await chat(
      {
        model: 'standin-a',
        messages: [{ role: 'user', content: 'How do I reset the password of grace.hopper@example.org?' }],
        retrieval: { k: 1, quota: 0.25 },
        stream: false,
        debug: false,
      },
      caller('t-rq'),
      deps,
    );
    assert.deepEqual(embedded, [['How do I reset the password of [EMAIL]?']]);
  });
});
