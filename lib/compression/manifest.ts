/**
 * The Compression engine: fits agents' contexts to token budgets with their lineage in the ledger;
 * critical items go only through a governance proposal; Loop 3 tunes the settings from answer-found
 * feedback. State-table items by partition-key prefix: <tenant>#compression (settings, effectiveness,
 * runs), #outbox (events saved with the state they report). Proposing reads and writes what
 * governance's proposals function does.
 */
import { defineEngine, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { compressRoute, configRoute, feedbackRoute, statusRoute } from './routes.ts';

const STATE = '*#compression';

/** `propose()` in process: what governance's proposals function needs (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  // The blast radius: the target's dependents in the Reflex registry (a context has none).
  need.table('state', ['GetItem', 'Query'], ['*#reflex#components']),
  need.startGate(),
];

export const compressionEngine = defineEngine({
  name: 'compression',
  description:
    "Fits agents' contexts to token budgets (relevance, MMR, near-duplicates, TextRank, a knowledge-graph digest) with lineage in the ledger; Loop 3 tunes it",
  actions: {
    compress: {
      description:
        'Compresses a context to a budget, records its lineage in the ledger, and proposes dropping critical items instead of dropping them',
      routes: [compressRoute],
      memorySize: 1024,
      timeout: 29,
      needs: [need.table('state', ['GetItem', 'PutItem'], [STATE]), ...propose, ...outboxNeeds],
    },
    status: {
      description: "Reads the tenant's compression settings and recent effectiveness",
      routes: [statusRoute],
      needs: [need.table('state', ['GetItem'], [STATE])],
    },
    config: {
      description: "Changes the tenant's compression settings, recorded in the ledger",
      routes: [configRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [STATE]), ...outboxNeeds],
    },
    feedback: {
      description: 'Takes answer-found feedback on a compression (Loop 3) and steps the settings with the tuner',
      routes: [feedbackRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [STATE]), ...outboxNeeds],
    },
  },
});
