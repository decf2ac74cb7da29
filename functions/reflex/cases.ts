/** /reflex/cases: the case base (GET) and, for one cluster, its record per playbook. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { reflexDeps } from '../../lib/adapters/aws/reflex-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { clusterRecord } from '../../lib/reflex/cases.ts';
import { getCasesRoute } from '../../lib/reflex/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(getCasesRoute, async (params, ctx) => {
    const deps = reflexDeps(ctx.now());
    const cases = await deps.cases.cases(ctx.tenant, params.limit);
    if (!params.cluster) return { result: { cases } };
    const stats = await deps.cases.clusterStats(ctx.tenant, params.cluster);
    return { result: { cases, cluster: { cluster: params.cluster, playbooks: clusterRecord(stats) } } };
  }),
);
