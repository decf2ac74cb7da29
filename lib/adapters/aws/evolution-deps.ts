/** The Evolution engine's ports in a deployed function, built once per container: its store, governance's outbox and proposal path. */
import { config } from '../../config.ts';
import type { EvolutionDeps, EvolutionStore } from '../../evolution/ports.ts';
import { dynamoClient } from './clients.ts';
import { dynamoEvolutionStore } from './evolution-store.ts';
import { governanceOutbox, proposalDeps } from './governance-deps.ts';

let store: EvolutionStore | undefined;

/** Evolution's store on the state table. */
export function evolutionStore(): EvolutionStore {
  store ??= dynamoEvolutionStore(dynamoClient(), config().STATE_TABLE);
  return store;
}

/** What deciding needs, at `now`. */
export function evolutionDeps(now: Date): EvolutionDeps {
  const { newId: _newId, now: _now, ...governance } = proposalDeps(now);
  return { store: evolutionStore(), outbox: governanceOutbox(), governance, now: () => now };
}
