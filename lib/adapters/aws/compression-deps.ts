/** The Compression engine's ports in a deployed function, built once per container. */
import { randomUUID } from 'node:crypto';
import type { CompressionDeps, CompressionStore } from '../../compression/engine.ts';
import { config } from '../../config.ts';
import { tokenizer } from '../../gateway/tokenizer.ts';
import { propose } from '../../governance/proposals.ts';
import { dynamoClient } from './clients.ts';
import { dynamoCompressionStore } from './compression-store.ts';
import { governanceOutbox, governanceStore, proposalDeps } from './governance-deps.ts';

let store: CompressionStore | undefined;

/** The engine's state. */
export function compressionStore(): CompressionStore {
  store ??= dynamoCompressionStore(dynamoClient(), config().STATE_TABLE);
  return store;
}

/** What the actions need, at `now`. */
export function compressionDeps(now: Date): CompressionDeps {
  return {
    store: compressionStore(),
    outbox: governanceOutbox(),
    now,
    newId: randomUUID,
    counter: async (family) => {
      const tok = await tokenizer(family);
      return (text) => tok.count(text);
    },
    propose: (input, proposer) => propose(input, proposer, proposalDeps(now)),
    proposal: (tenant, proposalId) => governanceStore().proposal(tenant, proposalId),
  };
}
