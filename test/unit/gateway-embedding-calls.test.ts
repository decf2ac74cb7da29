/**
 * Embedding calls budgeted and billed (lib/gateway/embedding-calls.ts) as chat calls are: the worst
 * case reserved before the call, settled to the exact input tokens of the model that answered (its
 * tokenizer, its prices), a `gateway.billing` entry per call, nothing charged when the budget refuses
 * or the call fails; and the pipeline's embeddings (a document ingest, a retrieval query, an
 * arbitration) each billed, with a chat reply's usage and cost including them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Payload } from '../../lib/audit/schemas.ts';
import { BudgetExceededError, budgetFromInput, tokenPrices } from '../../lib/gateway/budgets.ts';
import { BILLING_STREAM } from '../../lib/gateway/conversation-log.ts';
import { ingestDocuments } from '../../lib/gateway/documents.ts';
import { EmbeddingCalls, type EmbeddingDeps, meteredEmbed, type RoutedEmbed } from '../../lib/gateway/embedding-calls.ts';
import { chat } from '../../lib/gateway/engine.ts';
import type { ModelConfig } from '../../lib/gateway/models.ts';
import { tokenizer } from '../../lib/gateway/tokenizer.ts';
import { caller, gatewayTestDeps, localModels } from '../helpers/gateway.ts';

const embedModel = localModels.find((model) => model.name === 'standin-embed') as ModelConfig;
const texts = ['Restart the payment service pods one at a time.', 'Rotate the database password: create, update, revoke.'];

/** The tenant's billing entries' payloads. */
async function bills(stores: ReturnType<typeof gatewayTestDeps>['stores'], tenant: string): Promise<Payload[]> {
  const payloads = await Promise.all(
    stores.ledger.ledger.entries(tenant, BILLING_STREAM).map((entry) => stores.ledger.payload(tenant, entry.payloadHash)),
  );
  return payloads.filter((payload): payload is Payload => payload !== undefined);
}

const sumCost = (payloads: readonly Payload[]) => payloads.reduce((sum, bill) => sum + BigInt(String(bill.costPicoUsd)), 0n);

describe('a metered embedding call', () => {
  it("reserves, settles and bills the texts' tokens by the embedding model's tokenizer, exactly", async () => {
    const { deps, stores } = gatewayTestDeps();
    const who = caller('t-embed');
    const outcome = await meteredEmbed(
      { model: 'standin-embed', texts, requestId: 'req-1.e1', purpose: 'retrieval' },
      who,
      deps as EmbeddingDeps,
    );
    const approx = await tokenizer(embedModel.tokenizer);
    const tokens = texts.reduce((sum, text) => sum + approx.count(text), 0);
    assert.equal(outcome.vectors.length, 2);
    assert.deepEqual(outcome.usage, { inputTokens: tokens, outputTokens: 0 });
    // standin-embed: 0.00002 USD per 1,000 input tokens = 20,000 pUSD per token.
    assert.equal(tokenPrices(embedModel).inputPicoUsdPerToken, 20_000n);
    assert.equal(outcome.costPicoUsd, BigInt(tokens) * 20_000n);
    const usage = await stores.budgets.usage('t-embed');
    assert.deepEqual([usage.spent.tokens, usage.spent.costPicoUsd, usage.reserved.tokens], [tokens, outcome.costPicoUsd, 0]);
    const [bill, ...more] = await bills(stores, 't-embed');
    assert.deepEqual(more, []);
    assert.deepEqual(
      { ...bill },
      {
        kind: 'gateway.billing',
        requestId: 'req-1.e1',
        operation: 'embed',
        purpose: 'retrieval',
        texts: 2,
        model: 'standin-embed',
        tokenizer: 'approx',
        inputTokens: tokens,
        outputTokens: 0,
        priceInputPer1k: 0.00002,
        priceOutputPer1k: 0,
        costPicoUsd: outcome.costPicoUsd.toString(),
        costUsd: Number(outcome.costPicoUsd) / 1e12,
        finishReason: 'embedded',
      },
    );
    assert.equal(stores.ledger.ledger.entries('t-embed', BILLING_STREAM)[0]?.correlationId, who.correlationId);
  });

  it('is refused with 429 before the model is called when the budget cannot cover the input, and nothing is charged', async () => {
    const { deps, stores } = gatewayTestDeps();
    await stores.budgets.putBudget('t-poor', budgetFromInput({ tokens: 5, costUsd: 1, window: 'day' }), 'admin');
    let called = 0;
    const embed: RoutedEmbed = async (model, batch) => {
      called += 1;
      return { vectors: batch.map(() => [1]), model, hops: [] };
    };
    const refused = await meteredEmbed({ model: 'standin-embed', texts, requestId: 'r.e1', purpose: 'documents' }, caller('t-poor'), {
      ...(deps as EmbeddingDeps),
      embed,
    }).catch((error: unknown) => error);
    assert.ok(refused instanceof BudgetExceededError, String(refused));
    assert.equal(called, 0);
    assert.equal((await stores.budgets.usage('t-poor')).spent.tokens, 0);
    assert.deepEqual(await bills(stores, 't-poor'), []);
  });

  it('releases the reservation and bills nothing when no model embedded the texts', async () => {
    const { deps, stores } = gatewayTestDeps();
    const failing: RoutedEmbed = async () => Promise.reject(new Error('embedding endpoint 503'));
    await assert.rejects(
      meteredEmbed({ model: 'standin-embed', texts, requestId: 'r.e1', purpose: 'documents' }, caller('t-fail'), {
        ...(deps as EmbeddingDeps),
        embed: failing,
      }),
      /503/,
    );
    const usage = await stores.budgets.usage('t-fail');
    assert.deepEqual([usage.spent.tokens, usage.reserved.tokens], [0, 0]);
    assert.deepEqual(await bills(stores, 't-fail'), []);
  });

  it('counts and prices by the model that answered when a fallback embedded the texts', async () => {
    const { deps, stores } = gatewayTestDeps();
    const primary: ModelConfig = { ...embedModel, name: 'embed-primary', fallbacks: ['embed-fallback'], priceInputPer1k: 0.00001 };
    const fallback: ModelConfig = { ...embedModel, name: 'embed-fallback', tokenizer: 'o200k_base', priceInputPer1k: 0.0001 };
    const models = new Map([...deps.models, [primary.name, primary], [fallback.name, fallback]]);
    const embed: RoutedEmbed = async (_model, batch) => ({ vectors: batch.map(() => [1, 0]), model: 'embed-fallback', hops: [] });
    const outcome = await meteredEmbed({ model: 'embed-primary', texts, requestId: 'r.e1', purpose: 'documents' }, caller('t-hop'), {
      ...(deps as EmbeddingDeps),
      models,
      embed,
    });
    const o200k = await tokenizer('o200k_base');
    const tokens = texts.reduce((sum, text) => sum + o200k.count(text), 0);
    assert.deepEqual([outcome.model, outcome.usage.inputTokens], ['embed-fallback', tokens]);
    assert.equal(outcome.costPicoUsd, BigInt(tokens) * 100_000n, "at the fallback's price");
    const [bill] = await bills(stores, 't-hop');
    assert.deepEqual([bill?.model, bill?.tokenizer, bill?.inputTokens], ['embed-fallback', 'o200k_base', tokens]);
    assert.equal((await stores.budgets.usage('t-hop')).spent.costPicoUsd, outcome.costPicoUsd);
  });
});

describe("the pipeline's embeddings", () => {
  it("bills every batch of a document ingest, and the totals are the billing entries'", async () => {
    const { deps, stores } = gatewayTestDeps();
    const { count } = await tokenizer('cl100k_base');
    const calls = new EmbeddingCalls({ requestId: 'doc-1' }, caller('t-docs'), deps);
    const embed = calls.embedder('documents');
    assert.ok(embed);
    // 40 documents: two embedding calls (batches of 32).
    const documents = Array.from({ length: 40 }, (_, i) => ({
      id: `d${i}`,
      text: `Runbook ${i}: restart service ${i} after draining its queue.`,
    }));
    const { chunks } = await ingestDocuments('t-docs', undefined, { documents }, count, new Date(), { model: 'standin-embed', embed });
    const total = calls.total();
    const billed = await bills(stores, 't-docs');
    assert.equal(chunks, 40);
    assert.deepEqual([total.calls, billed.length], [2, 2]);
    assert.deepEqual(
      billed.map((bill) => [bill.requestId, bill.texts, bill.purpose]),
      [
        ['doc-1.e1', 32, 'documents'],
        ['doc-1.e2', 8, 'documents'],
      ],
    );
    const approx = await tokenizer('approx');
    assert.equal(
      total.inputTokens,
      documents.reduce((sum, document) => sum + approx.count(document.text), 0),
    );
    assert.equal(total.costPicoUsd, sumCost(billed));
    assert.equal((await stores.budgets.usage('t-docs')).spent.tokens, total.inputTokens);
  });

  it("bills a chat's retrieval query embedding, names it in the decisions and counts it in the reply's usage and cost", async () => {
    const { deps, stores, embed } = gatewayTestDeps();
    const { count } = await tokenizer('cl100k_base');
    const { index } = await ingestDocuments(
      't-rag',
      undefined,
      { documents: [{ id: 'runbook', text: 'Restarting the payment service: drain the queue, then restart the pods one at a time.' }] },
      count,
      new Date(),
      { model: 'standin-embed', embed },
    );
    await stores.documents.save(index, 0);
    const question = 'How do I restart the payment service?';
    const { result, costPicoUsd } = await chat(
      {
        model: 'standin-a',
        messages: [{ role: 'user', content: question }],
        stream: false,
        debug: false,
        retrieval: { k: 1, quota: 0.25 },
      },
      caller('t-rag'),
      deps,
    );
    const embedding = result.decisions.find((decision) => decision.step === 'embedding');
    const approx = await tokenizer('approx');
    assert.deepEqual(embedding, {
      step: 'embedding',
      purpose: 'retrieval',
      model: 'standin-embed',
      texts: 1,
      inputTokens: approx.count(question),
      costUsd: (approx.count(question) * 20_000) / 1e12,
    });
    const billed = await bills(stores, 't-rag');
    assert.deepEqual(
      billed.map((bill) => bill.operation ?? 'generate'),
      ['embed', 'generate'],
    );
    assert.equal(billed[0]?.conversationId, result.conversationId);
    assert.equal(costPicoUsd, sumCost(billed), "the reply's cost is every bill's");
    const usage = await stores.budgets.usage('t-rag');
    assert.equal(usage.spent.tokens, result.usage.inputTokens + result.usage.outputTokens, "the reply's usage is everything spent");
    assert.equal(usage.spent.costPicoUsd, costPicoUsd);
  });

  it("bills an arbitration's embeddings with its candidates, the reply's usage and cost being every call's", async () => {
    const { deps, stores } = gatewayTestDeps();
    const { result, costPicoUsd } = await chat(
      {
        model: 'standin-a',
        messages: [{ role: 'user', content: 'Why does the cache miss rate rise after each deploy of the web tier?' }],
        arbitrate: { models: ['standin-a', 'standin-b'] },
        stream: false,
        debug: false,
      },
      caller('t-arb'),
      deps,
    );
    const billed = await bills(stores, 't-arb');
    const embeddings = billed.filter((bill) => bill.operation === 'embed');
    assert.ok(embeddings.length >= 1, 'the candidates were embedded and billed');
    assert.ok(embeddings.every((bill) => bill.purpose === 'arbitration' && bill.conversationId === result.conversationId));
    assert.deepEqual(
      result.decisions
        .filter((decision) => decision.step === 'embedding')
        .map((decision) => decision.step === 'embedding' && decision.purpose),
      embeddings.map(() => 'arbitration'),
    );
    assert.equal(costPicoUsd, sumCost(billed));
    const usage = await stores.budgets.usage('t-arb');
    assert.equal(usage.spent.tokens, result.usage.inputTokens + result.usage.outputTokens);
    assert.equal(usage.spent.costPicoUsd, costPicoUsd);
  });
});
