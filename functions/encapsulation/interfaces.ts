/** POST /encapsulation/interfaces: expose a module's interface (an L3 proposal, then a Versioning tag). */
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
    const exposure = await exposeInterface(ctx.tenant, params, proposerOf(ctx.principal), encapsulationDeps(ctx.now()));
    ctx.log(
      `${exposure.artifact} ${exposure.version} (${exposure.bump}${exposure.breaking ? ', breaking' : ''}), proposal ${exposure.proposal.proposalId} ${exposure.proposal.route} ${exposure.proposal.status}`,
    );
    return { statusCode: 201, result: exposure };
  }),
);
