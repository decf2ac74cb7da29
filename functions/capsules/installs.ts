/**
 * /capsules/installs: install a published version (POST: its guardrails become the capsule's layer
 * of the tenant's policy set, its budget recorded), uninstall (DELETE), list the tenant's installs (GET).
 */
import { callerOf, capsuleStore, installDeps } from '../../lib/adapters/aws/capsule-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { installCapsule, uninstallCapsule } from '../../lib/capsules/marketplace.ts';
import { installRoute, listInstallsRoute, uninstallRoute } from '../../lib/capsules/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(installRoute, async (params, ctx) => {
    const { install, ledger } = await installCapsule(ctx.tenant, params, callerOf(ctx.principal), installDeps(ctx.now()));
    ctx.log(`${install.name} ${install.version} installed; policy set v${install.policyVersion}`);
    return { result: install, ...(ledger ? { ledger } : {}) };
  }),
  route(uninstallRoute, async (params, ctx) => {
    const { install, ledger } = await uninstallCapsule(ctx.tenant, params.name, callerOf(ctx.principal), installDeps(ctx.now()));
    ctx.log(`${install.name} ${install.version} uninstalled; policy set v${install.policyVersion}`);
    return { result: install, ...(ledger ? { ledger } : {}) };
  }),
  route(listInstallsRoute, async (_params, ctx) => ({ result: { installs: await capsuleStore().installs(ctx.tenant) } })),
);
