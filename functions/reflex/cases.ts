/** /reflex/cases: the case base (GET) and, for one cluster, its record per playbook. */

import { dynamoClient } from '../../lib/adapters/aws/clients.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { dynamoCaseStore } from '../../lib/adapters/aws/reflex-store.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { config } from '../../lib/config.ts';
import { clusterRecord } from '../../lib/reflex/cases.ts';
import { getCasesRoute } from '../../lib/reflex/routes.ts';

const store = dynamoCaseStore(dynamoClient(), config().STATE_TABLE);

export const handler = engineHandler(
  engineDeps(),
  route(getCasesRoute, async (params, ctx) => {
    const cases = await store.cases(ctx.tenant, params.limit);
    if (!params.cluster) return { result: { cases } };
    const stats = await store.clusterStats(ctx.tenant, params.cluster);
    return { result: { cases, cluster: { cluster: params.cluster, playbooks: clusterRecord(stats) } } };
  }),
);
