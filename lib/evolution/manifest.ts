/**
 * The Evolution engine: Thompson sampling over a managed service's declared candidate
 * configurations (arms), with a tenant-composed reward and governance's exploration bounds; a
 * change becomes a governance proposal, made in process as `engine:evolution`.
 * State-table items by partition-key prefix: <tenant>#evolution#services (configurations),
 * #evolution#stats (arms' sufficient statistics, added to atomically), #evolution#decisions (the
 * latest decision per service), #outbox (decisions' events, recorded in the ledger). Proposing reads
 * and writes what governance's proposals function does (settings, policies, proposals, outcomes,
 * the component registry for the blast radius, the gate, the ledger). Loop 1, the improvement loop
 * (lib/evolution/loop.ts), runs as statemachines/improvement-loop.asl.json: `loops` starts and reads
 * runs (#evolution#loops), the `loop-*` tasks call Versioning, Promotion and Replication in process
 * with those engines' own needs.
 */
import { defineEngine, IMPROVEMENT_LOOP_STATE_MACHINE, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { promotionEngine } from '../promotion/manifest.ts';
import { replicationEngine } from '../replication/manifest.ts';
import { versioningEngine } from '../versioning/manifest.ts';
import { loopStatusRoute, startLoopRoute } from './loop-routes.ts';
import { decideRoute, getConfigRoute, postObservationsRoute, putConfigRoute, statusRoute } from './routes.ts';

const SERVICES = '*#evolution#services';
const STATS = '*#evolution#stats';
const DECISIONS = '*#evolution#decisions';
const LOOPS = '*#evolution#loops';

/** `propose()` in process: what governance's proposals function needs (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  need.table('state', ['GetItem', 'Query'], ['*#reflex#components']),
  need.startGate(),
];

/** Loop 1's runs (lib/evolution/loop.ts), read and written with their outbox. */
const loopRuns: Need[] = [need.table('state', ['GetItem', 'PutItem'], [LOOPS]), ...outboxNeeds];
/** The kill switches, read before acting. */
const killSwitches = need.table('state', ['GetItem'], ['*#governance']);
/** What another engine's action may touch, for a loop task that calls it in process. */
const needsOf = (engine: { actions: Record<string, { needs: readonly Need[] }> }, action: string): Need[] => [
  ...(engine.actions[action]?.needs ?? []),
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
    loops: {
      description: 'Starts a run of the improvement loop (Loop 1, its state machine) for a service and reads runs with each step',
      routes: [startLoopRoute, loopStatusRoute],
      needs: [
        need.table('state', ['GetItem', 'PutItem', 'Query'], [LOOPS]),
        need.table('state', ['GetItem'], [SERVICES]),
        need.startExecutions(IMPROVEMENT_LOOP_STATE_MACHINE),
        ...outboxNeeds,
      ],
    },
    'loop-decide': {
      description:
        "Improvement loop task: the kill switches, the service's posteriors, Evolution's decision (proposed to governance) or the requested arm",
      task: true,
      timeout: 29,
      needs: [
        ...loopRuns,
        killSwitches,
        need.table('state', ['GetItem'], [SERVICES, STATS]),
        need.table('state', ['GetItem', 'PutItem'], [DECISIONS]),
        ...propose,
      ],
    },
    'loop-version': {
      description:
        "Improvement loop task: Versioning tags the chosen configuration, records the loop's checks as its regression gate and asks whether it may be promoted",
      task: true,
      timeout: 29,
      needs: [
        ...loopRuns,
        need.table('state', ['GetItem'], [SERVICES, STATS]),
        ...needsOf(versioningEngine, 'versions'),
        ...needsOf(versioningEngine, 'promotable'),
      ],
    },
    'loop-promote': {
      description:
        "Improvement loop task: the kill switches, then the Promotion engine's promotion of the configuration version (its state machine)",
      task: true,
      timeout: 29,
      needs: [...loopRuns, killSwitches, ...needsOf(promotionEngine, 'promotions')],
    },
    'loop-watch': {
      description: "Improvement loop task: the promotion's state, until it ends",
      task: true,
      timeout: 29,
      needs: [...loopRuns, need.table('state', ['GetItem'], ['*#promotion'])],
    },
    'loop-replicate': {
      description: 'Improvement loop task: replication after promotion (the Replication engine evaluates the promoted component)',
      task: true,
      // An L3-route scale waits for the gate's validation (at most 20 s) before its executor runs.
      timeout: 60,
      needs: [...loopRuns, ...needsOf(replicationEngine, 'evaluate')],
    },
    'loop-finish': {
      description: "Improvement loop task, on every path: the run's end; a promoted arm becomes the service's current one in Evolution",
      task: true,
      timeout: 29,
      needs: [...loopRuns, need.table('state', ['GetItem', 'PutItem'], [SERVICES]), need.table('state', ['UpdateItem'], [STATS])],
    },
  },
});
