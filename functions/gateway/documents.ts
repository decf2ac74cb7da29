/**
 * /gateway/documents: adds or replaces documents of the tenant's retrieval index; every embedding call
 * it makes is reserved, settled and billed (lib/gateway/embedding-calls.ts).
 */
import { randomUUID } from 'node:crypto';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { gatewayDeps, gatewayDocuments } from '../../lib/adapters/aws/gateway-deps.ts';
import { gatewayModels } from '../../lib/adapters/aws/model-backends.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { config } from '../../lib/config.ts';
import { usdNumber } from '../../lib/gateway/budgets.ts';
import { ingestDocuments } from '../../lib/gateway/documents.ts';
import { EmbeddingCalls } from '../../lib/gateway/embedding-calls.ts';
import { documentsRoute } from '../../lib/gateway/routes.ts';
import { tokenizer } from '../../lib/gateway/tokenizer.ts';

export const handler = engineHandler(
  engineDeps(),
  route(documentsRoute, async (params, ctx) => {
    const store = gatewayDocuments();
    const current = await store.current(ctx.tenant);
    // Chunks are sized with cl100k_base; chat counts them again with the reading model's tokenizer.
    const { count } = await tokenizer('cl100k_base');
    const embedModel = gatewayModels(config().STAGE).models.find((model) => model.embeddings)?.name;
    const calls = new EmbeddingCalls(
      { requestId: `doc-${randomUUID()}` },
      { tenant: ctx.tenant, actor: ctx.principal?.subject ?? 'unknown', correlationId: ctx.correlationId },
      gatewayDeps(),
    );
    const embed = calls.embedder('documents');
    const { index, chunks } = await ingestDocuments(
      ctx.tenant,
      current?.index,
      params,
      count,
      ctx.now(),
      embedModel && embed ? { model: embedModel, embed } : undefined,
    );
    const version = await store.save(index, current?.version ?? 0);
    const spent = calls.total();
    ctx.log(
      `${params.documents.length} documents, ${chunks} chunks; index v${version}; ${spent.calls} embedding calls, ${spent.inputTokens} tokens`,
    );
    return {
      result: {
        documents: params.documents.length,
        chunks,
        totalDocuments: Object.keys(index.documents).length,
        totalChunks: Object.keys(index.chunks).length,
        embedModel: index.embedModel ?? null,
        version,
        embedding: { calls: spent.calls, inputTokens: spent.inputTokens, costUsd: usdNumber(spent.costPicoUsd) },
      },
    };
  }),
);
