/** /governance/config: quorum per risk level, gate timeouts, change freezes, constitution quorum (GET; PUT by admins). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { governanceOutbox, governanceStore } from '../../lib/adapters/aws/governance-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { busEvent } from '../../lib/events/publisher.ts';
import { getConfigRoute, setConfigRoute } from '../../lib/governance/routes.ts';
import { updateSettings } from '../../lib/governance/settings.ts';

export const handler = engineHandler(
  engineDeps(),
  route(getConfigRoute, async (_params, ctx) => {
    const settings = await governanceStore().settings(ctx.tenant);
    return { result: { config: settings.config, autonomyLevel: settings.autonomyLevel, policyVersion: settings.policyVersion, ...(settings.constitution ? { constitution: settings.constitution } : {}) } };
  }),
  route(setConfigRoute, async (params, ctx) => {
    const actor = ctx.principal?.subject ?? 'unknown';
    const now = ctx.now();
    const { after } = await updateSettings(
      ctx.tenant,
      (current) => {
        const config = { ...current.config, ...params, minApprovals: { ...current.config.minApprovals, ...params.minApprovals } };
        return {
          next: { ...current, config },
          events: [busEvent('governance.config.changed', { tenant: ctx.tenant, config: config as unknown as Record<string, unknown>, actor, changedAt: now.toISOString() })],
        };
      },
      { store: governanceStore(), outbox: governanceOutbox(), now },
    );
    return { result: after.config };
  }),
);
