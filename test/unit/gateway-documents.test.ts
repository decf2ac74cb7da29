/**
 * Documents for retrieval: ingest (chunks, BM25, vectors with the stage's embedding stand-in; a
 * re-ingested id replaced), and chat with `retrieval` putting the top chunks into the context within
 * the quota (hybrid with vectors, BM25 alone without), recorded as a decision.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError } from '../../lib/errors.ts';
import { ingestDocuments, retrieveInto } from '../../lib/gateway/documents.ts';
import { chat } from '../../lib/gateway/engine.ts';
import { tokenizer } from '../../lib/gateway/tokenizer.ts';
import { caller, gatewayTestDeps } from '../helpers/gateway.ts';

const runbook = [
  'Restarting the payment service. First drain the queue: stop the consumers and wait until the backlog is empty.',
  'Then restart the payment service pods one at a time and check the health endpoint after each restart.',
  '',
  'Rotating the database password. Create the new secret version, update the connection pool, then revoke the old version.',
].join('\n\n');
const menu = 'The canteen serves soup on Mondays and fish on Fridays. Desserts are free on the last day of the month.';

describe('gateway documents', () => {
  it('index chunks with BM25 and the embedding stand-in, and replace a document given again', async () => {
    const { embed } = gatewayTestDeps();
    const { count } = await tokenizer('cl100k_base');
    const now = new Date('2026-03-01T00:00:00Z');
    const first = await ingestDocuments(
      'acme',
      undefined,
      {
        documents: [
          { id: 'runbook', text: runbook },
          { id: 'menu', text: menu },
        ],
      },
      count,
      now,
      { model: 'standin-embed', embed },
    );
    assert.ok(first.chunks >= 2);
    assert.equal(first.index.embedModel, 'standin-embed');
    assert.equal(Object.keys(first.index.vectors ?? {}).length, Object.keys(first.index.chunks).length);
    assert.equal(first.index.vectors?.[Object.keys(first.index.chunks)[0] ?? '']?.length, 384);
    const second = await ingestDocuments(
      'acme',
      first.index,
      { documents: [{ id: 'menu', text: 'The canteen is closed for renovation.' }] },
      count,
      now,
      { model: 'standin-embed', embed },
    );
    const menuChunks = Object.values(second.index.chunks).filter((chunk) => chunk.docId === 'menu');
    assert.deepEqual(
      menuChunks.map((chunk) => chunk.text),
      ['The canteen is closed for renovation.'],
    );
    assert.equal(Object.keys(second.index.documents).length, 2);
  });

  it('puts the relevant chunks into the context within the quota, hybrid with vectors and BM25 without', async () => {
    const { embed } = gatewayTestDeps();
    const { count } = await tokenizer('cl100k_base');
    const { index } = await ingestDocuments(
      'acme',
      undefined,
      {
        documents: [
          { id: 'runbook', text: runbook },
          { id: 'menu', text: menu },
        ],
      },
      count,
      new Date(),
      { model: 'standin-embed', embed },
    );
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'How do I restart the payment service?' },
    ];
    const hybrid = await retrieveInto(messages, index, { k: 1, quota: 0.25, budgetTokens: 4096, count, embed });
    assert.equal(hybrid.decision.scoring, 'hybrid');
    assert.deepEqual(hybrid.decision.sources, ['runbook']);
    assert.equal(hybrid.messages.length, 3);
    assert.equal(hybrid.messages[1]?.role, 'system');
    assert.match(hybrid.messages[1]?.content ?? '', /restart the payment service/i);
    assert.ok(hybrid.decision.tokens <= 1024);
    const lexical = await retrieveInto(
      messages,
      { ...index, embedModel: undefined, vectors: undefined },
      { k: 1, quota: 0.25, budgetTokens: 4096, count },
    );
    assert.equal(lexical.decision.scoring, 'bm25');
    assert.deepEqual(lexical.decision.sources, ['runbook']);
    const tight = await retrieveInto(messages, index, { k: 4, quota: 0.01, budgetTokens: 1000, count, embed });
    assert.equal(tight.decision.chunks, 0, 'nothing fits a 10-token quota');
    assert.deepEqual(tight.messages, messages);
  });

  it('retrieve into a chat request, and refuse a stale ingest (409)', async () => {
    const { deps, stores, embed } = gatewayTestDeps();
    const { count } = await tokenizer('cl100k_base');
    const { index } = await ingestDocuments('t-rag', undefined, { documents: [{ id: 'runbook', text: runbook }] }, count, new Date(), {
      model: 'standin-embed',
      embed,
    });
    assert.equal(await stores.documents.save(index, 0), 1);
    await assert.rejects(stores.documents.save(index, 0), ConflictError);
    const { result } = await chat(
      {
        model: 'standin-a',
        messages: [{ role: 'user', content: 'How do I rotate the database password?' }],
        stream: false,
        debug: false,
        retrieval: { k: 2, quota: 0.25 },
      },
      caller('t-rag'),
      deps,
    );
    const retrieval = result.decisions.find((decision) => decision.step === 'retrieval');
    assert.ok(retrieval && retrieval.step === 'retrieval' && retrieval.chunks >= 1, JSON.stringify(result.decisions));
    const log = await stores.conversations.get('t-rag', result.conversationId);
    assert.match(log?.turns[0]?.messages[0]?.content ?? '', /excerpts of the tenant's documents/);
  });
});
