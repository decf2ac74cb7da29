/**
 * /governance/policies: the tenant's Cedar policy set (GET), and a new version of it (PUT by
 * admins: validated against the stage's schema, stored, made current, its hash in the ledger). A
 * document without `capsules` keeps the installed capsules' layers of the current version.
 */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { governanceOutbox, governanceStore, policyEngine, policyVersions } from '../../lib/adapters/aws/governance-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { getPoliciesRoute, putPoliciesRoute } from '../../lib/governance/policy-routes.ts';
import { currentPolicies, publishPolicies } from '../../lib/governance/policy-sets.ts';
import { BASE_PROFILE } from '../../lib/governance/profiles.ts';

const versions = policyVersions();

export const handler = engineHandler(
  engineDeps(),
  route(getPoliciesRoute, async (_params, ctx) => {
    const current = await currentPolicies(ctx.tenant, { store: governanceStore(), policies: versions, schema: policyEngine().schema });
    return { result: { ...current, base: BASE_PROFILE } };
  }),
  route(putPoliciesRoute, async (params, ctx) => {
    const actor = ctx.principal?.subject ?? 'unknown';
    // Installed capsules' layers are written by install and uninstall: a document that leaves them out keeps them.
    const current =
      params.policies.capsules === undefined
        ? await currentPolicies(ctx.tenant, { store: governanceStore(), policies: versions, schema: policyEngine().schema })
        : undefined;
    const policies = current?.layers.capsules === undefined ? params.policies : { ...params.policies, capsules: current.layers.capsules };
    const outcome = await publishPolicies(
      ctx.tenant,
      policies,
      {
        actor,
        breakGlass: ctx.policy?.breakGlass ?? false,
        ...(current?.layers.capsules === undefined ? {} : { basedOn: current.policyVersion }),
      },
      { store: governanceStore(), outbox: governanceOutbox(), policies: versions, schema: policyEngine().schema, now: ctx.now() },
    );
    ctx.log(
      `policy set v${outcome.previousVersion} → v${outcome.policyVersion} (${outcome.policyIds.length} policies, ${outcome.hash.slice(0, 12)}…)`,
    );
    return { result: outcome };
  }),
);
