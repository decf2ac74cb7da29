/**
 * The Capsules engine's ports in a deployed function, built once per container: its state and the
 * bundles' bytes, the catalogs the automated review checks against (the route registry's MCP tools,
 * the stage's models, the stage's Cedar schema), governance's proposal path in process, and the
 * tenants' policy sets (read and published in process, as governance's policies function does).
 */
import { randomUUID } from 'node:crypto';
import modelsFile from '../../../infra/gateway/models.json' with { type: 'json' };
import type { Principal } from '../../auth/principal.ts';
import type { InstallDeps, MarketplaceDeps, SettleDeps, SubmitDeps, TenantPolicies } from '../../capsules/marketplace.ts';
import type { BundleObjects, CapsuleStore } from '../../capsules/ports.ts';
import { type ToolCatalog, toolCatalog } from '../../capsules/review.ts';
import { config } from '../../config.ts';
import { engines } from '../../engines/index.ts';
import { stageModels } from '../../gateway/models.ts';
import { currentPolicies, publishPolicies } from '../../governance/policy-sets.ts';
import { propose, reportOutcome } from '../../governance/proposals.ts';
import { routeTools } from '../../mcp/tools.ts';
import { dynamoCapsuleStore, s3BundleObjects } from './capsule-store.ts';
import { dynamoClient, s3Client } from './clients.ts';
import { governanceOutbox, governanceStore, policyEngine, policyVersions, proposalDeps } from './governance-deps.ts';

let store: CapsuleStore | undefined;
let objects: BundleObjects | undefined;
let tools: ToolCatalog | undefined;
let policies: TenantPolicies | undefined;

/** The engine's state on the state table. */
export function capsuleStore(): CapsuleStore {
  store ??= dynamoCapsuleStore(dynamoClient(), config().STATE_TABLE);
  return store;
}

/** Bundles' bytes in the artifacts bucket. */
export function bundleObjects(): BundleObjects {
  objects ??= s3BundleObjects(s3Client(), config().ARTIFACTS_BUCKET);
  return objects;
}

/** What every step needs, at `now`. */
export function marketplaceDeps(now: Date): MarketplaceDeps {
  return { store: capsuleStore(), outbox: governanceOutbox(), now };
}

/** What submitting needs, at `now`: the review's catalogs and governance's `propose` in process. */
export function submitDeps(now: Date): SubmitDeps {
  tools ??= toolCatalog(routeTools(engines));
  const governance = proposalDeps(now);
  return {
    ...marketplaceDeps(now),
    objects: bundleObjects(),
    tools,
    models: stageModels(modelsFile, config().STAGE).map((model) => model.name),
    cedarSchema: policyEngine().schema,
    propose: (input, proposer) => propose(input, proposer, governance),
    newId: randomUUID,
  };
}

/** What settling a publication needs, at `now`. */
export function settleDeps(now: Date): SettleDeps {
  return {
    ...marketplaceDeps(now),
    proposals: governanceStore(),
    reportOutcome: (tenant, input, actor) =>
      reportOutcome(tenant, input, actor, { store: governanceStore(), outbox: governanceOutbox(), now }),
  };
}

/** The tenants' policy sets, read and published in process. */
function tenantPolicies(): TenantPolicies {
  if (policies) return policies;
  const versions = policyVersions();
  policies = {
    async current(tenant) {
      const { policyVersion, layers } = await currentPolicies(tenant, {
        store: governanceStore(),
        policies: versions,
        schema: policyEngine().schema,
      });
      return { policyVersion, layers };
    },
    publish(tenant, layers, by) {
      return publishPolicies(
        tenant,
        layers,
        { actor: by.actor, breakGlass: false, basedOn: by.basedOn },
        {
          store: governanceStore(),
          outbox: governanceOutbox(),
          policies: versions,
          schema: policyEngine().schema,
          now: new Date(),
        },
      );
    },
  };
  return policies;
}

/** What installing and uninstalling need, at `now`. */
export function installDeps(now: Date): InstallDeps {
  return { ...marketplaceDeps(now), objects: bundleObjects(), policies: tenantPolicies() };
}

/** The caller of an engine route (its credentials were checked before the route ran). */
export function callerOf(principal: Principal | undefined): Principal {
  if (!principal) throw new Error('capsule routes are protected: a principal is always set');
  return principal;
}
