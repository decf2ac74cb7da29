/**
 * Arbitration (lib/gateway/arbitration.ts) on real answers to real questions, embedded with the
 * lexical stand-in: agreeing answers are chosen without a critique, divergent ones get exactly one
 * critique turn, cut, refused, unsafe, repetitive and failed answers lose, and a deadline takes the
 * fastest good answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ArbitrationDeps,
  type AssessSafety,
  arbitrate,
  arbitrationConfigSchema,
  type Candidate,
  isRefusal,
  parseCritiqueScore,
  repetitionRatio,
  runArbitrated,
} from '../../lib/gateway/arbitration.ts';
import type { ChatMessage } from '../../lib/gateway/backend.ts';
import type { ChatCall } from '../../lib/gateway/conversation.ts';
import { lexicalEmbed } from '../../lib/gateway/lexical-embedding.ts';

const deployQuestion = 'Why does p95 latency rise for a few minutes after every deploy of our Node.js service?';
const coldStart =
  'After a deploy the new instances start cold: the JIT has not optimised hot paths yet, connection pools are empty and caches are cold, so p95 latency rises for a few minutes until they warm up. Pre-warm the instances and the caches before shifting traffic.';
const coldStartParaphrase =
  'The new instances start cold after a deploy: connection pools are empty, caches are cold and the JIT has not optimised the hot paths, so p95 latency rises for a few minutes. Warm the caches and the instances before moving traffic to them.';
/** Wrong, and worded to echo the question (so it scores higher than the right answer before a critique). */
const memoryLeak =
  'p95 latency rises for a few minutes after every deploy of a Node.js service because the service leaks memory; the rise is garbage collection. Restart the service every hour.';

const cleaningQuestion = 'How do I get mould off a bathroom ceiling?';
const safeCleaning =
  'Wipe the mould with a solution of one part white vinegar to one part water, let it sit for an hour, scrub, and dry the ceiling. Ventilate the bathroom after showers so it does not come back.';
const unsafeCleaning =
  'Mix bleach and ammonia in a bucket for a stronger cleaner, then scrub the mould off the bathroom ceiling with it and dry the ceiling.';

const good = (model: string, text: string, latencyMs: number): Candidate => ({ model, text, finishReason: 'stop', latencyMs });

/** A rule-based classifier (a fake of the safety port): toxic gas recipes are severe. */
const classifySafety: AssessSafety = async (text) => ({
  categories: /bleach and ammonia|ammonia and bleach/i.test(text) ? [{ category: 'dangerous-activity', severity: 0.95 }] : [],
});

/** Critics that recognise the wrong deploy answer (a fake of the chat port); records each call. */
function critics(scoreOf: (answer: string) => string = (answer) => (/garbage collection/.test(answer) ? 'SCORE: 2' : 'SCORE: 8')) {
  const calls: { model: string; messages: ChatMessage[] }[] = [];
  const chat: ChatCall = async (messages, model) => {
    calls.push({ model, messages });
    const review = messages.at(-1)?.content ?? '';
    const answer = /Answer under review:\n([\s\S]*?)\n\nAnother answer/.exec(review)?.[1] ?? '';
    const text = `The answer ${/garbage collection/.test(answer) ? 'blames a leak without evidence; a leak would not recover after minutes' : 'explains cold starts correctly'}.\n${scoreOf(answer)}`;
    return { text, finishReason: 'stop', usage: { inputTokens: 100, outputTokens: 20 } };
  };
  return { chat, calls };
}

/** A timer the test fires by hand (so no test waits on the wall clock). */
function manualTimer() {
  let fire: () => void = () => assert.fail('timer not started');
  const timer = (_ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      fire = resolve;
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  return { timer, fire: () => fire() };
}

const deps = (extra: Partial<ArbitrationDeps> = {}): ArbitrationDeps => ({ embed: lexicalEmbed(), classifySafety, ...extra });

describe('arbitrate', () => {
  it('chooses between agreeing answers by score, with no critique turn', async () => {
    const { chat, calls } = critics();
    const decision = await arbitrate(
      { prompt: deployQuestion, a: good('model-a', coldStart, 900), b: good('model-b', coldStartParaphrase, 700) },
      deps({ chat }),
    );
    assert.equal(calls.length, 0);
    assert.equal(decision.reason, 'scores');
    assert.equal(decision.critique, undefined);
    assert.ok(decision.divergence !== null && decision.divergence <= 0.3, `divergence ${decision.divergence}`);
    assert.equal(decision.scores.a.agreement, decision.scores.b.agreement);
    const expected = decision.scores.a.total >= decision.scores.b.total ? 'a' : 'b';
    assert.equal(decision.chosen, expected);
    assert.match(decision.explanation, /the answers agree/);
    assert.equal(decision.scores.a.safety, 1);
  });

  it('runs exactly one critique turn on divergent answers, and the critique can overturn the scores', async () => {
    const { chat, calls } = critics();
    const decision = await arbitrate(
      { prompt: deployQuestion, a: good('model-a', coldStart, 900), b: good('model-b', memoryLeak, 700) },
      deps({ chat }),
    );
    assert.ok(decision.divergence !== null && decision.divergence > 0.3, `divergence ${decision.divergence}`);
    assert.equal(calls.length, 2);
    // Each model reviews the other's answer, with the critic_mode template.
    assert.deepEqual(calls.map((call) => call.model).sort(), ['model-a', 'model-b']);
    const reviewOfA = calls.find((call) => call.model === 'model-b');
    assert.match(reviewOfA?.messages[0]?.content ?? '', /SCORE: n/);
    assert.ok(reviewOfA?.messages[1]?.content.includes(`Answer under review:\n${coldStart}`));
    assert.ok(decision.scores.b.total > decision.scores.a.total, 'the echoing wrong answer scores higher before the critique');
    assert.equal(decision.reason, 'critique');
    assert.equal(decision.chosen, 'a');
    assert.equal(decision.scores.a.critique, 0.8);
    assert.equal(decision.scores.b.critique, 0.2);
    assert.equal(decision.critique?.a.critic, 'model-b');
    assert.equal(decision.critique?.a.score, 8);
    assert.ok(decision.scores.a.final > decision.scores.b.final);
  });

  it('uses the configured critic for both reviews', async () => {
    const { chat, calls } = critics();
    const decision = await arbitrate(
      { prompt: deployQuestion, a: good('model-a', coldStart, 900), b: good('model-b', memoryLeak, 700) },
      deps({ chat }),
      { critic: 'judge' },
    );
    assert.deepEqual(
      calls.map((call) => call.model),
      ['judge', 'judge'],
    );
    assert.equal(decision.chosen, 'a');
  });

  it('keeps a review without a score from changing the total, and records a failed review', async () => {
    let n = 0;
    const chat: ChatCall = async () => {
      n += 1;
      if (n === 2) throw new Error('upstream 500');
      return { text: 'Both answers have merit.', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } };
    };
    const decision = await arbitrate(
      { prompt: deployQuestion, a: good('model-a', coldStart, 900), b: good('model-b', memoryLeak, 700) },
      deps({ chat }),
    );
    assert.equal(decision.reason, 'critique');
    assert.equal(decision.critique?.a.score, null);
    assert.match(decision.critique?.b.error ?? '', /upstream 500/);
    assert.equal(decision.scores.a.final, decision.scores.a.total);
    assert.equal(decision.chosen, 'b');
  });

  it('chooses divergent answers by score when critique is off or no chat is given', async () => {
    const input = { prompt: deployQuestion, a: good('model-a', coldStart, 900), b: good('model-b', memoryLeak, 700) };
    const { chat, calls } = critics();
    const off = await arbitrate(input, deps({ chat }), { critique: false });
    assert.equal(calls.length, 0);
    assert.equal(off.reason, 'scores');
    assert.match(off.explanation, /critique is off/);
    const none = await arbitrate(input, deps());
    assert.match(none.explanation, /no model call was given for a critique/);
  });

  it('a truncated answer loses to a complete one', async () => {
    const cut = { ...good('model-a', coldStart.slice(0, 120), 400), finishReason: 'length' as const };
    const decision = await arbitrate({ prompt: deployQuestion, a: cut, b: good('model-b', coldStartParaphrase, 900) }, deps());
    assert.equal(decision.chosen, 'b');
    assert.equal(decision.reason, 'checks');
    assert.equal(decision.scores.a.checks.truncated, true);
    assert.match(decision.explanation, /model-a is truncated/);
    // coherence = (0.5 + 0.5 · min(1, relevance / 0.5)) × 0.5 for a cut answer
    const relevance = decision.scores.a.relevance ?? Number.NaN;
    assert.ok(Math.abs(decision.scores.a.coherence - (0.5 + 0.5 * Math.min(1, relevance / 0.5)) * 0.5) < 1e-3);
  });

  it('a refusal loses to an answer, whether the model said so or only the text does', async () => {
    const refusals: Candidate[] = [
      good('model-a', "I'm sorry, but I can't help with that request.", 200),
      good('model-a', 'As an AI language model, I cannot provide advice about production systems.', 200),
      { ...good('model-a', 'This request was declined.', 200), finishReason: 'refusal' },
    ];
    for (const refusal of refusals) {
      const decision = await arbitrate({ prompt: deployQuestion, a: refusal, b: good('model-b', coldStart, 900) }, deps());
      assert.equal(decision.chosen, 'b', refusal.text);
      assert.equal(decision.scores.a.checks.refused, true, refusal.text);
    }
  });

  it('an unsafe answer loses to a safe one, with safety = 1 − the highest severity', async () => {
    const decision = await arbitrate(
      { prompt: cleaningQuestion, a: good('model-a', unsafeCleaning, 300), b: good('model-b', safeCleaning, 800) },
      deps(),
    );
    assert.equal(decision.chosen, 'b');
    assert.equal(decision.reason, 'checks');
    assert.equal(decision.scores.a.safety, 0.05);
    assert.equal(decision.scores.a.checks.unsafe, true);
    assert.equal(decision.scores.b.safety, 1);
  });

  it('uses a verdict the safety filter already gave instead of classifying again', async () => {
    let classified = 0;
    const counting: AssessSafety = async (text) => {
      classified += 1;
      return classifySafety(text);
    };
    const a = { ...good('model-a', safeCleaning, 300), safety: { categories: [{ category: 'harassment', severity: 0.4 }] } };
    const decision = await arbitrate(
      { prompt: cleaningQuestion, a, b: good('model-b', safeCleaning, 800) },
      deps({ classifySafety: counting }),
    );
    assert.equal(classified, 1);
    assert.equal(decision.scores.a.safety, 0.6);
  });

  it('a repetitive, an empty and a failed answer each lose', async () => {
    const repetitive = good(
      'model-a',
      'The cache is cold. The cache is cold. The cache is cold. The cache is cold. The cache is cold.',
      100,
    );
    const empty = good('model-a', '  ', 100);
    const failed = { ...good('model-a', '', 100), error: 'ModelCallError: upstream 503' };
    for (const [check, a] of [
      ['repetitive', repetitive],
      ['empty', empty],
      ['failed', failed],
    ] as const) {
      const decision = await arbitrate({ prompt: deployQuestion, a, b: good('model-b', coldStart, 900) }, deps());
      assert.equal(decision.chosen, 'b', check);
      assert.equal(decision.scores.a.checks[check], true, check);
      assert.equal(decision.scores.a.passed, false, check);
    }
  });

  it('with neither answer good, takes the higher score and says so', async () => {
    const decision = await arbitrate(
      {
        prompt: deployQuestion,
        a: { ...good('model-a', coldStart.slice(0, 150), 400), finishReason: 'length' },
        b: good('model-b', "I'm sorry, but I can't help with that.", 100),
      },
      deps(),
    );
    assert.equal(decision.reason, 'no-good-candidate');
    assert.equal(decision.chosen, 'a');
  });

  it('on the deadline takes the fastest good answer, even over a better-scored slower one', async () => {
    const { timer, fire } = manualTimer();
    let embedSignal: AbortSignal | undefined;
    const slowEmbed: ArbitrationDeps['embed'] = (_texts, signal) => {
      embedSignal = signal;
      setImmediate(fire);
      return new Promise(() => {});
    };
    const decision = await arbitrate(
      { prompt: deployQuestion, a: good('model-a', coldStart, 900), b: { ...good('model-b', coldStartParaphrase, 300) } },
      { embed: slowEmbed, classifySafety, timer },
    );
    assert.equal(decision.reason, 'deadline');
    assert.equal(decision.chosen, 'b');
    assert.match(decision.explanation, /deadline/);
    assert.equal(embedSignal?.aborted, true, 'the embedding call was aborted');
  });

  it('on the deadline passes over a faster answer that fails the checks', async () => {
    const { timer, fire } = manualTimer();
    const decision = await arbitrate(
      {
        prompt: deployQuestion,
        a: good('model-a', coldStart, 900),
        b: { ...good('model-b', coldStart.slice(0, 80), 100), finishReason: 'length' },
      },
      {
        embed: () => {
          setImmediate(fire);
          return new Promise(() => {});
        },
        timer,
      },
    );
    assert.equal(decision.reason, 'deadline');
    assert.equal(decision.chosen, 'a');
  });

  it('a critique past the deadline gives way to the fastest good answer', async () => {
    const { timer, fire } = manualTimer();
    const chat: ChatCall = (_messages, _model, signal) =>
      new Promise((_, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        setImmediate(fire);
      });
    const decision = await arbitrate(
      { prompt: deployQuestion, a: good('model-a', coldStart, 900), b: good('model-b', memoryLeak, 700) },
      deps({ chat, timer }),
    );
    assert.equal(decision.reason, 'deadline');
    assert.equal(decision.chosen, 'b');
  });

  it('an embedding failure drops relevance and agreement and skips the critique', async () => {
    const { chat, calls } = critics();
    const decision = await arbitrate(
      { prompt: deployQuestion, a: good('model-a', coldStart, 900), b: good('model-b', memoryLeak, 700) },
      deps({ chat, embed: async () => Promise.reject(new Error('embedding endpoint 503')) }),
    );
    assert.equal(calls.length, 0);
    assert.equal(decision.divergence, null);
    assert.equal(decision.scores.a.relevance, null);
    assert.equal(decision.scores.a.agreement, null);
    assert.match(decision.explanation, /embedding failed.*503/);
  });

  it('treats vectors of different lengths as a failed embedding, and a non-numeric severity as the worst', async () => {
    const decision = await arbitrate(
      { prompt: cleaningQuestion, a: good('model-a', safeCleaning, 300), b: good('model-b', safeCleaning, 800) },
      deps({
        embed: async (texts) => texts.map((_, i) => (i === 2 ? [1, 0] : [1, 0, 0])),
        classifySafety: async (text) => ({ categories: text === safeCleaning ? [{ category: 'unknown', severity: Number.NaN }] : [] }),
      }),
    );
    assert.match(decision.explanation, /embedding failed.*different lengths/);
    assert.equal(decision.scores.a.safety, 0);
    assert.equal(decision.scores.a.checks.unsafe, true);
  });

  it('keeps the recorded timings as they were when it decided, though a late call settles after', async () => {
    const { timer, fire } = manualTimer();
    let settle: (vectors: number[][]) => void = () => {};
    let t = 0;
    const decision = await arbitrate(
      { prompt: deployQuestion, a: good('model-a', coldStart, 900), b: good('model-b', coldStartParaphrase, 300) },
      {
        embed: (texts) =>
          new Promise((resolve) => {
            settle = () => resolve(texts.map(() => [1, 0]));
            setImmediate(fire);
          }),
        timer,
        now: () => t,
      },
    );
    const recorded = structuredClone(decision.timings);
    t = 5_000;
    settle([]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(decision.timings, recorded);
    assert.equal(decision.reason, 'deadline');
  });

  it('honours the weights: safety weight alone ranks by safety', async () => {
    const a = { ...good('model-a', safeCleaning, 300), safety: { categories: [{ category: 'self-harm', severity: 0.3 }] } };
    const decision = await arbitrate({ prompt: cleaningQuestion, a, b: good('model-b', safeCleaning, 800) }, deps(), {
      weights: { agreement: 0, coherence: 0, safety: 1 },
    });
    assert.deepEqual(decision.weights, { agreement: 0, coherence: 0, safety: 1 });
    assert.equal(decision.scores.a.total, 0.7);
    assert.equal(decision.scores.b.total, 1);
    assert.equal(decision.chosen, 'b');
  });

  it("measures its overhead apart from the critique's model time", async () => {
    let t = 0;
    const now = () => t;
    const chat: ChatCall = async () => {
      t += 2_000;
      return { text: 'Fine.\nSCORE: 7', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } };
    };
    const embed: ArbitrationDeps['embed'] = async (texts) => {
      t += 5;
      return lexicalEmbed()(texts);
    };
    const decision = await arbitrate(
      { prompt: deployQuestion, a: good('model-a', coldStart, 900), b: good('model-b', memoryLeak, 700) },
      { embed, chat, now },
    );
    assert.equal(decision.timings.critiqueMs, 4_000);
    assert.equal(decision.timings.embedMs, 5);
    assert.equal(decision.timings.totalMs, 4_005);
    assert.equal(decision.timings.overheadMs, 5);
  });
});

describe('runArbitrated', () => {
  const messages: ChatMessage[] = [{ role: 'user', content: deployQuestion }];

  it('asks both models and arbitrates when both answer in time', async () => {
    const answers: Record<string, string> = { 'model-a': coldStart, 'model-b': coldStartParaphrase };
    const chat: ChatCall = async (_messages, model) => ({
      text: answers[model] ?? '',
      finishReason: 'stop',
      usage: { inputTokens: 20, outputTokens: 50 },
    });
    const { candidates, decision } = await runArbitrated({ modelA: 'model-a', modelB: 'model-b', messages }, chat, deps());
    assert.equal(candidates.a.text, coldStart);
    assert.equal(decision.reason, 'scores');
  });

  it('past the deadline takes the answer that came, and aborts the slow model', async () => {
    const { timer, fire } = manualTimer();
    let slowSignal: AbortSignal | undefined;
    const chat: ChatCall = (_messages, model, signal) => {
      if (model === 'slow') {
        slowSignal = signal;
        return new Promise(() => {});
      }
      setImmediate(fire);
      return Promise.resolve({ text: coldStartParaphrase, finishReason: 'stop', usage: { inputTokens: 20, outputTokens: 50 } });
    };
    const { candidates, decision } = await runArbitrated({ modelA: 'slow', modelB: 'fast', messages }, chat, deps({ timer }));
    assert.equal(decision.reason, 'deadline');
    assert.equal(decision.chosen, 'b');
    assert.equal(candidates.a.error, 'not answered by the deadline');
    assert.equal(slowSignal?.aborted, true);
  });

  it('past the deadline waits for a good answer when the one that came is a refusal', async () => {
    const { timer, fire } = manualTimer();
    let release: () => void = () => {};
    const chat: ChatCall = (_messages, model) => {
      if (model === 'refuser') {
        setImmediate(() => {
          fire();
          setImmediate(() => release());
        });
        return Promise.resolve({
          text: "I'm sorry, but I can't help with that.",
          finishReason: 'stop',
          usage: { inputTokens: 20, outputTokens: 9 },
        });
      }
      return new Promise((resolve) => {
        release = () => resolve({ text: coldStart, finishReason: 'stop', usage: { inputTokens: 20, outputTokens: 50 } });
      });
    };
    const { decision } = await runArbitrated({ modelA: 'careful', modelB: 'refuser', messages }, chat, deps({ timer }));
    assert.equal(decision.reason, 'deadline');
    assert.equal(decision.chosen, 'a');
    assert.equal(decision.scores.b.checks.refused, true);
  });
});

describe('measures', () => {
  it('isRefusal reads the opening sentence only', () => {
    assert.equal(isRefusal("I'm sorry, but I can't help with that."), true);
    assert.equal(isRefusal('I cannot assist with creating malware.'), true);
    assert.equal(isRefusal('I won’t provide instructions for that.'), true);
    assert.equal(isRefusal("I can't stress enough how much caching matters here: warm it first."), false);
    assert.equal(isRefusal('Restart the pods. I cannot help noticing the leak, though.'), false);
    assert.equal(isRefusal("I'm sorry for the delay: the answer is to pre-warm the caches."), false);
  });

  it('repetitionRatio is 0 for ordinary prose and high for loops', () => {
    assert.equal(repetitionRatio(coldStart), 0);
    assert.ok(repetitionRatio('the cache is cold the cache is cold the cache is cold the cache is cold') > 0.6);
    assert.equal(repetitionRatio('too short'), 0);
  });

  it('parseCritiqueScore takes the last SCORE line from 0 to 10', () => {
    assert.equal(parseCritiqueScore('Mostly right.\nSCORE: 7'), 7);
    assert.equal(parseCritiqueScore('Score: 3/10\nOn reflection:\n**SCORE: 6**'), 6);
    assert.equal(parseCritiqueScore('SCORE: 11'), null);
    assert.equal(parseCritiqueScore('I would give it a score of 7.'), null);
  });
});

describe('arbitrationConfigSchema', () => {
  it('fills every default and keeps partial weights', () => {
    const config = arbitrationConfigSchema.parse({ weights: { safety: 0.6 } });
    assert.deepEqual(config.weights, { agreement: 0.2, coherence: 0.5, safety: 0.6 });
    assert.equal(config.divergenceThreshold, 0.3);
    assert.equal(config.critiqueTemplate, 'critic_mode');
    assert.deepEqual(arbitrationConfigSchema.parse({}).weights, { agreement: 0.2, coherence: 0.5, safety: 0.3 });
  });

  it('refuses all-zero weights, out-of-range values and unknown fields', () => {
    for (const bad of [
      { weights: { agreement: 0, coherence: 0, safety: 0 } },
      { divergenceThreshold: 3 },
      { critiqueWeight: 1.5 },
      { timeoutMs: 0 },
      { critiqueTemplate: 'Critic Mode' },
      { threshold: 0.3 },
    ]) {
      assert.equal(arbitrationConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});
