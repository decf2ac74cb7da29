/**
 * The route gate (lib/api/engine-handler.ts, `RoutePolicyGate`) over its ports: the tenant's policy
 * version from its governance settings, kept for at most {@link SETTINGS_TTL_MS} per container, that
 * version's layers (immutable), the stage's Cedar engine deciding `METHOD /path` for the caller; a
 * break-glass use is published as `governance.breakglass.used`, which the audit appender records in
 * the ledger. lib/adapters/aws/policy-gate.ts wires it to DynamoDB and EventBridge.
 */
import type { BreakGlassUse, RoutePolicyGate } from '../api/engine-handler.ts';
import { busEvent, type EventPublisher } from '../events/publisher.ts';
import type { PolicyEngine } from './policy.ts';
import { LOCKDOWN_LAYERS, type PolicySetStore } from './policy-sets.ts';
import type { GovernanceStore } from './proposals.ts';
import { proposerOf } from './proposer.ts';

/** How long a tenant's policy version is trusted in a container: a published version applies everywhere within this. */
export const SETTINGS_TTL_MS = 1_000;
/** Tenants whose version a container keeps. */
const MAX_CACHED_TENANTS = 1_000;

/** What the gate reads and publishes through. */
export interface PolicyGateDeps {
  settings: Pick<GovernanceStore, 'settings'>;
  policies: Pick<PolicySetStore, 'layers'>;
  engine: Pick<PolicyEngine, 'evaluateRoute'>;
  publisher: EventPublisher;
  /** Milliseconds since the epoch (the cache's clock). */
  now: () => number;
}

/**
 * The route gate over the given ports (build it once per container: it keeps the versions it
 * read). A version whose set is not stored (deleted by hand) denies everything but break-glass
 * ({@link LOCKDOWN_LAYERS}): fail closed.
 *
 * @example
 * const gate = policyGate({ settings: store, policies: versions, engine, publisher, now: Date.now });
 * const decision = await gate.check(principal, 'PUT', '/observation/config');
 */
export function policyGate(deps: PolicyGateDeps): RoutePolicyGate {
  const versions = new Map<string, { version: number; readAt: number }>();
  async function policyVersion(tenant: string): Promise<number> {
    const cached = versions.get(tenant);
    if (cached && deps.now() - cached.readAt < SETTINGS_TTL_MS) return cached.version;
    const readAt = deps.now();
    const { policyVersion: version } = await deps.settings.settings(tenant);
    if (versions.size >= MAX_CACHED_TENANTS) versions.clear();
    versions.set(tenant, { version, readAt });
    return version;
  }
  return {
    async check(principal, method, path) {
      const version = await policyVersion(principal.tenant);
      const layers = version === 0 ? undefined : ((await deps.policies.layers(principal.tenant, version)) ?? LOCKDOWN_LAYERS);
      // A token may name a role more than once; Cedar sees each role once (a set).
      const caller = { ...proposerOf(principal), roles: [...new Set(principal.roles)] };
      return deps.engine.evaluateRoute(layers, version, { principal: caller, tenant: principal.tenant, method, path });
    },
    async breakGlassUsed(use: BreakGlassUse) {
      await deps.publisher.publish([
        busEvent('governance.breakglass.used', {
          tenant: use.principal.tenant,
          actor: use.principal.subject,
          method: use.method,
          path: use.path,
          policies: use.decision.policies,
          policyVersion: use.decision.version,
          correlationId: use.correlationId,
          usedAt: use.at.toISOString(),
        }),
      ]);
    },
  };
}
