/**
 * The Reflex engine's ports in a deployed function, built once per container: the registry,
 * incidents and case base on the state table, Observation's series, governance's outbox (ledger and
 * bus) and its proposal path.
 */
import { config } from '../../config.ts';
import { type ReflexDeps, SERIES_POINTS } from '../../reflex/incidents.ts';
import type { RegistryStore } from '../../reflex/registry.ts';
import { dynamoClient } from './clients.ts';
import { governanceOutbox, proposalDeps } from './governance-deps.ts';
import { dynamoCaseStore, dynamoIncidentStore, dynamoRegistryStore, dynamoSeriesPoints } from './reflex-store.ts';

let registry: RegistryStore | undefined;
let stores: Pick<ReflexDeps, 'incidents' | 'cases' | 'series'> | undefined;

/** The component registry. */
export function registryStore(): RegistryStore {
  registry ??= dynamoRegistryStore(dynamoClient(), config().STATE_TABLE);
  return registry;
}

/** What the Reflex loop needs, at `now`. */
export function reflexDeps(now: Date): ReflexDeps {
  const table = config().STATE_TABLE;
  stores ??= {
    incidents: dynamoIncidentStore(dynamoClient(), table),
    cases: dynamoCaseStore(dynamoClient(), table),
    series: dynamoSeriesPoints(dynamoClient(), table, SERIES_POINTS),
  };
  return { ...stores, registry: registryStore(), outbox: governanceOutbox(), governance: proposalDeps(now), now };
}
