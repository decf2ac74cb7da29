/** POST /compression/compress: fit a context to a budget, its lineage in the ledger; critical items only through a proposal. */
import { compressionDeps } from '../../lib/adapters/aws/compression-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { compressContext } from '../../lib/compression/engine.ts';
import { compressRoute } from '../../lib/compression/routes.ts';
import { proposerOf } from '../../lib/governance/proposer.ts';

export const handler = engineHandler(
  engineDeps(),
  route(compressRoute, async (params, ctx) => {
    if (!ctx.principal) throw new Error('compression routes are protected');
    const { ledger, ...result } = await compressContext(params, proposerOf(ctx.principal), compressionDeps(ctx.now()));
    ctx.log(`compression ${result.compressionId}: ${result.status}, ${result.tokensIn} → ${result.tokensOut} tokens`);
    return {
      result,
      ...(ledger ? { ledger } : {}),
      ...(result.status === 'needs-approval' ? { statusCode: 202, status: 'pending' as const } : {}),
    };
  }),
);
