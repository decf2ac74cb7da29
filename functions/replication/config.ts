/** PUT /replication/config: a component's scaling configuration (operators, admins). */
import { dynamoClient } from '../../lib/adapters/aws/clients.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { dynamoReplicationStore } from '../../lib/adapters/aws/replication-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { config } from '../../lib/config.ts';
import { putConfig } from '../../lib/replication/engine.ts';
import { putConfigRoute } from '../../lib/replication/routes.ts';

const store = dynamoReplicationStore(dynamoClient(), config().STATE_TABLE);

export const handler = engineHandler(
  engineDeps(),
  route(putConfigRoute, async (params, ctx) => {
    const record = await putConfig(ctx.tenant, params, ctx.principal?.subject ?? 'unknown', { store, now: () => ctx.now() });
    ctx.log(`replication of ${record.component}: configuration v${record.version}`);
    return { result: { component: record.component, version: record.version, updatedAt: record.updatedAt } };
  }),
);
