/**
 * The streamed chat on the local cloud: the gateway's chat-stream function behind its function URL in
 * RESPONSE_STREAM mode (the local Lambda runtime's response streaming, infra/local/function-url.ts),
 * through the SageMaker runtime stand-ins: server-sent events that arrive while the model writes, the
 * engine API's authentication and errors, and a client that disconnects stopping the call, its partial
 * reply kept in the conversation log and charged for what was produced.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ParsedEvent, parseSse } from '../../lib/gateway/sse.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

/** The streamed chat's URL, from the deployed template (its stack output's name). */
function streamUrl(): string {
  const url = testCloud().resources.functionUrls?.GatewayChatStreamLambdaFunctionUrl;
  assert.ok(url, `no function URL for the streamed chat in ${JSON.stringify(testCloud().resources.functionUrls)}`);
  return url;
}

const user = (content: string) => [{ role: 'user', content }];

/** A received event with when it arrived (ms after the request was sent). */
interface TimedEvent extends ParsedEvent {
  at: number;
}

/**
 * POSTs to the streamed chat and reads its events as they arrive; `stopWhen` may end the read early
 * (the client disconnects).
 */
async function streamChat(
  parameters: Record<string, unknown>,
  options: { token?: string; stopWhen?: (events: TimedEvent[]) => boolean } = {},
): Promise<{ status: number; headers: Headers; events: TimedEvent[]; body: string }> {
  const client = new AbortController();
  const started = performance.now();
  const response = await fetch(streamUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    body: JSON.stringify({ parameters }),
    signal: client.signal,
  });
  const reader = response.body?.getReader();
  assert.ok(reader);
  const decoder = new TextDecoder();
  const events: TimedEvent[] = [];
  let body = '';
  let buffered = '';
  for (;;) {
    const read = await reader.read();
    if (read.done) break;
    const text = decoder.decode(read.value, { stream: true });
    body += text;
    buffered += text;
    const end = buffered.lastIndexOf('\n\n');
    if (end !== -1) {
      const at = performance.now() - started;
      for (const event of parseSse(buffered.slice(0, end + 2))) events.push({ ...event, at });
      buffered = buffered.slice(end + 2);
    }
    if (options.stopWhen?.(events)) {
      client.abort();
      break;
    }
  }
  return { status: response.status, headers: response.headers, events, body };
}

describe('the streamed chat (function URL, RESPONSE_STREAM)', () => {
  it('answers as the engine API does before streaming: 401 without credentials, 403 without gateway:write, 400 naming the field', async () => {
    const anonymous = await streamChat({ model: 'standin-a', messages: user('hello') });
    assert.equal(anonymous.status, 401);
    const unauthorised = JSON.parse(anonymous.body);
    assert.equal(unauthorised.error, 'UnauthorizedError');
    assert.ok(unauthorised.correlationId);
    const tenant = freshTenant('gws');
    const viewer = await streamChat(
      { model: 'standin-a', messages: user('hello') },
      { token: await tokenFor({ tenant, roles: ['viewer'] }) },
    );
    assert.equal(viewer.status, 403);
    assert.match(JSON.parse(viewer.body).message, /gateway:write/);
    const invalid = await streamChat(
      { model: 'no-such-model', messages: user('hello') },
      { token: await tokenFor({ tenant, roles: ['operator'] }) },
    );
    assert.equal(invalid.status, 400);
    assert.deepEqual(
      (JSON.parse(invalid.body).issues as Array<{ path: string }>).map((issue) => issue.path),
      ['body.parameters.model'],
    );
  });

  it('sends the deltas as the model writes them: the first long before the reply ends', async (t) => {
    const tenant = freshTenant('gws');
    const token = await tokenFor({ tenant, roles: ['operator'] });
    const { status, headers, events } = await streamChat(
      { model: 'standin-a', messages: user('[[standin: tokens=200 interval=20]] why do queues grow when consumers stall'), maxTokens: 400 },
      { token },
    );
    assert.equal(status, 200);
    assert.match(headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(events[0]?.event, 'request');
    const done = events.at(-1);
    assert.equal(done?.event, 'done', events.map((event) => event.event).join(','));
    const deltas = events.filter((event) => event.event === 'delta');
    const result = JSON.parse(done?.data ?? '{}');
    assert.equal(deltas.map((event) => JSON.parse(event.data).text).join(''), result.text, 'the deltas make the reply');
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.usage.outputTokens > 100, true, JSON.stringify(result.usage));
    assert.deepEqual(JSON.parse(events[0]?.data ?? '{}'), { requestId: result.requestId, conversationId: result.conversationId });
    // 200 words 20 ms apart take 4 s: the first delta must come seconds before the end, the rest spread between.
    const first = deltas[0]?.at ?? Number.POSITIVE_INFINITY;
    const last = deltas.at(-1)?.at ?? 0;
    const arrivals = new Set(deltas.map((event) => Math.round(event.at / 100)));
    assert.ok((done?.at ?? 0) - first >= 2_000, `first delta at ${Math.round(first)} ms, done at ${Math.round(done?.at ?? 0)} ms`);
    assert.ok(last - first >= 2_000, `deltas spread over ${Math.round(last - first)} ms`);
    assert.ok(arrivals.size >= 10, `deltas arrived in ${arrivals.size} distinct 100 ms slots`);
    t.diagnostic(
      `first delta ${Math.round(first)} ms, last delta ${Math.round(last)} ms, done ${Math.round(done?.at ?? 0)} ms after the request; ${deltas.length} delta events, ${result.usage.outputTokens} output tokens`,
    );
    const usage = await api('GET', '/gateway/usage', { tenant, roles: ['viewer'] });
    assert.equal(usage.body.result.tokens, result.usage.inputTokens + result.usage.outputTokens);
  });

  it('stops the call when the client disconnects: the partial reply is logged (cancelled) and only what was produced is charged', async (t) => {
    const tenant = freshTenant('gws');
    const token = await tokenFor({ tenant, roles: ['operator'] });
    const received = await streamChat(
      { model: 'standin-a', messages: user('[[standin: tokens=3000 interval=10]] retries pile up when consumers stall'), maxTokens: 3500 },
      { token, stopWhen: (events) => events.filter((event) => event.event === 'delta').length >= 5 },
    );
    assert.equal(received.status, 200);
    assert.ok(!received.events.some((event) => event.event === 'done'), 'the client left before the end');
    const { conversationId } = JSON.parse(received.events[0]?.data ?? '{}');
    const text = received.events
      .filter((event) => event.event === 'delta')
      .map((event) => JSON.parse(event.data).text)
      .join('');
    const view = await eventually(
      'the cancelled turn in the conversation log',
      async () => {
        const reply = await api('GET', `/gateway/conversations?conversationId=${conversationId}`, { tenant, roles: ['viewer'] });
        return reply.status === 200 ? reply : undefined;
      },
      20_000,
      250,
    );
    const turn = view.body.result.log.turns[0];
    assert.equal(turn.finishReason, 'cancelled');
    assert.ok(turn.usage.outputTokens > 0 && turn.usage.outputTokens < 3000, JSON.stringify(turn.usage));
    assert.ok(turn.decisions.some((decision: { step: string }) => decision.step === 'cancelled'));
    const answer = turn.messages.at(-1);
    assert.equal(answer.role, 'assistant');
    assert.ok(answer.content.startsWith(text), 'the log keeps what the client received, and what the model wrote after');
    assert.equal(view.body.result.verification.intact, true);
    const usage = await api('GET', '/gateway/usage', { tenant, roles: ['viewer'] });
    assert.equal(
      usage.body.result.tokens,
      turn.usage.inputTokens + turn.usage.outputTokens,
      'charged what was produced, nothing reserved left',
    );
    assert.equal(usage.body.result.reserved.tokens, 0);
    t.diagnostic(
      `left after ${received.events.filter((event) => event.event === 'delta').length} deltas (${text.length} characters); logged and charged ${turn.usage.outputTokens} output tokens of the 3000 asked, ${usage.body.result.tokens} tokens in all`,
    );
  });
});
