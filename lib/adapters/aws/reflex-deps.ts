/**
 * The Reflex engine's ports in a deployed function, built once per container: the registry,
 * incidents and case base on the state table, Observation's series, governance's outbox (ledger and
 * bus) and its proposal path; for the self-repair loop, the tenants' settings, governance's gate
 * waits, the series' health, the Execution engine and the loop's state machine.
 */
import { config } from '../../config.ts';
import { type ReflexDeps, SERIES_POINTS } from '../../reflex/incidents.ts';
import type { ActDeps, GateDeps, LoopDeps, LoopStarter, SeriesHealthPort } from '../../reflex/loop.ts';
import type { RegistryStore } from '../../reflex/registry.ts';
import type { LoopConfigStore } from '../../reflex/settings.ts';
import { dynamoClient, sfnClient } from './clients.ts';
import { gateWaitDeps } from './gate-waits.ts';
import { approvalStore, governanceOutbox, governanceStore, proposalDeps } from './governance-deps.ts';
import { dynamoLoopConfigStore, dynamoSeriesHealth, sfnLoopStarter } from './reflex-loop.ts';
import { dynamoCaseStore, dynamoIncidentStore, dynamoRegistryStore, dynamoSeriesPoints } from './reflex-store.ts';

let registry: RegistryStore | undefined;
let stores: Pick<ReflexDeps, 'incidents' | 'cases' | 'series'> | undefined;

/** The component registry. */
export function registryStore(): RegistryStore {
  registry ??= dynamoRegistryStore(dynamoClient(), config().STATE_TABLE);
  return registry;
}

/** Reflex's own stores: incidents, cases, series points. */
export function reflexStores(): Pick<ReflexDeps, 'incidents' | 'cases' | 'series'> {
  const table = config().STATE_TABLE;
  stores ??= {
    incidents: dynamoIncidentStore(dynamoClient(), table),
    cases: dynamoCaseStore(dynamoClient(), table),
    series: dynamoSeriesPoints(dynamoClient(), table, SERIES_POINTS),
  };
  return stores;
}

/** What the Reflex loop needs, at `now`. */
export function reflexDeps(now: Date): ReflexDeps {
  return { ...reflexStores(), registry: registryStore(), outbox: governanceOutbox(), governance: proposalDeps(now), now };
}

let loopConfig: LoopConfigStore | undefined;
let starter: LoopStarter | undefined;
let health: SeriesHealthPort | undefined;

/** The tenants' self-repair settings. */
export function loopConfigStore(): LoopConfigStore {
  loopConfig ??= dynamoLoopConfigStore(dynamoClient(), config().STATE_TABLE);
  return loopConfig;
}

/** What the loop's diagnose and record steps need, at `now`. */
export function loopDeps(now: Date): LoopDeps {
  return { reflex: reflexDeps(now), config: loopConfigStore(), now };
}

/** What the loop's gate steps need (waiting for a proposal, resuming on its decision), at `now`. */
export function gateDeps(now: Date): GateDeps {
  return {
    gate: gateWaitDeps(now),
    store: governanceStore(),
    outbox: governanceOutbox(),
    approvals: approvalStore(),
    approvalOutbox: governanceOutbox(),
    incidents: reflexStores().incidents,
    now,
  };
}

/** What the loop's verify step needs: Reflex's incidents and Observation's series health. */
export function watchDeps(): Omit<ActDeps, 'execution'> {
  health ??= dynamoSeriesHealth(dynamoClient(), config().STATE_TABLE);
  return { incidents: reflexStores().incidents, series: health, now: () => new Date() };
}

/**
 * Starts self-repair loops.
 * @throws Error when the function has no SELF_REPAIR_STATE_MACHINE_ARN (its manifest lacks the start-executions need).
 */
export function loopStarter(): LoopStarter {
  const arn = config().SELF_REPAIR_STATE_MACHINE_ARN;
  if (!arn) throw new Error('SELF_REPAIR_STATE_MACHINE_ARN is not set (lib/reflex/manifest.ts: the self-repair start-executions need)');
  starter ??= sfnLoopStarter(sfnClient(), arn);
  return starter;
}
