/**
 * Cedar on every state-changing route in a deployed function: the route gate
 * (lib/governance/route-gate.ts) reading the tenant's settings (`<tenant>#governance` / `settings`)
 * and policy sets (`<tenant>#governance#policies`) from the state table, publishing break-glass
 * uses on the stage's bus.
 *
 * It loads Cedar's wasm: lib/adapters/aws/engine-deps.ts imports this module lazily, so functions
 * that serve reads only never load it.
 */
import type { RoutePolicyGate } from '../../api/engine-handler.ts';
import { config } from '../../config.ts';
import { policyGate } from '../../governance/route-gate.ts';
import { eventBridgeClient } from './clients.ts';
import { eventBridgePublisher } from './event-publisher.ts';
import { governanceStore, policyEngine, policyVersions } from './governance-deps.ts';

/** The stage's route gate (built once per container by lib/adapters/aws/engine-deps.ts). */
export function stagePolicyGate(): RoutePolicyGate {
  return policyGate({
    settings: governanceStore(),
    policies: policyVersions(),
    engine: policyEngine(),
    publisher: eventBridgePublisher(eventBridgeClient(), { busName: config().EVENT_BUS_NAME }),
    now: Date.now,
  });
}
