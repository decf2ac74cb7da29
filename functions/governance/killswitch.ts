/**
 * /governance/killswitch: the tenant's kill switch (PUT by admins) and the global one (PUT with
 * scope `global`, by an admin of the `system` operator). Every change is recorded and announced.
 */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { governanceOutbox, governanceStore } from '../../lib/adapters/aws/governance-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { ForbiddenError } from '../../lib/errors.ts';
import { busEvent } from '../../lib/events/publisher.ts';
import { getKillSwitchRoute, setKillSwitchRoute } from '../../lib/governance/routes.ts';
import { updateSettings } from '../../lib/governance/settings.ts';

/** The tenant of the platform's operator, whose admins hold the global switch. */
const OPERATOR_TENANT = 'operator';

export const handler = engineHandler(
  engineDeps(),
  route(getKillSwitchRoute, async (_params, ctx) => {
    const store = governanceStore();
    const [settings, global] = await Promise.all([store.settings(ctx.tenant), store.globalKillSwitch()]);
    return { result: { ...(settings.killSwitch ? { tenant: settings.killSwitch } : {}), ...(global ? { global } : {}) } };
  }),
  route(setKillSwitchRoute, async (params, ctx) => {
    if (params.scope === 'global' && ctx.tenant !== OPERATOR_TENANT) throw new ForbiddenError(`Only admins of the '${OPERATOR_TENANT}' tenant (the system operator) may set the global kill switch`);
    const actor = ctx.principal?.subject ?? 'unknown';
    const now = ctx.now();
    const killSwitch = { enabled: params.enabled, reason: params.reason, by: actor, at: now.toISOString() };
    // The global switch lives in the `system` tenant's settings; its event is recorded there.
    const owner = params.scope === 'global' ? 'system' : ctx.tenant;
    await updateSettings(
      owner,
      (current) => ({
        next: { ...current, killSwitch },
        events: [busEvent('governance.killswitch.changed', { tenant: owner, scope: params.scope, enabled: params.enabled, reason: params.reason, actor, changedAt: killSwitch.at })],
      }),
      { store: governanceStore(), outbox: governanceOutbox(), now },
    );
    ctx.log(`${params.scope} kill switch ${params.enabled ? 'on' : 'off'}: ${params.reason}`);
    return { result: { scope: params.scope, killSwitch } };
  }),
);
