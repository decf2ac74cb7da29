/**
 * POST /governance/policies/simulate: replays the tenant's newest recorded proposal decisions (from
 * the ledger) against a candidate policy set and lists those it would change. Nothing is stored.
 */
import { auditLedger, auditPayloads } from '../../lib/adapters/aws/audit-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { policyEngine } from '../../lib/adapters/aws/governance-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { simulatePoliciesRoute } from '../../lib/governance/policy-routes.ts';
import { simulatePolicies } from '../../lib/governance/policy-sets.ts';

export const handler = engineHandler(
  engineDeps(),
  route(simulatePoliciesRoute, async (params, ctx) => {
    const result = await simulatePolicies(ctx.tenant, params.policies, params.limit, {
      ledger: auditLedger(),
      payloads: auditPayloads(),
      engine: policyEngine(),
      remainingMs: ctx.remainingMs,
    });
    ctx.log(
      `${result.evaluated} recorded decisions replayed (${result.scanned} ledger entries read), ${result.changed.length} would change, ${result.skipped.length} skipped`,
    );
    return { result };
  }),
);
