import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../../lib/errors.ts';
import type { ChatMessage } from '../../lib/gateway/backend.ts';
import {
  CONTEXT_DEFAULTS,
  type FitContextResult,
  fitContext,
  fitContextWithSummary,
  forecastOutputTokens,
  type MessageTokenCounter,
  messageHash,
  TRUNCATION_MARKER,
} from '../../lib/gateway/context.ts';

/** A character-based counter: 3 tokens of reply priming, 4 per message, ⌈UTF-16 units / 4⌉ of content. */
const charCount: MessageTokenCounter = (messages) =>
  3 + messages.reduce((sum, message) => sum + 4 + Math.ceil(message.content.length / 4), 0);
/** Not additive: each pair of adjacent messages costs one more token (a separator). */
const pairCount: MessageTokenCounter = (messages) => charCount(messages) + Math.max(0, messages.length - 1);

const text = (tokens: number, letter = 'a'): string => letter.repeat(tokens * 4);
const sys = (content: string): ChatMessage => ({ role: 'system', content });
const user = (content: string): ChatMessage => ({ role: 'user', content });
const bot = (content: string): ChatMessage => ({ role: 'assistant', content });

/** Text of any length from 0 to ~6,400 UTF-16 units: a short random string (any graphemes) repeated. */
const contentArb = (maxRepeat: number) =>
  fc
    .tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: maxRepeat }))
    .map(([seed, times]) => seed.repeat(times));
const messageArb = fc.record({
  role: fc.constantFrom<ChatMessage['role']>('system', 'user', 'assistant', 'user', 'assistant'),
  content: contentArb(300),
});
const conversationArb = fc
  .tuple(fc.option(contentArb(200), { nil: undefined }), fc.array(messageArb, { minLength: 0, maxLength: 40 }), contentArb(800))
  .map(([system, middle, last]) => [...(system === undefined ? [] : [sys(system)]), ...middle, user(last)]);
const optionsArb = fc.record({
  contextTokens: fc.integer({ min: 600, max: 16_384 }),
  limitTokens: fc.option(fc.integer({ min: 600, max: 8192 }), { nil: undefined }),
  maxTokens: fc.integer({ min: 1, max: 2048 }),
  recentOutputTokens: fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 12 }),
  counter: fc.constantFrom(charCount, pairCount),
});

/** Checks every invariant of a fitted request against its input. */
function checkInvariants(messages: ChatMessage[], fitted: FitContextResult, count: MessageTokenCounter, budget: number): void {
  assert.ok(fitted.maxTokens >= 1, 'at least one output token is granted');
  assert.ok(fitted.inputTokens + fitted.maxTokens <= budget, `input ${fitted.inputTokens} + output ${fitted.maxTokens} ≤ ${budget}`);
  assert.equal(fitted.inputTokens, count(fitted.messages), 'inputTokens is the count of what is sent');
  assert.equal(fitted.budgetTokens, budget);
  const droppedIndexes = new Set(fitted.dropped.map((entry) => entry.index));
  // Every message is either kept (in order) or dropped; system messages are never dropped.
  const kept = messages.map((_, index) => index).filter((index) => !droppedIndexes.has(index));
  const sent = fitted.messages.filter((_, index) => index !== fitted.summarised?.at);
  assert.equal(sent.length, kept.length);
  kept.forEach((original, position) => {
    const message = messages[original] as ChatMessage;
    const out = sent[position] as ChatMessage;
    assert.equal(out.role, message.role);
    if (fitted.truncated?.index === original)
      assert.ok(out.content.includes(TRUNCATION_MARKER) || out.content.length <= message.content.length);
    else assert.equal(out.content, message.content, `message ${original} is sent unchanged, in order`);
  });
  for (const entry of fitted.dropped) {
    const message = messages[entry.index] as ChatMessage;
    assert.notEqual(message.role, 'system', 'system prompts are kept');
    assert.equal(entry.role, message.role);
    assert.equal(entry.hash, messageHash(message));
  }
  const lastUser = messages.findLastIndex((message) => message.role === 'user');
  assert.ok(!droppedIndexes.has(lastUser), 'the last user message is kept');
  // Oldest first: what was dropped is a prefix of the droppable (non-system, before the last user) messages.
  const droppable = messages
    .map((_, index) => index)
    .filter((index) => index < lastUser && (messages[index] as ChatMessage).role !== 'system');
  assert.deepEqual(
    fitted.dropped.map((entry) => entry.index),
    droppable.slice(0, fitted.dropped.length),
  );
  if (fitted.truncated)
    assert.equal(fitted.dropped.length, droppable.length, 'the last message is cut only once everything droppable is gone');
}

describe('context: forecast of the output', () => {
  it('is the mean of the recent outputs × the margin, rounded up, capped by maxTokens', () => {
    assert.equal(forecastOutputTokens([100, 300], 1024), 250);
    assert.equal(forecastOutputTokens([100, 300], 1024, 1.5), 300);
    assert.equal(forecastOutputTokens([2000, 3000], 1024), 1024);
    assert.equal(forecastOutputTokens([0, 0], 1024), 1, 'at least one token');
  });

  it('is maxTokens when there is no history, and averages only the last window of replies', () => {
    assert.equal(forecastOutputTokens([], 700), 700);
    assert.equal(forecastOutputTokens(undefined, 700), 700);
    assert.equal(forecastOutputTokens([5000, 8, 8], 700, 1, 2), 8);
    assert.equal(forecastOutputTokens([Number.NaN, -3, 40], 700, 1), 40, 'ignores values that are not counts');
  });
});

describe('context: fitting', () => {
  it('leaves a request that fits untouched and grants min(maxTokens, budget − input)', () => {
    const messages = [sys(text(20)), user(text(50)), bot(text(30)), user(text(10))];
    const fitted = fitContext({ messages, count: charCount, contextTokens: 8192, maxTokens: 512 });
    assert.deepEqual(fitted.messages, messages);
    assert.deepEqual(fitted.dropped, []);
    assert.equal(fitted.inputTokens, charCount(messages));
    assert.equal(fitted.maxTokens, 512);
    assert.equal(fitted.budgetTokens, 4096, 'the tenant default limit applies');
    const tight = fitContext({
      messages,
      count: charCount,
      contextTokens: 8192,
      limitTokens: 200,
      maxTokens: 512,
      recentOutputTokens: [20],
    });
    assert.equal(tight.maxTokens, 200 - tight.inputTokens);
  });

  it('drops the oldest whole turns first, keeping system prompts and the latest turns, and records them', () => {
    const messages = [
      sys(text(50)),
      user(text(400, 'b')),
      bot(text(400, 'c')),
      user(text(400, 'd')),
      bot(text(400, 'e')),
      user(text(100, 'f')),
    ];
    const fitted = fitContext({
      messages,
      count: charCount,
      contextTokens: 2000,
      limitTokens: 1500,
      maxTokens: 1024,
      recentOutputTokens: [300, 340],
    });
    // forecast ⌈320 × 1.25⌉ = 400; 1500 − 400 = 1100 input: the first turn (2 messages) must go, the second stays.
    assert.equal(fitted.forecastOutput, 400);
    assert.deepEqual(
      fitted.dropped.map((entry) => [entry.index, entry.role, entry.tokens]),
      [
        [1, 'user', 404],
        [2, 'assistant', 404],
      ],
    );
    assert.deepEqual(fitted.messages, [messages[0], messages[3], messages[4], messages[5]]);
    assert.equal(fitted.inputTokens, charCount(fitted.messages));
    assert.equal(fitted.inputTokens, 3 + 54 + 404 + 404 + 104);
    assert.equal(fitted.maxTokens, 1500 - 969, 'the reply gets the rest of the budget, below the 1024 asked');
    const expectedHash = createHash('sha256')
      .update(`{"content":"${text(400, 'b')}","role":"user"}`)
      .digest('hex');
    assert.equal(fitted.dropped[0]?.hash, expectedHash);
  });

  it('keeps a system message placed mid-conversation and drops the turns around it', () => {
    const messages = [
      sys('rules'),
      user(text(500)),
      sys('retrieved context'),
      bot(text(500)),
      user(text(500)),
      bot(text(500)),
      user('now?'),
    ];
    const fitted = fitContext({ messages, count: charCount, contextTokens: 1400, maxTokens: 256, recentOutputTokens: [200] });
    assert.deepEqual(
      fitted.dropped.map((entry) => entry.index),
      [1, 3],
    );
    assert.deepEqual(fitted.messages, [messages[0], messages[2], messages[4], messages[5], messages[6]]);
  });

  it('gives the reply what is left rather than cut the last message, down to the floor', () => {
    const messages = [sys(text(100)), user(text(2500))];
    const fitted = fitContext({ messages, count: charCount, contextTokens: 4096, maxTokens: 2048 });
    // forecast = 2048 (no history); floor = min(2048, 25% of 4096) = 1024; input 2611 leaves 1485 ≥ floor.
    assert.equal(fitted.truncated, undefined);
    assert.deepEqual(fitted.messages, messages);
    assert.equal(fitted.maxTokens, 4096 - charCount(messages));
  });

  it('cuts the middle of the last user message as a last resort, keeping its head and tail', () => {
    const last = `${text(1000, 'h')}${text(3000, 'm')}${text(1000, 't')}`;
    const messages = [sys(text(100)), user(text(300)), bot(text(300)), user(last)];
    const fitted = fitContext({ messages, count: charCount, contextTokens: 4096, maxTokens: 800, recentOutputTokens: [500] });
    assert.deepEqual(
      fitted.dropped.map((entry) => entry.index),
      [1, 2],
    );
    assert.ok(fitted.truncated);
    assert.equal(fitted.truncated.index, 3);
    assert.equal(fitted.truncated.fromTokens, 4 + 5000);
    const content = (fitted.messages[1] as ChatMessage).content;
    assert.ok(content.startsWith('hhhh') && content.endsWith('tttt') && content.includes(TRUNCATION_MARKER));
    // The forecast (625) is below the floor (1024), so the cut leaves room for exactly the forecast at most.
    assert.ok(fitted.inputTokens <= 4096 - 625 && fitted.inputTokens >= 4096 - 625 - 1);
    assert.ok(fitted.maxTokens >= 625);
  });

  it('refuses, naming messages, when the system prompt alone leaves no room to reply', () => {
    const messages = [sys(text(5000)), user('hi')];
    assert.throws(
      () => fitContext({ messages, count: charCount, contextTokens: 4096, maxTokens: 100 }),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'messages',
    );
  });

  it('refuses bad numbers and an empty conversation, naming the field', () => {
    const bad = (input: Partial<Parameters<typeof fitContext>[0]>, path: string) =>
      assert.throws(
        () => fitContext({ messages: [user('x')], count: charCount, contextTokens: 100, maxTokens: 10, ...input }),
        (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === path,
      );
    bad({ maxTokens: 0 }, 'maxTokens');
    bad({ contextTokens: 1.5 }, 'contextTokens');
    bad({ limitTokens: -1 }, 'limitTokens');
    bad({ messages: [] }, 'messages');
  });

  it('always fits, keeps system prompts, the last user message and the order, dropping oldest first (random conversations)', () => {
    fc.assert(
      fc.property(conversationArb, optionsArb, (messages, options) => {
        const budget = Math.min(options.contextTokens, options.limitTokens ?? CONTEXT_DEFAULTS.limitTokens);
        let fitted: FitContextResult;
        try {
          fitted = fitContext({ messages, count: options.counter, ...options });
        } catch (error) {
          // Only a system prompt too large for the budget may refuse.
          assert.ok(error instanceof ValidationError && error.issues[0]?.path === 'messages');
          const protectedTokens = options.counter([...messages.filter((message) => message.role === 'system'), user(TRUNCATION_MARKER)]);
          assert.ok(protectedTokens >= budget, `refused although the protected messages take ${protectedTokens} of ${budget}`);
          return;
        }
        checkInvariants(messages, fitted, options.counter, budget);
        // Without need, nothing changes.
        if (options.counter(messages) + fitted.forecastOutput <= budget) assert.equal(fitted.dropped.length, 0);
      }),
      { numRuns: 400 },
    );
  });
});

describe('context: fitting with a summariser', () => {
  const messages = [
    sys(text(50)),
    user(text(600, 'b')),
    bot(text(600, 'c')),
    user(text(600, 'd')),
    bot(text(600, 'e')),
    user(text(100, 'f')),
  ];
  const input = { messages, count: charCount, contextTokens: 8192, limitTokens: 2600, maxTokens: 1024, recentOutputTokens: [400] };

  it('replaces the dropped turns with one summary message where they were, within its room', async () => {
    const seen: { messages: ChatMessage[]; maxTokens: number }[] = [];
    const fitted = await fitContextWithSummary({
      ...input,
      summarise: async (dropped, maxTokens) => {
        seen.push({ messages: dropped, maxTokens });
        return 'The user asked about b; the assistant answered c.';
      },
    });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.maxTokens, Math.floor(2600 * CONTEXT_DEFAULTS.summaryShare));
    assert.deepEqual(seen[0]?.messages, [messages[1], messages[2]]);
    assert.deepEqual(fitted.summarised?.indices, [1, 2]);
    assert.equal(fitted.summarised?.at, 1);
    assert.equal(fitted.messages[1]?.role, 'system');
    assert.match(fitted.messages[1]?.content ?? '', /^Summary of the 2 earliest messages[\s\S]*answered c\.$/);
    assert.deepEqual(fitted.messages.slice(2), messages.slice(3));
    assert.ok(fitted.inputTokens + fitted.maxTokens <= 2600);
    assert.equal(fitted.inputTokens, charCount(fitted.messages));
    checkInvariants(messages, fitted, charCount, 2600);
  });

  it('cuts a summary longer than its room', async () => {
    const fitted = await fitContextWithSummary({ ...input, summaryMaxTokens: 100, summarise: async () => text(2000, 's') });
    assert.ok(fitted.summarised);
    assert.ok(fitted.inputTokens + fitted.forecastOutput <= 2600);
    assert.ok((fitted.messages[1]?.content ?? '').includes(TRUNCATION_MARKER));
  });

  it('falls back to dropping when the summariser fails, saying why', async () => {
    const fitted = await fitContextWithSummary({
      ...input,
      summarise: async () => {
        throw new Error('model timed out');
      },
    });
    assert.equal(fitted.summarised, undefined);
    assert.equal(fitted.summaryError, 'model timed out');
    assert.deepEqual(fitted, { ...fitContext(input), summaryError: 'model timed out' });
  });

  it('does not call the summariser when nothing has to go', async () => {
    let calls = 0;
    const fitted = await fitContextWithSummary({
      ...input,
      limitTokens: 8192,
      summarise: async () => {
        calls++;
        return '';
      },
    });
    assert.equal(calls, 0);
    assert.deepEqual(fitted.messages, messages);
  });

  it('always fits with any summary text (random conversations)', async () => {
    await fc.assert(
      fc.asyncProperty(conversationArb, optionsArb, contentArb(1000), async (conversation, options, summary) => {
        const budget = Math.min(options.contextTokens, options.limitTokens ?? CONTEXT_DEFAULTS.limitTokens);
        let fitted: FitContextResult;
        try {
          fitted = await fitContextWithSummary({
            messages: conversation,
            count: options.counter,
            ...options,
            summarise: async () => summary,
          });
        } catch (error) {
          assert.ok(error instanceof ValidationError);
          return;
        }
        checkInvariants(conversation, fitted, options.counter, budget);
        if (fitted.summarised) assert.equal(fitted.messages[fitted.summarised.at]?.role, 'system');
      }),
      { numRuns: 200 },
    );
  });
});
