/** The Versioning engine's ports in a deployed function, built once per container: its store, governance's outbox and proposal path. */
import { config } from '../../config.ts';
import type { VersioningDeps, VersioningStore } from '../../versioning/ports.ts';
import { dynamoClient, s3Client } from './clients.ts';
import { governanceOutbox, proposalDeps } from './governance-deps.ts';
import { dynamoVersioningStore } from './versioning-store.ts';

let store: VersioningStore | undefined;

/** Versioning's store on the state table and the artifacts bucket. */
export function versioningStore(): VersioningStore {
  store ??= dynamoVersioningStore(dynamoClient(), s3Client(), config().STATE_TABLE, config().ARTIFACTS_BUCKET);
  return store;
}

/** What tagging, gating and promotability need, at `now`. */
export function versioningDeps(now: Date): VersioningDeps {
  const { newId: _newId, now: _now, ...governance } = proposalDeps(now);
  return { store: versioningStore(), outbox: governanceOutbox(), governance, now: () => now };
}
