/** /governance/autonomy: the tenant's autonomy level (GET; PUT by admins, recorded and announced). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { governanceOutbox, governanceStore } from '../../lib/adapters/aws/governance-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { busEvent } from '../../lib/events/publisher.ts';
import { getAutonomyRoute, setAutonomyRoute } from '../../lib/governance/routes.ts';
import { updateSettings } from '../../lib/governance/settings.ts';

export const handler = engineHandler(
  engineDeps(),
  route(getAutonomyRoute, async (_params, ctx) => ({ result: { level: (await governanceStore().settings(ctx.tenant)).autonomyLevel } })),
  route(setAutonomyRoute, async (params, ctx) => {
    const actor = ctx.principal?.subject ?? 'unknown';
    const now = ctx.now();
    const { before } = await updateSettings(
      ctx.tenant,
      (current) => ({
        next: { ...current, autonomyLevel: params.level },
        events: [busEvent('governance.autonomy.changed', { tenant: ctx.tenant, from: current.autonomyLevel, to: params.level, actor, changedAt: now.toISOString() })],
      }),
      { store: governanceStore(), outbox: governanceOutbox(), now },
    );
    ctx.log(`autonomy level ${before.autonomyLevel} → ${params.level}`);
    return { result: { level: params.level, previous: before.autonomyLevel } };
  }),
);
