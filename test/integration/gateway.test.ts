/**
 * The Gateway engine on the local cloud, through the HTTP API and the deployed functions: chat end to
 * end through the SageMaker runtime protocol (the Messages API and TGI stand-ins), server-sent events,
 * cancellation, a dual-model exchange, a 400 per bad field, a 429 naming the budget, 200 concurrent
 * requests against a budget that fits a fraction of them (spent ≤ budget, spent = the sum of the
 * successful replies' usage), the pause at the hard cap in the ledger, and a conversation log that
 * verifies against the ledger.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { parseSse } from '../../lib/gateway/sse.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const chat = (tenant: string, parameters: Record<string, unknown>, roles: Array<'operator' | 'admin' | 'viewer'> = ['operator']) =>
  api('POST', '/gateway/chat', { tenant, roles, body: { parameters } });
/** What the race reads of a reply: a 429's message, a 200's usage. */
interface RaceReply {
  message?: string;
  result: { usage: { inputTokens: number; outputTokens: number } };
}
const user = (content: string) => [{ role: 'user', content }];

describe('gateway models', () => {
  it("lists the local stage's stand-ins with their limits and prices", async () => {
    const reply = await api('GET', '/gateway/models', { tenant: freshTenant('gw'), roles: ['viewer'] });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const byName = new Map((reply.body.result.models as Array<{ name: string; description: string }>).map((model) => [model.name, model]));
    assert.deepEqual([...byName.keys()].sort(), ['standin-a', 'standin-b', 'standin-embed', 'standin-tgi']);
    assert.deepEqual(
      { ...byName.get('standin-a') },
      {
        ...byName.get('standin-a'),
        contextTokens: 8192,
        maxOutputTokens: 4096,
        priceInputPer1k: 0.0005,
        priceOutputPer1k: 0.0015,
        tokenizer: 'cl100k_base',
        chat: true,
        fallbacks: ['standin-b', 'standin-tgi'],
      },
    );
    assert.match(byName.get('standin-a')?.description ?? '', /stand-in/i);
  });
});

describe('gateway chat', () => {
  for (const model of ['standin-a', 'standin-tgi']) {
    it(`answers through the SageMaker runtime (${model}), billed exactly and recorded`, async () => {
      const tenant = freshTenant('gw');
      const reply = await chat(tenant, {
        model,
        messages: user('Why does the cache miss rate rise after each deploy of the web tier?'),
        maxTokens: 48,
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const result = reply.body.result;
      assert.equal(result.model, model);
      assert.ok(result.text.length > 0);
      assert.ok(
        result.usage.inputTokens > 10 && result.usage.outputTokens > 0 && result.usage.outputTokens <= 48,
        JSON.stringify(result.usage),
      );
      const prices = model === 'standin-a' ? [0.0005, 0.0015] : [0.0002, 0.0006];
      const expected = (result.usage.inputTokens * (prices[0] ?? 0) + result.usage.outputTokens * (prices[1] ?? 0)) / 1000;
      assert.ok(Math.abs(result.costUsd - expected) < 1e-12, `${result.costUsd} vs ${expected}`);
      assert.ok(
        result.decisions.some(
          (decision: { step: string; outcome?: string }) => decision.step === 'budget' && decision.outcome === 'settled',
        ),
      );
      assert.deepEqual(reply.body.provenance[0].ledger, { tenant, stream: 'gateway.conversations', seq: 0 });
      const usage = await api('GET', '/gateway/usage', { tenant, roles: ['viewer'] });
      assert.equal(usage.body.result.tokens, result.usage.inputTokens + result.usage.outputTokens);
      assert.equal(usage.body.result.budget, null);
    });
  }

  it('streams as server-sent events: deltas, then done carrying the same result', async () => {
    const tenant = freshTenant('gw');
    const reply = await fetch(`${testCloud().apiUrl}/gateway/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor({ tenant, roles: ['operator'] })}` },
      body: JSON.stringify({
        parameters: {
          model: 'standin-a',
          messages: user('[[standin: tokens=30]] stream the answer about queues'),
          maxTokens: 64,
          stream: true,
        },
      }),
    });
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = parseSse(await reply.text());
    assert.ok(events.length >= 3, `${events.length} events`);
    assert.ok(events.slice(0, -1).every((event) => event.event === 'delta'));
    assert.equal(events.at(-1)?.event, 'done');
    const done = JSON.parse(events.at(-1)?.data ?? '{}');
    assert.equal(
      events
        .slice(0, -1)
        .map((event) => JSON.parse(event.data).text)
        .join(''),
      done.text,
    );
    assert.equal(done.model, 'standin-a');
    assert.equal(done.usage.outputTokens > 0, true);
  });

  it('cancels a running stream: the reply ends cancelled with the partial text, logged and charged', async () => {
    const tenant = freshTenant('gw');
    const requestId = `req-cancel-${Date.now()}`;
    const running = chat(tenant, {
      model: 'standin-a',
      messages: user('[[standin: tokens=3000 interval=10]] a very long answer'),
      maxTokens: 4000,
      stream: false,
      requestId,
    });
    const cancelled = await eventually(
      'the request to be running and cancelled',
      async () => {
        const reply = await api('DELETE', `/gateway/chat?requestId=${requestId}`, { tenant, roles: ['operator'] });
        return reply.status === 200 ? reply : undefined;
      },
      15_000,
      200,
    );
    assert.deepEqual(cancelled.body.result, { requestId, cancelled: true });
    const reply = await running;
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.result.finishReason, 'cancelled');
    assert.ok(
      reply.body.result.usage.outputTokens > 0 && reply.body.result.usage.outputTokens < 3000,
      JSON.stringify(reply.body.result.usage),
    );
    const view = await api('GET', `/gateway/conversations?conversationId=${reply.body.result.conversationId}`, {
      tenant,
      roles: ['viewer'],
    });
    assert.equal(view.body.result.log.turns[0].finishReason, 'cancelled');
    assert.equal(view.body.result.verification.intact, true);
    const usage = await api('GET', '/gateway/usage', { tenant, roles: ['viewer'] });
    assert.equal(usage.body.result.tokens, reply.body.result.usage.inputTokens + reply.body.result.usage.outputTokens);
    assert.equal((await api('DELETE', '/gateway/chat?requestId=never-started', { tenant, roles: ['operator'] })).status, 404);
  });

  it('answers 400 naming each bad field', async () => {
    const tenant = freshTenant('gw');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ messages: user('hi') }, 'body.parameters.model'],
      [{ model: 'standin-a' }, 'body.parameters.messages'],
      [{ model: 'standin-a', messages: [] }, 'body.parameters.messages'],
      [{ model: 'standin-a', messages: [{ role: 'robot', content: 'hi' }] }, 'body.parameters.messages.0.role'],
      [{ model: 'standin-a', messages: user('hi'), maxTokens: 0 }, 'body.parameters.maxTokens'],
      [{ model: 'standin-a', messages: user('hi'), temperature: 3 }, 'body.parameters.temperature'],
      [{ model: 'no-such-model', messages: user('hi') }, 'body.parameters.model'],
      [{ model: 'standin-embed', messages: user('hi') }, 'body.parameters.model'],
      [{ model: 'standin-a', messages: user('hi'), template: 'no_such_template' }, 'body.parameters.template'],
      [{ model: 'standin-a', messages: user('hi'), template: 'developer_mode' }, 'body.parameters.variables.language'],
      [
        { model: 'standin-a', messages: user('hi'), template: 'base_system', variables: { langauge: 'Go' } },
        'body.parameters.variables.langauge',
      ],
      [{ model: 'standin-a', messages: user('hi'), requestId: 'has spaces' }, 'body.parameters.requestId'],
    ];
    for (const [parameters, path] of cases) {
      const reply = await chat(tenant, parameters);
      assert.equal(reply.status, 400, `${path}: ${JSON.stringify(reply.body)}`);
      assert.ok(
        (reply.body.issues as Array<{ path: string }>).some((issue) => issue.path === path),
        `${path} not in ${JSON.stringify(reply.body.issues)}`,
      );
    }
    const budget = await api('PUT', '/gateway/budgets', {
      tenant,
      roles: ['admin'],
      body: { parameters: { tokens: -1, costUsd: 1, window: 'week' } },
    });
    assert.equal(budget.status, 400);
    assert.deepEqual((budget.body.issues as Array<{ path: string }>).map((issue) => issue.path).sort(), [
      'body.parameters.tokens',
      'body.parameters.window',
    ]);
    assert.equal(
      (
        await api('PUT', '/gateway/budgets', {
          tenant,
          roles: ['operator'],
          body: { parameters: { tokens: 1, costUsd: 1, window: 'day' } },
        })
      ).status,
      403,
      'budgets are for admins',
    );
  });

  it('answers 429 naming the budget when the worst case does not fit, and pauses the tenant at the hard cap (event in the ledger)', async () => {
    const tenant = freshTenant('gw');
    const set = await api('PUT', '/gateway/budgets', {
      tenant,
      roles: ['admin'],
      body: { parameters: { tokens: 300, costUsd: 5, window: 'day' } },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.result.budget, { tokens: 300, costUsd: 5, window: 'day' });
    const tooBig = await chat(tenant, { model: 'standin-a', messages: user('hello'), maxTokens: 400 });
    assert.equal(tooBig.status, 429, JSON.stringify(tooBig.body));
    assert.match(tooBig.body.message, /tokens budget/);
    assert.ok(Number(tooBig.headers.get('retry-after')) >= 1);
    // The hard cap is spending that reaches the limit exactly: a request whose usage equals its reservation is measured
    // on another tenant (the stand-ins are deterministic, the output is cut at maxTokens, and standin-b's chain counts
    // this input alike in o200k_base and cl100k_base), then spends a budget of exactly that size.
    const probe = { model: 'standin-b', messages: user('[[standin: tokens=60]] fill the budget exactly'), maxTokens: 20 };
    const measured = await chat(freshTenant('gw'), probe);
    const reserved = measured.body.result.decisions.find((decision: { step: string }) => decision.step === 'budget');
    const exact = measured.body.result.usage.inputTokens + measured.body.result.usage.outputTokens;
    assert.equal(reserved.reservedTokens, exact, JSON.stringify(measured.body.result));
    assert.equal(
      (
        await api('PUT', '/gateway/budgets', {
          tenant,
          roles: ['admin'],
          body: { parameters: { tokens: exact, costUsd: 5, window: 'day' } },
        })
      ).status,
      200,
    );
    const filled = await chat(tenant, probe);
    assert.equal(filled.status, 200, JSON.stringify(filled.body));
    const usage = (await api('GET', '/gateway/usage', { tenant, roles: ['viewer'] })).body.result;
    assert.equal(usage.tokens, exact);
    assert.equal(usage.paused, true, 'the tenant reached its cap');
    const refused = await chat(tenant, { model: 'standin-a', messages: user('one more'), maxTokens: 1 });
    assert.equal(refused.status, 429);
    assert.match(refused.body.message, /is paused/);
    const exported = await eventually('the pause in the ledger', async () => {
      const reply = await api('GET', '/audit/export?stream=events.gateway', { tenant, roles: ['viewer'] });
      return typeof reply.body === 'string' && reply.body.includes('gateway.tenant.paused') ? reply.body : undefined;
    });
    assert.equal(exported.split('gateway.tenant.paused').length - 1 >= 1, true);
    const raised = await api('PUT', '/gateway/budgets', {
      tenant,
      roles: ['admin'],
      body: { parameters: { tokens: 100_000, costUsd: 5, window: 'day' } },
    });
    assert.equal(raised.body.result.paused, false, 'raising the budget lifts the pause');
    assert.equal((await chat(tenant, { model: 'standin-a', messages: user('back again'), maxTokens: 8 })).status, 200);
  });

  it('never spends past the budget with 200 concurrent requests through the HTTP API; spent = the replies’ usage', async () => {
    const tenant = freshTenant('gw-race');
    const tokens = 3_000;
    assert.equal(
      (await api('PUT', '/gateway/budgets', { tenant, roles: ['admin'], body: { parameters: { tokens, costUsd: 100, window: 'day' } } }))
        .status,
      200,
    );
    const token = await tokenFor({ tenant, roles: ['operator'] });
    const started = performance.now();
    const replies = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const response = await fetch(`${testCloud().apiUrl}/gateway/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            parameters: {
              model: 'standin-a',
              messages: user(`[[standin: tokens=${20 + (i % 20)}]] request ${i} about the outage`),
              maxTokens: 48,
            },
          }),
        });
        return { status: response.status, body: (await response.json()) as RaceReply };
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const ok = replies.filter((reply) => reply.status === 200);
    const refused = replies.filter((reply) => reply.status === 429);
    assert.equal(
      ok.length + refused.length,
      200,
      JSON.stringify(replies.filter((reply) => reply.status !== 200 && reply.status !== 429).slice(0, 3)),
    );
    assert.ok(ok.length > 10 && refused.length > 10, `${ok.length} answered, ${refused.length} refused`);
    assert.ok(
      refused.every((reply) => /budget/.test(reply.body.message ?? '')),
      'every refusal names the budget',
    );
    const usage = (await api('GET', '/gateway/usage', { tenant, roles: ['viewer'] })).body.result;
    const sum = ok.reduce((total, reply) => total + reply.body.result.usage.inputTokens + reply.body.result.usage.outputTokens, 0);
    assert.ok(usage.tokens <= tokens, `spent ${usage.tokens} of ${tokens}`);
    assert.equal(usage.tokens, sum);
    assert.equal(usage.reserved.tokens, 0);
    assert.equal(usage.requests, ok.length);
    console.log(
      `[gateway race] 200 requests in ${seconds.toFixed(1)} s: ${ok.length} answered, ${refused.length} refused; spent ${usage.tokens} of ${tokens} tokens`,
    );
  });
});

describe('gateway conversations', () => {
  it('runs a dual-model exchange (Messages A, TGI B) whose log verifies against the ledger', async () => {
    const tenant = freshTenant('gw');
    const reply = await api('POST', '/gateway/conversations', {
      tenant,
      roles: ['operator'],
      body: {
        parameters: {
          modelA: 'standin-a',
          modelB: 'standin-tgi',
          promptA: 'Propose a cache key for user sessions in the API',
          promptB: 'Challenge the proposal you are shown',
          exchanges: 3,
          maxTokens: 48,
        },
      },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const outcome = reply.body.result;
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(
      outcome.transcript.map((turn: { speaker: string; model: string }) => `${turn.speaker}:${turn.model}`),
      ['A:standin-a', 'B:standin-tgi', 'A:standin-a'],
    );
    const view = await api('GET', `/gateway/conversations?conversationId=${outcome.conversationId}`, { tenant, roles: ['viewer'] });
    assert.equal(view.status, 200, JSON.stringify(view.body));
    assert.equal(view.body.result.log.turns.length, 3);
    assert.equal(view.body.result.verification.intact, true, JSON.stringify(view.body.result.verification));
    assert.ok(
      view.body.result.verification.turns.every((turn: { messages: string[] }) => turn.messages.every((verdict) => verdict === 'verified')),
    );
    const verified = await api('GET', '/audit/verify?stream=gateway.conversations', { tenant, roles: ['viewer'] });
    assert.equal(verified.body.result.intact, true, JSON.stringify(verified.body));
    assert.equal(verified.body.result.entries, 3);
    const billing = await api('GET', '/audit/verify?stream=gateway.billing', { tenant, roles: ['viewer'] });
    assert.equal(billing.body.result.entries, 3, 'one billing entry per model call');
    assert.equal((await api('GET', '/gateway/conversations?conversationId=c-unknown', { tenant, roles: ['viewer'] })).status, 404);
  });

  it("removes a conversation's content past its retention while it keeps verifying against the ledger", async () => {
    const tenant = freshTenant('gw');
    const settings = await api('PUT', '/gateway/settings', { tenant, roles: ['admin'], body: { parameters: { retentionDays: 1 } } });
    assert.equal(settings.status, 200, JSON.stringify(settings.body));
    assert.equal(settings.body.result.piiLog, 'redact', 'defaults fill what was left out');
    const reply = await chat(tenant, { model: 'standin-a', messages: user('Keep this conversation for a day only'), maxTokens: 16 });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const lambda = new LambdaClient({});
    const run = await lambda.send(
      new InvokeCommand({
        FunctionName: testCloud().resources.functions.GatewayRetentionLambdaFunction,
        Payload: JSON.stringify({ time: new Date(Date.now() + 2 * 86_400_000).toISOString() }),
      }),
    );
    const summary = JSON.parse(new TextDecoder().decode(run.Payload));
    assert.ok(summary.stripped >= 1, JSON.stringify(summary));
    const view = await api('GET', `/gateway/conversations?conversationId=${reply.body.result.conversationId}`, {
      tenant,
      roles: ['viewer'],
    });
    assert.ok(view.body.result.log.contentRemovedAt);
    assert.ok(view.body.result.log.turns[0].messages.every((message: { content: string | null }) => message.content === null));
    assert.equal(view.body.result.verification.intact, true);
    assert.deepEqual(view.body.result.verification.turns[0].messages, ['content-removed', 'content-removed']);
  });
});

describe('gateway budget sweep', () => {
  it('runs as its scheduled function and reports what it charged', async () => {
    const run = await new LambdaClient({}).send(
      new InvokeCommand({
        FunctionName: testCloud().resources.functions.GatewayBudgetSweepLambdaFunction,
        Payload: JSON.stringify({ time: new Date().toISOString() }),
      }),
    );
    assert.equal(run.FunctionError, undefined, new TextDecoder().decode(run.Payload));
    const summary = JSON.parse(new TextDecoder().decode(run.Payload));
    assert.deepEqual(Object.keys(summary).sort(), ['charged', 'failed', 'paused', 'succeeded', 'targets']);
    assert.equal(summary.failed, 0);
  });
});

describe('gateway retrieval and arbitration', () => {
  it('ingests documents and retrieves the relevant chunk into a chat (hybrid with the embedding stand-in)', async () => {
    const tenant = freshTenant('gw');
    const ingested = await api('POST', '/gateway/documents', {
      tenant,
      roles: ['operator'],
      body: {
        parameters: {
          documents: [
            {
              id: 'runbook',
              text: 'Restarting the payment service: drain the queue, stop the consumers, then restart the pods one at a time.',
            },
            { id: 'menu', text: 'The canteen serves soup on Mondays and fish on Fridays.' },
          ],
        },
      },
    });
    assert.equal(ingested.status, 200, JSON.stringify(ingested.body));
    const { embedding, ...rest } = ingested.body.result;
    assert.deepEqual(
      { ...rest, chunks: 2 },
      { documents: 2, chunks: 2, totalDocuments: 2, totalChunks: 2, embedModel: 'standin-embed', version: 1 },
    );
    // The ingest's embedding call was reserved, settled and billed: the tenant's usage and ledger say so.
    assert.equal(embedding.calls, 1);
    assert.ok(embedding.inputTokens > 10, JSON.stringify(embedding));
    assert.ok(Math.abs(embedding.costUsd - (embedding.inputTokens * 0.00002) / 1000) < 1e-15, JSON.stringify(embedding));
    const spent = (await api('GET', '/gateway/usage', { tenant, roles: ['viewer'] })).body.result;
    assert.deepEqual([spent.tokens, spent.costUsd], [embedding.inputTokens, embedding.costUsd]);
    const billed = await api('GET', '/audit/verify?stream=gateway.billing', { tenant, roles: ['viewer'] });
    assert.equal(billed.body.result.entries, 1, 'one billing entry for the embedding call');
    const reply = await chat(tenant, {
      model: 'standin-a',
      messages: user('How do I restart the payment service?'),
      maxTokens: 32,
      retrieval: { k: 1 },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const retrieval = reply.body.result.decisions.find((decision: { step: string }) => decision.step === 'retrieval');
    assert.deepEqual({ ...retrieval, tokens: 0 }, { step: 'retrieval', chunks: 1, tokens: 0, scoring: 'hybrid', sources: ['runbook'] });
    const queryEmbedding = reply.body.result.decisions.find((decision: { step: string }) => decision.step === 'embedding');
    assert.equal(queryEmbedding?.purpose, 'retrieval', JSON.stringify(reply.body.result.decisions));
    const after = (await api('GET', '/gateway/usage', { tenant, roles: ['viewer'] })).body.result;
    assert.equal(
      after.tokens,
      embedding.inputTokens + reply.body.result.usage.inputTokens + reply.body.result.usage.outputTokens,
      "the reply's usage includes its query embedding",
    );
    assert.equal((await api('GET', '/audit/verify?stream=gateway.billing', { tenant, roles: ['viewer'] })).body.result.entries, 3);
  });

  it('arbitrates between two models when asked, with the scores on debug', async () => {
    const tenant = freshTenant('gw');
    const reply = await chat(tenant, {
      model: 'standin-a',
      messages: user('Why does the queue grow at night when traffic is low on the payment service?'),
      maxTokens: 48,
      arbitrate: { models: ['standin-a', 'standin-b'] },
      debug: true,
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const decision = reply.body.result.decisions.find((each: { step: string }) => each.step === 'arbitration');
    assert.ok(decision && ['standin-a', 'standin-b'].includes(decision.chosen), JSON.stringify(reply.body.result.decisions));
    assert.equal(reply.body.result.scores.candidates.length, 2);
    const billing = await api('GET', '/audit/verify?stream=gateway.billing', { tenant, roles: ['viewer'] });
    assert.ok(billing.body.result.entries >= 2, 'each candidate call billed');
  });
});

describe('gateway templates', () => {
  it("defines a tenant's template (operator), chat renders it over the built-in, each change is in the ledger by hash, and a delete brings the built-in back", async () => {
    const tenant = freshTenant('gw-tpl');
    const put = (roles: Array<'operator' | 'admin' | 'viewer'>, parameters: Record<string, unknown>) =>
      api('PUT', '/gateway/templates', { tenant, roles, body: { parameters } });
    const definition = {
      name: 'base_system',
      description: 'The acme system prompt',
      messages: [{ role: 'system', content: 'You are the {{team}} assistant of acme. Marker tpl-{{marker}}.' }],
      defaults: { team: 'platform' },
    };
    assert.equal((await put(['viewer'], { ...definition, defaults: {} })).status, 403, 'a viewer cannot change templates');
    const malformed = await put(['operator'], {
      ...definition,
      messages: [{ role: 'system', content: 'Broken {{ team name }}' }],
      defaults: {},
    });
    assert.equal(malformed.status, 400, JSON.stringify(malformed.body));
    assert.deepEqual(
      (malformed.body.issues as Array<{ path: string }>).map((issue) => issue.path),
      ['body.parameters.messages.0.content'],
    );
    const listedBefore = await api('GET', '/gateway/templates', { tenant, roles: ['viewer'] });
    assert.deepEqual(
      (listedBefore.body.result.templates as Array<{ source: string }>).map((view) => view.source),
      ['built-in', 'built-in', 'built-in'],
      'the malformed one was not stored',
    );

    const defined = await put(['operator'], definition);
    assert.equal(defined.status, 200, JSON.stringify(defined.body));
    assert.deepEqual(
      { ...defined.body.result, hash: '' },
      {
        name: 'base_system',
        change: 'defined',
        version: 1,
        previousVersion: 0,
        hash: '',
        builtIn: true,
        variables: [
          { name: 'team', required: false },
          { name: 'marker', required: true },
        ],
      },
    );
    const hash = defined.body.result.hash as string;
    const read = await api('GET', '/gateway/templates?name=base_system', { tenant, roles: ['viewer'] });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.deepEqual(
      read.body.result.templates.map((view: { source: string; version: number; hash: string; messages: unknown }) => [
        view.source,
        view.version,
        view.hash,
        view.messages,
      ]),
      [['tenant', 1, hash, definition.messages]],
    );

    const reply = await chat(tenant, {
      model: 'standin-a',
      messages: user('Who are you?'),
      template: 'base_system',
      variables: { marker: 'x41' },
      maxTokens: 16,
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const view = await api('GET', `/gateway/conversations?conversationId=${reply.body.result.conversationId}`, {
      tenant,
      roles: ['viewer'],
    });
    assert.equal(view.body.result.log.turns[0].messages[0].content, 'You are the platform assistant of acme. Marker tpl-x41.');
    // Another tenant still gets the built-in, which has no `marker`.
    const other = await chat(freshTenant('gw-tpl'), {
      model: 'standin-a',
      messages: user('Who are you?'),
      template: 'base_system',
      variables: { marker: 'x41' },
      maxTokens: 16,
    });
    assert.equal(other.status, 400, JSON.stringify(other.body));
    assert.deepEqual(
      (other.body.issues as Array<{ path: string }>).map((issue) => issue.path),
      ['body.parameters.variables.marker'],
    );

    const stale = await put(['operator'], { ...definition, description: 'edited', ifVersion: 0 });
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    const removed = await api('DELETE', '/gateway/templates?name=base_system', { tenant, roles: ['admin'] });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.deepEqual(removed.body.result, { name: 'base_system', deleted: true, version: 2, previousVersion: 1, builtIn: true });
    assert.equal(
      (await api('GET', '/gateway/templates?name=base_system', { tenant, roles: ['viewer'] })).body.result.templates[0].source,
      'built-in',
    );
    assert.equal((await api('DELETE', '/gateway/templates?name=base_system', { tenant, roles: ['operator'] })).status, 404);

    type ExportLine = { type: string; entry?: { actor: string }; payload?: { detailType?: string; detail?: Record<string, unknown> } };
    const changes = await eventually('both changes in the ledger', async () => {
      const exported = await api('GET', '/audit/export?stream=events.gateway', { tenant, roles: ['viewer'] });
      const lines = (typeof exported.body === 'string' ? exported.body : '')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as ExportLine);
      const found = lines.filter((line) => line.type === 'entry' && line.payload?.detailType === 'gateway.template.changed');
      return found.length >= 2 ? { found, text: JSON.stringify(lines) } : undefined;
    });
    assert.deepEqual(
      changes.found.map((line) => [
        line.payload?.detail?.change,
        line.payload?.detail?.templateVersion,
        line.payload?.detail?.hash,
        line.payload?.detail?.previousHash,
      ]),
      [
        ['defined', 1, hash, null],
        ['deleted', 2, null, hash],
      ],
      'one entry per change (the bus copy deduplicated), each with the hashes',
    );
    assert.ok(
      changes.found.every((line) => line.entry?.actor !== undefined && !line.entry.actor.startsWith('system:')),
      'the person who changed it',
    );
    assert.ok(!changes.text.includes('assistant of acme'), 'the text is not in the ledger');
    const verified = await api('GET', '/audit/verify?stream=events.gateway', { tenant, roles: ['viewer'] });
    assert.equal(verified.body.result.intact, true, JSON.stringify(verified.body));
  });
});
