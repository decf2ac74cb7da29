/**
 * Releasing a streamed reply through the output filters (lib/gateway/stream-release.ts): segments at
 * word or sentence ends, the tail held back, every release checked with all the text before it, a
 * block stopping the release and the call, the output limit never passed, the whole reply checked last.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutputRelease, type SafetyDecision } from '../../lib/gateway/stream-release.ts';

const allow: SafetyDecision = { step: 'safety', verdict: 'allow', categories: [], classifier: 'rules' };
const block: SafetyDecision = {
  step: 'safety',
  verdict: 'block',
  categories: [{ category: 'violence', severity: 'severe', score: 1 }],
  classifier: 'rules',
};
/** Lets pending checks and their continuations run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function harness(options: { blockWhen?: (text: string) => boolean; pii?: boolean; minGapMs?: number } = {}) {
  const checked: string[] = [];
  const released: string[] = [];
  let stopped = 0;
  const release = new OutputRelease({
    check: async (text) => {
      checked.push(text);
      return options.blockWhen?.(text) ? block : allow;
    },
    onRelease: (text) => released.push(text),
    minGapMs: options.minGapMs ?? 0,
    ...(options.pii
      ? {
          pii: (text: string) => ({
            text: text.replace(/\S+@\S+\.\w+/g, '[EMAIL]'),
            counts: (/@/.test(text) ? { EMAIL: 1 } : {}) as Record<string, number>,
          }),
        }
      : {}),
  });
  release.start(
    (text) => text,
    () => {
      stopped += 1;
    },
  );
  return { release, checked, released, stopped: () => stopped };
}

describe('releasing a streamed reply', () => {
  it('releases up to the last word end and holds the word still being written', async () => {
    const { release, released, checked } = harness();
    release.delta('The queue');
    await settle();
    assert.deepEqual(released, ['The ']);
    release.delta(' grows after ea');
    await settle();
    assert.deepEqual(released, ['The ', 'queue grows after ']);
    assert.deepEqual(checked, ['The ', 'The queue grows after '], 'each check covers everything released before');
    const outcome = await release.finish('The queue grows after each deploy.');
    assert.deepEqual(released, ['The ', 'queue grows after ', 'each deploy.']);
    assert.equal(outcome.text, 'The queue grows after each deploy.');
    assert.equal(checked.at(-1), 'The queue grows after each deploy.', 'the last check is of the whole reply');
    assert.equal(outcome.safety.verdict, 'allow');
    assert.equal(outcome.blocked, false);
  });

  it('with PII handling on, releases whole sentences, each filtered, and counts the entities', async () => {
    const { release, released } = harness({ pii: true });
    release.delta('Write to ada@example');
    await settle();
    assert.deepEqual(released, [], 'no sentence has ended: an address split across deltas is not released half');
    release.delta('.org today. Then');
    await settle();
    assert.deepEqual(released, ['Write to [EMAIL] today. ']);
    const outcome = await release.finish('Write to ada@example.org today. Then wait.');
    assert.deepEqual(outcome.deltas, ['Write to [EMAIL] today. ', 'Then wait.']);
    assert.deepEqual(outcome.piiCounts, { EMAIL: 1 });
  });

  it('stops releasing and stops the call when a check blocks; what went out before stays out', async () => {
    const { release, released, stopped } = harness({ blockWhen: (text) => text.includes('detonate') });
    release.delta('Here is how ');
    await settle();
    release.delta('to detonate it and more ');
    await settle();
    release.delta('text after the block ');
    await settle();
    assert.deepEqual(released, ['Here is how ']);
    assert.equal(stopped(), 1);
    const outcome = await release.finish('Here is how to detonate it and more text after the block');
    assert.equal(outcome.blocked, true);
    assert.equal(outcome.safety.verdict, 'block');
    assert.deepEqual(released, ['Here is how ']);
  });

  it('blocks at the end when only the whole reply fails the check', async () => {
    const { release, released } = harness({ blockWhen: (text) => text.endsWith('bomb') });
    release.delta('build a ');
    await settle();
    const outcome = await release.finish('build a bomb');
    assert.deepEqual(released, ['build a ']);
    assert.equal(outcome.blocked, true);
  });

  it('never releases past the call’s output limit', async () => {
    const released: string[] = [];
    const release = new OutputRelease({ check: async () => allow, onRelease: (text) => released.push(text), minGapMs: 0 });
    release.start(
      (text) => text.slice(0, 12),
      () => {},
    );
    release.delta('one two three four five six ');
    await settle();
    assert.deepEqual(released, ['one two ']);
    const outcome = await release.finish('one two thre');
    assert.equal(outcome.text, 'one two thre');
  });

  it('runs one check at a time, at most one per gap, the text that arrived meanwhile in the next', async () => {
    const starts: number[] = [];
    let open = 0;
    let most = 0;
    const release = new OutputRelease({
      check: async () => {
        starts.push(Date.now());
        open += 1;
        most = Math.max(most, open);
        await new Promise((resolve) => setTimeout(resolve, 5));
        open -= 1;
        return allow;
      },
      onRelease: () => {},
      minGapMs: 40,
    });
    for (let i = 0; i < 20; i += 1) {
      release.delta(`word${i} `);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const outcome = await release.finish(Array.from({ length: 20 }, (_, i) => `word${i} `).join(''));
    assert.equal(most, 1);
    assert.ok(starts.length < 20 / 2, `${starts.length} checks for 20 deltas`);
    for (let i = 1; i < starts.length - 1; i += 1) assert.ok((starts[i] ?? 0) - (starts[i - 1] ?? 0) >= 38, `gap ${i}`);
    assert.equal(outcome.text.split(' ').filter(Boolean).length, 20);
  });

  it('treats a filter that fails as a block', async () => {
    const release = new OutputRelease({
      check: async () => {
        throw new Error('classifier down');
      },
      onRelease: () => assert.fail('nothing may go out unchecked'),
      minGapMs: 0,
    });
    release.delta('some text ');
    await settle();
    const outcome = await release.finish('some text');
    assert.equal(outcome.blocked, true);
    assert.equal(outcome.safety.categories[0]?.category, 'classifier-unavailable');
  });

  it('releases nothing more after abandon()', async () => {
    const { release, released } = harness();
    release.delta('first ');
    release.abandon();
    await settle();
    release.delta('second ');
    await settle();
    assert.deepEqual(released, []);
  });
});
