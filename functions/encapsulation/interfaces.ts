/** POST /encapsulation/interfaces: expose a module's interface (an L3 proposal, then, once approved, a Versioning tag). */
import { encapsulationDeps } from '../../lib/adapters/aws/encapsulation-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { exposeInterface } from '../../lib/encapsulation/engine.ts';
import { interfacesRoute } from '../../lib/encapsulation/routes.ts';
import { ForbiddenError } from '../../lib/errors.ts';
import { proposerOf } from '../../lib/governance/proposer.ts';

export const handler = engineHandler(
  engineDeps(),
  route(interfacesRoute, async (params, ctx) => {
    if (!ctx.principal) throw new ForbiddenError('Exposing an interface needs an authenticated caller');
    // The gate's L3 validation is awaited while the function has time for it (else 202: a later call finishes it).
    const deps = { ...encapsulationDeps(ctx.now()), gateWaitMs: Math.max(0, Math.min(20_000, ctx.remainingMs() - 6_000)) };
    const { statusCode, exposure } = await exposeInterface(ctx.tenant, params, proposerOf(ctx.principal), deps);
    ctx.log(
      `${exposure.artifact}: ${exposure.status}${exposure.version ? ` ${exposure.version} (${exposure.bump}${exposure.breaking ? ', breaking' : ''})` : ''}, proposal ${exposure.proposal.proposalId} ${exposure.proposal.route ?? ''} ${exposure.proposal.status}`,
    );
    return { statusCode, result: exposure };
  }),
);
