/**
 * The Evolution engine: Thompson sampling over a managed service's declared candidate
 * configurations (arms), with a tenant-composed reward and governance's exploration bounds; a
 * change becomes a governance proposal, made in process as `engine:evolution`.
 * State-table items by partition-key prefix: <tenant>#evolution#services (configurations),
 * #evolution#stats (arms' sufficient statistics, added to atomically), #evolution#decisions (the
 * latest decision per service), #outbox (decisions' events, recorded in the ledger). Proposing reads
 * and writes what governance's proposals function does (settings, policies, proposals, outcomes,
 * the component registry for the blast radius, the gate, the ledger).
 */
import { defineEngine, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { decideRoute, getConfigRoute, postObservationsRoute, putConfigRoute, statusRoute } from './routes.ts';

const SERVICES = '*#evolution#services';
const STATS = '*#evolution#stats';
const DECISIONS = '*#evolution#decisions';

/** `propose()` in process: what governance's proposals function needs (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  need.table('state', ['GetItem', 'Query'], ['*#reflex#components']),
  need.startGate(),
];

export const evolutionEngine = defineEngine({
  name: 'evolution',
  description:
    "Strategy optimisation: Thompson sampling over a service's declared configurations from runtime outcomes, bounded exploration, changes proposed to governance",
  actions: {
    config: {
      description: "Reads and declares a service's arms, reward weights and scales, exploration bounds and autonomy",
      routes: [getConfigRoute, putConfigRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [SERVICES]), need.table('state', ['UpdateItem'], [STATS])],
    },
    observations: {
      description: "Adds request outcomes (success, latency, cost) to the service's arms' statistics atomically",
      routes: [postObservationsRoute],
      needs: [need.table('state', ['GetItem'], [SERVICES]), need.table('state', ['UpdateItem'], [STATS])],
    },
    decide: {
      description:
        'Decides the traffic split from the posteriors, proposes the change to governance (tune, or restructure for people) and records the decision with its posterior summaries in the ledger',
      routes: [decideRoute],
      timeout: 29,
      needs: [
        need.table('state', ['GetItem'], [SERVICES, STATS]),
        need.table('state', ['GetItem', 'PutItem'], [DECISIONS]),
        ...propose,
        ...outboxNeeds,
      ],
    },
    status: {
      description: "Shows a service's arms, posteriors, current split and regret estimate",
      routes: [statusRoute],
      needs: [need.table('state', ['GetItem'], [SERVICES, STATS, DECISIONS])],
    },
  },
});
