/** Server-sent events of a streamed reply: deltas then done, parsed back as an EventSource would. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseSse, sseEvent, sseStream } from '../../lib/gateway/sse.ts';

describe('server-sent events', () => {
  it('write one event per delta, then done carrying the result', () => {
    const body = sseStream(['Hel', 'lo\nworld'], { text: 'Hello\nworld', usage: { inputTokens: 3, outputTokens: 2 } });
    const events = parseSse(body);
    assert.deepEqual(
      events.map((event) => event.event),
      ['delta', 'delta', 'done'],
    );
    assert.deepEqual(JSON.parse(events[1]?.data ?? ''), { text: 'lo\nworld' });
    assert.equal(JSON.parse(events[2]?.data ?? '').text, 'Hello\nworld');
    assert.ok(body.endsWith('\n\n'));
  });

  it('keep every text intact through a round trip, whatever it holds (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 8 }), (deltas) => {
        const events = parseSse(sseStream(deltas, { done: true }));
        assert.deepEqual(
          events.slice(0, -1).map((event) => JSON.parse(event.data).text),
          deltas,
        );
        assert.equal(events.at(-1)?.event, 'done');
      }),
    );
  });

  it('ignore comments and join multi-line data as the spec says', () => {
    assert.deepEqual(parseSse(': keep-alive\n\nevent: x\ndata: a\ndata: b\n\n'), [{ event: 'x', data: 'a\nb' }]);
    assert.equal(sseEvent('delta', { text: 'a' }), 'event: delta\ndata: {"text":"a"}\n\n');
  });
});
